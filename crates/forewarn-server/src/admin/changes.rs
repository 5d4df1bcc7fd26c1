//! The campaign forms that need more than a button: `/admin/campaigns/{id}/edit`, a draft's
//! file in a textarea (and the same form on the campaign page); `/admin/campaigns/{id}/cancel`,
//! the confirmation of a cancellation (the reason, required, and the campaign's id typed
//! again); and the optional reason of a pause or a resume.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_store::{CampaignState, StoredCampaign};
use maud::{Markup, html};

use super::session::forbidden;
use super::{Cx, Operator, answer, respond, see_other, site_path};
use crate::App;
use crate::actions;
use crate::error::{ApiError, ApiResult};

/// A textarea's text as typed: browsers send its line ends as CR LF.
fn text(value: &str) -> String {
    value.replace("\r\n", "\n")
}

/// A form that posts to `action` with an optional reason and one button (pause, resume).
pub(super) fn reason_button(cx: &Cx, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form method="post" action=(cx.path(action)) class="reason" {
            (cx.csrf())
            input type="text" name="reason" maxlength="2000" placeholder="Reason (optional)"
                aria-label={ "Reason to " (label.to_lowercase()) };
            button type="submit" class=(class) { (label) }
        }
    }
}

/// The button that leads to the confirmation of a cancellation (it changes nothing itself).
pub(super) fn cancel_button(cx: &Cx, c: &StoredCampaign) -> Markup {
    html! {
        form method="get" action=(cx.path(&format!("/admin/campaigns/{}/cancel", c.id))) {
            button type="submit" class="danger" { "Cancel the campaign…" }
        }
    }
}

/// The edit form of a draft's file: `text` is what the textarea holds.
pub(super) fn edit_form(cx: &Cx, c: &StoredCampaign, text: &str) -> Markup {
    html! {
        form method="post" action=(cx.path(&format!("/admin/campaigns/{}/edit", c.id))) class="stack" id="edit" {
            (cx.csrf())
            label for="edit-text" {
                "The campaign file "
                span class="hint" {
                    "(TOML or JSON; checked against the latest inventory as on creation; its " code { "id" }
                    " stays " code { (c.id) } ")"
                }
            }
            textarea id="edit-text" name="text" rows="24" spellcheck="false" required { (text) }
            div { button type="submit" { "Save the file" } }
        } "\n"
    }
}

/// The edit page, with an error and the text as sent when saving failed.
async fn edit_page(app: &App, op: &Operator, id: &str, failed: Option<(&str, ApiError)>) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let c = actions::stored_campaign(app, id).await?;
    let back = cx.path(&format!("/admin/campaigns/{id}"));
    let (status, kept) = match &failed {
        Some((kept, e)) => (e.status, *kept),
        None => (StatusCode::OK, c.text.as_str()),
    };
    let draft = c.state == CampaignState::Draft;
    let main = html! {
        p class="meta" { a href=(back) { "← " (c.title) } } "\n"
        @if let Some((_, e)) = &failed {
            (cx.error_box("Not saved:", e))
        }
        h1 { "Edit " (c.title) } "\n"
        @if draft {
            p {
                "The earlier text stays in the audit log. Plans made from it are not published: plan again after \
                 saving."
            } "\n"
            (edit_form(&cx, &c, kept))
        } @else {
            p {
                "Campaign " code { (c.id) } " is " (c.state.as_str()) ": only a draft is edited. Plan it again and \
                 publish the newer plan version instead."
            } "\n"
        }
    };
    if !draft {
        let status = if failed.is_some() { status } else { StatusCode::CONFLICT };
        return Ok(answer(status, cx.page("Edit", main)));
    }
    Ok(answer(status, cx.page(&format!("Edit {}", c.title), main)))
}

/// `GET /admin/campaigns/{id}/edit`.
pub async fn edit_form_page(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>) -> Response {
    let r = edit_page(&app, &op, &id, None).await;
    respond(&app, Some(op), r).await
}

/// `POST /admin/campaigns/{id}/edit` (`text`): the draft's new file, or the form again with
/// every problem and the text as sent.
pub async fn edit(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(fields) = op.form(&body) else { return forbidden() };
    let sent = text(fields.get("text"));
    let name = if sent.trim_start().starts_with('{') { "campaign.json" } else { "campaign.toml" };
    match actions::edit_campaign(&app, &op.actor(), &id, name, &sent).await {
        Ok(_) => see_other(&site_path(&app, &format!("/admin/campaigns/{id}"))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let r = edit_page(&app, &op, &id, Some((&sent, e))).await;
            respond(&app, Some(op), r).await
        }
        Err(e) => respond(&app, Some(op), Err(e)).await,
    }
}

/// The confirmation page of a cancellation, with the error and the input of an attempt.
async fn cancel_page(
    app: &App,
    op: &Operator,
    id: &str,
    failed: Option<(&str, &str, ApiError)>,
) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let c = actions::stored_campaign(app, id).await?;
    let slots = app.store.slot_notices(id).await?;
    let told = slots.iter().filter(|s| s.change != forewarn_store::SlotChange::Cancelled).count();
    let back = cx.path(&format!("/admin/campaigns/{id}"));
    let (status, reason, confirm) = match &failed {
        Some((reason, confirm, e)) => (e.status, *reason, *confirm),
        None => (StatusCode::OK, "", ""),
    };
    let can = c.state.can_move_to(CampaignState::Cancelled);
    let consequence = if told > 0 {
        format!(
            "The {told} slot{} its contacts were told will not take place: they get a cancellation with the reason at \
             once, and the campaign's post says so. This cannot be undone.",
            if told == 1 { "" } else { "s" }
        )
    } else {
        "Nobody was told of its slots yet; its posts (if any) say it is cancelled. This cannot be undone.".to_owned()
    };
    let main = html! {
        p class="meta" { a href=(back) { "← " (c.title) } } "\n"
        @if let Some((_, _, e)) = &failed {
            (cx.error_box("Not cancelled:", e))
        }
        h1 { "Cancel " (c.title) "?" } "\n"
        @if !can {
            p { "Campaign " code { (c.id) } " is " (c.state) ": it cannot be cancelled." } "\n"
        } @else {
            p id="cancel-consequence" { (consequence) } "\n"
            form method="post" action=(cx.path(&format!("/admin/campaigns/{id}/cancel"))) class="stack" id="cancel-confirm" {
                (cx.csrf())
                label for="cancel-reason" {
                    "Reason " span class="hint" { "(required: the post's update and the contacts' mail give it)" }
                }
                textarea id="cancel-reason" name="reason" rows="3" maxlength="2000" required { (reason) }
                label for="cancel-id" { "Type the campaign's id, " code { (c.id) } ", to confirm" }
                input type="text" id="cancel-id" name="confirm" value=(confirm) autocomplete="off" required;
                div class="actions" {
                    button type="submit" class="danger" { "Cancel the campaign" }
                    a href=(back) { "Keep it" }
                }
            } "\n"
        }
    };
    if !can {
        let status = if failed.is_some() { status } else { StatusCode::CONFLICT };
        return Ok(answer(status, cx.page("Cancel", main)));
    }
    Ok(answer(status, cx.page(&format!("Cancel {}", c.title), main)))
}

/// `GET /admin/campaigns/{id}/cancel`: the confirmation form.
pub async fn confirm_cancel(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>) -> Response {
    let r = cancel_page(&app, &op, &id, None).await;
    respond(&app, Some(op), r).await
}

/// `POST /admin/campaigns/{id}/cancel` (`reason`, `confirm` = the id): cancels, or the
/// confirmation form again with what is missing.
pub async fn cancel(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(fields) = op.form(&body) else { return forbidden() };
    let reason = text(fields.get("reason"));
    let confirm = fields.get("confirm").trim();
    let done = if confirm != id {
        let mut e = ApiError::unprocessable(if confirm.is_empty() {
            format!("`confirm`: type the campaign's id, `{id}`, to confirm the cancellation")
        } else {
            format!("`confirm`: `{confirm}` is not `{id}`: type the campaign's id exactly to confirm")
        });
        e.code = "not_confirmed";
        Err(e)
    } else {
        actions::change_state_because(&app, &op.actor(), &id, CampaignState::Cancelled, Some(&reason)).await
    };
    match done {
        Ok(_) => see_other(&site_path(&app, &format!("/admin/campaigns/{id}"))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let r = cancel_page(&app, &op, &id, Some((&reason, confirm, e))).await;
            respond(&app, Some(op), r).await
        }
        Err(e) => respond(&app, Some(op), Err(e)).await,
    }
}
