//! `/admin/tokens`: the tokens, API and machines' (never their hashes), with who made them and when, and a
//! button that revokes one: from its next request on it is refused.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::session::forbidden;
use super::{Cx, Operator, answer, respond, see_other, site_path};
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
    let status = failed.as_ref().map_or(StatusCode::OK, |e| e.status);
    let main = html! {
        h1 { "Tokens" } "\n"
        @if let Some(e) = &failed {
            (cx.error_box("Not revoked:", e))
        }
        p class="meta" {
            "Tokens are made with " code { "forewarn token create --name NAME" } " (a machine's, for its agent, with "
            code { "--machine ID" } "; a FleetLock group's, for Zincati, with " code { "--fleetlock GROUP" } ") and shown once; only their hashes are kept. A revoked token is refused from \
             its next request on."
        } "\n"
        @if tokens.is_empty() {
            p class="empty" { "No tokens yet." } "\n"
        } @else {
            div class="scroll" { table class="list" id="tokens" {
                "\n"
                thead { tr { th { "Id" } th { "Name" } th { "Reaches" } th { "Created" } th { "By" } th { "State" } th {} } } "\n"
                tbody {
                    "\n"
                    @for t in &tokens {
                        tr class="token-row" data-id=(t.id) data-state=(if t.revoked.is_some() { "revoked" } else { "active" }) {
                            td { (t.id) } td { (t.name) }
                            td class="machine" {
                                @if let Some(m) = &t.machine { code { (m) } }
                                @else if let Some(g) = &t.fleetlock { "FleetLock group " code { (g) } }
                                @else { "—" }
                            }
                            td { (cx.time(t.created)) } td { (t.by) }
                            td {
                                @match t.revoked {
                                    Some(when) => { "revoked " (cx.time(when)) " by " (t.revoked_by.as_deref().unwrap_or("?")) }
                                    None => "active",
                                }
                            }
                            td {
                                @if t.revoked.is_none() {
                                    (cx.button(&format!("/admin/tokens/{}/revoke", t.id), "Revoke", "danger", &[]))
                                }
                            }
                        } "\n"
                    }
                } "\n"
            } } "\n"
        }
    };
    Ok(answer(status, cx.page("Tokens", main)))
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
