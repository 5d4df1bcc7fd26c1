//! Delivery from the outbox: the one place in forewarn that talks SMTP and posts webhooks.
//!
//! A round claims the due messages under a lease, sends them (several at once: email over
//! lettre's pooled SMTP connections, or connections of our own to a plain relay, webhooks
//! through one ureq agent that keeps connections open between requests), and marks each sent
//! or failed; the service's loop ([`Deliverer::run`]) claims the next round while the one
//! before still sends. Failures wait with exponential
//! backoff ([`RetryPolicy`]); a permanent one (an SMTP 5xx, an address that cannot be an
//! address, a webhook's 4xx other than 408 and 429) or too many make the message dead, kept
//! with its error until an operator retries it. A webhook's URL may hold a secret (Slack's
//! do): it is never logged nor written into an error; the webhook is named by its place in
//! the configuration (`webhooks[0]`).
//!
//! Nothing is lost when the process dies: a message is marked sent only after the relay
//! accepted it, so one killed in between is sent again once its lease ends (a SQLite
//! service clears the leases when it starts, being the only process on its file) — under
//! the same Message-ID, which is what lets the recipient's mail client show it once.
//! Without an SMTP URL, mail goes to the capture mailbox: it is marked sent as it is and
//! read at `/admin/mail`.

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use forewarn_model::Inventory;
use forewarn_store::{Channel, Message, RetryPolicy, Store};
use jiff::{SignedDuration, Timestamp};
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::Notify;

use crate::{Inventories, Rendering, Site};

/// How delivery runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// `smtp://[USER:PASSWORD@]HOST[:PORT]` (add `?tls=required` for STARTTLS) or
    /// `smtps://...`; `None`: the capture mailbox.
    pub smtp: Option<String>,
    pub policy: RetryPolicy,
    /// A claimed message is not claimed again before this has passed.
    pub lease: SignedDuration,
    /// Messages claimed per round.
    pub batch: u32,
    /// Messages in flight at once (and SMTP connections in the pool).
    pub concurrency: usize,
    /// Each webhook URL's signing secret, in the configuration's order (the index names the
    /// webhook in logs and errors).
    pub webhooks: Vec<(String, Vec<u8>)>,
    /// How long one SMTP conversation or webhook request may take (connecting, at most
    /// [`WEBHOOK_CONNECT_TIMEOUT`] of it, included).
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            smtp: None,
            policy: RetryPolicy::default(),
            lease: SignedDuration::from_secs(120),
            batch: 256,
            concurrency: 8,
            webhooks: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// How long connecting to a webhook (TCP and TLS) may take.
pub const WEBHOOK_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a webhook's answer read (and dropped), so its connection can be used again.
const WEBHOOK_ANSWER_LIMIT: u64 = 64 * 1024;

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub sent: usize,
    /// Failed and waiting for another attempt.
    pub retrying: usize,
    pub dead: usize,
}

/// Why one attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    /// Trying again will not help (SMTP 5xx, a malformed address).
    pub permanent: bool,
}

impl Failure {
    fn transient(error: impl Into<String>) -> Failure {
        Failure { error: error.into(), permanent: false }
    }
    fn permanent(error: impl Into<String>) -> Failure {
        Failure { error: error.into(), permanent: true }
    }
}

/// A boxed future, for [`Library`]'s methods.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What rendering a message at delivery reads besides its own rows: the site (for the
/// secret that signs its links) and stored inventory versions, parsed. The service gives
/// its own, which shares the inventories it keeps parsed anyway.
pub trait Library: Send + Sync {
    fn site(&self) -> BoxFuture<'_, Result<Arc<Site>, String>>;
    /// Inventory `version`, parsed; an `Err` is worth another attempt later (the database
    /// may be away).
    fn inventory(&self, version: i64) -> BoxFuture<'_, Result<Arc<Inventory>, String>>;
}

/// A [`Library`] that reads inventory versions from the store and keeps the last few
/// parsed (for tools and tests; the service shares its own cache instead).
pub struct StoredLibrary {
    store: Store,
    site: Arc<Site>,
    parsed: std::sync::Mutex<Vec<(i64, Arc<Inventory>)>>,
}

impl std::fmt::Debug for StoredLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredLibrary").field("site", &self.site).finish_non_exhaustive()
    }
}

impl StoredLibrary {
    pub fn new(store: Store, site: Site) -> StoredLibrary {
        StoredLibrary { store, site: Arc::new(site), parsed: std::sync::Mutex::new(Vec::new()) }
    }
}

impl Library for StoredLibrary {
    fn site(&self) -> BoxFuture<'_, Result<Arc<Site>, String>> {
        Box::pin(async move { Ok(self.site.clone()) })
    }

    fn inventory(&self, version: i64) -> BoxFuture<'_, Result<Arc<Inventory>, String>> {
        Box::pin(async move {
            if let Some((_, inv)) =
                self.parsed.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|(v, _)| *v == version)
            {
                return Ok(inv.clone());
            }
            let stored = self
                .store
                .inventory(Some(version))
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("inventory version {version} is not stored"))?;
            let name = format!("inventory-v{version}.{}", stored.format);
            let inv = tokio::task::spawn_blocking(move || forewarn_model::parse_inventory(&name, &stored.text))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|d| format!("stored inventory {version} no longer validates: {d}"))?;
            let inv = Arc::new(inv);
            let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
            parsed.push((version, inv.clone()));
            if parsed.len() > 3 {
                parsed.remove(0);
            }
            Ok(inv)
        })
    }
}

/// Sends what the outbox holds.
#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// For a plain `smtp://HOST[:PORT]` relay (no TLS, no login: the local MTA), connections
    /// of our own with `TCP_NODELAY`, used instead of `smtp`'s pool.
    plain: Option<Arc<PlainRelay>>,
    options: Arc<Options>,
    /// The messages in flight at once (`concurrency`), shared by the rounds: the next round
    /// is claimed while the one before still sends.
    slots: Arc<tokio::sync::Semaphore>,
    /// Shared by every webhook request, so connections are used again.
    http: ureq::Agent,
    library: Arc<dyn Library>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer").field("smtp", &self.smtp.is_some()).finish_non_exhaustive()
    }
}

/// A message ready to go: its row and its bytes.
type Ready = (Message, Arc<str>);

/// Messages rendered, and those that could not be, with why and whether trying again may help.
type Rendered = (Vec<Ready>, Vec<(Message, Failure)>);

/// A round's messages, claimed under `holder` and rendered: what is left is to send them.
struct Claimed {
    holder: String,
    /// What the round did so far (the messages it could not render).
    round: Round,
    ready: Vec<Ready>,
}

impl Deliverer {
    /// Checks the SMTP URL (without connecting: the relay may be down now and up later).
    pub fn new(store: Store, options: Options, library: Arc<dyn Library>) -> Result<Deliverer, String> {
        let smtp = match &options.smtp {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("smtp: `{}` is not a mail relay URL ({e}); write smtp://HOST:PORT, smtp://USER:PASSWORD@HOST:587?tls=required (STARTTLS) or smtps://USER:PASSWORD@HOST:465", redact(url)))?
                    .timeout(Some(options.timeout))
                    .pool_config(PoolConfig::new().max_size(options.concurrency.max(1) as u32))
                    .build(),
            ),
        };
        let plain = options.smtp.as_deref().and_then(plain_address).map(|address| {
            Arc::new(PlainRelay {
                address,
                timeout: options.timeout,
                idle: tokio::sync::Mutex::new(Vec::new()),
                keep: options.concurrency.max(1),
            })
        });
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let http = ureq::Agent::config_builder()
            .timeout_connect(Some(WEBHOOK_CONNECT_TIMEOUT.min(options.timeout)))
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections_per_host(options.concurrency.max(1))
            .user_agent("forewarn")
            .tls_config(tls)
            .build()
            .new_agent();
        let slots = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
        Ok(Deliverer { store, smtp, plain, options: Arc::new(options), slots, http, library })
    }

    /// Whether mail goes to the capture mailbox.
    pub fn captures(&self) -> bool {
        self.smtp.is_none()
    }

    /// Claims the due messages, renders those written as intents and delivers them,
    /// `concurrency` at a time. The round's lease is renewed while it runs (every third of
    /// the lease), so no other worker takes a message this one is still sending, however
    /// long the round takes; the messages delivered are marked sent in batches.
    pub async fn round(&self, now: &(dyn Fn() -> Timestamp + Send + Sync)) -> forewarn_store::Result<Round> {
        let claimed = self.claim(now).await?;
        self.deliver(claimed, now).await
    }

    /// A round's first half: claims the due messages under a fresh lease and renders them;
    /// those that cannot be rendered are marked failed.
    async fn claim(&self, now: &(dyn Fn() -> Timestamp + Send + Sync)) -> forewarn_store::Result<Claimed> {
        let holder = holder();
        let claimed = self.store.claim_messages(now(), self.options.lease, self.options.batch, &holder).await?;
        let mut round = Round { claimed: claimed.len(), ..Round::default() };
        if claimed.is_empty() {
            return Ok(Claimed { holder, round, ready: Vec::new() });
        }
        let (ready, unrendered) = self.render(claimed).await;
        for (message, failure) in unrendered {
            self.failed(&mut round, &message, &failure, now()).await?;
        }
        Ok(Claimed { holder, round, ready })
    }

    /// A round's second half: sends its messages, each once a connection is free (the
    /// `concurrency` connections are shared with the round before, which may still be
    /// sending), renews the round's lease every third of it until the last is done, and marks
    /// them.
    async fn deliver(
        &self,
        claimed: Claimed,
        now: &(dyn Fn() -> Timestamp + Send + Sync),
    ) -> forewarn_store::Result<Round> {
        let Claimed { holder, mut round, ready } = claimed;
        let lease = self.options.lease;
        let mut held: std::collections::HashSet<i64> = ready.iter().map(|(m, _)| m.id).collect();
        let mut queue = ready.into_iter();
        let mut next = queue.next();
        // The wait for a free connection, kept across the loop's turns so that the round
        // keeps its place in the line.
        let mut slot = None;
        let mut running = tokio::task::JoinSet::new();
        let mut delivered = Vec::new();
        let every = Duration::try_from(lease / 3).unwrap_or(Duration::from_secs(1)).max(Duration::from_millis(100));
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if next.is_some() && slot.is_none() {
                slot = Some(Box::pin(self.slots.clone().acquire_owned()));
            }
            if next.is_none() && running.is_empty() {
                break;
            }
            tokio::select! {
                permit = async { slot.as_mut().expect("a slot is awaited").await }, if slot.is_some() => {
                    slot = None;
                    let permit = permit.map_err(|e| forewarn_store::Error::Invalid(format!("delivery: {e}")))?;
                    if let Some((message, payload)) = next.take() {
                        let this = self.clone();
                        running.spawn(async move {
                            let outcome = this.send(&message, &payload).await;
                            drop(permit);
                            (message, outcome)
                        });
                    }
                    next = queue.next();
                }
                Some(done) = running.join_next(), if !running.is_empty() => {
                    let (message, outcome) =
                        done.map_err(|e| forewarn_store::Error::Invalid(format!("delivery task: {e}")))?;
                    held.remove(&message.id);
                    match outcome {
                        Ok(()) => {
                            delivered.push(message.id);
                            round.sent += 1;
                            if delivered.len() >= MARK_BATCH {
                                self.store.mark_sent(&std::mem::take(&mut delivered), now()).await?;
                            }
                        }
                        Err(failure) => self.failed(&mut round, &message, &failure, now()).await?,
                    }
                }
                _ = renew.tick() => {
                    let ids: Vec<i64> = held.iter().copied().collect();
                    self.store.renew_claims(&holder, &ids, later(now(), lease)).await?;
                }
            }
        }
        if !delivered.is_empty() {
            self.store.mark_sent(&delivered, now()).await?;
        }
        Ok(round)
    }

    /// Counts and records a failed attempt (the time of the outcome, not of the claim, for
    /// the backoff).
    async fn failed(
        &self,
        round: &mut Round,
        message: &Message,
        failure: &Failure,
        at: Timestamp,
    ) -> forewarn_store::Result<()> {
        tracing::warn!(id = message.id, key = %message.key, recipient = %self.recipient_name(message), error = %failure.error, permanent = failure.permanent, "delivery failed");
        let state =
            self.store.mark_failed(message.id, at, &failure.error, failure.permanent, &self.options.policy).await?;
        if state == forewarn_store::MessageState::Dead {
            round.dead += 1;
        } else {
            round.retrying += 1;
        }
        Ok(())
    }

    /// Renders the claimed messages written as intents (on every core), reading each
    /// event's context once and the inventory versions they name through the library.
    async fn render(&self, claimed: Vec<Message>) -> Rendered {
        let mut contexts: HashMap<i64, Result<Arc<Rendering>, String>> = HashMap::new();
        let mut versions = std::collections::BTreeSet::new();
        for m in &claimed {
            if let Some(intent) = &m.intent {
                let parsed =
                    contexts.entry(intent.event).or_insert_with(|| Rendering::parse(&intent.context).map(Arc::new));
                if let Ok(r) = parsed {
                    let (current, previous) = r.inventories();
                    versions.extend(current.into_iter().chain(previous));
                }
            }
        }
        if contexts.is_empty() {
            return (
                claimed
                    .into_iter()
                    .map(|m| {
                        let p: Arc<str> = m.payload.as_str().into();
                        (m, p)
                    })
                    .collect(),
                Vec::new(),
            );
        }
        let mut inventories: HashMap<i64, Result<Arc<Inventory>, String>> = HashMap::new();
        for v in versions {
            inventories.insert(v, self.library.inventory(v).await);
        }
        let site = match self.library.site().await {
            Ok(site) => site,
            Err(e) => {
                let failure = Failure::transient(format!("the site cannot be read to write the message: {e}"));
                return (Vec::new(), claimed.into_iter().map(|m| (m, failure.clone())).collect());
            }
        };
        let work = move || render_all(&site, &contexts, &inventories, claimed);
        tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// One attempt at one message.
    pub async fn send(&self, message: &Message, payload: &str) -> Result<(), Failure> {
        match message.channel {
            Channel::Email => self.send_email(message, payload).await,
            Channel::Webhook => self.post_webhook(message, payload).await,
        }
    }

    async fn send_email(&self, message: &Message, payload: &str) -> Result<(), Failure> {
        let Some(smtp) = &self.smtp else { return Ok(()) };
        let from: lettre::Address = message
            .sender
            .parse()
            .map_err(|e| Failure::permanent(format!("sender `{}` is not an address: {e}", message.sender)))?;
        let to: lettre::Address = message
            .recipient
            .parse()
            .map_err(|e| Failure::permanent(format!("recipient `{}` is not an address: {e}", message.recipient)))?;
        if let Some(plain) = &self.plain {
            return plain.send(from.as_ref(), to.as_ref(), payload).await;
        }
        let envelope = Envelope::new(Some(from), vec![to]).map_err(|e| Failure::permanent(e.to_string()))?;
        match smtp.send_raw(&envelope, payload.as_bytes()).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = smtp_error_text(&e);
                if e.is_permanent() { Err(Failure::permanent(text)) } else { Err(Failure::transient(text)) }
            }
        }
    }

    /// Where a message goes, as logs may show it: an email address, or a webhook's place in
    /// the configuration (its URL may hold a secret).
    fn recipient_name(&self, message: &Message) -> String {
        match message.channel {
            Channel::Email => message.recipient.clone(),
            Channel::Webhook => match self.options.webhooks.iter().position(|(url, _)| *url == message.recipient) {
                Some(i) => format!("webhooks[{i}]"),
                None => "a webhook that is not configured any more".to_owned(),
            },
        }
    }

    async fn post_webhook(&self, message: &Message, payload: &str) -> Result<(), Failure> {
        let (index, (url, secret)) =
            self.options.webhooks.iter().enumerate().find(|(_, (url, _))| *url == message.recipient).ok_or_else(
                || {
                    Failure::permanent(
                        "the webhook is not configured any more (its URL is not shown: it may hold a secret)",
                    )
                },
            )?;
        let name = format!("webhooks[{index}]");
        let headers = [
            ("Content-Type", "application/json".to_owned()),
            ("X-Forewarn-Event", message.subject.clone()),
            ("X-Forewarn-Delivery", message.key.clone()),
            ("X-Forewarn-Signature", crate::sign_webhook(secret, payload.as_bytes())),
        ];
        let (agent, url, body) = (self.http.clone(), url.clone(), payload.to_owned());
        let posted = tokio::task::spawn_blocking(move || post(&agent, &url, &headers, body.as_bytes()))
            .await
            .map_err(|e| Failure::transient(format!("{name}: the delivery task failed: {e}")))?;
        match posted {
            Ok(status) => webhook_outcome(&name, status),
            Err(e) => Err(webhook_error(&name, &message.recipient, &e, self.options.timeout)),
        }
    }

    /// Delivers until `shutdown` resolves: a round whenever something is due, woken early
    /// by `wake` (a write that queued messages) and at least every `idle` otherwise. The next
    /// round is claimed and rendered while the one before still sends (its messages then wait
    /// for the connections that one frees), so the connections never wait for a claim; at
    /// most two rounds are under way. At shutdown nothing more is claimed and the rounds
    /// under way finish.
    pub async fn run<F>(
        self,
        now: F,
        wake: Arc<Notify>,
        idle: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) where
        F: Fn() -> Timestamp + Send + Sync + 'static,
    {
        tokio::pin!(shutdown);
        let now = Arc::new(now);
        let mut sending = tokio::task::JoinSet::new();
        loop {
            while sending.len() >= ROUNDS_UNDER_WAY {
                if let Some(done) = sending.join_next().await {
                    finished(done);
                }
            }
            let wait = match self.claim(&*now).await {
                Ok(claimed) if claimed.round.claimed > 0 => {
                    let (this, now) = (self.clone(), now.clone());
                    sending.spawn(async move { this.deliver(claimed, &*now).await });
                    Duration::ZERO
                }
                Ok(_) => match self.store.next_due().await {
                    Ok(Some(due)) => {
                        let until = due.duration_since(now());
                        Duration::try_from(until).unwrap_or(Duration::ZERO).min(idle)
                    }
                    Ok(None) => idle,
                    Err(e) => {
                        tracing::error!(error = %e, "outbox: cannot read the next due message");
                        idle
                    }
                },
                Err(e) => {
                    tracing::error!(error = %e, "outbox: delivery round failed");
                    idle
                }
            };
            if wait.is_zero() {
                // Let shutdown win between rounds.
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::task::yield_now() => {}
                }
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                Some(done) = sending.join_next(), if !sending.is_empty() => finished(done),
            }
        }
        while let Some(done) = sending.join_next().await {
            finished(done);
        }
    }
}

/// Rounds under way at once in [`Deliverer::run`]: one sending, the next claimed.
const ROUNDS_UNDER_WAY: usize = 2;

/// Logs how a round that [`Deliverer::run`] started ended.
fn finished(done: Result<forewarn_store::Result<Round>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(round)) => tracing::debug!(?round, "delivery round"),
        Ok(Err(e)) => tracing::error!(error = %e, "outbox: delivery round failed"),
        Err(e) => tracing::error!(error = %e, "outbox: a delivery round ended early"),
    }
}

/// A relay spoken to in plain SMTP (`smtp://HOST[:PORT]`, no TLS, no login: typically the
/// local MTA) over connections of our own, with `TCP_NODELAY` (lettre's pooled transport
/// writes the end of a message as its own small segment with Nagle's algorithm on, so the
/// relay's delayed ACK paced every connection to about 25 messages a second). A message
/// costs two writes and two waits for the relay: the envelope and `DATA` together when the
/// relay announced `PIPELINING` (RFC 2920; one command at a time otherwise), then the whole
/// message, dot-stuffed, with its end.
struct PlainRelay {
    /// `host:port`.
    address: String,
    timeout: Duration,
    /// Connections that sent their last message well, to be used again.
    idle: tokio::sync::Mutex<Vec<Connection>>,
    /// At most this many idle connections are kept.
    keep: usize,
}

impl PlainRelay {
    async fn connect(&self) -> Result<Connection, Failure> {
        match tokio::time::timeout(self.timeout, Connection::open(&self.address)).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(e)) => Err(Failure::transient(format!("cannot reach the mail relay at {}: {e}", self.address))),
            Err(_) => Err(Failure::transient(format!("the mail relay at {} did not answer in time", self.address))),
        }
    }

    /// Sends one message on an idle connection (or a new one); a connection that failed is
    /// closed, one that worked is kept for the next message. A kept connection can have died
    /// meanwhile (the relay restarted): when one fails other than by the relay's permanent
    /// refusal, the other kept ones go too, and the message is tried once more on a fresh
    /// connection.
    async fn send(&self, from: &str, to: &str, payload: &str) -> Result<(), Failure> {
        let kept = self.idle.lock().await.pop();
        let reused = kept.is_some();
        let connection = match kept {
            Some(c) => c,
            None => self.connect().await?,
        };
        match self.send_on(connection, from, to, payload).await {
            Err(failure) if reused && !failure.permanent => {
                self.idle.lock().await.clear();
                let fresh = self.connect().await?;
                self.send_on(fresh, from, to, payload).await
            }
            outcome => outcome,
        }
    }

    async fn send_on(&self, mut connection: Connection, from: &str, to: &str, payload: &str) -> Result<(), Failure> {
        match tokio::time::timeout(self.timeout, connection.send(from, to, payload)).await {
            Ok(Ok(())) => {
                let mut idle = self.idle.lock().await;
                if idle.len() < self.keep {
                    idle.push(connection);
                }
                Ok(())
            }
            // A connection that failed is dropped (closed) with its transaction.
            Ok(Err(failure)) => Err(failure),
            Err(_) => {
                Err(Failure::transient(format!("the mail relay at {} did not take the message in time", self.address)))
            }
        }
    }
}

/// One SMTP connection to a plain relay, greeted, with what its `EHLO` answer announced.
struct Connection {
    /// Reads are buffered; writes go to the socket as they are.
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    pipelining: bool,
    eight_bit: bool,
    utf8: bool,
}

/// The most of one reply read (lettre's bound).
const REPLY_LIMIT: usize = 64 * 1024;

/// A relay's reply: its code and its lines' texts.
#[derive(Debug)]
struct Reply {
    code: u16,
    text: String,
}

impl Reply {
    /// A failure unless the code is `expected`: permanent for 5xx, worth another attempt
    /// otherwise.
    fn require(self, expected: u16, what: &str) -> Result<(), Failure> {
        if self.code == expected {
            return Ok(());
        }
        let text = format!("the relay answered {what} with {} {}", self.code, self.text);
        if (500..600).contains(&self.code) { Err(Failure::permanent(text)) } else { Err(Failure::transient(text)) }
    }
}

impl Connection {
    /// Connects (with `TCP_NODELAY`), reads the greeting and says `EHLO`.
    async fn open(address: &str) -> Result<Connection, String> {
        let stream = tokio::net::TcpStream::connect(address).await.map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut c =
            Connection { stream: tokio::io::BufReader::new(stream), pipelining: false, eight_bit: false, utf8: false };
        let greeting = c.reply().await.map_err(|f| f.error)?;
        if greeting.code != 220 {
            return Err(format!("it greeted with {} {}", greeting.code, greeting.text));
        }
        let hello = lettre::transport::smtp::extension::ClientId::default();
        c.write(format!("EHLO {hello}\r\n").as_bytes()).await.map_err(|f| f.error)?;
        let ehlo = c.reply().await.map_err(|f| f.error)?;
        if ehlo.code != 250 {
            return Err(format!("it answered EHLO with {} {}", ehlo.code, ehlo.text));
        }
        // The first line greets; each further one names an extension.
        for line in ehlo.text.lines().skip(1) {
            let keyword = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            match keyword.as_str() {
                "PIPELINING" => c.pipelining = true,
                "8BITMIME" => c.eight_bit = true,
                "SMTPUTF8" => c.utf8 = true,
                _ => {}
            }
        }
        Ok(c)
    }

    /// One transaction: the envelope and `DATA` (in one write when the relay pipelines),
    /// then the message dot-stuffed with its end, in one write.
    async fn send(&mut self, from: &str, to: &str, payload: &str) -> Result<(), Failure> {
        let mut mail = format!("MAIL FROM:<{from}>");
        if !(from.is_ascii() && to.is_ascii()) {
            if !self.utf8 {
                return Err(Failure::permanent(
                    "an address is not ASCII and the mail relay does not take such addresses (SMTPUTF8)",
                ));
            }
            mail.push_str(" SMTPUTF8");
        }
        if !payload.is_ascii() {
            if !self.eight_bit {
                return Err(Failure::permanent("the message is not ASCII and the mail relay does not take 8BITMIME"));
            }
            mail.push_str(" BODY=8BITMIME");
        }
        let rcpt = format!("RCPT TO:<{to}>");
        if self.pipelining {
            self.write(format!("{mail}\r\n{rcpt}\r\nDATA\r\n").as_bytes()).await?;
            // Every reply is read, so that the connection is where it should be even when one
            // of them refused.
            let replies = [self.reply().await?, self.reply().await?, self.reply().await?];
            let [mail_reply, rcpt_reply, data_reply] = replies;
            let data_code = data_reply.code;
            let refused = mail_reply.require(250, "MAIL FROM").and(rcpt_reply.require(250, "RCPT TO"));
            if let Err(failure) = refused {
                if data_code == 354 {
                    // DATA was taken after all: end an empty message (the connection is closed
                    // anyway).
                    self.write(b".\r\n").await?;
                }
                return Err(failure);
            }
            data_reply.require(354, "DATA")?;
        } else {
            for (command, what) in [(mail.as_str(), "MAIL FROM"), (rcpt.as_str(), "RCPT TO")] {
                self.write(format!("{command}\r\n").as_bytes()).await?;
                self.reply().await?.require(250, what)?;
            }
            self.write(b"DATA\r\n").await?;
            self.reply().await?.require(354, "DATA")?;
        }
        self.write(&data(payload)).await?;
        self.reply().await?.require(250, "the message")
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        use tokio::io::AsyncWriteExt as _;
        self.stream.get_mut().write_all(bytes).await.map_err(|e| Failure::transient(format!("the mail relay: {e}")))
    }

    /// Reads one reply, its lines (`250-...` continued, `250 ...` the last) joined.
    async fn reply(&mut self) -> Result<Reply, Failure> {
        use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _};
        let broken = |why: &str| Failure::transient(format!("the mail relay {why}"));
        let mut text = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            let n = (&mut self.stream)
                .take((REPLY_LIMIT + 1 - text.len()) as u64)
                .read_line(&mut line)
                .await
                .map_err(|e| broken(&format!("could not be read: {e}")))?;
            if n == 0 {
                return Err(broken("closed the connection"));
            }
            if text.len() + line.len() > REPLY_LIMIT {
                return Err(broken("answered too much"));
            }
            let l = line.trim_end_matches(['\r', '\n']);
            let code = l.get(..3).and_then(|c| c.parse::<u16>().ok()).filter(|c| (200..600).contains(c));
            let Some(code) = code else { return Err(broken(&format!("answered `{}`, not SMTP", l.escape_debug()))) };
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(l.get(4..).unwrap_or(""));
            if l.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply { code, text });
            }
        }
    }
}

/// A message as `DATA` carries it: every line that begins with `.` gets another one before it
/// (RFC 5321, 4.5.2), then a line break if it does not end with one, then `.` on its own line.
fn data(payload: &str) -> Vec<u8> {
    let bytes = payload.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + 64);
    if bytes.first() == Some(&b'.') {
        out.push(b'.');
    }
    let mut from = 0;
    for i in memchr::memmem::find_iter(bytes, b"\n.") {
        out.extend_from_slice(&bytes[from..=i]);
        out.push(b'.');
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
    if !bytes.is_empty() && !bytes.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// `host:port` of a plain relay URL (`smtp://HOST[:PORT]`, port 25 by default); `None` for
/// anything with a login, TLS or other parameters, which lettre's transport handles.
fn plain_address(url: &str) -> Option<String> {
    let rest = url.strip_prefix("smtp://")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['@', '?', '/', '#']) {
        return None;
    }
    let has_port = match rest.rfind(']') {
        Some(bracket) => rest[bracket..].contains(':'),
        None => rest.contains(':'),
    };
    Some(if has_port { rest.to_owned() } else { format!("{rest}:25") })
}

/// Messages marked sent per statement while a round runs.
const MARK_BATCH: usize = 64;

/// `at + d`, clamped to the range of instants.
fn later(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// A fresh token naming one round's claim (random: instances share the outbox).
fn holder() -> String {
    let mut bytes = [0u8; 12];
    // Without randomness the token is still this process's and this round's.
    if getrandom::fill(&mut bytes).is_err() {
        static ROUNDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = ROUNDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return format!("{}-{n}", std::process::id());
    }
    hex::encode(bytes)
}

/// Renders every claimed message: those written whole as they are, the others from their
/// event's context and the inventories, split over the cores when there are many.
fn render_all(
    site: &Site,
    contexts: &HashMap<i64, Result<Arc<Rendering>, String>>,
    inventories: &HashMap<i64, Result<Arc<Inventory>, String>>,
    claimed: Vec<Message>,
) -> Rendered {
    let one = |m: &Message| -> Result<Arc<str>, Failure> {
        let Some(intent) = &m.intent else { return Ok(m.payload.as_str().into()) };
        let rendering = match contexts.get(&intent.event) {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Err(Failure::permanent(format!("the message cannot be written: {e}"))),
            None => return Err(Failure::permanent("the message cannot be written: its event was not read")),
        };
        let (current, previous) = rendering.inventories();
        let get = |v: Option<i64>| -> Result<Option<&Inventory>, Failure> {
            match v.map(|v| inventories.get(&v)) {
                None => Ok(None),
                Some(Some(Ok(inv))) => Ok(Some(&**inv)),
                Some(Some(Err(e))) => Err(Failure::transient(format!("the message cannot be written now: {e}"))),
                Some(None) => Err(Failure::transient("the message cannot be written now: its inventory was not read")),
            }
        };
        let invs = Inventories { current: get(current)?, previous: get(previous)? };
        rendering
            .render(site, invs, &m.key, intent.at, intent.part.as_deref(), &intent.data)
            .map(Arc::from)
            .map_err(|e| Failure::permanent(format!("the message cannot be written: {e}")))
    };
    let render = |part: Vec<Message>| -> Vec<(Message, Result<Arc<str>, Failure>)> {
        part.into_iter()
            .map(|m| {
                let r = one(&m);
                (m, r)
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
    let results: Vec<(Message, Result<Arc<str>, Failure>)> = if claimed.len() < 16 || threads < 2 {
        render(claimed)
    } else {
        let size = claimed.len().div_ceil(threads);
        let mut parts = Vec::new();
        let mut rest = claimed;
        while rest.len() > size {
            let tail = rest.split_off(size);
            parts.push(rest);
            rest = tail;
        }
        parts.push(rest);
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts.into_iter().map(|part| scope.spawn(|| render(part))).collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        })
    };
    let mut rendered = (Vec::new(), Vec::new());
    for (m, r) in results {
        match r {
            Ok(payload) => rendered.0.push((m, payload)),
            Err(failure) => rendered.1.push((m, failure)),
        }
    }
    rendered
}

/// An SMTP error with the relay's code when it gave one.
fn smtp_error_text(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    match e.status() {
        Some(code) if !text.contains(&code.to_string()) => format!("{code} {text}"),
        _ => text,
    }
}

/// A URL with its password replaced by `***`.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, rest)), Some((_, host))) => match rest.split_once(':') {
            Some((user, _)) if !user.contains('@') => format!("{scheme}://{user}:***@{host}"),
            _ => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// POSTs `body` and returns the status; the answer is read (up to a bound) so that the
/// connection can serve the next request.
fn post(agent: &ureq::Agent, url: &str, headers: &[(&str, String)], body: &[u8]) -> Result<u16, ureq::Error> {
    let mut request = agent.post(url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let mut response = request.send(body)?;
    let status = response.status().as_u16();
    // An answer larger than the bound only costs the connection.
    let _ = response.body_mut().with_config().limit(WEBHOOK_ANSWER_LIMIT).read_to_vec();
    Ok(status)
}

/// What a webhook's status means: 2xx delivered; 408, 429 and 5xx (and 3xx: redirects are
/// not followed) worth another attempt; any other 4xx permanent.
fn webhook_outcome(name: &str, status: u16) -> Result<(), Failure> {
    let reason = ureq::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let text = format!("{name} answered HTTP {status} {reason}").trim_end().to_owned();
    match status {
        200..=299 => Ok(()),
        408 | 429 => Err(Failure::transient(text)),
        400..=499 => Err(Failure::permanent(text)),
        300..=399 => Err(Failure::transient(format!("{text} (redirects are not followed)"))),
        _ => Err(Failure::transient(text)),
    }
}

/// A failed request in words, without the URL; a URL ureq cannot use is permanent.
fn webhook_error(name: &str, url: &str, e: &ureq::Error, timeout: Duration) -> Failure {
    match e {
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            Failure::permanent(format!("{name}: the URL cannot be requested; check the webhook's `url`"))
        }
        ureq::Error::Timeout(_) => Failure::transient(format!("{name}: no answer within {} s", timeout.as_secs())),
        e => Failure::transient(format!("{name}: {}", e.to_string().replace(url, name))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_relay_gets_connections_of_our_own() {
        assert_eq!(plain_address("smtp://127.0.0.1:2525"), Some("127.0.0.1:2525".to_owned()));
        assert_eq!(plain_address("smtp://mail.example.net"), Some("mail.example.net:25".to_owned()));
        assert_eq!(plain_address("smtp://[::1]:2525/"), Some("[::1]:2525".to_owned()));
        assert_eq!(plain_address("smtp://[::1]"), Some("[::1]:25".to_owned()));
        for lettres in [
            "smtps://mail.example.net",
            "smtp://user:secret@mail.example.net:587",
            "smtp://mail.example.net:587?tls=required",
            "smtp://",
        ] {
            assert_eq!(plain_address(lettres), None, "{lettres}");
        }
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact("smtps://mailer:hunter2@smtp.example.net:465"), "smtps://mailer:***@smtp.example.net:465");
        assert_eq!(redact("smtp://127.0.0.1:25"), "smtp://127.0.0.1:25");
    }

    use std::collections::VecDeque;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use forewarn_store::testing::TempDir;
    use forewarn_store::{MessageState, NewMessage};

    /// The path of the receivers' URLs: what a Slack-style hook keeps secret.
    const SECRET_PATH: &str = "/services/T000/B000/s3cr3t-hook-token";

    /// A webhook receiver on loopback: answers each request with the next of its statuses
    /// (200 when none are left) and keeps the connection open; counts the connections it
    /// accepted and keeps the heads of the requests.
    struct Receiver {
        url: String,
        connections: Arc<AtomicUsize>,
        heads: Arc<Mutex<Vec<String>>>,
    }

    impl Receiver {
        fn start(statuses: &[u16]) -> Receiver {
            Receiver::with_gate(statuses, Arc::new(Gate::open()))
        }

        /// A receiver that answers only once `gate` is opened.
        fn with_gate(statuses: &[u16], gate: Arc<Gate>) -> Receiver {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}{SECRET_PATH}", listener.local_addr().unwrap());
            let connections = Arc::new(AtomicUsize::new(0));
            let heads = Arc::new(Mutex::new(Vec::new()));
            let statuses = Arc::new(Mutex::new(statuses.iter().copied().collect::<VecDeque<u16>>()));
            let (count, kept) = (connections.clone(), heads.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { return };
                    count.fetch_add(1, Ordering::SeqCst);
                    let (statuses, kept, gate) = (statuses.clone(), kept.clone(), gate.clone());
                    std::thread::spawn(move || answer(conn, &statuses, &kept, &gate));
                }
            });
            Receiver { url, connections, heads }
        }
    }

    /// Answers the requests of one connection until the client closes it.
    fn answer(conn: TcpStream, statuses: &Mutex<VecDeque<u16>>, heads: &Mutex<Vec<String>>, gate: &Gate) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut conn = conn;
        loop {
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            heads.lock().unwrap().push(head);
            gate.wait();
            let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
            conn.write_all(format!("HTTP/1.1 {status} Whatever\r\ncontent-length: 2\r\n\r\nok").as_bytes()).unwrap();
        }
    }

    /// Holds answers back until it is opened.
    struct Gate(Mutex<bool>, std::sync::Condvar);

    impl Gate {
        fn open() -> Gate {
            Gate(Mutex::new(true), std::sync::Condvar::new())
        }
        fn closed() -> Gate {
            Gate(Mutex::new(false), std::sync::Condvar::new())
        }
        fn release(&self) {
            *self.0.lock().unwrap() = true;
            self.1.notify_all();
        }
        fn wait(&self) {
            let mut open = self.0.lock().unwrap();
            while !*open {
                open = self.1.wait(open).unwrap();
            }
        }
    }

    fn now() -> Timestamp {
        "2027-03-01T09:00:00Z".parse().unwrap()
    }

    /// A store holding one webhook message per entry of `urls`, and a deliverer that knows
    /// `configured` webhooks and sends one message at a time.
    async fn outbox(urls: &[&str], configured: &[&str]) -> (TempDir, Store, Deliverer) {
        outbox_with(urls, configured, Options::default()).await
    }

    async fn outbox_with(urls: &[&str], configured: &[&str], options: Options) -> (TempDir, Store, Deliverer) {
        let dir = TempDir::new("forewarn-deliver-test").unwrap();
        let store = Store::open(&dir.sqlite_url("forewarn.db")).await.unwrap();
        struct Queue(Vec<NewMessage>);
        impl forewarn_store::Notifier for Queue {
            fn tell(&self, _: &forewarn_store::Event<'_>) -> Result<forewarn_store::Told, String> {
                Ok(forewarn_store::Told { messages: self.0.clone(), ..Default::default() })
            }
        }
        let messages = urls
            .iter()
            .enumerate()
            .map(|(i, url)| NewMessage {
                key: format!("test.{i}"),
                channel: Channel::Webhook,
                sender: String::new(),
                recipient: (*url).to_owned(),
                subject: "post.created".into(),
                cause: "a test".into(),
                body: forewarn_store::Body::Written(format!("{{\"id\":\"test.{i}\"}}")),
                due: now(),
            })
            .collect();
        store.subscribe(now(), "reader@example.net", &[], "en", &Queue(messages)).await.unwrap();
        let options = Options {
            concurrency: 1,
            webhooks: configured.iter().map(|url| ((*url).to_owned(), b"hook secret".to_vec())).collect(),
            ..options
        };
        let library = Arc::new(StoredLibrary::new(store.clone(), crate::tests::site()));
        let deliverer = Deliverer::new(store.clone(), options, library).unwrap();
        (dir, store, deliverer)
    }

    /// A store holding `count` emails (`test.N`, written whole, each with its key as
    /// Message-ID), and a deliverer to `relay`.
    async fn mail_outbox(count: usize, relay: &str, options: Options) -> (TempDir, Store, Deliverer) {
        let dir = TempDir::new("forewarn-deliver-test").unwrap();
        let store = Store::open(&dir.sqlite_url("forewarn.db")).await.unwrap();
        struct Queue(Vec<NewMessage>);
        impl forewarn_store::Notifier for Queue {
            fn tell(&self, _: &forewarn_store::Event<'_>) -> Result<forewarn_store::Told, String> {
                Ok(forewarn_store::Told { messages: self.0.clone(), ..Default::default() })
            }
        }
        let messages = (0..count)
            .map(|i| NewMessage {
                key: format!("test.{i}"),
                channel: Channel::Email,
                sender: "status@example.net".into(),
                recipient: format!("reader{i}@example.org"),
                subject: "a test".into(),
                cause: "a test".into(),
                body: forewarn_store::Body::Written(mail(i)),
                due: now(),
            })
            .collect();
        store.subscribe(now(), "reader@example.net", &[], "en", &Queue(messages)).await.unwrap();
        let options = Options { smtp: Some(relay.to_owned()), ..options };
        let library = Arc::new(StoredLibrary::new(store.clone(), crate::tests::site()));
        let deliverer = Deliverer::new(store.clone(), options, library).unwrap();
        (dir, store, deliverer)
    }

    /// Message `i` as written: lines the relay must get back without the dots stuffed in,
    /// and no line break at its end.
    fn mail(i: usize) -> String {
        format!("Message-ID: <test.{i}>\r\nSubject: a test\r\n\r\n.leading dot\r\n.\r\n..\r\nend of {i}")
    }

    /// An SMTP relay on loopback: announces `PIPELINING` (unless told not to) and 8BITMIME,
    /// takes every message and keeps it as sent (dots unstuffed); the answer to a message
    /// holding `hold` waits until `gate` is opened.
    struct Relay {
        url: String,
        received: Arc<Mutex<Vec<String>>>,
        connections: Arc<AtomicUsize>,
    }

    impl Relay {
        fn start(pipelining: bool, hold: Option<(&str, Arc<Gate>)>) -> Relay {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("smtp://{}", listener.local_addr().unwrap());
            let received = Arc::new(Mutex::new(Vec::new()));
            let connections = Arc::new(AtomicUsize::new(0));
            let hold = hold.map(|(marker, gate)| (marker.to_owned(), gate));
            let (kept, count) = (received.clone(), connections.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { return };
                    count.fetch_add(1, Ordering::SeqCst);
                    let (kept, hold) = (kept.clone(), hold.clone());
                    std::thread::spawn(move || converse(conn, pipelining, &kept, hold.as_ref()));
                }
            });
            Relay { url, received, connections }
        }

        /// How many times each message arrived, by the key in its Message-ID.
        fn arrivals(&self) -> std::collections::BTreeMap<String, usize> {
            let mut seen = std::collections::BTreeMap::new();
            for m in self.received.lock().unwrap().iter() {
                let key = m.split_once("Message-ID: <").and_then(|(_, r)| r.split_once('>')).unwrap().0;
                *seen.entry(key.to_owned()).or_insert(0) += 1;
            }
            seen
        }
    }

    /// One SMTP conversation, until the client closes the connection.
    fn converse(conn: TcpStream, pipelining: bool, received: &Mutex<Vec<String>>, hold: Option<&(String, Arc<Gate>)>) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut conn = conn;
        let mut say = |text: &str| conn.write_all(text.as_bytes()).is_ok();
        say("220 relay ESMTP\r\n");
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let ok = match verb.as_str() {
                "EHLO" if pipelining => say("250-relay\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
                "EHLO" => say("250-relay\r\n250 8BITMIME\r\n"),
                "MAIL" | "RCPT" | "RSET" | "NOOP" => say("250 ok\r\n"),
                "QUIT" => return,
                "DATA" => {
                    say("354 go on\r\n");
                    let mut message = String::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == ".\r\n" {
                            break;
                        }
                        message.push_str(line.strip_prefix('.').unwrap_or(&line));
                    }
                    if let Some((marker, gate)) = hold
                        && message.contains(marker.as_str())
                    {
                        gate.wait();
                    }
                    received.lock().unwrap().push(message);
                    say("250 queued\r\n")
                }
                _ => say("502 what\r\n"),
            };
            if !ok {
                return;
            }
        }
    }

    /// Runs `deliverer` until every message of `store` is sent, then stops it; gives what the
    /// store says of them.
    async fn run_until_sent(
        deliverer: Deliverer,
        store: &Store,
        count: usize,
        clock: impl Fn() -> Timestamp + Send + Sync + 'static,
    ) -> Vec<Message> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(deliverer.run(clock, Arc::new(Notify::new()), Duration::from_secs(10), async {
            let _ = stopped.await;
        }));
        loop {
            let sent = store.outbox_counts().await.unwrap().sent;
            if sent as usize >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(()).unwrap();
        running.await.unwrap();
        store.messages(None, 10_000, None).await.unwrap()
    }

    async fn webhook_messages(store: &Store) -> Vec<Message> {
        let mut all = store.messages(None, 100, None).await.unwrap();
        all.retain(|m| m.channel == Channel::Webhook);
        all.sort_by_key(|m| m.id);
        all
    }

    #[tokio::test]
    async fn a_webhook_that_refuses_is_dead_at_once_and_its_url_is_never_shown() {
        let hook = Receiver::start(&[404]);
        let (_dir, store, deliverer) = outbox(&[&hook.url, "https://gone.example.net/x"], &[&hook.url]).await;
        let round = deliverer.round(&now).await.unwrap();
        assert_eq!(round, Round { claimed: 2, sent: 0, retrying: 0, dead: 2 });
        let messages = webhook_messages(&store).await;
        let errors: Vec<&str> = messages.iter().map(|m| m.error.as_deref().unwrap_or("")).collect();
        assert!(messages.iter().all(|m| m.state == MessageState::Dead && m.attempts == 1), "{messages:#?}");
        assert_eq!(errors[0], "webhooks[0] answered HTTP 404 Not Found");
        assert!(errors[1].contains("not configured any more"), "{}", errors[1]);
        assert!(errors.iter().all(|e| !e.contains("s3cr3t") && !e.contains("gone.example")), "{errors:?}");
    }

    #[tokio::test]
    async fn busy_failing_or_unreachable_webhooks_are_tried_again() {
        let hook = Receiver::start(&[429, 408, 503]);
        let closed = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}{SECRET_PATH}", listener.local_addr().unwrap())
        };
        let urls = [hook.url.as_str(), &hook.url, &hook.url, &closed];
        let (_dir, store, deliverer) = outbox(&urls, &[&hook.url, &closed]).await;
        let round = deliverer.round(&now).await.unwrap();
        assert_eq!(round, Round { claimed: 4, sent: 0, retrying: 4, dead: 0 });
        let messages = webhook_messages(&store).await;
        assert!(messages.iter().all(|m| m.state == MessageState::Pending && m.attempts == 1), "{messages:#?}");
        let mut errors: Vec<String> = messages.iter().map(|m| m.error.clone().unwrap_or_default()).collect();
        let unreachable = errors.pop().unwrap();
        errors.sort();
        assert_eq!(
            errors,
            [
                "webhooks[0] answered HTTP 408 Request Timeout",
                "webhooks[0] answered HTTP 429 Too Many Requests",
                "webhooks[0] answered HTTP 503 Service Unavailable"
            ]
        );
        assert!(unreachable.starts_with("webhooks[1]: "), "{unreachable}");
        assert!(!unreachable.contains("s3cr3t") && !unreachable.contains("127.0.0.1"), "{unreachable}");
    }

    #[tokio::test]
    async fn messages_to_one_webhook_share_a_connection() {
        let hook = Receiver::start(&[]);
        let (_dir, store, deliverer) = outbox(&[&hook.url, &hook.url, &hook.url], &[&hook.url]).await;
        let round = deliverer.round(&now).await.unwrap();
        assert_eq!(round, Round { claimed: 3, sent: 3, retrying: 0, dead: 0 });
        assert!(webhook_messages(&store).await.iter().all(|m| m.state == MessageState::Sent));
        assert_eq!(hook.connections.load(Ordering::SeqCst), 1, "one connection for the three requests");
        let heads = hook.heads.lock().unwrap();
        assert_eq!(heads.len(), 3);
        for head in heads.iter() {
            assert!(head.starts_with(&format!("POST {SECRET_PATH} HTTP/1.1\r\n")), "{head}");
            let lower = head.to_ascii_lowercase();
            assert!(
                lower.contains("x-forewarn-signature: sha256=") && lower.contains("x-forewarn-event: post.created")
            );
        }
    }

    /// A round that outlasts its lease renews it: nobody else takes the message it is still
    /// sending, and it is sent once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_round_longer_than_its_lease_keeps_its_messages() {
        let gate = Arc::new(Gate::closed());
        let hook = Receiver::with_gate(&[], gate.clone());
        let lease = SignedDuration::from_millis(600);
        let (_dir, store, deliverer) =
            outbox_with(&[&hook.url], &[&hook.url], Options { lease, ..Options::default() }).await;
        // The round's clock: 100 ms later at every reading (the claim, then each renewal).
        let readings = Arc::new(AtomicUsize::new(0));
        let clock = {
            let readings = readings.clone();
            move || now() + SignedDuration::from_millis(100 * readings.fetch_add(1, Ordering::SeqCst) as i64)
        };
        let round = tokio::spawn(async move { deliverer.round(&clock).await });
        // The webhook holds its answer; meanwhile the round renews its lease (every 200 ms).
        for _ in 0..600 {
            if readings.load(Ordering::SeqCst) >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(readings.load(Ordering::SeqCst) >= 4, "the round renewed its lease");
        // Claimed at now() until now() + 600 ms; renewed at least twice since, the lease runs
        // past now() + 700 ms: another worker takes nothing then.
        let other = store.claim_messages(now() + SignedDuration::from_millis(700), lease, 10, "other").await.unwrap();
        assert!(other.is_empty(), "another worker took {other:?}");
        gate.release();
        assert_eq!(round.await.unwrap().unwrap(), Round { claimed: 1, sent: 1, retrying: 0, dead: 0 });
        assert_eq!(hook.heads.lock().unwrap().len(), 1, "sent once");
    }

    /// Rounds overlap: the next is claimed while the one before still sends, so a message
    /// the relay is slow to take holds up nothing else; every message arrives once and is
    /// marked sent once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_message_holds_up_no_other_round() {
        let gate = Arc::new(Gate::closed());
        let relay = Relay::start(true, Some(("end of 0", gate.clone())));
        let options = Options { batch: 4, concurrency: 2, ..Options::default() };
        let (_dir, store, deliverer) = mail_outbox(12, &relay.url, options).await;
        let waiting = {
            let store = store.clone();
            tokio::spawn(async move { run_until_sent(deliverer, &store, 12, now).await })
        };
        // The first round's first message waits for its answer; the other eleven, of three
        // rounds, go out meanwhile over the other connection.
        while relay.received.lock().unwrap().len() < 11 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        gate.release();
        let messages = waiting.await.unwrap();
        assert!(messages.iter().all(|m| m.state == MessageState::Sent && m.attempts == 0), "{messages:#?}");
        let arrivals = relay.arrivals();
        assert_eq!(arrivals.len(), 12, "{arrivals:?}");
        assert!(arrivals.values().all(|&n| n == 1), "each once: {arrivals:?}");
    }

    /// Many rounds, overlapped, over kept connections: nothing is sent twice, nothing is
    /// left out, and each message arrives as written (its dots unstuffed, a line break added
    /// at its end).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn overlapped_rounds_send_every_message_once() {
        for pipelining in [true, false] {
            let relay = Relay::start(pipelining, None);
            let options = Options { batch: 16, concurrency: 4, ..Options::default() };
            let (_dir, store, deliverer) = mail_outbox(300, &relay.url, options).await;
            let messages = run_until_sent(deliverer, &store, 300, now).await;
            assert_eq!(messages.len(), 300);
            assert!(messages.iter().all(|m| m.state == MessageState::Sent && m.attempts == 0));
            let arrivals = relay.arrivals();
            assert_eq!(arrivals.len(), 300, "every message");
            assert!(arrivals.values().all(|&n| n == 1), "each once: {arrivals:?}");
            let received = relay.received.lock().unwrap();
            let first = received.iter().find(|m| m.contains("<test.0>")).unwrap();
            assert_eq!(*first, format!("{}\r\n", mail(0)), "as written");
            assert!(relay.connections.load(Ordering::SeqCst) <= 4, "connections are kept");
        }
    }

    /// The round claimed ahead waits for a connection under its own lease, renewed like the
    /// sending one's: while a message holds the only connection, no other worker takes the
    /// messages of either round, however long it takes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_round_claimed_ahead_keeps_its_lease_while_it_waits() {
        let gate = Arc::new(Gate::closed());
        let relay = Relay::start(true, Some(("end of 0", gate.clone())));
        let lease = SignedDuration::from_millis(600);
        let options = Options { batch: 2, concurrency: 1, lease, ..Options::default() };
        let (_dir, store, deliverer) = mail_outbox(4, &relay.url, options).await;
        // The clock: 100 ms later at every reading (claims, then each renewal).
        let readings = Arc::new(AtomicUsize::new(0));
        let clock = {
            let readings = readings.clone();
            move || now() + SignedDuration::from_millis(100 * readings.fetch_add(1, Ordering::SeqCst) as i64)
        };
        let waiting = {
            let store = store.clone();
            tokio::spawn(async move { run_until_sent(deliverer, &store, 4, clock).await })
        };
        // Both rounds are claimed (two readings) and renew their leases (every 200 ms) while
        // the first message holds the connection.
        while readings.load(Ordering::SeqCst) < 10 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The first round was claimed until now() + 600 ms, the second until 700 ms at most;
        // renewed since, neither ended: another worker takes nothing at 750 ms.
        let other = store.claim_messages(now() + SignedDuration::from_millis(750), lease, 10, "other").await.unwrap();
        assert!(other.is_empty(), "another worker took {other:?}");
        gate.release();
        let messages = waiting.await.unwrap();
        assert!(messages.iter().all(|m| m.state == MessageState::Sent), "{messages:#?}");
        assert!(relay.arrivals().values().all(|&n| n == 1) && relay.arrivals().len() == 4, "{:?}", relay.arrivals());
    }

    /// A relay's refusal is the message's failure, with its code: 5xx permanent.
    #[test]
    fn replies_other_than_the_expected_are_failures() {
        let refused = Reply { code: 550, text: "5.1.1 no such user".into() }.require(250, "RCPT TO").unwrap_err();
        assert_eq!(refused, Failure::permanent("the relay answered RCPT TO with 550 5.1.1 no such user"));
        let busy = Reply { code: 421, text: "try later".into() }.require(354, "DATA").unwrap_err();
        assert!(!busy.permanent && busy.error.contains("421"), "{busy:?}");
        assert!(Reply { code: 250, text: String::new() }.require(250, "MAIL FROM").is_ok());
    }

    #[test]
    fn data_is_dot_stuffed_and_ended() {
        assert_eq!(data("a\r\n.b\r\n.\r\n"), b"a\r\n..b\r\n..\r\n.\r\n");
        assert_eq!(data(".x"), b"..x\r\n.\r\n");
        assert_eq!(data("x\r\n"), b"x\r\n.\r\n");
        assert_eq!(data(""), b".\r\n");
        assert_eq!(data("a\r\n.\r\n.b"), b"a\r\n..\r\n..b\r\n.\r\n");
    }
}
