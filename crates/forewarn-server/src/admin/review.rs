//! `/admin/campaigns/{id}/review?version=N`: before a plan version is published, what it
//! changes and whom it tells; `/admin/campaigns/{id}/move?target=T&start=S` the same before a
//! slot is moved (or a target without one placed). For a published campaign, the difference to the published
//! version (which targets move, from when to when, which leave or join the plan); for any,
//! every message the publication would send (recipient, subject, text), from a rehearsal of
//! the publication that is rolled back. The button that publishes is below.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use forewarn_store::Channel;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::{Cx, Operator, answer, respond};
use crate::App;
use crate::actions;
use crate::api::preview;
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
    // What changes against what contacts were told.
    let diff = match c.published_plan {
        Some(published) => {
            let told = actions::stored_plan(app, id, Some(published)).await?;
            let d = crate::api::stored_diff(told, plan.clone()).await?;
            Some((published, serde_json::to_value(d).map_err(ApiError::internal)?))
        }
        None => None,
    };
    // Whom it tells, and what.
    let previewed = actions::preview_publish(app, &op.name, id, Some(plan.version)).await;
    let version = plan.version.to_string();
    let main = html! {
        p class="meta" { a href=(cx.path(&base)) { "← " (c.title) } } "\n"
        section id="review" data-version=(plan.version) {
            "\n"
            h1 { "Publish plan version " (plan.version) "?" } "\n"
            @if let Some((published, d)) = &diff {
                (diff_html(&cx, *published, d))
            }
            section id="messages" {
                "\n"
                h2 { "Who will be told" } "\n"
                @match &previewed {
                    Ok(messages) => {
                        @let list = preview(&app.config, messages).messages;
                        @if list.is_empty() {
                            p class="empty" { "Nobody: publishing this version sends no message." } "\n"
                        } @else {
                            p { (list.len()) " message" (if list.len() == 1 { " goes" } else { "s go" }) " out:" } "\n"
                            table class="list recipients" {
                                thead { tr { th { "To" } th { "Subject" } } }
                                tbody {
                                    "\n"
                                    @for m in &list {
                                        tr { td { (m.recipient) } td { (m.subject) } } "\n"
                                    }
                                }
                            } "\n"
                            @for m in list.iter().filter(|m| m.channel == Channel::Email).take(TEXTS_SHOWN) {
                                details class="message" {
                                    summary { (m.recipient) " — " (m.subject) }
                                    pre class="file" { (m.text) }
                                } "\n"
                            }
                        }
                        div class="actions" id="actions" {
                            (cx.button(
                                &format!("{base}/publish"),
                                &format!("Publish plan version {version}"),
                                "",
                                &[("version", &version)],
                            ))
                        } "\n"
                    }
                    // It would be refused: say why, and offer no button.
                    Err(e) => (cx.error_box("It cannot be published:", e)),
                }
            } "\n"
        } "\n"
    };
    Ok(answer(axum::http::StatusCode::OK, cx.page(&format!("Publish {}?", c.title), main)))
}

/// A JSON string's text, or nothing.
fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// What publishing a newer version changes against the `published` one: `d`, the API's diff.
fn diff_html(cx: &Cx, published: i64, d: &Value) -> Markup {
    let list = |key: &str| d[key].as_array().cloned().unwrap_or_default();
    let (moved, gone, new) = (list("moved"), list("no_longer_scheduled"), list("newly_scheduled"));
    let when = |v: &Value| {
        html! { @if let Some(t) = v.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()) { (cx.time(t)) } }
    };
    html! {
        section id="diff" {
            "\n"
            h2 { "What changes against version " (published) } "\n"
            @if moved.is_empty() && gone.is_empty() && new.is_empty() {
                p class="empty" { "No slot changes." } "\n"
            }
            @if !moved.is_empty() {
                h3 { (moved.len()) " moved" } "\n"
                table class="list moved" {
                    thead { tr { th { "Target" } th { "From" } th { "To" } } }
                    tbody {
                        "\n"
                        @for m in &moved {
                            tr data-target=(text(&m["target"])) {
                                td { (text(&m["target"])) }
                                td { (when(&m["from"]["start"])) }
                                td { (when(&m["to"]["start"])) }
                            } "\n"
                        }
                    }
                } "\n"
            }
            @for (items, title, class) in [(&gone, "no longer scheduled (cancelled)", "gone"), (&new, "newly scheduled", "new")] {
                @if !items.is_empty() {
                    h3 { (items.len()) " " (title) } "\n"
                    ul class=(class) {
                        "\n"
                        @for m in items.iter() {
                            li data-target=(text(&m["target"])) { (text(&m["target"])) ": " (when(&m["start"])) } "\n"
                        }
                    } "\n"
                }
            }
        } "\n"
    }
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
    let (start, previewed) = match start_field(&q.start) {
        Ok(start) => (Some(start), actions::preview_move_slot(app, &op.name, id, target, start).await),
        Err(e) => (None, Err(e)),
    };
    let main = html! {
        p class="meta" { a href=(cx.path(&base)) { "← " (c.title) } } "\n"
        section id="review" {
            "\n"
            h1 { "Move the slot of " (target) "?" } "\n"
            @if let Some(start) = start {
                p { "To " (cx.time(start)) "." } "\n"
            }
            @match &previewed {
                Ok(messages) => {
                    @let list = preview(&app.config, messages).messages;
                    section id="messages" {
                        "\n"
                        h2 { "Who will be told" } "\n"
                        p { (list.len()) " message" (if list.len() == 1 { " goes" } else { "s go" }) " out:" } "\n"
                        ul class="recipients" {
                            "\n"
                            @for m in &list {
                                li { (m.recipient) " — " (m.subject) } "\n"
                            }
                        } "\n"
                        @for m in list.iter().filter(|m| m.channel == Channel::Email).take(TEXTS_SHOWN) {
                            details class="message" {
                                summary { (m.recipient) }
                                pre class="file" { (m.text) }
                            } "\n"
                        }
                    } "\n"
                    div class="actions" id="actions" {
                        (cx.button(
                            &format!("{base}/move"),
                            &format!("Move {target}"),
                            "",
                            &[("target", target), ("start", q.start.trim())],
                        ))
                    } "\n"
                }
                Err(e) => (cx.error_box("It cannot move there:", e)),
            }
        } "\n"
    };
    Ok(answer(axum::http::StatusCode::OK, cx.page(&format!("Move {target}?"), main)))
}
