//! Inventory versions, their text kept in pieces (as a plan's); and whether the database
//! answers.

use serde_json::json;

use crate::Error;
use crate::codec::{json_text, micros};
use crate::types::StoredInventory;

use super::*;

pub(crate) async fn import_inventory(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    format: &str,
    text: &str,
    summary: &Value,
) -> Result<i64> {
    if format != "toml" && format != "json" {
        return Err(Error::Invalid(format!("unknown inventory format `{format}`: expected toml or json")));
    }
    let version: i64 = query("UPDATE counters SET value = value + 1 WHERE name = 'inventory' RETURNING value")
        .fetch_one(&mut *c)
        .await?
        .try_get("value")?;
    query("INSERT INTO inventories (version, at, actor, format, text, summary) VALUES ($1, $2, $3, $4, '', $5)")
        .bind(version)
        .bind(micros(at))
        .bind(actor)
        .bind(format)
        .bind(json_text(summary))
        .execute(&mut *c)
        .await?;
    written_in_pieces(c, text, |n, piece| {
        query("INSERT INTO inventory_pieces (version, n, text) VALUES ($1, $2, $3)").bind(version).bind(n).bind(piece)
    })
    .await?;
    let detail = json!({ "version": version, "format": format, "bytes": text.len(), "summary": summary });
    audit(c, at, actor, "inventory.import", &version.to_string(), detail).await?;
    Ok(version)
}

/// The latest inventory version, without its text.
pub(crate) async fn inventory_version(c: &mut Conn) -> Result<Option<i64>> {
    let row = query("SELECT MAX(version) AS version FROM inventories").fetch_one(&mut *c).await?;
    Ok(row.try_get("version")?)
}

/// Whether the database answers.
pub(crate) async fn ping(c: &mut Conn) -> Result<()> {
    query("SELECT 1").fetch_one(&mut *c).await?;
    Ok(())
}

pub(crate) async fn inventory(c: &mut Conn, version: Option<i64>) -> Result<Option<StoredInventory>> {
    const COLUMNS: &str = "SELECT version, at, actor, format, text, summary FROM inventories";
    let row = match version {
        Some(v) => query(&format!("{COLUMNS} WHERE version = $1")).bind(v).fetch_optional(&mut *c).await?,
        None => query(&format!("{COLUMNS} ORDER BY version DESC LIMIT 1")).fetch_optional(&mut *c).await?,
    };
    let Some(r) = row else { return Ok(None) };
    let version: i64 = r.try_get("version")?;
    let head: String = r.try_get("text")?;
    let mut inventory = StoredInventory {
        version,
        at: ts(&r, "at")?,
        actor: r.try_get("actor")?,
        format: r.try_get("format")?,
        text: String::new(),
        summary: json_col(&r, "summary")?,
    };
    drop(r);
    inventory.text = joined_pieces(c, head, |n| {
        query("SELECT text FROM inventory_pieces WHERE version = $1 AND n = $2").bind(version).bind(n)
    })
    .await?;
    Ok(Some(inventory))
}

pub(super) async fn require_inventory(c: &mut Conn, version: i64) -> Result<()> {
    let found =
        query("SELECT version FROM inventories WHERE version = $1").bind(version).fetch_optional(&mut *c).await?;
    match found {
        Some(_) => Ok(()),
        None => Err(Error::NotFound(format!("inventory version {version}"))),
    }
}
