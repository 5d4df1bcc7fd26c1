//! `/admin/tokens`: the API tokens (never their hashes) with who made them and when, and a
//! button that revokes one: from its next request on it is refused.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_status::escape::Esc;

use super::session::forbidden;
use super::{Cx, Operator, html, respond, see_other, site_path};
use crate::App;
use crate::error::{ApiError, ApiResult};

/// `GET /admin/tokens`.
pub async fn index(State(app): State<Arc<App>>, op: Operator) -> Response {
    let r = page(&app, &op, None).await;
    respond(&app, Some(op), r).await
}

async fn page(app: &App, op: &Operator, failed: Option<ApiError>) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let tokens = app.store.tokens().await?;
    let mut main = String::from("<h1>API tokens</h1>\n");
    let status = match &failed {
        Some(e) => {
            main.push_str(&cx.error_box("Not revoked:", e));
            e.status
        }
        None => StatusCode::OK,
    };
    main.push_str(
        "<p class=\"meta\">Tokens are made with <code>forewarn token create --name NAME</code> and shown once; only \
         their hashes are kept. A revoked token is refused from its next request on.</p>\n",
    );
    if tokens.is_empty() {
        main.push_str("<p class=\"empty\">No tokens yet.</p>\n");
        return Ok(html(status, cx.page("API tokens", &main)));
    }
    main.push_str(
        "<div class=\"scroll\"><table class=\"list\" id=\"tokens\">\n<thead><tr><th>Id</th><th>Name</th>\
         <th>Created</th><th>By</th><th>State</th><th></th></tr></thead>\n<tbody>\n",
    );
    for t in &tokens {
        let (state, what) = match (&t.revoked, &t.revoked_by) {
            (Some(when), by) => {
                ("revoked", format!("revoked {} by {}", cx.time(*when), Esc(by.as_deref().unwrap_or("?"))))
            }
            (None, _) => ("active", "active".to_owned()),
        };
        let button = if t.revoked.is_none() {
            cx.button(&format!("/admin/tokens/{}/revoke", t.id), "Revoke", "danger", &[])
        } else {
            String::new()
        };
        let _ = writeln!(
            main,
            "<tr class=\"token-row\" data-id=\"{id}\" data-state=\"{state}\"><td>{id}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{what}</td><td>{button}</td></tr>",
            Esc(&t.name),
            cx.time(t.created),
            Esc(&t.by),
            id = t.id,
        );
    }
    main.push_str("</tbody>\n</table></div>\n");
    Ok(html(status, cx.page("API tokens", &main)))
}

/// `POST /admin/tokens/{id}/revoke`.
pub async fn revoke(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>, body: Bytes) -> Response {
    if op.form(&body).is_none() {
        return forbidden();
    }
    let done = match id.parse::<i64>() {
        Ok(n) => app.store.revoke_token(app.now(), &op.actor(), n).await.map_err(ApiError::from),
        Err(_) => Err(ApiError::not_found(format!("no token `{id}`"))),
    };
    match done {
        Ok(t) => {
            tracing::info!(operator = %op.name, token = t.id, name = %t.name, "API token revoked");
            see_other(&site_path(&app, "/admin/tokens"))
        }
        Err(e) if e.status.is_client_error() => {
            let r = page(&app, &op, Some(e)).await;
            respond(&app, Some(op), r).await
        }
        Err(e) => respond(&app, Some(op), Err(e)).await,
    }
}
