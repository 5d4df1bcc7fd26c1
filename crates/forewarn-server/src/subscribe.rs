//! Subscribing to the status page by email, with double opt-in: `/subscribe` (the form, and
//! what it posts), `/subscribe/confirm?token=...` (the signed, expiring link of the
//! confirmation mail) and `/unsubscribe?token=...` (the link in every message: a GET shows
//! a button, so that link checkers cannot unsubscribe anyone; a POST, as mail clients send
//! for `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, unsubscribes).
//!
//! Public pages: no login, no cookies. Stable hooks for tests: `#subscribe` (the form),
//! `#subscribed`, `#confirmed`, `#unsubscribe`, `#unsubscribed`, `#error`.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use forewarn_status::escape::Esc;
use forewarn_status::pages::{Frame, page};
use serde::Deserialize;

use crate::App;
use crate::actions;
use crate::error::ApiError;

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
async fn answer(app: &App, status: StatusCode, title: &str, main: &str) -> Response {
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
    let mut main = String::from("<h1>Get updates by email</h1>\n");
    main.push_str(
        "<p>We send an email when maintenance is announced, changes or ends, and when an incident is opened, \
         updated or resolved. Every message has a link to stop them.</p>\n",
    );
    if let Some(e) = error {
        let _ = writeln!(main, "<div class=\"error\" id=\"error\" role=\"alert\"><p>{}</p></div>", Esc(&e.message));
    }
    let _ = write!(
        main,
        "<form class=\"stack\" id=\"subscribe\" method=\"post\" action=\"{}\">\n\
         <label>Email address<input type=\"email\" name=\"email\" required autocomplete=\"email\" value=\"{}\"></label>\n\
         <label>Language<select name=\"language\">",
        Esc(&app.site().await.map(|s| s.path("/subscribe")).unwrap_or_else(|_| "/subscribe".to_owned())),
        Esc(email)
    );
    for (code, label) in [("en", "English"), ("de", "Deutsch")] {
        let _ = write!(
            main,
            "<option value=\"{code}\"{}>{label}</option>",
            if language == code { " selected" } else { "" }
        );
    }
    main.push_str("</select></label>\n");
    if !components.is_empty() {
        main.push_str(
            "<fieldset><legend>Only about these <span class=\"hint\">(none ticked: everything)</span></legend>\
             <div class=\"checks\">",
        );
        for c in &components {
            let _ = write!(
                main,
                "<label><input type=\"checkbox\" name=\"components\" value=\"{}\"{}> {}</label>",
                Esc(&c.id),
                if chosen.contains(&c.id) { " checked" } else { "" },
                Esc(&c.name)
            );
        }
        main.push_str("</div></fieldset>\n");
    }
    main.push_str("<button type=\"submit\">Subscribe</button>\n</form>\n");
    answer(app, status, "Get updates by email", &main).await
}

/// `GET /subscribe`.
async fn form(State(app): State<Arc<App>>) -> Response {
    form_page(&app, StatusCode::OK, "", "en", &[], None).await
}

/// How many subscription requests the service takes a minute, from all clients together.
/// The client's address is not known to the router (no `ConnectInfo` is wired, and behind
/// a reverse proxy it would be the proxy's), so the limit is global; per address the store
/// sends at most one confirmation an hour.
pub const REQUESTS_PER_MINUTE: u32 = 30;

/// The requests of the current minute.
#[derive(Debug, Default)]
pub(crate) struct Limit(std::sync::Mutex<(i64, u32)>);

impl Limit {
    /// Whether one more request fits into the minute of `now`.
    fn take(&self, now: jiff::Timestamp) -> bool {
        let minute = now.as_second().div_euclid(60);
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if g.0 != minute {
            *g = (minute, 0);
        }
        if g.1 >= REQUESTS_PER_MINUTE {
            return false;
        }
        g.1 += 1;
        true
    }
}

/// `POST /subscribe` (a form: `email`, `language`, `components` repeated). The answer is
/// the same whatever the address's state (new, waiting for confirmation, confirmed,
/// unsubscribed), so that it tells nobody whether an address is subscribed.
async fn submit(State(app): State<Arc<App>>, body: Bytes) -> Response {
    if !app.subscribes.take(app.now()) {
        let main = "<h1 id=\"error\">Too many requests</h1>\n<p>Too many people asked for updates in the last \
                    minute. Try again in a minute.</p>\n";
        let mut r = answer(&app, StatusCode::TOO_MANY_REQUESTS, "Too many requests", main).await;
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
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
            let main = format!(
                "<h1 id=\"subscribed\">Check your mail</h1>\n<p>If <strong>{}</strong> is not subscribed yet, we sent \
                 it a link (at most one an hour). Follow it within 7 days to start getting updates; until then we send \
                 nothing else. An address that is already subscribed keeps its choices: to change them, unsubscribe \
                 with the link in any of our emails and subscribe again.</p>\n",
                Esc(&email)
            );
            answer(&app, StatusCode::OK, "Check your mail", &main).await
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
    let main = format!(
        "<h1>This link does not work</h1>\n<div class=\"error\" id=\"error\" role=\"alert\"><p>{}</p></div>\n\
         <p><a href=\"{}\">Subscribe again</a></p>\n",
        Esc(&e.message),
        Esc(&app.site().await.map(|s| s.path("/subscribe")).unwrap_or_else(|_| "/subscribe".to_owned()))
    );
    let status = if e.status.is_server_error() { e.status } else { StatusCode::BAD_REQUEST };
    answer(app, status, "This link does not work", &main).await
}

/// `GET /subscribe/confirm?token=...`.
async fn confirm(State(app): State<Arc<App>>, Query(q): Query<TokenQuery>) -> Response {
    match actions::confirm_subscription(&app, &q.token).await {
        Ok(s) => {
            let main = format!(
                "<h1 id=\"confirmed\">You are subscribed</h1>\n<p>{} now gets an email when maintenance is announced \
                 or changes and when incidents are updated{}.</p>\n",
                Esc(&s.email),
                if s.components.is_empty() {
                    String::new()
                } else {
                    format!(", about {}", Esc(&s.components.join(", ")))
                }
            );
            answer(&app, StatusCode::OK, "Subscribed", &main).await
        }
        Err(e) => link_error(&app, e).await,
    }
}

/// `GET /unsubscribe?token=...`: asks first.
async fn unsubscribe_form(State(app): State<Arc<App>>, Query(q): Query<TokenQuery>) -> Response {
    let site = match app.mail_site().await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let email = match forewarn_notify::links::verify(&site.secret, "unsubscribe", &q.token, app.now()) {
        Ok(email) => email,
        Err(e) => return link_error(&app, ApiError::bad_request(e.to_string())).await,
    };
    let action = app.site().await.map(|s| s.path("/unsubscribe")).unwrap_or_else(|_| "/unsubscribe".to_owned());
    let main = format!(
        "<h1>Stop the emails?</h1>\n<form class=\"stack\" id=\"unsubscribe\" method=\"post\" action=\"{}?token={}\">\n\
         <p>{} will get no more updates from us.</p>\n<button type=\"submit\">Unsubscribe</button>\n</form>\n",
        Esc(&action),
        Esc(&q.token),
        Esc(&email)
    );
    answer(&app, StatusCode::OK, "Unsubscribe", &main).await
}

/// `POST /unsubscribe?token=...` (the button, or a mail client's one-click request).
async fn unsubscribe(State(app): State<Arc<App>>, Query(q): Query<TokenQuery>) -> Response {
    match actions::unsubscribe(&app, &q.token).await {
        Ok((email, _)) => {
            let main = format!(
                "<h1 id=\"unsubscribed\">Unsubscribed</h1>\n<p>{} gets no more updates from us.</p>\n",
                Esc(&email)
            );
            answer(&app, StatusCode::OK, "Unsubscribed", &main).await
        }
        Err(e) => link_error(&app, e).await,
    }
}
