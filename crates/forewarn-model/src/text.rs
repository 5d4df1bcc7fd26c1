//! Limits on free text: how long each kind of field may be, and which characters no field
//! may hold. A name is one line of text; a body may have line breaks and tabs. No field
//! holds another control character, NUL, or a bidirectional override or isolate
//! (U+202A–U+202E, U+2066–U+2069), which would make text read differently than it is.
//! Inventory and campaign validation, the API and the admin forms all check with these.

/// Ids (customers, projects, hosts, machines, campaigns): a DNS name's limit.
pub const ID: usize = 253;
/// Names: the platform's, customers', contacts', projects', racks, tiers, groups, services,
/// a component's.
pub const NAME: usize = 200;
/// Titles of campaigns and posts.
pub const TITLE: usize = 200;
/// Email addresses (RFC 5321's path limit).
pub const EMAIL: usize = 254;
/// Short notes: a blackout's reason, a cancellation's reason, a correction's note.
pub const NOTE: usize = 2_000;
/// Bodies of posts and of their updates.
pub const BODY: usize = 20_000;

/// Checks one line of text (a name, a title, an id): at most `max` characters and no
/// control or bidirectional formatting character. The error says what to fix.
pub fn line(value: &str, max: usize) -> Result<(), String> {
    check(value, max, false)
}

/// Checks text that may span lines (a body, a note): at most `max` characters; line breaks
/// and tabs are allowed, no other control or bidirectional formatting character.
pub fn multiline(value: &str, max: usize) -> Result<(), String> {
    check(value, max, true)
}

fn check(value: &str, max: usize, lines: bool) -> Result<(), String> {
    // Bytes first: a 200 MB value is refused without counting its characters.
    if value.len() > max {
        let n = value.chars().take(max + 1).count();
        if n > max {
            return Err(format!("is {} characters long; at most {max} are allowed: shorten it", value.chars().count()));
        }
    }
    for (i, c) in value.chars().enumerate() {
        let allowed = lines && matches!(c, '\n' | '\r' | '\t');
        if c.is_control() && !allowed {
            let what = if c == '\0' { "NUL".to_owned() } else { format!("the control character U+{:04X}", c as u32) };
            let how = if lines { "remove it" } else { "remove it (this field is one line of text)" };
            return Err(format!("contains {what} at character {}: {how}", i + 1));
        }
        if is_bidi_control(c) {
            return Err(format!(
                "contains the bidirectional formatting character U+{:04X} at character {}: remove it",
                c as u32,
                i + 1
            ));
        }
    }
    Ok(())
}

/// The bidirectional embeddings, overrides and isolates.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_refuse_control_and_bidi_characters() {
        assert!(line("Alice Example", NAME).is_ok());
        assert!(line("Zoë Ünal 名前", NAME).is_ok());
        assert!(line("Alice\nBcc: x@y", NAME).unwrap_err().contains("U+000A at character 6"));
        assert!(line("a\0b", NAME).unwrap_err().contains("NUL at character 2"));
        assert!(line("evil\u{202E}gnp.exe", NAME).unwrap_err().contains("U+202E"));
        assert!(line("x\u{2066}y", NAME).unwrap_err().contains("U+2066"));
        assert!(line("tab\there", NAME).is_err());
    }

    #[test]
    fn multiline_allows_line_breaks_and_tabs_only() {
        assert!(multiline("one\r\ntwo\tthree", BODY).is_ok());
        assert!(multiline("bell\u{7}", BODY).unwrap_err().contains("U+0007"));
        assert!(multiline("x\u{202B}", BODY).is_err());
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        assert!(line(&"ä".repeat(200), NAME).is_ok());
        let e = line(&"a".repeat(201), NAME).unwrap_err();
        assert_eq!(e, "is 201 characters long; at most 200 are allowed: shorten it");
        assert!(multiline(&"a".repeat(BODY + 1), BODY).unwrap_err().contains("at most 20000"));
    }
}
