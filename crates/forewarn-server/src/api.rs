//! The JSON API under `/api/v1`: inventory, campaigns and their plans, posts. Writes need an
//! API token; reading posts does not (they are public anyway). Invalid input gets 4xx with
//! the same messages as the CLI and changes nothing. What a write does and checks is in
//! [`crate::actions`], shared with the admin pages; this module reads JSON and answers JSON.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use forewarn_planner::PlanFile;
use forewarn_status::{ComponentStatus, PostKind, PostState};
use forewarn_store::{CampaignState, Correction, MessageState, NewPost};
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::App;
use crate::actions::{self, no_inventory, stored_campaign, stored_plan};
use crate::auth::Actor;
use crate::config::Config;
use crate::error::{
    ApiError, ApiResult, BadRequest, Conflict, NotFound, TooLarge, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use crate::schema::{
    Campaign, CampaignPublished, CampaignWithPlans, ComponentJson, InventoryImported, InventoryShown, MessageJson,
    MovedSlot, Outbox, PlanDiff, PlanVersion, Planned, PostJson, PostWithTimeline, Preview, PreviewMessage,
    RevisionJson, SlotMoved, SlotNoticeJson, SlotOfOne, Slots, Span, SubscriberJson, Subscribers, TokenJson, Tokens,
    UpdateJson,
};

pub use crate::actions::components_of;

/// Inventories of a million machines are 200 MB of JSON.
const INVENTORY_LIMIT: usize = 512 << 20;

/// Every route of `/api/v1`, each declared once with its handler: the router and the OpenAPI
/// document ([`crate::openapi::spec`]) are both made from this.
pub fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .routes(routes!(import_inventory, show_inventory).layer(DefaultBodyLimit::max(INVENTORY_LIMIT)))
        .routes(routes!(create_campaign, list_campaigns))
        .routes(routes!(show_campaign, edit_campaign))
        .routes(routes!(plan_campaign, show_plan))
        .routes(routes!(list_plans))
        .routes(routes!(diff_plans))
        .routes(routes!(publish))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(cancel))
        .routes(routes!(list_slots))
        .routes(routes!(move_slot))
        .routes(routes!(list_outbox))
        .routes(routes!(show_message))
        .routes(routes!(retry_message))
        .routes(routes!(list_subscribers))
        .routes(routes!(create_post, list_posts))
        .routes(routes!(show_post, correct_post))
        .routes(routes!(add_update))
        .routes(routes!(list_components))
        .routes(routes!(set_component_status))
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(crate::openapi::document))
        .merge(crate::agent::routes())
        .merge(crate::fleetlock::api_routes())
}

/// Which format a request body is in, by its `Content-Type`.
fn body_format(headers: &HeaderMap) -> ApiResult<&'static str> {
    let ct = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/toml" | "text/toml" | "text/x-toml" => Ok("toml"),
        "application/json" => Ok("json"),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Content-Type `{ct}`: send the file as `application/toml` or `application/json`"),
        )),
    }
}

fn utf8(body: &Bytes) -> ApiResult<&str> {
    std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8 text (byte {} is not)", e.valid_up_to())))
}

// ---------------------------------------------------------------------------
// Inventory.

/// `?file=NAME`: the name of the uploaded file as the user gave it, for diagnostics.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FileQuery {
    /// The file's name as the user gave it (base name, printable, at most 100 characters):
    /// diagnostics name it (`typo-key.toml:22`); its extension must agree with the Content-Type.
    file: Option<String>,
}

/// Import an inventory (validated as by `forewarn inventory check`; 422 lists every problem).
#[utoipa::path(
    post,
    path = "/api/v1/inventory",
    params(FileQuery),
    request_body(description = "The inventory file, TOML or JSON", content(
        (String = "application/toml"),
        (Object = "application/json"),
    )),
    responses(
        (status = 201, description = "Imported as a new version", body = InventoryImported),
        BadRequest, Unauthorized, TooLarge, UnsupportedMediaType, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn import_inventory(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<InventoryImported>)> {
    let format = body_format(&headers)?;
    let name = actions::file_name(q.file.as_deref(), format, "inventory")?;
    let text = utf8(&body)?.to_owned();
    let (version, summary) = actions::import_inventory_as(&app, &actor, format, &name, text).await?;
    Ok((StatusCode::CREATED, Json(InventoryImported { version, summary })))
}

/// The latest inventory's version and summary (409 before the first import).
#[utoipa::path(
    get,
    path = "/api/v1/inventory",
    responses(
        (status = 200, description = "The latest inventory", body = InventoryShown),
        Unauthorized, Conflict,
    ),
    security(("bearer" = [])),
)]
async fn show_inventory(State(app): State<Arc<App>>, _: Actor) -> ApiResult<Json<InventoryShown>> {
    let inv = app.store.inventory(None).await?.ok_or_else(no_inventory)?;
    Ok(Json(InventoryShown {
        version: inv.version,
        imported: inv.at,
        by: inv.actor,
        format: inv.format,
        summary: crate::schema::InventorySummary::stored(&inv.summary)?,
    }))
}

// ---------------------------------------------------------------------------
// Campaigns.

/// Create a campaign from its file (TOML or JSON), checked against the latest inventory.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns",
    params(FileQuery),
    request_body(description = "The campaign file, TOML or JSON", content(
        (String = "application/toml"),
        (Object = "application/json"),
    )),
    responses(
        (status = 201, description = "Created as a draft", body = Campaign),
        BadRequest, Unauthorized, Conflict, TooLarge, UnsupportedMediaType, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn create_campaign(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Campaign>)> {
    let format = body_format(&headers)?;
    let name = actions::file_name(q.file.as_deref(), format, "campaign")?;
    let stored = actions::create_campaign_as(&app, &actor, &name, utf8(&body)?).await?;
    Ok((StatusCode::CREATED, Json(Campaign::from(&stored))))
}

/// Replace a draft campaign's file (TOML or JSON, checked as on create; its `id` stays); 409
/// once published: plan and publish a newer version instead.
#[utoipa::path(
    put,
    path = "/api/v1/campaigns/{id}",
    params(("id" = String, Path, description = "The campaign's id"), FileQuery),
    request_body(description = "The campaign file, TOML or JSON", content(
        (String = "application/toml"),
        (Object = "application/json"),
    )),
    responses(
        (status = 200, description = "The draft with its new file", body = Campaign),
        BadRequest, Unauthorized, NotFound, Conflict, TooLarge, UnsupportedMediaType, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn edit_campaign(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Campaign>> {
    let format = body_format(&headers)?;
    let name = actions::file_name(q.file.as_deref(), format, "campaign")?;
    let stored = actions::edit_campaign(&app, &actor, &id, &name, utf8(&body)?).await?;
    Ok(Json(Campaign::from(&stored)))
}

/// Every campaign, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns",
    responses((status = 200, description = "Every campaign", body = Vec<Campaign>), Unauthorized),
    security(("bearer" = [])),
)]
async fn list_campaigns(State(app): State<Arc<App>>, _: Actor) -> ApiResult<Json<Vec<Campaign>>> {
    let all = app.store.campaigns().await?;
    Ok(Json(all.iter().map(Campaign::from).collect()))
}

/// A campaign and its plan versions.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{id}",
    params(("id" = String, Path, description = "The campaign's id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignWithPlans),
        BadRequest, Unauthorized, NotFound,
    ),
    security(("bearer" = [])),
)]
async fn show_campaign(
    State(app): State<Arc<App>>,
    _: Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<CampaignWithPlans>> {
    let c = stored_campaign(&app, &id).await?;
    let plans = app.store.plans(&id).await?;
    let plans = plans.iter().map(PlanVersion::of).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(CampaignWithPlans { campaign: Campaign::from(&c), plans }))
}

/// Plans the campaign against the latest inventory and keeps the result as a new draft.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PlanQuery {
    /// Plan every target anew instead of keeping the published slots that still fit.
    #[serde(default)]
    fresh: bool,
}

/// Plan the campaign against the latest inventory: a new draft version. A published campaign
/// keeps the slots its contacts were told wherever they still fit (`?fresh=true` plans every
/// target anew).
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/plan",
    params(("id" = String, Path, description = "The campaign's id"), PlanQuery),
    responses(
        (status = 201, description = "The new plan version", body = Planned),
        BadRequest, Unauthorized, NotFound, Conflict, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn plan_campaign(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    Query(q): Query<PlanQuery>,
) -> ApiResult<(StatusCode, Json<Planned>)> {
    let p = actions::plan_campaign(&app, &actor, &id, q.fresh).await?;
    Ok((
        StatusCode::CREATED,
        Json(Planned { campaign: id, version: p.version, inventory_version: p.inventory_version, summary: p.summary }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// The plan version; the latest when absent.
    version: Option<i64>,
}

/// A plan file (DESIGN.md "Plan"), as planned.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{id}/plan",
    params(("id" = String, Path, description = "The campaign's id"), VersionQuery),
    responses(
        (status = 200, description = "The plan file: its slots, unscheduled targets and notes", body = Object),
        BadRequest, Unauthorized, NotFound,
    ),
    security(("bearer" = [])),
)]
async fn show_plan(
    State(app): State<Arc<App>>,
    _: Actor,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Response> {
    let p = stored_plan(&app, &id, q.version).await?;
    Ok(([(CONTENT_TYPE, "application/json")], p.json).into_response())
}

/// The plan versions with their summaries.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{id}/plans",
    params(("id" = String, Path, description = "The campaign's id")),
    responses(
        (status = 200, description = "The plan versions, oldest first", body = Vec<PlanVersion>),
        BadRequest, Unauthorized, NotFound,
    ),
    security(("bearer" = [])),
)]
async fn list_plans(
    State(app): State<Arc<App>>,
    _: Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<PlanVersion>>> {
    stored_campaign(&app, &id).await?;
    let plans = app.store.plans(&id).await?;
    Ok(Json(plans.iter().map(PlanVersion::of).collect::<ApiResult<Vec<_>>>()?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DiffQuery {
    /// The earlier plan version.
    from: i64,
    /// The later plan version; the latest when absent.
    to: Option<i64>,
}

/// What changed between plan versions `from` and `to` (the latest by default), target by target.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{id}/plan/diff",
    params(("id" = String, Path, description = "The campaign's id"), DiffQuery),
    responses(
        (status = 200, description = "Slots moved, no longer scheduled, newly scheduled", body = PlanDiff),
        BadRequest, Unauthorized, NotFound,
    ),
    security(("bearer" = [])),
)]
async fn diff_plans(
    State(app): State<Arc<App>>,
    _: Actor,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<Json<PlanDiff>> {
    let a = stored_plan(&app, &id, Some(q.from)).await?;
    let b = stored_plan(&app, &id, q.to).await?;
    Ok(Json(stored_diff(a, b).await?))
}

/// What changes from plan `a` to plan `b`, read and compared off the async workers.
pub(crate) async fn stored_diff(a: forewarn_store::StoredPlan, b: forewarn_store::StoredPlan) -> ApiResult<PlanDiff> {
    crate::actions::blocking(move || {
        let (pa, pb): (PlanFile, PlanFile) = (
            serde_json::from_str(&a.json).map_err(ApiError::internal)?,
            serde_json::from_str(&b.json).map_err(ApiError::internal)?,
        );
        Ok(plan_diff(&pa, &pb, a.version, b.version))
    })
    .await
}

/// What changes from plan version `from` (`a`) to `to` (`b`): slots moved, no longer scheduled, newly scheduled.
pub(crate) fn plan_diff(a: &PlanFile, b: &PlanFile, from: i64, to: i64) -> PlanDiff {
    let key = |s: &forewarn_planner::plan::SlotEntry<'_>| {
        s.machine.as_ref().or(s.host.as_ref()).map(|t| t.0.to_string()).unwrap_or_default()
    };
    let slots_a: HashMap<String, (&str, &str)> = a.slots.iter().map(|s| (key(s), (&*s.start.0, &*s.end.0))).collect();
    let slots_b: HashMap<String, (&str, &str)> = b.slots.iter().map(|s| (key(s), (&*s.start.0, &*s.end.0))).collect();
    let mut moved = Vec::new();
    let mut lost = Vec::new();
    let mut gained = Vec::new();
    for s in &a.slots {
        let k = key(s);
        match slots_b.get(&k) {
            Some(&(start, end)) if (start, end) != (&*s.start.0, &*s.end.0) => moved.push(MovedSlot {
                target: k,
                from: Span { start: s.start.0.to_string(), end: s.end.0.to_string() },
                to: Span { start: start.to_owned(), end: end.to_owned() },
            }),
            Some(_) => {}
            None => lost.push(SlotOfOne { target: k, start: s.start.0.to_string(), end: s.end.0.to_string() }),
        }
    }
    for s in &b.slots {
        let k = key(s);
        if !slots_a.contains_key(&k) {
            gained.push(SlotOfOne { target: k, start: s.start.0.to_string(), end: s.end.0.to_string() });
        }
    }
    moved.sort_by(|x, y| x.target.cmp(&y.target));
    lost.sort_by(|x, y| x.target.cmp(&y.target));
    gained.sort_by(|x, y| x.target.cmp(&y.target));
    PlanDiff { from, to, moved, no_longer_scheduled: lost, newly_scheduled: gained }
}

/// `{"version": N}`: the plan version to publish.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    /// The plan version to publish; the latest when absent.
    version: Option<i64>,
}

/// `?preview=true`: answer what the write would send, and write nothing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PreviewQuery {
    /// Answer the messages the write would send, and write nothing.
    #[serde(default)]
    preview: bool,
}

/// The messages a rehearsed write would send, as their readers would get them: recipient
/// (a webhook by its place in the configuration: its URL may hold a secret), subject, why,
/// and the text part (webhooks: their JSON body).
pub(crate) fn preview(config: &Config, messages: &[crate::tell::Shown]) -> Preview {
    let list: Vec<PreviewMessage> = messages
        .iter()
        .map(|m| {
            let text = match m.channel {
                forewarn_store::Channel::Email => forewarn_notify::read::text_parts(&m.payload)
                    .into_iter()
                    .find(|(kind, _)| kind == "text/plain")
                    .map(|(_, text)| text)
                    .unwrap_or_default(),
                forewarn_store::Channel::Webhook => m.payload.clone(),
            };
            PreviewMessage {
                channel: m.channel,
                recipient: config.shown_recipient(m.channel, &m.recipient),
                subject: m.subject.clone(),
                cause: m.cause.clone(),
                text,
            }
        })
        .collect();
    Preview { preview: true, written: false, count: list.len(), messages: list }
}

/// A published campaign, or what publishing would send.
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(untagged)]
enum PublishAnswer {
    Published(CampaignPublished),
    Preview(Preview),
}

/// Publish a plan version (`{"version": N}`, the latest by default) and its maintenance post,
/// in one transaction; `?preview=true` answers the messages it would send (recipient, subject,
/// text) and writes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/publish",
    params(("id" = String, Path, description = "The campaign's id"), PreviewQuery),
    request_body(content = Option<PublishBody>, content_type = "application/json",
        description = "Optional: the plan version (the latest when the body is empty)"),
    responses(
        (status = 200, description = "The published campaign with its post's id, or with `?preview=true` what it would send",
            body = PublishAnswer),
        BadRequest, Unauthorized, NotFound, Conflict, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn publish(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
    body: Bytes,
) -> ApiResult<Json<PublishAnswer>> {
    let req: PublishBody = if body.iter().all(u8::is_ascii_whitespace) {
        PublishBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("publish body: {e}")))?
    };
    if q.preview {
        let messages = actions::preview_publish(&app, &actor, &id, req.version).await?;
        return Ok(Json(PublishAnswer::Preview(preview(&app.config, &messages))));
    }
    let (c, post) = actions::publish(&app, &actor, &id, req.version).await?;
    Ok(Json(PublishAnswer::Published(CampaignPublished { campaign: Campaign::from(&c), post: post.id })))
}

/// Pause a published campaign (`{"reason": "..."}` optional: it goes into the post's update).
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/pause",
    params(("id" = String, Path, description = "The campaign's id")),
    request_body(content = Option<StateBody>, content_type = "application/json", description = "Optional: why"),
    responses(
        (status = 200, description = "The paused campaign", body = Campaign),
        BadRequest, Unauthorized, NotFound, Conflict, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn pause(s: State<Arc<App>>, a: Actor, p: Path<String>, body: Bytes) -> ApiResult<Json<Campaign>> {
    change_state(s, a, p, body, CampaignState::Paused).await
}

/// Resume a paused campaign (`{"reason": "..."}` optional: it goes into the post's update).
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/resume",
    params(("id" = String, Path, description = "The campaign's id")),
    request_body(content = Option<StateBody>, content_type = "application/json", description = "Optional: why"),
    responses(
        (status = 200, description = "The published campaign", body = Campaign),
        BadRequest, Unauthorized, NotFound, Conflict, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn resume(s: State<Arc<App>>, a: Actor, p: Path<String>, body: Bytes) -> ApiResult<Json<Campaign>> {
    change_state(s, a, p, body, CampaignState::Published).await
}

/// Cancel a campaign with `{"reason": "..."}` (required: 422 without it); its posts say so
/// with the reason, and its contacts' cancellation mail gives it.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/cancel",
    params(("id" = String, Path, description = "The campaign's id")),
    request_body(content = StateBody, content_type = "application/json", description = "Why (required)"),
    responses(
        (status = 200, description = "The cancelled campaign", body = Campaign),
        BadRequest, Unauthorized, NotFound, Conflict, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn cancel(s: State<Arc<App>>, a: Actor, p: Path<String>, body: Bytes) -> ApiResult<Json<Campaign>> {
    change_state(s, a, p, body, CampaignState::Cancelled).await
}

/// `{"reason": "..."}`: why a campaign is paused, resumed or cancelled.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StateBody {
    /// Goes into the update of the campaign's posts (and the cancellation mail).
    reason: Option<String>,
}

/// Moves a campaign to `state`; its maintenance posts get an update saying so, with the
/// reason (required to cancel).
async fn change_state(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    body: Bytes,
    state: CampaignState,
) -> ApiResult<Json<Campaign>> {
    let req: StateBody = if body.iter().all(u8::is_ascii_whitespace) {
        StateBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg);
            ApiError::unprocessable(format!("request body: {msg}; send {{\"reason\": \"...\"}}"))
        })?
    };
    let c = actions::change_state_because(&app, &actor, &id, state, req.reason.as_deref()).await?;
    Ok(Json(Campaign::from(&c)))
}

// ---------------------------------------------------------------------------
// Posts.

/// A new post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PostBody {
    #[schema(value_type = crate::schema::PostKindName)]
    kind: PostKind,
    title: String,
    /// Markdown.
    body: String,
    /// The kind's first state when absent.
    #[serde(default)]
    #[schema(value_type = Option<crate::schema::PostStateName>)]
    state: Option<PostState>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    starts: Option<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    ends: Option<Timestamp>,
    /// Ids of the affected components; each must exist.
    #[serde(default)]
    components: Vec<String>,
    /// The campaign it belongs to; it must exist.
    #[serde(default)]
    campaign: Option<String>,
    /// An incident's impact: none, minor (the default), major, critical (read as text, so
    /// that a wrong one is named with its field).
    #[serde(default)]
    #[schema(value_type = Option<crate::schema::ImpactName>)]
    impact: Option<String>,
    /// The id of the cancelled maintenance post this maintenance post replaces.
    #[serde(default)]
    replaces: Option<i64>,
}

/// JSON bodies with errors that say which field and what was expected.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> ApiResult<T> {
    if body_format(headers).ok() != Some("json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON with `Content-Type: application/json`",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg);
        ApiError::unprocessable(format!("request body: {msg}"))
    })
}

/// Create a post (`impact` of an incident: none, minor (its default), major, critical;
/// `replaces`: the id of the cancelled maintenance post a maintenance post replaces).
#[utoipa::path(
    post,
    path = "/api/v1/posts",
    request_body = PostBody,
    responses(
        (status = 201, description = "The new post", body = PostJson),
        BadRequest, Unauthorized, NotFound, Conflict, UnsupportedMediaType, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn create_post(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<PostJson>)> {
    let b: PostBody = json_body(&headers, &body)?;
    let impact = b
        .impact
        .map(|i| i.parse::<forewarn_status::Impact>().map_err(|e| ApiError::unprocessable(format!("`impact`: {e}"))))
        .transpose()?;
    let post = actions::create_post(
        &app,
        &actor,
        NewPost {
            kind: b.kind,
            state: b.state,
            title: b.title,
            body: b.body,
            starts: b.starts,
            ends: b.ends,
            components: b.components,
            campaign: b.campaign,
            impact,
            replaces: b.replaces,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(PostJson::from(post))))
}

/// Every post, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/posts",
    responses((status = 200, description = "Every post", body = Vec<PostJson>)),
)]
async fn list_posts(State(app): State<Arc<App>>) -> ApiResult<Json<Vec<PostJson>>> {
    let posts = app.store.posts().await?;
    Ok(Json(posts.into_iter().map(PostJson::from).collect()))
}

fn post_id(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| ApiError::not_found(format!("no post `{id}`")))
}

/// A post with its updates and corrections.
#[utoipa::path(
    get,
    path = "/api/v1/posts/{id}",
    params(("id" = i64, Path, description = "The post's number")),
    responses(
        (status = 200, description = "The post", body = PostWithTimeline),
        BadRequest, NotFound,
    ),
)]
async fn show_post(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult<Json<PostWithTimeline>> {
    let id = post_id(&id)?;
    let post = actions::post(&app, id).await?;
    let updates = app.store.updates(id).await?.into_iter().map(UpdateJson::from).collect();
    let revisions = app.store.revisions(id).await?.into_iter().map(RevisionJson::from).collect();
    Ok(Json(PostWithTimeline { post: PostJson::from(post), updates, revisions }))
}

/// An entry for a post's timeline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    /// Markdown.
    body: String,
    /// The state the post moves to, if it moves.
    #[serde(default)]
    #[schema(value_type = Option<crate::schema::PostStateName>)]
    state: Option<PostState>,
}

/// Append an update to a post's timeline (`body`, optional new `state`).
#[utoipa::path(
    post,
    path = "/api/v1/posts/{id}/updates",
    params(("id" = i64, Path, description = "The post's number")),
    request_body = UpdateBody,
    responses(
        (status = 201, description = "The new update", body = UpdateJson),
        BadRequest, Unauthorized, NotFound, Conflict, UnsupportedMediaType, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn add_update(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<UpdateJson>)> {
    let id = post_id(&id)?;
    let b: UpdateBody = json_body(&headers, &body)?;
    let update = actions::add_update(&app, &actor, id, b.state, &b.body).await?;
    Ok((StatusCode::CREATED, Json(UpdateJson::from(update))))
}

/// A correction of a post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CorrectionBody {
    /// Why: shown with the correction.
    note: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    starts: Option<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    ends: Option<Timestamp>,
}

/// Correct a post (`note` says why; `title`, `body`, `starts`, `ends` as corrected); the
/// earlier text stays visible.
#[utoipa::path(
    patch,
    path = "/api/v1/posts/{id}",
    params(("id" = i64, Path, description = "The post's number")),
    request_body = CorrectionBody,
    responses(
        (status = 200, description = "The corrected post", body = PostJson),
        BadRequest, Unauthorized, NotFound, Conflict, UnsupportedMediaType, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn correct_post(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<PostJson>> {
    let id = post_id(&id)?;
    let b: CorrectionBody = json_body(&headers, &body)?;
    let correction = Correction { title: b.title, body: b.body, starts: b.starts, ends: b.ends };
    let post = actions::correct_post(&app, &actor, id, &b.note, correction).await?;
    Ok(Json(PostJson::from(post)))
}

// ---------------------------------------------------------------------------
// Components.

/// Every component with its status at this moment.
async fn components_json(app: &App) -> ApiResult<Vec<ComponentJson>> {
    let (components, posts) = (app.store.components().await?, app.store.posts().await?);
    let now = app.now();
    let shown = forewarn_status::status::effective(&components, &posts, now);
    Ok(components
        .iter()
        .zip(&shown)
        .map(|(m, s)| ComponentJson::of(m, s, forewarn_status::status::derived(&m.id, &posts, now)))
        .collect())
}

/// The platform's components: `status` as the status page shows it, the worse of
/// `manual_status` (set by hand) and `derived_status` (from open incidents by their impact and
/// maintenance in progress).
#[utoipa::path(
    get,
    path = "/api/v1/components",
    responses((status = 200, description = "Every component", body = Vec<ComponentJson>)),
)]
async fn list_components(State(app): State<Arc<App>>) -> ApiResult<Json<Vec<ComponentJson>>> {
    Ok(Json(components_json(&app).await?))
}

/// `{"status": "degraded"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ComponentStatusBody {
    /// Read as text, so that a wrong one is named with its field.
    #[schema(value_type = crate::schema::ComponentStatusName)]
    status: String,
}

/// Set a component's status by hand (operational, maintenance, degraded, partial_outage,
/// major_outage); the page shows the worse of it and what posts make of the component.
#[utoipa::path(
    patch,
    path = "/api/v1/components/{id}",
    params(("id" = String, Path, description = "The component's id (`platform`, `rack-a1`, a device's id)")),
    request_body = ComponentStatusBody,
    responses(
        (status = 200, description = "The component", body = ComponentJson),
        BadRequest, Unauthorized, NotFound, UnsupportedMediaType, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn set_component_status(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ComponentJson>> {
    let b: ComponentStatusBody = json_body(&headers, &body)?;
    let status: ComponentStatus = b.status.parse().map_err(|e| ApiError::unprocessable(format!("`status`: {e}")))?;
    let c = actions::set_component_status(&app, &actor, &id, status).await?;
    let all = components_json(&app).await?;
    all.into_iter().find(|v| v.id == c.id).map(Json).ok_or_else(|| ApiError::not_found(format!("no component `{id}`")))
}

// ---------------------------------------------------------------------------
// Slots as contacts know them, and moving one.

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SlotsQuery {
    /// Only the targets of this customer (its id).
    customer: Option<String>,
    /// `csv` for CSV (as `Accept: text/csv`), `json` (the default) for JSON.
    format: Option<String>,
}

/// The slots of a published campaign as its contacts were told them (SEQUENCE, cancelled,
/// reminded), and `table`: every target of the published plan with customer, project, host,
/// tier and state, the unscheduled ones with their reason (`?customer=ID` filters;
/// `?format=csv` or `Accept: text/csv` for CSV).
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{id}/slots",
    params(("id" = String, Path, description = "The campaign's id"), SlotsQuery),
    responses(
        (status = 200, description = "The slots", content(
            (Slots = "application/json"),
            (String = "text/csv"),
        )),
        BadRequest, Unauthorized, NotFound, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn list_slots(
    State(app): State<Arc<App>>,
    _: Actor,
    Path(id): Path<String>,
    Query(q): Query<SlotsQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let csv = match q.format.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) if f.eq_ignore_ascii_case("csv") => true,
        Some(f) if f.eq_ignore_ascii_case("json") => false,
        Some(f) => return Err(ApiError::bad_request(format!("`format`: `{f}` is not a format: use `csv` or `json`"))),
        None => headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.split(',').any(|t| t.split(';').next().unwrap_or("").trim() == "text/csv")),
    };
    let table = actions::slot_table(&app, &id, q.customer.as_deref()).await?;
    if csv {
        let name = match q.customer.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => format!("{id}-{c}-slots.csv"),
            None => format!("{id}-slots.csv"),
        };
        let name: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        return Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8; header=present".to_owned()),
                (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            actions::slot_csv(&table.rows),
        )
            .into_response());
    }
    let slots = actions::slots(&app, &id).await?;
    Ok(Json(Slots {
        campaign: id,
        plan_version: table.plan_version,
        inventory_version: table.inventory_version,
        slots: slots.iter().map(SlotNoticeJson::from).collect(),
        table: table.rows,
    })
    .into_response())
}

/// `{"start": RFC 3339}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    /// The slot's new start.
    #[schema(value_type = String, format = DateTime, example = "2027-03-02T22:00:00Z")]
    start: Timestamp,
}

/// The moved slot, or what moving it would send.
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(untagged)]
enum MoveAnswer {
    Moved(SlotMoved),
    Preview(Preview),
}

/// Move one slot, or place a target the planner left without one (`?preview=true` answers the
/// messages it would send and writes nothing): checked against every constraint (422 names the
/// broken ones), published as a new plan version, and its contacts told.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns/{id}/slots/{target}",
    params(
        ("id" = String, Path, description = "The campaign's id"),
        ("target" = String, Path, description = "The target: a machine's id, or a host's in host campaigns"),
        PreviewQuery,
    ),
    request_body(content = MoveBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The slot as its contacts are now told it, or with `?preview=true` what moving it would send",
            body = MoveAnswer),
        BadRequest, Unauthorized, NotFound, Conflict, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn move_slot(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path((id, target)): Path<(String, String)>,
    Query(q): Query<PreviewQuery>,
    body: Bytes,
) -> ApiResult<Json<MoveAnswer>> {
    let req: MoveBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("move body: {e}; send {{\"start\": \"2027-03-02T22:00:00Z\"}} (RFC 3339)"))
    })?;
    if q.preview {
        let messages = actions::preview_move_slot(&app, &actor, &id, &target, req.start).await?;
        return Ok(Json(MoveAnswer::Preview(preview(&app.config, &messages))));
    }
    let (c, notice, version) = actions::move_slot(&app, &actor, &id, &target, req.start).await?;
    Ok(Json(MoveAnswer::Moved(SlotMoved {
        slot: SlotNoticeJson::from(&notice),
        campaign: c.id,
        plan_version: version,
    })))
}

// ---------------------------------------------------------------------------
// API tokens.

/// Every API token (never its hash): id, name, created, by whom, revoked.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    responses((status = 200, description = "Every token", body = Tokens), Unauthorized),
    security(("bearer" = [])),
)]
async fn list_tokens(State(app): State<Arc<App>>, _: Actor) -> ApiResult<Json<Tokens>> {
    let all = app.store.tokens().await?;
    Ok(Json(Tokens { tokens: all.iter().map(TokenJson::from).collect() }))
}

/// Revoke an API token: refused (401) from its next request on.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    params(("id" = i64, Path, description = "The token's number (`GET /api/v1/tokens`)")),
    responses(
        (status = 200, description = "The revoked token", body = TokenJson),
        BadRequest, Unauthorized, NotFound, Conflict,
    ),
    security(("bearer" = [])),
)]
async fn revoke_token(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenJson>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("no token `{id}`: tokens have numbers (GET /api/v1/tokens)")))?;
    let t = app.store.revoke_token(app.now(), &actor, id).await?;
    Ok(Json(TokenJson::from(&t)))
}

// ---------------------------------------------------------------------------
// The outbox.

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OutboxQuery {
    /// Only messages in this state: pending, sent or dead.
    #[param(value_type = Option<crate::schema::MessageStateName>)]
    state: Option<String>,
    /// At most this many (1000 by default, at most 100000).
    limit: Option<u32>,
    /// Only messages with a smaller id (the next page).
    before: Option<i64>,
}

/// Messages (mail and webhook events), newest first, with counts by state.
#[utoipa::path(
    get,
    path = "/api/v1/outbox",
    params(OutboxQuery),
    responses((status = 200, description = "The messages", body = Outbox), BadRequest, Unauthorized),
    security(("bearer" = [])),
)]
async fn list_outbox(State(app): State<Arc<App>>, _: Actor, Query(q): Query<OutboxQuery>) -> ApiResult<Json<Outbox>> {
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(MessageState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("`state`: `{s}` is not a message state (pending, sent or dead)"))
        })?),
    };
    let messages = app.store.messages(state, q.limit.unwrap_or(1000).clamp(1, 100_000), q.before).await?;
    let counts = app.store.outbox_counts().await?;
    Ok(Json(Outbox {
        counts: counts.into(),
        messages: messages.iter().map(|m| MessageJson::of(&app.config, m, false)).collect(),
    }))
}

/// One message, with its whole text as sent (`payload`).
#[utoipa::path(
    get,
    path = "/api/v1/outbox/{id}",
    params(("id" = i64, Path, description = "The message's number")),
    responses((status = 200, description = "The message", body = MessageJson), BadRequest, Unauthorized, NotFound),
    security(("bearer" = [])),
)]
async fn show_message(State(app): State<Arc<App>>, _: Actor, Path(id): Path<i64>) -> ApiResult<Json<MessageJson>> {
    let m = app.message(id).await?.ok_or_else(|| ApiError::not_found(format!("no message {id}")))?;
    Ok(Json(MessageJson::of(&app.config, &m, true)))
}

/// Send a dead message again.
#[utoipa::path(
    post,
    path = "/api/v1/outbox/{id}/retry",
    params(("id" = i64, Path, description = "The message's number")),
    responses(
        (status = 200, description = "The message, pending again", body = MessageJson),
        BadRequest, Unauthorized, NotFound, Conflict, Unprocessable,
    ),
    security(("bearer" = [])),
)]
async fn retry_message(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<i64>,
) -> ApiResult<Json<MessageJson>> {
    let m = actions::retry_message(&app, &actor, id).await?;
    Ok(Json(MessageJson::of(&app.config, &m, false)))
}

/// Who subscribed to the status page by email (confirmed or not).
#[utoipa::path(
    get,
    path = "/api/v1/subscribers",
    responses((status = 200, description = "Every subscriber", body = Subscribers), Unauthorized),
    security(("bearer" = [])),
)]
async fn list_subscribers(State(app): State<Arc<App>>, _: Actor) -> ApiResult<Json<Subscribers>> {
    let all = app.store.subscribers().await?;
    Ok(Json(Subscribers { subscribers: all.into_iter().map(SubscriberJson::from).collect() }))
}
