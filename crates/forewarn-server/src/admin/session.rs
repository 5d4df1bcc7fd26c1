//! Logging in and out, and what every other admin request must carry. A login that works
//! makes a session: 32 random bytes as the cookie `forewarn_session` (HttpOnly,
//! SameSite=Strict, Secure behind https), kept in the store only as their SHA-256, with a
//! CSRF token of 32 more random bytes that every admin form sends back as its hidden `csrf`
//! field. A request without a live session is sent to the login form (GET) or refused with
//! 401 (POST); a POST whose `csrf` is missing or wrong gets 403 and changes nothing.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use jiff::SignedDuration;
use maud::html;

use super::{Cx, Fields, answer, respond, see_other, site_path};
use crate::App;
use crate::auth::{self, SESSION_COOKIE, hash_secret, random_hex, same_secret, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::limits::client_address;

/// How long a login lasts.
pub const SESSION_HOURS: i64 = 12;

/// The operator a request's session belongs to, with the session's CSRF token.
#[derive(Clone)]
pub struct Operator {
    pub name: String,
    pub csrf: String,
    session_hash: String,
}

impl fmt::Debug for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operator").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Operator {
    /// Who the audit log says acted: `operator:NAME`.
    pub fn actor(&self) -> String {
        format!("operator:{}", self.name)
    }

    /// The fields of a submitted form, if it carries this session's CSRF token (else answer
    /// [`forbidden`]).
    pub(super) fn form(&self, body: &Bytes) -> Option<Fields> {
        let fields = Fields::parse(body);
        if same_secret(fields.get("csrf"), &self.csrf) {
            return Some(fields);
        }
        tracing::warn!(operator = %self.name, "admin form without its CSRF token refused");
        None
    }
}

/// The answer to a form without its session's CSRF token: 403, nothing done.
pub(super) fn forbidden() -> Response {
    answer(
        StatusCode::FORBIDDEN,
        super::bare_page(
            "Forbidden",
            "The form did not carry this session's token. Load the page again and send the form from there.",
        ),
    )
}

impl FromRequestParts<Arc<App>> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Operator, Response> {
        let reading = parts.method == Method::GET || parts.method == Method::HEAD;
        let session = match auth::session(app, &parts.headers).await {
            Ok(s) => s,
            Err(e) => return Err(respond(app, None, Err(e)).await),
        };
        match session {
            Some(s) => Ok(Operator {
                name: s.operator,
                csrf: s.csrf,
                session_hash: auth::session_cookie(&parts.headers).map(hash_secret).unwrap_or_default(),
            }),
            None if reading => Err(see_other(&site_path(app, "/admin/login"))),
            None => Err(login_page(
                app,
                StatusCode::UNAUTHORIZED,
                "",
                Some("You are not logged in (or your session has ended): log in, then send the form again."),
            )
            .await),
        }
    }
}

/// The login form, with a message above it and the name typed before.
async fn login_page(app: &App, status: StatusCode, name: &str, message: Option<&str>) -> Response {
    let cx = match Cx::new(app, None).await {
        Ok(cx) => cx,
        Err(e) => return super::bare_error(&e),
    };
    let main = html! {
        section class="login" {
            "\n"
            h1 { "Log in" } "\n"
            @if let Some(m) = message {
                div class="error" id="error" role="alert" { p { (m) } } "\n"
            }
            form class="stack" id="login" method="post" action=(cx.path("/admin/login")) {
                "\n"
                label { "Name " input type="text" name="name" value=(name) autocomplete="username" required autofocus; } "\n"
                label { "Password " input type="password" name="password" autocomplete="current-password" required; } "\n"
                div { button type="submit" { "Log in" } } "\n"
            } "\n"
            p class="hint" { "Operators are added with " code { "forewarn operator add --name NAME" } "." } "\n"
        } "\n"
    };
    answer(status, cx.page("Log in", main))
}

/// `GET /admin/login`: the form, or the admin pages when the session is live.
pub async fn login_form(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match auth::session(&app, &headers).await {
        Ok(Some(_)) => see_other(&site_path(&app, "/admin")),
        Ok(None) => login_page(&app, StatusCode::OK, "", None).await,
        Err(e) => respond(&app, None, Err(e)).await,
    }
}

/// An answer that asks to come back later: the status, `Retry-After` in whole seconds, and
/// the login form saying why.
async fn later(app: &App, status: StatusCode, name: &str, wait: std::time::Duration, why: &str) -> Response {
    let secs = wait.as_secs().max(1);
    let mut r = login_page(app, status, name, Some(&format!("{why} Try again in {secs} seconds."))).await;
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(RETRY_AFTER, v);
    }
    r
}

/// `POST /admin/login` (`name`, `password`): a session and the admin pages, or the form again.
/// Attempts are limited per client address and per name (429 with `Retry-After`), and the
/// password checks run a few at a time (503 with `Retry-After` when too many wait).
pub async fn login(
    State(app): State<Arc<App>>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    let name = fields.get("name").trim().to_owned();
    let password = fields.get("password").to_owned();
    let address = client_address(connection.as_ref().map(|e| &e.0));
    let now = app.clock.monotonic();
    let limited = app
        .logins
        .by_address
        .hit(&address, now)
        .map_err(|w| (w, "address"))
        .and_then(|()| app.logins.by_name.hit(&name, now).map_err(|w| (w, "name")));
    if let Err((wait, what)) = limited {
        tracing::warn!(operator = %name, address = %address, by = what, "login refused: too many attempts");
        return later(&app, StatusCode::TOO_MANY_REQUESTS, &name, wait, "Too many login attempts.").await;
    }
    let Some(permit) = app.logins.check_permit().await else {
        tracing::warn!(operator = %name, address = %address, "login refused: too many password checks waiting");
        let wait = std::time::Duration::from_secs(1);
        return later(&app, StatusCode::SERVICE_UNAVAILABLE, &name, wait, "The service is busy.").await;
    };
    let started = start_session(&app, &name, password).await;
    drop(permit);
    match started {
        Ok(Some(cookie)) => {
            tracing::info!(operator = %name, "operator logged in");
            let mut r = see_other(&site_path(&app, "/admin"));
            set_cookie(&mut r, &session_cookie(&app, &cookie, SESSION_HOURS * 3600));
            r
        }
        Ok(None) => {
            tracing::warn!(operator = %name, address = %address, "failed login");
            if let Err(e) = app.store.record_failed_login(app.now(), &name, &address).await {
                tracing::error!(error = %e, "cannot record a failed login in the audit log");
            }
            login_page(&app, StatusCode::UNAUTHORIZED, &name, Some("wrong name or password")).await
        }
        Err(e) => respond(&app, None, Err(e)).await,
    }
}

/// Checks the password and keeps a new session: its cookie's value, or `None` when the name
/// or the password is wrong (which one is not said).
async fn start_session(app: &App, name: &str, password: String) -> ApiResult<Option<String>> {
    let hash = if name.is_empty() { None } else { app.store.operator_hash(name).await? };
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, hash.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    if !ok {
        return Ok(None);
    }
    let (cookie, csrf) = (random_hex()?, random_hex()?);
    let now = app.now();
    let expires = now.checked_add(SignedDuration::from_hours(SESSION_HOURS)).map_err(ApiError::internal)?;
    app.store.delete_expired_sessions(now).await?;
    app.store.create_session(now, &hash_secret(&cookie), name, &csrf, expires).await?;
    Ok(Some(cookie))
}

/// `POST /admin/logout`: the session ends and its cookie is cleared.
pub async fn logout(State(app): State<Arc<App>>, op: Operator, body: Bytes) -> Response {
    if op.form(&body).is_none() {
        return forbidden();
    }
    if let Err(e) = app.store.delete_session(&op.session_hash).await {
        return respond(&app, Some(op), Err(e.into())).await;
    }
    tracing::info!(operator = %op.name, "operator logged out");
    let mut r = see_other(&site_path(&app, "/admin/login"));
    set_cookie(&mut r, &session_cookie(&app, "", 0));
    r
}

/// The `Set-Cookie` value for a session (an empty value and no age clears it).
fn session_cookie(app: &App, value: &str, max_age: i64) -> String {
    let secure = if app.config.base_url.to_ascii_lowercase().starts_with("https://") { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

fn set_cookie(r: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
}
