//! Every operation of the store, written once over `super::Db` and compiled for each
//! backend: `sqlite.rs` and `postgres.rs` both mount this file as their `ops` module.
//! Queries use `$N` placeholders (both drivers take them) and `RETURNING` (both databases
//! have it); what differs (DDL, identity columns, how a write transaction begins) lives
//! in the migrations and the backend modules. A mutating operation runs inside the
//! caller's transaction and writes its audit row there too.

use std::collections::HashMap;

use forewarn_status::{Component, Post, PostKind, PostState, Revision, Update};
use jiff::Timestamp;
use serde_json::{Value, json};
use sqlx::{Database, Row};

use super::Db;
use crate::codec::{
    component_kind, component_kind_name, component_status, component_status_name, conflict_on_unique, corrupt,
    from_micros, json_text, json_value, micros, parse,
};
use crate::types::{
    AuditEntry, CampaignState, Correction, Counts, NewCampaign, NewPost, PlanSummary, Session, StoredCampaign,
    StoredInventory, StoredPlan, Token,
};
use crate::{Error, Result};

type Conn = <Db as Database>::Connection;
type DbRow = <Db as Database>::Row;
type Query<'q> = sqlx::query::Query<'q, Db, <Db as Database>::Arguments<'q>>;

fn query(sql: &str) -> Query<'_> {
    sqlx::query(sql)
}

fn ts(row: &DbRow, column: &str) -> Result<Timestamp> {
    from_micros(row.try_get(column)?)
}

fn opt_ts(row: &DbRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?.map(from_micros).transpose()
}

fn json_col(row: &DbRow, column: &str) -> Result<Value> {
    json_value(row.try_get(column)?, column)
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

// Audit.

async fn audit(c: &mut Conn, at: Timestamp, actor: &str, action: &str, subject: &str, detail: Value) -> Result<()> {
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
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: ts(r, "at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
                detail: json_col(r, "detail")?,
            })
        })
        .collect()
}

// Inventory.

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
    query("INSERT INTO inventories (version, at, actor, format, text, summary) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(version)
        .bind(micros(at))
        .bind(actor)
        .bind(format)
        .bind(text)
        .bind(json_text(summary))
        .execute(&mut *c)
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
    row.map(|r| {
        Ok(StoredInventory {
            version: r.try_get("version")?,
            at: ts(&r, "at")?,
            actor: r.try_get("actor")?,
            format: r.try_get("format")?,
            text: r.try_get("text")?,
            summary: json_col(&r, "summary")?,
        })
    })
    .transpose()
}

async fn require_inventory(c: &mut Conn, version: i64) -> Result<()> {
    let found =
        query("SELECT version FROM inventories WHERE version = $1").bind(version).fetch_optional(&mut *c).await?;
    match found {
        Some(_) => Ok(()),
        None => Err(Error::NotFound(format!("inventory version {version}"))),
    }
}

// Campaigns.

const CAMPAIGN: &str =
    "SELECT id, title, text, state, inventory_version, created, updated, published_plan FROM campaigns";

fn campaign_from_row(r: &DbRow) -> Result<StoredCampaign> {
    Ok(StoredCampaign {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        text: r.try_get("text")?,
        state: parse(r.try_get("state")?)?,
        inventory_version: r.try_get("inventory_version")?,
        created: ts(r, "created")?,
        updated: ts(r, "updated")?,
        published_plan: r.try_get("published_plan")?,
    })
}

pub(crate) async fn campaign(c: &mut Conn, id: &str) -> Result<Option<StoredCampaign>> {
    let row = query(&format!("{CAMPAIGN} WHERE id = $1")).bind(id).fetch_optional(&mut *c).await?;
    row.as_ref().map(campaign_from_row).transpose()
}

async fn existing_campaign(c: &mut Conn, id: &str) -> Result<StoredCampaign> {
    campaign(c, id).await?.ok_or_else(|| Error::NotFound(format!("campaign `{id}`")))
}

pub(crate) async fn campaigns(c: &mut Conn) -> Result<Vec<StoredCampaign>> {
    let rows = query(&format!("{CAMPAIGN} ORDER BY created DESC, id")).fetch_all(&mut *c).await?;
    rows.iter().map(campaign_from_row).collect()
}

pub(crate) async fn create_campaign(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    new: &NewCampaign,
) -> Result<StoredCampaign> {
    if blank(&new.id) {
        return Err(Error::Invalid("a campaign needs an id".into()));
    }
    require_inventory(c, new.inventory_version).await?;
    query(
        "INSERT INTO campaigns (id, title, text, state, inventory_version, created, updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&new.id)
    .bind(&new.title)
    .bind(&new.text)
    .bind(CampaignState::Draft.as_str())
    .bind(new.inventory_version)
    .bind(micros(at))
    .execute(&mut *c)
    .await
    .map_err(|e| conflict_on_unique(e, || format!("campaign `{}` already exists", new.id)))?;
    let detail = json!({ "title": new.title, "inventory_version": new.inventory_version });
    audit(c, at, actor, "campaign.create", &new.id, detail).await?;
    existing_campaign(c, &new.id).await
}

/// Moves `id` from `from` to `to` unless someone else moved it first.
async fn move_campaign(
    c: &mut Conn,
    at: Timestamp,
    id: &str,
    from: CampaignState,
    to: CampaignState,
    published_plan: Option<i64>,
) -> Result<()> {
    let moved = query(
        "UPDATE campaigns SET state = $1, updated = $2, published_plan = COALESCE($3, published_plan) \
         WHERE id = $4 AND state = $5",
    )
    .bind(to.as_str())
    .bind(micros(at))
    .bind(published_plan)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *c)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(Error::Conflict(format!("campaign `{id}` changed while it was being {to}; look again and retry")));
    }
    Ok(())
}

fn state_change_refused(id: &str, from: CampaignState, to: CampaignState) -> Error {
    if from == to {
        return Error::Invalid(format!("campaign `{id}` is already {to}"));
    }
    let next: Vec<&str> =
        CampaignState::ALL.into_iter().filter(|s| from.can_move_to(*s)).map(CampaignState::as_str).collect();
    let hint = match next.as_slice() {
        [] => format!("a {from} campaign cannot change any more"),
        [one] => format!("a {from} campaign can only become {one}"),
        [init @ .., last] => format!("a {from} campaign can become {} or {last}", init.join(", ")),
    };
    Error::Invalid(format!("campaign `{id}` cannot go from {from} to {to}: {hint}"))
}

/// An inventory version and the components it names that are not known yet, together: a
/// failure leaves neither.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn import_inventory_with_components(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    format: &str,
    text: &str,
    summary: &Value,
    named: &[Component],
) -> Result<i64> {
    let version = import_inventory(c, at, actor, format, text, summary).await?;
    let known: Vec<String> = components(c).await?.into_iter().map(|k| k.id).collect();
    for component in named.iter().filter(|k| !known.contains(&k.id)) {
        upsert_component(c, at, actor, component).await?;
    }
    Ok(version)
}

/// A campaign's new state and an update on each of its posts still open, together.
pub(crate) async fn change_campaign_state(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    state: CampaignState,
    update: (&str, Option<PostState>),
) -> Result<StoredCampaign> {
    let campaign = set_campaign_state(c, at, actor, id, state).await?;
    for post in posts_of_campaign(c, id).await? {
        if !post.state.is_final() {
            add_update(c, at, actor, post.id, update.1, update.0).await?;
        }
    }
    Ok(campaign)
}

pub(crate) async fn set_campaign_state(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    to: CampaignState,
) -> Result<StoredCampaign> {
    let from = existing_campaign(c, id).await?.state;
    if !from.can_move_to(to) {
        return Err(state_change_refused(id, from, to));
    }
    if from == CampaignState::Draft && to == CampaignState::Published {
        return Err(Error::Invalid(format!(
            "campaign `{id}` is a draft: a draft is published with one of its plan versions, not by a change of state"
        )));
    }
    move_campaign(c, at, id, from, to, None).await?;
    let action = match to {
        CampaignState::Paused => "campaign.pause",
        CampaignState::Published => "campaign.resume",
        CampaignState::Cancelled => "campaign.cancel",
        CampaignState::Completed => "campaign.complete",
        CampaignState::Draft => "campaign.state",
    };
    audit(c, at, actor, action, id, json!({ "from": from.as_str(), "to": to.as_str() })).await?;
    existing_campaign(c, id).await
}

pub(crate) async fn publish_campaign(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    plan_version: i64,
    post: &NewPost,
) -> Result<(StoredCampaign, Post)> {
    let from = existing_campaign(c, id).await?.state;
    if from != CampaignState::Draft {
        return Err(Error::Invalid(format!("campaign `{id}` is {from}: only a draft campaign can be published")));
    }
    let plan = query("SELECT version FROM plans WHERE campaign = $1 AND version = $2")
        .bind(id)
        .bind(plan_version)
        .fetch_optional(&mut *c)
        .await?;
    if plan.is_none() {
        return Err(Error::NotFound(format!("plan version {plan_version} of campaign `{id}`")));
    }
    if post.kind != PostKind::Maintenance {
        return Err(Error::Invalid(format!(
            "a campaign is announced by a maintenance post, not by a {} post",
            post.kind
        )));
    }
    if let Some(other) = post.campaign.as_deref().filter(|other| *other != id) {
        return Err(Error::Invalid(format!("the post of campaign `{id}` names another campaign, `{other}`")));
    }
    move_campaign(c, at, id, from, CampaignState::Published, Some(plan_version)).await?;
    let post = NewPost { campaign: Some(id.to_owned()), ..post.clone() };
    let post = create_post(c, at, actor, &post).await?;
    audit(c, at, actor, "campaign.publish", id, json!({ "plan": plan_version, "post": post.id })).await?;
    Ok((existing_campaign(c, id).await?, post))
}

// Plans.

pub(crate) async fn add_plan(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    campaign: &str,
    inventory_version: i64,
    plan_json: &str,
    summary: &Value,
) -> Result<i64> {
    require_inventory(c, inventory_version).await?;
    // Taking the number locks the campaign's row: concurrent planners queue here.
    let row = query(
        "UPDATE campaigns SET plan_count = plan_count + 1, updated = $1 WHERE id = $2 RETURNING plan_count, state",
    )
    .bind(micros(at))
    .bind(campaign)
    .fetch_optional(&mut *c)
    .await?
    .ok_or_else(|| Error::NotFound(format!("campaign `{campaign}`")))?;
    let version: i64 = row.try_get("plan_count")?;
    let state: CampaignState = parse(row.try_get("state")?)?;
    if state.is_final() {
        return Err(Error::Invalid(format!("campaign `{campaign}` is {state}: it is not planned any more")));
    }
    query(
        "INSERT INTO plans (campaign, version, created, actor, inventory_version, json, summary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(campaign)
    .bind(version)
    .bind(micros(at))
    .bind(actor)
    .bind(inventory_version)
    .bind(plan_json)
    .bind(json_text(summary))
    .execute(&mut *c)
    .await?;
    let detail = json!({ "version": version, "inventory_version": inventory_version, "summary": summary });
    audit(c, at, actor, "plan.add", campaign, detail).await?;
    Ok(version)
}

pub(crate) async fn plan(c: &mut Conn, campaign: &str, version: Option<i64>) -> Result<Option<StoredPlan>> {
    const COLUMNS: &str =
        "SELECT campaign, version, created, actor, inventory_version, json, summary FROM plans WHERE campaign = $1";
    let row = match version {
        Some(v) => query(&format!("{COLUMNS} AND version = $2")).bind(campaign).bind(v).fetch_optional(&mut *c).await?,
        None => {
            query(&format!("{COLUMNS} ORDER BY version DESC LIMIT 1")).bind(campaign).fetch_optional(&mut *c).await?
        }
    };
    row.map(|r| {
        Ok(StoredPlan {
            campaign: r.try_get("campaign")?,
            version: r.try_get("version")?,
            created: ts(&r, "created")?,
            actor: r.try_get("actor")?,
            inventory_version: r.try_get("inventory_version")?,
            json: r.try_get("json")?,
            summary: json_col(&r, "summary")?,
        })
    })
    .transpose()
}

pub(crate) async fn plans(c: &mut Conn, campaign: &str) -> Result<Vec<PlanSummary>> {
    let rows = query(
        "SELECT campaign, version, created, actor, inventory_version, summary FROM plans \
         WHERE campaign = $1 ORDER BY version DESC",
    )
    .bind(campaign)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PlanSummary {
                campaign: r.try_get("campaign")?,
                version: r.try_get("version")?,
                created: ts(r, "created")?,
                actor: r.try_get("actor")?,
                inventory_version: r.try_get("inventory_version")?,
                summary: json_col(r, "summary")?,
            })
        })
        .collect()
}

// Posts.

const POST: &str = "SELECT id, kind, state, title, body, starts, ends, campaign, created, updated, revision FROM posts";

fn post_from_row(r: &DbRow, components: Vec<String>) -> Result<Post> {
    let revision: i64 = r.try_get("revision")?;
    Ok(Post {
        id: r.try_get("id")?,
        kind: parse(r.try_get("kind")?)?,
        state: parse(r.try_get("state")?)?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        starts: opt_ts(r, "starts")?,
        ends: opt_ts(r, "ends")?,
        components,
        campaign: r.try_get("campaign")?,
        created: ts(r, "created")?,
        updated: ts(r, "updated")?,
        revision: u32::try_from(revision).map_err(|_| corrupt(format!("post revision {revision} is out of range")))?,
    })
}

/// Posts from their rows, with their components from `(post, component)` rows in order.
fn posts_from_rows(rows: &[DbRow], component_rows: &[DbRow]) -> Result<Vec<Post>> {
    let mut components: HashMap<i64, Vec<String>> = HashMap::new();
    for r in component_rows {
        components.entry(r.try_get("post")?).or_default().push(r.try_get("component")?);
    }
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            post_from_row(r, components.remove(&id).unwrap_or_default())
        })
        .collect()
}

pub(crate) async fn post(c: &mut Conn, id: i64) -> Result<Option<Post>> {
    let Some(row) = query(&format!("{POST} WHERE id = $1")).bind(id).fetch_optional(&mut *c).await? else {
        return Ok(None);
    };
    let components = query("SELECT component FROM post_components WHERE post = $1 ORDER BY position")
        .bind(id)
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(|r| r.try_get("component"))
        .collect::<Result<Vec<String>, sqlx::Error>>()?;
    post_from_row(&row, components).map(Some)
}

async fn existing_post(c: &mut Conn, id: i64) -> Result<Post> {
    post(c, id).await?.ok_or_else(|| Error::NotFound(format!("post {id}")))
}

pub(crate) async fn posts(c: &mut Conn) -> Result<Vec<Post>> {
    let rows = query(&format!("{POST} ORDER BY created DESC, id DESC")).fetch_all(&mut *c).await?;
    let components =
        query("SELECT post, component FROM post_components ORDER BY post, position").fetch_all(&mut *c).await?;
    posts_from_rows(&rows, &components)
}

pub(crate) async fn posts_of_campaign(c: &mut Conn, campaign: &str) -> Result<Vec<Post>> {
    let rows = query(&format!("{POST} WHERE campaign = $1 ORDER BY created DESC, id DESC"))
        .bind(campaign)
        .fetch_all(&mut *c)
        .await?;
    let components = query(
        "SELECT pc.post, pc.component FROM post_components pc JOIN posts p ON p.id = pc.post \
         WHERE p.campaign = $1 ORDER BY pc.post, pc.position",
    )
    .bind(campaign)
    .fetch_all(&mut *c)
    .await?;
    posts_from_rows(&rows, &components)
}

fn check_state(kind: PostKind, state: PostState) -> Result<()> {
    if kind.states().contains(&state) {
        return Ok(());
    }
    let states: Vec<&str> = kind.states().iter().map(|s| s.name()).collect();
    Err(Error::Invalid(format!("a {kind} post cannot be {state}: its states are {}", states.join(", "))))
}

fn check_fields(title: &str, starts: Option<Timestamp>, ends: Option<Timestamp>) -> Result<()> {
    if blank(title) {
        return Err(Error::Invalid("a post needs a title".into()));
    }
    if let (Some(starts), Some(ends)) = (starts, ends) {
        if ends < starts {
            return Err(Error::Invalid(format!("the post ends ({ends}) before it starts ({starts})")));
        }
    }
    Ok(())
}

pub(crate) async fn create_post(c: &mut Conn, at: Timestamp, actor: &str, new: &NewPost) -> Result<Post> {
    let state = new.state.unwrap_or(new.kind.initial_state());
    check_state(new.kind, state)?;
    check_fields(&new.title, new.starts, new.ends)?;
    if let Some(campaign) = &new.campaign {
        existing_campaign(c, campaign).await?;
    }
    for (i, component) in new.components.iter().enumerate() {
        if new.components[..i].contains(component) {
            return Err(Error::Invalid(format!("the post names component `{component}` twice")));
        }
        let found = query("SELECT id FROM components WHERE id = $1").bind(component).fetch_optional(&mut *c).await?;
        if found.is_none() {
            return Err(Error::NotFound(format!("component `{component}`")));
        }
    }
    let id: i64 = query(
        "INSERT INTO posts (kind, state, title, body, starts, ends, campaign, created, updated, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1) RETURNING id",
    )
    .bind(new.kind.name())
    .bind(state.name())
    .bind(&new.title)
    .bind(&new.body)
    .bind(new.starts.map(micros))
    .bind(new.ends.map(micros))
    .bind(new.campaign.as_deref())
    .bind(micros(at))
    .fetch_one(&mut *c)
    .await?
    .try_get("id")?;
    for (position, component) in (1_i64..).zip(&new.components) {
        query("INSERT INTO post_components (post, position, component) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(position)
            .bind(component)
            .execute(&mut *c)
            .await?;
    }
    let detail = json!({
        "kind": new.kind.name(),
        "state": state.name(),
        "title": new.title,
        "campaign": new.campaign,
        "components": new.components,
    });
    audit(c, at, actor, "post.create", &id.to_string(), detail).await?;
    existing_post(c, id).await
}

fn update_from_row(r: &DbRow) -> Result<Update> {
    Ok(Update {
        id: r.try_get("id")?,
        post: r.try_get("post")?,
        at: ts(r, "at")?,
        state: r.try_get::<Option<&str>, _>("state")?.map(parse).transpose()?,
        body: r.try_get("body")?,
        author: r.try_get("author")?,
    })
}

pub(crate) async fn add_update(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    post: i64,
    state: Option<PostState>,
    body: &str,
) -> Result<Update> {
    let kind: PostKind = match query("SELECT kind FROM posts WHERE id = $1").bind(post).fetch_optional(&mut *c).await? {
        Some(r) => parse(r.try_get("kind")?)?,
        None => return Err(Error::NotFound(format!("post {post}"))),
    };
    if let Some(state) = state {
        check_state(kind, state)?;
    }
    if blank(body) && state.is_none() {
        return Err(Error::Invalid("an update needs a text or a new state".into()));
    }
    query("UPDATE posts SET state = COALESCE($1, state), updated = $2 WHERE id = $3")
        .bind(state.map(PostState::name))
        .bind(micros(at))
        .bind(post)
        .execute(&mut *c)
        .await?;
    let row = query(
        "INSERT INTO post_updates (post, at, state, body, author) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, post, at, state, body, author",
    )
    .bind(post)
    .bind(micros(at))
    .bind(state.map(PostState::name))
    .bind(body)
    .bind(actor)
    .fetch_one(&mut *c)
    .await?;
    let update = update_from_row(&row)?;
    let detail = json!({ "update": update.id, "state": state.map(PostState::name) });
    audit(c, at, actor, "post.update", &post.to_string(), detail).await?;
    Ok(update)
}

pub(crate) async fn updates(c: &mut Conn, post: i64) -> Result<Vec<Update>> {
    let rows = query("SELECT id, post, at, state, body, author FROM post_updates WHERE post = $1 ORDER BY at, id")
        .bind(post)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(update_from_row).collect()
}

pub(crate) async fn correct_post(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: i64,
    note: &str,
    correction: &Correction,
) -> Result<Post> {
    if blank(note) {
        return Err(Error::Invalid("a correction needs a note saying what was wrong".into()));
    }
    let old = existing_post(c, id).await?;
    let title = correction.title.as_ref().unwrap_or(&old.title);
    let body = correction.body.as_ref().unwrap_or(&old.body);
    let starts = correction.starts.or(old.starts);
    let ends = correction.ends.or(old.ends);
    let changed: Vec<&str> = [
        ("title", *title != old.title),
        ("body", *body != old.body),
        ("starts", starts != old.starts),
        ("ends", ends != old.ends),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect();
    if changed.is_empty() {
        return Err(Error::Invalid(format!("the correction of post {id} changes nothing")));
    }
    check_fields(title, starts, ends)?;
    let revision = i64::from(old.revision) + 1;
    query(
        "INSERT INTO post_revisions (post, revision, at, note, author, title, body, starts, ends) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(revision)
    .bind(micros(at))
    .bind(note)
    .bind(actor)
    .bind(&old.title)
    .bind(&old.body)
    .bind(old.starts.map(micros))
    .bind(old.ends.map(micros))
    .execute(&mut *c)
    .await
    .map_err(|e| conflict_on_unique(e, || format!("post {id} was corrected meanwhile; look again and retry")))?;
    let moved = query(
        "UPDATE posts SET title = $1, body = $2, starts = $3, ends = $4, revision = $5, updated = $6 \
         WHERE id = $7 AND revision = $8",
    )
    .bind(title)
    .bind(body)
    .bind(starts.map(micros))
    .bind(ends.map(micros))
    .bind(revision)
    .bind(micros(at))
    .bind(id)
    .bind(i64::from(old.revision))
    .execute(&mut *c)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(Error::Conflict(format!("post {id} was corrected meanwhile; look again and retry")));
    }
    let detail = json!({ "revision": revision, "note": note, "changed": changed });
    audit(c, at, actor, "post.correct", &id.to_string(), detail).await?;
    existing_post(c, id).await
}

pub(crate) async fn revisions(c: &mut Conn, post: i64) -> Result<Vec<Revision>> {
    let rows = query(
        "SELECT post, revision, at, note, author, title, body, starts, ends FROM post_revisions \
         WHERE post = $1 ORDER BY revision",
    )
    .bind(post)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            let revision: i64 = r.try_get("revision")?;
            Ok(Revision {
                post: r.try_get("post")?,
                revision: u32::try_from(revision)
                    .map_err(|_| corrupt(format!("post revision {revision} is out of range")))?,
                at: ts(r, "at")?,
                note: r.try_get("note")?,
                author: r.try_get("author")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                starts: opt_ts(r, "starts")?,
                ends: opt_ts(r, "ends")?,
            })
        })
        .collect()
}

// Components.

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

// Tokens.

fn token_from_row(r: &DbRow) -> Result<Token> {
    Ok(Token { id: r.try_get("id")?, name: r.try_get("name")?, created: ts(r, "created")? })
}

pub(crate) async fn create_token(c: &mut Conn, at: Timestamp, actor: &str, name: &str, hash: &str) -> Result<i64> {
    if blank(name) || blank(hash) {
        return Err(Error::Invalid("a token needs a name and a hash".into()));
    }
    let id: i64 = query("INSERT INTO tokens (name, hash, created, actor) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(name)
        .bind(hash)
        .bind(micros(at))
        .bind(actor)
        .fetch_one(&mut *c)
        .await
        .map_err(|e| conflict_on_unique(e, || "a token with this hash exists already".into()))?
        .try_get("id")?;
    audit(c, at, actor, "token.create", &id.to_string(), json!({ "name": name })).await?;
    Ok(id)
}

pub(crate) async fn token_by_hash(c: &mut Conn, hash: &str) -> Result<Option<Token>> {
    let row = query("SELECT id, name, created FROM tokens WHERE hash = $1").bind(hash).fetch_optional(&mut *c).await?;
    row.as_ref().map(token_from_row).transpose()
}

pub(crate) async fn tokens(c: &mut Conn) -> Result<Vec<Token>> {
    let rows = query("SELECT id, name, created FROM tokens ORDER BY id").fetch_all(&mut *c).await?;
    rows.iter().map(token_from_row).collect()
}

// Operators and sessions.

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
    audit(c, at, actor, "operator.set", name, json!({ "new": known.is_none() })).await
}

pub(crate) async fn operator_hash(c: &mut Conn, name: &str) -> Result<Option<String>> {
    let row = query("SELECT password_hash FROM operators WHERE name = $1").bind(name).fetch_optional(&mut *c).await?;
    Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
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

// Metrics.

pub(crate) async fn counts(c: &mut Conn) -> Result<Counts> {
    let rows = query("SELECT state, COUNT(*) AS n FROM campaigns GROUP BY state").fetch_all(&mut *c).await?;
    let mut by_state: Vec<(CampaignState, i64)> = CampaignState::ALL.into_iter().map(|s| (s, 0)).collect();
    for r in &rows {
        let state: CampaignState = parse(r.try_get("state")?)?;
        let n: i64 = r.try_get("n")?;
        if let Some(entry) = by_state.iter_mut().find(|(s, _)| *s == state) {
            entry.1 = n;
        }
    }
    let posts: i64 = query("SELECT COUNT(*) AS n FROM posts").fetch_one(&mut *c).await?.try_get("n")?;
    Ok(Counts { campaigns_by_state: by_state, posts })
}
