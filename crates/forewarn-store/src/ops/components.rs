//! Components of the status page and their status. They follow the latest inventory: it
//! adds, renames, retires and brings back components ([`follow_inventory`]); a retired one
//! keeps its row (posts and subscribers name it) but is no longer listed.

use std::collections::BTreeMap;

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
         updated = excluded.updated, retired = NULL",
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

/// The components in use (not retired), in the order they were added.
pub(crate) async fn components(c: &mut Conn) -> Result<Vec<Component>> {
    let rows = query("SELECT id, name, kind, status FROM components WHERE retired IS NULL ORDER BY position, id")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(component_from_row).collect()
}

/// Every component, retired ones too (old posts name them), in the order they were added.
pub(crate) async fn all_components(c: &mut Conn) -> Result<Vec<Component>> {
    let rows = query("SELECT id, name, kind, status FROM components ORDER BY position, id").fetch_all(&mut *c).await?;
    rows.iter().map(component_from_row).collect()
}

/// Makes the components those an inventory names (`named`): a new one is added
/// (operational), a known one takes the inventory's name (`component.rename`) and, when it
/// was retired, comes back (`component.unretire`); one the inventory no longer names is
/// retired (`component.retire`), its row and status kept. A status set by hand stays.
pub(super) async fn follow_inventory(c: &mut Conn, at: Timestamp, actor: &str, named: &[Component]) -> Result<()> {
    if let Some(k) = named.iter().find(|k| blank(&k.id) || blank(&k.name)) {
        return Err(Error::Invalid(format!("a component needs an id and a name (`{}`, `{}`)", k.id, k.name)));
    }
    let rows = query("SELECT id, name, kind, status, retired FROM components").fetch_all(&mut *c).await?;
    let mut known = BTreeMap::new();
    for r in &rows {
        let retired = r.try_get::<Option<i64>, _>("retired")?.is_some();
        let k = component_from_row(r)?;
        known.insert(k.id.clone(), (k, retired));
    }
    for component in named {
        let Some((old, retired)) = known.remove(&component.id) else {
            upsert_component(c, at, actor, component).await?;
            continue;
        };
        if retired {
            query("UPDATE components SET retired = NULL, updated = $1 WHERE id = $2")
                .bind(micros(at))
                .bind(&component.id)
                .execute(&mut *c)
                .await?;
            audit(c, at, actor, "component.unretire", &component.id, json!({ "name": component.name })).await?;
        }
        if old.name != component.name {
            query("UPDATE components SET name = $1, updated = $2 WHERE id = $3")
                .bind(&component.name)
                .bind(micros(at))
                .bind(&component.id)
                .execute(&mut *c)
                .await?;
            let detail = json!({ "from": old.name, "to": component.name });
            audit(c, at, actor, "component.rename", &component.id, detail).await?;
        }
    }
    for (id, (old, retired)) in known {
        if retired {
            continue;
        }
        query("UPDATE components SET retired = $1, updated = $1 WHERE id = $2")
            .bind(micros(at))
            .bind(&id)
            .execute(&mut *c)
            .await?;
        audit(c, at, actor, "component.retire", &id, json!({ "name": old.name })).await?;
    }
    Ok(())
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
