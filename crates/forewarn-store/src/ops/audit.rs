//! The audit log: the row each write adds in its own transaction, and reading it back.

use crate::codec::{json_text, micros};
use crate::types::AuditEntry;

use super::*;

pub(super) async fn audit(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    action: &str,
    subject: &str,
    detail: Value,
) -> Result<()> {
    query("INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(micros(at))
        .bind(actor)
        .bind(action)
        .bind(subject)
        .bind(json_text(&detail))
        .execute(&mut *c)
        .await?;
    Ok(())
}

pub(crate) async fn audit_log(c: &mut Conn, limit: u32) -> Result<Vec<AuditEntry>> {
    let rows = query("SELECT id, at, actor, action, subject, detail FROM audit ORDER BY at DESC, id DESC LIMIT $1")
        .bind(i64::from(limit))
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(audit_entry).collect()
}

pub(crate) async fn audit_of(c: &mut Conn, action: &str, limit: u32) -> Result<Vec<AuditEntry>> {
    let rows = query(
        "SELECT id, at, actor, action, subject, detail FROM audit WHERE action = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(action)
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(audit_entry).collect()
}

fn audit_entry(r: &DbRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.try_get("id")?,
        at: ts(r, "at")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        subject: r.try_get("subject")?,
        detail: json_col(r, "detail")?,
    })
}
