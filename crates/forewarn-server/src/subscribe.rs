//! Subscribing to the status page by email, with double opt-in: `/subscribe` (the form, and
//! what it posts: a new address, or new choices for a subscribed one, are sent a link that
//! applies them), `/subscribe/confirm?token=...` (that signed, expiring link: it confirms
//! only the request it was sent for) and `/unsubscribe?token=...` (the link in every
//! message, signed for that message's subscription and expiring: a GET shows a button, so
//! that link checkers cannot unsubscribe anyone; a POST, as mail clients send for
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, unsubscribes).
//!
//! Public pages: no login, no cookies. Stable hooks for tests: `#subscribe` (the form),
//! `#subscribed`, `#confirmed`, `#unsubscribe`, `#unsubscribed`, `#error`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use forewarn_status::pages::{Frame, page};
use maud::{Markup, html};
use serde::Deserialize;

use crate::App;
use crate::actions;
use crate::error::ApiError;
use crate::limits::{RateLimiter, client_address};
use forewarn_store::Confirmed;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/subscribe", get(form).post(submit))
        .route("/subscribe/confirm", get(confirm))
        .route("/unsubscribe", get(unsubscribe_form).post(unsubscribe))
}

const CSS: &str = "\
form.stack{display:grid;gap:.8rem;background:var(--card);border:1px solid var(--line);border-radius:8px;\
padding:1rem 1.1rem;margin:0 0 1rem;max-width:34rem}
form.stack label,form.stack legend{display:block;font-weight:600;font-size:.92rem;padding:0}
form.stack fieldset{border:0;padding:0;margin:0;min-width:0}
input[type=email],select{display:block;margin-top:.25rem;font:inherit;font-weight:400;padding:.4rem .55rem;\
border:1px solid #afb8c1;border-radius:6px;background:#fff;color:var(--fg);width:100%}
.checks{display:flex;flex-wrap:wrap;gap:.3rem 1.1rem;padding:.4rem 0}
.checks label{display:inline-flex;gap:.35rem;align-items:baseline;font-weight:400!important}
button{font:inherit;font-size:.95rem;font-weight:600;padding:.4rem .95rem;border-radius:6px;border:1px solid #0a58ca;\
background:#0a58ca;color:#fff;cursor:pointer;justify-self:start}
.hint{color:var(--muted);font-size:.88rem;font-weight:400}
.error{background:#ffebe9;border:1px solid #ff8182;border-radius:8px;padding:.6rem .9rem;margin:0 0 1rem;color:#82071e}
";

/// A public page around `main`.
async fn answer(app: &App, status: StatusCode, title: &str, main: Markup) -> Response {
    let site = match app.site().await {
        Ok(site) => site,
        Err(e) => return e.into_response(),
    };
    let frame = Frame { css: CSS, ..Frame::public(title) };
    let body = page(&site, app.now(), &frame, main);
    (status, [(CONTENT_TYPE, "text/html; charset=utf-8"), (CACHE_CONTROL, "no-store")], body).into_response()
}

/// The form, with what was typed and an error when there was one.
async fn form_page(
    app: &App,
    status: StatusCode,
    email: &str,
    language: &str,
    chosen: &[String],
    error: Option<&ApiError>,
) -> Response {
    let components = match app.store.components().await {
        Ok(c) => c,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let action = app.site().await.map(|s| s.path("/subscribe")).unwrap_or_else(|_| "/subscribe".to_owned());
    let main = html! {
        h1 { "Get updates by email" } "\n"
        p {
            "We send an email when maintenance is announced, changes or ends, and when an incident is opened, \
             updated or resolved. Every message has a link to stop them."
        } "\n"
        @if let Some(e) = error {
            div class="error" id="error" role="alert" { p { (e.message) } } "\n"
        }
        form class="stack" id="subscribe" method="post" action=(action) {
            "\n"
            label { "Email address" input type="email" name="email" required autocomplete="email" value=(email); } "\n"
            label {
                "Language"
                select name="language" {
                    @for (code, label) in [("en", "English"), ("de", "Deutsch")] {
                        option value=(code) selected[language == code] { (label) }
                    }
                }
            } "\n"
            @if !components.is_empty() {
                fieldset {
                    legend { "Only about these " span class="hint" { "(none ticked: everything)" } }
                    div class="checks" {
                        @for c in &components {
                            label {
                                input type="checkbox" name="components" value=(c.id) checked[chosen.contains(&c.id)];
                                " " (c.name)
                            }
                        }
                    }
                } "\n"
            }
            button type="submit" { "Subscribe" } "\n"
        } "\n"
    };
    answer(app, status, "Get updates by email", main).await
}

/// `GET /subscribe`.
async fn form(State(app): State<Arc<App>>) -> Response {
    form_page(&app, StatusCode::OK, "", "en", &[], None).await
}

/// How many subscription requests the service takes a minute, from all clients together.
pub const REQUESTS_PER_MINUTE: u32 = 30;
/// How many subscription requests one client address may make an hour. Per email address,
/// the store sends at most one confirmation an hour whoever asks.
pub const REQUESTS_PER_CLIENT_HOUR: u32 = 10;

/// The limits of `POST /subscribe`: all clients together per minute, each client per hour.
#[derive(Debug)]
pub(crate) struct Limits {
    all: RateLimiter,
    by_client: RateLimiter,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            all: RateLimiter::new(REQUESTS_PER_MINUTE, Duration::from_secs(60)),
            by_client: RateLimiter::new(REQUESTS_PER_CLIENT_HOUR, Duration::from_secs(3600)),
        }
    }
}

impl Limits {
    /// Counts a request of `client` at `now`: `Err(wait)` when it is one too many.
    fn take(&self, client: &str, now: Duration) -> Result<(), Duration> {
        self.by_client.hit(client, now)?;
        self.all.hit("", now)
    }
}

/// `POST /subscribe` (a form: `email`, `language`, `components` repeated). The answer is
/// the same whatever the address's state (new, waiting for confirmation, confirmed,
/// unsubscribed), so that it tells nobody whether an address is subscribed.
async fn submit(
    State(app): State<Arc<App>>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Response {
    let client = client_address(connection.as_ref().map(|e| &e.0));
    // The service's clock, in whole seconds: a limit of an hour is counted in the time the
    // service tells (pinned in tests), not in the process's monotonic ticks.
    let now = Duration::from_secs(u64::try_from(app.now().as_second()).unwrap_or(0));
    if let Err(wait) = app.subscribes.take(&client, now) {
        let secs = wait.as_secs().max(1);
        let main = html! {
            h1 id="error" { "Too many requests" } "\n"
            p {
                "Too many requests for updates came from here or from everyone together. Try again in " (secs)
                " seconds."
            } "\n"
        };
        let mut r = answer(&app, StatusCode::TOO_MANY_REQUESTS, "Too many requests", main).await;
        if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        return r;
    }
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |name: &str| fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str()).trim().to_owned();
    let email = get("email");
    let language = match get("language").as_str() {
        "" => "en".to_owned(),
        l => l.to_owned(),
    };
    let components: Vec<String> = fields.iter().filter(|(n, _)| n == "components").map(|(_, v)| v.clone()).collect();
    match actions::subscribe(&app, &email, &components, &language).await {
        Ok(_) => {
            let main = html! {
                h1 id="subscribed" { "Check your mail" } "\n"
                p {
                    "We sent " strong { (email) } " a link (at most one an hour). If the address is not subscribed \
                     yet, follow the link within 7 days to start getting updates; until then we send nothing else. If \
                     it is subscribed already, the link changes what it gets to what you chose here, and the email has \
                     a link to unsubscribe too."
                } "\n"
            };
            answer(&app, StatusCode::OK, "Check your mail", main).await
        }
        Err(e) if e.status.is_client_error() => {
            form_page(&app, StatusCode::UNPROCESSABLE_ENTITY, &email, &language, &components, Some(&e)).await
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// A page that says why a link did not work.
async fn link_error(app: &App, e: ApiError) -> Response {
    let again = app.site().await.map(|s| s.path("/subscribe")).unwrap_or_else(|_| "/subscribe".to_owned());
    let main = html! {
        h1 { "This link does not work" } "\n"
        div class="error" id="error" role="alert" { p { (e.message) } } "\n"
        p { a href=(again) { "Subscribe again" } } "\n"
    };
    let status = if e.status.is_server_error() { e.status } else { StatusCode::BAD_REQUEST };
    answer(app, status, "This link does not work", main).await
}

/// `GET /subscribe/confirm?token=...`.
async fn confirm(State(app): State<Arc<App>>, Query(q): Query<TokenQuery>) -> Response {
    match actions::confirm_subscription(&app, &q.token).await {
        Ok(done) => {
            let s = &done.subscriber;
            let (title, said) = match done.outcome {
                Confirmed::Subscribed => ("You are subscribed", "now gets"),
                Confirmed::Changed => ("Your subscription is changed", "now gets"),
                Confirmed::Already => ("This link was used already", "gets"),
            };
            let main = html! {
                h1 id="confirmed" { (title) } "\n"
                p {
                    (s.email) " " (said) " an email when maintenance is announced or changes and when incidents are \
                     updated"
                    @if !s.components.is_empty() { ", about " (s.components.join(", ")) }
                    "."
                } "\n"
            };
            answer(&app, StatusCode::OK, title, main).await
        }
        Err(e) => link_error(&app, e).await,
    }
}

/// The page of an unsubscribe link whose subscription has ended already.
async fn not_subscribed(app: &App) -> Response {
    let main = html! {
        h1 id="unsubscribed" { "Not subscribed" } "\n"
        p { "The subscription this link came for has ended: we send it nothing more." } "\n"
    };
    answer(app, StatusCode::OK, "Not subscribed", main).await
}

/// `GET /unsubscribe?token=...`: asks first.
async fn unsubscribe_form(State(app): State<Arc<App>>, Query(q): Query<TokenQuery>) -> Response {
    let sub = match actions::unsubscribe_link(&app, &q.token).await {
        Ok(Some(sub)) => sub,
        Ok(None) => return not_subscribed(&app).await,
        Err(e) => return link_error(&app, e).await,
    };
    let action = app.site().await.map(|s| s.path("/unsubscribe")).unwrap_or_else(|_| "/unsubscribe".to_owned());
    let main = html! {
        h1 { "Stop the emails?" } "\n"
        form class="stack" id="unsubscribe" method="post" action={ (action) "?token=" (q.token) } {
            "\n"
            p { (sub.email) " will get no more updates from us." } "\n"
            button type="submit" { "Unsubscribe" } "\n"
        } "\n"
    };
    answer(&app, StatusCode::OK, "Unsubscribe", main).await
}

/// `POST /unsubscribe?token=...` (the button, or a mail client's one-click request).
async fn unsubscribe(State(app): State<Arc<App>>, Query(q): Query<TokenQuery>) -> Response {
    match actions::unsubscribe(&app, &q.token).await {
        Ok(Some(sub)) => {
            let main = html! {
                h1 id="unsubscribed" { "Unsubscribed" } "\n"
                p { (sub.email) " gets no more updates from us." } "\n"
            };
            answer(&app, StatusCode::OK, "Unsubscribed", main).await
        }
        Ok(None) => not_subscribed(&app).await,
        Err(e) => link_error(&app, e).await,
    }
}
