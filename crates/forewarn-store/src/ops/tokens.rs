//! API tokens (their hashes).

use serde_json::json;

use crate::Error;
use crate::codec::{conflict_on_unique, micros};
use crate::types::{Token, TokenFor};

use super::*;

const TOKEN: &str = "SELECT id, name, created, actor, revoked, revoked_by, machine, fleetlock FROM tokens";

fn token_from_row(r: &DbRow) -> Result<Token> {
    Ok(Token {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created: ts(r, "created")?,
        by: r.try_get("actor")?,
        revoked: opt_ts(r, "revoked")?,
        revoked_by: r.try_get("revoked_by")?,
        machine: r.try_get("machine")?,
        fleetlock: r.try_get("fleetlock")?,
    })
}

pub(crate) async fn create_token(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    name: &str,
    hash: &str,
    reach: TokenFor<'_>,
) -> Result<i64> {
    let (machine, fleetlock) = match reach {
        TokenFor::Api => (None, None),
        TokenFor::Machine(m) => (Some(m), None),
        TokenFor::Fleetlock(g) => (None, Some(g)),
    };
    if blank(name) || blank(hash) || machine.is_some_and(blank) || fleetlock.is_some_and(blank) {
        return Err(Error::Invalid(
            "a token needs a name and a hash, a machine's token its machine, a FleetLock token its group".into(),
        ));
    }
    let id: i64 = query(
        "INSERT INTO tokens (name, hash, created, actor, machine, fleetlock) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id",
    )
    .bind(name)
    .bind(hash)
    .bind(micros(at))
    .bind(actor)
    .bind(machine)
    .bind(fleetlock)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| conflict_on_unique(e, || "a token with this hash exists already".into()))?
    .try_get("id")?;
    let detail = match reach {
        TokenFor::Machine(m) => json!({ "name": name, "machine": m }),
        TokenFor::Fleetlock(g) => json!({ "name": name, "fleetlock": g }),
        TokenFor::Api => json!({ "name": name }),
    };
    audit(c, at, actor, "token.create", &id.to_string(), detail).await?;
    Ok(id)
}

/// A token that was not revoked, by its hash.
pub(crate) async fn token_by_hash(c: &mut Conn, hash: &str) -> Result<Option<Token>> {
    let row = query(&format!("{TOKEN} WHERE hash = $1 AND revoked IS NULL")).bind(hash).fetch_optional(&mut *c).await?;
    row.as_ref().map(token_from_row).transpose()
}

pub(crate) async fn tokens(c: &mut Conn) -> Result<Vec<Token>> {
    let rows = query(&format!("{TOKEN} ORDER BY id")).fetch_all(&mut *c).await?;
    rows.iter().map(token_from_row).collect()
}

pub(crate) async fn revoke_token(c: &mut Conn, at: Timestamp, actor: &str, id: i64) -> Result<Token> {
    let row = query(&format!("{TOKEN} WHERE id = $1")).bind(id).fetch_optional(&mut *c).await?;
    let token = row.as_ref().map(token_from_row).transpose()?.ok_or_else(|| Error::NotFound(format!("token {id}")))?;
    if let Some(when) = token.revoked {
        let by = token.revoked_by.as_deref().unwrap_or("?");
        return Err(Error::Conflict(format!("token {id} (`{}`) was revoked already, at {when} by {by}", token.name)));
    }
    let done = query("UPDATE tokens SET revoked = $1, revoked_by = $2 WHERE id = $3 AND revoked IS NULL")
        .bind(micros(at))
        .bind(actor)
        .bind(id)
        .execute(&mut *c)
        .await?;
    if done.rows_affected() != 1 {
        return Err(Error::Conflict(format!("token {id} was revoked meanwhile; look again")));
    }
    audit(c, at, actor, "token.revoke", &id.to_string(), json!({ "name": token.name })).await?;
    Ok(Token { revoked: Some(stored(at)?), revoked_by: Some(actor.to_owned()), ..token })
}
