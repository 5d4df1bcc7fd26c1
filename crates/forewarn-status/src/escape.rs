//! Escaping text for the outputs that are not maud templates: the Atom feed (XML, `atom.rs`)
//! and the HTML part of emails (`forewarn_notify::doc`). The pages, public and admin, are
//! maud templates and escape through maud; nothing else should need this.

use std::fmt;

/// What a character becomes in HTML or XML text and attribute values (quoted with `"` or
/// `'`): `&`, `<`, `>`, `"` and `'` become references, and characters that XML 1.0 does not
/// allow (control characters other than tab, line feed and carriage return; U+FFFE, U+FFFF)
/// are left out. `None`: the character stands as it is.
fn replacement(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        '\t' | '\n' | '\r' => None,
        c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => Some(""),
        _ => None,
    }
}

/// Displays its text escaped for HTML or XML text and attribute values (quoted with `"` or
/// `'`): `write!(out, "<b>{}</b>", Esc(title))`. Markup characters become references;
/// characters XML 1.0 does not allow are left out.
#[derive(Clone, Copy, Debug)]
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut done = 0;
        for (i, c) in self.0.char_indices() {
            if let Some(r) = replacement(c) {
                f.write_str(&self.0[done..i])?;
                f.write_str(r)?;
                done = i + c.len_utf8();
            }
        }
        f.write_str(&self.0[done..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_markup_quotes_and_controls() {
        let s = "<script>alert('x' & \"y\")</script>\u{0}\u{1b}\tok\n\u{FFFF}é";
        let want = "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;\tok\né";
        assert_eq!(Esc(s).to_string(), want);
        assert_eq!(Esc("plain").to_string(), "plain");
    }
}
