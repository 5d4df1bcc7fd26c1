//! `/admin/mail`: the outbox as a mailbox. Every message forewarn wrote (mail and webhook
//! events), newest first, with where it stands; without an SMTP relay this is where mail
//! goes (the capture mailbox). `/admin/mail/{id}` shows one message as its recipient reads
//! it, with its headers, its calendar parts and its raw text; a dead one has a retry button.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_status::escape::Esc;
use forewarn_store::{Channel, Message, MessageState};
use serde::Deserialize;

use super::session::forbidden;
use super::{Cx, Operator, html, respond, see_other, site_path};
use crate::App;
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
    let mut main = String::from("<h1>Mail</h1>\n");
    let _ = writeln!(
        main,
        "<p class=\"meta\">{} Every message forewarn sends is kept here with where it stands.</p>",
        if app.config.smtp.is_some() {
            "Mail goes out through the configured relay."
        } else {
            "No mail relay is configured: mail is captured here instead of being sent."
        }
    );
    main.push_str("<p class=\"actions\" id=\"mail-filter\">");
    for (label, value, n) in [
        ("All", "", counts.pending + counts.sent + counts.dead),
        ("Pending", "pending", counts.pending),
        ("Sent", "sent", counts.sent),
        ("Dead", "dead", counts.dead),
    ] {
        let href =
            if value.is_empty() { cx.path("/admin/mail") } else { cx.path(&format!("/admin/mail?state={value}")) };
        let current = state.map_or("", MessageState::as_str) == value;
        let _ = write!(
            main,
            "<a href=\"{}\" data-state=\"{value}\" class=\"count\"{}>{label} ({n})</a> ",
            Esc(&href),
            if current { " aria-current=\"page\"" } else { "" }
        );
    }
    main.push_str("</p>\n");
    if messages.is_empty() {
        main.push_str("<p id=\"mail-empty\">No messages.</p>\n");
        return Ok(html(StatusCode::OK, cx.page("Mail", &main)));
    }
    main.push_str(
        "<div class=\"scroll\"><table class=\"list\" id=\"mail\">\n<thead><tr><th>Written</th><th>To</th>\
         <th>Subject</th><th>Why</th><th>State</th></tr></thead>\n<tbody>\n",
    );
    for m in &messages {
        let state_text = match (m.state, &m.error) {
            (MessageState::Pending, Some(_)) => format!("pending (after {} failed)", m.attempts),
            (s, _) => s.as_str().to_owned(),
        };
        let _ = writeln!(
            main,
            "<tr class=\"mail-row\" data-id=\"{}\" data-state=\"{}\" data-channel=\"{}\"><td class=\"when\">{}</td>\
             <td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td><span class=\"badge\" data-state=\"{}\">{}</span>{}</td></tr>",
            m.id,
            m.state.as_str(),
            m.channel.as_str(),
            cx.time(m.created),
            Esc(&m.recipient),
            Esc(&cx.path(&format!("/admin/mail/{}", m.id))),
            Esc(if m.subject.is_empty() { "(no subject)" } else { &m.subject }),
            Esc(&m.cause),
            m.state.as_str(),
            Esc(&state_text),
            m.error
                .as_deref()
                .map(|e| format!("<br><span class=\"hint error-text\">{}</span>", Esc(e)))
                .unwrap_or_default(),
        );
    }
    main.push_str("</tbody>\n</table></div>\n");
    if messages.len() as u32 == PAGE
        && let Some(last) = messages.last()
    {
        let state_q = state.map(|s| format!("state={}&", s.as_str())).unwrap_or_default();
        let _ = writeln!(
            main,
            "<p><a id=\"older\" href=\"{}\">Older messages</a></p>",
            Esc(&cx.path(&format!("/admin/mail?{state_q}before={}", last.id)))
        );
    }
    Ok(html(StatusCode::OK, cx.page("Mail", &main)))
}

/// `GET /admin/mail/{id}`.
pub async fn show(State(app): State<Arc<App>>, op: Operator, Path(id): Path<i64>) -> Response {
    let r = one(&app, &op, id).await;
    respond(&app, Some(op), r).await
}

async fn one(app: &App, op: &Operator, id: i64) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let m = app.message(id).await?.ok_or_else(|| ApiError::not_found(format!("message {id}")))?;
    let mut main = format!(
        "<p class=\"meta\"><a href=\"{}\">All mail</a></p>\n<h1 id=\"mail-subject\">{}</h1>\n",
        Esc(&cx.path("/admin/mail")),
        Esc(if m.subject.is_empty() { "(no subject)" } else { &m.subject })
    );
    let _ = write!(
        main,
        "<table class=\"list\" id=\"mail-meta\" data-state=\"{}\"><tbody>\n\
         <tr><th>To</th><td>{}</td></tr>\n<tr><th>From</th><td>{}</td></tr>\n\
         <tr><th>{}</th><td><code>{}</code></td></tr>\n<tr><th>Why</th><td>{}</td></tr>\n\
         <tr><th>Written</th><td>{}</td></tr>\n<tr><th>State</th><td>{}{}</td></tr>\n",
        m.state.as_str(),
        Esc(&m.recipient),
        Esc(if m.sender.is_empty() { "-" } else { &m.sender }),
        if m.channel == Channel::Email { "Message-ID" } else { "Event id" },
        Esc(&m.key),
        Esc(&m.cause),
        cx.time(m.created),
        Esc(m.state.as_str()),
        match (m.state, m.sent) {
            (MessageState::Sent, Some(t)) => format!(" {}", cx.time(t)),
            (MessageState::Pending, _) if m.attempts > 0 => {
                format!(" after {} failed attempt(s); next not before {}", m.attempts, cx.time(m.due))
            }
            (MessageState::Dead, _) => format!(" after {} failed attempt(s)", m.attempts),
            _ => String::new(),
        }
    );
    if let Some(error) = &m.error {
        let _ = writeln!(main, "<tr><th>Last error</th><td id=\"mail-error\">{}</td></tr>", Esc(error));
    }
    main.push_str("</tbody></table>\n");
    if m.state == MessageState::Dead {
        let _ = writeln!(
            main,
            "<div class=\"actions\" id=\"mail-actions\">{}</div>",
            cx.button(&format!("/admin/mail/{}/retry", m.id), "Retry", "", &[])
        );
    }
    match m.channel {
        Channel::Email => {
            let parts = forewarn_notify::read::text_parts(&m.payload);
            for (kind, text) in &parts {
                let _ = write!(
                    main,
                    "<h2>{}</h2>\n<pre class=\"file\" data-part=\"{}\">{}</pre>\n",
                    Esc(kind),
                    Esc(kind),
                    Esc(text)
                );
            }
        }
        Channel::Webhook => {
            let pretty = serde_json::from_str::<serde_json::Value>(&m.payload)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| m.payload.clone());
            let _ = write!(main, "<h2>Body</h2>\n<pre class=\"file\" data-part=\"json\">{}</pre>\n", Esc(&pretty));
        }
    }
    let _ = write!(
        main,
        "<details><summary>The whole message as sent</summary>\n<pre class=\"file\" id=\"mail-raw\">{}</pre></details>\n",
        Esc(&m.payload)
    );
    Ok(html(StatusCode::OK, cx.page(&m.subject, &main)))
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

/// The list of a page's messages for the JSON API (`GET /api/v1/outbox`).
pub fn summary(m: &Message) -> serde_json::Value {
    serde_json::json!({
        "id": m.id,
        "key": m.key,
        "channel": m.channel,
        "sender": m.sender,
        "recipient": m.recipient,
        "subject": m.subject,
        "cause": m.cause,
        "created": m.created,
        "state": m.state,
        "attempts": m.attempts,
        "due": m.due,
        "sent": m.sent,
        "error": m.error,
    })
}
