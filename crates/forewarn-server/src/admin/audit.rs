//! `/admin/audit`: who changed what and when, newest first (`?limit=N`, 200 by default).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_status::escape::Esc;
use serde::Deserialize;

use super::{Cx, Operator, html, respond};
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
    let mut main = String::from("<h1>Audit log</h1>\n");
    let _ = write!(main, "<p class=\"meta\">The latest {} entries, newest first.", entries.len());
    if entries.len() as u32 == limit && limit < MAX_LIMIT {
        let _ = write!(
            main,
            " <a href=\"{}?limit={}\">Show more</a>",
            Esc(&cx.path("/admin/audit")),
            limit.saturating_mul(5).min(MAX_LIMIT)
        );
    }
    main.push_str("</p>\n");
    main.push_str(
        "<div class=\"scroll\"><table class=\"list\" id=\"audit\">\n<thead><tr><th>When</th><th>Who</th><th>What</th>\
         <th>Subject</th><th>Detail</th></tr></thead>\n<tbody>\n",
    );
    for e in &entries {
        let detail = match &e.detail {
            serde_json::Value::Null => String::new(),
            serde_json::Value::Object(m) if m.is_empty() => String::new(),
            d => d.to_string(),
        };
        let _ = writeln!(
            main,
            "<tr class=\"audit-row\" data-action=\"{}\"><td class=\"when\"><time datetime=\"{}\">{}</time></td><td>{}</td><td>{}</td><td>{}</td>\
             <td><code class=\"detail\">{}</code></td></tr>",
            Esc(&e.action),
            forewarn_status::when::rfc3339(e.at),
            Esc(&e.at.to_zoned_datetime(cx.site.zone.tz().clone()).strftime("%a %-d %b %Y %H:%M:%S %Z").to_string()),
            Esc(&e.actor),
            Esc(&e.action),
            Esc(&e.subject),
            Esc(&detail)
        );
    }
    main.push_str("</tbody>\n</table></div>\n");
    Ok(html(StatusCode::OK, cx.page("Audit log", &main)))
}
