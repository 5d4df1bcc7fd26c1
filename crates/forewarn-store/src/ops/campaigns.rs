//! Campaigns: create, edit, change state, publish (with the inventory import that
//! brings its components).

use std::collections::HashSet;

use forewarn_status::{Component, Post, PostKind, PostState};
use serde_json::json;

use crate::Error;
use crate::codec::{conflict_on_unique, micros, parse};
use crate::outbox::{Ahead, Notifier, PlannedSlot, SlotChange, SlotNotice, What, check_slots};
use crate::types::{CampaignState, NewCampaign, NewPost, StoredCampaign};

use super::super::FOR_UPDATE;
use super::*;

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

pub(super) async fn existing_campaign(c: &mut Conn, id: &str) -> Result<StoredCampaign> {
    campaign(c, id).await?.ok_or_else(|| Error::NotFound(format!("campaign `{id}`")))
}

/// [`existing_campaign`], its row locked until the transaction ends (PostgreSQL): writes
/// that decide on what they read of it queue here, whichever instance they come through,
/// and each reads what the one before committed.
pub(super) async fn locked_campaign(c: &mut Conn, id: &str) -> Result<StoredCampaign> {
    let row = query(&format!("{CAMPAIGN} WHERE id = $1{FOR_UPDATE}")).bind(id).fetch_optional(&mut *c).await?;
    row.as_ref().map(campaign_from_row).transpose()?.ok_or_else(|| Error::NotFound(format!("campaign `{id}`")))
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
pub(super) async fn move_campaign(
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

/// An inventory version and the components following it ([`follow_inventory`]), together: a
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
    follow_inventory(c, at, actor, named).await?;
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
    if from == CampaignState::Draft {
        // A draft's contacts were told nothing: what a publication of it left half-way goes.
        query("DELETE FROM slot_notices WHERE campaign = $1").bind(id).execute(&mut *c).await?;
        drop_held_events(c, id).await?;
    }
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
pub(super) async fn existing_plan(c: &mut Conn, id: &str, version: i64) -> Result<()> {
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

/// What [`publish_campaign`] checks before it writes anything.
async fn publishable(c: &mut Conn, id: &str, plan_version: i64, post: &NewPost) -> Result<CampaignState> {
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
    Ok(from)
}

/// The campaign published, its post created and the publication audited: what the
/// publication's last transaction writes besides its event.
#[allow(clippy::too_many_arguments)]
async fn published(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    from: CampaignState,
    plan_version: i64,
    post: &NewPost,
    slots: usize,
) -> Result<(StoredCampaign, Post)> {
    move_campaign(c, at, id, from, CampaignState::Published, Some(plan_version)).await?;
    let post = NewPost { campaign: Some(id.to_owned()), ..post.clone() };
    let post = insert_post(c, at, actor, &post).await?;
    let detail = json!({ "plan": plan_version, "post": post.id, "slots": slots });
    audit(c, at, actor, "campaign.publish", id, detail).await?;
    Ok((existing_campaign(c, id).await?, post))
}

/// Publishes a draft in one transaction: what a rehearsal does, and what the batches of
/// [`begin_publication`] .. [`finish_publication`] do together.
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
    check_slots(slots)?;
    let from = publishable(c, id, plan_version, post).await?;
    insert_notices(c, id, slots).await?;
    let (campaign, post) = published(c, at, actor, id, from, plan_version, post, slots.len()).await?;
    let notices = SlotNotice::all_new(slots)?;
    let subscribers = confirmed_subscribers(c).await?;
    let what = What::CampaignPublished { campaign: &campaign, post: &post, slots: &notices, subscribers: &subscribers };
    tell(c, at, actor, notifier, what).await?;
    Ok((campaign, post))
}

/// Begins publishing plan version `plan_version` of draft `id` in batches: every check of
/// [`publish_campaign`] is made but that of its slots (made before, outside any
/// transaction: [`check_slots`]), what an earlier publication of the draft left half-way is
/// dropped (its held event; its notices are cleared by [`clear_staged_notices`]) and the
/// publication's event is taken and held back. Returns its number.
pub(crate) async fn begin_publication(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    plan_version: i64,
    post: &NewPost,
) -> Result<i64> {
    publishable(c, id, plan_version, post).await?;
    drop_held_events(c, id).await?;
    let seq = next_event(c).await?;
    hold_event(c, seq, at, actor, id).await?;
    Ok(seq)
}

/// Deletes up to `limit` notices of draft `id` that publication `seq` did not write
/// (what an earlier one left); how many.
pub(crate) async fn clear_staged_notices(c: &mut Conn, id: &str, seq: i64, limit: i64) -> Result<u64> {
    staging_batch(c, seq, id).await?;
    staging_draft(c, id).await?;
    let done = query(
        "DELETE FROM slot_notices WHERE campaign = $1 \
         AND (starts, target) IN (SELECT starts, target FROM slot_notices WHERE campaign = $1 LIMIT $2)",
    )
    .bind(id)
    .bind(limit)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected())
}

/// Writes a batch of the slots of publication `seq` of draft `id` (not read until it is
/// published).
pub(crate) async fn stage_notices(c: &mut Conn, id: &str, seq: i64, slots: &[SlotNotice]) -> Result<()> {
    staging_batch(c, seq, id).await?;
    staging_draft(c, id).await?;
    insert_notices(c, id, slots).await
}

/// `Conflict` unless campaign `id` is still a draft.
async fn staging_draft(c: &mut Conn, id: &str) -> Result<()> {
    let state = existing_campaign(c, id).await?.state;
    if state != CampaignState::Draft {
        return Err(Error::Conflict(format!("campaign `{id}` became {state} while it was being published")));
    }
    Ok(())
}

/// Ends publication `seq` of draft `id` whose slots and `ahead` of its messages were
/// written in batches: the campaign is published and its post created, and the event is
/// told in full and released, in one short transaction. `Conflict` if another publication
/// took over, or if the slots written are not `slots`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn finish_publication(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: &str,
    plan_version: i64,
    post: &NewPost,
    notices: &[SlotNotice],
    notifier: &dyn Notifier,
    seq: i64,
    ahead: Ahead,
) -> Result<(StoredCampaign, Post)> {
    // The event still held means that no other publication took over and that the draft
    // did not change state since the slots were written (either drops it): they are this
    // publication's, all of them. They were checked when it began.
    held_event(c, seq, id).await?;
    let from = publishable(c, id, plan_version, post).await?;
    let (campaign, post) = published(c, at, actor, id, from, plan_version, post, notices.len()).await?;
    let subscribers = confirmed_subscribers(c).await?;
    let what = What::CampaignPublished { campaign: &campaign, post: &post, slots: notices, subscribers: &subscribers };
    tell_held(c, seq, ahead, at, actor, notifier, what).await?;
    Ok((campaign, post))
}

/// Drops what publication `seq` of `id` wrote before it failed: its held event with its
/// parts and messages (its notices are cleared by the next publication of the draft).
pub(crate) async fn abandon_publication(c: &mut Conn, id: &str, seq: i64) -> Result<()> {
    let held = "SELECT seq FROM events WHERE seq = $1 AND staging = $2";
    for table in ["outbox", "event_parts"] {
        query(&format!("DELETE FROM {table} WHERE event IN ({held})")).bind(seq).bind(id).execute(&mut *c).await?;
    }
    query("DELETE FROM events WHERE seq = $1 AND staging = $2").bind(seq).bind(id).execute(&mut *c).await?;
    Ok(())
}
