//! Components of the status page and their status.

use forewarn_status::Component;
use serde_json::json;

use crate::Error;
use crate::codec::{component_kind, component_kind_name, component_status, component_status_name, micros};

use super::*;

fn component_from_row(r: &DbRow) -> Result<Component> {
    Ok(Component {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: component_kind(r.try_get("kind")?)?,
        status: component_status(r.try_get("status")?)?,
    })
}

pub(crate) async fn upsert_component(c: &mut Conn, at: Timestamp, actor: &str, component: &Component) -> Result<()> {
    if blank(&component.id) || blank(&component.name) {
        return Err(Error::Invalid("a component needs an id and a name".into()));
    }
    query(
        "INSERT INTO components (id, name, kind, status, position, updated) \
         VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(position), 0) + 1 FROM components), $5) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, status = excluded.status, \
         updated = excluded.updated",
    )
    .bind(&component.id)
    .bind(&component.name)
    .bind(component_kind_name(component.kind))
    .bind(component_status_name(component.status))
    .bind(micros(at))
    .execute(&mut *c)
    .await?;
    let detail = json!({
        "name": component.name,
        "kind": component_kind_name(component.kind),
        "status": component_status_name(component.status),
    });
    audit(c, at, actor, "component.upsert", &component.id, detail).await
}

pub(crate) async fn components(c: &mut Conn) -> Result<Vec<Component>> {
    let rows = query("SELECT id, name, kind, status FROM components ORDER BY position, id").fetch_all(&mut *c).await?;
    rows.iter().map(component_from_row).collect()
}

pub(crate) async fn set_component_status(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    status: forewarn_status::ComponentStatus,
) -> Result<Component> {
    let row = query("SELECT id, name, kind, status FROM components WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await?
        .ok_or_else(|| Error::NotFound(format!("component `{id}`")))?;
    let old = component_from_row(&row)?;
    query("UPDATE components SET status = $1, updated = $2 WHERE id = $3")
        .bind(component_status_name(status))
        .bind(micros(at))
        .bind(id)
        .execute(&mut *c)
        .await?;
    let detail = json!({ "from": component_status_name(old.status), "to": component_status_name(status) });
    audit(c, at, actor, "component.status", id, detail).await?;
    Ok(Component { status, ..old })
}
