//! Every operation of the store, written once over `super::Db` and compiled for each
//! backend: `sqlite.rs` and `postgres.rs` both mount this file as their `ops` module.
//! Queries use `$N` placeholders (both drivers take them) and `RETURNING` (both databases
//! have it); what differs (DDL, identity columns, how a write transaction begins) lives
//! in the migrations and the backend modules. A mutating operation runs inside the
//! caller's transaction and writes its audit row there too.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use forewarn_status::{Component, Impact, Post, PostKind, PostState, Revision, Update};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sqlx::{Database, Row};

use super::{Db, SKIP_LOCKED};
use crate::codec::{
    component_kind, component_kind_name, component_status, component_status_name, conflict_on_unique, corrupt,
    from_micros, json_text, json_value, micros, parse,
};
use crate::outbox::{
    Channel, Event, Message, MessageState, NewMessage, Notifier, OutboxCounts, PlannedSlot, RetryPolicy, SlotChange,
    SlotNotice, Subscriber, SubscriptionRequest, What,
};
use crate::outbox::{Confirmation, Confirmed};
use crate::types::{
    AuditEntry, CampaignState, Correction, Counts, NewCampaign, NewPost, PlanSummary, Session, StoredCampaign,
    StoredInventory, StoredPlan, Token, TzdbFinding, TzdbRecord,
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

// The time zone database.

pub(crate) async fn tzdb_last(c: &mut Conn) -> Result<Option<TzdbRecord>> {
    let row =
        query("SELECT at, release, source FROM tzdb_history ORDER BY id DESC LIMIT 1").fetch_optional(&mut *c).await?;
    row.map(|r| Ok(TzdbRecord { at: ts(&r, "at")?, release: r.try_get("release")?, source: r.try_get("source")? }))
        .transpose()
}

pub(crate) async fn record_tzdb(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    release: &str,
    source: &str,
    findings: &[TzdbFinding],
) -> Result<()> {
    if blank(release) || blank(source) {
        return Err(Error::Invalid("a time zone database needs a release and a source".into()));
    }
    let previous = tzdb_last(c).await?;
    query("INSERT INTO tzdb_history (at, release, source) VALUES ($1, $2, $3)")
        .bind(micros(at))
        .bind(release)
        .bind(source)
        .execute(&mut *c)
        .await?;
    let detail = json!({
        "release": release,
        "source": source,
        "previous": previous.map(|p| json!({ "release": p.release, "source": p.source })),
        "slots_outside_window": findings.len(),
    });
    audit(c, at, actor, "tzdb.change", release, detail).await?;
    for f in findings {
        let detail = json!({
            "plan_version": f.plan_version,
            "target": f.target,
            "message": f.message,
            "release": release,
        });
        audit(c, at, actor, "tzdb.slot_outside_window", &f.campaign, detail).await?;
    }
    Ok(())
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

/// A draft's new file: its title, text and inventory version replaced; the old ones kept in
/// the audit row (`previous`).
pub(crate) async fn edit_campaign(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    new: &NewCampaign,
) -> Result<StoredCampaign> {
    let old = existing_campaign(c, id).await?;
    if new.id != id {
        return Err(Error::Invalid(format!(
            "the file's `id` is `{}`, not `{id}`: a campaign keeps its id (create a new campaign for a new id)",
            new.id
        )));
    }
    if old.state != CampaignState::Draft {
        return Err(Error::Conflict(format!(
            "campaign `{id}` is {}: only a draft is edited; plan and publish a newer version instead",
            old.state
        )));
    }
    if old.text == new.text {
        return Err(Error::Invalid(format!("the file is the same as campaign `{id}`'s: nothing to change")));
    }
    require_inventory(c, new.inventory_version).await?;
    let changed = query(
        "UPDATE campaigns SET title = $1, text = $2, inventory_version = $3, updated = $4 WHERE id = $5 AND state = $6",
    )
    .bind(&new.title)
    .bind(&new.text)
    .bind(new.inventory_version)
    .bind(micros(at))
    .bind(id)
    .bind(CampaignState::Draft.as_str())
    .execute(&mut *c)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(Error::Conflict(format!(
            "campaign `{id}` changed while it was being edited; look again and retry"
        )));
    }
    let detail = json!({
        "title": new.title,
        "inventory_version": new.inventory_version,
        "previous": { "title": old.title, "text": old.text, "inventory_version": old.inventory_version },
    });
    audit(c, at, actor, "campaign.edit", id, detail).await?;
    existing_campaign(c, id).await
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

/// A campaign's new state, an update on each of its posts still open, on cancellation the
/// cancellation of every slot its contacts were told, and the messages, together.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn change_campaign_state(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    state: CampaignState,
    update: (&str, Option<PostState>),
    reason: Option<&str>,
    notifier: &dyn Notifier,
) -> Result<StoredCampaign> {
    let (from, campaign) = move_campaign_state(c, at, actor, id, state, reason).await?;
    let mut posts = Vec::new();
    for post in posts_of_campaign(c, id).await? {
        if !post.state.is_final() {
            let update = insert_update(c, at, actor, post.id, update.1, update.0).await?;
            posts.push((existing_post(c, post.id).await?, update));
        }
    }
    let cancelled_now: HashSet<String> = if state == CampaignState::Cancelled {
        let rows = query(
            "UPDATE slot_notices SET cancelled = TRUE, sequence = sequence + 1 \
             WHERE campaign = $1 AND NOT cancelled AND starts > $2 RETURNING target",
        )
        .bind(id)
        .bind(micros(at))
        .fetch_all(&mut *c)
        .await?;
        rows.iter().map(|r| r.try_get("target")).collect::<Result<_, sqlx::Error>>()?
    } else {
        HashSet::new()
    };
    // Slots cancelled by an earlier event are left out: their contacts were told then. Slots
    // that have begun are not cancelled: that work took place.
    let slots: Vec<SlotNotice> = notice_rows(c, id)
        .await?
        .into_iter()
        .filter(|n| !n.cancelled || cancelled_now.contains(&n.target))
        .map(|n| {
            let change = if n.cancelled { SlotChange::Cancelled } else { SlotChange::Unchanged };
            n.notice(change)
        })
        .collect::<Result<_>>()?;
    let subscribers = confirmed_subscribers(c).await?;
    let what = What::CampaignStateChanged {
        campaign: &campaign,
        from,
        reason,
        posts: &posts,
        slots: &slots,
        subscribers: &subscribers,
    };
    tell(c, at, actor, notifier, what).await?;
    Ok(campaign)
}

pub(crate) async fn set_campaign_state(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    to: CampaignState,
) -> Result<StoredCampaign> {
    Ok(move_campaign_state(c, at, actor, id, to, None).await?.1)
}

/// [`set_campaign_state`], also giving the state the campaign was in.
async fn move_campaign_state(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    to: CampaignState,
    reason: Option<&str>,
) -> Result<(CampaignState, StoredCampaign)> {
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
    let mut detail = json!({ "from": from.as_str(), "to": to.as_str() });
    if let Some(reason) = reason {
        detail["reason"] = json!(reason);
    }
    audit(c, at, actor, action, id, detail).await?;
    Ok((from, existing_campaign(c, id).await?))
}

/// `NotFound` unless the campaign has plan version `version`.
async fn existing_plan(c: &mut Conn, id: &str, version: i64) -> Result<()> {
    let plan = query("SELECT version FROM plans WHERE campaign = $1 AND version = $2")
        .bind(id)
        .bind(version)
        .fetch_optional(&mut *c)
        .await?;
    match plan {
        Some(_) => Ok(()),
        None => Err(Error::NotFound(format!("plan version {version} of campaign `{id}`"))),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn publish_campaign(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    plan_version: i64,
    post: &NewPost,
    slots: &[PlannedSlot],
    notifier: &dyn Notifier,
) -> Result<(StoredCampaign, Post)> {
    let from = existing_campaign(c, id).await?.state;
    if from != CampaignState::Draft {
        return Err(Error::Invalid(format!("campaign `{id}` is {from}: only a draft campaign can be published")));
    }
    existing_plan(c, id, plan_version).await?;
    if post.kind != PostKind::Maintenance {
        return Err(Error::Invalid(format!(
            "a campaign is announced by a maintenance post, not by a {} post",
            post.kind
        )));
    }
    if let Some(other) = post.campaign.as_deref().filter(|other| *other != id) {
        return Err(Error::Invalid(format!("the post of campaign `{id}` names another campaign, `{other}`")));
    }
    check_slots(slots)?;
    move_campaign(c, at, id, from, CampaignState::Published, Some(plan_version)).await?;
    let post = NewPost { campaign: Some(id.to_owned()), ..post.clone() };
    let post = insert_post(c, at, actor, &post).await?;
    insert_notices(c, id, slots).await?;
    let detail = json!({ "plan": plan_version, "post": post.id, "slots": slots.len() });
    audit(c, at, actor, "campaign.publish", id, detail).await?;
    let campaign = existing_campaign(c, id).await?;
    let mut notices: Vec<SlotNotice> = slots
        .iter()
        .map(|s| {
            Ok(SlotNotice {
                target: s.target.clone(),
                start: stored(s.start)?,
                end: stored(s.end)?,
                sequence: 0,
                change: SlotChange::New,
                reminded: false,
            })
        })
        .collect::<Result<_>>()?;
    sort_notices(&mut notices);
    let subscribers = confirmed_subscribers(c).await?;
    let what = What::CampaignPublished { campaign: &campaign, post: &post, slots: &notices, subscribers: &subscribers };
    tell(c, at, actor, notifier, what).await?;
    Ok((campaign, post))
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

const POST: &str = "SELECT id, kind, state, title, body, starts, ends, campaign, impact, replaces, created, updated, revision FROM posts";

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
        impact: parse(r.try_get("impact")?)?,
        replaces: r.try_get("replaces")?,
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

pub(crate) async fn create_post(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    new: &NewPost,
    notifier: &dyn Notifier,
) -> Result<Post> {
    let post = insert_post(c, at, actor, new).await?;
    let subscribers = confirmed_subscribers(c).await?;
    tell(c, at, actor, notifier, What::PostCreated { post: &post, subscribers: &subscribers }).await?;
    Ok(post)
}

/// The impact a new post takes: the one given, or its kind's default; only incidents have
/// one other than `none`.
fn post_impact(new: &NewPost) -> Result<Impact> {
    let impact = new.impact.unwrap_or(Impact::default_for(new.kind));
    if new.kind != PostKind::Incident && impact != Impact::None {
        return Err(Error::Invalid(format!(
            "`impact`: a {} post has no impact, only an incident has one (none, minor, major or critical); leave \
             `impact` out{}",
            new.kind,
            if new.kind == PostKind::Maintenance {
                ": its components show under maintenance while it is in progress"
            } else {
                ""
            }
        )));
    }
    Ok(impact)
}

/// `NotFound`-free checks of `replaces`: the post exists, both are maintenance, the old one
/// is cancelled and not replaced yet.
async fn check_replaces(c: &mut Conn, new: &NewPost) -> Result<()> {
    let Some(old_id) = new.replaces else { return Ok(()) };
    if new.kind != PostKind::Maintenance {
        return Err(Error::Invalid(format!(
            "`replaces`: only a maintenance post replaces a cancelled one; this is a {} post",
            new.kind
        )));
    }
    let Some(old) = post(c, old_id).await? else {
        return Err(Error::Invalid(format!(
            "`replaces`: there is no post {old_id}; give the id of the cancelled maintenance post this one replaces"
        )));
    };
    if old.kind != PostKind::Maintenance {
        return Err(Error::Invalid(format!(
            "`replaces`: post {old_id} is a {} post; only a cancelled maintenance post is replaced",
            old.kind
        )));
    }
    if old.state != PostState::Cancelled {
        return Err(Error::Invalid(format!(
            "`replaces`: post {old_id} is {}, not cancelled: cancel it first (an update with state `cancelled`), \
             then post its replacement",
            old.state
        )));
    }
    let taken = query("SELECT id FROM posts WHERE replaces = $1").bind(old_id).fetch_optional(&mut *c).await?;
    if let Some(row) = taken {
        let other: i64 = row.try_get("id")?;
        return Err(Error::Invalid(format!(
            "`replaces`: post {old_id} is already replaced by post {other}; correct post {other} instead"
        )));
    }
    Ok(())
}

/// A new post with its audit row, telling nobody.
async fn insert_post(c: &mut Conn, at: Timestamp, actor: &str, new: &NewPost) -> Result<Post> {
    let state = new.state.unwrap_or(new.kind.initial_state());
    check_state(new.kind, state)?;
    check_fields(&new.title, new.starts, new.ends)?;
    let impact = post_impact(new)?;
    if let Some(campaign) = &new.campaign {
        existing_campaign(c, campaign).await?;
    }
    check_replaces(c, new).await?;
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
        "INSERT INTO posts (kind, state, title, body, starts, ends, campaign, impact, replaces, created, updated, \
         revision) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1) RETURNING id",
    )
    .bind(new.kind.name())
    .bind(state.name())
    .bind(&new.title)
    .bind(&new.body)
    .bind(new.starts.map(micros))
    .bind(new.ends.map(micros))
    .bind(new.campaign.as_deref())
    .bind(impact.name())
    .bind(new.replaces)
    .bind(micros(at))
    .fetch_one(&mut *c)
    .await
    .map_err(|e| {
        conflict_on_unique(e, || {
            format!("`replaces`: post {} was replaced meanwhile; look again", new.replaces.unwrap_or_default())
        })
    })?
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
        "impact": impact.name(),
        "replaces": new.replaces,
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
    notifier: &dyn Notifier,
) -> Result<Update> {
    let update = insert_update(c, at, actor, post, state, body).await?;
    let post = existing_post(c, post).await?;
    let subscribers = confirmed_subscribers(c).await?;
    tell(c, at, actor, notifier, What::PostUpdated { post: &post, update: &update, subscribers: &subscribers }).await?;
    Ok(update)
}

/// A post's new update with its audit row, telling nobody.
async fn insert_update(
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

/// Every update of every post, by post, then oldest first.
pub(crate) async fn all_updates(c: &mut Conn) -> Result<Vec<Update>> {
    let rows = query("SELECT id, post, at, state, body, author FROM post_updates ORDER BY post, at, id")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(update_from_row).collect()
}

pub(crate) async fn updates(c: &mut Conn, post: i64) -> Result<Vec<Update>> {
    let rows = query("SELECT id, post, at, state, body, author FROM post_updates WHERE post = $1 ORDER BY at, id")
        .bind(post)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(update_from_row).collect()
}

/// Writes a new revision of `old` with the fields `correction` gives (the earlier text kept
/// in `post_revisions` with `note`); `None` when nothing would change. Gives the new
/// revision and the fields that changed.
async fn revise_post(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    old: &Post,
    note: &str,
    correction: &Correction,
) -> Result<Option<(i64, Vec<&'static str>)>> {
    let id = old.id;
    let title = correction.title.as_ref().unwrap_or(&old.title);
    let body = correction.body.as_ref().unwrap_or(&old.body);
    let starts = correction.starts.or(old.starts);
    let ends = correction.ends.or(old.ends);
    let changed: Vec<&'static str> = [
        ("title", *title != old.title),
        ("body", *body != old.body),
        ("starts", starts != old.starts),
        ("ends", ends != old.ends),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect();
    if changed.is_empty() {
        return Ok(None);
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
    Ok(Some((revision, changed)))
}

pub(crate) async fn correct_post(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: i64,
    note: &str,
    correction: &Correction,
    notifier: &dyn Notifier,
) -> Result<Post> {
    if blank(note) {
        return Err(Error::Invalid("a correction needs a note saying what was wrong".into()));
    }
    let old = existing_post(c, id).await?;
    let Some((revision, changed)) = revise_post(c, at, actor, &old, note, correction).await? else {
        return Err(Error::Invalid(format!("the correction of post {id} changes nothing")));
    };
    let detail = json!({ "revision": revision, "note": note, "changed": changed });
    audit(c, at, actor, "post.correct", &id.to_string(), detail).await?;
    let post = existing_post(c, id).await?;
    let subscribers = confirmed_subscribers(c).await?;
    tell(c, at, actor, notifier, What::PostCorrected { post: &post, note, subscribers: &subscribers }).await?;
    Ok(post)
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

const TOKEN: &str = "SELECT id, name, created, actor, revoked, revoked_by FROM tokens";

fn token_from_row(r: &DbRow) -> Result<Token> {
    Ok(Token {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created: ts(r, "created")?,
        by: r.try_get("actor")?,
        revoked: opt_ts(r, "revoked")?,
        revoked_by: r.try_get("revoked_by")?,
    })
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

// Telling people: events and their messages.

/// Who acts when the service itself does (reminders).
const SERVICE: &str = "forewarn";
/// Who acts for someone on the public pages (subscriptions).
const PUBLIC: &str = "public";

/// `at + d`, clamped to the range of instants.
fn later(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_add(d).unwrap_or(if d.is_negative() { Timestamp::MIN } else { Timestamp::MAX })
}

/// An instant as it reads back from a column (microseconds).
fn stored(at: Timestamp) -> Result<Timestamp> {
    from_micros(micros(at))
}

/// Takes the next event number, hands the event to `notifier` and writes the messages it
/// gives into the outbox, all in the caller's transaction.
async fn tell(c: &mut Conn, at: Timestamp, actor: &str, notifier: &dyn Notifier, what: What<'_>) -> Result<i64> {
    let seq: i64 = query("UPDATE counters SET value = value + 1 WHERE name = 'event' RETURNING value")
        .fetch_one(&mut *c)
        .await?
        .try_get("value")?;
    let messages = notifier
        .messages(&Event { seq, at, actor, what })
        .map_err(|e| Error::Invalid(format!("nothing was changed, because its people cannot be told: {e}")))?;
    write_messages(c, at, seq, &messages).await?;
    Ok(seq)
}

/// Writes an event's messages as pending. A key that is taken is a `Conflict`: keys are
/// built from the event's number, which no other event has, so only a notifier giving the
/// same key twice gets there; the whole change is then refused.
async fn write_messages(c: &mut Conn, at: Timestamp, seq: i64, messages: &[NewMessage]) -> Result<()> {
    for m in messages {
        if blank(&m.key) {
            return Err(Error::Invalid(format!("a message of event {seq} has no key")));
        }
        query(
            "INSERT INTO outbox (key, channel, sender, recipient, subject, cause, payload, created, state, attempts, due) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9)",
        )
        .bind(&m.key)
        .bind(m.channel.as_str())
        .bind(&m.sender)
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(&m.cause)
        .bind(&m.payload)
        .bind(micros(at))
        .bind(micros(m.due))
        .execute(&mut *c)
        .await
        .map_err(|e| {
            conflict_on_unique(e, || {
                format!(
                    "message key `{}` of event {seq} is in the outbox already: keys are built from the event's \
                     number, so the notifier gave the same key twice",
                    m.key
                )
            })
        })?;
    }
    Ok(())
}

// Slot notices: what contacts were told of each slot of a published campaign.

/// A row of `slot_notices`.
struct NoticeRow {
    target: String,
    starts: i64,
    ends: i64,
    sequence: i64,
    cancelled: bool,
    reminded: bool,
}

const NOTICE: &str = "SELECT target, starts, ends, sequence, cancelled, reminded FROM slot_notices";

impl NoticeRow {
    fn from_row(r: &DbRow) -> Result<NoticeRow> {
        Ok(NoticeRow {
            target: r.try_get("target")?,
            starts: r.try_get("starts")?,
            ends: r.try_get("ends")?,
            sequence: r.try_get("sequence")?,
            cancelled: r.try_get("cancelled")?,
            reminded: r.try_get("reminded")?,
        })
    }

    fn notice(self, change: SlotChange) -> Result<SlotNotice> {
        let sequence = u32::try_from(self.sequence)
            .map_err(|_| corrupt(format!("slot sequence {} of `{}` is out of range", self.sequence, self.target)))?;
        Ok(SlotNotice {
            target: self.target,
            start: from_micros(self.starts)?,
            end: from_micros(self.ends)?,
            sequence,
            change,
            reminded: self.reminded,
        })
    }
}

/// A campaign's slot notices, by start, then target.
async fn notice_rows(c: &mut Conn, campaign: &str) -> Result<Vec<NoticeRow>> {
    let rows = query(&format!("{NOTICE} WHERE campaign = $1 ORDER BY starts, target"))
        .bind(campaign)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(NoticeRow::from_row).collect()
}

fn sort_notices(notices: &mut [SlotNotice]) {
    notices.sort_by(|a, b| (a.start, &a.target).cmp(&(b.start, &b.target)));
}

/// A plan's slots as the store takes them: one per target, none ending before it starts.
fn check_slots(slots: &[PlannedSlot]) -> Result<()> {
    let mut seen = HashSet::new();
    for slot in slots {
        if blank(&slot.target) {
            return Err(Error::Invalid("a slot needs a target".into()));
        }
        if !seen.insert(slot.target.as_str()) {
            return Err(Error::Invalid(format!(
                "target `{}` has two slots: a plan gives each target at most one",
                slot.target
            )));
        }
        if slot.end < slot.start {
            return Err(Error::Invalid(format!(
                "the slot of `{}` ends ({}) before it starts ({})",
                slot.target, slot.end, slot.start
            )));
        }
    }
    Ok(())
}

/// Inserts slots told for the first time (sequence 0), many rows per statement.
async fn insert_notices(c: &mut Conn, campaign: &str, slots: &[PlannedSlot]) -> Result<()> {
    // 4 values a row: well below both databases' limits on parameters.
    for chunk in slots.chunks(1000) {
        let mut insert =
            sqlx::QueryBuilder::<Db>::new("INSERT INTO slot_notices (campaign, target, starts, ends, sequence) ");
        insert.push_values(chunk, |mut row, slot| {
            row.push_bind(campaign).push_bind(&slot.target).push_bind(micros(slot.start)).push_bind(micros(slot.end));
            row.push("0");
        });
        insert.build().execute(&mut *c).await?;
    }
    Ok(())
}

/// Gives slots told before their new times under their next sequence, not cancelled, not
/// reminded of, not started and not finished, many rows per statement.
async fn retell_notices(c: &mut Conn, campaign: &str, slots: &[&PlannedSlot]) -> Result<()> {
    for chunk in slots.chunks(1000) {
        // Both databases name the columns of a VALUES list column1, column2, ...
        let mut update = sqlx::QueryBuilder::<Db>::new(
            "UPDATE slot_notices SET starts = v.column2, ends = v.column3, sequence = sequence + 1, \
             cancelled = FALSE, reminded = FALSE, started = FALSE, finished = FALSE FROM (",
        );
        update.push_values(chunk, |mut row, slot| {
            row.push_bind(&slot.target).push_bind(micros(slot.start)).push_bind(micros(slot.end));
        });
        update.push(") AS v WHERE slot_notices.campaign = ");
        update.push_bind(campaign);
        update.push(" AND slot_notices.target = v.column1");
        update.build().execute(&mut *c).await?;
    }
    Ok(())
}

/// Cancels slots told before (sequence + 1), many rows per statement.
async fn cancel_notices(c: &mut Conn, campaign: &str, rows: &[NoticeRow]) -> Result<()> {
    for chunk in rows.chunks(1000) {
        let mut update = sqlx::QueryBuilder::<Db>::new(
            "UPDATE slot_notices SET cancelled = TRUE, sequence = sequence + 1 WHERE campaign = ",
        );
        update.push_bind(campaign);
        update.push(" AND target IN (");
        let mut targets = update.separated(", ");
        for row in chunk {
            targets.push_bind(&row.target);
        }
        update.push(")");
        update.build().execute(&mut *c).await?;
    }
    Ok(())
}

pub(crate) async fn slot_notices(c: &mut Conn, campaign: &str) -> Result<Vec<SlotNotice>> {
    notice_rows(c, campaign)
        .await?
        .into_iter()
        .map(|n| {
            let change = if n.cancelled { SlotChange::Cancelled } else { SlotChange::Unchanged };
            n.notice(change)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn republish_campaign(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    plan_version: i64,
    slots: &[PlannedSlot],
    announcement: Option<&Correction>,
    notifier: &dyn Notifier,
) -> Result<StoredCampaign> {
    let campaign = existing_campaign(c, id).await?;
    let state = campaign.state;
    if !matches!(state, CampaignState::Published | CampaignState::Paused) {
        let hint = if state == CampaignState::Draft { ": a draft is published first" } else { "" };
        return Err(Error::Invalid(format!(
            "campaign `{id}` is {state}: only a published or paused campaign takes a newer plan version{hint}"
        )));
    }
    let published = campaign
        .published_plan
        .ok_or_else(|| corrupt(format!("campaign `{id}` is {state} without a published plan version")))?;
    existing_plan(c, id, plan_version).await?;
    if plan_version <= published {
        return Err(Error::Invalid(format!(
            "plan version {plan_version} of campaign `{id}` is not newer than the published version {published}"
        )));
    }
    check_slots(slots)?;
    // Guarded by what was read, and taking the campaign's row lock: republications of one
    // campaign queue here, and the second one finds the first one's slots.
    let moved = query(
        "UPDATE campaigns SET published_plan = $1, updated = $2 WHERE id = $3 AND state = $4 AND published_plan = $5",
    )
    .bind(plan_version)
    .bind(micros(at))
    .bind(id)
    .bind(state.as_str())
    .bind(published)
    .execute(&mut *c)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(Error::Conflict(format!(
            "campaign `{id}` changed while it was being republished; look again and retry"
        )));
    }

    let mut told: HashMap<String, NoticeRow> =
        notice_rows(c, id).await?.into_iter().map(|n| (n.target.clone(), n)).collect();
    let mut notices = Vec::with_capacity(slots.len());
    let mut fresh = Vec::new();
    let mut retold = Vec::new();
    let (mut moved, mut new, mut cancelled) = (0_usize, 0_usize, 0_usize);
    for slot in slots {
        let (start, end) = (micros(slot.start), micros(slot.end));
        let Some(old) = told.remove(&slot.target) else {
            fresh.push(slot.clone());
            let notice = SlotNotice {
                target: slot.target.clone(),
                start: stored(slot.start)?,
                end: stored(slot.end)?,
                sequence: 0,
                change: SlotChange::New,
                reminded: false,
            };
            notices.push(notice);
            new += 1;
            continue;
        };
        if !old.cancelled && (old.starts, old.ends) == (start, end) {
            notices.push(old.notice(SlotChange::Unchanged)?);
            continue;
        }
        // Moved, or back after it was cancelled: told anew under a higher sequence (the
        // same calendar UID), to be reminded of again.
        retold.push(slot);
        let change = if old.cancelled {
            new += 1;
            SlotChange::New
        } else {
            moved += 1;
            SlotChange::Moved { from_start: from_micros(old.starts)?, from_end: from_micros(old.ends)? }
        };
        let row = NoticeRow { starts: start, ends: end, sequence: old.sequence + 1, reminded: false, ..old };
        notices.push(row.notice(change)?);
    }
    insert_notices(c, id, &fresh).await?;
    retell_notices(c, id, &retold).await?;
    // What is left was told and is not in this plan: cancelled, unless it was already.
    let dropped: Vec<NoticeRow> = told.into_values().filter(|n| !n.cancelled).collect();
    cancel_notices(c, id, &dropped).await?;
    for old in dropped {
        cancelled += 1;
        let row = NoticeRow { sequence: old.sequence + 1, cancelled: true, ..old };
        notices.push(row.notice(SlotChange::Cancelled)?);
    }
    sort_notices(&mut notices);
    let detail = json!({ "from": published, "plan": plan_version, "new": new, "moved": moved, "cancelled": cancelled });
    audit(c, at, actor, "campaign.republish", id, detail).await?;
    let campaign = existing_campaign(c, id).await?;
    let mut post = posts_of_campaign(c, id).await?.into_iter().find(|p| p.kind == PostKind::Maintenance);
    // The maintenance post follows the plan: its dates and text as the new version gives them,
    // the earlier ones kept as a revision.
    let mut revised = None;
    if let (Some(old), Some(text)) = (&post, announcement) {
        let note = format!("plan version {plan_version} is published; the dates follow it");
        if let Some((revision, changed)) = revise_post(c, at, actor, old, &note, text).await? {
            let detail = json!({ "revision": revision, "note": note, "changed": changed });
            audit(c, at, actor, "post.correct", &old.id.to_string(), detail).await?;
            post = Some(existing_post(c, old.id).await?);
            revised = Some(note);
        }
    }
    if new + moved + cancelled > 0 {
        let what = What::SlotsChanged { campaign: &campaign, post: post.as_ref(), slots: &notices };
        tell(c, at, actor, notifier, what).await?;
    }
    if let (Some(post), Some(note)) = (&post, revised) {
        let subscribers = confirmed_subscribers(c).await?;
        tell(c, at, actor, notifier, What::PostCorrected { post, note: &note, subscribers: &subscribers }).await?;
    }
    Ok(campaign)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn move_slot(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    published: i64,
    (inventory_version, plan_json, summary): (i64, &str, &Value),
    slots: &[PlannedSlot],
    announcement: &Correction,
    notifier: &dyn Notifier,
) -> Result<(StoredCampaign, i64)> {
    let now_published = existing_campaign(c, id).await?.published_plan;
    if now_published != Some(published) {
        return Err(Error::Conflict(format!(
            "campaign `{id}` changed meanwhile (plan version {} is published now, not {published}): look again and \
             retry",
            now_published.unwrap_or(0)
        )));
    }
    let version = add_plan(c, at, actor, id, inventory_version, plan_json, summary).await?;
    let campaign = republish_campaign(c, at, actor, id, version, slots, Some(announcement), notifier).await?;
    Ok((campaign, version))
}

pub(crate) async fn send_reminders(
    c: &mut Conn,
    at: Timestamp,
    horizon: SignedDuration,
    notifier: &dyn Notifier,
) -> Result<usize> {
    // The row locks make concurrent senders (PostgreSQL) remind each slot once: the second
    // one waits, then finds the slot reminded.
    let rows = query(
        "UPDATE slot_notices SET reminded = TRUE \
         WHERE NOT reminded AND NOT cancelled AND starts > $1 AND starts <= $2 \
         AND campaign IN (SELECT id FROM campaigns WHERE state = 'published') \
         RETURNING campaign, target, starts, ends, sequence, cancelled, reminded",
    )
    .bind(micros(at))
    .bind(micros(later(at, horizon)))
    .fetch_all(&mut *c)
    .await?;
    let mut by_campaign: BTreeMap<String, Vec<SlotNotice>> = BTreeMap::new();
    for r in &rows {
        let campaign: String = r.try_get("campaign")?;
        by_campaign.entry(campaign).or_default().push(NoticeRow::from_row(r)?.notice(SlotChange::Unchanged)?);
    }
    for (id, mut slots) in by_campaign {
        sort_notices(&mut slots);
        let campaign = existing_campaign(c, &id).await?;
        let targets: Vec<&str> = slots.iter().map(|s| s.target.as_str()).collect();
        audit(c, at, SERVICE, "campaign.remind", &id, json!({ "slots": targets })).await?;
        tell(c, at, SERVICE, notifier, What::Reminder { campaign: &campaign, slots: &slots }).await?;
    }
    Ok(rows.len())
}

/// Marks `flag` (`started` or `finished`) on the slots of published campaigns, not
/// cancelled and not marked yet, whose `column` (`starts` or `ends`) is at or before `at`;
/// gives them by campaign, each campaign's by start, then target.
async fn mark_progress(
    c: &mut Conn,
    at: Timestamp,
    flag: &str,
    column: &str,
) -> Result<BTreeMap<String, Vec<SlotNotice>>> {
    // As with reminders, the row locks make concurrent callers (PostgreSQL) mark each slot
    // once: the second one waits, then finds it marked.
    let rows = query(&format!(
        "UPDATE slot_notices SET {flag} = TRUE \
         WHERE NOT {flag} AND NOT cancelled AND {column} <= $1 \
         AND campaign IN (SELECT id FROM campaigns WHERE state = 'published') \
         RETURNING campaign, target, starts, ends, sequence, cancelled, reminded"
    ))
    .bind(micros(at))
    .fetch_all(&mut *c)
    .await?;
    let mut by_campaign: BTreeMap<String, Vec<SlotNotice>> = BTreeMap::new();
    for r in &rows {
        let campaign: String = r.try_get("campaign")?;
        by_campaign.entry(campaign).or_default().push(NoticeRow::from_row(r)?.notice(SlotChange::Unchanged)?);
    }
    for slots in by_campaign.values_mut() {
        sort_notices(slots);
    }
    Ok(by_campaign)
}

pub(crate) async fn slot_progress(c: &mut Conn, at: Timestamp, notifier: &dyn Notifier) -> Result<(usize, usize)> {
    let mut started = mark_progress(c, at, "started", "starts").await?;
    let mut finished = mark_progress(c, at, "finished", "ends").await?;
    let counts = (started.values().map(Vec::len).sum(), finished.values().map(Vec::len).sum());
    let ids: BTreeSet<String> = started.keys().chain(finished.keys()).cloned().collect();
    for id in ids {
        let campaign = existing_campaign(c, &id).await?;
        if let Some(slots) = started.remove(&id) {
            let targets: Vec<&str> = slots.iter().map(|s| s.target.as_str()).collect();
            audit(c, at, SERVICE, "campaign.slots_started", &id, json!({ "slots": targets })).await?;
            tell(c, at, SERVICE, notifier, What::SlotsStarted { campaign: &campaign, slots: &slots }).await?;
        }
        if let Some(slots) = finished.remove(&id) {
            let targets: Vec<&str> = slots.iter().map(|s| s.target.as_str()).collect();
            audit(c, at, SERVICE, "campaign.slots_finished", &id, json!({ "slots": targets })).await?;
            tell(c, at, SERVICE, notifier, What::SlotsFinished { campaign: &campaign, slots: &slots }).await?;
        }
    }
    Ok(counts)
}

// Maintenance posts by the schedule.

/// What a maintenance post's update says when the schedule moves it.
fn progress_words(to: PostState, campaign: bool) -> &'static str {
    match (to, campaign) {
        (PostState::InProgress, true) => "In progress: the first slot has begun.",
        (PostState::InProgress, false) => "In progress: the maintenance window has begun.",
        (_, true) => "Completed: the last slot has ended.",
        (_, false) => "Completed: the maintenance window has ended.",
    }
}

/// Moves post `id` from one of `from` to `to` with an update at `happened` (by the service),
/// unless someone moved it first (then `None`). The post's `updated` becomes `at`, when the
/// change was made (so feed readers see it), unless it is later already.
async fn move_post(
    c: &mut Conn,
    at: Timestamp,
    id: i64,
    from: &[PostState],
    to: PostState,
    happened: Timestamp,
    campaign: bool,
) -> Result<Option<(Post, Update)>> {
    let mut states = String::new();
    for (i, s) in from.iter().enumerate() {
        states.push_str(if i == 0 { "'" } else { ", '" });
        states.push_str(s.name());
        states.push('\'');
    }
    let moved = query(&format!(
        "UPDATE posts SET state = $1, updated = CASE WHEN updated > $2 THEN updated ELSE $2 END \
         WHERE id = $3 AND state IN ({states})"
    ))
    .bind(to.name())
    .bind(micros(at))
    .bind(id)
    .execute(&mut *c)
    .await?;
    if moved.rows_affected() != 1 {
        return Ok(None);
    }
    let body = progress_words(to, campaign);
    let row = query(
        "INSERT INTO post_updates (post, at, state, body, author) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, post, at, state, body, author",
    )
    .bind(id)
    .bind(micros(happened))
    .bind(to.name())
    .bind(body)
    .bind(SERVICE)
    .fetch_one(&mut *c)
    .await?;
    let update = update_from_row(&row)?;
    let detail = json!({ "update": update.id, "state": to.name(), "by": "schedule", "happened": micros(happened) });
    audit(c, at, SERVICE, "post.update", &id.to_string(), detail).await?;
    Ok(Some((existing_post(c, id).await?, update)))
}

/// A post moved by the schedule: its update, and the subscribers told.
async fn tell_moved(c: &mut Conn, at: Timestamp, notifier: &dyn Notifier, post: &Post, update: &Update) -> Result<()> {
    let subscribers = confirmed_subscribers(c).await?;
    tell(c, at, SERVICE, notifier, What::PostUpdated { post, update, subscribers: &subscribers }).await?;
    Ok(())
}

pub(crate) async fn advance_posts(c: &mut Conn, at: Timestamp, notifier: &dyn Notifier) -> Result<usize> {
    const OPEN: [PostState; 2] = [PostState::Scheduled, PostState::InProgress];
    let mut moves = 0;

    // Posts of no campaign: by their own window.
    let rows = query(&format!(
        "{POST} WHERE kind = 'maintenance' AND campaign IS NULL AND state IN ('scheduled', 'in_progress') \
         AND starts IS NOT NULL AND starts <= $1 ORDER BY starts, id"
    ))
    .bind(micros(at))
    .fetch_all(&mut *c)
    .await?;
    for row in &rows {
        let p = post_from_row(row, Vec::new())?;
        let Some(starts) = p.starts else { continue };
        if p.state == PostState::Scheduled
            && let Some((post, update)) =
                move_post(c, at, p.id, &[PostState::Scheduled], PostState::InProgress, starts, false).await?
        {
            tell_moved(c, at, notifier, &post, &update).await?;
            moves += 1;
        }
        if let Some(ends) = p.ends.filter(|e| *e <= at)
            && let Some((post, update)) = move_post(c, at, p.id, &OPEN, PostState::Completed, ends, false).await?
        {
            tell_moved(c, at, notifier, &post, &update).await?;
            moves += 1;
        }
    }

    // Published campaigns: their posts by the slots, as told started and finished
    // (`slot_progress`); the campaign completes with its last slot.
    let rows = query(
        "SELECT campaign, \
         MIN(CASE WHEN started THEN starts END) AS first_start, \
         MAX(ends) AS last_end, \
         SUM(CASE WHEN finished THEN 0 ELSE 1 END) AS unfinished \
         FROM slot_notices WHERE NOT cancelled \
         AND campaign IN (SELECT id FROM campaigns WHERE state = 'published') \
         GROUP BY campaign ORDER BY campaign",
    )
    .fetch_all(&mut *c)
    .await?;
    for row in &rows {
        let id: String = row.try_get("campaign")?;
        let first_start = opt_ts(row, "first_start")?;
        let last_end = ts(row, "last_end")?;
        let unfinished: i64 = row.try_get::<Option<i64>, _>("unfinished")?.unwrap_or(0);
        let Some(first_start) = first_start else { continue };
        let open: Vec<Post> = posts_of_campaign(c, &id)
            .await?
            .into_iter()
            .filter(|p| p.kind == PostKind::Maintenance && OPEN.contains(&p.state))
            .collect();
        for p in open.iter().filter(|p| p.state == PostState::Scheduled) {
            if let Some((post, update)) =
                move_post(c, at, p.id, &[PostState::Scheduled], PostState::InProgress, first_start, true).await?
            {
                tell_moved(c, at, notifier, &post, &update).await?;
                moves += 1;
            }
        }
        if unfinished > 0 {
            continue;
        }
        let mut done = Vec::new();
        for p in &open {
            if let Some(moved) = move_post(c, at, p.id, &OPEN, PostState::Completed, last_end, true).await? {
                done.push(moved);
            }
        }
        let from = existing_campaign(c, &id).await?.state;
        move_campaign(c, at, &id, from, CampaignState::Completed, None).await?;
        let detail =
            json!({ "from": from.as_str(), "to": "completed", "by": "schedule", "last_end": micros(last_end) });
        audit(c, at, SERVICE, "campaign.complete", &id, detail).await?;
        let campaign = existing_campaign(c, &id).await?;
        let slots: Vec<SlotNotice> = notice_rows(c, &id)
            .await?
            .into_iter()
            .filter(|n| !n.cancelled)
            .map(|n| n.notice(SlotChange::Unchanged))
            .collect::<Result<_>>()?;
        let subscribers = confirmed_subscribers(c).await?;
        let what = What::CampaignStateChanged {
            campaign: &campaign,
            from,
            posts: &done,
            slots: &slots,
            subscribers: &subscribers,
            reason: None,
        };
        tell(c, at, SERVICE, notifier, what).await?;
        moves += done.len() + 1;
    }
    Ok(moves)
}

// Subscribers.

const SUBSCRIBER: &str = "SELECT id, email, components, language, created, confirmed FROM subscribers";

fn subscriber_from_row(r: &DbRow) -> Result<Subscriber> {
    let components: &str = r.try_get("components")?;
    Ok(Subscriber {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        components: serde_json::from_str(components)
            .map_err(|e| corrupt(format!("column `components` holds no list of ids: {e}")))?,
        language: r.try_get("language")?,
        created: ts(r, "created")?,
        confirmed: opt_ts(r, "confirmed")?,
    })
}

/// Those told about posts: confirmed and still subscribed.
async fn confirmed_subscribers(c: &mut Conn) -> Result<Vec<Subscriber>> {
    let rows = query(&format!("{SUBSCRIBER} WHERE confirmed IS NOT NULL AND unsubscribed IS NULL ORDER BY id"))
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(subscriber_from_row).collect()
}

pub(crate) async fn subscribers(c: &mut Conn) -> Result<Vec<Subscriber>> {
    let rows = query(&format!("{SUBSCRIBER} WHERE unsubscribed IS NULL ORDER BY id")).fetch_all(&mut *c).await?;
    rows.iter().map(subscriber_from_row).collect()
}

/// Whether `email` (trimmed) looks like an address: one `@` with something before it and
/// a domain with a dot after it, no spaces or control characters, at most 254 bytes.
fn check_email(email: &str) -> Result<()> {
    let problem = if email.is_empty() {
        "it is empty"
    } else if email.len() > 254 {
        "it is longer than 254 bytes"
    } else if email.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        "it contains a space or a control character"
    } else {
        match email.split_once('@') {
            None => "it has no @",
            Some((_, domain)) if domain.contains('@') => "it has more than one @",
            Some(("", _)) => "it has nothing before the @",
            Some((_, domain))
                if !domain.contains('.')
                    || domain.starts_with('.')
                    || domain.ends_with('.')
                    || domain.contains("..") =>
            {
                "it needs a domain like example.net after the @"
            }
            Some(_) => return Ok(()),
        }
    };
    Err(Error::Invalid(format!("`email` is not an address like name@example.net: {problem}")))
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An address is sent at most one confirmation request an hour.
const CONFIRMATION_INTERVAL_MICROS: i64 = 3_600_000_000;

/// A subscriber row as [`subscriber_from_row`] reads it, with `unsubscribed` folded into
/// `confirmed`: an ended subscription is not confirmed.
async fn current_subscriber(c: &mut Conn, id: i64) -> Result<Subscriber> {
    let row = query(
        "SELECT id, email, components, language, created, \
         CASE WHEN unsubscribed IS NULL THEN confirmed END AS confirmed FROM subscribers WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *c)
    .await?;
    subscriber_from_row(&row)
}

pub(crate) async fn subscribe(
    c: &mut Conn,
    at: Timestamp,
    email: &str,
    components: &[String],
    language: &str,
    notifier: &dyn Notifier,
) -> Result<Subscriber> {
    let email = email.trim();
    check_email(email)?;
    if language != "en" && language != "de" {
        return Err(Error::Invalid(format!("`language` must be en or de, not {language:?}")));
    }
    let mut wanted: Vec<&str> = Vec::new();
    for id in components {
        if !wanted.contains(&id.as_str()) {
            wanted.push(id);
        }
    }
    let known: HashSet<String> = self::components(c).await?.into_iter().map(|k| k.id).collect();
    let unknown: Vec<String> = wanted.iter().filter(|id| !known.contains(**id)).map(|id| format!("`{id}`")).collect();
    match unknown.as_slice() {
        [] => {}
        [one] => return Err(Error::NotFound(format!("component {one}"))),
        many => return Err(Error::NotFound(format!("components {}", many.join(", ")))),
    }
    let key = email_key(email);
    let components_text = json_text(&json!(wanted));
    let row = query("SELECT id FROM subscribers WHERE email_key = $1").bind(&key).fetch_optional(&mut *c).await?;
    let id = match row {
        None => {
            // A new address: unconfirmed, with these choices, until the link is followed.
            let id: i64 = query(
                "INSERT INTO subscribers (email, email_key, components, language, created) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(email)
            .bind(&key)
            .bind(&components_text)
            .bind(language)
            .bind(micros(at))
            .fetch_one(&mut *c)
            .await
            .map_err(|e| conflict_on_unique(e, || "this address subscribed at the same time; try again".into()))?
            .try_get("id")?;
            id
        }
        Some(r) => {
            let id: i64 = r.try_get("id")?;
            let recent = query("SELECT id FROM subscription_requests WHERE subscriber = $1 AND created > $2 LIMIT 1")
                .bind(id)
                .bind(micros(at) - CONFIRMATION_INTERVAL_MICROS)
                .fetch_optional(&mut *c)
                .await?
                .is_some();
            if recent {
                // At most one confirmation an hour to an address, whoever asks: nothing happens.
                return current_subscriber(c, id).await;
            }
            // Nothing changes until the link is followed: a confirmed subscription is not
            // changed by anyone who merely knows its address.
            id
        }
    };
    let request: i64 = query(
        "INSERT INTO subscription_requests (subscriber, components, language, created) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(id)
    .bind(&components_text)
    .bind(language)
    .bind(micros(at))
    .fetch_one(&mut *c)
    .await?
    .try_get("id")?;
    let detail = json!({ "request": request, "components": wanted, "language": language });
    audit(c, at, PUBLIC, "subscriber.request", &id.to_string(), detail).await?;
    let subscriber = current_subscriber(c, id).await?;
    let request = SubscriptionRequest {
        id: request,
        subscriber: id,
        components: wanted.iter().map(|s| (*s).to_owned()).collect(),
        language: language.to_owned(),
        created: at,
        confirmed: None,
    };
    tell(c, at, PUBLIC, notifier, What::SubscriptionRequested { subscriber: &subscriber, request: &request }).await?;
    Ok(subscriber)
}

pub(crate) async fn confirm_subscription(c: &mut Conn, at: Timestamp, request: i64) -> Result<Confirmation> {
    let row = query("SELECT subscriber, components, language, confirmed FROM subscription_requests WHERE id = $1")
        .bind(request)
        .fetch_optional(&mut *c)
        .await?
        .ok_or_else(|| Error::NotFound(format!("subscription request {request}")))?;
    let id: i64 = row.try_get("subscriber")?;
    if opt_ts(&row, "confirmed")?.is_some() {
        return Ok(Confirmation { subscriber: current_subscriber(c, id).await?, outcome: Confirmed::Already });
    }
    let components: String = row.try_get("components")?;
    let language: String = row.try_get("language")?;
    let current = current_subscriber(c, id).await?.confirmed.is_some();
    // A subscription that had ended starts anew from now.
    query(
        "UPDATE subscribers SET components = $1, language = $2, \
         confirmed = CASE WHEN confirmed IS NULL OR unsubscribed IS NOT NULL THEN $3 ELSE confirmed END, \
         created = CASE WHEN unsubscribed IS NOT NULL THEN $3 ELSE created END, unsubscribed = NULL \
         WHERE id = $4",
    )
    .bind(&components)
    .bind(&language)
    .bind(micros(at))
    .bind(id)
    .execute(&mut *c)
    .await?;
    query("UPDATE subscription_requests SET confirmed = $1 WHERE id = $2")
        .bind(micros(at))
        .bind(request)
        .execute(&mut *c)
        .await?;
    let subscriber = current_subscriber(c, id).await?;
    let (action, outcome) =
        if current { ("subscriber.change", Confirmed::Changed) } else { ("subscriber.confirm", Confirmed::Subscribed) };
    let detail = json!({ "request": request, "components": subscriber.components, "language": subscriber.language });
    audit(c, at, PUBLIC, action, &id.to_string(), detail).await?;
    Ok(Confirmation { subscriber, outcome })
}

/// Subscription `id` if it is confirmed, has not ended, and began by `sent` (a message
/// written then went to it).
pub(crate) async fn subscription(c: &mut Conn, id: i64, sent: Timestamp) -> Result<Option<Subscriber>> {
    let row = query(&format!(
        "{SUBSCRIBER} WHERE id = $1 AND confirmed IS NOT NULL AND unsubscribed IS NULL AND created <= $2"
    ))
    .bind(id)
    .bind(micros(sent))
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(subscriber_from_row).transpose()
}

pub(crate) async fn unsubscribe(c: &mut Conn, at: Timestamp, id: i64, sent: Timestamp) -> Result<Option<Subscriber>> {
    let Some(subscriber) = subscription(c, id, sent).await? else { return Ok(None) };
    query("UPDATE subscribers SET unsubscribed = $1 WHERE id = $2").bind(micros(at)).bind(id).execute(&mut *c).await?;
    let detail = json!({ "message": forewarn_status::when::rfc3339(sent) });
    audit(c, at, PUBLIC, "subscriber.unsubscribe", &id.to_string(), detail).await?;
    Ok(Some(subscriber))
}

// The outbox.

const MESSAGE: &str = "id, key, channel, sender, recipient, subject, cause, created, state, attempts, due, sent, error";

fn message_from_row(r: &DbRow, with_payload: bool) -> Result<Message> {
    let channel: &str = r.try_get("channel")?;
    let state: &str = r.try_get("state")?;
    let attempts: i64 = r.try_get("attempts")?;
    Ok(Message {
        id: r.try_get("id")?,
        key: r.try_get("key")?,
        channel: Channel::parse(channel).ok_or_else(|| corrupt(format!("unknown channel `{channel}`")))?,
        sender: r.try_get("sender")?,
        recipient: r.try_get("recipient")?,
        subject: r.try_get("subject")?,
        cause: r.try_get("cause")?,
        payload: if with_payload { r.try_get("payload")? } else { String::new() },
        created: ts(r, "created")?,
        state: MessageState::parse(state).ok_or_else(|| corrupt(format!("unknown message state `{state}`")))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt(format!("{attempts} attempts is out of range")))?,
        due: ts(r, "due")?,
        sent: opt_ts(r, "sent")?,
        error: r.try_get("error")?,
    })
}

pub(crate) async fn claim_messages(
    c: &mut Conn,
    at: Timestamp,
    lease: SignedDuration,
    limit: u32,
) -> Result<Vec<Message>> {
    if !lease.is_positive() {
        return Err(Error::Invalid(format!("a lease must be longer than nothing, not {lease}")));
    }
    // On PostgreSQL the rows are locked as they are picked, skipping those another instance
    // is picking right now: no message is claimed twice in one round. The pick is
    // materialized so that it runs once, whatever plan the update gets.
    let rows = query(&format!(
        "WITH picked AS MATERIALIZED (\
         SELECT id FROM outbox WHERE state = 'pending' AND due <= $2 \
         AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY due, id LIMIT $3{SKIP_LOCKED}) \
         UPDATE outbox SET claimed_until = $1 WHERE id IN (SELECT id FROM picked) \
         RETURNING {MESSAGE}, payload"
    ))
    .bind(micros(later(at, lease)))
    .bind(micros(at))
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await?;
    let mut messages = rows.iter().map(|r| message_from_row(r, true)).collect::<Result<Vec<_>>>()?;
    messages.sort_by_key(|m| (m.due, m.id));
    Ok(messages)
}

pub(crate) async fn release_claims(c: &mut Conn) -> Result<u64> {
    let done = query("UPDATE outbox SET claimed_until = NULL WHERE claimed_until IS NOT NULL").execute(&mut *c).await?;
    Ok(done.rows_affected())
}

pub(crate) async fn mark_sent(c: &mut Conn, id: i64, at: Timestamp) -> Result<bool> {
    let done =
        query("UPDATE outbox SET state = 'sent', sent = $1, claimed_until = NULL WHERE id = $2 AND state = 'pending'")
            .bind(micros(at))
            .bind(id)
            .execute(&mut *c)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn mark_failed(
    c: &mut Conn,
    id: i64,
    at: Timestamp,
    error: &str,
    permanent: bool,
    policy: &RetryPolicy,
) -> Result<MessageState> {
    let row = query(
        "UPDATE outbox SET attempts = attempts + 1, error = $1, claimed_until = NULL \
         WHERE id = $2 AND state = 'pending' RETURNING attempts",
    )
    .bind(error)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = row else {
        // Not pending: marked by another worker after this one's lease ran out (or dead and
        // retried meanwhile); that stands.
        let row = query("SELECT state FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
            .ok_or_else(|| Error::NotFound(format!("message {id}")))?;
        let state: &str = row.try_get("state")?;
        return MessageState::parse(state).ok_or_else(|| corrupt(format!("unknown message state `{state}`")));
    };
    let attempts: i64 = row.try_get("attempts")?;
    let failures = u32::try_from(attempts).unwrap_or(u32::MAX);
    let state = if permanent || failures >= policy.max_attempts { MessageState::Dead } else { MessageState::Pending };
    query("UPDATE outbox SET state = $1, due = $2 WHERE id = $3")
        .bind(state.as_str())
        .bind(micros(later(at, policy.backoff(failures))))
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(state)
}

pub(crate) async fn retry_message(c: &mut Conn, at: Timestamp, actor: &str, id: i64) -> Result<Message> {
    let old = message(c, id).await?.ok_or_else(|| Error::NotFound(format!("message {id}")))?;
    if old.state != MessageState::Dead {
        return Err(Error::Invalid(format!(
            "message {id} is {}: only a dead message is retried by hand",
            old.state.as_str()
        )));
    }
    let done = query(
        "UPDATE outbox SET state = 'pending', attempts = 0, due = $1, claimed_until = NULL \
         WHERE id = $2 AND state = 'dead'",
    )
    .bind(micros(at))
    .bind(id)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() != 1 {
        return Err(Error::Conflict(format!("message {id} changed while it was being retried; look again")));
    }
    let detail = json!({ "key": old.key, "attempts": old.attempts, "error": old.error });
    audit(c, at, actor, "outbox.retry", &id.to_string(), detail).await?;
    message(c, id).await?.ok_or_else(|| Error::NotFound(format!("message {id}")))
}

pub(crate) async fn messages(
    c: &mut Conn,
    state: Option<MessageState>,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<Message>> {
    let mut conditions = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if state.is_some() {
        conditions.push(format!("state = ${}", next()));
    }
    if before.is_some() {
        conditions.push(format!("id < ${}", next()));
    }
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let sql = format!("SELECT {MESSAGE} FROM outbox{filter} ORDER BY id DESC LIMIT ${}", next());
    let mut q = query(&sql);
    if let Some(state) = state {
        q = q.bind(state.as_str());
    }
    if let Some(before) = before {
        q = q.bind(before);
    }
    let rows = q.bind(i64::from(limit)).fetch_all(&mut *c).await?;
    rows.iter().map(|r| message_from_row(r, false)).collect()
}

pub(crate) async fn message(c: &mut Conn, id: i64) -> Result<Option<Message>> {
    let row =
        query(&format!("SELECT {MESSAGE}, payload FROM outbox WHERE id = $1")).bind(id).fetch_optional(&mut *c).await?;
    row.map(|r| message_from_row(&r, true)).transpose()
}

pub(crate) async fn outbox_counts(c: &mut Conn) -> Result<OutboxCounts> {
    let rows = query("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state").fetch_all(&mut *c).await?;
    let mut counts = OutboxCounts::default();
    for r in &rows {
        let state: &str = r.try_get("state")?;
        let n = u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0);
        match MessageState::parse(state) {
            Some(MessageState::Pending) => counts.pending = n,
            Some(MessageState::Sent) => counts.sent = n,
            Some(MessageState::Dead) => counts.dead = n,
            None => return Err(corrupt(format!("unknown message state `{state}`"))),
        }
    }
    Ok(counts)
}

pub(crate) async fn next_due(c: &mut Conn) -> Result<Option<Timestamp>> {
    // A claimed message is not due before its lease ends.
    let row = query(
        "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > due THEN claimed_until ELSE due END) \
         AS due FROM outbox WHERE state = 'pending'",
    )
    .fetch_one(&mut *c)
    .await?;
    opt_ts(&row, "due")
}

// Secrets.

pub(crate) async fn secret(c: &mut Conn, candidate: &str) -> Result<String> {
    if blank(candidate) {
        return Err(Error::Invalid("the installation's secret cannot be blank".into()));
    }
    query("INSERT INTO secrets (name, value) VALUES ('installation', $1) ON CONFLICT (name) DO NOTHING")
        .bind(candidate)
        .execute(&mut *c)
        .await?;
    let row = query("SELECT value FROM secrets WHERE name = 'installation'").fetch_one(&mut *c).await?;
    Ok(row.try_get("value")?)
}
