//! FleetLock for Zincati: `POST /v1/pre-reboot` and `POST /v1/steady-state`, byte-compatible
//! with what Zincati sends (the header `fleet-lock-protocol: true`, a pretty-printed JSON body
//! `{"client_params": {"id", "group"}}` without Content-Type; any 2xx is success; an error is
//! `{"kind", "value"}`). A group is a campaign with `mode = "fleetlock"`, named by its id.
//!
//! What no FleetLock server does: a lock is granted only inside the node's maintenance
//! window, outside blackouts, inside the campaign's range after its notice, and within every
//! limit counted together with the other locks held and the slots of other campaigns running
//! (`forewarn_planner::fleetlock::admit`); the refusal's `kind` says which, its `value` why.
//!
//! Zincati cannot send headers, so a group's token (`forewarn token create --fleetlock
//! GROUP`) comes as the password of HTTP Basic from the URL's userinfo
//! (`https://fcos:TOKEN@status.example.net/`). A lock is a run of the campaign from the
//! grant until the machine reports steady state (its downtime) or an operator releases it;
//! never by a timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use forewarn_model::campaign::Mode;
use forewarn_model::{Campaign, Inventory};
use forewarn_planner::fleetlock::{Hold, Refused, admit};
use forewarn_store::{CampaignState, Holding, Taken};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::{Actor, hash_secret};
use crate::error::{ApiError, ApiResult, BadRequest, Conflict, NotFound, Unauthorized};

/// The routes of FleetLock v1.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/v1/pre-reboot", post(pre_reboot)).route("/v1/steady-state", post(steady_state))
}

/// The operators' routes of FleetLock groups, under `/api/v1`, documented with the API.
pub fn api_routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new().routes(routes!(list_locks)).routes(routes!(release))
}

/// The largest body taken: Zincati's is under 100 bytes.
const MAX_BODY: usize = 4096;

/// A FleetLock error: `{"kind", "value"}` with a status.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    kind: &'static str,
    value: String,
}

fn failure(status: StatusCode, kind: &'static str, value: impl Into<String>) -> Failure {
    Failure { status, kind, value: value.into() }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "kind": self.kind, "value": self.value }).to_string();
        let mut response = (self.status, [(CONTENT_TYPE, "application/json")], body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"forewarn FleetLock\""));
        }
        response
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        let kind = match e.status {
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_server_error() => "internal",
            _ => "failed",
        };
        failure(e.status, kind, e.message)
    }
}

impl From<forewarn_store::Error> for Failure {
    fn from(e: forewarn_store::Error) -> Failure {
        Failure::from(ApiError::from(e))
    }
}

impl From<Refused> for Failure {
    fn from(r: Refused) -> Failure {
        failure(StatusCode::CONFLICT, r.kind.as_str(), r.value)
    }
}

/// The FleetLock kinds a refusal or an error may have, for the metrics' labels.
pub const KINDS: [&str; 15] = [
    "missing_protocol_header",
    "bad_request",
    "unauthorized",
    "wrong_group",
    "unknown_group",
    "group_not_active",
    "unknown_node",
    "not_in_group",
    "outside_campaign",
    "outside_maintenance_window",
    "blackout",
    "limit_reached",
    "unavailable",
    "internal",
    "failed",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    client_params: ClientParams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientParams {
    id: String,
    group: String,
}

/// A request as Zincati sends it: the protocol header, the group's token, the node and group.
struct Asked {
    node: String,
    group: String,
}

async fn asked(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Asked, Failure> {
    let protocol = headers.get("fleet-lock-protocol").and_then(|v| v.to_str().ok());
    if protocol.map(str::trim) != Some("true") {
        return Err(failure(
            StatusCode::BAD_REQUEST,
            "missing_protocol_header",
            "a FleetLock request carries the header `fleet-lock-protocol: true`",
        ));
    }
    let how = "give the group's token (`forewarn token create --fleetlock GROUP`) as the password in the \
               URL, e.g. base_url = \"https://fcos:TOKEN@status.example.net/\"";
    let header = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let password = header
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|userinfo| userinfo.split_once(':').map(|(_, p)| p.to_owned()))
        .filter(|p| !p.is_empty());
    let Some(password) = password else {
        return Err(failure(StatusCode::UNAUTHORIZED, "unauthorized", format!("no credentials: {how}")));
    };
    if body.len() > MAX_BODY {
        return Err(failure(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body has {} bytes; a FleetLock request has under {MAX_BODY}", body.len()),
        ));
    }
    let parsed: Body = serde_json::from_slice(body).map_err(|e| {
        failure(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body is not {{\"client_params\": {{\"id\": NODE, \"group\": GROUP}}}}: {e}"),
        )
    })?;
    let ClientParams { id, group } = parsed.client_params;
    for (field, value) in [("id", &id), ("group", &group)] {
        let bad = value.is_empty()
            || value.len() > forewarn_model::text::ID
            || value.chars().any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
        if bad {
            return Err(failure(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!(
                    "client_params.{field} must be 1 to {} letters, digits, `-`, `.` or `_`",
                    forewarn_model::text::ID
                ),
            ));
        }
    }
    let token = app.store.token_by_hash(&hash_secret(&password)).await?;
    match token.and_then(|t| t.fleetlock) {
        Some(g) if g == group => Ok(Asked { node: id, group }),
        Some(g) => Err(failure(
            StatusCode::FORBIDDEN,
            "wrong_group",
            format!(
                "this token takes the locks of group `{g}`, not `{group}`: set Zincati's group or use that group's token"
            ),
        )),
        None => Err(failure(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("unknown, revoked or not a FleetLock token: {how}"),
        )),
    }
}

/// A group's campaign as it stood at a generation of the writes ([`App::generation`]), parsed
/// against the latest inventory: read again after any write that changed what is shown (a
/// new state, a new inventory), here or at another instance. The state read here only
/// refuses early: a grant reads it again under the grant's lock.
#[derive(Clone)]
pub(crate) struct Group {
    generation: u64,
    pub(crate) state: CampaignState,
    pub(crate) inv: Arc<Inventory>,
    pub(crate) campaign: Arc<Campaign>,
}

/// Parsed groups, by name; and what held machines when last read.
#[derive(Default)]
pub(crate) struct Groups(Mutex<HashMap<String, Group>>, Mutex<Option<Snapshot>>);

/// What held machines, as read at a monotonic instant (a grant or release here drops it).
struct Snapshot {
    read: std::time::Duration,
    at: Timestamp,
    holding: Arc<Holding>,
}

/// How long what holds may be reused to refuse (or to find a holder): a place freed
/// meanwhile is found at the next ask; a grant is always decided under the grant's lock.
const SNAPSHOT_FOR: std::time::Duration = std::time::Duration::from_millis(200);

impl Groups {
    pub(crate) fn changed(&self) {
        *self.1.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// What holds machines, read at most every [`SNAPSHOT_FOR`] (and again after a grant or a
/// release here): thousands of nodes asking each second share one read.
async fn holding(app: &App, now: Timestamp) -> Result<Arc<Holding>, Failure> {
    let read = app.clock.monotonic();
    if let Some(s) = &*app.groups.1.lock().unwrap_or_else(|e| e.into_inner())
        && read.saturating_sub(s.read) < SNAPSHOT_FOR
        && s.at <= now
    {
        return Ok(s.holding.clone());
    }
    let holding = Arc::new(app.store.holding(now).await?);
    *app.groups.1.lock().unwrap_or_else(|e| e.into_inner()) =
        Some(Snapshot { read, at: now, holding: holding.clone() });
    Ok(holding)
}

impl std::fmt::Debug for Groups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Groups")
    }
}

/// Group `name` as it stands: its campaign must exist and be a FleetLock group.
pub(crate) async fn group(app: &App, name: &str) -> Result<Group, Failure> {
    let generation = app.generation();
    if let Some(g) = app.groups.0.lock().unwrap_or_else(|e| e.into_inner()).get(name)
        && g.generation == generation
    {
        return Ok(g.clone());
    }
    let unknown = || {
        failure(
            StatusCode::NOT_FOUND,
            "unknown_group",
            format!(
                "no FleetLock group `{name}`: a group is a campaign with mode = \"fleetlock\" whose id is its name"
            ),
        )
    };
    let Some(stored) = app.store.campaign(name).await? else { return Err(unknown()) };
    let (_, inv, mut campaign) = crate::actions::parsed_campaign(app, &stored, None).await?;
    if campaign.mode != Mode::Fleetlock {
        return Err(unknown());
    }
    // The notice counts from when the contacts were told: the publication (its post), if
    // that came after the file's `publish_at`.
    let posts = app.store.posts_of_campaign(name).await?;
    if let Some(post) = posts.iter().find(|p| p.kind == forewarn_status::PostKind::Maintenance) {
        campaign.publish_at = campaign.publish_at.max(post.created);
    }
    let g = Group { generation, state: stored.state, inv, campaign: Arc::new(campaign) };
    app.groups.0.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), g.clone());
    Ok(g)
}

/// The machine FleetLock node `node` is: the inventory's `fleetlock_id` (or the machine's
/// id), else the id its agent reported.
async fn machine_of(app: &App, g: &Group, node: &str) -> Result<usize, Failure> {
    if let Some(i) = g.inv.fleetlock_machine(node) {
        return Ok(i);
    }
    if let Some(m) = app.store.machine_of_node(node).await?
        && let Some(i) = g.inv.machine_position(&m)
    {
        return Ok(i);
    }
    Err(failure(
        StatusCode::NOT_FOUND,
        "unknown_node",
        format!(
            "no machine is known as `{node}`: name it as `fleetlock_id` of its machine in the inventory, or run \
             `forewarn agent` on it once to report it"
        ),
    ))
}

fn inactive(group: &str, state: CampaignState) -> Failure {
    failure(
        StatusCode::CONFLICT,
        "group_not_active",
        format!("group `{group}` is {}: it grants locks only while its campaign is published", state.as_str()),
    )
}

/// What holds machines, as the planner counts it: open runs until released, slots of other
/// campaigns (a host's slot holds every machine on it) while they run.
fn holds(inv: &Inventory, holding: &Holding) -> Vec<Hold> {
    let mut out = Vec::with_capacity(holding.runs.len() + holding.slots.len());
    for (_, machine, started) in &holding.runs {
        if let Some(i) = inv.machine_position(machine) {
            out.push(Hold { machine: i, start: started.as_second(), end: i64::MAX });
        }
    }
    for (_, target, starts, ends) in &holding.slots {
        let (start, end) = (starts.as_second(), ends.as_second());
        if let Some(i) = inv.machine_position(target) {
            out.push(Hold { machine: i, start, end });
        } else if let Some(h) = inv.host_position(target) {
            out.extend((0..inv.machines.len()).filter(|&i| inv.machines[i].host == h).map(|machine| Hold {
                machine,
                start,
                end,
            }));
        }
    }
    out
}

fn granted() -> Response {
    StatusCode::OK.into_response()
}

/// RecursiveLock: the node asks for a place to reboot in.
async fn pre_reboot(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = lock(&app, &headers, &body).await;
    app.metrics.fleetlock("pre-reboot", result.as_ref().map_or_else(|f| f.kind, |_| "ok"));
    result.map_or_else(IntoResponse::into_response, |()| granted())
}

async fn lock(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<(), Failure> {
    let asked = asked(app, headers, body).await?;
    let g = group(app, &asked.group).await?;
    let machine = machine_of(app, &g, &asked.node).await?;
    let id = g.inv.machines[machine].id.clone();
    let now = app.now();
    let at = now.as_second();
    // Decided on what holds now (read at most 200 ms ago), without the grant's lock: a
    // holder asking again (Zincati does until it reboots) holds, whatever else changed; a
    // refusal needs no lock (a place freed meanwhile is found at the next ask), but a
    // holder it did not see yet is looked up; a grant is decided again under the lock.
    let holding = holding(app, now).await?;
    if holding.runs.iter().any(|(c, m, _)| *c == asked.group && *m == id) {
        return Ok(());
    }
    if g.state != CampaignState::Published {
        return Err(inactive(&asked.group, g.state));
    }
    if let Err(refused) = admit(&g.inv, &g.campaign, &holds(&g.inv, &holding), machine, at) {
        if app.store.open_run(&asked.group, &id).await?.is_some() {
            return Ok(());
        }
        return Err(refused.into());
    }
    let deadline = now + g.campaign.slot_length().0;
    let (inv, campaign) = (g.inv.clone(), g.campaign.clone());
    let decide = move |holding: &Holding| admit(&inv, &campaign, &holds(&inv, holding), machine, at);
    match app.store.take_lock(now, &asked.group, &id, &asked.node, deadline, decide).await? {
        Taken::Granted(run) => {
            app.groups.changed();
            // The group's post may move (in progress from the first lock).
            app.rounds.notify_one();
            tracing::info!(group = asked.group, machine = id, run = run.id, "FleetLock lock granted");
            Ok(())
        }
        Taken::Held(_) => Ok(()),
        Taken::Refused(r) => Err(r.into()),
        Taken::Inactive(state) => Err(inactive(&asked.group, state)),
    }
}

/// UnlockIfHeld: the node is back and steady; unlocking what it does not hold succeeds.
async fn steady_state(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = unlock(&app, &headers, &body).await;
    app.metrics.fleetlock("steady-state", result.as_ref().map_or_else(|f| f.kind, |_| "ok"));
    result.map_or_else(IntoResponse::into_response, |()| granted())
}

async fn unlock(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<(), Failure> {
    let asked = asked(app, headers, body).await?;
    let g = group(app, &asked.group).await?;
    let machine = match machine_of(app, &g, &asked.node).await {
        Ok(i) => g.inv.machines[i].id.clone(),
        // Nothing is held by a node nobody knows: unlocking it succeeds.
        Err(f) if f.kind == "unknown_node" => return Ok(()),
        Err(f) => return Err(f),
    };
    let now = app.now();
    // Nothing held, nothing to write: most steady states come from nodes that hold nothing.
    if app.store.open_run(&asked.group, &machine).await?.is_none() {
        return Ok(());
    }
    let released = app.store.release_lock(now, &asked.group, &machine).await?;
    app.groups.changed();
    // The group may complete (its period over, the last lock back).
    app.rounds.notify_one();
    if let Some(run) = released {
        tracing::info!(
            group = asked.group,
            machine,
            run = run.id,
            downtime = run.downtime_seconds,
            "FleetLock lock released"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The operators' view: who holds what, stuck locks, audited releases.

/// One time a machine went down for a campaign: a FleetLock lock from its grant until the
/// machine was seen back or an operator released it; an agent's work on its slot from its
/// lease until it reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunJson {
    pub id: i64,
    pub machine: String,
    /// The FleetLock id it asked as.
    pub node: Option<String>,
    /// `fleetlock` (or `agent`).
    pub source: String,
    /// `running` and `lost` (its agent's lease ran out) hold their machine; `done` (seen
    /// back, or every activity exited 0), `failed`, `postponed` (the machine asked for
    /// another slot), `interrupted` (found running after its agent crashed), `released` (by
    /// an operator).
    pub state: String,
    #[schema(value_type = String, format = DateTime)]
    pub started: Timestamp,
    /// When it was expected back: its start plus the campaign's activities.
    #[schema(value_type = String, format = DateTime)]
    pub deadline: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished: Option<Timestamp>,
    /// From the grant until the machine was seen back; for an agent's work, the duration it
    /// measured.
    pub downtime_seconds: Option<i64>,
    /// What the agent reported: the last exit status and the tail of the output.
    pub exit_status: Option<i32>,
    pub output: Option<String>,
    /// Running past its deadline: the machine was not seen back in time. It keeps holding
    /// its place until the machine is back or an operator releases it.
    pub stuck: bool,
    pub released_by: Option<String>,
}

impl RunJson {
    pub fn of(r: forewarn_store::Run, now: Timestamp) -> RunJson {
        RunJson {
            stuck: r.is_stuck(now),
            id: r.id,
            machine: r.machine,
            node: r.node,
            source: r.source,
            state: r.state.as_str().to_owned(),
            started: r.started,
            deadline: r.deadline,
            finished: r.finished,
            downtime_seconds: r.downtime_seconds,
            exit_status: r.exit_status,
            output: r.output,
            released_by: r.released_by,
        }
    }
}

/// A group's runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Runs {
    /// Every run, by start: open ones (`running`) hold their machines.
    pub runs: Vec<RunJson>,
}

/// A campaign's runs, held and past: each FleetLock lock and each agent's work on a slot;
/// who holds one now (and whether it is stuck past its expected end, or lost), who was seen
/// back or reported, and after how long.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{id}/runs",
    params(("id" = String, Path, description = "The campaign's id")),
    responses((status = 200, description = "The campaign's runs", body = Runs), BadRequest, Unauthorized, NotFound),
    security(("bearer" = [])),
)]
async fn list_locks(
    State(app): State<Arc<App>>,
    _: Actor,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<axum::Json<Runs>> {
    crate::actions::stored_campaign(&app, &id).await?;
    let now = app.now();
    let runs = app.store.runs(&id).await?.into_iter().map(|r| RunJson::of(r, now)).collect();
    Ok(axum::Json(Runs { runs }))
}

/// Frees the lock a machine holds without it being seen back (a stuck lock, or a machine known
/// to be up): audited as `lock.release`. The machine's place is free for the next.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/locks/{machine}/release",
    params(
        ("id" = String, Path, description = "The group's campaign id"),
        ("machine" = String, Path, description = "The machine holding the lock"),
    ),
    responses((status = 200, description = "The run, released", body = RunJson), BadRequest, Unauthorized, NotFound, Conflict),
    security(("bearer" = [])),
)]
async fn release(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    axum::extract::Path((id, machine)): axum::extract::Path<(String, String)>,
) -> ApiResult<axum::Json<RunJson>> {
    let now = app.now();
    let run = release_by(&app, &actor, &id, &machine).await?;
    Ok(axum::Json(RunJson::of(run, now)))
}

/// An operator (`actor`) frees the lock `machine` holds in group `id` (audited).
pub(crate) async fn release_by(app: &App, actor: &str, id: &str, machine: &str) -> ApiResult<forewarn_store::Run> {
    crate::actions::stored_campaign(app, id).await?;
    let run = app.store.release_lock_by_operator(app.now(), actor, id, machine).await?;
    app.groups.changed();
    app.rounds.notify_one();
    Ok(run)
}
