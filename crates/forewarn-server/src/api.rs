//! The JSON API under `/api/v1`: inventory, campaigns and their plans, posts. Writes need an
//! API token; reading posts does not (they are public anyway). Invalid input gets 4xx with
//! the same messages as the CLI and changes nothing. What a write does and checks is in
//! [`crate::actions`], shared with the admin pages; this module reads JSON and answers JSON.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use forewarn_planner::PlanFile;
use forewarn_status::{Component, ComponentStatus, PostKind, PostState};
use forewarn_store::{
    CampaignState, Correction, MessageState, NewPost, PlanSummary, SlotChange, SlotNotice, StoredCampaign, Token,
};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::App;
use crate::actions::{self, no_inventory, stored_campaign, stored_plan};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};

pub use crate::actions::components_of;

/// Inventories of a million machines are 200 MB of JSON.
const INVENTORY_LIMIT: usize = 512 << 20;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/api/v1/inventory",
            post(import_inventory).get(show_inventory).layer(DefaultBodyLimit::max(INVENTORY_LIMIT)),
        )
        .route("/api/v1/campaigns", post(create_campaign).get(list_campaigns))
        .route("/api/v1/campaigns/{id}", get(show_campaign).put(edit_campaign))
        .route("/api/v1/campaigns/{id}/plan", post(plan_campaign).get(show_plan))
        .route("/api/v1/campaigns/{id}/plans", get(list_plans))
        .route("/api/v1/campaigns/{id}/plan/diff", get(diff_plans))
        .route("/api/v1/campaigns/{id}/publish", post(publish))
        .route("/api/v1/campaigns/{id}/pause", post(pause))
        .route("/api/v1/campaigns/{id}/resume", post(resume))
        .route("/api/v1/campaigns/{id}/cancel", post(cancel))
        .route("/api/v1/campaigns/{id}/slots", get(list_slots))
        .route("/api/v1/campaigns/{id}/slots/{target}", post(move_slot))
        .route("/api/v1/outbox", get(list_outbox))
        .route("/api/v1/outbox/{id}", get(show_message))
        .route("/api/v1/outbox/{id}/retry", post(retry_message))
        .route("/api/v1/subscribers", get(list_subscribers))
        .route("/api/v1/posts", post(create_post).get(list_posts))
        .route("/api/v1/posts/{id}", get(show_post).patch(correct_post))
        .route("/api/v1/posts/{id}/updates", post(add_update))
        .route("/api/v1/components", get(list_components))
        .route("/api/v1/components/{id}", axum::routing::patch(set_component_status))
        .route("/api/v1/tokens", get(list_tokens))
        .route("/api/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
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
#[derive(Debug, Default, Deserialize)]
struct FileQuery {
    file: Option<String>,
}

async fn import_inventory(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let format = body_format(&headers)?;
    let name = actions::file_name(q.file.as_deref(), format, "inventory")?;
    let text = utf8(&body)?.to_owned();
    let (version, summary) = actions::import_inventory_as(&app, &actor, format, &name, text).await?;
    Ok((StatusCode::CREATED, Json(json!({ "version": version, "summary": summary }))).into_response())
}

async fn show_inventory(State(app): State<Arc<App>>, _: Actor) -> ApiResult<Json<Value>> {
    let inv = app.store.inventory(None).await?.ok_or_else(no_inventory)?;
    Ok(Json(json!({
        "version": inv.version,
        "imported": inv.at,
        "by": inv.actor,
        "format": inv.format,
        "summary": inv.summary,
    })))
}

// ---------------------------------------------------------------------------
// Campaigns.

fn campaign_json(c: &StoredCampaign) -> Value {
    json!({
        "id": c.id,
        "title": c.title,
        "state": c.state.as_str(),
        "inventory_version": c.inventory_version,
        "published_plan": c.published_plan,
        "created": c.created,
        "updated": c.updated,
    })
}

async fn create_campaign(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let format = body_format(&headers)?;
    let name = actions::file_name(q.file.as_deref(), format, "campaign")?;
    let stored = actions::create_campaign_as(&app, &actor, &name, utf8(&body)?).await?;
    Ok((StatusCode::CREATED, Json(campaign_json(&stored))).into_response())
}

/// A draft's new file (its id unchanged); a published campaign is planned again instead.
async fn edit_campaign(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let format = body_format(&headers)?;
    let name = actions::file_name(q.file.as_deref(), format, "campaign")?;
    let stored = actions::edit_campaign(&app, &actor, &id, &name, utf8(&body)?).await?;
    Ok(Json(campaign_json(&stored)))
}

async fn list_campaigns(State(app): State<Arc<App>>, _: Actor) -> ApiResult<Json<Value>> {
    let all = app.store.campaigns().await?;
    Ok(Json(Value::Array(all.iter().map(campaign_json).collect())))
}

async fn show_campaign(State(app): State<Arc<App>>, _: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let c = stored_campaign(&app, &id).await?;
    let plans = app.store.plans(&id).await?;
    let mut v = campaign_json(&c);
    v["plans"] = Value::Array(plans.iter().map(plan_summary_json).collect());
    Ok(Json(v))
}

fn plan_summary_json(p: &PlanSummary) -> Value {
    json!({ "version": p.version, "created": p.created, "inventory_version": p.inventory_version, "summary": p.summary })
}

/// Plans the campaign against the latest inventory and keeps the result as a new draft.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanQuery {
    /// Plan every target anew instead of keeping the published slots that still fit.
    #[serde(default)]
    fresh: bool,
}

async fn plan_campaign(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    Query(q): Query<PlanQuery>,
) -> ApiResult<Response> {
    let p = actions::plan_campaign(&app, &actor, &id, q.fresh).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "campaign": id, "version": p.version, "inventory_version": p.inventory_version, "summary": p.summary })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct VersionQuery {
    version: Option<i64>,
}

/// The plan file (DESIGN.md "Plan"), as planned.
async fn show_plan(
    State(app): State<Arc<App>>,
    _: Actor,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Response> {
    let p = stored_plan(&app, &id, q.version).await?;
    Ok(([(CONTENT_TYPE, "application/json")], p.json).into_response())
}

async fn list_plans(State(app): State<Arc<App>>, _: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    stored_campaign(&app, &id).await?;
    let plans = app.store.plans(&id).await?;
    Ok(Json(Value::Array(plans.iter().map(plan_summary_json).collect())))
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    from: i64,
    to: Option<i64>,
}

/// What changed between two plan versions, target by target.
async fn diff_plans(
    State(app): State<Arc<App>>,
    _: Actor,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<Json<Value>> {
    let a = stored_plan(&app, &id, Some(q.from)).await?;
    let b = stored_plan(&app, &id, q.to).await?;
    let (pa, pb): (PlanFile, PlanFile) = (
        serde_json::from_str(&a.json).map_err(ApiError::internal)?,
        serde_json::from_str(&b.json).map_err(ApiError::internal)?,
    );
    Ok(Json(diff(&pa, &pb, a.version, b.version)))
}

/// What changes from plan version `from` (`a`) to `to` (`b`): slots moved, no longer scheduled, newly scheduled.
pub(crate) fn diff(a: &PlanFile, b: &PlanFile, from: i64, to: i64) -> Value {
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
            Some(&(start, end)) if (start, end) != (&*s.start.0, &*s.end.0) => moved.push(json!({
                "target": k,
                "from": { "start": &*s.start.0, "end": &*s.end.0 },
                "to": { "start": start, "end": end },
            })),
            Some(_) => {}
            None => lost.push(json!({ "target": k, "start": &*s.start.0, "end": &*s.end.0 })),
        }
    }
    for s in &b.slots {
        let k = key(s);
        if !slots_a.contains_key(&k) {
            gained.push(json!({ "target": k, "start": &*s.start.0, "end": &*s.end.0 }));
        }
    }
    moved.sort_by(|x, y| x["target"].as_str().cmp(&y["target"].as_str()));
    lost.sort_by(|x, y| x["target"].as_str().cmp(&y["target"].as_str()));
    gained.sort_by(|x, y| x["target"].as_str().cmp(&y["target"].as_str()));
    json!({ "from": from, "to": to, "moved": moved, "no_longer_scheduled": lost, "newly_scheduled": gained })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    /// The plan version to publish; the latest when absent.
    version: Option<i64>,
}

/// Publishes a plan version: the campaign becomes published and its maintenance post, rendered
/// from the plan, appears on the status page, in one transaction.
/// `?preview=true`: answer what the write would send, and write nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewQuery {
    #[serde(default)]
    preview: bool,
}

/// The messages a rehearsed write would send, as their readers would get them: recipient,
/// subject, why, and the text part (webhooks: their JSON body).
pub fn preview_json(messages: &[forewarn_store::NewMessage]) -> Value {
    let list: Vec<Value> = messages
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
            json!({
                "channel": m.channel.as_str(),
                "recipient": m.recipient,
                "subject": m.subject,
                "cause": m.cause,
                "text": text,
            })
        })
        .collect();
    json!({ "preview": true, "written": false, "count": list.len(), "messages": list })
}

async fn publish(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: PublishBody = if body.iter().all(u8::is_ascii_whitespace) {
        PublishBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("publish body: {e}")))?
    };
    if q.preview {
        let messages = actions::preview_publish(&app, &actor, &id, req.version).await?;
        return Ok(Json(preview_json(&messages)).into_response());
    }
    let (c, post) = actions::publish(&app, &actor, &id, req.version).await?;
    let mut v = campaign_json(&c);
    v["post"] = json!(post.id);
    Ok(Json(v).into_response())
}

async fn pause(s: State<Arc<App>>, a: Actor, p: Path<String>, body: Bytes) -> ApiResult<Json<Value>> {
    change_state(s, a, p, body, CampaignState::Paused).await
}

async fn resume(s: State<Arc<App>>, a: Actor, p: Path<String>, body: Bytes) -> ApiResult<Json<Value>> {
    change_state(s, a, p, body, CampaignState::Published).await
}

async fn cancel(s: State<Arc<App>>, a: Actor, p: Path<String>, body: Bytes) -> ApiResult<Json<Value>> {
    change_state(s, a, p, body, CampaignState::Cancelled).await
}

/// `{"reason": "..."}`: why a campaign is paused, resumed or cancelled.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
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
) -> ApiResult<Json<Value>> {
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
    Ok(Json(campaign_json(&c)))
}

// ---------------------------------------------------------------------------
// Posts.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostBody {
    kind: PostKind,
    title: String,
    body: String,
    #[serde(default)]
    state: Option<PostState>,
    #[serde(default)]
    starts: Option<Timestamp>,
    #[serde(default)]
    ends: Option<Timestamp>,
    #[serde(default)]
    components: Vec<String>,
    #[serde(default)]
    campaign: Option<String>,
    /// An incident's impact: none, minor (the default), major, critical (read as text, so
    /// that a wrong one is named with its field).
    #[serde(default)]
    impact: Option<String>,
    /// The cancelled maintenance post this one replaces.
    #[serde(default)]
    replaces: Option<i64>,
}

/// JSON bodies with errors that say which field and what was expected.
fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> ApiResult<T> {
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

async fn create_post(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
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
    Ok((StatusCode::CREATED, Json(serde_json::to_value(&post).map_err(ApiError::internal)?)).into_response())
}

async fn list_posts(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let posts = app.store.posts().await?;
    Ok(Json(serde_json::to_value(&posts).map_err(ApiError::internal)?))
}

fn post_id(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| ApiError::not_found(format!("no post `{id}`")))
}

async fn show_post(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = post_id(&id)?;
    let post = actions::post(&app, id).await?;
    let mut v = serde_json::to_value(&post).map_err(ApiError::internal)?;
    v["updates"] = serde_json::to_value(app.store.updates(id).await?).map_err(ApiError::internal)?;
    v["revisions"] = serde_json::to_value(app.store.revisions(id).await?).map_err(ApiError::internal)?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    body: String,
    #[serde(default)]
    state: Option<PostState>,
}

async fn add_update(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = post_id(&id)?;
    let b: UpdateBody = json_body(&headers, &body)?;
    let update = actions::add_update(&app, &actor, id, b.state, &b.body).await?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(&update).map_err(ApiError::internal)?)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionBody {
    /// Why: shown with the correction.
    note: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    starts: Option<Timestamp>,
    #[serde(default)]
    ends: Option<Timestamp>,
}

/// A correction: the post changes, its earlier text stays visible with the note.
async fn correct_post(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = post_id(&id)?;
    let b: CorrectionBody = json_body(&headers, &body)?;
    let correction = Correction { title: b.title, body: b.body, starts: b.starts, ends: b.ends };
    let post = actions::correct_post(&app, &actor, id, &b.note, correction).await?;
    Ok(Json(serde_json::to_value(&post).map_err(ApiError::internal)?))
}

// ---------------------------------------------------------------------------
// Components.

/// A component as the API shows it: `status` as the page shows it now, the worse of
/// `manual_status` (set by hand, stored) and `derived_status` (what open incidents and
/// maintenance in progress make of it).
fn component_json(manual: &Component, shown: &Component, derived: ComponentStatus) -> Value {
    json!({
        "id": manual.id,
        "name": manual.name,
        "kind": manual.kind,
        "status": shown.status,
        "manual_status": manual.status,
        "derived_status": derived,
    })
}

/// Every component with its status at this moment.
async fn components_json(app: &App) -> ApiResult<Vec<Value>> {
    let (components, posts) = (app.store.components().await?, app.store.posts().await?);
    let now = app.now();
    let shown = forewarn_status::status::effective(&components, &posts, now);
    Ok(components
        .iter()
        .zip(&shown)
        .map(|(m, s)| component_json(m, s, forewarn_status::status::derived(&m.id, &posts, now)))
        .collect())
}

async fn list_components(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    Ok(Json(Value::Array(components_json(&app).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentStatusBody {
    /// Read as text, so that a wrong one is named with its field.
    status: String,
}

/// A component's status on the status page (`operational`, `maintenance`, `degraded`,
/// `partial_outage`, `major_outage`).
async fn set_component_status(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let b: ComponentStatusBody = json_body(&headers, &body)?;
    let status: ComponentStatus = b.status.parse().map_err(|e| ApiError::unprocessable(format!("`status`: {e}")))?;
    let c = actions::set_component_status(&app, &actor, &id, status).await?;
    let all = components_json(&app).await?;
    all.into_iter()
        .find(|v| v["id"] == c.id.as_str())
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no component `{id}`")))
}

// ---------------------------------------------------------------------------
// Slots as contacts know them, and moving one.

fn notice_json(n: &SlotNotice) -> Value {
    json!({
        "target": n.target,
        "start": n.start,
        "end": n.end,
        "sequence": n.sequence,
        "cancelled": n.change == SlotChange::Cancelled,
        "reminded": n.reminded,
    })
}

#[derive(Debug, Default, Deserialize)]
struct SlotsQuery {
    /// Only this customer's targets.
    customer: Option<String>,
    /// `csv` for CSV (as `Accept: text/csv`), else JSON.
    format: Option<String>,
}

/// The slots as their contacts were told them (`slots`), and every target of the published
/// plan with its customer, project, host and tier, the unscheduled ones too (`table`); as
/// CSV with `?format=csv` or `Accept: text/csv`.
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
    Ok(Json(json!({
        "campaign": id,
        "plan_version": table.plan_version,
        "inventory_version": table.inventory_version,
        "slots": slots.iter().map(notice_json).collect::<Vec<_>>(),
        "table": table.rows,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    start: Timestamp,
}

async fn move_slot(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path((id, target)): Path<(String, String)>,
    Query(q): Query<PreviewQuery>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: MoveBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("move body: {e}; send {{\"start\": \"2027-03-02T22:00:00Z\"}} (RFC 3339)"))
    })?;
    if q.preview {
        return Ok(Json(preview_json(&actions::preview_move_slot(&app, &actor, &id, &target, req.start).await?)));
    }
    let (c, notice, version) = actions::move_slot(&app, &actor, &id, &target, req.start).await?;
    let mut v = notice_json(&notice);
    v["campaign"] = json!(c.id);
    v["plan_version"] = json!(version);
    Ok(Json(v))
}

// ---------------------------------------------------------------------------
// API tokens.

/// A token without its hash.
pub fn token_json(t: &Token) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "created": t.created,
        "created_by": t.by,
        "revoked": t.revoked,
        "revoked_by": t.revoked_by,
    })
}

async fn list_tokens(State(app): State<Arc<App>>, _: Actor) -> ApiResult<Json<Value>> {
    let all = app.store.tokens().await?;
    Ok(Json(json!({ "tokens": all.iter().map(token_json).collect::<Vec<_>>() })))
}

/// Revokes a token: from the next request on it is refused (401).
async fn revoke_token(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("no token `{id}`: tokens have numbers (GET /api/v1/tokens)")))?;
    let t = app.store.revoke_token(app.now(), &actor, id).await?;
    Ok(Json(token_json(&t)))
}

// ---------------------------------------------------------------------------
// The outbox.

#[derive(Debug, Deserialize)]
struct OutboxQuery {
    state: Option<String>,
    limit: Option<u32>,
    before: Option<i64>,
}

async fn list_outbox(State(app): State<Arc<App>>, _: Actor, Query(q): Query<OutboxQuery>) -> ApiResult<Json<Value>> {
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(MessageState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("`state`: `{s}` is not a message state (pending, sent or dead)"))
        })?),
    };
    let messages = app.store.messages(state, q.limit.unwrap_or(1000).clamp(1, 100_000), q.before).await?;
    let counts = app.store.outbox_counts().await?;
    Ok(Json(json!({
        "counts": counts,
        "messages": messages.iter().map(crate::admin::mail::summary).collect::<Vec<_>>(),
    })))
}

async fn show_message(State(app): State<Arc<App>>, _: Actor, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    let m = app.store.message(id).await?.ok_or_else(|| ApiError::not_found(format!("no message {id}")))?;
    let mut v = crate::admin::mail::summary(&m);
    v["payload"] = json!(m.payload);
    Ok(Json(v))
}

async fn retry_message(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let m = actions::retry_message(&app, &actor, id).await?;
    Ok(Json(crate::admin::mail::summary(&m)))
}

async fn list_subscribers(State(app): State<Arc<App>>, _: Actor) -> ApiResult<Json<Value>> {
    let all = app.store.subscribers().await?;
    Ok(Json(json!({ "subscribers": all })))
}
