//! `/admin/audit`: who changed what and when, newest first (`?limit=N`, 200 by default).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::{Cx, Operator, answer, respond};
use crate::App;
use crate::error::ApiResult;

const DEFAULT_LIMIT: u32 = 200;
const MAX_LIMIT: u32 = 10_000;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<u32>,
}

/// `GET /admin/audit`.
pub async fn show(State(app): State<Arc<App>>, op: Operator, Query(q): Query<AuditQuery>) -> Response {
    let r = page(&app, &op, q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)).await;
    respond(&app, Some(op), r).await
}

async fn page(app: &App, op: &Operator, limit: u32) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let entries = app.store.audit(limit).await?;
    let zone = cx.site.zone.tz().clone();
    let main = html! {
        h1 { "Audit log" } "\n"
        p class="meta" {
            "The latest " (entries.len()) " entries, newest first."
            @if entries.len() as u32 == limit && limit < MAX_LIMIT {
                " " a href={ (cx.path("/admin/audit")) "?limit=" (limit.saturating_mul(5).min(MAX_LIMIT)) } { "Show more" }
            }
        } "\n"
        div class="scroll" { table class="list" id="audit" {
            "\n"
            thead { tr { th { "When" } th { "Who" } th { "What" } th { "Subject" } th { "Detail" } } } "\n"
            tbody {
                "\n"
                @for e in &entries {
                    tr class="audit-row" data-action=(e.action) {
                        td class="when" {
                            time datetime=(forewarn_status::when::rfc3339(e.at)) {
                                (e.at.to_zoned_datetime(zone.clone()).strftime("%a %-d %b %Y %H:%M:%S %Z"))
                            }
                        }
                        td { (e.actor) } td { (e.action) } td { (e.subject) }
                        td { code class="detail" { (detail(&e.detail)) } }
                    } "\n"
                }
            } "\n"
        } } "\n"
    };
    Ok(answer(StatusCode::OK, cx.page("Audit log", main)))
}

/// An entry's detail as JSON, or nothing when it has none.
fn detail(detail: &serde_json::Value) -> String {
    match detail {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        d => d.to_string(),
    }
}
