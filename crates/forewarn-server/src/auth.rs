//! Who is asking: an API token (`Authorization: Bearer TOKEN`) for the admin API. Tokens
//! are stored as their SHA-256; the token itself is shown once, when it is created.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use crate::App;
use crate::error::ApiError;

/// The hex SHA-256 of a token or session id: what the store keeps.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new token from 32 random bytes (the caller brings the randomness): `fw_` and 64 hex digits.
pub fn token_from(random: &[u8; 32]) -> String {
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("fw_{hex}")
}

/// An authenticated operator or API client; its name goes into the audit log.
#[derive(Clone, Debug)]
pub struct Actor(pub String);

impl FromRequestParts<Arc<App>> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Actor, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let Some(token) = header.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(ApiError::unauthorized());
        };
        match app.store.token_by_hash(&hash_secret(token)).await? {
            Some(t) => Ok(Actor(format!("token:{}", t.name))),
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
}
