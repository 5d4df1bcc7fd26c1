//! Slot notices: what contacts were told of each slot of a published campaign.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use forewarn_status::PostKind;
use jiff::SignedDuration;
use serde_json::json;

use crate::Error;
use crate::codec::{corrupt, micros};
use crate::outbox::{Notifier, PlannedSlot, SlotChange, SlotNotice, What, check_slots};
use crate::types::{CampaignState, Correction, StoredCampaign};

use super::*;

/// A row of `slot_notices`.
pub(super) struct NoticeRow {
    pub(super) target: String,
    pub(super) starts: i64,
    pub(super) ends: i64,
    pub(super) sequence: i64,
    pub(super) cancelled: bool,
    pub(super) reminded: bool,
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

    pub(super) fn notice(self, change: SlotChange) -> Result<SlotNotice> {
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

/// A campaign's slot notices, by start, then target. A draft has none: those a publication
/// of it is writing (or left half-way) are not told yet.
pub(super) async fn notice_rows(c: &mut Conn, campaign: &str) -> Result<Vec<NoticeRow>> {
    let rows = query(&format!(
        "{NOTICE} WHERE campaign = $1 AND campaign NOT IN (SELECT id FROM campaigns WHERE state = 'draft') \
         ORDER BY starts, target"
    ))
    .bind(campaign)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(NoticeRow::from_row).collect()
}

/// A slot as its notice row is first written: target, start and end.
pub(crate) trait SlotRow {
    fn row(&self) -> (&str, Timestamp, Timestamp);
}

impl SlotRow for PlannedSlot {
    fn row(&self) -> (&str, Timestamp, Timestamp) {
        (&self.target, self.start, self.end)
    }
}

impl SlotRow for SlotNotice {
    fn row(&self) -> (&str, Timestamp, Timestamp) {
        (&self.target, self.start, self.end)
    }
}

/// Inserts slots told for the first time (sequence 0), as each backend takes many rows
/// fastest.
pub(super) async fn insert_notices<S: SlotRow>(c: &mut Conn, campaign: &str, slots: &[S]) -> Result<()> {
    let rows: Vec<(&str, i64, i64)> = slots
        .iter()
        .map(|s| {
            let (target, start, end) = s.row();
            (target, micros(start), micros(end))
        })
        .collect();
    super::super::insert_new_notices(c, campaign, &rows).await
}

/// Gives slots told before (each with the start it was told) their new times under their
/// next sequence, not cancelled, not reminded of, not started and not finished, many rows
/// per statement.
async fn retell_notices(c: &mut Conn, campaign: &str, slots: &[(&PlannedSlot, i64)]) -> Result<()> {
    for chunk in slots.chunks(1000) {
        // Both databases name the columns of a VALUES list column1, column2, ...
        let mut update = sqlx::QueryBuilder::<Db>::new(
            "UPDATE slot_notices SET starts = v.column2, ends = v.column3, sequence = sequence + 1, \
             cancelled = FALSE, reminded = FALSE, started = FALSE, finished = FALSE FROM (",
        );
        update.push_values(chunk, |mut row, (slot, told)| {
            row.push_bind(&slot.target).push_bind(micros(slot.start)).push_bind(micros(slot.end)).push_bind(*told);
        });
        update.push(") AS v WHERE slot_notices.campaign = ");
        update.push_bind(campaign);
        update.push(" AND slot_notices.starts = v.column4 AND slot_notices.target = v.column1");
        update.build().execute(&mut *c).await?;
    }
    Ok(())
}

/// Cancels slots told before (sequence + 1), many rows per statement.
async fn cancel_notices(c: &mut Conn, campaign: &str, rows: &[NoticeRow]) -> Result<()> {
    for chunk in rows.chunks(1000) {
        let mut update =
            sqlx::QueryBuilder::<Db>::new("UPDATE slot_notices SET cancelled = TRUE, sequence = sequence + 1 FROM (");
        update.push_values(chunk, |mut row, told| {
            row.push_bind(told.starts).push_bind(&told.target);
        });
        update.push(") AS v WHERE slot_notices.campaign = ");
        update.push_bind(campaign);
        update.push(" AND slot_notices.starts = v.column1 AND slot_notices.target = v.column2");
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
        retold.push((slot, old.starts));
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
    // Under the campaign's row lock: moves through other instances queue here, and the
    // second finds the first one's version published (the check below refuses it).
    let now_published = locked_campaign(c, id).await?.published_plan;
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
    // One instance reminds for all; while it does, the others skip the round. (The row
    // locks would also make concurrent senders remind each slot once.)
    if !alone(c, SCHEDULE_LOCK).await? {
        return Ok(0);
    }
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
/// cancelled and not marked yet, whose `column` (`starts` or `ends`) is at or before `at`
/// (so is their start: the rows are found by it);
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
         WHERE NOT {flag} AND NOT cancelled AND {column} <= $1 AND starts <= $1 \
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
    // One instance tells the progress for all; the others skip the round meanwhile.
    if !alone(c, SCHEDULE_LOCK).await? {
        return Ok((0, 0));
    }
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
