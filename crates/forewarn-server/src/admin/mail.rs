//! `/admin/mail`: the outbox as a mailbox. Every message forewarn wrote (mail and webhook
//! events), newest first, with where it stands; without an SMTP relay this is where mail
//! goes (the capture mailbox). `/admin/mail/{id}` shows one message as its recipient reads
//! it, with its headers, its calendar parts and its raw text; a dead one has a retry button.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_store::{Channel, Message, MessageState};
use maud::{Markup, html};
use serde::Deserialize;

use super::session::forbidden;
use super::{Cx, Operator, answer, respond, see_other, site_path};
use crate::App;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};

const PAGE: u32 = 100;

#[derive(Debug, Deserialize)]
pub struct MailQuery {
    state: Option<String>,
    before: Option<i64>,
}

/// `GET /admin/mail[?state=pending|sent|dead][&before=ID]`.
pub async fn index(State(app): State<Arc<App>>, op: Operator, Query(q): Query<MailQuery>) -> Response {
    let r = list(&app, &op, q).await;
    respond(&app, Some(op), r).await
}

async fn list(app: &App, op: &Operator, q: MailQuery) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(MessageState::parse(s).ok_or_else(|| {
            ApiError::unprocessable(format!("`state`: `{s}` is not a message state (pending, sent or dead)"))
        })?),
    };
    let counts = app.store.outbox_counts().await?;
    let messages = app.store.messages(state, PAGE, q.before).await?;
    let relay = if app.config.smtp.is_some() {
        "Mail goes out through the configured relay."
    } else {
        "No mail relay is configured: mail is captured here instead of being sent."
    };
    let filters = [
        ("All", "", counts.pending + counts.sent + counts.dead),
        ("Pending", "pending", counts.pending),
        ("Sent", "sent", counts.sent),
        ("Dead", "dead", counts.dead),
    ];
    // A full page has older messages after it.
    let older = match messages.last() {
        Some(last) if messages.len() as u32 == PAGE => {
            let state_q = state.map(|s| format!("state={}&", s.as_str())).unwrap_or_default();
            Some(cx.path(&format!("/admin/mail?{state_q}before={}", last.id)))
        }
        _ => None,
    };
    let main = html! {
        h1 { "Mail" } "\n"
        p class="meta" { (relay) " Every message forewarn sends is kept here with where it stands." } "\n"
        p class="actions" id="mail-filter" {
            @for (label, value, n) in filters {
                @let href = if value.is_empty() { cx.path("/admin/mail") } else { cx.path(&format!("/admin/mail?state={value}")) };
                @let current = state.map_or("", MessageState::as_str) == value;
                a href=(href) data-state=(value) class="count" aria-current=[current.then_some("page")] {
                    (label) " (" (n) ")"
                }
                " "
            }
        } "\n"
        @if messages.is_empty() {
            p id="mail-empty" { "No messages." } "\n"
        } @else {
            (mail_table(&cx, &app.config, &messages))
            @if let Some(href) = older {
                p { a id="older" href=(href) { "Older messages" } } "\n"
            }
        }
    };
    Ok(answer(StatusCode::OK, cx.page("Mail", main)))
}

/// The messages of a page, newest first, with where each stands (a webhook by its place in
/// the configuration: its URL may hold a secret).
fn mail_table(cx: &Cx, config: &Config, messages: &[Message]) -> Markup {
    html! {
        div class="scroll" { table class="list" id="mail" {
            "\n"
            thead { tr { th { "Written" } th { "To" } th { "Subject" } th { "Why" } th { "State" } } } "\n"
            tbody {
                "\n"
                @for m in messages {
                    tr class="mail-row" data-id=(m.id) data-state=(m.state.as_str()) data-channel=(m.channel.as_str()) {
                        td class="when" { (cx.time(m.created)) }
                        td { (config.shown_recipient(m.channel, &m.recipient)) }
                        td { a href=(cx.path(&format!("/admin/mail/{}", m.id))) { (subject(m)) } }
                        td { (m.cause) }
                        td {
                            span class="badge" data-state=(m.state.as_str()) {
                                @match (m.state, &m.error) {
                                    (MessageState::Pending, Some(_)) => { "pending (after " (m.attempts) " failed)" }
                                    (s, _) => (s.as_str()),
                                }
                            }
                            @if let Some(e) = &m.error {
                                br; span class="hint error-text" { (e) }
                            }
                        }
                    } "\n"
                }
            } "\n"
        } } "\n"
    }
}

/// A message's subject, or that it has none.
fn subject(m: &Message) -> &str {
    if m.subject.is_empty() { "(no subject)" } else { &m.subject }
}

/// `GET /admin/mail/{id}`.
pub async fn show(State(app): State<Arc<App>>, op: Operator, Path(id): Path<i64>) -> Response {
    let r = one(&app, &op, id).await;
    respond(&app, Some(op), r).await
}

async fn one(app: &App, op: &Operator, id: i64) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let m = app.message(id).await?.ok_or_else(|| ApiError::not_found(format!("message {id}")))?;
    let main = html! {
        p class="meta" { a href=(cx.path("/admin/mail")) { "All mail" } } "\n"
        h1 id="mail-subject" { (subject(&m)) } "\n"
        table class="list" id="mail-meta" data-state=(m.state.as_str()) {
            tbody {
                "\n"
                tr { th { "To" } td { (app.config.shown_recipient(m.channel, &m.recipient)) } } "\n"
                tr { th { "From" } td { (if m.sender.is_empty() { "-" } else { &m.sender }) } } "\n"
                tr {
                    th { (if m.channel == Channel::Email { "Message-ID" } else { "Event id" }) }
                    td { code { (m.key) } }
                } "\n"
                tr { th { "Why" } td { (m.cause) } } "\n"
                tr { th { "Written" } td { (cx.time(m.created)) } } "\n"
                tr {
                    th { "State" }
                    td {
                        (m.state.as_str())
                        @match (m.state, m.sent) {
                            (MessageState::Sent, Some(t)) => { " " (cx.time(t)) }
                            (MessageState::Pending, _) if m.attempts > 0 => {
                                " after " (m.attempts) " failed attempt(s); next not before " (cx.time(m.due))
                            }
                            (MessageState::Dead, _) => { " after " (m.attempts) " failed attempt(s)" }
                            _ => {}
                        }
                    }
                } "\n"
                @if let Some(error) = &m.error {
                    tr { th { "Last error" } td id="mail-error" { (error) } } "\n"
                }
            }
        } "\n"
        @if m.state == MessageState::Dead {
            div class="actions" id="mail-actions" { (cx.button(&format!("/admin/mail/{}/retry", m.id), "Retry", "", &[])) } "\n"
        }
        (parts(&m))
        details {
            summary { "The whole message as sent" } "\n"
            pre class="file" id="mail-raw" { (m.payload) }
        } "\n"
    };
    Ok(answer(StatusCode::OK, cx.page(&m.subject, main)))
}

/// A message's parts as its recipient reads them: an email's text and calendar parts,
/// decoded; a webhook's JSON body, indented.
fn parts(m: &Message) -> Markup {
    match m.channel {
        Channel::Email => html! {
            @for (kind, text) in &forewarn_notify::read::text_parts(&m.payload) {
                h2 { (kind) } "\n"
                pre class="file" data-part=(kind) { (text) } "\n"
            }
        },
        Channel::Webhook => {
            let pretty = serde_json::from_str::<serde_json::Value>(&m.payload)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| m.payload.clone());
            html! {
                h2 { "Body" } "\n"
                pre class="file" data-part="json" { (pretty) } "\n"
            }
        }
    }
}

/// `POST /admin/mail/{id}/retry`.
pub async fn retry(State(app): State<Arc<App>>, op: Operator, Path(id): Path<i64>, body: Bytes) -> Response {
    if op.form(&body).is_none() {
        return forbidden();
    }
    match crate::actions::retry_message(&app, &op.actor(), id).await {
        Ok(_) => see_other(&site_path(&app, &format!("/admin/mail/{id}"))),
        Err(e) => respond(&app, Some(op), Err(e)).await,
    }
}
