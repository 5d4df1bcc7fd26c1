//! `/admin/posts`: every post, and the form that writes a new one; `/admin/posts/{id}`: a
//! post as its public page shows it, with the forms that append an update and correct it.
//! Times in the forms are the platform's local time (`datetime-local` inputs), turned into
//! instants through the zone's rules at that date.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_model::Zone;
use forewarn_status::escape::Esc;
use forewarn_status::pages::{PostView, badges, post_article, window_html};
use forewarn_status::{Impact, Post, PostKind, PostState};
use forewarn_store::{Correction, NewPost};
use jiff::Timestamp;

use super::session::forbidden;
use super::{Cx, Fields, Operator, html, option, respond, see_other, site_path};
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
    let mut main = String::from("<h1>Posts</h1>\n");
    let status = match &failed {
        Some(e) => {
            main.push_str(&cx.error_box("The post was not created:", e));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        None => StatusCode::OK,
    };
    let _ = writeln!(main, "<p><a href=\"#new-post\">Write a new post</a></p>");
    if posts.is_empty() {
        main.push_str("<p class=\"empty\">No posts yet.</p>\n");
    } else {
        main.push_str(
            "<div class=\"scroll\"><table class=\"list\" id=\"posts\">\n<thead><tr><th>Post</th><th>Kind and state</th>\
             <th>When</th><th>Campaign</th><th>Last change</th></tr></thead>\n<tbody>\n",
        );
        for p in &posts {
            let _ = write!(
                main,
                "<tr class=\"post-row\" data-id=\"{id}\" data-kind=\"{}\" data-state=\"{}\"><td><a href=\"{}\">{}</a> \
                 <span class=\"hint\">#{id}</span></td><td>",
                p.kind.name(),
                p.state.name(),
                Esc(&cx.path(&format!("/admin/posts/{}", p.id))),
                Esc(&p.title),
                id = p.id,
            );
            badges(&mut main, p);
            main.push_str("</td><td>");
            window_html(&mut main, p.starts, p.ends, &cx.site);
            main.push_str("</td><td>");
            if let Some(c) = &p.campaign {
                let _ = write!(main, "<a href=\"{}\">{}</a>", Esc(&cx.path(&format!("/admin/campaigns/{c}"))), Esc(c));
            }
            let _ = writeln!(main, "</td><td>{}</td></tr>", cx.time(p.updated));
        }
        main.push_str("</tbody>\n</table></div>\n");
    }

    let _ = write!(
        main,
        "<section id=\"new-post\">\n<h2>New post</h2>\n<form class=\"stack\" method=\"post\" action=\"{}\">{}\n\
         <div class=\"fields\">\n<label>Kind <select name=\"kind\">",
        Esc(&cx.path("/admin/posts")),
        cx.csrf()
    );
    let kind = if form.kind.is_empty() { "maintenance" } else { form.kind.as_str() };
    for k in PostKind::ALL {
        option(&mut main, k.name(), k.name(), k.name() == kind);
    }
    main.push_str("</select></label>\n<label>State <select name=\"state\">");
    option(&mut main, "", "the kind's first", form.state.is_empty());
    for k in PostKind::ALL {
        let _ = write!(main, "<optgroup label=\"{}\">", k.name());
        for s in k.states() {
            option(&mut main, s.name(), s.label(), s.name() == form.state);
        }
        main.push_str("</optgroup>");
    }
    main.push_str("</select></label>\n<label>Impact <span class=\"hint\">incidents</span><select name=\"impact\">");
    option(&mut main, "", "the kind's default (incident: minor)", form.impact.is_empty());
    for i in Impact::ALL {
        option(&mut main, i.name(), forewarn_status::status::impact_label(i), i.name() == form.impact);
    }
    main.push_str(
        "</select></label>\n<label>Replaces <span class=\"hint\">a cancelled maintenance</span>\
         <select name=\"replaces\">",
    );
    option(&mut main, "", "nothing", form.replaces.is_empty());
    let replaced: Vec<i64> = posts.iter().filter_map(|p| p.replaces).collect();
    for p in posts.iter().filter(|p| p.kind == PostKind::Maintenance && p.state == PostState::Cancelled) {
        if replaced.contains(&p.id) && form.replaces != p.id.to_string() {
            continue;
        }
        option(&mut main, &p.id.to_string(), &format!("#{} {}", p.id, p.title), form.replaces == p.id.to_string());
    }
    main.push_str("</select></label>\n<label>Campaign <select name=\"campaign\">");
    option(&mut main, "", "none", form.campaign.is_empty());
    for c in &campaigns {
        option(&mut main, &c.id, &format!("{} ({})", c.title, c.id), c.id == form.campaign);
    }
    let zone = cx.site.zone.name();
    let _ = write!(
        main,
        "</select></label>\n</div>\n\
         <label>Title <input type=\"text\" name=\"title\" value=\"{}\" required></label>\n\
         <label>Text <span class=\"hint\">Markdown</span><textarea name=\"body\" rows=\"8\">{}</textarea></label>\n\
         <div class=\"fields\">\n\
         <label>Starts <span class=\"hint\">{zone}</span><input type=\"datetime-local\" name=\"starts\" value=\"{}\"></label>\n\
         <label>Ends <span class=\"hint\">{zone}</span><input type=\"datetime-local\" name=\"ends\" value=\"{}\"></label>\n\
         </div>\n<fieldset><legend>Affects</legend><div class=\"checks\">",
        Esc(&form.title),
        Esc(&form.body),
        Esc(&form.starts),
        Esc(&form.ends),
        zone = Esc(zone),
    );
    for c in &components {
        let _ = write!(
            main,
            "<label><input type=\"checkbox\" name=\"components\" value=\"{}\"{}> {}</label>",
            Esc(&c.id),
            if form.components.contains(&c.id) { " checked" } else { "" },
            Esc(&c.name)
        );
    }
    if components.is_empty() {
        main.push_str("<span class=\"hint\">No components yet: they come with the inventory.</span>");
    }
    main.push_str(
        "</div></fieldset>\n<div><button type=\"submit\">Create the post</button></div>\n</form>\n</section>\n",
    );
    Ok(html(status, cx.page("Posts", &main)))
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
    let (head, update, correct) = match failed {
        None => (String::new(), UpdateForm::default(), CorrectForm::of(&p, zone)),
        Some(Failed::Update(f, e)) => {
            (failure(&cx, "The update was not added:", &e, "#add-update"), f, CorrectForm::of(&p, zone))
        }
        Some(Failed::Correct(f, e)) => {
            (failure(&cx, "The post was not corrected:", &e, "#correct"), UpdateForm::default(), f)
        }
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
    Ok(render(&cx, &view, head, update, correct))
}

/// The error box, and a link to the form that failed.
fn failure(cx: &Cx, what: &str, e: &ApiError, form: &str) -> String {
    let mut out = cx.error_box(what, e);
    let _ = writeln!(out, "<p class=\"meta\"><a href=\"{}\">To the form</a></p>", Esc(form));
    out
}

/// The post's page: the post as the public page shows it, then the forms.
fn render(cx: &Cx, view: &PostView<'_>, head: String, update: UpdateForm, correct: CorrectForm) -> Response {
    let p = view.post;
    let status = if head.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut main = String::with_capacity(8192 + p.body.len() * 3);
    let _ = write!(
        main,
        "<p class=\"meta\"><a href=\"{}\">← Posts</a> · <a href=\"{}\">Public page</a>",
        Esc(&cx.path("/admin/posts")),
        Esc(&cx.path(&format!("/posts/{}", p.id)))
    );
    if let Some(c) = &p.campaign {
        let _ =
            write!(main, " · <a href=\"{}\">Campaign {}</a>", Esc(&cx.path(&format!("/admin/campaigns/{c}"))), Esc(c));
    }
    main.push_str("</p>\n");
    main.push_str(&head);
    main.push_str(&post_article(view));

    let action = cx.path(&format!("/admin/posts/{}", p.id));
    let _ = write!(
        main,
        "<section id=\"add-update\">\n<h2>Add an update</h2>\n<form class=\"stack\" method=\"post\" \
         action=\"{}/updates\">{}\n<label>New state <select name=\"state\">",
        Esc(&action),
        cx.csrf()
    );
    option(&mut main, "", &format!("no change ({})", p.state.label()), update.state.is_empty());
    for s in p.kind.states() {
        option(&mut main, s.name(), s.label(), s.name() == update.state);
    }
    let _ = write!(
        main,
        "</select></label>\n<label>Text <span class=\"hint\">Markdown</span><textarea name=\"body\" rows=\"5\" \
         required>{}</textarea></label>\n<div><button type=\"submit\">Add the update</button></div>\n</form>\n</section>\n",
        Esc(&update.body)
    );

    let zone = Esc(cx.site.zone.name());
    let _ = write!(
        main,
        "<section id=\"correct\">\n<h2>Correct the post</h2>\n<p class=\"hint\">A correction changes the post; how it \
         read before stays visible on its page with your note.</p>\n<form class=\"stack\" method=\"post\" \
         action=\"{}/correct\">{}\n\
         <label>What was wrong <span class=\"hint\">shown with the correction</span><input type=\"text\" name=\"note\" \
         value=\"{}\" required></label>\n\
         <label>Title <input type=\"text\" name=\"title\" value=\"{}\" required></label>\n\
         <label>Text <span class=\"hint\">Markdown</span><textarea name=\"body\" rows=\"10\">{}</textarea></label>\n\
         <div class=\"fields\">\n\
         <label>Starts <span class=\"hint\">{zone}</span><input type=\"datetime-local\" name=\"starts\" value=\"{}\"></label>\n\
         <label>Ends <span class=\"hint\">{zone}</span><input type=\"datetime-local\" name=\"ends\" value=\"{}\"></label>\n\
         </div>\n<div><button type=\"submit\">Correct the post</button></div>\n</form>\n</section>\n",
        Esc(&action),
        cx.csrf(),
        Esc(&correct.note),
        Esc(&correct.title),
        Esc(&correct.body),
        Esc(&correct.starts),
        Esc(&correct.ends),
    );
    html(status, cx.page(&p.title, &main))
}
