//! A whole RFC 5322 message built with lettre: plain text and HTML as alternatives, calendar
//! parts as attachments, `Date` from the event (never the clock), the key as Message-ID, and
//! MIME boundaries derived from the key, so that the same input gives the same bytes.

use std::time::SystemTime;

use forewarn_model::inventory::Language;
use jiff::Timestamp;
use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use sha2::{Digest, Sha256};

use crate::Site;
use crate::calendar::Method;
use crate::doc::Doc;

mod qp;

/// An email to render.
#[derive(Clone, Debug)]
pub(crate) struct Email {
    /// The recipient's name, when known.
    pub to_name: Option<String>,
    pub to: String,
    pub subject: String,
    pub lang: Language,
    pub doc: Doc,
    /// Calendar parts, each a whole calendar object.
    pub calendars: Vec<(Method, String)>,
    /// The one-click unsubscribe URL (RFC 8058) of a subscriber's email.
    pub unsubscribe: Option<String>,
}

/// Why an email could not be written (a malformed address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unsendable(pub String);

fn mailbox(name: Option<&str>, address: &str, what: &str) -> Result<Mailbox, Unsendable> {
    let email = address
        .trim()
        .parse()
        .map_err(|e| Unsendable(format!("the {what} address `{address}` cannot be used: {e}")))?;
    let name = name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    Ok(Mailbox::new(name, email))
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// Whether an email from the site to `to` (named `to_name`) can be written: both addresses
/// are addresses. Checked when the event is written, so that a message that could never be
/// rendered refuses the change instead of dying in the outbox.
pub(crate) fn check_addresses(site: &Site, to_name: Option<&str>, to: &str) -> Result<(), Unsendable> {
    mailbox(Some(&site.from_name), &site.from_address, "sender")?;
    mailbox(to_name, to, "recipient")?;
    Ok(())
}

/// The message as it goes out, under `key` (its Message-ID without the angle brackets).
pub(crate) fn render(site: &Site, key: &str, at: Timestamp, email: &Email) -> Result<String, Unsendable> {
    let text = email.doc.text();
    let html = email.doc.html(email.lang, &email.subject);

    let tag = boundary_tag(key);
    let alternative = MultiPart::alternative()
        .boundary(format!("=_fw_alt_{tag}"))
        .singlepart(SinglePart::plain(body(&text)))
        .singlepart(SinglePart::html(body(&html)));
    let body = if email.calendars.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().boundary(format!("=_fw_mixed_{tag}")).multipart(alternative);
        for (method, ics) in &email.calendars {
            let content_type = ContentType::parse(&format!("text/calendar; charset=utf-8; method={}", method.name()))
                .map_err(|e| Unsendable(format!("calendar content type: {e}")))?;
            mixed = mixed.singlepart(Attachment::new(method.file_name().to_owned()).body(body(ics), content_type));
        }
        mixed
    };

    let date = SystemTime::try_from(at).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut builder = Message::builder()
        .from(mailbox(Some(&site.from_name), &site.from_address, "sender")?)
        .to(mailbox(email.to_name.as_deref(), &email.to, "recipient")?)
        .subject(email.subject.clone())
        .date(date)
        .message_id(Some(format!("<{key}>")))
        .raw_header(header("Content-Language", email.lang.code().to_owned()))
        .raw_header(header("Auto-Submitted", "auto-generated".to_owned()));
    if let Some(url) = &email.unsubscribe {
        builder = builder
            .raw_header(header("List-Unsubscribe", format!("<{url}>")))
            .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".to_owned()));
    }
    let message = builder.multipart(body).map_err(|e| Unsendable(format!("the message cannot be built: {e}")))?;
    String::from_utf8(message.formatted()).map_err(|_| Unsendable("the message is not UTF-8".to_owned()))
}

/// What makes a message's MIME boundaries (`=_fw_alt_{tag}`, `=_fw_mixed_{tag}`): a hash of
/// its key, the same on every attempt. No part can hold a boundary: each begins `=_`, which
/// quoted-printable (`=` is `=3D` there) and base64 (no `_`) never write, and a part holding
/// `=_` never goes as 7bit (see [`body`]). Nothing is hashed but the key: hashing the whole
/// message took a tenth of rendering a 100 kB one.
pub(crate) fn boundary_tag(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..12])
}

/// A text part's body, encoded in one pass: 7bit when it is ASCII in short lines without `=_`
/// (which begins every boundary),
/// quoted-printable unless more than a third of it would need escaping, base64 then (the
/// choice lettre makes); line breaks as CRLF. lettre's own encoding makes the line breaks
/// CRLF by inserting into the text, which takes time growing with the square of its lines.
fn body(text: &str) -> Body {
    let bytes = text.as_bytes();
    let seven_bit = text.is_ascii()
        && memchr::memmem::find(bytes, b"=_").is_none()
        && text.split('\n').all(|line| line.len() < 76)
        && text.match_indices('\r').all(|(i, _)| bytes.get(i + 1) == Some(&b'\n'));
    if seven_bit {
        return Body::dangerous_pre_encoded(crlf(text), ContentTransferEncoding::SevenBit);
    }
    if escaped(bytes) <= bytes.len() / 3 {
        return Body::dangerous_pre_encoded(qp::encode(text), ContentTransferEncoding::QuotedPrintable);
    }
    Body::dangerous_pre_encoded(base64(&crlf(text)), ContentTransferEncoding::Base64)
}

/// How many of `bytes` quoted-printable writes as `=XX` (all but tab and printable ASCII),
/// counted in byte-wide lanes (a message is a hundred kilobytes).
fn escaped(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|chunk| {
            let n = chunk.iter().fold(0u8, |n, &b| n + u8::from(!matches!(b, b'\t' | b' '..=b'~')));
            usize::from(n)
        })
        .sum()
}

/// `bytes` in base64, in lines of 76 characters.
fn base64(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let digits = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(digits.len() + digits.len() / 38 + 2);
    for (i, line) in digits.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(line);
    }
    out
}

/// `text` with every line break as CRLF (a `\n` without its `\r` gets one), copied a line
/// at a time.
fn crlf(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 32 + 2);
    for line in text.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(rest) => {
                out.extend_from_slice(rest.strip_suffix('\r').unwrap_or(rest).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(line.as_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_crlf_and_escapes_are_counted() {
        // What each does, byte by byte, as the simplest code says it.
        let reference_crlf = |text: &str| -> Vec<u8> {
            let mut out = Vec::new();
            let mut previous = 0u8;
            for &b in text.as_bytes() {
                if b == b'\n' && previous != b'\r' {
                    out.push(b'\r');
                }
                out.push(b);
                previous = b;
            }
            out
        };
        let reference_escaped = |text: &str| text.bytes().filter(|&b| !matches!(b, b'\t' | b' '..=b'~')).count();
        let long: String = (0..2000).map(|i| ["a", "ä", "\n", "\r\n", "\r", "=", "\t", "–"][i % 8]).collect();
        for text in ["", "\n", "\r\n", "a\nb", "a\r\nb\r", "\r\r\n\n", "no break", "ends\n", "Grüße\r\n", &long] {
            assert_eq!(crlf(text), reference_crlf(text), "{text:?}");
            assert_eq!(escaped(text.as_bytes()), reference_escaped(text), "{text:?}");
        }
    }
}
