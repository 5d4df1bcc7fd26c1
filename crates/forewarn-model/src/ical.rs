//! iCalendar (RFC 5545) text: TEXT values escaped and content lines folded at 75 octets on
//! character boundaries with CRLF ends. Shared by every calendar forewarn writes.

/// The UID of a target's slot in a campaign, the same in every calendar forewarn writes (the
/// plan's `--format ics`, the contacts' invitations): `{campaign}.{target}@{domain}`, where
/// the domain is the host of the service's address (`forewarn` for a plan file made
/// without one). A slot keeps its UID when it moves; SEQUENCE tells the versions apart.
pub fn slot_uid(campaign: &str, target: &str, domain: &str) -> String {
    format!("{campaign}.{target}@{domain}")
}

/// The longest a content line may be, in octets, without its CRLF (RFC 5545 §3.1).
pub const FOLD_AT: usize = 75;

/// Appends `value` escaped as an iCalendar TEXT value (RFC 5545 §3.3.11):
/// backslash, `;` and `,` get a backslash, a line break becomes `\n`, and
/// other control characters, which TEXT may not hold, become spaces.
pub fn escape_into(out: &mut String, value: &str) {
    let special = |c: char| matches!(c, '\\' | ';' | ',') || (c.is_control() && c != '\t');
    let mut rest = value;
    while let Some(i) = rest.find(special) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or(' ');
        rest = &rest[i + c.len_utf8()..];
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            // CRLF is one line break; a lone CR is one too.
            '\r' if rest.starts_with('\n') => {}
            '\r' => out.push_str("\\n"),
            _ => out.push(' '),
        }
    }
    out.push_str(rest);
}

/// Appends one content line, folded so that no physical line exceeds 75
/// octets (continuations start with a space, which counts), never splitting
/// a UTF-8 character, and ended with CRLF.
pub fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut room = FOLD_AT;
    while rest.len() > room {
        // The longest prefix within `room` octets that ends on a character boundary.
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = FOLD_AT - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn folded(line: &str) -> String {
        let mut out = String::new();
        fold_into(&mut out, line);
        out
    }

    fn escaped(value: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, value);
        out
    }

    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    #[test]
    fn folds_at_75_octets() {
        let exact = "A".repeat(75);
        assert_eq!(folded(&exact), format!("{exact}\r\n"));
        let long = "B".repeat(76);
        assert_eq!(folded(&long), format!("{}\r\n B\r\n", "B".repeat(75)));
        // Continuations hold 74 octets after their space.
        let longer = "C".repeat(75 + 74 + 1);
        assert_eq!(folded(&longer), format!("{}\r\n {}\r\n C\r\n", "C".repeat(75), "C".repeat(74)));
        assert_eq!(folded(""), "\r\n");
    }

    #[test]
    fn folds_between_multibyte_characters() {
        // 74 octets, then a 2-octet `é` that would straddle the limit: it moves to the next line whole.
        let line = format!("{}é", "x".repeat(74));
        assert_eq!(folded(&line), format!("{}\r\n é\r\n", "x".repeat(74)));
        // 73 + `é` ends exactly at 75.
        let line = format!("{}é", "x".repeat(73));
        assert_eq!(folded(&line), format!("{line}\r\n"));
        // 3-octet `€` and 4-octet `😀` at the boundary.
        let line = format!("{}€€", "x".repeat(71));
        assert_eq!(folded(&line), format!("{}€\r\n €\r\n", "x".repeat(71)));
        let line = format!("{}😀", "x".repeat(72));
        assert_eq!(folded(&line), format!("{}\r\n 😀\r\n", "x".repeat(72)));
        // All multi-byte: every physical line within the limit, and unfolding restores the text.
        let line = format!("SUMMARY:{}", "März ✓ 😀 ".repeat(30));
        let out = folded(&line);
        for l in out.split("\r\n") {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        assert_eq!(unfold(&out), format!("{line}\r\n"));
    }

    #[test]
    fn escapes_text() {
        assert_eq!(escaped("a\\b;c,d\ne"), "a\\\\b\\;c\\,d\\ne");
        assert_eq!(escaped("one\r\ntwo\rthree"), "one\\ntwo\\nthree");
        assert_eq!(escaped("März: 22:00\u{7}"), "März: 22:00 ");
        assert_eq!(escaped("\"quoted\""), "\"quoted\"");
    }

    /// The reverse of [`escape_into`], as a parser reads a TEXT value.
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        out
    }

    proptest! {
        #[test]
        fn prop_escape_round_trips(s in "(\\PC|[\\\\;,\r\n\t\u{0}-\u{1f}]){0,80}") {
            let e = escaped(&s);
            prop_assert!(!e.chars().any(|c| c.is_control() && c != '\t'), "{:?}", e);
            let expected: String = s
                .replace("\r\n", "\n")
                .replace('\r', "\n")
                .chars()
                .map(|c| if c.is_control() && !matches!(c, '\n' | '\t') { ' ' } else { c })
                .collect();
            prop_assert_eq!(unescape(&e), expected);
        }

        #[test]
        fn prop_fold_round_trips(s in "\\PC{0,300}") {
            let out = folded(&s);
            prop_assert!(out.ends_with("\r\n"));
            for l in out.trim_end_matches("\r\n").split("\r\n") {
                prop_assert!(l.len() <= FOLD_AT, "{} octets", l.len());
            }
            prop_assert_eq!(unfold(&out), format!("{s}\r\n"));
        }
    }
}
