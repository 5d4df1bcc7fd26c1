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
use forewarn_status::escape::Esc;
use forewarn_store::{CampaignState, PlanSummary, StoredCampaign, StoredPlan};
use jiff::Timestamp;
use serde_json::Value;

use super::session::forbidden;
use super::{Cx, Operator, html, respond, see_other, site_path};
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
    let campaigns = app.store.campaigns().await?;
    let mut main = String::from("<h1>Campaigns</h1>\n");
    if campaigns.is_empty() {
        main.push_str(
            "<p class=\"empty\">No campaigns yet. Create one with <code>forewarn campaign create</code> or \
             <code>POST /api/v1/campaigns</code>.</p>\n",
        );
        main.push_str(&tzdb_section(app, &cx).await?);
        return Ok(html(StatusCode::OK, cx.page("Campaigns", &main)));
    }
    main.push_str(
        "<div class=\"scroll\"><table class=\"list\" id=\"campaigns\">\n<thead><tr><th>Campaign</th><th>State</th>\
         <th>Latest plan</th><th>Last change</th></tr></thead>\n<tbody>\n",
    );
    for c in &campaigns {
        let latest = app.store.plans(&c.id).await?.into_iter().next();
        let _ = write!(
            main,
            "<tr class=\"campaign\" data-id=\"{id}\" data-state=\"{state}\"><td><a href=\"{href}\">{title}</a><br>\
             <span class=\"hint\">{id}</span></td><td>{badge}</td><td>",
            id = Esc(&c.id),
            state = c.state.as_str(),
            href = Esc(&cx.path(&format!("/admin/campaigns/{}", c.id))),
            title = Esc(&c.title),
            badge = state_badge(c.state),
        );
        match &latest {
            Some(p) => {
                let _ = write!(main, "version {}: {}", p.version, Esc(&summary_words(&cx, &p.summary)));
                if c.published_plan == Some(p.version) {
                    main.push_str(" <span class=\"hint\">(published)</span>");
                }
            }
            None => main.push_str("<span class=\"hint\">not planned yet</span>"),
        }
        let _ = writeln!(main, "</td><td>{}</td></tr>", cx.time(c.updated));
    }
    main.push_str("</tbody>\n</table></div>\n");
    main.push_str(&tzdb_section(app, &cx).await?);
    Ok(html(StatusCode::OK, cx.page("Campaigns", &main)))
}

/// The time zone database in use, and the published slots that lie outside their window
/// since it changed.
async fn tzdb_section(app: &App, cx: &Cx) -> ApiResult<String> {
    let db = forewarn_model::tz::db();
    let mut out = String::from("<section id=\"tzdb\">\n<h2>Time zone database</h2>\n");
    let _ = writeln!(
        out,
        "<p>Windows are read with tzdb <strong class=\"tzdb-release\">{}</strong> ({}).</p>",
        Esc(db.release().unwrap_or("of unknown release")),
        match db.source() {
            forewarn_model::tz::Source::Bundled => "bundled with forewarn".to_owned(),
            forewarn_model::tz::Source::Dir(dir) => format!("from <code>{}</code>", Esc(dir)),
        }
    );
    let found = crate::tzdb::standing(app).await?;
    if !found.is_empty() {
        let _ = writeln!(
            out,
            "<div class=\"error\" role=\"alert\"><p><strong>{} published slot{} lie{} outside {} window under these \
             zone rules.</strong> forewarn does not move them on its own yet: move each by hand (the API's \
             <code>POST /api/v1/campaigns/ID/slots/TARGET</code>), and its contacts are told.</p>\n\
             <table class=\"list\" id=\"tzdb-outside\">\n<thead><tr><th>Campaign</th><th>Target</th><th>What</th>\
             <th>Found</th></tr></thead>\n<tbody>",
            found.len(),
            if found.len() == 1 { "" } else { "s" },
            if found.len() == 1 { "s" } else { "" },
            if found.len() == 1 { "its" } else { "their" },
        );
        for a in &found {
            let _ = writeln!(
                out,
                "<tr class=\"outside\" data-campaign=\"{id}\"><td><a href=\"{href}\">{id}</a> <span class=\"hint\">plan \
                 version {v}</span></td><td>{target}</td><td>{what}</td><td>{at}</td></tr>",
                id = Esc(&a.subject),
                href = Esc(&cx.path(&format!("/admin/campaigns/{}", a.subject))),
                v = a.detail["plan_version"],
                target = Esc(a.detail["target"].as_str().unwrap_or("the whole campaign")),
                what = Esc(a.detail["message"].as_str().unwrap_or("")),
                at = cx.time(a.at),
            );
        }
        out.push_str("</tbody>\n</table></div>\n");
    }
    out.push_str("</section>\n");
    Ok(out)
}

fn state_badge(state: CampaignState) -> String {
    format!("<span class=\"badge state\" data-state=\"{0}\">{0}</span>", state.as_str())
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
    let latest = match plans.first() {
        Some(p) => Some(actions::stored_plan(app, id, Some(p.version)).await?),
        None => None,
    };
    // A plan that cannot be drawn (its inventory no longer reads) leaves the rest of the page.
    let picture = match &latest {
        Some(p) => Some(picture(app, &c, p).await),
        None => None,
    };

    let svg_len = match &picture {
        Some(Ok(p)) => p.svg.len(),
        _ => 0,
    };
    let mut main = String::with_capacity(16 * 1024 + svg_len);
    let _ = writeln!(main, "<p class=\"meta\"><a href=\"{}\">← Campaigns</a></p>", Esc(&cx.path("/admin")));
    let status = match &failed {
        Some((what, e)) => {
            main.push_str(&cx.error_box(what, e));
            // The campaign is there; what the action needed was not (no plan yet).
            if e.status == StatusCode::NOT_FOUND { StatusCode::CONFLICT } else { e.status }
        }
        None => StatusCode::OK,
    };
    let _ = writeln!(
        main,
        "<section id=\"campaign\" data-id=\"{}\" data-state=\"{}\">\n<h1>{}</h1>\n<p class=\"meta\">{} \
         <span class=\"hint\">{}</span></p>",
        Esc(&c.id),
        c.state.as_str(),
        Esc(&c.title),
        state_badge(c.state),
        Esc(&c.id)
    );
    actions_html(&mut main, &cx, &c, latest.as_ref());

    main.push_str("<dl class=\"facts\">\n");
    let _ = writeln!(main, "<dt>Inventory</dt><dd>version {}</dd>", c.inventory_version);
    match c.published_plan {
        Some(v) => {
            let _ = writeln!(main, "<dt>Published</dt><dd>plan version {v}</dd>");
        }
        None => main.push_str("<dt>Published</dt><dd>not yet</dd>\n"),
    }
    let _ = writeln!(main, "<dt>Created</dt><dd>{}</dd>", cx.time(c.created));
    let _ = writeln!(main, "<dt>Last change</dt><dd>{}</dd>", cx.time(c.updated));
    if !posts.is_empty() {
        main.push_str("<dt>Posts</dt><dd>");
        for (i, p) in posts.iter().enumerate() {
            let _ = write!(
                main,
                "{}<a href=\"{}\">{}</a> <span class=\"hint\">({})</span>",
                if i > 0 { "<br>" } else { "" },
                Esc(&cx.path(&format!("/admin/posts/{}", p.id))),
                Esc(&p.title),
                p.state.label()
            );
        }
        main.push_str("</dd>\n");
    }
    main.push_str("</dl>\n</section>\n");

    match (&latest, &picture) {
        (Some(plan), Some(pic)) => plan_html(&mut main, &cx, plan, pic),
        _ => main.push_str(
            "<section id=\"plan\">\n<h2>Plan</h2>\n<p class=\"empty\">Not planned yet: <strong>Plan</strong> makes \
             the first version.</p>\n</section>\n",
        ),
    }
    super::slots::section(&mut main, &cx, &c.id, &slot_table, customer);
    versions_html(&mut main, &cx, &c, &plans);
    if c.state == CampaignState::Draft {
        main.push_str("<details>\n<summary>Edit the campaign file</summary>\n");
        super::changes::edit_form(&mut main, &cx, &c, &c.text);
        main.push_str("</details>\n");
    } else {
        let _ = writeln!(
            main,
            "<details>\n<summary>The campaign file</summary>\n<pre class=\"file\">{}</pre>\n</details>",
            Esc(&c.text)
        );
    }
    Ok(html(status, cx.page(&c.title, &main)))
}

/// The buttons for what the campaign's state allows.
fn actions_html(out: &mut String, cx: &Cx, c: &StoredCampaign, latest: Option<&StoredPlan>) {
    let base = format!("/admin/campaigns/{}", c.id);
    out.push_str("<div class=\"actions\" id=\"actions\">");
    if !c.state.is_final() {
        let label = if latest.is_some() { "Plan again" } else { "Plan" };
        out.push_str(&cx.button(&format!("{base}/plan"), label, "secondary", &[]));
    }
    if let Some(p) = latest {
        // Publishing shows first what it changes and whom it tells.
        let newer = matches!(c.state, CampaignState::Published | CampaignState::Paused)
            && c.published_plan.is_some_and(|v| v < p.version);
        if c.state == CampaignState::Draft || newer {
            let _ = write!(
                out,
                "<a class=\"button\" href=\"{}\">Review and publish plan version {}</a>",
                Esc(&cx.path(&format!("{base}/review?version={}", p.version))),
                p.version
            );
        }
    }
    if c.state.can_move_to(CampaignState::Paused) {
        out.push_str(&super::changes::reason_button(cx, &format!("{base}/pause"), "Pause", "secondary"));
    }
    if c.state == CampaignState::Paused {
        out.push_str(&super::changes::reason_button(cx, &format!("{base}/resume"), "Resume", ""));
    }
    if c.state.can_move_to(CampaignState::Cancelled) {
        out.push_str(&super::changes::cancel_button(cx, c));
    }
    out.push_str("</div>\n");
}

fn plan_html(out: &mut String, cx: &Cx, plan: &StoredPlan, pic: &ApiResult<Arc<Picture>>) {
    let _ = writeln!(
        out,
        "<section id=\"plan\" data-version=\"{}\">\n<h2>Plan version {}</h2>\n<p>{}.",
        plan.version,
        plan.version,
        Esc(&summary_words(cx, &plan.summary))
    );
    if let Some(t) = timestamp(&plan.summary["lower_bound"]) {
        let _ = write!(
            out,
            " <span class=\"hint\">No plan can finish before {}.</span>",
            Esc(&forewarn_status::when::moment(t, &cx.site.zone))
        );
    }
    let _ = writeln!(
        out,
        "</p>\n<p class=\"meta\">Planned {} by {} against inventory version {}.</p>",
        cx.time(plan.created),
        Esc(&plan.actor),
        plan.inventory_version
    );
    let pic = match pic {
        Ok(pic) => pic,
        Err(e) => {
            let _ = writeln!(
                out,
                "<div class=\"error\"><p><strong>The plan cannot be drawn:</strong> {}</p></div>\n</section>",
                Esc(&e.message)
            );
            return;
        }
    };
    if pic.unscheduled_total > 0 {
        let _ = writeln!(
            out,
            "<h3>Without a slot ({})</h3>\n<div class=\"scroll\"><table class=\"list\" id=\"unscheduled\">\n\
             <thead><tr><th>Target</th><th>Why</th></tr></thead>\n<tbody>",
            pic.unscheduled_total
        );
        for (target, reason) in &pic.unscheduled {
            let _ = writeln!(out, "<tr><td>{}</td><td>{}</td></tr>", Esc(target), Esc(reason));
        }
        out.push_str("</tbody>\n</table></div>\n");
        if pic.unscheduled_total > pic.unscheduled.len() {
            let _ = writeln!(
                out,
                "<p class=\"hint\">And {} more: the plan file (<code>GET /api/v1/campaigns/{}/plan</code>) has them \
                 all.</p>",
                pic.unscheduled_total - pic.unscheduled.len(),
                Esc(&plan.campaign)
            );
        }
    }
    if !pic.notes.is_empty() {
        out.push_str("<h3>Notes</h3>\n<ul id=\"notes\">\n");
        for n in &pic.notes {
            let _ = writeln!(out, "<li>{}</li>", Esc(n));
        }
        out.push_str("</ul>\n");
    }
    let _ = writeln!(out, "<div id=\"plan-svg\">\n{}\n</div>\n</section>", pic.svg);
}

fn versions_html(out: &mut String, cx: &Cx, c: &StoredCampaign, plans: &[PlanSummary]) {
    if plans.is_empty() {
        return;
    }
    out.push_str(
        "<section>\n<h2>Plan versions</h2>\n<div class=\"scroll\"><table class=\"list\" id=\"plans\">\n<thead><tr>\
         <th>Version</th><th>Planned</th><th>By</th><th>Inventory</th><th>Result</th></tr></thead>\n<tbody>\n",
    );
    for p in plans {
        let published =
            if c.published_plan == Some(p.version) { " <span class=\"hint\">(published)</span>" } else { "" };
        let _ = writeln!(
            out,
            "<tr data-version=\"{v}\"><td>{v}{published}</td><td>{}</td><td>{}</td><td>version {}</td><td>{}</td></tr>",
            cx.time(p.created),
            Esc(&p.actor),
            p.inventory_version,
            Esc(&summary_words(cx, &p.summary)),
            v = p.version,
        );
    }
    out.push_str("</tbody>\n</table></div>\n</section>\n");
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
#[derive(Clone, Copy, Debug)]
enum Act {
    Plan,
    Publish,
    Pause,
    Resume,
    Move,
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
