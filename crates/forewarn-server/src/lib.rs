//! forewarn's coordinator service: the JSON API under `/api/v1`, the public status pages
//! and feeds, the admin pages under `/admin`, `/healthz` and `/metrics` (axum). The binary wires it: it opens the store,
//! brings the clock and the listener, and says when to stop.

pub mod actions;
pub mod admin;
pub mod agent;
pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod fleetlock;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod schema;
pub mod subscribe;
pub mod tell;
pub mod tzdb;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use forewarn_model::Inventory;
use forewarn_store::Store;
use jiff::Timestamp;

pub use config::{Config, Settings};

/// The time, brought by the binary (the only place that reads the clock), so tests can set it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
    /// A monotonic reading, for measuring how long something took.
    fn monotonic(&self) -> Duration;
}

/// Everything a request handler needs.
pub struct App {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub metrics: metrics::Metrics,
    /// The inventory versions used last, parsed once each, the most recent last (at most
    /// [`actions::KEPT_INVENTORIES`]; versions never change, so no copy goes stale).
    pub(crate) inventory: Mutex<Vec<(i64, Arc<Inventory>)>>,
    /// Held while an inventory is parsed: two requests for one version parse it once.
    pub(crate) parsing: tokio::sync::Mutex<()>,
    /// Bumped by every write that succeeded, here or (PostgreSQL) at another instance
    /// ([`watch_changes`]): rendered pages older than it are stale.
    generation: AtomicU64,
    /// Set while [`watch_changes`] finds the database unreachable: cached pages are served as
    /// they are, without trying it first.
    unreachable: AtomicBool,
    pages: pages::PageCache,
    admin: admin::AdminState,
    /// The guards of `POST /admin/login`: password checks at once, attempts per address and name.
    pub(crate) logins: limits::Logins,
    /// What every notifier shares (the site with its secret, the webhooks), made once.
    tell: tokio::sync::OnceCell<tell::Shared>,
    /// Woken after every write, so the delivery worker sends what it queued at once.
    pub wake: Arc<tokio::sync::Notify>,
    /// Slot moves of this process one at a time, so that they never lose to each other; the
    /// database decides between moves through different instances (`actions::move_slot`).
    moves: tokio::sync::Mutex<()>,
    /// Woken after every write, so the background round (reminders, slot progress, posts by
    /// the schedule) runs at once: a post whose window has begun is in progress right away.
    rounds: tokio::sync::Notify,
    /// Subscription requests: per client address, and for all clients together.
    subscribes: subscribe::Limits,
    /// Notifiers made ([`App::teller`]), each reading the inventories it needs: what a
    /// background round with nothing due must not do ([`schedule_round`]).
    tellers: AtomicU64,
    /// FleetLock groups, parsed once per campaign change and inventory version.
    pub(crate) groups: fleetlock::Groups,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("config", &self.config).finish_non_exhaustive()
    }
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Config) -> Arc<App> {
        Arc::new(App {
            store,
            clock,
            config,
            metrics: metrics::Metrics::default(),
            inventory: Mutex::new(Vec::new()),
            parsing: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            unreachable: AtomicBool::new(false),
            pages: pages::PageCache::default(),
            admin: admin::AdminState::default(),
            logins: limits::Logins::default(),
            tell: tokio::sync::OnceCell::new(),
            wake: Arc::new(tokio::sync::Notify::new()),
            moves: tokio::sync::Mutex::new(()),
            rounds: tokio::sync::Notify::new(),
            subscribes: subscribe::Limits::default(),
            tellers: AtomicU64::new(0),
            groups: fleetlock::Groups::default(),
        })
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A write changed what the pages may show: those rendered before are stale, here at once
    /// and, on PostgreSQL, at the other instances within a second ([`watch_changes`]: the
    /// count of such writes in the database goes up).
    async fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if self.store.backend() == forewarn_store::Backend::Postgres
            && let Err(e) = self.store.bump_generation().await
        {
            tracing::warn!(error = %e, "cannot tell other instances of a change: their pages follow within 5 s");
        }
    }

    /// The count of writes that changed what the pages (and FleetLock's groups) show, here or
    /// (PostgreSQL) at another instance: what was read before a change is stale after it.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// What holds machines changed here (a lock, a run): the copy FleetLock reads is dropped.
    pub(crate) fn fleetlock_changed(&self) {
        self.groups.changed();
    }

    /// How many notifiers were made since the start (for tests and diagnosis).
    pub fn tellers_made(&self) -> u64 {
        self.tellers.load(Ordering::Relaxed)
    }
}

/// Every route of the service.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .merge(Router::from(api::routes()))
        .merge(pages::routes())
        .merge(admin::routes())
        .merge(subscribe::routes())
        .merge(fleetlock::routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_page))
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::method_not_allowed)
        .layer(axum::middleware::from_fn(error::json_under_api))
        .layer(axum::middleware::from_fn_with_state(app.clone(), security_headers))
        .layer(axum::middleware::from_fn_with_state(app.clone(), track))
        .with_state(app)
}

/// What pages may load: their own inline styles and images of the site, nothing else (they
/// have no scripts); forms post to the site only; no page is framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers every answer carries: the content security policy, no framing, no content-type
/// sniffing, no referrer beyond the site; and HSTS when the site is reached over https.
async fn security_headers(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    use axum::http::HeaderValue;
    use axum::http::header;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if app.config.base_url.starts_with("https://") {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// Serves until `shutdown` completes, then finishes the requests in flight. Each connection
/// carries its client's address (`ConnectInfo<SocketAddr>`); slow or silent clients are cut:
/// a request's headers must arrive within `header_timeout` (hyper's timer also covers the wait
/// for the next request on a kept-alive connection), its body within `body_timeout`; at most
/// `max_connections` are served at once and the next wait in the listener's backlog.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::Service as _;

    let (body_timeout, header_timeout) = (app.config.body_timeout, app.config.header_timeout);
    let connections = Arc::new(tokio::sync::Semaphore::new(app.config.max_connections));
    let router = router(app);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
            let mut request = request.map(|body| axum::body::Body::new(TimedBody::new(body, body_timeout)));
            request.extensions_mut().insert(axum::extract::ConnectInfo(remote));
            router.clone().call(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, client = %remote, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A request body that fails once `body_timeout` has passed since its headers, so that a
/// client sending its body slowly (or not at all) cannot hold a handler.
struct TimedBody {
    body: hyper::body::Incoming,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

impl TimedBody {
    fn new(body: hyper::body::Incoming, timeout: Duration) -> TimedBody {
        TimedBody { body, deadline: Box::pin(tokio::time::sleep(timeout)), timeout }
    }
}

impl http_body::Body for TimedBody {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let this = self.get_mut();
        match std::pin::Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(format!(
                    "the request body did not arrive within {}s (the `body_timeout` setting)",
                    this.timeout.as_secs()
                )
                .into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Counts and times every request by its route pattern, and logs it.
async fn track(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let began = app.clock.monotonic();
    let method = request.method().as_str().to_owned();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let writes = !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
    let response = next.run(request).await;
    let took = app.clock.monotonic().saturating_sub(began);
    let status = response.status().as_u16();
    // The agents' and FleetLock's requests change nothing the pages show (what they report
    // that does says so itself), and thousands of machines would otherwise churn every
    // instance's caches.
    if writes && status < 400 && !route.starts_with("/agent/") && !route.starts_with("/v1/") {
        app.changed().await;
        app.wake_delivery();
        app.rounds.notify_one();
    }
    app.metrics.record(&method, &route, status, took);
    tracing::info!(method, route, status, micros = took.as_micros() as u64, "request");
    response
}

/// How long `/healthz` waits for the database: a load balancer's check gets its answer in
/// time, whatever the pool's own wait.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// 200 while the database answers; 503 saying so while it cannot be reached (the service
/// keeps trying, and answers 200 again once it is back, without a restart).
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let error = match tokio::time::timeout(HEALTH_TIMEOUT, app.store.ping()).await {
        Ok(Ok(())) => return (axum::http::StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", HEALTH_TIMEOUT.as_secs()),
    };
    tracing::warn!(error = %error, "health check: the database cannot be reached");
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "database unreachable: writes answer 503 and cached pages are served until it is back\n",
    )
        .into_response()
}

async fn metrics_page(State(app): State<Arc<App>>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &app.config.metrics_token {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !auth::same_secret(given.trim(), token) {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs `Authorization: Bearer TOKEN` with the `metrics_token` setting\n",
            )
                .into_response();
        }
    }
    let mut gauges = Vec::new();
    match app.store.counts().await {
        Ok(c) => {
            let by_state =
                c.campaigns_by_state.iter().map(|(state, n)| (format!("state=\"{}\"", state.as_str()), *n)).collect();
            gauges.push(("forewarn_campaigns", "Campaigns by state.", by_state));
            gauges.push(("forewarn_posts", "Posts on the status page.", vec![(String::new(), c.posts)]));
        }
        Err(e) => tracing::error!(error = %e, "metrics: cannot count"),
    }
    match app.store.outbox_counts().await {
        Ok(c) => {
            let by_state = [("pending", c.pending), ("sent", c.sent), ("dead", c.dead)]
                .into_iter()
                .map(|(state, n)| (format!("state=\"{state}\""), i64::try_from(n).unwrap_or(i64::MAX)))
                .collect();
            gauges.push((
                "forewarn_outbox_messages",
                "Messages in the outbox by state: pending is the outbox depth, dead the ones that need an operator.",
                by_state,
            ));
        }
        Err(e) => tracing::error!(error = %e, "metrics: cannot count the outbox"),
    }
    let (release, source) = tzdb::in_use();
    let labels = match forewarn_model::tz::db().source() {
        forewarn_model::tz::Source::Bundled => format!("release=\"{}\",source=\"bundled\"", metrics::escape(&release)),
        forewarn_model::tz::Source::Dir(_) => {
            format!("release=\"{}\",source=\"tzdir\",dir=\"{}\"", metrics::escape(&release), metrics::escape(&source))
        }
    };
    gauges.push((
        "forewarn_tzdb_info",
        "The time zone database windows are read with: its tzdb release, and whether it is the bundled one or a TZif directory.",
        vec![(labels, 1)],
    ));
    match tzdb::standing(&app).await {
        Ok(found) => gauges.push((
            "forewarn_tzdb_slots_outside_window",
            "Published slots outside their window since the time zone database changed (move them by hand).",
            vec![(String::new(), i64::try_from(found.len()).unwrap_or(i64::MAX))],
        )),
        Err(e) => tracing::error!(error = %e, "metrics: cannot read the slots outside their window"),
    }
    gauges.push((
        "forewarn_page_cache_entries",
        "Rendered public pages kept in memory (bounded).",
        vec![(String::new(), i64::try_from(app.pages.len()).unwrap_or(i64::MAX))],
    ));
    let text = app.metrics.render(&gauges);
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// What one [`schedule_round`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Round {
    /// Whether something was due, so that the reminders, slot progress and posts by the
    /// schedule ran.
    pub worked: bool,
    /// When something is next due, if anything will be ([`forewarn_store::Store::next_scheduled`]).
    pub next: Option<Timestamp>,
}

/// One round of the work the schedule causes: queueing the reminders that are due and the
/// webhook events of slots that started or finished, and moving maintenance posts (and
/// campaigns) to in progress and completed. When nothing is due at the app's now, it asks
/// the store when something will be (one query) and does nothing else: no notifier is
/// made, no inventory read. Errors of the work are logged.
pub async fn schedule_round(app: &App) -> Result<Round, String> {
    let now = app.now();
    let next = app.store.next_scheduled(now, app.config.reminder).await.map_err(|e| e.to_string())?;
    if next.is_none_or(|due| due > now) {
        return Ok(Round { worked: false, next });
    }
    // Agents silent past their lease: their runs are lost (and still hold their machines).
    match app.store.expire_leases(now).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::warn!(runs = n, "agents' leases ran out: their runs are lost");
            app.fleetlock_changed();
        }
        Err(e) => tracing::error!(error = %e, "expiring agents' leases failed"),
    }
    match actions::send_reminders(app).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(slots = n, "reminders queued");
            app.wake_delivery();
        }
        Err(e) => tracing::error!(error = %e.message, "reminders failed"),
    }
    match actions::record_slot_progress(app).await {
        Ok((0, 0)) => {}
        Ok((started, finished)) => {
            tracing::info!(started, finished, "slot progress queued");
            app.wake_delivery();
        }
        Err(e) => tracing::error!(error = %e.message, "slot progress failed"),
    }
    // After the slots: a campaign completes once its last slot was told finished.
    match actions::advance_posts(app).await {
        Ok(0) => {}
        Ok(moves) => {
            tracing::info!(moves, "maintenance posts moved by the schedule");
            // The pages show the new states at once.
            app.changed().await;
            app.wake_delivery();
        }
        Err(e) => tracing::error!(error = %e.message, "moving maintenance posts failed"),
    }
    let next = app.store.next_scheduled(app.now(), app.config.reminder).await.map_err(|e| e.to_string())?;
    Ok(Round { worked: true, next })
}

/// How long the background waits after a round: until the next due time, or a minute,
/// whichever is first; a minute too when something stayed due after the work (it failed,
/// or someone else holds it), so that a failure is not retried in a busy loop.
fn wait_after(round: &Round, now: Timestamp) -> Duration {
    const MINUTE: Duration = Duration::from_secs(60);
    match round.next.map(|next| next.duration_since(now)) {
        Some(wait) if wait.is_positive() => Duration::try_from(wait).unwrap_or(MINUTE).min(MINUTE),
        _ => MINUTE,
    }
}

impl App {
    /// A deliverer of this service's outbox: it renders messages with the service's site
    /// and the inventories it keeps parsed.
    pub fn deliverer(
        self: &Arc<App>,
        options: forewarn_notify::deliver::Options,
    ) -> Result<forewarn_notify::deliver::Deliverer, String> {
        let library = Arc::new(tell::AppLibrary(self.clone()));
        forewarn_notify::deliver::Deliverer::new(self.store.clone(), options, library)
    }
}

/// The work that runs beside the requests until `stop` turns true: delivering the outbox
/// (SMTP or the capture mailbox, and webhooks) and the rounds of the schedule
/// ([`schedule_round`]): after every write that succeeded, at the next due time and at
/// least every minute; a round with nothing due costs one query; and, on PostgreSQL, the
/// watch for other instances' writes ([`watch_changes`]). A SQLite service first takes back
/// the leases a killed predecessor held (it is the only process on its file), so their
/// messages go out at once. Several instances on one PostgreSQL database share the work:
/// each message is claimed by one of them, each round of the schedule is run by one at a
/// time (the others skip it meanwhile). None of it ends on an error: a database that went
/// away is tried again at the next round.
pub async fn background(
    app: Arc<App>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let c = &app.config;
    let options = forewarn_notify::deliver::Options {
        smtp: c.smtp.clone(),
        policy: c.retry,
        lease: c.delivery_lease,
        concurrency: c.delivery_connections,
        // A few messages per connection a round: enough to keep them busy, few enough that
        // several instances share a publication.
        batch: (c.delivery_connections * 4).clamp(64, 1024) as u32,
        webhooks: c.webhooks.iter().map(|w| (w.url.clone(), w.secret.clone().into_bytes())).collect(),
        ..forewarn_notify::deliver::Options::default()
    };
    let deliverer = app.deliverer(options)?;
    if app.store.backend() == forewarn_store::Backend::Sqlite {
        match app.store.release_claims().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(messages = n, "outbox: took back the messages a stopped process had claimed"),
            Err(e) => return Err(format!("outbox: {e}")),
        }
    }
    tracing::info!(
        mail = if deliverer.captures() { "captured (no SMTP relay configured; see /admin/mail)" } else { "SMTP" },
        webhooks = c.webhooks.len(),
        "delivery started"
    );
    Ok(tokio::spawn(async move {
        let stopped = {
            let mut stop = stop.clone();
            async move {
                let _ = stop.wait_for(|s| *s).await;
            }
        };
        let clock = app.clock.clone();
        let delivery = deliverer.run(move || clock.now(), app.wake.clone(), Duration::from_secs(5), stopped);
        let watch = watch_changes(&app, stop.clone());
        let reminders = async {
            let mut pruned: Option<Timestamp> = None;
            loop {
                // Delivered messages past their retention go, once an hour at most.
                let now = app.now();
                if pruned.is_none_or(|at| now.duration_since(at) >= jiff::SignedDuration::from_hours(1)) {
                    pruned = Some(now);
                    let before = now.checked_sub(app.config.outbox_retention).unwrap_or(Timestamp::MIN);
                    match app.store.prune_sent(before).await {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!(messages = n, "outbox: deleted messages delivered before the retention")
                        }
                        Err(e) => tracing::error!(error = %e, "outbox: pruning failed"),
                    }
                }
                let wait = match schedule_round(&app).await {
                    Ok(round) => wait_after(&round, app.now()),
                    Err(e) => {
                        tracing::error!(error = %e, "the schedule's round failed");
                        Duration::from_secs(60)
                    }
                };
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    () = tokio::time::sleep(wait) => {}
                    () = app.rounds.notified() => {}
                }
            }
        };
        tokio::join!(delivery, reminders, watch);
    }))
}

/// How often an instance on PostgreSQL reads the count of writes that changed the pages.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// On PostgreSQL, until `stop`: every second, the count of writes that changed what pages
/// show ([`forewarn_store::Store::generation`]); when another instance's write moved it, the
/// pages rendered here are stale. Logs once when the database cannot be reached and once when
/// it is back (pages rendered before are stale then too). Nothing on SQLite: one process.
pub async fn watch_changes(app: &App, mut stop: tokio::sync::watch::Receiver<bool>) {
    if app.store.backend() != forewarn_store::Backend::Postgres {
        return;
    }
    let (mut seen, mut reachable) = (None, true);
    loop {
        match app.store.generation().await {
            Ok(n) => {
                if !reachable {
                    tracing::info!("the database is reachable again");
                    reachable = true;
                    app.generation.fetch_add(1, Ordering::AcqRel);
                    app.unreachable.store(false, Ordering::Release);
                    // What waited for the database goes now, not at the next minute.
                    app.wake_delivery();
                    app.rounds.notify_one();
                }
                if seen.is_some_and(|s| s != n) {
                    app.generation.fetch_add(1, Ordering::AcqRel);
                    // What that write queued or made due is shared out at once: this
                    // instance delivers and runs the schedule's round too.
                    app.wake_delivery();
                    app.rounds.notify_one();
                }
                seen = Some(n);
            }
            Err(e) if reachable => {
                tracing::warn!(error = %e, "the database cannot be reached: writes answer 503, cached pages are served");
                reachable = false;
                app.unreachable.store(true, Ordering::Release);
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(WATCH_EVERY) => {}
        }
    }
}
