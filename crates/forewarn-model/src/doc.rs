//! Reading TOML and JSON documents part by part, so that every structural
//! error is found in one pass and each is reported with its file, line and field.

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diag::{Diagnostic, Diagnostics, FieldPath, LineIndex, Seg};

/// The two formats input files come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    /// By extension (`.json`, `.toml`), else by content: JSON starts with `{`.
    pub fn detect(file: &str, text: &str) -> Format {
        let lower = file.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Format::Json
        } else if lower.ends_with(".toml") {
            Format::Toml
        } else if text.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Toml
        }
    }
}

enum Tree<'a> {
    Toml { root: Spanned<DeTable<'a>>, lines: LineIndex },
    Json(serde_json::Value),
}

/// A parsed input file that deserializes its parts one by one and knows
/// the line of each field (TOML only: JSON parsers give no positions for values).
pub struct Document<'a> {
    file: &'a str,
    tree: Tree<'a>,
}

impl std::fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document").field("file", &self.file).finish_non_exhaustive()
    }
}

impl<'a> Document<'a> {
    /// Parses the syntax of `text`; a syntax error is the only error reported then.
    pub fn parse(file: &'a str, text: &'a str, format: Format) -> Result<Document<'a>, Diagnostics> {
        let tree = match format {
            Format::Toml => {
                let lines = LineIndex::new(text);
                match DeTable::parse(text) {
                    Ok(root) => Tree::Toml { root, lines },
                    Err(e) => {
                        let line = e.span().map(|s| lines.line(s.start));
                        return Err(Diagnostics(vec![Diagnostic {
                            file: file.to_owned(),
                            line,
                            path: String::new(),
                            message: format!("this is not valid TOML: {}", first_line(e.message())),
                        }]));
                    }
                }
            }
            Format::Json => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) => Tree::Json(v),
                Err(e) => return Err(Diagnostics(vec![json_syntax(file, &e)])),
            },
        };
        Ok(Document { file, tree })
    }

    /// A diagnostic about the value at `path`, with its line where known.
    pub fn diag(&self, path: &FieldPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.to_owned(),
            line: self.line(path),
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// The line of the value at `path`, or of the nearest enclosing value that exists.
    pub fn line(&self, path: &FieldPath) -> Option<usize> {
        let Tree::Toml { root, lines } = &self.tree else {
            return None;
        };
        let mut span = root.span();
        let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
        let mut value: Option<&DeValue<'_>> = None;
        for seg in &path.0 {
            let next = match (seg, table, value) {
                (Seg::Key(k), Some(t), _) => t.iter().find(|(key, _)| key.get_ref() == k).map(|(_, v)| v),
                (Seg::Index(i), _, Some(DeValue::Array(a))) => a.get(*i),
                _ => None,
            };
            let Some(next) = next else { break };
            span = next.span();
            value = Some(next.get_ref());
            table = match next.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            };
        }
        Some(lines.line(span.start))
    }

    /// The top-level keys, in document order, with their values' paths.
    pub fn top_keys(&self) -> Vec<String> {
        match &self.tree {
            Tree::Toml { root, .. } => root.get_ref().iter().map(|(k, _)| k.get_ref().to_string()).collect(),
            Tree::Json(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            Tree::Json(_) => Vec::new(),
        }
    }

    /// The keys of the table at `path`, with their paths; `None` when there is no table there.
    pub fn keys_at(&self, path: &FieldPath) -> Option<Vec<String>> {
        match &self.tree {
            Tree::Toml { root, .. } => {
                let mut table: &DeTable<'_> = root.get_ref();
                let mut value: Option<&DeValue<'_>> = None;
                for seg in &path.0 {
                    let next = match (seg, value) {
                        (Seg::Key(k), None | Some(DeValue::Table(_))) => {
                            table.iter().find(|(key, _)| key.get_ref() == k).map(|(_, v)| v.get_ref())
                        }
                        (Seg::Index(i), Some(DeValue::Array(a))) => a.get(*i).map(|v| v.get_ref()),
                        _ => None,
                    }?;
                    if let DeValue::Table(t) = next {
                        table = t;
                    }
                    value = Some(next);
                }
                match value {
                    None | Some(DeValue::Table(_)) => {
                        Some(table.iter().map(|(k, _)| k.get_ref().to_string()).collect())
                    }
                    _ => None,
                }
            }
            Tree::Json(json) => {
                let mut v = json;
                for seg in &path.0 {
                    v = match seg {
                        Seg::Key(k) => v.get(k.as_str())?,
                        Seg::Index(i) => v.get(*i)?,
                    };
                }
                v.as_object().map(|m| m.keys().cloned().collect())
            }
        }
    }

    /// The length of the array at top-level `key`, if it is one.
    pub fn array_len(&self, key: &str) -> usize {
        match &self.tree {
            Tree::Toml { root, .. } => match root.get_ref().iter().find(|(k, _)| k.get_ref() == key) {
                Some((_, v)) => match v.get_ref() {
                    DeValue::Array(a) => a.len(),
                    _ => 0,
                },
                None => 0,
            },
            Tree::Json(json) => json.get(key).and_then(|v| v.as_array()).map_or(0, |a| a.len()),
        }
    }

    /// Deserializes the whole document; `None` (and the error pushed) when it does not fit `T`.
    pub fn whole<T: DeserializeOwned>(&self, errors: &mut Vec<Diagnostic>) -> Option<T> {
        let root = FieldPath::root();
        match &self.tree {
            Tree::Toml { root: table, lines } => {
                let v = Spanned::new(table.span(), DeValue::Table(table.get_ref().clone()));
                self.decode_toml(v, lines, &root, errors)
            }
            Tree::Json(json) => self.decode_json(json, &root, errors),
        }
    }

    /// Like [`Document::whole`], with the values at `skip` left out: once unknown keys have
    /// been reported, the rest of the document can still be read and checked.
    pub fn whole_without<T: DeserializeOwned>(&self, skip: &[FieldPath], errors: &mut Vec<Diagnostic>) -> Option<T> {
        let root = FieldPath::root();
        match &self.tree {
            Tree::Toml { root: table, lines } => {
                let mut value = DeValue::Table(table.get_ref().clone());
                for path in skip {
                    remove_toml(&mut value, &path.0);
                }
                self.decode_toml(Spanned::new(table.span(), value), lines, &root, errors)
            }
            Tree::Json(json) => {
                let mut value = json.clone();
                for path in skip {
                    remove_json(&mut value, &path.0);
                }
                self.decode_json(&value, &root, errors)
            }
        }
    }

    /// Whether the document is a table (TOML always is; JSON must be an object).
    pub fn is_table(&self) -> bool {
        matches!(&self.tree, Tree::Toml { .. } | Tree::Json(serde_json::Value::Object(_)))
    }

    /// Deserializes the table under top-level `key`; `None` (and an error pushed) when it is malformed.
    pub fn table<T: DeserializeOwned>(&self, key: &str, errors: &mut Vec<Diagnostic>) -> Option<T> {
        let path = FieldPath::root().key(key);
        match &self.tree {
            Tree::Toml { root, lines } => {
                let (_, v) = root.get_ref().iter().find(|(k, _)| k.get_ref() == key)?;
                self.decode_toml(v.clone(), lines, &path, errors)
            }
            Tree::Json(json) => {
                let v = json.get(key)?;
                self.decode_json(v, &path, errors)
            }
        }
    }

    /// Deserializes every element of the array under top-level `key`, reporting every malformed one.
    pub fn array<T: DeserializeOwned>(&self, key: &str, errors: &mut Vec<Diagnostic>) -> Vec<T> {
        let path = FieldPath::root().key(key);
        let mut out = Vec::new();
        match &self.tree {
            Tree::Toml { root, lines } => {
                let Some((_, v)) = root.get_ref().iter().find(|(k, _)| k.get_ref() == key) else {
                    return out;
                };
                let DeValue::Array(items) = v.get_ref() else {
                    errors.push(self.diag(&path, format!("expected a list of tables, written [[{key}]]")));
                    return out;
                };
                for (i, item) in items.iter().enumerate() {
                    out.extend(self.decode_toml(item.clone(), lines, &path.index(i), errors));
                }
            }
            Tree::Json(json) => match json.get(key) {
                None => {}
                Some(serde_json::Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        out.extend(self.decode_json(item, &path.index(i), errors));
                    }
                }
                Some(_) => errors.push(self.diag(&path, "expected a list of objects")),
            },
        }
        out
    }

    /// Like [`Document::array`], for elements that are checked even when they are malformed:
    /// an element that does not fit `T` (its error reported) is read again as `L`, a lenient
    /// form of `T` that ignores unknown fields, so that the rest of it can still be checked.
    /// Each element comes with its index in the array (an element that fits neither is left
    /// out, and the indices of those after it stay true).
    pub fn array_lenient<T, L>(&self, key: &str, errors: &mut Vec<Diagnostic>) -> Vec<(usize, T)>
    where
        T: DeserializeOwned,
        L: DeserializeOwned + Into<T>,
    {
        let path = FieldPath::root().key(key);
        let mut out = Vec::new();
        let mut ignored = Vec::new();
        match &self.tree {
            Tree::Toml { root, lines } => {
                let Some((_, v)) = root.get_ref().iter().find(|(k, _)| k.get_ref() == key) else {
                    return out;
                };
                let DeValue::Array(items) = v.get_ref() else {
                    errors.push(self.diag(&path, format!("expected a list of tables, written [[{key}]]")));
                    return out;
                };
                for (i, item) in items.iter().enumerate() {
                    let at = path.index(i);
                    let read = self
                        .decode_toml::<T>(item.clone(), lines, &at, errors)
                        .or_else(|| self.decode_toml::<L>(item.clone(), lines, &at, &mut ignored).map(Into::into));
                    out.extend(read.map(|t| (i, t)));
                }
            }
            Tree::Json(json) => match json.get(key) {
                None => {}
                Some(serde_json::Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let at = path.index(i);
                        let read = self
                            .decode_json::<T>(item, &at, errors)
                            .or_else(|| self.decode_json::<L>(item, &at, &mut ignored).map(Into::into));
                        out.extend(read.map(|t| (i, t)));
                    }
                }
                Some(_) => errors.push(self.diag(&path, "expected a list of objects")),
            },
        }
        out
    }

    fn decode_toml<T: DeserializeOwned>(
        &self,
        v: Spanned<DeValue<'a>>,
        lines: &LineIndex,
        path: &FieldPath,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(v)) {
            Ok(t) => Some(t),
            Err(e) => {
                let mut d = self.diag(path, first_line(e.message()));
                if let Some(span) = e.span() {
                    d.line = Some(lines.line(span.start));
                    if let Tree::Toml { root, .. } = &self.tree {
                        let deeper = path_at(root, span.start);
                        if deeper.0.len() > path.0.len() {
                            d.path = deeper.to_string();
                        }
                    }
                }
                errors.push(d);
                None
            }
        }
    }

    fn decode_json<T: DeserializeOwned>(
        &self,
        v: &serde_json::Value,
        path: &FieldPath,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<T> {
        match T::deserialize(v) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.push(self.diag(path, e.to_string()));
                None
            }
        }
    }
}

fn remove_toml(value: &mut DeValue<'_>, path: &[Seg]) {
    match (path, value) {
        ([Seg::Key(k)], DeValue::Table(t)) => {
            t.remove(k.as_str());
        }
        ([Seg::Key(k), rest @ ..], DeValue::Table(t)) => {
            if let Some(v) = t.get_mut(k.as_str()) {
                remove_toml(v.get_mut(), rest);
            }
        }
        ([Seg::Index(i), rest @ ..], DeValue::Array(a)) => {
            if let Some(v) = a.get_mut(*i) {
                remove_toml(v.get_mut(), rest);
            }
        }
        _ => {}
    }
}

fn remove_json(value: &mut serde_json::Value, path: &[Seg]) {
    match (path, value) {
        ([Seg::Key(k)], serde_json::Value::Object(m)) => {
            m.remove(k);
        }
        ([Seg::Key(k), rest @ ..], serde_json::Value::Object(m)) => {
            if let Some(v) = m.get_mut(k) {
                remove_json(v, rest);
            }
        }
        ([Seg::Index(i), rest @ ..], serde_json::Value::Array(a)) => {
            if let Some(v) = a.get_mut(*i) {
                remove_json(v, rest);
            }
        }
        _ => {}
    }
}

/// The path of the innermost value whose span holds `offset`.
fn path_at(root: &Spanned<DeTable<'_>>, offset: usize) -> FieldPath {
    let mut path = FieldPath::root();
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
    loop {
        let next = if let Some(t) = table {
            t.iter()
                .find(|(k, v)| v.span().contains(&offset) || k.span().contains(&offset))
                .map(|(k, v)| (Seg::Key(k.get_ref().to_string()), v))
        } else if let Some(a) = array {
            a.iter().enumerate().find(|(_, v)| v.span().contains(&offset)).map(|(i, v)| (Seg::Index(i), v))
        } else {
            None
        };
        let Some((seg, v)) = next else { return path };
        path.0.push(seg);
        (table, array) = match v.get_ref() {
            DeValue::Table(t) => (Some(t), None),
            DeValue::Array(a) => (None, Some(&a[..])),
            _ => return path,
        };
    }
}

/// A JSON syntax or shape error with serde_json's line.
pub fn json_syntax(file: &str, e: &serde_json::Error) -> Diagnostic {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; we report the line ourselves.
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    Diagnostic {
        file: file.to_owned(),
        line: (e.line() > 0).then_some(e.line()),
        path: String::new(),
        message: if e.is_syntax() || e.is_eof() {
            format!("this is not valid JSON: {msg} (column {})", e.column())
        } else {
            msg
        },
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_owned()
}
