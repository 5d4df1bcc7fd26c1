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
use crate::error::{ApiError, ApiResult, BadRequest, NotFound, Unauthorized, Unprocessable, UnsupportedMediaType};

/// How often an agent asks for work when nothing is due, in seconds (it adds jitter).
pub const POLL_SECONDS: u32 = 60;

/// The routes of `/agent/v1`, documented with the rest of the API.
pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new().routes(routes!(enrol)).routes(routes!(list_agents))
}

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
