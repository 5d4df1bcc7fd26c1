//! The agents' API, `/agent/v1`: what a machine's agent asks of the coordinator, with its
//! machine's token (`forewarn token create --machine ID`). The machine is the token's: no
//! request names one, so no token reaches another machine's work. An API token, a revoked
//! token, or none gets 401; a machine that left the inventory, 404.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use forewarn_store::AgentReport;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::{Actor, hash_secret};
use crate::error::{
    ApiError, ApiResult, BadRequest, Conflict, NotFound, Unauthorized, Unprocessable, UnsupportedMediaType,
};

/// How often an agent asks for work when nothing is due, in seconds (it adds jitter).
pub const POLL_SECONDS: u32 = 60;

/// The routes of `/agent/v1`, documented with the rest of the API.
pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(enrol))
        .routes(routes!(work))
        .routes(routes!(heartbeat))
        .routes(routes!(result))
        .routes(routes!(list_agents))
}

/// How long a lease lasts without a heartbeat, in seconds.
pub const LEASE_SECONDS: u32 = 60;
/// How often an agent renews its lease while it works, in seconds.
pub const HEARTBEAT_SECONDS: u32 = 20;
/// The most output an agent reports (its tail), in bytes.
pub const MAX_OUTPUT: usize = 16 * 1024;

/// A machine's agent: the machine its token names.
#[derive(Clone, Debug)]
pub struct MachineActor {
    pub machine: String,
    /// The token's id and name.
    pub token: i64,
    pub name: String,
}

fn refused(message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl FromRequestParts<Arc<App>> for MachineActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<MachineActor, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let how = "send the machine's token as `Authorization: Bearer TOKEN` (`forewarn token create --machine ID`)";
        let Some(token) = header.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(refused(how.to_owned()));
        };
        match app.store.token_by_hash(&hash_secret(token)).await? {
            Some(t) => match t.machine {
                Some(machine) => Ok(MachineActor { machine, token: t.id, name: t.name }),
                None => Err(refused(format!("this token is not a machine's: {how}"))),
            },
            None => Err(refused(format!("unknown or revoked token: {how}"))),
        }
    }
}

/// What an agent says of its machine when it starts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`): a new one after every boot.
    pub boot_id: String,
    /// The id the machine gives FleetLock: systemd's app-specific machine id for
    /// `de35106b6ec24688b63afddaa156679b`, from `/etc/machine-id` (what Zincati sends).
    #[serde(default)]
    pub fleetlock_id: Option<String>,
    /// The agent's name and version, e.g. `forewarn 0.1.0`.
    pub version: String,
}

/// What the coordinator knows the machine as.
#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolled {
    /// The machine the token is for.
    pub machine: String,
    /// The id FleetLock knows the machine by: the inventory's `fleetlock_id` if it names one,
    /// else the one reported, else the machine's id.
    pub fleetlock_id: String,
    /// How often to ask for work when nothing is due, in seconds (add jitter).
    pub poll_seconds: u32,
    /// What the operators should look at, in words (e.g. a FleetLock id that differs from
    /// the inventory's); empty when nothing.
    pub warnings: Vec<String>,
}

/// `value` if it is a short id of letters, digits, `-`, `.` and `_`.
fn id_field(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.is_empty() || value.len() > max {
        return Err(ApiError::unprocessable(format!("`{field}`: give 1 to {max} characters, not {}", value.len())));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))) {
        return Err(ApiError::unprocessable(format!(
            "`{field}` contains {c:?}: use letters, digits, `-`, `.` and `_` only"
        )));
    }
    Ok(())
}

/// An agent starts: it reports its machine's boot, FleetLock id and version, and learns what
/// the coordinator knows the machine as.
#[utoipa::path(
    post,
    path = "/agent/v1/enrol",
    request_body = EnrolBody,
    responses(
        (status = 200, description = "The machine as the coordinator knows it", body = Enrolled),
        BadRequest, Unauthorized, NotFound, UnsupportedMediaType, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn enrol(
    State(app): State<Arc<App>>,
    agent: MachineActor,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Enrolled>> {
    let b: EnrolBody = crate::api::json_body(&headers, &body)?;
    id_field("boot_id", &b.boot_id, 64)?;
    if let Some(f) = &b.fleetlock_id {
        id_field("fleetlock_id", f, forewarn_model::text::ID)?;
    }
    let version = b.version.trim();
    if version.is_empty() || version.chars().count() > 100 || version.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "`version`: give the agent's name and version, 1 to 100 printable characters",
        ));
    }
    let (inventory, inv) = app.inventory(None).await?;
    let Some(i) = inv.machine_position(&agent.machine) else {
        return Err(ApiError::not_found(format!(
            "machine `{}` is not in inventory version {inventory}: its token works again once an inventory names it",
            agent.machine
        )));
    };
    let named = inv.fleetlock_id(i);
    let named = (named != agent.machine).then_some(named);
    let mut warnings = Vec::new();
    if let (Some(named), Some(reported)) = (named, &b.fleetlock_id)
        && named != reported
    {
        warnings.push(format!(
            "the inventory names fleetlock_id `{named}` for `{}`, the machine reports `{reported}`: FleetLock \
             knows it as `{named}`; fix the inventory if Zincati sends the other",
            agent.machine
        ));
    }
    let fleetlock_id =
        named.map(str::to_owned).or_else(|| b.fleetlock_id.clone()).unwrap_or_else(|| agent.machine.clone());
    let report = AgentReport { fleetlock_id: b.fleetlock_id, boot_id: b.boot_id, version: version.to_owned() };
    let actor = format!("token:{}", agent.name);
    app.store.enrol_agent(app.now(), &actor, &agent.machine, agent.token, &report).await?;
    // A new boot releases the machine's FleetLock locks: what holds changed.
    app.groups.changed();
    app.rounds.notify_one();
    Ok(Json(Enrolled { machine: agent.machine, fleetlock_id, poll_seconds: POLL_SECONDS, warnings }))
}

/// A machine's agent as it last enrolled.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentJson {
    pub machine: String,
    /// The id of the token it came with (`GET /api/v1/tokens`).
    pub token: i64,
    /// The FleetLock id it reported, if any.
    pub fleetlock_id: Option<String>,
    pub boot_id: String,
    pub version: String,
    #[schema(value_type = String, format = DateTime)]
    pub enrolled: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub seen: jiff::Timestamp,
}

/// Every machine's agent that enrolled.
#[derive(Debug, Serialize, ToSchema)]
pub struct Agents {
    pub agents: Vec<AgentJson>,
}

/// Every machine's agent that enrolled, by machine: what it last reported and when.
#[utoipa::path(
    get,
    path = "/api/v1/agents",
    responses((status = 200, description = "The agents", body = Agents), Unauthorized),
    security(("bearer" = [])),
)]
async fn list_agents(State(app): State<Arc<App>>, _: Actor) -> ApiResult<Json<Agents>> {
    let agents = app.store.agents().await?;
    let agents = agents
        .into_iter()
        .map(|a| AgentJson {
            machine: a.machine,
            token: a.token,
            fleetlock_id: a.report.fleetlock_id,
            boot_id: a.report.boot_id,
            version: a.report.version,
            enrolled: a.enrolled,
            seen: a.seen,
        })
        .collect();
    Ok(Json(Agents { agents }))
}

// ---------------------------------------------------------------------------
// Work: a slot leased as a run, heartbeats, results.

/// One activity of the work, in order: the agent runs the command its own configuration
/// names for the kind (the coordinator never sends a command line).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityJson {
    pub kind: String,
    /// How long it is expected to take.
    pub seconds: i64,
}

/// The work leased to the machine: its slot of a campaign, as a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct Work {
    /// The run's id: the fencing token every heartbeat and the result carry.
    pub run: i64,
    pub campaign: String,
    pub title: String,
    pub activities: Vec<ActivityJson>,
    /// When the work started (the lease was taken).
    #[schema(value_type = String, format = DateTime)]
    pub started: jiff::Timestamp,
    /// When the slot ends: work not done by then is reported as it stands.
    #[schema(value_type = String, format = DateTime)]
    pub slot_ends: jiff::Timestamp,
    /// The lease runs out then unless renewed (`POST /agent/v1/runs/{run}/heartbeat`).
    #[schema(value_type = String, format = DateTime)]
    pub lease_until: jiff::Timestamp,
    pub heartbeat_seconds: u32,
    /// The machine held this run already: its agent restarted. Work that was running is
    /// not run again unless the activity is idempotent; it is reported `interrupted`.
    pub resumed: bool,
}

/// What is due for the machine.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkAnswer {
    /// The work, or `null` when nothing is due now.
    pub work: Option<Work>,
    /// How long to wait before asking again when nothing is due, in seconds (add jitter).
    pub poll_seconds: u32,
}

/// A campaign's title and activities, from its file as written.
async fn campaign_facts(app: &App, id: &str) -> ApiResult<(String, Vec<ActivityJson>)> {
    use forewarn_model::doc::{Document, Format};
    let stored = crate::actions::stored_campaign(app, id).await?;
    let file = format!("campaign `{id}`");
    let parsed = Document::parse(&file, &stored.text, Format::detect(&file, &stored.text))
        .ok()
        .and_then(|doc| doc.whole::<forewarn_model::CampaignFile>(&mut Vec::new()))
        .ok_or_else(|| ApiError::internal(format!("the file of campaign `{id}` does not parse")))?;
    let activities =
        parsed.activities.into_iter().map(|a| ActivityJson { kind: a.kind, seconds: a.duration.seconds() }).collect();
    Ok((parsed.title, activities))
}

/// Asks for the machine's due work and leases it: its slot of a published campaign that is
/// running now becomes a run, leased for a minute and renewed by heartbeats. An agent that
/// restarted gets the run it held (`resumed`). `work` is `null` when nothing is due.
#[utoipa::path(
    post,
    path = "/agent/v1/work",
    responses(
        (status = 200, description = "The work leased now, or none", body = WorkAnswer),
        BadRequest, Unauthorized,
    ),
    security(("bearer" = [])),
)]
async fn work(State(app): State<Arc<App>>, agent: MachineActor) -> ApiResult<Json<WorkAnswer>> {
    let now = app.now();
    let lease_until = now + jiff::SignedDuration::from_secs(i64::from(LEASE_SECONDS));
    let Some((run, resumed)) = app.store.claim_work(now, &agent.machine, lease_until).await? else {
        return Ok(Json(WorkAnswer { work: None, poll_seconds: POLL_SECONDS }));
    };
    if !resumed {
        tracing::info!(machine = agent.machine, campaign = run.campaign, run = run.id, "work leased to an agent");
        app.fleetlock_changed();
        app.rounds.notify_one();
    }
    let (title, activities) = campaign_facts(&app, &run.campaign).await?;
    Ok(Json(WorkAnswer {
        work: Some(Work {
            run: run.id,
            campaign: run.campaign,
            title,
            activities,
            started: run.started,
            slot_ends: run.deadline,
            lease_until: run.lease_until.unwrap_or(lease_until),
            heartbeat_seconds: HEARTBEAT_SECONDS,
            resumed,
        }),
        poll_seconds: POLL_SECONDS,
    }))
}

/// The lease renewed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Lease {
    pub run: i64,
    #[schema(value_type = String, format = DateTime)]
    pub lease_until: jiff::Timestamp,
}

/// Renews the lease of the machine's run (its fencing token in the path). A run of the
/// machine that is over is refused with 409 (the agent stops that work); a run that is not
/// the machine's, 404.
#[utoipa::path(
    post,
    path = "/agent/v1/runs/{run}/heartbeat",
    params(("run" = i64, Path, description = "The run's id (the fencing token)")),
    responses(
        (status = 200, description = "The lease renewed", body = Lease),
        BadRequest, Unauthorized, NotFound, Conflict,
    ),
    security(("bearer" = [])),
)]
async fn heartbeat(
    State(app): State<Arc<App>>,
    agent: MachineActor,
    axum::extract::Path(run): axum::extract::Path<i64>,
) -> ApiResult<Json<Lease>> {
    let lease_until = app.now() + jiff::SignedDuration::from_secs(i64::from(LEASE_SECONDS));
    let run = app.store.renew_lease(run, &agent.machine, lease_until).await?;
    Ok(Json(Lease { run: run.id, lease_until: run.lease_until.unwrap_or(lease_until) }))
}

/// What the agent reports of a run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultBody {
    /// `done` (every activity exited 0), `failed`, `postponed` (an activity or the enter hook
    /// exited 69: the machine asks for another slot) or `interrupted` (found running after
    /// the agent crashed, not run again).
    pub outcome: String,
    /// The exit status of the last command run, if one ran.
    #[serde(default)]
    pub exit_status: Option<i32>,
    /// The tail of the output (at most 16 KiB), and why, when no command ran.
    #[serde(default)]
    pub output: String,
    /// When the work began and ended on the machine: its measured duration.
    #[schema(value_type = String, format = DateTime)]
    pub started: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub finished: jiff::Timestamp,
}

/// A run as reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reported {
    pub run: i64,
    pub state: String,
    /// The measured duration, in seconds.
    pub downtime_seconds: Option<i64>,
}

/// Reports the machine's run: applied once. A stale fencing token (a run of the machine that
/// is over, or was reported already) is refused with 409 and changes nothing; a run that is
/// not the machine's, 404.
#[utoipa::path(
    post,
    path = "/agent/v1/runs/{run}/result",
    params(("run" = i64, Path, description = "The run's id (the fencing token)")),
    request_body = ResultBody,
    responses(
        (status = 200, description = "The run as reported", body = Reported),
        BadRequest, Unauthorized, NotFound, Conflict, UnsupportedMediaType, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn result(
    State(app): State<Arc<App>>,
    agent: MachineActor,
    axum::extract::Path(run): axum::extract::Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Reported>> {
    let b: ResultBody = crate::api::json_body(&headers, &body)?;
    let state = match b.outcome.as_str() {
        "done" => forewarn_store::RunState::Done,
        "failed" => forewarn_store::RunState::Failed,
        "postponed" => forewarn_store::RunState::Postponed,
        "interrupted" => forewarn_store::RunState::Interrupted,
        other => {
            return Err(ApiError::unprocessable(format!(
                "`outcome` `{other}`: give done, failed, postponed or interrupted"
            )));
        }
    };
    if b.output.len() > MAX_OUTPUT {
        return Err(ApiError::unprocessable(format!(
            "`output` has {} bytes: send its last {MAX_OUTPUT} at most",
            b.output.len()
        )));
    }
    if b.finished < b.started {
        return Err(ApiError::unprocessable("`finished` is before `started`"));
    }
    let outcome = forewarn_store::Outcome {
        state,
        exit_status: b.exit_status,
        output: b.output,
        started: b.started,
        finished: b.finished,
    };
    let run = app.store.report_run(app.now(), run, &agent.machine, &outcome).await?;
    tracing::info!(machine = agent.machine, run = run.id, state = run.state.as_str(), "an agent reported");
    app.fleetlock_changed();
    app.rounds.notify_one();
    if run.state == forewarn_store::RunState::Failed
        && let Err(e) = keep_failure_budget(&app, &run.campaign).await
    {
        tracing::error!(campaign = run.campaign, error = %e.message, "checking the failure budget failed");
    }
    Ok(Json(Reported { run: run.id, state: run.state.as_str().to_owned(), downtime_seconds: run.downtime_seconds }))
}

/// After a failure: a published campaign whose failed runs exceed its failure budget
/// (`[rollout] max_failures`; equal is within it) pauses itself. No new work is leased from
/// then on, work already running finishes; the post gets an update naming the failures, and
/// the webhooks and contacts are told, as for an operator's pause. Resuming is an operator's
/// (audited) action and goes on with the slots left.
async fn keep_failure_budget(app: &App, campaign: &str) -> ApiResult<()> {
    use forewarn_model::doc::{Document, Format};
    let stored = crate::actions::stored_campaign(app, campaign).await?;
    if stored.state != forewarn_store::CampaignState::Published {
        return Ok(());
    }
    let file = format!("campaign `{campaign}`");
    let budget = Document::parse(&file, &stored.text, Format::detect(&file, &stored.text))
        .ok()
        .and_then(|doc| doc.whole::<forewarn_model::CampaignFile>(&mut Vec::new()))
        .and_then(|f| f.rollout.max_failures);
    let Some(budget) = budget else { return Ok(()) };
    let runs = app.store.runs(campaign).await?;
    let mut failed: Vec<&str> =
        runs.iter().filter(|r| r.state == forewarn_store::RunState::Failed).map(|r| r.machine.as_str()).collect();
    failed.sort_unstable();
    failed.dedup();
    let targets = app
        .store
        .slot_notices(campaign)
        .await?
        .iter()
        .filter(|n| n.change != forewarn_store::SlotChange::Cancelled)
        .count();
    if !budget.exceeded(failed.len() as u64, targets as u64) {
        return Ok(());
    }
    let shown: Vec<&str> = failed.iter().take(10).copied().collect();
    let more =
        if failed.len() > shown.len() { format!(" and {} more", failed.len() - shown.len()) } else { String::new() };
    let reason = format!(
        "Paused by forewarn: {} of {targets} machines failed ({}{more}), more than the failure budget of {budget} \
         (max_failures). No new work starts until an operator resumes the campaign; work already running finishes.",
        failed.len(),
        shown.join(", ")
    );
    match crate::actions::change_state_because(
        app,
        "forewarn",
        campaign,
        forewarn_store::CampaignState::Paused,
        Some(&reason),
    )
    .await
    {
        Ok(_) => {
            tracing::warn!(campaign, failed = failed.len(), %budget, "the failure budget is exceeded: campaign paused");
            Ok(())
        }
        // Paused meanwhile (by another failure, or an operator).
        Err(e) if e.status == StatusCode::CONFLICT || e.status == StatusCode::UNPROCESSABLE_ENTITY => Ok(()),
        Err(e) => Err(e),
    }
}
