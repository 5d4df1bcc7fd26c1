//! `/admin`: the campaigns with their state and latest plan; `/admin/campaigns/{id}`: one
//! campaign, its plan versions, the latest plan drawn (the planner's SVG) with the targets
//! it could not place and why, and the buttons that plan it again, publish, pause, resume or
//! cancel it.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_store::{CampaignState, PlanSummary, StoredCampaign, StoredPlan};
use jiff::Timestamp;
use maud::{Markup, PreEscaped, html};
use serde_json::Value;

use super::session::forbidden;
use super::{Cx, Operator, answer, respond, see_other, site_path};
use crate::App;
use crate::actions;
use crate::error::{ApiError, ApiResult};

/// How many pictures of plans are kept.
const PICTURES: usize = 4;
/// How many targets without a slot are listed by name.
const UNSCHEDULED_SHOWN: usize = 200;

/// A plan version as the campaign page draws it.
#[derive(Debug)]
pub struct Picture {
    /// The planner's SVG, without its XML declaration (it is put inside the page).
    svg: String,
    /// Targets without a slot and why, the first [`UNSCHEDULED_SHOWN`].
    unscheduled: Vec<(String, String)>,
    unscheduled_total: usize,
    notes: Vec<String>,
}

/// `GET /admin`.
pub async fn index(State(app): State<Arc<App>>, op: Operator) -> Response {
    let r = index_page(&app, &op).await;
    respond(&app, Some(op), r).await
}

async fn index_page(app: &App, op: &Operator) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let mut campaigns = Vec::new();
    for c in app.store.campaigns().await? {
        let latest = app.store.plans(&c.id).await?.into_iter().next();
        campaigns.push((c, latest));
    }
    let found = crate::tzdb::standing(app).await?;
    let main = html! {
        h1 { "Campaigns" } "\n"
        @if campaigns.is_empty() {
            p class="empty" {
                "No campaigns yet. Create one with " code { "forewarn campaign create" } " or "
                code { "POST /api/v1/campaigns" } "."
            } "\n"
        } @else {
            (campaigns_table(&cx, &campaigns))
        }
        (tzdb_section(&cx, &found))
    };
    Ok(answer(StatusCode::OK, cx.page("Campaigns", main)))
}

/// The campaigns with their state and latest plan.
fn campaigns_table(cx: &Cx, campaigns: &[(StoredCampaign, Option<PlanSummary>)]) -> Markup {
    html! {
        div class="scroll" { table class="list" id="campaigns" {
            "\n"
            thead { tr { th { "Campaign" } th { "State" } th { "Latest plan" } th { "Last change" } } } "\n"
            tbody {
                "\n"
                @for (c, latest) in campaigns {
                    tr class="campaign" data-id=(c.id) data-state=(c.state.as_str()) {
                        td {
                            a href=(cx.path(&format!("/admin/campaigns/{}", c.id))) { (c.title) } br;
                            span class="hint" { (c.id) }
                        }
                        td { (state_badge(c.state)) }
                        td {
                            @match latest {
                                Some(p) => {
                                    "version " (p.version) ": " (summary_words(cx, &p.summary))
                                    @if c.published_plan == Some(p.version) {
                                        " " span class="hint" { "(published)" }
                                    }
                                }
                                None => span class="hint" { "not planned yet" },
                            }
                        }
                        td { (cx.time(c.updated)) }
                    } "\n"
                }
            } "\n"
        } } "\n"
    }
}

/// The time zone database in use, and the published slots that lie outside their window
/// since it changed (`found`, as [`crate::tzdb::standing`] gives them).
fn tzdb_section(cx: &Cx, found: &[forewarn_store::AuditEntry]) -> Markup {
    let db = forewarn_model::tz::db();
    let one = found.len() == 1;
    html! {
        section id="tzdb" {
            "\n"
            h2 { "Time zone database" } "\n"
            p {
                "Windows are read with tzdb "
                strong class="tzdb-release" { (db.release().unwrap_or("of unknown release")) }
                " ("
                @match db.source() {
                    forewarn_model::tz::Source::Bundled => "bundled with forewarn",
                    forewarn_model::tz::Source::Dir(dir) => { "from " code { (dir) } }
                }
                ")."
            } "\n"
            @if !found.is_empty() {
                div class="error" role="alert" {
                    p {
                        strong {
                            (found.len()) " published slot" (if one { "" } else { "s" }) " lie" (if one { "s" } else { "" })
                            " outside " (if one { "its" } else { "their" }) " window under these zone rules."
                        }
                        " forewarn does not move them on its own yet: move each by hand (the API's "
                        code { "POST /api/v1/campaigns/ID/slots/TARGET" } "), and its contacts are told."
                    } "\n"
                    table class="list" id="tzdb-outside" {
                        "\n"
                        thead { tr { th { "Campaign" } th { "Target" } th { "What" } th { "Found" } } } "\n"
                        tbody {
                            "\n"
                            @for a in found {
                                tr class="outside" data-campaign=(a.subject) {
                                    td {
                                        a href=(cx.path(&format!("/admin/campaigns/{}", a.subject))) { (a.subject) } " "
                                        span class="hint" { "plan version " (a.detail["plan_version"]) }
                                    }
                                    td { (a.detail["target"].as_str().unwrap_or("the whole campaign")) }
                                    td { (a.detail["message"].as_str().unwrap_or("")) }
                                    td { (cx.time(a.at)) }
                                } "\n"
                            }
                        } "\n"
                    } "\n"
                } "\n"
            }
        } "\n"
    }
}

fn state_badge(state: CampaignState) -> Markup {
    html! { span class="badge state" data-state=(state.as_str()) { (state.as_str()) } }
}

fn timestamp(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// A plan's summary in words: "12 of 12 targets scheduled, done by Wed 3 Mar 2027 04:30 CET".
fn summary_words(cx: &Cx, summary: &Value) -> String {
    let n = |k: &str| summary[k].as_u64().unwrap_or(0);
    let mut out = format!("{} of {} targets scheduled", n("scheduled"), n("targets"));
    if n("unscheduled") > 0 {
        let _ = write!(out, ", {} without a slot", n("unscheduled"));
    }
    if let Some(t) = timestamp(&summary["completion"]) {
        let _ = write!(out, ", done by {}", forewarn_status::when::moment(t, &cx.site.zone));
    }
    out
}

/// `?customer=ID`: the slot table shows only this customer's targets.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    customer: Option<String>,
}

/// `GET /admin/campaigns/{id}`.
pub async fn show(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let r = campaign_page_for(&app, &op, &id, None, q.customer.as_deref().unwrap_or("").trim()).await;
    respond(&app, Some(op), r).await
}

/// The campaign's page, with the error of an action that failed on it.
async fn campaign_page(app: &App, op: &Operator, id: &str, failed: Option<(&str, ApiError)>) -> ApiResult<Response> {
    campaign_page_for(app, op, id, failed, "").await
}

/// [`campaign_page`] with the slot table of one `customer` (every customer when empty).
async fn campaign_page_for(
    app: &App,
    op: &Operator,
    id: &str,
    failed: Option<(&str, ApiError)>,
    customer: &str,
) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let c = actions::stored_campaign(app, id).await?;
    let slot_table = actions::slot_table(app, id, Some(customer)).await;
    let plans = app.store.plans(id).await?;
    let posts = app.store.posts_of_campaign(id).await?;
    let runs = app.store.runs(id).await?;
    let latest = match plans.first() {
        Some(p) => Some(actions::stored_plan(app, id, Some(p.version)).await?),
        None => None,
    };
    // A plan that cannot be drawn (its inventory no longer reads) leaves the rest of the page.
    let picture = match &latest {
        Some(p) => Some(picture(app, &c, p).await),
        None => None,
    };

    let status = match &failed {
        // The campaign is there; what the action needed was not (no plan yet).
        Some((_, e)) if e.status == StatusCode::NOT_FOUND => StatusCode::CONFLICT,
        Some((_, e)) => e.status,
        None => StatusCode::OK,
    };
    let main = html! {
        p class="meta" { a href=(cx.path("/admin")) { "← Campaigns" } } "\n"
        @if let Some((what, e)) = &failed {
            (cx.error_box(what, e))
        }
        section id="campaign" data-id=(c.id) data-state=(c.state.as_str()) {
            "\n"
            h1 { (c.title) } "\n"
            p class="meta" { (state_badge(c.state)) " " span class="hint" { (c.id) } } "\n"
            (actions_html(&cx, &c, latest.as_ref()))
            dl class="facts" {
                "\n"
                dt { "Inventory" } dd { "version " (c.inventory_version) } "\n"
                @match c.published_plan {
                    Some(v) => { dt { "Published" } dd { "plan version " (v) } "\n" }
                    None => { dt { "Published" } dd { "not yet" } "\n" }
                }
                dt { "Created" } dd { (cx.time(c.created)) } "\n"
                dt { "Last change" } dd { (cx.time(c.updated)) } "\n"
                @if !posts.is_empty() {
                    dt { "Posts" }
                    dd {
                        @for (i, p) in posts.iter().enumerate() {
                            @if i > 0 { br; }
                            a href=(cx.path(&format!("/admin/posts/{}", p.id))) { (p.title) } " "
                            span class="hint" { "(" (p.state.label()) ")" }
                        }
                    } "\n"
                }
            } "\n"
        } "\n"
        @match (&latest, &picture) {
            (Some(plan), Some(pic)) => (plan_html(&cx, plan, pic)),
            _ => {
                section id="plan" {
                    "\n"
                    h2 { "Plan" } "\n"
                    p class="empty" { "Not planned yet: " strong { "Plan" } " makes the first version." } "\n"
                } "\n"
            }
        }
        (super::slots::section(&cx, &c.id, &slot_table, customer))
        @if !runs.is_empty() {
            (runs_html(&cx, &c.id, &runs))
        }
        (versions_html(&cx, &c, &plans))
        @if c.state == CampaignState::Draft {
            details {
                "\n"
                summary { "Edit the campaign file" } "\n"
                (super::changes::edit_form(&cx, &c, &c.text))
            } "\n"
        } @else {
            details {
                "\n"
                summary { "The campaign file" } "\n"
                pre class="file" { (c.text) } "\n"
            } "\n"
        }
    };
    Ok(answer(status, cx.page(&c.title, main)))
}

/// Each time a machine went down for the campaign (FleetLock locks): held ones first, a stuck
/// one (past its expected end) marked, with the button that releases it (audited).
fn runs_html(cx: &Cx, id: &str, runs: &[forewarn_store::Run]) -> Markup {
    let mut ordered: Vec<&forewarn_store::Run> = runs.iter().collect();
    ordered.sort_by_key(|r| (r.finished.is_some(), std::cmp::Reverse(r.started)));
    let held = runs.iter().filter(|r| r.finished.is_none()).count();
    let stuck = runs.iter().filter(|r| r.is_stuck(cx.now)).count();
    html! {
        section id="locks" {
            "\n"
            h2 { "Locks" } "\n"
            p {
                (held) " held now"
                @if stuck > 0 { ", " strong class="stuck" { (stuck) " stuck past their expected end" } }
                "; " (runs.len()) " in all. A lock is freed when its machine reports back, or by a release here (audited), never by a timeout."
            } "\n"
            table {
                "\n"
                tr { th { "Machine" } th { "State" } th { "Granted" } th { "Expected back" } th { "Back" } th { "Downtime" } th {} } "\n"
                @for r in ordered.iter().take(500) {
                    tr data-machine=(r.machine) data-state=(r.state.as_str()) data-stuck=(r.is_stuck(cx.now)) {
                        td {
                            (r.machine)
                            @if let Some(node) = r.node.as_deref().filter(|n| *n != r.machine) {
                                br; span class="hint" { (node) }
                            }
                        }
                        td {
                            @if r.is_stuck(cx.now) { strong class="stuck" { "stuck" } }
                            @else { (r.state.as_str()) }
                            @if let Some(by) = &r.released_by { br; span class="hint" { "by " (by) } }
                        }
                        td { (cx.time(r.started)) }
                        td { (cx.time(r.deadline)) }
                        td { @if let Some(f) = r.finished { (cx.time(f)) } @else { "—" } }
                        td { @if let Some(d) = r.downtime_seconds { (forewarn_model::Duration::from_secs(d)) } @else { "—" } }
                        td {
                            @if r.finished.is_none() {
                                (cx.button(&format!("/admin/campaigns/{id}/locks/{}/release", r.machine), "Release", "secondary", &[]))
                            }
                        }
                    } "\n"
                }
            } "\n"
        } "\n"
    }
}

/// The buttons for what the campaign's state allows.
fn actions_html(cx: &Cx, c: &StoredCampaign, latest: Option<&StoredPlan>) -> Markup {
    let base = format!("/admin/campaigns/{}", c.id);
    // Publishing shows first what it changes and whom it tells.
    let review = latest.filter(|p| {
        let newer = matches!(c.state, CampaignState::Published | CampaignState::Paused)
            && c.published_plan.is_some_and(|v| v < p.version);
        c.state == CampaignState::Draft || newer
    });
    html! {
        div class="actions" id="actions" {
            @if !c.state.is_final() {
                (cx.button(&format!("{base}/plan"), if latest.is_some() { "Plan again" } else { "Plan" }, "secondary", &[]))
            }
            @if let Some(p) = review {
                a class="button" href=(cx.path(&format!("{base}/review?version={}", p.version))) {
                    "Review and publish plan version " (p.version)
                }
            }
            @if c.state.can_move_to(CampaignState::Paused) {
                (super::changes::reason_button(cx, &format!("{base}/pause"), "Pause", "secondary"))
            }
            @if c.state == CampaignState::Paused {
                (super::changes::reason_button(cx, &format!("{base}/resume"), "Resume", ""))
            }
            @if c.state.can_move_to(CampaignState::Cancelled) {
                (super::changes::cancel_button(cx, c))
            }
        } "\n"
    }
}

/// The latest plan version: its summary, the targets without a slot and why, the planner's
/// notes, and its picture.
fn plan_html(cx: &Cx, plan: &StoredPlan, pic: &ApiResult<Arc<Picture>>) -> Markup {
    html! {
        section id="plan" data-version=(plan.version) {
            "\n"
            h2 { "Plan version " (plan.version) } "\n"
            p {
                (summary_words(cx, &plan.summary)) "."
                @if let Some(t) = timestamp(&plan.summary["lower_bound"]) {
                    " " span class="hint" { "No plan can finish before " (forewarn_status::when::moment(t, &cx.site.zone)) "." }
                }
            } "\n"
            p class="meta" {
                "Planned " (cx.time(plan.created)) " by " (plan.actor) " against inventory version "
                (plan.inventory_version) "."
            } "\n"
            @match pic {
                Err(e) => {
                    div class="error" { p { strong { "The plan cannot be drawn:" } " " (e.message) } } "\n"
                }
                Ok(pic) => (picture_html(plan, pic)),
            }
        } "\n"
    }
}

/// A plan version's targets without a slot, the planner's notes, and the picture.
fn picture_html(plan: &StoredPlan, pic: &Picture) -> Markup {
    html! {
        @if pic.unscheduled_total > 0 {
            h3 { "Without a slot (" (pic.unscheduled_total) ")" } "\n"
            div class="scroll" { table class="list" id="unscheduled" {
                "\n"
                thead { tr { th { "Target" } th { "Why" } } } "\n"
                tbody {
                    "\n"
                    @for (target, reason) in &pic.unscheduled {
                        tr { td { (target) } td { (reason) } } "\n"
                    }
                } "\n"
            } } "\n"
            @if pic.unscheduled_total > pic.unscheduled.len() {
                p class="hint" {
                    "And " (pic.unscheduled_total - pic.unscheduled.len()) " more: the plan file ("
                    code { "GET /api/v1/campaigns/" (plan.campaign) "/plan" } ") has them all."
                } "\n"
            }
        }
        @if !pic.notes.is_empty() {
            h3 { "Notes" } "\n"
            ul id="notes" {
                "\n"
                @for n in &pic.notes {
                    li { (n) } "\n"
                }
            } "\n"
        }
        div id="plan-svg" {
            "\n"
            // The planner's SVG: markup it wrote, every text in it escaped by its renderer.
            (PreEscaped(&pic.svg))
            "\n"
        } "\n"
    }
}

/// Every plan version of the campaign.
fn versions_html(cx: &Cx, c: &StoredCampaign, plans: &[PlanSummary]) -> Markup {
    html! {
        @if !plans.is_empty() {
            section {
                "\n"
                h2 { "Plan versions" } "\n"
                div class="scroll" { table class="list" id="plans" {
                    "\n"
                    thead { tr { th { "Version" } th { "Planned" } th { "By" } th { "Inventory" } th { "Result" } } } "\n"
                    tbody {
                        "\n"
                        @for p in plans {
                            tr data-version=(p.version) {
                                td {
                                    (p.version)
                                    @if c.published_plan == Some(p.version) {
                                        " " span class="hint" { "(published)" }
                                    }
                                }
                                td { (cx.time(p.created)) }
                                td { (p.actor) }
                                td { "version " (p.inventory_version) }
                                td { (summary_words(cx, &p.summary)) }
                            } "\n"
                        }
                    } "\n"
                } } "\n"
            } "\n"
        }
    }
}

/// The plan version drawn as it was stored (a moved slot shows where it was moved to), and
/// kept for the next views.
async fn picture(app: &App, c: &StoredCampaign, plan: &StoredPlan) -> ApiResult<Arc<Picture>> {
    {
        let kept = app.admin.pictures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, p)) = kept.iter().find(|(id, v, _)| *id == c.id && *v == plan.version) {
            return Ok(p.clone());
        }
    }
    let (_, inv, campaign) = actions::parsed_campaign(app, c, Some(plan.inventory_version)).await?;
    let drawn = actions::stored_plan_read(plan, &inv, &campaign).await?;
    let pic = tokio::task::spawn_blocking(move || {
        let svg = forewarn_planner::render::svg::svg(&drawn, &inv, &campaign);
        let svg = match svg.find("<svg") {
            Some(i) => svg[i..].to_owned(),
            None => svg,
        };
        let unscheduled = drawn
            .unscheduled
            .iter()
            .take(UNSCHEDULED_SHOWN)
            .map(|u| (drawn.target_id(&inv, u.target).to_owned(), u.reason.clone()))
            .collect();
        Picture { svg, unscheduled, unscheduled_total: drawn.unscheduled.len(), notes: drawn.notes.clone() }
    })
    .await
    .map_err(ApiError::internal)?;
    let pic = Arc::new(pic);
    let mut kept = app.admin.pictures.lock().unwrap_or_else(|e| e.into_inner());
    kept.retain(|(id, v, _)| !(*id == c.id && *v == plan.version));
    kept.insert(0, (c.id.clone(), plan.version, pic.clone()));
    kept.truncate(PICTURES);
    Ok(pic)
}

/// What a button on the campaign page asks for.
#[derive(Clone, Debug)]
enum Act {
    Plan,
    Publish,
    Pause,
    Resume,
    Move,
    /// Release the lock this machine holds.
    Release(String),
}

impl Act {
    /// What the error box says failed.
    fn failed(self) -> &'static str {
        match self {
            Act::Plan => "Not planned:",
            Act::Publish => "Not published:",
            Act::Pause => "Not paused:",
            Act::Resume => "Not resumed:",
            Act::Move => "Not moved:",
            Act::Release(_) => "Not released:",
        }
    }
}

pub async fn plan(s: State<Arc<App>>, op: Operator, id: Path<String>, body: Bytes) -> Response {
    act(s, op, id, body, Act::Plan).await
}

pub async fn publish(s: State<Arc<App>>, op: Operator, id: Path<String>, body: Bytes) -> Response {
    act(s, op, id, body, Act::Publish).await
}

pub async fn pause(s: State<Arc<App>>, op: Operator, id: Path<String>, body: Bytes) -> Response {
    act(s, op, id, body, Act::Pause).await
}

pub async fn resume(s: State<Arc<App>>, op: Operator, id: Path<String>, body: Bytes) -> Response {
    act(s, op, id, body, Act::Resume).await
}

/// `POST /admin/campaigns/{id}/locks/{machine}/release`: frees the lock the machine holds.
pub async fn release(
    s: State<Arc<App>>,
    op: Operator,
    Path((id, machine)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    act(s, op, Path(id), body, Act::Release(machine)).await
}

/// `POST /admin/campaigns/{id}/move` (`target`, `start`): moves a slot, or places a target
/// without one, as the API does (the review page `GET .../move` shows whom it tells first).
pub async fn move_slot(s: State<Arc<App>>, op: Operator, id: Path<String>, body: Bytes) -> Response {
    act(s, op, id, body, Act::Move).await
}

/// Does what a button asks (after the CSRF check) and goes back to the campaign's page,
/// which shows the result, or the error.
async fn act(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>, body: Bytes, act: Act) -> Response {
    let Some(fields) = op.form(&body) else { return forbidden() };
    let actor = op.actor();
    let done = match act {
        Act::Plan => actions::plan_campaign(&app, &actor, &id, false).await.map(drop),
        Act::Publish => {
            let version = match fields.get("version").trim() {
                "" => Ok(None),
                v => v.parse::<i64>().map(Some).map_err(|_| {
                    ApiError::unprocessable(format!("`version`: `{v}` is not a plan version (1, 2, ...)"))
                }),
            };
            match version {
                Ok(v) => actions::publish(&app, &actor, &id, v).await.map(drop),
                Err(e) => Err(e),
            }
        }
        Act::Pause => {
            let reason = Some(fields.get("reason"));
            actions::change_state_because(&app, &actor, &id, CampaignState::Paused, reason).await.map(drop)
        }
        Act::Resume => {
            let reason = Some(fields.get("reason"));
            actions::change_state_because(&app, &actor, &id, CampaignState::Published, reason).await.map(drop)
        }
        Act::Move => match super::review::start_field(fields.get("start")) {
            Ok(start) => actions::move_slot(&app, &actor, &id, fields.get("target").trim(), start).await.map(drop),
            Err(e) => Err(e),
        },
        Act::Release(ref machine) => crate::fleetlock::release_by(&app, &actor, &id, machine).await.map(drop),
    };
    match done {
        Ok(()) => see_other(&site_path(&app, &format!("/admin/campaigns/{id}"))),
        Err(e) if e.status.is_client_error() => {
            let r = campaign_page(&app, &op, &id, Some((act.failed(), e))).await;
            respond(&app, Some(op), r).await
        }
        Err(e) => respond(&app, Some(op), Err(e)).await,
    }
}
