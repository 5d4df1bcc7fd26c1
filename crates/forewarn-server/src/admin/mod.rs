//! The admin pages: server-rendered HTML for operators who log in with a name and password
//! (`forewarn operator add`). Campaigns with their plan and the buttons that move them,
//! posts with a form to write one, its timeline and forms to update or correct it, and the
//! audit log. No JavaScript; the public pages' layout and style, with forms and tables. Every
//! page is a maud template (checked at compile time, every interpolation escaped); the one
//! piece of markup not written here is the plan's SVG, which the planner's renderer wrote.
//!
//! - `session.rs`: login, logout, the session cookie and the CSRF token of every form.
//! - `campaigns.rs`: `/admin` and `/admin/campaigns/{id}` with its actions.
//! - `posts.rs`: `/admin/posts` and `/admin/posts/{id}` with their forms.
//! - `components.rs`: `/admin/components`: each component's status, and setting it by hand.
//! - `changes.rs`: `/admin/campaigns/{id}/edit` (a draft's file) and
//!   `/admin/campaigns/{id}/cancel` (the confirmation, with the reason); reasons of pauses.
//! - `slots.rs`: the slot table on a campaign's page, with its customer filter and CSV link.
//! - `tokens.rs`: `/admin/tokens`, the tokens (API tokens and machines' tokens) with a button that revokes one.
//! - `review.rs`: `/admin/campaigns/{id}/review`: what publishing a plan version changes and whom it tells.
//! - `audit.rs`: `/admin/audit`.
//! - `mail.rs`: `/admin/mail`: the outbox as a mailbox (the capture mailbox without SMTP).
//!
//! Every write goes through [`crate::actions`], as the JSON API's do, and is recorded with
//! the actor `operator:NAME`. A form with errors comes back with the input kept and the
//! message (422); a write that worked redirects (303) to the page that shows it.
//!
//! Stable hooks for browser tests: `#login`, `#error`, `#campaigns`, `.campaign[data-id]
//! [data-state]`, `#campaign[data-state]`, `#actions`, `#plan`, `#plan-svg svg`,
//! `#unscheduled`, `#plans`, `#posts`, `.post-row[data-id][data-state]`, `#new-post`,
//! `#post` (as on the public page), `#add-update`, `#correct`, `#components`,
//! `.component-row[data-id][data-status][data-manual][data-derived]`, `#audit`, `.audit-row`, `#mail`,
//! `.mail-row[data-id][data-state][data-channel]`, `#mail-subject`, `#mail-meta[data-state]`,
//! `#mail-error`, `#mail-actions`, `pre[data-part]`, `#edit`, `#cancel-confirm`, `#slots`,
//! `#slots-filter`, `#slots-csv`, `.slot-row[data-target][data-state]`, `#tokens`,
//! `.token-row[data-id][data-state]`.

mod audit;
mod campaigns;
mod changes;
mod components;
pub mod mail;
mod posts;
mod review;
mod session;
mod slots;
mod tokens;

pub use session::{Operator, SESSION_HOURS};

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use forewarn_status::Site;
use forewarn_status::pages::{Frame, page};
use jiff::Timestamp;
use maud::{Markup, PreEscaped, html};

use crate::App;
use crate::error::ApiError;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/login", get(session::login_form).post(session::login))
        .route("/admin/logout", post(session::logout))
        .route("/admin", get(campaigns::index))
        .route("/admin/", get(campaigns::index))
        .route("/admin/campaigns/{id}", get(campaigns::show))
        .route("/admin/campaigns/{id}/plan", post(campaigns::plan))
        .route("/admin/campaigns/{id}/publish", post(campaigns::publish))
        .route("/admin/campaigns/{id}/review", get(review::show))
        .route("/admin/campaigns/{id}/move", get(review::show_move).post(campaigns::move_slot))
        .route("/admin/campaigns/{id}/pause", post(campaigns::pause))
        .route("/admin/campaigns/{id}/resume", post(campaigns::resume))
        .route("/admin/campaigns/{id}/locks/{machine}/release", post(campaigns::release))
        .route("/admin/campaigns/{id}/cancel", get(changes::confirm_cancel).post(changes::cancel))
        .route("/admin/campaigns/{id}/edit", get(changes::edit_form_page).post(changes::edit))
        .route("/admin/tokens", get(tokens::index))
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke))
        .route("/admin/posts", get(posts::index).post(posts::create))
        .route("/admin/posts/{id}", get(posts::show))
        .route("/admin/posts/{id}/updates", post(posts::add_update))
        .route("/admin/posts/{id}/correct", post(posts::correct))
        .route("/admin/components", get(components::index))
        .route("/admin/components/{id}", post(components::set))
        .route("/admin/audit", get(audit::show))
        .route("/admin/mail", get(mail::index))
        .route("/admin/mail/{id}", get(mail::show))
        .route("/admin/mail/{id}/retry", post(mail::retry))
        .layer(axum::middleware::map_response(private))
}

/// Admin answers are never cached, framed, or allowed to load anything from elsewhere.
async fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("same-origin"));
    response
}

/// What the admin pages keep between requests: the pictures of recently shown plans (a plan
/// is drawn by planning again, which takes seconds for a big fleet).
#[derive(Debug, Default)]
pub struct AdminState {
    pictures: Mutex<Vec<(String, i64, Arc<campaigns::Picture>)>>,
}

/// What rendering an admin page needs: the site, the time, and who is logged in.
struct Cx {
    site: Site,
    now: Timestamp,
    op: Option<Operator>,
}

impl Cx {
    async fn new(app: &App, op: Option<Operator>) -> Result<Cx, ApiError> {
        Ok(Cx { site: app.site().await?, now: app.now(), op })
    }

    /// A path below the site's base: `/admin/posts/3`, or `/status/admin/posts/3`.
    fn path(&self, path: &str) -> String {
        self.site.path(path)
    }

    /// The hidden CSRF field every form of a logged-in page carries.
    fn csrf(&self) -> Markup {
        html! {
            @if let Some(op) = &self.op {
                input type="hidden" name="csrf" value=(op.csrf);
            }
        }
    }

    /// A form that posts to `action` with one button (and the CSRF field, and `hidden` fields).
    fn button(&self, action: &str, label: &str, class: &str, hidden: &[(&str, &str)]) -> Markup {
        html! {
            form method="post" action=(self.path(action)) {
                (self.csrf())
                @for (name, value) in hidden {
                    input type="hidden" name=(name) value=(value);
                }
                button type="submit" class=(class) { (label) }
            }
        }
    }

    /// The header's links: the admin pages and the status page, and the logout button.
    fn nav(&self) -> Markup {
        html! {
            @if let Some(op) = &self.op {
                @for (path, label) in [
                    ("/admin", "Campaigns"),
                    ("/admin/posts", "Posts"),
                    ("/admin/components", "Components"),
                    ("/admin/mail", "Mail"),
                    ("/admin/tokens", "Tokens"),
                    ("/admin/audit", "Audit log"),
                    ("/", "Status page"),
                ] {
                    a href=(self.path(path)) { (label) }
                }
                form class="logout" method="post" action=(self.path("/admin/logout")) {
                    (self.csrf())
                    button type="submit" class="link" title={ "Logged in as " (op.name) } { "Log out " (op.name) }
                }
            } @else {
                a href=(self.path("/")) { "Status page" }
            }
        }
    }

    /// The whole page around `main`.
    fn page(&self, title: &str, main: Markup) -> String {
        let nav = self.nav();
        let frame = Frame { title, suffix: "admin", home: "/admin", nav: Some(&nav), css: CSS };
        page(&self.site, self.now, &frame, main)
    }

    /// `<time>` in the site's zone.
    fn time(&self, t: Timestamp) -> Markup {
        forewarn_status::pages::time(t, &self.site)
    }

    /// The error box at the top of a page that failed to do something.
    fn error_box(&self, what: &str, e: &ApiError) -> Markup {
        html! {
            div class="error" id="error" role="alert" {
                p {
                    @if !what.is_empty() {
                        strong { (what) } " "
                    }
                    (e.message)
                }
                @if !e.errors.is_empty() {
                    ul {
                        @for d in &e.errors {
                            li { (d.to_string()) }
                        }
                    }
                }
            } "\n"
        }
    }

    /// A page that only says what went wrong (an unknown campaign, the database away).
    fn error_page(&self, e: &ApiError) -> Response {
        let title = match e.status {
            StatusCode::NOT_FOUND => "Not found",
            s if s.is_server_error() => "Something went wrong",
            _ => "Cannot do that",
        };
        let main = html! {
            h1 { (title) } "\n"
            (self.error_box("", e))
            p { a href=(self.path("/admin")) { "Back to the campaigns" } } "\n"
        };
        answer(e.status, self.page(title, main))
    }
}

/// A path of the site (below its base URL's path), without asking the store for the zone.
fn site_path(app: &App, path: &str) -> String {
    Site::new("", app.config.base_url.clone(), forewarn_model::Zone::utc()).path(path)
}

/// An HTML answer.
fn answer(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], body).into_response()
}

fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// A page of its own, without the site's layout: a heading and a sentence (`message` is text).
fn bare_page(title: &str, message: &str) -> String {
    html! {
        // A constant: the doctype as the pages write it.
        (PreEscaped("<!doctype html>\n"))
        html lang="en" {
            head { meta charset="utf-8"; title { (title) } }
            body { h1 { (title) } p { (message) } }
        } "\n"
    }
    .into_string()
}

/// An error without a page to show it on (the site itself could not be read).
fn bare_error(e: &ApiError) -> Response {
    answer(e.status, bare_page("Error", &e.message))
}

/// The page a handler made, or its error shown in the admin layout.
async fn respond(app: &App, op: Option<Operator>, result: Result<Response, ApiError>) -> Response {
    match result {
        Ok(r) => r,
        Err(e) => match Cx::new(app, op).await {
            Ok(cx) => cx.error_page(&e),
            Err(_) => bare_error(&e),
        },
    }
}

/// A submitted form's fields, in order (a field may repeat: checkboxes).
#[derive(Debug, Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    /// The fields of a `application/x-www-form-urlencoded` body; nothing if it is not one.
    fn parse(body: &Bytes) -> Fields {
        Fields(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    /// The first value of a field, or "".
    fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of a field.
    fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect()
    }
}

/// `<option value=V selected>LABEL</option>`.
fn option(value: &str, label: &str, selected: bool) -> Markup {
    html! { option value=(value) selected[selected] { (label) } }
}

/// The admin pages' style, after the public pages' (the plan's SVG brings its own, for its
/// elements; no class here is one it uses).
const CSS: &str = include_str!("admin.css");

#[cfg(test)]
mod tests;
