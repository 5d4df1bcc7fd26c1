//! Signed links for people who have no account. A confirmation link names the one request
//! it was sent for (a subscription, or a change of one) and expires; an unsubscribe link
//! names the subscription and the message it came in, and expires too: every message
//! carries a fresh one. A token carries its subject and expiry in the clear and an
//! HMAC-SHA256 over the purpose, the expiry and the subject, so a token made for one
//! purpose is worthless for another and no byte of it can be changed unnoticed. Tokens use
//! only URL-safe characters (`A–Z a–z 0–9 - _ .`) and go into a query string as they are.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The purpose of a confirmation link.
pub const CONFIRM: &str = "confirm";
/// The purpose of an unsubscribe link.
pub const UNSUBSCRIBE: &str = "unsubscribe";

/// Why a link was not accepted, in words for the person who followed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error(
        "this link is not valid: it may have been cut short or changed. Copy the whole link from the email, or ask for a new one"
    )]
    Invalid,
    #[error("this link has expired: ask for a new one")]
    Expired,
}

/// HMAC-SHA256 keyed with `secret`.
fn keyed(secret: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes keys of every length")
}

fn mac(secret: &[u8], purpose: &str, expires: &str, subject: &str) -> HmacSha256 {
    let mut mac = keyed(secret);
    // Purpose and expiry cannot contain a NUL; the subject comes last, so the input is unambiguous.
    for part in ["forewarn-link", purpose, expires] {
        mac.update(part.as_bytes());
        mac.update(b"\0");
    }
    mac.update(subject.as_bytes());
    mac
}

/// A token for `subject` and `purpose` ([`CONFIRM`], [`UNSUBSCRIBE`]), valid until
/// `expires`: `<subject>.<expiry>.<signature>`, each URL-safe.
pub fn token(secret: &[u8], purpose: &str, subject: &str, expires: Timestamp) -> String {
    let expires = expires.as_second().to_string();
    let tag = mac(secret, purpose, &expires, subject).finalize().into_bytes();
    format!("{}.{expires}.{}", URL_SAFE_NO_PAD.encode(subject), URL_SAFE_NO_PAD.encode(tag))
}

/// The subject a token was made for, if it was made with `secret` for `purpose` and has not
/// expired at `now`.
pub fn verify(secret: &[u8], purpose: &str, token: &str, now: Timestamp) -> Result<String, LinkError> {
    let mut parts = token.trim().split('.');
    let (Some(subject), Some(expires), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Invalid);
    };
    let subject =
        URL_SAFE_NO_PAD.decode(subject).ok().and_then(|b| String::from_utf8(b).ok()).ok_or(LinkError::Invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| LinkError::Invalid)?;
    // Only the digits `token` writes: one text, one token.
    let canonical = expires.strip_prefix('-').unwrap_or(expires);
    if canonical.is_empty() || !canonical.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LinkError::Invalid);
    }
    let until: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
    mac(secret, purpose, expires, &subject).verify_slice(&tag).map_err(|_| LinkError::Invalid)?;
    if now.as_second() >= until {
        return Err(LinkError::Expired);
    }
    Ok(subject)
}

/// The token of the confirmation link sent for subscription request `request`.
pub fn confirm_token(secret: &[u8], request: i64, expires: Timestamp) -> String {
    token(secret, CONFIRM, &request.to_string(), expires)
}

/// The subscription request a confirmation token was sent for.
pub fn verify_confirm(secret: &[u8], token: &str, now: Timestamp) -> Result<i64, LinkError> {
    verify(secret, CONFIRM, token, now)?.parse().map_err(|_| LinkError::Invalid)
}

/// What an unsubscribe link names: the subscription, and when the message that carried the
/// link was written (a link works only for the subscription it was sent to, not for a later
/// one of the same address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsubscribe {
    pub subscriber: i64,
    pub sent: Timestamp,
}

/// The token of the unsubscribe link in a message to `subscriber` written at `sent`.
pub fn unsubscribe_token(secret: &[u8], subscriber: i64, sent: Timestamp, expires: Timestamp) -> String {
    token(secret, UNSUBSCRIBE, &format!("{subscriber}.{}", sent.as_microsecond()), expires)
}

/// The subscription and message an unsubscribe token names.
pub fn verify_unsubscribe(secret: &[u8], token: &str, now: Timestamp) -> Result<Unsubscribe, LinkError> {
    let subject = verify(secret, UNSUBSCRIBE, token, now)?;
    let (id, sent) = subject.split_once('.').ok_or(LinkError::Invalid)?;
    let subscriber = id.parse().map_err(|_| LinkError::Invalid)?;
    let sent = sent.parse().ok().and_then(|us| Timestamp::from_microsecond(us).ok()).ok_or(LinkError::Invalid)?;
    Ok(Unsubscribe { subscriber, sent })
}

/// The signature of a webhook body, for the `X-Forewarn-Signature` header:
/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn sign_webhook(secret: &[u8], body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn links_tokens_verify_and_tampering_or_expiry_fails() {
        let secret = b"site secret";
        let now = ts("2027-02-22T09:00:00Z");
        let week = ts("2027-03-01T09:00:00Z");
        let t = token(secret, CONFIRM, "jana.becker@nordlicht-reisen.example", week);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')), "{t}");
        assert_eq!(verify(secret, CONFIRM, &t, now).as_deref(), Ok("jana.becker@nordlicht-reisen.example"));
        // The same token is made from the same input.
        assert_eq!(t, token(secret, CONFIRM, "jana.becker@nordlicht-reisen.example", week));
        // Expired at the instant given, and after.
        assert_eq!(verify(secret, CONFIRM, &t, week), Err(LinkError::Expired));
        // Another purpose, another secret, or any changed character: invalid.
        assert_eq!(verify(secret, UNSUBSCRIBE, &t, now), Err(LinkError::Invalid));
        assert_eq!(verify(b"other", CONFIRM, &t, now), Err(LinkError::Invalid));
        for i in 0..t.len() {
            let mut bytes = t.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(verify(secret, CONFIRM, &changed, now).is_err(), "{changed}");
        }
        // A later expiry with the old signature does not pass, nor another spelling of the same one.
        let parts: Vec<&str> = t.split('.').collect();
        let later = format!("{}.{}.{}", parts[0], week.as_second() + 86_400, parts[2]);
        assert_eq!(verify(secret, CONFIRM, &later, week), Err(LinkError::Invalid));
        let padded = format!("{}.0{}.{}", parts[0], parts[1], parts[2]);
        assert_eq!(verify(secret, CONFIRM, &padded, now), Err(LinkError::Invalid));
        let plus = format!("{}.+{}.{}", parts[0], parts[1], parts[2]);
        assert_eq!(verify(secret, CONFIRM, &plus, now), Err(LinkError::Invalid));
        assert_eq!(verify(secret, CONFIRM, "", now), Err(LinkError::Invalid));
        assert_eq!(verify(secret, CONFIRM, "a.b.c.d", now), Err(LinkError::Invalid));
        assert!(LinkError::Expired.to_string().contains("expired"));
        assert!(LinkError::Invalid.to_string().contains("not valid"));
    }

    #[test]
    fn links_confirmation_names_its_request_and_unsubscribe_its_message() {
        let secret = b"site secret";
        let sent = ts("2027-02-22T09:00:00.123456Z");
        let until = ts("2027-05-23T09:00:00Z");
        let c = confirm_token(secret, 41, until);
        assert_eq!(verify_confirm(secret, &c, sent), Ok(41));
        assert_ne!(c, confirm_token(secret, 42, until), "each request has its own link");
        // A confirmation token does not unsubscribe, and the other way round.
        assert_eq!(verify_unsubscribe(secret, &c, sent), Err(LinkError::Invalid));
        let u = unsubscribe_token(secret, 7, sent, until);
        assert_eq!(verify_unsubscribe(secret, &u, sent), Ok(Unsubscribe { subscriber: 7, sent }));
        assert_eq!(verify_confirm(secret, &u, sent), Err(LinkError::Invalid));
        // Each message has its own link, and it expires.
        assert_ne!(u, unsubscribe_token(secret, 7, ts("2027-02-23T09:00:00Z"), until));
        assert_eq!(verify_unsubscribe(secret, &u, until), Err(LinkError::Expired));
        // A subject that is not what these functions write is invalid, even when signed.
        assert_eq!(verify_confirm(secret, &token(secret, CONFIRM, "x", until), sent), Err(LinkError::Invalid));
        assert_eq!(verify_unsubscribe(secret, &token(secret, UNSUBSCRIBE, "7", until), sent), Err(LinkError::Invalid));
    }

    #[test]
    fn links_webhook_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign_webhook(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 1: a key of twenty 0x0b bytes.
        assert_eq!(
            sign_webhook(&[0x0b; 20], b"Hi There"),
            "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }
}
