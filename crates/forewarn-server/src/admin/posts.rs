//! `/admin/posts`: every post, and the form that writes a new one; `/admin/posts/{id}`: a
//! post as its public page shows it, with the forms that append an update and correct it.
//! Times in the forms are the platform's local time (`datetime-local` inputs), turned into
//! instants through the zone's rules at that date.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_model::Zone;
use forewarn_status::pages::{PostView, post_article, post_badges, window};
use forewarn_status::{Impact, Post, PostKind, PostState};
use forewarn_store::{Correction, NewPost};
use jiff::Timestamp;
use maud::{Markup, html};

use super::session::forbidden;
use super::{Cx, Fields, Operator, answer, option, respond, see_other, site_path};
use crate::App;
use crate::actions;
use crate::error::{ApiError, ApiResult};

/// The `datetime-local` form of an instant in the zone: `2027-03-01T22:00`.
fn local_input(t: Option<Timestamp>, zone: &Zone) -> String {
    t.map(|t| t.to_zoned_datetime(zone.tz().clone()).strftime("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
}

/// An instant from a form's field: local time in the zone (`2027-03-01T22:00`, seconds
/// optional) or RFC 3339 with an offset; empty is `None`.
fn parse_time(field: &str, value: &str, zone: &Zone) -> ApiResult<Option<Timestamp>> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = v.parse::<Timestamp>() {
        return Ok(Some(t));
    }
    let civil: jiff::civil::DateTime = v.parse().map_err(|_| {
        ApiError::unprocessable(format!(
            "`{field}`: `{v}` is not a date and time: write it as YYYY-MM-DDTHH:MM, in {}",
            zone.name()
        ))
    })?;
    let zoned = civil
        .to_zoned_datetime(zone.tz().clone())
        .map_err(|e| ApiError::unprocessable(format!("`{field}`: `{v}` in {}: {e}", zone.name())))?;
    Ok(Some(zoned.timestamp()))
}

/// A textarea's text as typed: browsers send its line ends as CR LF.
fn text(value: &str) -> String {
    value.replace("\r\n", "\n")
}

fn post_id(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| ApiError::not_found(format!("no post `{id}`")))
}

// ---------------------------------------------------------------------------
// The list and the new post form.

/// What the new post form holds: empty, or as it was sent.
#[derive(Debug, Default)]
struct PostForm {
    kind: String,
    state: String,
    title: String,
    body: String,
    starts: String,
    ends: String,
    components: Vec<String>,
    campaign: String,
    impact: String,
    replaces: String,
}

impl PostForm {
    fn from(f: &Fields) -> PostForm {
        PostForm {
            kind: f.get("kind").to_owned(),
            state: f.get("state").to_owned(),
            title: f.get("title").to_owned(),
            body: text(f.get("body")),
            starts: f.get("starts").to_owned(),
            ends: f.get("ends").to_owned(),
            components: f.all("components"),
            campaign: f.get("campaign").to_owned(),
            impact: f.get("impact").to_owned(),
            replaces: f.get("replaces").to_owned(),
        }
    }

    /// The post to create; the field-level problems a form has that JSON cannot (a kind that
    /// is not one, a time that is not one). Everything else is checked by the action.
    fn new_post(&self, zone: &Zone) -> ApiResult<NewPost> {
        let kind: PostKind =
            self.kind.trim().parse().map_err(|e: String| ApiError::unprocessable(format!("`kind`: {e}")))?;
        let state = match self.state.trim() {
            "" => None,
            s => Some(s.parse::<PostState>().map_err(|e| ApiError::unprocessable(format!("`state`: {e}")))?),
        };
        Ok(NewPost {
            kind,
            state,
            title: self.title.clone(),
            body: self.body.clone(),
            starts: parse_time("starts", &self.starts, zone)?,
            ends: parse_time("ends", &self.ends, zone)?,
            components: self.components.clone(),
            campaign: Some(self.campaign.trim()).filter(|c| !c.is_empty()).map(str::to_owned),
            impact: match self.impact.trim() {
                "" => None,
                i => Some(i.parse::<Impact>().map_err(|e| ApiError::unprocessable(format!("`impact`: {e}")))?),
            },
            replaces: match self.replaces.trim() {
                "" => None,
                r => Some(r.parse::<i64>().map_err(|_| {
                    ApiError::unprocessable(format!("`replaces`: `{r}` is not a post id; pick the cancelled post"))
                })?),
            },
        })
    }
}

/// `GET /admin/posts`.
pub async fn index(State(app): State<Arc<App>>, op: Operator) -> Response {
    let r = index_page(&app, &op, &PostForm::default(), None).await;
    respond(&app, Some(op), r).await
}

/// `POST /admin/posts`: a new post, then its page; or the form again with the error.
pub async fn create(State(app): State<Arc<App>>, op: Operator, body: Bytes) -> Response {
    let Some(fields) = op.form(&body) else { return forbidden() };
    let form = PostForm::from(&fields);
    let created = async {
        let zone = app.site().await?.zone;
        actions::create_post(&app, &op.actor(), form.new_post(&zone)?).await
    }
    .await;
    match created {
        Ok(post) => see_other(&site_path(&app, &format!("/admin/posts/{}", post.id))),
        Err(e) if e.status.is_client_error() => {
            let r = index_page(&app, &op, &form, Some(e)).await;
            respond(&app, Some(op), r).await
        }
        Err(e) => respond(&app, Some(op), Err(e)).await,
    }
}

async fn index_page(app: &App, op: &Operator, form: &PostForm, failed: Option<ApiError>) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let (posts, components, campaigns) =
        (app.store.posts().await?, app.store.components().await?, app.store.campaigns().await?);
    let status = if failed.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let main = html! {
        h1 { "Posts" } "\n"
        @if let Some(e) = &failed {
            (cx.error_box("The post was not created:", e))
        }
        p { a href="#new-post" { "Write a new post" } } "\n"
        @if posts.is_empty() {
            p class="empty" { "No posts yet." } "\n"
        } @else {
            (posts_table(&cx, &posts))
        }
        (new_post_form(&cx, form, &posts, &components, &campaigns))
    };
    Ok(answer(status, cx.page("Posts", main)))
}

/// Every post, with its kind, state, window and campaign.
fn posts_table(cx: &Cx, posts: &[Post]) -> Markup {
    html! {
        div class="scroll" { table class="list" id="posts" {
            "\n"
            thead { tr {
                th { "Post" } th { "Kind and state" } th { "When" } th { "Campaign" } th { "Last change" }
            } } "\n"
            tbody {
                "\n"
                @for p in posts {
                    tr class="post-row" data-id=(p.id) data-kind=(p.kind.name()) data-state=(p.state.name()) {
                        td {
                            a href=(cx.path(&format!("/admin/posts/{}", p.id))) { (p.title) } " "
                            span class="hint" { "#" (p.id) }
                        }
                        td { (post_badges(p)) }
                        td { (window(p.starts, p.ends, &cx.site)) }
                        td {
                            @if let Some(c) = &p.campaign {
                                a href=(cx.path(&format!("/admin/campaigns/{c}"))) { (c) }
                            }
                        }
                        td { (cx.time(p.updated)) }
                    } "\n"
                }
            } "\n"
        } } "\n"
    }
}

/// The form that writes a new post, holding `form`.
fn new_post_form(
    cx: &Cx,
    form: &PostForm,
    posts: &[Post],
    components: &[forewarn_status::Component],
    campaigns: &[forewarn_store::StoredCampaign],
) -> Markup {
    let kind = if form.kind.is_empty() { "maintenance" } else { form.kind.as_str() };
    // Cancelled maintenance that nothing replaces yet (or the one the form names).
    let replaced: Vec<i64> = posts.iter().filter_map(|p| p.replaces).collect();
    let replaceable = posts.iter().filter(|p| {
        p.kind == PostKind::Maintenance
            && p.state == PostState::Cancelled
            && (!replaced.contains(&p.id) || form.replaces == p.id.to_string())
    });
    let zone = cx.site.zone.name();
    html! {
        section id="new-post" {
            "\n"
            h2 { "New post" } "\n"
            form class="stack" method="post" action=(cx.path("/admin/posts")) {
                (cx.csrf()) "\n"
                div class="fields" {
                    "\n"
                    label {
                        "Kind "
                        select name="kind" {
                            @for k in PostKind::ALL { (option(k.name(), k.name(), k.name() == kind)) }
                        }
                    } "\n"
                    label {
                        "State "
                        select name="state" {
                            (option("", "the kind's first", form.state.is_empty()))
                            @for k in PostKind::ALL {
                                optgroup label=(k.name()) {
                                    @for s in k.states() { (option(s.name(), s.label(), s.name() == form.state)) }
                                }
                            }
                        }
                    } "\n"
                    label {
                        "Impact " span class="hint" { "incidents" }
                        select name="impact" {
                            (option("", "the kind's default (incident: minor)", form.impact.is_empty()))
                            @for i in Impact::ALL {
                                (option(i.name(), forewarn_status::status::impact_label(i), i.name() == form.impact))
                            }
                        }
                    } "\n"
                    label {
                        "Replaces " span class="hint" { "a cancelled maintenance" }
                        select name="replaces" {
                            (option("", "nothing", form.replaces.is_empty()))
                            @for p in replaceable {
                                (option(&p.id.to_string(), &format!("#{} {}", p.id, p.title), form.replaces == p.id.to_string()))
                            }
                        }
                    } "\n"
                    label {
                        "Campaign "
                        select name="campaign" {
                            (option("", "none", form.campaign.is_empty()))
                            @for c in campaigns {
                                (option(&c.id, &format!("{} ({})", c.title, c.id), c.id == form.campaign))
                            }
                        }
                    } "\n"
                } "\n"
                label { "Title " input type="text" name="title" value=(form.title) required; } "\n"
                label { "Text " span class="hint" { "Markdown" } textarea name="body" rows="8" { (form.body) } } "\n"
                (window_fields(zone, &form.starts, &form.ends)) "\n"
                fieldset {
                    legend { "Affects" }
                    div class="checks" {
                        @for c in components {
                            label {
                                input type="checkbox" name="components" value=(c.id) checked[form.components.contains(&c.id)];
                                " " (c.name)
                            }
                        }
                        @if components.is_empty() {
                            span class="hint" { "No components yet: they come with the inventory." }
                        }
                    }
                } "\n"
                div { button type="submit" { "Create the post" } } "\n"
            } "\n"
        } "\n"
    }
}

// ---------------------------------------------------------------------------
// One post.

/// What the update form holds.
#[derive(Debug, Default)]
struct UpdateForm {
    state: String,
    body: String,
}

/// What the correction form holds; `None`: the post as it is.
#[derive(Debug, Default)]
struct CorrectForm {
    note: String,
    title: String,
    body: String,
    starts: String,
    ends: String,
}

impl CorrectForm {
    fn of(p: &Post, zone: &Zone) -> CorrectForm {
        CorrectForm {
            note: String::new(),
            title: p.title.clone(),
            body: p.body.clone(),
            starts: local_input(p.starts, zone),
            ends: local_input(p.ends, zone),
        }
    }

    fn from(f: &Fields) -> CorrectForm {
        CorrectForm {
            note: f.get("note").to_owned(),
            title: f.get("title").to_owned(),
            body: text(f.get("body")),
            starts: f.get("starts").to_owned(),
            ends: f.get("ends").to_owned(),
        }
    }

    /// The fields that differ from the post: only those are corrected. An emptied time
    /// keeps the post's (a correction does not remove a time).
    fn correction(&self, p: &Post, zone: &Zone) -> ApiResult<Correction> {
        let time = |field: &str, value: &str, now: Option<Timestamp>| -> ApiResult<Option<Timestamp>> {
            if value.trim() == local_input(now, zone) {
                return Ok(None);
            }
            parse_time(field, value, zone)
        };
        Ok(Correction {
            title: (self.title != p.title).then(|| self.title.clone()),
            body: (self.body != p.body).then(|| self.body.clone()),
            starts: time("starts", &self.starts, p.starts)?,
            ends: time("ends", &self.ends, p.ends)?,
        })
    }
}

/// Which form failed, with what it held.
enum Failed {
    Update(UpdateForm, ApiError),
    Correct(CorrectForm, ApiError),
}

/// `GET /admin/posts/{id}`.
pub async fn show(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>) -> Response {
    let r = post_page(&app, &op, &id, None).await;
    respond(&app, Some(op), r).await
}

/// `POST /admin/posts/{id}/updates` (`body`, optional `state`).
pub async fn add_update(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(fields) = op.form(&body) else { return forbidden() };
    let form = UpdateForm { state: fields.get("state").to_owned(), body: text(fields.get("body")) };
    let done = async {
        let n = post_id(&id)?;
        let state = match form.state.trim() {
            "" => None,
            s => Some(s.parse::<PostState>().map_err(|e| ApiError::unprocessable(format!("`state`: {e}")))?),
        };
        actions::add_update(&app, &op.actor(), n, state, &form.body).await.map(|_| n)
    }
    .await;
    match done {
        Ok(n) => see_other(&site_path(&app, &format!("/admin/posts/{n}"))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let r = post_page(&app, &op, &id, Some(Failed::Update(form, e))).await;
            respond(&app, Some(op), r).await
        }
        Err(e) => respond(&app, Some(op), Err(e)).await,
    }
}

/// `POST /admin/posts/{id}/correct` (`note`, `title`, `body`, `starts`, `ends`).
pub async fn correct(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(fields) = op.form(&body) else { return forbidden() };
    let form = CorrectForm::from(&fields);
    let done = async {
        let n = post_id(&id)?;
        let post = actions::post(&app, n).await?;
        let zone = app.site().await?.zone;
        let correction = form.correction(&post, &zone)?;
        actions::correct_post(&app, &op.actor(), n, &form.note, correction).await.map(|_| n)
    }
    .await;
    match done {
        Ok(n) => see_other(&site_path(&app, &format!("/admin/posts/{n}"))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let r = post_page(&app, &op, &id, Some(Failed::Correct(form, e))).await;
            respond(&app, Some(op), r).await
        }
        Err(e) => respond(&app, Some(op), Err(e)).await,
    }
}

async fn post_page(app: &App, op: &Operator, id: &str, failed: Option<Failed>) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let n = post_id(id)?;
    let p = actions::post(app, n).await?;
    let (updates, revisions, components) =
        (app.store.updates(n).await?, app.store.revisions(n).await?, app.store.components().await?);
    let zone = &cx.site.zone;
    let (failure, update, correct) = match failed {
        None => (None, UpdateForm::default(), CorrectForm::of(&p, zone)),
        Some(Failed::Update(f, e)) => {
            (Some(("The update was not added:", e, "#add-update")), f, CorrectForm::of(&p, zone))
        }
        Some(Failed::Correct(f, e)) => (Some(("The post was not corrected:", e, "#correct")), UpdateForm::default(), f),
    };
    let posts = app.store.posts().await?;
    let view = PostView {
        site: &cx.site,
        now: cx.now,
        post: &p,
        updates: &updates,
        revisions: &revisions,
        components: &components,
        replaces: p.replaces.and_then(|r| posts.iter().find(|o| o.id == r)),
        replaced_by: forewarn_status::pages::replaced_by(&p, &posts),
    };
    let status = if failure.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let main = html! {
        p class="meta" {
            a href=(cx.path("/admin/posts")) { "← Posts" } " · "
            a href=(cx.path(&format!("/posts/{}", p.id))) { "Public page" }
            @if let Some(c) = &p.campaign {
                " · " a href=(cx.path(&format!("/admin/campaigns/{c}"))) { "Campaign " (c) }
            }
        } "\n"
        @if let Some((what, e, form)) = &failure {
            (cx.error_box(what, e))
            p class="meta" { a href=(form) { "To the form" } } "\n"
        }
        (post_article(&view))
        (update_form(&cx, &p, &update))
        (correct_form(&cx, &p, &correct))
    };
    Ok(answer(status, cx.page(&p.title, main)))
}

/// The form that appends an update to post `p`, holding `form`.
fn update_form(cx: &Cx, p: &Post, form: &UpdateForm) -> Markup {
    html! {
        section id="add-update" {
            "\n"
            h2 { "Add an update" } "\n"
            form class="stack" method="post" action=(cx.path(&format!("/admin/posts/{}/updates", p.id))) {
                (cx.csrf()) "\n"
                label {
                    "New state "
                    select name="state" {
                        (option("", &format!("no change ({})", p.state.label()), form.state.is_empty()))
                        @for s in p.kind.states() { (option(s.name(), s.label(), s.name() == form.state)) }
                    }
                } "\n"
                label {
                    "Text " span class="hint" { "Markdown" }
                    textarea name="body" rows="5" required { (form.body) }
                } "\n"
                div { button type="submit" { "Add the update" } } "\n"
            } "\n"
        } "\n"
    }
}

/// The form that corrects post `p`, holding `form`.
fn correct_form(cx: &Cx, p: &Post, form: &CorrectForm) -> Markup {
    let zone = cx.site.zone.name();
    html! {
        section id="correct" {
            "\n"
            h2 { "Correct the post" } "\n"
            p class="hint" {
                "A correction changes the post; how it read before stays visible on its page with your note."
            } "\n"
            form class="stack" method="post" action=(cx.path(&format!("/admin/posts/{}/correct", p.id))) {
                (cx.csrf()) "\n"
                label {
                    "What was wrong " span class="hint" { "shown with the correction" }
                    input type="text" name="note" value=(form.note) required;
                } "\n"
                label { "Title " input type="text" name="title" value=(form.title) required; } "\n"
                label { "Text " span class="hint" { "Markdown" } textarea name="body" rows="10" { (form.body) } } "\n"
                (window_fields(zone, &form.starts, &form.ends)) "\n"
                div { button type="submit" { "Correct the post" } } "\n"
            } "\n"
        } "\n"
    }
}

/// A post form's window: when it starts and ends, in the site's `zone`.
fn window_fields(zone: &str, starts: &str, ends: &str) -> Markup {
    html! {
        div class="fields" {
            "\n"
            label {
                "Starts " span class="hint" { (zone) }
                input type="datetime-local" name="starts" value=(starts);
            } "\n"
            label {
                "Ends " span class="hint" { (zone) }
                input type="datetime-local" name="ends" value=(ends);
            } "\n"
        }
    }
}
