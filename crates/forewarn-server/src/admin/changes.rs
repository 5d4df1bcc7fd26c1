//! The campaign forms that need more than a button: `/admin/campaigns/{id}/edit`, a draft's
//! file in a textarea (and the same form on the campaign page); `/admin/campaigns/{id}/cancel`,
//! the confirmation of a cancellation (the reason, required, and the campaign's id typed
//! again); and the optional reason of a pause or a resume.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_status::escape::Esc;
use forewarn_store::{CampaignState, StoredCampaign};

use super::session::forbidden;
use super::{Cx, Operator, html, respond, see_other, site_path};
use crate::App;
use crate::actions;
use crate::error::{ApiError, ApiResult};

/// A textarea's text as typed: browsers send its line ends as CR LF.
fn text(value: &str) -> String {
    value.replace("\r\n", "\n")
}

/// A form that posts to `action` with an optional reason and one button (pause, resume).
pub(super) fn reason_button(cx: &Cx, action: &str, label: &str, class: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\" class=\"reason\">{}<input type=\"text\" name=\"reason\" maxlength=\"2000\" \
         placeholder=\"Reason (optional)\" aria-label=\"Reason to {}\"><button type=\"submit\" class=\"{}\">{}</button>\
         </form>",
        Esc(&cx.path(action)),
        cx.csrf(),
        Esc(&label.to_lowercase()),
        Esc(class),
        Esc(label)
    )
}

/// The button that leads to the confirmation of a cancellation (it changes nothing itself).
pub(super) fn cancel_button(cx: &Cx, c: &StoredCampaign) -> String {
    format!(
        "<form method=\"get\" action=\"{}\"><button type=\"submit\" class=\"danger\">Cancel the campaign…</button></form>",
        Esc(&cx.path(&format!("/admin/campaigns/{}/cancel", c.id)))
    )
}

/// The edit form of a draft's file: `text` is what the textarea holds.
pub(super) fn edit_form(out: &mut String, cx: &Cx, c: &StoredCampaign, text: &str) {
    let _ = writeln!(
        out,
        "<form method=\"post\" action=\"{}\" class=\"stack\" id=\"edit\">{}<label for=\"edit-text\">The campaign file \
         <span class=\"hint\">(TOML or JSON; checked against the latest inventory as on creation; its <code>id</code> \
         stays <code>{}</code>)</span></label><textarea id=\"edit-text\" name=\"text\" rows=\"24\" spellcheck=\"false\" \
         required>{}</textarea><div><button type=\"submit\">Save the file</button></div></form>",
        Esc(&cx.path(&format!("/admin/campaigns/{}/edit", c.id))),
        cx.csrf(),
        Esc(&c.id),
        Esc(text)
    );
}

/// The edit page, with an error and the text as sent when saving failed.
async fn edit_page(app: &App, op: &Operator, id: &str, failed: Option<(&str, ApiError)>) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let c = actions::stored_campaign(app, id).await?;
    let mut main = String::new();
    let back = cx.path(&format!("/admin/campaigns/{id}"));
    let _ = writeln!(main, "<p class=\"meta\"><a href=\"{}\">← {}</a></p>", Esc(&back), Esc(&c.title));
    let (status, kept) = match &failed {
        Some((kept, e)) => {
            main.push_str(&cx.error_box("Not saved:", e));
            (e.status, *kept)
        }
        None => (StatusCode::OK, c.text.as_str()),
    };
    let _ = writeln!(main, "<h1>Edit {}</h1>", Esc(&c.title));
    if c.state != CampaignState::Draft {
        let _ = writeln!(
            main,
            "<p>Campaign <code>{}</code> is {}: only a draft is edited. Plan it again and publish the newer plan \
             version instead.</p>",
            Esc(&c.id),
            c.state.as_str()
        );
        let status = if failed.is_some() { status } else { StatusCode::CONFLICT };
        return Ok(html(status, cx.page("Edit", &main)));
    }
    main.push_str(
        "<p>The earlier text stays in the audit log. Plans made from it are not published: plan again after \
         saving.</p>\n",
    );
    edit_form(&mut main, &cx, &c, kept);
    Ok(html(status, cx.page(&format!("Edit {}", c.title), &main)))
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
    let mut main = String::new();
    let back = cx.path(&format!("/admin/campaigns/{id}"));
    let _ = writeln!(main, "<p class=\"meta\"><a href=\"{}\">← {}</a></p>", Esc(&back), Esc(&c.title));
    let (status, reason, confirm) = match &failed {
        Some((reason, confirm, e)) => {
            main.push_str(&cx.error_box("Not cancelled:", e));
            (e.status, *reason, *confirm)
        }
        None => (StatusCode::OK, "", ""),
    };
    let _ = writeln!(main, "<h1>Cancel {}?</h1>", Esc(&c.title));
    if !c.state.can_move_to(CampaignState::Cancelled) {
        let _ = writeln!(main, "<p>Campaign <code>{}</code> is {}: it cannot be cancelled.</p>", Esc(&c.id), c.state);
        let status = if failed.is_some() { status } else { StatusCode::CONFLICT };
        return Ok(html(status, cx.page("Cancel", &main)));
    }
    let consequence = if told > 0 {
        format!(
            "The {told} slot{} its contacts were told will not take place: they get a cancellation with the reason at \
             once, and the campaign's post says so. This cannot be undone.",
            if told == 1 { "" } else { "s" }
        )
    } else {
        "Nobody was told of its slots yet; its posts (if any) say it is cancelled. This cannot be undone.".to_owned()
    };
    let _ = writeln!(main, "<p id=\"cancel-consequence\">{}</p>", Esc(&consequence));
    let _ = writeln!(
        main,
        "<form method=\"post\" action=\"{action}\" class=\"stack\" id=\"cancel-confirm\">{csrf}\
         <label for=\"cancel-reason\">Reason <span class=\"hint\">(required: the post's update and the contacts' mail \
         give it)</span></label><textarea id=\"cancel-reason\" name=\"reason\" rows=\"3\" maxlength=\"2000\" \
         required>{reason}</textarea>\
         <label for=\"cancel-id\">Type the campaign's id, <code>{id}</code>, to confirm</label>\
         <input type=\"text\" id=\"cancel-id\" name=\"confirm\" value=\"{confirm}\" autocomplete=\"off\" required>\
         <div class=\"actions\"><button type=\"submit\" class=\"danger\">Cancel the campaign</button>\
         <a href=\"{back}\">Keep it</a></div></form>",
        action = Esc(&cx.path(&format!("/admin/campaigns/{id}/cancel"))),
        csrf = cx.csrf(),
        reason = Esc(reason),
        id = Esc(&c.id),
        confirm = Esc(confirm),
        back = Esc(&back),
    );
    Ok(html(status, cx.page(&format!("Cancel {}", c.title), &main)))
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
