//! Maintenance posts (and their campaigns) moved by the schedule.

use forewarn_status::{Post, PostKind, PostState, Update};
use jiff::SignedDuration;
use serde_json::json;

use crate::codec::micros;
use crate::outbox::{Notifier, SlotChange, SlotNotice, What};
use crate::types::CampaignState;

use super::*;

/// What moves a maintenance post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    /// Its own window (a post of no campaign).
    Window,
    /// Its campaign's slots.
    Slots,
    /// Its FleetLock group's locks, and the group's range.
    Locks,
}

/// What a maintenance post's update says when the schedule moves it.
fn progress_words(to: PostState, by: By) -> &'static str {
    match (to, by) {
        (PostState::InProgress, By::Slots) => "In progress: the first slot has begun.",
        (PostState::InProgress, By::Window) => "In progress: the maintenance window has begun.",
        (PostState::InProgress, By::Locks) => "In progress: the first machine is rebooting.",
        (_, By::Slots) => "Completed: the last slot has ended.",
        (_, By::Window) => "Completed: the maintenance window has ended.",
        (_, By::Locks) => "Completed: the period has ended and every machine that rebooted is back.",
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
    by: By,
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
    let body = progress_words(to, by);
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
    // One instance moves them for all; the others skip the round meanwhile.
    if !alone(c, SCHEDULE_LOCK).await? {
        return Ok(0);
    }
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
                move_post(c, at, p.id, &[PostState::Scheduled], PostState::InProgress, starts, By::Window).await?
        {
            tell_moved(c, at, notifier, &post, &update).await?;
            moves += 1;
        }
        if let Some(ends) = p.ends.filter(|e| *e <= at)
            && let Some((post, update)) = move_post(c, at, p.id, &OPEN, PostState::Completed, ends, By::Window).await?
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
                move_post(c, at, p.id, &[PostState::Scheduled], PostState::InProgress, first_start, By::Slots).await?
            {
                tell_moved(c, at, notifier, &post, &update).await?;
                moves += 1;
            }
        }
        if unfinished > 0 {
            continue;
        }
        moves += complete(c, at, notifier, &id, &open, last_end, By::Slots).await?;
    }

    // FleetLock groups (published campaigns without slots): the post is in progress from the
    // first lock granted; the group completes once its period has ended and no lock is held.
    let rows = query(
        "SELECT c.id, (SELECT MIN(r.started) FROM runs r WHERE r.campaign = c.id) AS first_start, \
         (SELECT COUNT(*) FROM runs r WHERE r.campaign = c.id AND r.finished IS NULL) AS held \
         FROM campaigns c WHERE c.state = 'published' \
         AND NOT EXISTS (SELECT 1 FROM slot_notices n WHERE n.campaign = c.id) ORDER BY c.id",
    )
    .fetch_all(&mut *c)
    .await?;
    for row in &rows {
        let id: String = row.try_get("id")?;
        let first_start = opt_ts(row, "first_start")?;
        let held: i64 = row.try_get("held")?;
        let open: Vec<Post> = posts_of_campaign(c, &id)
            .await?
            .into_iter()
            .filter(|p| p.kind == PostKind::Maintenance && OPEN.contains(&p.state))
            .collect();
        if let Some(first) = first_start {
            for p in open.iter().filter(|p| p.state == PostState::Scheduled) {
                if let Some((post, update)) =
                    move_post(c, at, p.id, &[PostState::Scheduled], PostState::InProgress, first, By::Locks).await?
                {
                    tell_moved(c, at, notifier, &post, &update).await?;
                    moves += 1;
                }
            }
        }
        let Some(ends) = open.iter().filter_map(|p| p.ends).max() else { continue };
        if ends <= at && held == 0 {
            moves += complete(c, at, notifier, &id, &open, ends, By::Locks).await?;
        }
    }
    Ok(moves)
}

/// Completes campaign `id` (from published only, as read under its row lock: one paused,
/// cancelled or completed since it was found stays as it is, and is not told completed
/// twice) with its `open` posts, as of `last_end`; tells its contacts and subscribers.
/// Gives how many things moved.
async fn complete(
    c: &mut Conn,
    at: Timestamp,
    notifier: &dyn Notifier,
    id: &str,
    open: &[Post],
    last_end: Timestamp,
    by: By,
) -> Result<usize> {
    let from = locked_campaign(c, id).await?.state;
    if from != CampaignState::Published {
        return Ok(0);
    }
    let mut done = Vec::new();
    for p in open {
        if let Some(moved) = move_post(c, at, p.id, &OPEN, PostState::Completed, last_end, by).await? {
            done.push(moved);
        }
    }
    move_campaign(c, at, id, from, CampaignState::Completed, None).await?;
    let detail = json!({ "from": from.as_str(), "to": "completed", "by": "schedule", "last_end": micros(last_end) });
    audit(c, at, SERVICE, "campaign.complete", id, detail).await?;
    let campaign = existing_campaign(c, id).await?;
    let slots: Vec<SlotNotice> = notice_rows(c, id)
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
    Ok(done.len() + 1)
}

/// Posts that the schedule may still move.
const OPEN: [PostState; 2] = [PostState::Scheduled, PostState::InProgress];

/// The published campaigns, for the queries below.
const PUBLISHED: &str = "campaign IN (SELECT id FROM campaigns WHERE state = 'published')";

/// The earliest end of a slot of campaign `c` not told finished (nor cancelled), found in
/// the order of starts, the only order the table has: no such slot starting after the
/// first one's end can end before it (a slot ends at or after its start).
const FIRST_END: &str = "(SELECT MIN(n.ends) FROM slot_notices n \
     WHERE n.campaign = c.id AND NOT n.finished AND NOT n.cancelled AND n.starts <= \
     (SELECT f.ends FROM slot_notices f WHERE f.campaign = c.id AND NOT f.finished AND NOT f.cancelled \
     ORDER BY f.starts LIMIT 1))";

pub(crate) async fn next_scheduled(c: &mut Conn, at: Timestamp, horizon: SignedDuration) -> Result<Option<Timestamp>> {
    // Due now: a published campaign's scheduled maintenance post once one of its slots was
    // told started, a published campaign whose every slot not cancelled was told finished.
    let due_now = query(&format!(
        "SELECT 1 AS due FROM posts WHERE kind = 'maintenance' AND state = 'scheduled' AND {PUBLISHED} \
         AND EXISTS (SELECT 1 FROM slot_notices n WHERE n.campaign = posts.campaign AND n.started AND NOT n.cancelled) \
         UNION ALL \
         SELECT 1 AS due FROM slot_notices WHERE NOT cancelled AND {PUBLISHED} \
         GROUP BY campaign HAVING SUM(CASE WHEN finished THEN 0 ELSE 1 END) = 0 \
         UNION ALL \
         SELECT 1 AS due FROM posts WHERE kind = 'maintenance' AND state = 'scheduled' AND {PUBLISHED} \
         AND EXISTS (SELECT 1 FROM runs r WHERE r.campaign = posts.campaign)"
    ))
    .fetch_optional(&mut *c)
    .await?;
    if due_now.is_some() {
        return Ok(Some(at));
    }
    let row = query(&format!(
        "SELECT \
         (SELECT MIN(starts) FROM slot_notices WHERE NOT reminded AND NOT cancelled AND starts > $1 AND {PUBLISHED}) \
         AS remind, \
         (SELECT MIN(starts) FROM slot_notices WHERE NOT started AND NOT cancelled AND {PUBLISHED}) AS start, \
         (SELECT MIN({FIRST_END}) FROM campaigns c WHERE c.state = 'published') AS finish, \
         (SELECT MIN(starts) FROM posts WHERE kind = 'maintenance' AND campaign IS NULL AND state = 'scheduled') \
         AS post_start, \
         (SELECT MIN(ends) FROM posts WHERE kind = 'maintenance' AND campaign IS NULL AND starts IS NOT NULL \
         AND state IN ('scheduled', 'in_progress')) AS post_end, \
         (SELECT MIN(p.ends) FROM posts p WHERE p.kind = 'maintenance' AND p.state IN ('scheduled', 'in_progress') \
         AND p.campaign IN (SELECT c.id FROM campaigns c WHERE c.state = 'published' \
         AND NOT EXISTS (SELECT 1 FROM slot_notices n WHERE n.campaign = c.id) \
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.campaign = c.id AND r.finished IS NULL))) AS group_end, \
         (SELECT MIN(lease_until) FROM runs WHERE source = 'agent' AND state = 'running' AND finished IS NULL) \
         AS lease_end"
    ))
    .bind(micros(at))
    .fetch_one(&mut *c)
    .await?;
    let mut next = None;
    for column in ["start", "finish", "post_start", "post_end", "group_end", "lease_end"] {
        next = next.into_iter().chain(opt_ts(&row, column)?).min();
    }
    if !horizon.is_zero()
        && let Some(starts) = opt_ts(&row, "remind")?
    {
        let remind = starts.checked_sub(horizon).unwrap_or(Timestamp::MIN);
        next = next.into_iter().chain([remind]).min();
    }
    Ok(next.map(|n| n.max(at)))
}
