//! `/admin/components`: every component with its status as the status page shows it, what
//! it was set to by hand and what open incidents and maintenance in progress make of it, and
//! a form per component to set its status by hand (`POST /admin/components/{id}`). The page
//! shows the worse of the two.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use forewarn_status::status;
use forewarn_status::{ComponentStatus, Post};
use maud::{Markup, html};

use super::session::forbidden;
use super::{Cx, Operator, answer, option, respond, see_other, site_path};
use crate::App;
use crate::actions;
use crate::error::{ApiError, ApiResult};

/// `GET /admin/components`.
pub async fn index(State(app): State<Arc<App>>, op: Operator) -> Response {
    let r = page(&app, &op, None).await;
    respond(&app, Some(op), r).await
}

/// `POST /admin/components/{id}` (`status`): the status set by hand, then the list again.
pub async fn set(State(app): State<Arc<App>>, op: Operator, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(fields) = op.form(&body) else { return forbidden() };
    let done = async {
        let status: ComponentStatus = fields
            .get("status")
            .trim()
            .parse()
            .map_err(|e: String| ApiError::unprocessable(format!("`status`: {e}")))?;
        actions::set_component_status(&app, &op.actor(), &id, status).await
    }
    .await;
    match done {
        Ok(c) => see_other(&site_path(&app, &format!("/admin/components#component-{}", c.id))),
        Err(e) if e.status.is_client_error() => {
            let r = page(&app, &op, Some(e)).await;
            respond(&app, Some(op), r).await
        }
        Err(e) => respond(&app, Some(op), Err(e)).await,
    }
}

/// The open posts that make something of `id` at `now`, as links.
fn causes(cx: &Cx, id: &str, posts: &[Post]) -> Markup {
    html! {
        @for p in posts.iter().filter(|p| p.components.iter().any(|c| c == id)) {
            @let s = status::post_status(p, cx.now);
            @if s != ComponentStatus::Operational {
                div class="hint" { (s.label()) ": " a href=(cx.path(&format!("/admin/posts/{}", p.id))) { (p.title) } }
            }
        }
    }
}

async fn page(app: &App, op: &Operator, failed: Option<ApiError>) -> ApiResult<Response> {
    let cx = Cx::new(app, Some(op.clone())).await?;
    let (components, posts) = (app.store.components().await?, app.store.posts().await?);
    let shown = status::effective(&components, &posts, cx.now);
    let code = failed.as_ref().map_or(StatusCode::OK, |e| e.status);
    let main = html! {
        h1 { "Components" } "\n"
        @if let Some(e) = &failed {
            (cx.error_box("The status was not set:", e))
        }
        p class="hint" {
            "The status page shows the worse of the status set here and what open incidents (by their impact) and \
             maintenance in progress make of a component; when those end, it shows the one set here again."
        } "\n"
        @if components.is_empty() {
            p class="empty" { "No components yet: they come with the inventory." } "\n"
        } @else {
            div class="scroll" { table class="list" id="components" {
                "\n"
                thead { tr { th { "Component" } th { "Shown" } th { "From posts" } th { "Set by hand" } } } "\n"
                tbody {
                    "\n"
                    @for (c, s) in components.iter().zip(&shown) {
                        @let derived = status::derived(&c.id, &posts, cx.now);
                        tr class="component-row" id={ "component-" (c.id) } data-id=(c.id) data-status=(s.status.name())
                            data-manual=(c.status.name()) data-derived=(derived.name()) {
                            td { (c.name) " " span class="hint" { (c.id) } }
                            td { (s.status.label()) }
                            td { (derived.label()) (causes(&cx, &c.id, &posts)) }
                            td {
                                form class="inline" method="post" action=(cx.path(&format!("/admin/components/{}", c.id))) {
                                    (cx.csrf())
                                    select name="status" aria-label={ "Status of " (c.name) } {
                                        @for option_status in ComponentStatus::ALL {
                                            (option(option_status.name(), option_status.label(), option_status == c.status))
                                        }
                                    }
                                    " " button type="submit" class="secondary" { "Set" }
                                }
                            }
                        } "\n"
                    }
                } "\n"
            } } "\n"
        }
    };
    Ok(answer(code, cx.page("Components", main)))
}
