//! Runs: each time a machine went down for a campaign, as it really happened. A FleetLock
//! lock is a run from its grant until the machine is seen back (`steady-state`) or an
//! operator releases it; never freed by a timeout.

use serde_json::json;

use crate::Error;
use crate::codec::{micros, parse};
use crate::types::{CampaignState, Holding, Outcome, Run, RunState, Taken};

use super::super::{FOR_UPDATE, in_turn};
use super::*;

macro_rules! columns {
    () => {
        "id, campaign, machine, node, source, state, started, deadline, finished, downtime_seconds, released_by, \
         lease_until, exit_status, output"
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
        lease_until: opt_ts(r, "lease_until")?,
        exit_status: r.try_get::<Option<i64>, _>("exit_status")?.map(|e| e as i32),
        output: r.try_get("output")?,
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

/// Machine `machine`'s agent asks for work at `at`: the run it holds already (after a restart
/// of the agent: `true`), else its slot of a published campaign running at `at` that has no
/// run yet, leased until `lease_until` as a new run (`false`); `None` when nothing is due.
pub(crate) async fn claim_work(
    c: &mut Conn,
    at: Timestamp,
    machine: &str,
    lease_until: Timestamp,
) -> Result<Option<(Run, bool)>> {
    let held = query(&format!("{RUN} WHERE machine = $1 AND source = 'agent' AND finished IS NULL ORDER BY started"))
        .bind(machine)
        .fetch_optional(&mut *c)
        .await?;
    if let Some(row) = held {
        return Ok(Some((run_from_row(&row)?, true)));
    }
    let now = micros(at);
    let due = query(
        "SELECT n.campaign, n.starts, n.ends FROM slot_notices n WHERE n.target = $1 AND NOT n.cancelled \
         AND n.campaign IN (SELECT id FROM campaigns WHERE state = 'published') \
         AND n.starts > $2 AND n.starts <= $3 AND n.ends > $3 \
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.campaign = n.campaign AND r.machine = $1 AND r.started >= n.starts) \
         ORDER BY n.starts LIMIT 1",
    )
    .bind(machine)
    .bind(now - LONGEST_SLOT_MICROS)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?;
    let Some(due) = due else { return Ok(None) };
    let campaign: String = due.try_get("campaign")?;
    let ends: i64 = due.try_get("ends")?;
    let row = query(&format!(
        "INSERT INTO runs (campaign, machine, source, state, started, deadline, lease_until) \
         VALUES ($1, $2, 'agent', 'running', $3, $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(&campaign)
    .bind(machine)
    .bind(now)
    .bind(ends.max(now))
    .bind(micros(lease_until).max(now))
    .fetch_one(&mut *c)
    .await?;
    Ok(Some((run_from_row(&row)?, false)))
}

/// Why run `run` is not machine `machine`'s open run: it was (reported or released: a stale
/// fencing token, `Conflict`), or it never was its run (`NotFound`, saying nothing of
/// another machine's).
async fn not_open(c: &mut Conn, run: i64, machine: &str) -> Error {
    let theirs = query("SELECT 1 AS one FROM runs WHERE id = $1 AND machine = $2 AND source = 'agent'")
        .bind(run)
        .bind(machine)
        .fetch_optional(&mut *c)
        .await;
    match theirs {
        Ok(Some(_)) => Error::Conflict(format!(
            "run {run} is over (reported, released, or lost and taken over): a result or heartbeat with this \
             fencing token is refused"
        )),
        Ok(None) => Error::NotFound(format!("run {run} of machine `{machine}`")),
        Err(e) => e.into(),
    }
}

/// Renews machine `machine`'s lease of run `run` until `lease_until` (a lost run is running
/// again). `Conflict` when the run is not its open run: a stale fencing token.
pub(crate) async fn renew_lease(c: &mut Conn, run: i64, machine: &str, lease_until: Timestamp) -> Result<Run> {
    let row = query(&format!(
        "UPDATE runs SET lease_until = $3, state = 'running' WHERE id = $1 AND machine = $2 AND source = 'agent' \
         AND finished IS NULL RETURNING {COLUMNS}"
    ))
    .bind(run)
    .bind(machine)
    .bind(micros(lease_until))
    .fetch_optional(&mut *c)
    .await?;
    match row {
        Some(row) => run_from_row(&row),
        None => Err(not_open(c, run, machine).await),
    }
}

/// Machine `machine`'s agent reports run `run` at `at`: it ends with the outcome, its
/// downtime the duration the agent measured. Applied once: `Conflict` for a run that is not
/// its open run any more (a stale fencing token, or a result sent twice).
pub(crate) async fn report_run(c: &mut Conn, at: Timestamp, run: i64, machine: &str, outcome: &Outcome) -> Result<Run> {
    if outcome.state.is_open() || outcome.state == RunState::Released {
        return Err(Error::Invalid(format!("`{}` is not an outcome an agent reports", outcome.state.as_str())));
    }
    let open = query(&format!("{RUN} WHERE id = $1 AND machine = $2 AND source = 'agent' AND finished IS NULL"))
        .bind(run)
        .bind(machine)
        .fetch_optional(&mut *c)
        .await?;
    let Some(open) = open.as_ref().map(run_from_row).transpose()? else {
        return Err(not_open(c, run, machine).await);
    };
    let finished = micros(at).max(micros(open.started));
    let measured = (micros(outcome.finished) - micros(outcome.started)).max(0) / 1_000_000;
    let row = query(&format!(
        "UPDATE runs SET state = $2, finished = $3, downtime_seconds = $4, exit_status = $5, output = $6 \
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(run)
    .bind(outcome.state.as_str())
    .bind(finished)
    .bind(measured)
    .bind(outcome.exit_status.map(i64::from))
    .bind(&outcome.output)
    .fetch_one(&mut *c)
    .await?;
    run_from_row(&row)
}

/// Runs whose agent's lease ended by `at` are lost (they keep holding their machines).
/// Gives how many.
pub(crate) async fn expire_leases(c: &mut Conn, at: Timestamp) -> Result<u64> {
    let done = query(
        "UPDATE runs SET state = 'lost' WHERE source = 'agent' AND state = 'running' AND finished IS NULL \
         AND lease_until <= $1",
    )
    .bind(micros(at))
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected())
}
