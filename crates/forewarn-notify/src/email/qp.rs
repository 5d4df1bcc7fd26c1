//! Quoted-printable (RFC 2045, section 6.7) for the text parts of a message, in one pass over
//! the text. lettre's own path to it first makes line ends CRLF by inserting a `\r` before
//! each `\n` in place, which moves the rest of the text every time: quadratic in the lines of
//! a part, and a campaign's message lists thousands of machines.
//!
//! The rules: a line break (`\n` or `\r\n`) of the text is a CRLF of the output; `=`, control
//! characters (but tab) and every byte beyond ASCII are `=XX` (upper-case hex); a space or tab
//! that ends a line is encoded too (RFC 2045 rule 3: it would be taken for padding); no
//! encoded line is longer than 76 characters, a soft line break (`=` before CRLF) ends each
//! one that had to be cut, and never inside an `=XX`. The same text gives the same bytes.

/// The longest encoded line, soft line break included.
const LINE: usize = 76;

/// `text` encoded as quoted-printable, its line breaks as CRLF: one pass over the text (a
/// message's parts are a hundred kilobytes of short lines; finding each line's end first
/// took as long as encoding it).
pub(crate) fn encode(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Vec::with_capacity(n + n / 16 + 16);
    // Whether a line break (`\n`, or `\r\n`) starts at `j`, and how long it is.
    let brk = |j: usize| match b.get(j) {
        Some(b'\n') => 1,
        Some(b'\r') if b.get(j + 1) == Some(&b'\n') => 2,
        _ => 0,
    };
    let mut column = 0;
    let mut i = 0;
    while i < n {
        let k = brk(i);
        if k > 0 {
            out.extend_from_slice(b"\r\n");
            column = 0;
            i += k;
            continue;
        }
        // A run of characters written as they are, as far as the encoded line has room for
        // them and a soft break; the line's last character goes the long way (whitespace
        // there is encoded).
        let limit = n.min(i + (LINE - 1).saturating_sub(column));
        let mut run = b[i..limit].iter().take_while(|&&c| PLAIN[usize::from(c)]).count();
        if run > 0 && (i + run == n || brk(i + run) > 0) {
            run -= 1;
        }
        if run > 0 {
            out.extend_from_slice(&b[i..i + run]);
            column += run;
            i += run;
            continue;
        }
        let c = b[i];
        let end = i + 1 == n || brk(i + 1) > 0;
        let literal = PLAIN[usize::from(c)] && !(end && (c == b' ' || c == b'\t'));
        let width = if literal { 1 } else { 3 };
        // What follows this character on the encoded line needs room for a soft break.
        let room = if end { LINE } else { LINE - 1 };
        if column + width > room {
            out.extend_from_slice(b"=\r\n");
            column = 0;
        }
        if literal {
            out.push(c);
        } else {
            out.extend_from_slice(&[b'=', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]);
        }
        column += width;
        i += 1;
    }
    out
}

/// The bytes written as they are inside a line: printable ASCII but `=`, space and tab.
const PLAIN: [bool; 256] = {
    let mut plain = [false; 256];
    let mut b = 0;
    while b < 256 {
        plain[b] = matches!(b as u8, b' ' | b'\t' | b'!'..=b'<' | b'>'..=b'~');
        b += 1;
    }
    plain
};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::quoted_printable as decode;

    fn qp(text: &str) -> String {
        String::from_utf8(encode(text)).unwrap()
    }

    /// Every encoded line: at most 76 characters, printable ASCII, no space or tab at its end,
    /// `=` only as a soft break at its end or before two upper-case hex digits.
    fn assert_valid(encoded: &str) {
        assert!(!encoded.replace("\r\n", "").contains(['\r', '\n']), "bare CR or LF in {encoded:?}");
        for line in encoded.split("\r\n") {
            assert!(line.len() <= LINE, "a line of {} characters: {line:?}", line.len());
            assert!(line.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)), "{line:?}");
            assert!(!line.ends_with([' ', '\t']), "whitespace ends {line:?}");
            let b = line.as_bytes();
            for (i, _) in line.match_indices('=') {
                let soft = i + 1 == b.len();
                let hex = |j: usize| b.get(j).is_some_and(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c));
                assert!(soft || (hex(i + 1) && hex(i + 2)), "a stray `=` in {line:?}");
            }
        }
    }

    /// Encoded, valid, and read back as the text with its line breaks as CRLF.
    fn round_trip(text: &str) -> String {
        let encoded = qp(text);
        assert_valid(&encoded);
        let decoded = String::from_utf8(decode(&encoded)).unwrap();
        let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
        assert_eq!(decoded, crlf, "{text:?} encoded as {encoded:?}");
        encoded
    }

    #[test]
    fn the_rules_of_rfc_2045() {
        // Plain text stays as it is; line breaks become CRLF, CRLF stays.
        assert_eq!(round_trip("Hello, world"), "Hello, world");
        assert_eq!(round_trip("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
        assert_eq!(round_trip(""), "");
        assert_eq!(round_trip("\n\n"), "\r\n\r\n");
        // `=`, non-ASCII and control characters as `=XX`, upper case.
        assert_eq!(round_trip("a=b"), "a=3Db");
        assert_eq!(round_trip("Grüße"), "Gr=C3=BC=C3=9Fe");
        assert_eq!(round_trip("bell\u{7}del\u{7f}"), "bell=07del=7F");
        // A lone CR is a character; CR LF is a break.
        assert_eq!(round_trip("a\rb"), "a=0Db");
        assert_eq!(round_trip("a\r"), "a=0D");
        // Whitespace ending a line (or the text) is encoded; inside a line it is not.
        assert_eq!(round_trip("a b \nc\t\n\t"), "a b=20\r\nc=09\r\n=09");
        assert_eq!(round_trip(" "), "=20");
        // Lines starting with a dot or `From ` are the transport's business, left as they are.
        assert_eq!(round_trip(".\nFrom x"), ".\r\nFrom x");
    }

    #[test]
    fn long_lines_are_cut_with_soft_breaks_never_inside_an_escape() {
        // 76 characters fit on one line; 77 do not.
        let fits = "x".repeat(76);
        assert_eq!(round_trip(&fits), fits);
        let over = "x".repeat(77);
        assert_eq!(round_trip(&over), format!("{}=\r\nxx", "x".repeat(75)));
        // An escape that would cross the limit moves to the next line whole.
        for pad in 70..80 {
            for tail in ["=", "ü", " ", "\t", "€ ", "a ="] {
                round_trip(&format!("{}{tail}{}", "y".repeat(pad), "z".repeat(pad % 7)));
                round_trip(&format!("{}{tail}", "y".repeat(pad)));
                round_trip(&format!("{}{tail}\nnext", "y".repeat(pad)));
            }
        }
        // Whitespace before a soft break stays literal: the `=` follows it.
        let spaced = format!("{} {}", "s".repeat(74), "t".repeat(10));
        assert_eq!(round_trip(&spaced), format!("{} =\r\n{}", "s".repeat(74), "t".repeat(10)));
        round_trip(&"ü".repeat(1500));
        round_trip(&"= ".repeat(200));
    }

    #[test]
    fn any_text_comes_back_the_same() {
        // A deterministic walk over awkward characters, lengths and line breaks.
        let pieces = ["a", " ", "\t", "=", "ü", "€", "\n", "\r\n", "\r", ".", "😀", "xyz", "\u{1}", "~"];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..300 {
            let mut text = String::new();
            let len = (state % 300) as usize;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            round_trip(&text);
            assert_eq!(encode(&text), encode(&text), "the same bytes every time");
        }
    }
}
