//! The JSON API under `/api/v1`: inventory, campaigns and their plans, posts. Writes need an
//! API token; reading posts does not (they are public anyway). Invalid input gets 4xx with
//! the same messages as the CLI and changes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use forewarn_model::{Campaign, Inventory, parse_campaign, parse_inventory};
use forewarn_planner::PlanFile;
use forewarn_status::{Component, ComponentKind, ComponentStatus, PostKind, PostState};
use forewarn_store::{CampaignState, Correction, NewCampaign, NewPost, PlanSummary, StoredCampaign, StoredPlan};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::App;
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};

/// Inventories of a million machines are 200 MB of JSON.
const INVENTORY_LIMIT: usize = 512 << 20;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/api/v1/inventory",
            post(import_inventory).get(show_inventory).layer(DefaultBodyLimit::max(INVENTORY_LIMIT)),
        )
        .route("/api/v1/campaigns", post(create_campaign).get(list_campaigns))
        .route("/api/v1/campaigns/{id}", get(show_campaign))
        .route("/api/v1/campaigns/{id}/plan", post(plan_campaign).get(show_plan))
        .route("/api/v1/campaigns/{id}/plans", get(list_plans))
        .route("/api/v1/campaigns/{id}/plan/diff", get(diff_plans))
        .route("/api/v1/campaigns/{id}/publish", post(publish))
        .route("/api/v1/campaigns/{id}/pause", post(pause))
        .route("/api/v1/campaigns/{id}/resume", post(resume))
        .route("/api/v1/campaigns/{id}/cancel", post(cancel))
        .route("/api/v1/posts", post(create_post).get(list_posts))
        .route("/api/v1/posts/{id}", get(show_post).patch(correct_post))
        .route("/api/v1/posts/{id}/updates", post(add_update))
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

async fn import_inventory(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let format = body_format(&headers)?;
    let text = utf8(&body)?.to_owned();
    let name = format!("inventory.{format}");
    let (inv, text) =
        tokio::task::spawn_blocking(move || (parse_inventory(&name, &text), text)).await.map_err(ApiError::internal)?;
    let inv = inv.map_err(|d| ApiError::diagnostics("inventory", d))?;
    let summary = summary_json(&inv);
    let version = app.store.import_inventory(app.now(), &actor, format, &text, &summary).await?;
    add_components(&app, &actor, &inv).await?;
    app.remember_inventory(version, Arc::new(inv));
    Ok((StatusCode::CREATED, Json(json!({ "version": version, "summary": summary }))).into_response())
}

/// The components an inventory names: the platform, its racks and its network devices. New ones
/// start operational; known ones keep their status.
pub fn components_of(inv: &Inventory) -> Vec<Component> {
    let mut out = vec![Component {
        id: "platform".to_owned(),
        name: inv.platform.name.clone(),
        kind: ComponentKind::Service,
        status: ComponentStatus::Operational,
    }];
    let mut racks: Vec<&str> = inv.hosts.iter().map(|h| h.rack.as_str()).collect();
    racks.sort_unstable();
    racks.dedup();
    out.extend(racks.into_iter().map(|r| Component {
        id: format!("rack-{r}"),
        name: format!("Rack {r}"),
        kind: ComponentKind::Rack,
        status: ComponentStatus::Operational,
    }));
    out.extend(inv.devices.iter().map(|d| Component {
        id: d.id.clone(),
        name: format!(
            "{} {}",
            if d.kind == forewarn_model::inventory::DeviceKind::Router { "Router" } else { "Switch" },
            d.id
        ),
        kind: ComponentKind::Device,
        status: ComponentStatus::Operational,
    }));
    out
}

async fn add_components(app: &App, actor: &str, inv: &Inventory) -> ApiResult<()> {
    let known: std::collections::HashSet<String> = app.store.components().await?.into_iter().map(|c| c.id).collect();
    for c in components_of(inv).into_iter().filter(|c| !known.contains(&c.id)) {
        app.store.upsert_component(app.now(), actor, &c).await?;
    }
    Ok(())
}

/// Posts name only components that exist.
async fn check_components(app: &App, ids: &[String]) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let known: Vec<String> = app.store.components().await?.into_iter().map(|c| c.id).collect();
    let unknown: Vec<&str> = ids.iter().filter(|id| !known.contains(id)).map(String::as_str).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(ApiError::unprocessable(format!(
        "unknown component{} {}: the components are {}",
        if unknown.len() == 1 { "" } else { "s" },
        unknown.join(", "),
        known.join(", ")
    )))
}

fn summary_json(inv: &Inventory) -> Value {
    let s = inv.summary();
    json!({
        "platform": s.platform,
        "time_zone": s.zone,
        "customers": s.customers,
        "contacts": s.contacts,
        "projects": s.projects,
        "hosts": s.hosts,
        "racks": s.racks,
        "devices": s.devices,
        "machines": s.machines,
        "groups": s.groups,
        "groups_sharing_a_host": s.groups_sharing_a_host,
    })
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

fn no_inventory() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_inventory",
        "no inventory yet: import one first (POST /api/v1/inventory, or `forewarn inventory import`)",
    )
}

impl App {
    fn remember_inventory(&self, version: i64, inv: Arc<Inventory>) {
        *self.inventory.lock().unwrap_or_else(|e| e.into_inner()) = Some((version, inv));
    }

    /// The inventory of `version` (the latest when `None`), parsed once and kept.
    pub async fn inventory(&self, version: Option<i64>) -> ApiResult<(i64, Arc<Inventory>)> {
        let cached = self.inventory.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((v, inv)) = cached
            && version.is_none_or(|want| want == v)
        {
            // The cached one is the latest unless a newer one was imported elsewhere.
            if version.is_some() || self.store.inventory_version().await? == Some(v) {
                return Ok((v, inv));
            }
        }
        let stored = self.store.inventory(version).await?.ok_or_else(no_inventory)?;
        let name = format!("inventory-v{}.{}", stored.version, stored.format);
        let text = stored.text;
        let inv = tokio::task::spawn_blocking(move || parse_inventory(&name, &text))
            .await
            .map_err(ApiError::internal)?
            .map_err(|d| ApiError::internal(format!("stored inventory {} no longer validates: {d}", stored.version)))?;
        let inv = Arc::new(inv);
        if version.is_none() {
            self.remember_inventory(stored.version, inv.clone());
        }
        Ok((stored.version, inv))
    }
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
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let format = body_format(&headers)?;
    let text = utf8(&body)?;
    let (version, inv) = app.inventory(None).await?;
    let campaign =
        parse_campaign(&format!("campaign.{format}"), text, &inv).map_err(|d| ApiError::diagnostics("campaign", d))?;
    let stored = app
        .store
        .create_campaign(
            app.now(),
            &actor,
            NewCampaign {
                id: campaign.id.clone(),
                title: campaign.title.clone(),
                text: text.to_owned(),
                inventory_version: version,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(campaign_json(&stored))).into_response())
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

async fn stored_campaign(app: &App, id: &str) -> ApiResult<StoredCampaign> {
    app.store.campaign(id).await?.ok_or_else(|| ApiError::not_found(format!("no campaign `{id}`")))
}

/// The campaign, parsed against the inventory of `version`.
async fn parsed_campaign(
    app: &App,
    c: &StoredCampaign,
    version: Option<i64>,
) -> ApiResult<(i64, Arc<Inventory>, Campaign)> {
    let (v, inv) = app.inventory(version).await?;
    let file = format!("campaign-{}.{}", c.id, if c.text.trim_start().starts_with('{') { "json" } else { "toml" });
    let campaign = parse_campaign(&file, &c.text, &inv).map_err(|d| {
        let mut e = ApiError::diagnostics("campaign", d);
        e.message = format!("{} against inventory version {v}: fix the inventory or the campaign", e.message);
        e
    })?;
    Ok((v, inv, campaign))
}

fn plan_summary_json(p: &PlanSummary) -> Value {
    json!({ "version": p.version, "created": p.created, "inventory_version": p.inventory_version, "summary": p.summary })
}

/// Plans the campaign against the latest inventory and keeps the result as a new draft.
async fn plan_campaign(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let c = stored_campaign(&app, &id).await?;
    if matches!(c.state, CampaignState::Cancelled | CampaignState::Completed) {
        return Err(ApiError::conflict(format!("campaign `{id}` is {}: it is not planned any more", c.state.as_str())));
    }
    let (version, inv, campaign) = parsed_campaign(&app, &c, None).await?;
    let (json_text, summary) = tokio::task::spawn_blocking(move || -> std::io::Result<(String, Value)> {
        let plan = forewarn_planner::plan(&inv, &campaign);
        let mut buf = Vec::new();
        plan.write_json(&mut buf, &inv, &campaign)?;
        let summary = json!({
            "targets": plan.stats.targets,
            "scheduled": plan.slots.len(),
            "unscheduled": plan.unscheduled.len(),
            "completion": plan.stats.completion,
            "lower_bound": plan.stats.lower_bound,
            "notes": plan.notes.len(),
        });
        Ok((String::from_utf8_lossy(&buf).into_owned(), summary))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let v = app.store.add_plan(app.now(), &actor, &id, version, &json_text, &summary).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "campaign": id, "version": v, "inventory_version": version, "summary": summary })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct VersionQuery {
    version: Option<i64>,
}

async fn stored_plan(app: &App, id: &str, version: Option<i64>) -> ApiResult<StoredPlan> {
    stored_campaign(app, id).await?;
    app.store.plan(id, version).await?.ok_or_else(|| match version {
        Some(v) => ApiError::not_found(format!("campaign `{id}` has no plan version {v}")),
        None => {
            ApiError::not_found(format!("campaign `{id}` has no plan yet: POST /api/v1/campaigns/{id}/plan makes one"))
        }
    })
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

fn diff(a: &PlanFile, b: &PlanFile, from: i64, to: i64) -> Value {
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
async fn publish(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: PublishBody = if body.iter().all(u8::is_ascii_whitespace) {
        PublishBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("publish body: {e}")))?
    };
    let c = stored_campaign(&app, &id).await?;
    if c.state != CampaignState::Draft {
        return Err(ApiError::conflict(format!(
            "campaign `{id}` is {}: only a draft is published (a published plan changes through a new campaign or a reschedule)",
            c.state.as_str()
        )));
    }
    let stored = stored_plan(&app, &id, req.version).await?;
    let (_, inv, campaign) = parsed_campaign(&app, &c, Some(stored.inventory_version)).await?;
    let inv2 = inv.clone();
    let announcement = tokio::task::spawn_blocking(move || {
        let plan = forewarn_planner::plan(&inv2, &campaign);
        forewarn_status::announce::announcement(&campaign, &plan, &inv2, &inv2.platform.zone)
    })
    .await
    .map_err(ApiError::internal)?;
    let post = NewPost {
        kind: PostKind::Maintenance,
        state: None,
        title: announcement.title,
        body: announcement.body,
        starts: announcement.starts,
        ends: announcement.ends,
        components: Vec::new(),
        campaign: Some(id.clone()),
    };
    let (c, post) = app.store.publish_campaign(app.now(), &actor, &id, stored.version, post).await?;
    let mut v = campaign_json(&c);
    v["post"] = json!(post.id);
    Ok(Json(v).into_response())
}

async fn pause(s: State<Arc<App>>, a: Actor, p: Path<String>) -> ApiResult<Json<Value>> {
    change_state(s, a, p, CampaignState::Paused, "Paused: no new work starts until it is resumed.").await
}

async fn resume(s: State<Arc<App>>, a: Actor, p: Path<String>) -> ApiResult<Json<Value>> {
    change_state(s, a, p, CampaignState::Published, "Resumed.").await
}

async fn cancel(s: State<Arc<App>>, a: Actor, p: Path<String>) -> ApiResult<Json<Value>> {
    change_state(s, a, p, CampaignState::Cancelled, "Cancelled: the remaining slots will not take place.").await
}

/// Moves a campaign to `state`; its maintenance posts get an update saying so.
async fn change_state(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
    state: CampaignState,
    words: &str,
) -> ApiResult<Json<Value>> {
    let c = app.store.set_campaign_state(app.now(), &actor, &id, state).await?;
    for post in app.store.posts_of_campaign(&id).await? {
        if post.state.is_final() {
            continue;
        }
        let to = (state == CampaignState::Cancelled).then_some(PostState::Cancelled);
        app.store.add_update(app.now(), &actor, post.id, to, words).await?;
    }
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
}

/// JSON bodies with errors that say which field and what was expected.
fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> ApiResult<T> {
    if body_format(headers)? != "json" {
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

fn check_window(starts: Option<Timestamp>, ends: Option<Timestamp>) -> ApiResult<()> {
    if let (Some(s), Some(e)) = (starts, ends)
        && e <= s
    {
        return Err(ApiError::unprocessable(format!(
            "`ends` ({e}) is not after `starts` ({s}): swap them or fix the date"
        )));
    }
    Ok(())
}

fn nonempty(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() {
        return Err(ApiError::unprocessable(format!("`{field}` is empty: give it a value")));
    }
    Ok(())
}

/// Hand-written text that belongs to a campaign must not name dates outside its range, nor a
/// weekday that does not match its date.
async fn check_dates(app: &App, campaign: Option<&str>, texts: &[&str]) -> ApiResult<()> {
    let Some(id) = campaign else { return Ok(()) };
    let c = stored_campaign(app, id).await?;
    let (_, inv, campaign) = parsed_campaign(app, &c, None).await?;
    let range = forewarn_status::dates::campaign_range(&campaign, &inv.platform.zone);
    let problems: Vec<String> =
        texts.iter().flat_map(|t| forewarn_status::dates::check(t, Some(range))).map(|p| p.to_string()).collect();
    if problems.is_empty() {
        return Ok(());
    }
    let mut e = ApiError::unprocessable(format!(
        "the text contradicts campaign `{id}` ({} to {}): {}",
        range.0,
        range.1,
        problems.join("; ")
    ));
    e.code = "date_conflict";
    Err(e)
}

async fn create_post(
    State(app): State<Arc<App>>,
    Actor(actor): Actor,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let b: PostBody = json_body(&headers, &body)?;
    nonempty("title", &b.title)?;
    check_window(b.starts, b.ends)?;
    if let Some(state) = b.state
        && !b.kind.states().contains(&state)
    {
        return Err(ApiError::unprocessable(format!(
            "a {} post cannot be {}: it is one of {}",
            b.kind,
            state,
            states(b.kind)
        )));
    }
    check_components(&app, &b.components).await?;
    if let Some(c) = &b.campaign {
        stored_campaign(&app, c).await?;
    }
    check_dates(&app, b.campaign.as_deref(), &[&b.title, &b.body]).await?;
    let post = app
        .store
        .create_post(
            app.now(),
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
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(&post).map_err(ApiError::internal)?)).into_response())
}

fn states(kind: PostKind) -> String {
    kind.states().iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
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
    let post = app.store.post(id).await?.ok_or_else(|| ApiError::not_found(format!("no post {id}")))?;
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
    nonempty("body", &b.body)?;
    let post = app.store.post(id).await?.ok_or_else(|| ApiError::not_found(format!("no post {id}")))?;
    if let Some(state) = b.state
        && !post.kind.states().contains(&state)
    {
        return Err(ApiError::unprocessable(format!(
            "a {} post cannot be {}: it is one of {}",
            post.kind,
            state,
            states(post.kind)
        )));
    }
    check_dates(&app, post.campaign.as_deref(), &[&b.body]).await?;
    let update = app.store.add_update(app.now(), &actor, id, b.state, &b.body).await?;
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
    nonempty("note", &b.note)?;
    let post = app.store.post(id).await?.ok_or_else(|| ApiError::not_found(format!("no post {id}")))?;
    check_window(b.starts.or(post.starts), b.ends.or(post.ends))?;
    let title = b.title.as_deref().unwrap_or(&post.title);
    let text = b.body.as_deref().unwrap_or(&post.body);
    check_dates(&app, post.campaign.as_deref(), &[title, text, &b.note]).await?;
    let post = app
        .store
        .correct_post(
            app.now(),
            &actor,
            id,
            &b.note,
            Correction { title: b.title, body: b.body, starts: b.starts, ends: b.ends },
        )
        .await?;
    Ok(Json(serde_json::to_value(&post).map_err(ApiError::internal)?))
}
