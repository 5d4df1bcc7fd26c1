//! Who is asking: an API token (`Authorization: Bearer TOKEN`) for the admin API, or an
//! operator's login session (a cookie) for the admin pages. Tokens and session cookies are
//! stored as their SHA-256, passwords as argon2id hashes (PHC strings); a token is shown
//! once, when it is created.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use forewarn_store::Session;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::App;
use crate::error::{ApiError, ApiResult};

/// The cookie that carries an operator's session.
pub const SESSION_COOKIE: &str = "forewarn_session";

/// Passwords shorter than this are refused.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The hex SHA-256 of a token or session id: what the store keeps.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new token from 32 random bytes (the caller brings the randomness): `fw_` and 64 hex digits.
pub fn token_from(random: &[u8; 32]) -> String {
    format!("fw_{}", hex::encode(random))
}

/// 32 bytes from the operating system's random source, as 64 hex digits (session cookies,
/// CSRF tokens).
pub fn random_hex() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(hex::encode(bytes))
}

/// Whether a password is long enough; the message says what to do if not.
pub fn check_password_strength(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!("the password has {n} characters: use at least {MIN_PASSWORD_CHARS}"));
    }
    Ok(())
}

/// The argon2id hash of a password as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`),
/// salted from the operating system's random source. Slow on purpose: call it off the async
/// threads.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random salt: {e}"))?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| format!("cannot encode the salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// A hash of a password nobody has, checked when the name is unknown so that a wrong name
/// takes as long as a wrong password.
const NOBODY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$ZdYmTMGQdxi31xWYJtG4mw$eM/B0WJogmgb/+am2rdqTnVhqaVFnxIbLVAJkMRokfc";

/// Whether `password` matches the PHC string `phc` (the stored hash), or, for `None`, spends
/// the same time and says no. Slow on purpose: call it off the async threads.
pub fn verify_password(password: &str, phc: Option<&str>) -> bool {
    let known = phc.is_some();
    let Ok(hash) = PasswordHash::new(phc.unwrap_or(NOBODY)) else {
        tracing::error!("a stored password hash is not a PHC string");
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &hash).is_ok() && known
}

/// The value of the session cookie among a request's `Cookie` headers.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// The operator's session a request carries, unless it has none or it expired.
pub async fn session(app: &App, headers: &HeaderMap) -> ApiResult<Option<Session>> {
    let Some(cookie) = session_cookie(headers) else { return Ok(None) };
    Ok(app.store.session(&hash_secret(cookie), app.now()).await?)
}

/// Whether two secrets are equal, in time that depends on their length only.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// An authenticated operator or API client; its name goes into the audit log. An API token
/// works for every request; an operator's session cookie for reading (GET) only, since the
/// API's writes carry no CSRF token; a machine's token for none.
#[derive(Clone, Debug)]
pub struct Actor(pub String);

impl FromRequestParts<Arc<App>> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Actor, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        if header.is_empty()
            && parts.method == Method::GET
            && let Some(s) = session(app, &parts.headers).await?
        {
            return Ok(Actor(format!("operator:{}", s.operator)));
        }
        let Some(token) = header.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(ApiError::unauthorized());
        };
        let refused = |what: String| {
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!(
                    "this is {what}; send an API token as `Authorization: Bearer TOKEN` (create one with `forewarn \
                     token create`)"
                ),
            )
        };
        match app.store.token_by_hash(&hash_secret(token)).await? {
            Some(t) => match (t.machine, t.fleetlock) {
                (None, None) => Ok(Actor(format!("token:{}", t.name))),
                // A machine's token reaches its agent's API, a group's its locks, nothing of
                // the operators'.
                (Some(machine), _) => {
                    Err(refused(format!("machine `{machine}`'s token: it reaches only the agent's API (/agent/v1)")))
                }
                (None, Some(group)) => Err(refused(format!(
                    "FleetLock group `{group}`'s token: it takes and releases that group's locks only \
                     (/v1/pre-reboot, /v1/steady-state)"
                ))),
            },
            None => Err(ApiError::unauthorized()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_alike_and_hash_stably() {
        let t = token_from(&[7; 32]);
        assert_eq!(t.len(), 67);
        assert!(t.starts_with("fw_0707"));
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn passwords_hash_as_argon2id_with_fresh_salts_and_verify() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse battery", Some(&a)));
        assert!(!verify_password("correct horse batterY", Some(&a)));
        assert!(!verify_password("anything", None));
        assert!(!verify_password("anything", Some("not a hash")));
        assert!(check_password_strength("short").unwrap_err().contains("at least 12"));
        assert!(check_password_strength("twelve chars").is_ok());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, "a=1; forewarn_session=abc; b=2".parse().unwrap());
        assert_eq!(session_cookie(&h), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(COOKIE, "a=1".parse().unwrap());
        h.append(COOKIE, "forewarn_session=xyz".parse().unwrap());
        assert_eq!(session_cookie(&h), Some("xyz"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
        assert_eq!(random_hex().unwrap().len(), 64);
        assert_ne!(random_hex().unwrap(), random_hex().unwrap());
    }
}
