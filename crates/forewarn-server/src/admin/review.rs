//! `/admin/campaigns/{id}/review?version=N`: before a plan version is published, what it
//! changes and whom it tells; `/admin/campaigns/{id}/move?target=T&start=S` the same before a
//! slot is moved (or a target without one placed). For a published campaign, the difference to the published
//! version (which targets move, from when to when, which leave or join the plan); for any,
//! every message the publication would send (recipient, subject, text), from a rehearsal of
//! the publication that is rolled back. The button that publishes is below.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use forewarn_status::escape::Esc;
use serde::Deserialize;
use serde_json::Value;

use super::{Cx, Operator, html, respond};
use crate::App;
use crate::actions;
use crate::error::{ApiError, ApiResult};

/// How many messages are shown with their text; the rest by recipient and subject.
const TEXTS_SHOWN: usize = 20;

#[derive(Debug, Deserialize)]
pub struct ReviewQuery {
    version: Option<i64>,
}

/// `GET /admin/campaigns/{id}/review`.
pub async fn show(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(id): Path<String>,
    Query(q): Query<ReviewQuery>,
) -> Response {
    let r = page(&app, &op, &id, q.version).await;
    respond(&app, Some(op), r).await
}

async fn page(app: &App, op: &Operator, id: &str, version: Option<i64>) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let c = actions::stored_campaign(app, id).await?;
    let plan = actions::stored_plan(app, id, version).await?;
    let base = format!("/admin/campaigns/{}", c.id);
    let mut main = String::with_capacity(16 * 1024);
    let _ = writeln!(main, "<p class=\"meta\"><a href=\"{}\">← {}</a></p>", Esc(&cx.path(&base)), Esc(&c.title));
    let _ = writeln!(
        main,
        "<section id=\"review\" data-version=\"{v}\">\n<h1>Publish plan version {v}?</h1>",
        v = plan.version
    );

    // What changes against what contacts were told.
    if let Some(published) = c.published_plan {
        let told = actions::stored_plan(app, id, Some(published)).await?;
        let d = crate::api::stored_diff(told, plan.clone()).await?;
        let d = serde_json::to_value(d).map_err(ApiError::internal)?;
        let _ = writeln!(main, "<section id=\"diff\">\n<h2>What changes against version {published}</h2>");
        let list = |key: &str| d[key].as_array().cloned().unwrap_or_default();
        let (moved, gone, new) = (list("moved"), list("no_longer_scheduled"), list("newly_scheduled"));
        if moved.is_empty() && gone.is_empty() && new.is_empty() {
            main.push_str("<p class=\"empty\">No slot changes.</p>\n");
        }
        let when = |v: &Value| {
            v.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map_or_else(String::new, |t| cx.time(t))
        };
        if !moved.is_empty() {
            let _ = writeln!(
                main,
                "<h3>{} moved</h3>\n<table class=\"list moved\"><thead><tr><th>Target</th><th>From</th><th>To</th></tr></thead><tbody>",
                moved.len()
            );
            for m in &moved {
                let _ = writeln!(
                    main,
                    "<tr data-target=\"{t}\"><td>{t}</td><td>{}</td><td>{}</td></tr>",
                    when(&m["from"]["start"]),
                    when(&m["to"]["start"]),
                    t = Esc(m["target"].as_str().unwrap_or_default())
                );
            }
            main.push_str("</tbody></table>\n");
        }
        for (items, title, class) in
            [(&gone, "no longer scheduled (cancelled)", "gone"), (&new, "newly scheduled", "new")]
        {
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(main, "<h3>{} {title}</h3>\n<ul class=\"{class}\">", items.len());
            for m in items.iter() {
                let _ = writeln!(
                    main,
                    "<li data-target=\"{t}\">{t}: {}</li>",
                    when(&m["start"]),
                    t = Esc(m["target"].as_str().unwrap_or_default())
                );
            }
            main.push_str("</ul>\n");
        }
        main.push_str("</section>\n");
    }

    // Whom it tells, and what.
    main.push_str("<section id=\"messages\">\n<h2>Who will be told</h2>\n");
    match actions::preview_publish(app, &op.name, id, Some(plan.version)).await {
        Ok(messages) => {
            let preview = crate::api::preview_json(&messages);
            let list = preview["messages"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                main.push_str("<p class=\"empty\">Nobody: publishing this version sends no message.</p>\n");
            } else {
                let _ = writeln!(
                    main,
                    "<p>{} message{} out:</p>\n<table class=\"list recipients\"><thead><tr><th>To</th><th>Subject</th></tr></thead><tbody>",
                    list.len(),
                    if list.len() == 1 { " goes" } else { "s go" }
                );
                for m in &list {
                    let _ = writeln!(
                        main,
                        "<tr><td>{}</td><td>{}</td></tr>",
                        Esc(m["recipient"].as_str().unwrap_or_default()),
                        Esc(m["subject"].as_str().unwrap_or_default())
                    );
                }
                main.push_str("</tbody></table>\n");
                for m in list.iter().filter(|m| m["channel"] == "email").take(TEXTS_SHOWN) {
                    let _ = writeln!(
                        main,
                        "<details class=\"message\"><summary>{} — {}</summary><pre class=\"file\">{}</pre></details>",
                        Esc(m["recipient"].as_str().unwrap_or_default()),
                        Esc(m["subject"].as_str().unwrap_or_default()),
                        Esc(m["text"].as_str().unwrap_or_default())
                    );
                }
            }
            let version = plan.version.to_string();
            main.push_str("<div class=\"actions\" id=\"actions\">");
            main.push_str(&cx.button(
                &format!("{base}/publish"),
                &format!("Publish plan version {version}"),
                "",
                &[("version", &version)],
            ));
            main.push_str("</div>\n");
        }
        // It would be refused: say why, and offer no button.
        Err(e) => main.push_str(&cx.error_box("It cannot be published:", &e)),
    }
    main.push_str("</section>\n</section>\n");
    Ok(html(axum::http::StatusCode::OK, cx.page(&format!("Publish {}?", c.title), &main)))
}

/// A form's `start`: an RFC 3339 instant.
pub(super) fn start_field(text: &str) -> ApiResult<jiff::Timestamp> {
    text.trim().parse().map_err(|e| {
        ApiError::unprocessable(format!(
            "`start`: `{}` is not an RFC 3339 instant such as 2027-03-03T22:00:00+01:00: {e}",
            text.trim()
        ))
    })
}

#[derive(Debug, Deserialize)]
pub struct MoveQuery {
    #[serde(default)]
    target: String,
    #[serde(default)]
    start: String,
}

/// `GET /admin/campaigns/{id}/move`: whom moving `target` to `start` tells, and the button
/// that moves it.
pub async fn show_move(
    State(app): State<Arc<App>>,
    op: Operator,
    Path(id): Path<String>,
    Query(q): Query<MoveQuery>,
) -> Response {
    let r = move_page(&app, &op, &id, &q).await;
    respond(&app, Some(op), r).await
}

async fn move_page(app: &App, op: &Operator, id: &str, q: &MoveQuery) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let c = actions::stored_campaign(app, id).await?;
    let base = format!("/admin/campaigns/{}", c.id);
    let target = q.target.trim();
    let mut main = String::with_capacity(8 * 1024);
    let _ = writeln!(main, "<p class=\"meta\"><a href=\"{}\">← {}</a></p>", Esc(&cx.path(&base)), Esc(&c.title));
    let _ = writeln!(main, "<section id=\"review\">\n<h1>Move the slot of {}?</h1>", Esc(target));
    let previewed = match start_field(&q.start) {
        Ok(start) => {
            let _ = writeln!(main, "<p>To {}.</p>", cx.time(start));
            actions::preview_move_slot(app, &op.name, id, target, start).await
        }
        Err(e) => Err(e),
    };
    match previewed {
        Ok(messages) => {
            let preview = crate::api::preview_json(&messages);
            let list = preview["messages"].as_array().cloned().unwrap_or_default();
            let _ = writeln!(
                main,
                "<section id=\"messages\">\n<h2>Who will be told</h2>\n<p>{} message{} out:</p>\n<ul class=\"recipients\">",
                list.len(),
                if list.len() == 1 { " goes" } else { "s go" }
            );
            for m in &list {
                let _ = writeln!(
                    main,
                    "<li>{} — {}</li>",
                    Esc(m["recipient"].as_str().unwrap_or_default()),
                    Esc(m["subject"].as_str().unwrap_or_default())
                );
            }
            main.push_str("</ul>\n");
            for m in list.iter().filter(|m| m["channel"] == "email").take(TEXTS_SHOWN) {
                let _ = writeln!(
                    main,
                    "<details class=\"message\"><summary>{}</summary><pre class=\"file\">{}</pre></details>",
                    Esc(m["recipient"].as_str().unwrap_or_default()),
                    Esc(m["text"].as_str().unwrap_or_default())
                );
            }
            main.push_str("</section>\n<div class=\"actions\" id=\"actions\">");
            main.push_str(&cx.button(
                &format!("{base}/move"),
                &format!("Move {target}"),
                "",
                &[("target", target), ("start", q.start.trim())],
            ));
            main.push_str("</div>\n");
        }
        Err(e) => main.push_str(&cx.error_box("It cannot move there:", &e)),
    }
    main.push_str("</section>\n");
    Ok(html(axum::http::StatusCode::OK, cx.page(&format!("Move {target}?"), &main)))
}
