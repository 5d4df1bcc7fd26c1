//! Diagnostics: what is wrong in an input file, where (file, line, field), and how to fix it.

use std::fmt;

/// One step of a path into a document: a key or an index into an array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Where in a document a value lives, e.g. `machines[3].windows[0]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    pub fn key(&self, key: &str) -> FieldPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        FieldPath(segs)
    }

    pub fn index(&self, index: usize) -> FieldPath {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        FieldPath(segs)
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// One problem found in an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line, where the format lets us know it.
    pub line: Option<usize>,
    /// The field the problem is in, e.g. `machines[3].host`; empty for the whole file.
    pub path: String,
    /// What is wrong and how to fix it; lowercase, no trailing period.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one file; never empty when returned as an error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(f, "{n} error{}", if n == 1 { "" } else { "s" })
    }
}

impl Diagnostics {
    /// In document order when every diagnostic has a line; otherwise as found.
    pub fn sorted_by_line(mut self) -> Diagnostics {
        if self.0.iter().all(|d| d.line.is_some()) {
            self.0.sort_by_key(|d| d.line);
        }
        self
    }
}

/// Byte offsets to 1-based line numbers.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    pub fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_code() {
        let p = FieldPath::root().key("machines").index(3).key("windows").index(0);
        assert_eq!(p.to_string(), "machines[3].windows[0]");
    }

    #[test]
    fn lines_are_one_based() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(4), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
    }

    #[test]
    fn diagnostics_name_file_line_and_field() {
        let d = Diagnostic {
            file: "inv.toml".into(),
            line: Some(7),
            path: "machines[0].host".into(),
            message: "unknown host `kvm-9`".into(),
        };
        assert_eq!(d.to_string(), "inv.toml:7: machines[0].host: unknown host `kvm-9`");
        let all = Diagnostics(vec![d.clone(), Diagnostic { line: None, ..d }]);
        assert_eq!(
            all.to_string(),
            "inv.toml:7: machines[0].host: unknown host `kvm-9`\n\
             inv.toml: machines[0].host: unknown host `kvm-9`\n2 errors"
        );
    }
}
