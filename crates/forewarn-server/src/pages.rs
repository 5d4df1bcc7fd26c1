//! The public pages and feeds: `/`, `/posts/{id}`, `/history`, `/feed.atom`, `/calendar.ics`.
//! They need no login. Rendering is `forewarn_status`'s; this module fetches the data and
//! keeps rendered bytes until something is written or a few seconds pass (what is "ongoing"
//! or "upcoming" depends on the time; on PostgreSQL another instance's write makes them stale
//! within a second, see `watch_changes`), and served as they are while the database cannot be
//! reached. Only pages that exist are kept, under their canonical
//! path (`/posts/17` for `/posts/017`), and at most [`CACHED_PAGES`] of them (least recently
//! used first out): no request can make the cache grow without bound.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use forewarn_status::pages::{HistoryView, IndexView, PostView};
use forewarn_status::{Site, pages};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::App;
use crate::error::ApiError;

/// How long a rendered page is served as it is when nothing was written meanwhile.
const FRESH: SignedDuration = SignedDuration::from_secs(5);

const HTML: &str = "text/html; charset=utf-8";
const ATOM: &str = "application/atom+xml; charset=utf-8";
const ICS: &str = "text/calendar; charset=utf-8";

/// At most this many rendered pages are kept.
pub const CACHED_PAGES: usize = 256;

/// Rendered pages by canonical path: the write generation and time they were rendered at.
#[derive(Debug)]
pub struct PageCache {
    pages: std::sync::Mutex<lru::LruCache<String, Cached>>,
}

impl Default for PageCache {
    fn default() -> PageCache {
        let bound = NonZeroUsize::new(CACHED_PAGES).unwrap_or(NonZeroUsize::MIN);
        PageCache { pages: std::sync::Mutex::new(lru::LruCache::new(bound)) }
    }
}

impl PageCache {
    /// How many pages are kept now.
    pub fn len(&self) -> usize {
        self.pages.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone)]
struct Cached {
    generation: u64,
    at: Timestamp,
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
}

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(index))
        .route("/posts/{id}", get(post))
        .route("/history", get(history))
        .route("/feed.atom", get(feed))
        .route("/calendar.ics", get(calendar))
}

impl App {
    /// The site the pages are rendered for: the platform's zone from the latest inventory.
    pub(crate) async fn site(&self) -> Result<Site, ApiError> {
        let zone = match self.store.inventory_version().await? {
            Some(_) => self.inventory(None).await?.1.platform.zone.clone(),
            None => forewarn_model::Zone::utc(),
        };
        Ok(Site::new(self.config.site_name.clone(), self.config.base_url.clone(), zone))
    }

    /// The cached page for `key`, or renders it with `render` and keeps it.
    async fn cached<F, Fut>(&self, key: &str, content_type: &'static str, render: F) -> Response
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(StatusCode, String), ApiError>>,
    {
        let now = self.now();
        let generation = self.generation.load(Ordering::Acquire);
        let hit = self.pages.pages.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned();
        let page = match hit {
            Some(c) if c.generation == generation && now.duration_since(c.at) < FRESH => c,
            // While the database cannot be reached, the page as rendered last, rather than
            // an error (and without waiting for the database first).
            Some(c) if self.unreachable.load(Ordering::Acquire) => c,
            stale => match render().await {
                Ok((status, text)) => {
                    let c = Cached { generation, at: now, status, content_type, body: Bytes::from(text) };
                    // Only pages that exist: a 404 or an error is rendered again when asked.
                    if status == StatusCode::OK {
                        self.pages.pages.lock().unwrap_or_else(|e| e.into_inner()).put(key.to_owned(), c.clone());
                    }
                    c
                }
                Err(e) if e.code == "unavailable" => match stale {
                    Some(c) => c,
                    None if content_type == HTML => return self.unavailable_page(&e),
                    None => return e.into_response(),
                },
                Err(e) => return e.into_response(),
            },
        };
        let mut response = (page.status, page.body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(page.content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=5"));
        response
    }
}

impl App {
    /// The page saying the status page cannot be shown now (503): it needs nothing of the
    /// database, not even the site's zone.
    fn unavailable_page(&self, e: &ApiError) -> Response {
        let site = Site::new(self.config.site_name.clone(), self.config.base_url.clone(), forewarn_model::Zone::utc());
        let html = pages::error_page(&site, self.now(), "Temporarily unavailable", &e.message);
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, html).into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from_static("5"));
        response
    }
}

/// What answers a path no route has: the site's "not found" page, or under `/api/` the JSON
/// error document. Never cached (any path could be asked for).
pub(crate) async fn not_found(State(app): State<Arc<App>>, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::not_found(format!(
            "no endpoint `{path}`: the API's endpoints are listed in /api/v1/openapi.json"
        ))
        .into_response();
    }
    let site = match app.site().await {
        Ok(site) => site,
        Err(e) => return e.into_response(),
    };
    let mut response = (StatusCode::NOT_FOUND, pages::not_found(&site, app.now())).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    response
}

/// What answers a method a route does not take: under `/api/` the JSON error document
/// (naming the methods it takes), elsewhere a page saying so.
pub(crate) async fn method_not_allowed(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let message = format!("`{path}` does not take {method}");
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{message}: the methods each endpoint takes are listed in /api/v1/openapi.json"),
        )
        .into_response();
    }
    let site = match app.site().await {
        Ok(site) => site,
        Err(e) => return e.into_response(),
    };
    let html = pages::error_page(&site, app.now(), "Method not allowed", &format!("{message}."));
    let mut response = (StatusCode::METHOD_NOT_ALLOWED, html).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    response
}

async fn index(State(app): State<Arc<App>>) -> Response {
    let a = app.clone();
    app.cached("/", HTML, || async move {
        let site = a.site().await?;
        let (components, posts) = (a.store.components().await?, a.store.posts().await?);
        let html = pages::index(&IndexView { site: &site, now: a.now(), components: &components, posts: &posts });
        Ok((StatusCode::OK, html))
    })
    .await
}

async fn post(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let a = app.clone();
    // The canonical path of the id (`/posts/17` for `/posts/017`): one entry per post.
    let n = id.parse::<i64>().ok().filter(|n| *n > 0);
    let key = n.map_or_else(|| "/posts/-".to_owned(), |n| format!("/posts/{n}"));
    app.cached(&key, HTML, || async move {
        let site = a.site().await?;
        let now = a.now();
        let found = match n {
            Some(n) => a.store.post(n).await?,
            None => None,
        };
        let Some(p) = found else {
            return Ok((StatusCode::NOT_FOUND, pages::not_found(&site, now)));
        };
        let (updates, revisions, components, posts) = (
            a.store.updates(p.id).await?,
            a.store.revisions(p.id).await?,
            // Retired components too: an older post still names them.
            a.store.all_components().await?,
            a.store.posts().await?,
        );
        let view = PostView {
            site: &site,
            now,
            post: &p,
            updates: &updates,
            revisions: &revisions,
            components: &components,
            replaces: p.replaces.and_then(|r| posts.iter().find(|o| o.id == r)),
            replaced_by: pages::replaced_by(&p, &posts),
        };
        Ok((StatusCode::OK, pages::post(&view)))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

async fn history(State(app): State<Arc<App>>, Query(q): Query<PageQuery>) -> Response {
    let a = app.clone();
    let page = q.page.unwrap_or(1).max(1);
    app.cached(&format!("/history?page={page}"), HTML, || async move {
        let site = a.site().await?;
        let (components, posts) = (a.store.all_components().await?, a.store.posts().await?);
        let view = HistoryView { site: &site, now: a.now(), posts: &posts, page, components: &components };
        Ok((StatusCode::OK, pages::history(&view)))
    })
    .await
}

async fn feed(State(app): State<Arc<App>>) -> Response {
    let a = app.clone();
    app.cached("/feed.atom", ATOM, || async move {
        let site = a.site().await?;
        let (posts, updates) = (a.store.posts().await?, a.store.all_updates().await?);
        Ok((StatusCode::OK, forewarn_status::feed(&posts, &updates, &site, a.now())))
    })
    .await
}

async fn calendar(State(app): State<Arc<App>>) -> Response {
    let a = app.clone();
    app.cached("/calendar.ics", ICS, || async move {
        let site = a.site().await?;
        let posts = a.store.posts().await?;
        Ok((StatusCode::OK, forewarn_status::calendar(&posts, &site, a.now())))
    })
    .await
}
