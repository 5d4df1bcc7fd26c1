//! Signed links for people who have no account: confirming a subscription (expires) and
//! unsubscribing (never expires). A token carries the address and its expiry in the clear
//! and an HMAC-SHA256 over the purpose, the expiry and the address, so a token made for one
//! purpose is worthless for another and no byte of it can be changed unnoticed. Tokens use
//! only URL-safe characters (`A–Z a–z 0–9 - _ .`) and go into a query string as they are.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The purpose of a subscription's confirmation link.
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

fn mac(secret: &[u8], purpose: &str, expires: &str, email: &str) -> HmacSha256 {
    let mut mac = keyed(secret);
    // Purpose and expiry cannot contain a NUL; the address comes last, so the input is unambiguous.
    for part in ["forewarn-link", purpose, expires] {
        mac.update(part.as_bytes());
        mac.update(b"\0");
    }
    mac.update(email.as_bytes());
    mac
}

/// A token for `email` and `purpose` ([`CONFIRM`], [`UNSUBSCRIBE`]), valid until `expires`
/// (`None`: never expires): `<address>.<expiry>.<signature>`, each URL-safe.
pub fn token(secret: &[u8], purpose: &str, email: &str, expires: Option<Timestamp>) -> String {
    let expires = expires.map_or_else(|| "n".to_owned(), |t| t.as_second().to_string());
    let tag = mac(secret, purpose, &expires, email).finalize().into_bytes();
    format!("{}.{expires}.{}", base64url(email.as_bytes()), base64url(&tag))
}

/// The address a token was made for, if it was made with `secret` for `purpose` and has not
/// expired at `now`.
pub fn verify(secret: &[u8], purpose: &str, token: &str, now: Timestamp) -> Result<String, LinkError> {
    let mut parts = token.trim().split('.');
    let (Some(email), Some(expires), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(LinkError::Invalid);
    };
    let email = unbase64url(email).and_then(|b| String::from_utf8(b).ok()).ok_or(LinkError::Invalid)?;
    let tag = unbase64url(tag).ok_or(LinkError::Invalid)?;
    let until = match expires {
        "n" => None,
        digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
            Some(digits.parse::<i64>().map_err(|_| LinkError::Invalid)?)
        }
        _ => return Err(LinkError::Invalid),
    };
    mac(secret, purpose, expires, &email).verify_slice(&tag).map_err(|_| LinkError::Invalid)?;
    match until {
        Some(until) if now.as_second() >= until => Err(LinkError::Expired),
        _ => Ok(email),
    }
}

/// The signature of a webhook body, for the `X-Forewarn-Signature` header:
/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn sign_webhook(secret: &[u8], body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with the URL-safe alphabet, without padding (RFC 4648 §5).
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The reverse of [`base64url`]; `None` for anything it would not have written.
fn unbase64url(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = ALPHABET.iter().position(|&a| a == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let len = chunk.len() - 1;
        // Bits beyond the last whole byte must be zero, so that each text decodes from one token only.
        if len < 3 && n & ((1 << (8 * (3 - len))) - 1) != 0 {
            return None;
        }
        out.extend_from_slice(&bytes[..len]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn links_base64url_round_trips_and_rejects_what_it_would_not_write() {
        for n in 0..40usize {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64url(&bytes);
            assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(unbase64url(&text).as_deref(), Some(bytes.as_slice()), "{text}");
        }
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(unbase64url("Zm9"), None, "non-zero bits after the last byte");
        assert_eq!(unbase64url("Zm8="), None);
        assert_eq!(unbase64url("A"), None);
    }

    #[test]
    fn links_tokens_verify_and_tampering_or_expiry_fails() {
        let secret = b"site secret";
        let now = ts("2027-02-22T09:00:00Z");
        let week = ts("2027-03-01T09:00:00Z");
        let t = token(secret, CONFIRM, "jana.becker@nordlicht-reisen.example", Some(week));
        assert_eq!(verify(secret, CONFIRM, &t, now).as_deref(), Ok("jana.becker@nordlicht-reisen.example"));
        // The same token is made from the same input.
        assert_eq!(t, token(secret, CONFIRM, "jana.becker@nordlicht-reisen.example", Some(week)));
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
        // A later expiry with the old signature does not pass.
        let parts: Vec<&str> = t.split('.').collect();
        let later = format!("{}.{}.{}", parts[0], week.as_second() + 86_400, parts[2]);
        assert_eq!(verify(secret, CONFIRM, &later, week), Err(LinkError::Invalid));
        assert_eq!(verify(secret, CONFIRM, "", now), Err(LinkError::Invalid));
        assert_eq!(verify(secret, CONFIRM, "a.b.c.d", now), Err(LinkError::Invalid));
        // Unsubscribe links never expire.
        let u = token(secret, UNSUBSCRIBE, "Émile@exämple.de", None);
        assert!(u.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')), "{u}");
        assert_eq!(verify(secret, UNSUBSCRIBE, &u, ts("2100-01-01T00:00:00Z")).as_deref(), Ok("Émile@exämple.de"));
        assert!(LinkError::Expired.to_string().contains("expired"));
        assert!(LinkError::Invalid.to_string().contains("not valid"));
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
