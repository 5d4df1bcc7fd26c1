//! Operators (their password hashes) and their sessions.

use serde_json::json;

use crate::Error;
use crate::codec::{conflict_on_unique, micros};
use crate::types::Session;

use super::*;

pub(crate) async fn set_operator(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    name: &str,
    password_hash: &str,
) -> Result<()> {
    if blank(name) || blank(password_hash) {
        return Err(Error::Invalid("an operator needs a name and a password hash".into()));
    }
    let known = query("SELECT name FROM operators WHERE name = $1").bind(name).fetch_optional(&mut *c).await?;
    query(
        "INSERT INTO operators (name, password_hash, created, updated) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, updated = excluded.updated",
    )
    .bind(name)
    .bind(password_hash)
    .bind(micros(at))
    .execute(&mut *c)
    .await?;
    // A new password ends every session the old one opened.
    let ended = query("DELETE FROM sessions WHERE operator = $1").bind(name).execute(&mut *c).await?.rows_affected();
    audit(c, at, actor, "operator.set", name, json!({ "new": known.is_none(), "sessions_ended": ended })).await
}

pub(crate) async fn operators(c: &mut Conn) -> Result<Vec<(String, Timestamp, Timestamp)>> {
    let rows = query("SELECT name, created, updated FROM operators ORDER BY name").fetch_all(&mut *c).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("name")?, from_micros(r.try_get("created")?)?, from_micros(r.try_get("updated")?)?)))
        .collect()
}

pub(crate) async fn remove_operator(c: &mut Conn, at: Timestamp, actor: &str, name: &str) -> Result<()> {
    let ended = query("DELETE FROM sessions WHERE operator = $1").bind(name).execute(&mut *c).await?.rows_affected();
    let gone = query("DELETE FROM operators WHERE name = $1").bind(name).execute(&mut *c).await?.rows_affected();
    if gone == 0 {
        return Err(Error::NotFound(format!("no operator `{name}`")));
    }
    audit(c, at, actor, "operator.remove", name, json!({ "sessions_ended": ended })).await
}

pub(crate) async fn operator_hash(c: &mut Conn, name: &str) -> Result<Option<String>> {
    let row = query("SELECT password_hash FROM operators WHERE name = $1").bind(name).fetch_optional(&mut *c).await?;
    Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
}

pub(crate) async fn record_failed_login(c: &mut Conn, at: Timestamp, name: &str, address: &str) -> Result<()> {
    audit(c, at, "public", "operator.login_failed", name, json!({ "address": address })).await
}

pub(crate) async fn create_session(
    c: &mut Conn,
    at: Timestamp,
    session_hash: &str,
    operator: &str,
    csrf: &str,
    expires: Timestamp,
) -> Result<()> {
    if expires <= at {
        return Err(Error::Invalid(format!("a session created at {at} cannot expire at {expires}")));
    }
    let known = query("SELECT name FROM operators WHERE name = $1").bind(operator).fetch_optional(&mut *c).await?;
    if known.is_none() {
        return Err(Error::NotFound(format!("operator `{operator}`")));
    }
    query("INSERT INTO sessions (hash, operator, csrf, created, expires) VALUES ($1, $2, $3, $4, $5)")
        .bind(session_hash)
        .bind(operator)
        .bind(csrf)
        .bind(micros(at))
        .bind(micros(expires))
        .execute(&mut *c)
        .await
        .map_err(|e| conflict_on_unique(e, || "a session with this hash exists already".into()))?;
    audit(c, at, operator, "session.create", operator, json!({ "expires": expires })).await
}

pub(crate) async fn session(c: &mut Conn, session_hash: &str, now: Timestamp) -> Result<Option<Session>> {
    let row = query("SELECT operator, csrf, expires FROM sessions WHERE hash = $1 AND expires > $2")
        .bind(session_hash)
        .bind(micros(now))
        .fetch_optional(&mut *c)
        .await?;
    row.map(|r| Ok(Session { operator: r.try_get("operator")?, csrf: r.try_get("csrf")?, expires: ts(&r, "expires")? }))
        .transpose()
}

pub(crate) async fn delete_session(c: &mut Conn, session_hash: &str) -> Result<bool> {
    let done = query("DELETE FROM sessions WHERE hash = $1").bind(session_hash).execute(&mut *c).await?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn delete_expired_sessions(c: &mut Conn, now: Timestamp) -> Result<u64> {
    let done = query("DELETE FROM sessions WHERE expires <= $1").bind(micros(now)).execute(&mut *c).await?;
    Ok(done.rows_affected())
}
