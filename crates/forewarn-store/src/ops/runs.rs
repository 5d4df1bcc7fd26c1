//! Runs: each time a machine went down for a campaign, as it really happened. A FleetLock
//! lock is a run from its grant until the machine is seen back (`steady-state`) or an
//! operator releases it; never freed by a timeout.

use serde_json::json;

use crate::Error;
use crate::codec::{micros, parse};
use crate::types::{CampaignState, Holding, Run, Taken};

use super::super::{FOR_UPDATE, in_turn};
use super::*;

macro_rules! columns {
    () => {
        "id, campaign, machine, node, source, state, started, deadline, finished, downtime_seconds, released_by"
    };
}
const COLUMNS: &str = columns!();
const RUN: &str = concat!("SELECT ", columns!(), " FROM runs");

/// The longest a slot lasts (a campaign's activities take at most a day): a slot running at
/// an instant started less than this before it.
const LONGEST_SLOT_MICROS: i64 = 86_400 * 1_000_000;

fn run_from_row(r: &DbRow) -> Result<Run> {
    Ok(Run {
        id: r.try_get("id")?,
        campaign: r.try_get("campaign")?,
        machine: r.try_get("machine")?,
        node: r.try_get("node")?,
        source: r.try_get("source")?,
        state: parse(r.try_get("state")?)?,
        started: ts(r, "started")?,
        deadline: ts(r, "deadline")?,
        finished: opt_ts(r, "finished")?,
        downtime_seconds: r.try_get("downtime_seconds")?,
        released_by: r.try_get("released_by")?,
    })
}

/// The run of `campaign` holding `machine` now, if one does.
pub(crate) async fn open_run(c: &mut Conn, campaign: &str, machine: &str) -> Result<Option<Run>> {
    let row = query(&format!("{RUN} WHERE campaign = $1 AND machine = $2 AND finished IS NULL"))
        .bind(campaign)
        .bind(machine)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(run_from_row).transpose()
}

/// What holds machines at `at`: every open run, and every slot of a published (or paused)
/// campaign running then. One statement: it is read for every FleetLock request.
pub(crate) async fn holding(c: &mut Conn, at: Timestamp) -> Result<Holding> {
    let now = micros(at);
    let rows = query(
        "SELECT 0 AS slot, campaign, machine AS target, started AS starts, 0 AS ends FROM runs \
         WHERE finished IS NULL \
         UNION ALL \
         SELECT 1, campaign, target, starts, ends FROM slot_notices WHERE NOT cancelled \
         AND campaign IN (SELECT id FROM campaigns WHERE state IN ('published', 'paused')) \
         AND starts > $1 AND starts <= $2 AND ends > $2",
    )
    .bind(now - LONGEST_SLOT_MICROS)
    .bind(now)
    .fetch_all(&mut *c)
    .await?;
    let mut out = Holding::default();
    for r in &rows {
        let (campaign, target): (String, String) = (r.try_get("campaign")?, r.try_get("target")?);
        if r.try_get::<i32, _>("slot")? == 0 {
            out.runs.push((campaign, target, ts(r, "starts")?));
        } else {
            out.slots.push((campaign, target, ts(r, "starts")?, ts(r, "ends")?));
        }
    }
    Ok(out)
}

/// Machine `machine` asks for the lock of group `group` at `at` (as FleetLock node `node`):
/// if it holds one already, that run; if the group's campaign is not published, its state;
/// else `decide` is asked with what holds at that instant, and on `Ok` the lock is granted
/// as a new run expected back by `deadline`. Grants happen one at a time (on PostgreSQL
/// across instances too), so no two grants count the same free place.
pub(crate) async fn take_lock<R>(
    c: &mut Conn,
    at: Timestamp,
    group: &str,
    machine: &str,
    node: &str,
    deadline: Timestamp,
    decide: impl FnOnce(&Holding) -> std::result::Result<(), R>,
) -> Result<Taken<R>> {
    in_turn(c, GRANT_LOCK).await?;
    let state: CampaignState = parse(
        query(&format!("SELECT state FROM campaigns WHERE id = $1{FOR_UPDATE}"))
            .bind(group)
            .fetch_optional(&mut *c)
            .await?
            .ok_or_else(|| Error::NotFound(format!("group `{group}`")))?
            .try_get("state")?,
    )?;
    if state != CampaignState::Published {
        return Ok(Taken::Inactive(state));
    }
    if let Some(run) = open_run(c, group, machine).await? {
        return Ok(Taken::Held(run));
    }
    let holds = holding(c, at).await?;
    if let Err(r) = decide(&holds) {
        return Ok(Taken::Refused(r));
    }
    let row = query(&format!(
        "INSERT INTO runs (campaign, machine, node, source, state, started, deadline) \
         VALUES ($1, $2, $3, 'fleetlock', 'running', $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(group)
    .bind(machine)
    .bind(node)
    .bind(micros(at))
    .bind(micros(deadline.max(at)))
    .fetch_one(&mut *c)
    .await?;
    Ok(Taken::Granted(run_from_row(&row)?))
}

/// Machine `machine` is seen back at `at` (FleetLock's `steady-state`): the run of `group`
/// holding it, if any, ends done, its downtime from the grant until now. `None` when it
/// held nothing (unlocking what is not held succeeds, and changes nothing).
pub(crate) async fn release_lock(c: &mut Conn, at: Timestamp, group: &str, machine: &str) -> Result<Option<Run>> {
    let Some(open) = open_run(c, group, machine).await? else { return Ok(None) };
    let finished = micros(at).max(micros(open.started));
    let downtime = (finished - micros(open.started)) / 1_000_000;
    let row = query(&format!(
        "UPDATE runs SET state = 'done', finished = $2, downtime_seconds = $3 WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(open.id)
    .bind(finished)
    .bind(downtime)
    .fetch_one(&mut *c)
    .await?;
    Ok(Some(run_from_row(&row)?))
}

/// An operator frees machine `machine`'s lock of `group` without the machine being seen
/// back (it is stuck, or known to be up): the run ends `released`, with no downtime
/// measured, audited as `lock.release`. `NotFound` when it holds none.
pub(crate) async fn release_lock_by_operator(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    group: &str,
    machine: &str,
) -> Result<Run> {
    let Some(open) = open_run(c, group, machine).await? else {
        return Err(Error::NotFound(format!("a lock of group `{group}` held by `{machine}`")));
    };
    let finished = micros(at).max(micros(open.started));
    let row = query(&format!(
        "UPDATE runs SET state = 'released', finished = $2, released_by = $3 WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(open.id)
    .bind(finished)
    .bind(actor)
    .fetch_one(&mut *c)
    .await?;
    let run = run_from_row(&row)?;
    let detail = json!({ "machine": machine, "run": run.id, "since": open.started.to_string() });
    audit(c, at, actor, "lock.release", group, detail).await?;
    Ok(run)
}

/// Every run of a campaign, by start (open ones too).
pub(crate) async fn runs(c: &mut Conn, campaign: &str) -> Result<Vec<Run>> {
    let rows =
        query(&format!("{RUN} WHERE campaign = $1 ORDER BY started, id")).bind(campaign).fetch_all(&mut *c).await?;
    rows.iter().map(run_from_row).collect()
}

/// Every open run, of every campaign, by start.
pub(crate) async fn open_runs(c: &mut Conn) -> Result<Vec<Run>> {
    let rows = query(&format!("{RUN} WHERE finished IS NULL ORDER BY started, id")).fetch_all(&mut *c).await?;
    rows.iter().map(run_from_row).collect()
}

/// The machine whose agent reported FleetLock id `node` when it last enrolled, if one did.
pub(crate) async fn machine_of_node(c: &mut Conn, node: &str) -> Result<Option<String>> {
    let row = query("SELECT machine FROM agents WHERE fleetlock_id = $1 ORDER BY seen DESC LIMIT 1")
        .bind(node)
        .fetch_optional(&mut *c)
        .await?;
    Ok(row.map(|r| r.try_get("machine")).transpose()?)
}
