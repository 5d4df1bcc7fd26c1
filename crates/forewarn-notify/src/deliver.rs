//! Delivery from the outbox: the one place in forewarn that talks SMTP and posts webhooks.
//!
//! A round claims the due messages under a lease, sends them (several at once: email over
//! lettre's pooled SMTP connections, webhooks over HTTP/1.1), and marks each sent or
//! failed. Failures wait with exponential backoff ([`RetryPolicy`]); a permanent one (an
//! SMTP 5xx, an address that cannot be an address) or too many make the message dead,
//! kept with its error until an operator retries it.
//!
//! Nothing is lost when the process dies: a message is marked sent only after the relay
//! accepted it, so one killed in between is sent again once its lease ends (a SQLite
//! service clears the leases when it starts, being the only process on its file) — under
//! the same Message-ID, which is what lets the recipient's mail client show it once.
//! Without an SMTP URL, mail goes to the capture mailbox: it is marked sent as it is and
//! read at `/admin/mail`.

use std::sync::Arc;
use std::time::Duration;

use forewarn_store::{Channel, Message, RetryPolicy, Store};
use jiff::{SignedDuration, Timestamp};
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

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
    /// Each webhook URL's signing secret.
    pub webhooks: Vec<(String, Vec<u8>)>,
    /// How long one SMTP conversation or webhook request may take.
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

/// Sends what the outbox holds.
#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    options: Arc<Options>,
    tls: Arc<tokio_rustls::TlsConnector>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer").field("smtp", &self.smtp.is_some()).finish_non_exhaustive()
    }
}

impl Deliverer {
    /// Checks the SMTP URL (without connecting: the relay may be down now and up later).
    pub fn new(store: Store, options: Options) -> Result<Deliverer, String> {
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
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up failed: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Deliverer {
            store,
            smtp,
            options: Arc::new(options),
            tls: Arc::new(tokio_rustls::TlsConnector::from(Arc::new(tls))),
        })
    }

    /// Whether mail goes to the capture mailbox.
    pub fn captures(&self) -> bool {
        self.smtp.is_none()
    }

    /// Claims the due messages and delivers them, `concurrency` at a time.
    pub async fn round(&self, now: Timestamp) -> forewarn_store::Result<Round> {
        let claimed = self.store.claim_messages(now, self.options.lease, self.options.batch).await?;
        let mut round = Round { claimed: claimed.len(), ..Round::default() };
        let mut queue = claimed.into_iter();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < self.options.concurrency.max(1) {
                let Some(message) = queue.next() else { break };
                let this = self.clone();
                running.spawn(async move {
                    let outcome = this.send(&message).await;
                    (message, outcome)
                });
            }
            let Some(done) = running.join_next().await else { break };
            let (message, outcome) = done.map_err(|e| forewarn_store::Error::Invalid(format!("delivery task: {e}")))?;
            // The time of the outcome, not of the claim, for backoff; sends are short.
            match outcome {
                Ok(()) => {
                    self.store.mark_sent(message.id, now).await?;
                    round.sent += 1;
                }
                Err(failure) => {
                    tracing::warn!(id = message.id, key = %message.key, recipient = %message.recipient, error = %failure.error, permanent = failure.permanent, "delivery failed");
                    let state = self
                        .store
                        .mark_failed(message.id, now, &failure.error, failure.permanent, &self.options.policy)
                        .await?;
                    if state == forewarn_store::MessageState::Dead {
                        round.dead += 1;
                    } else {
                        round.retrying += 1;
                    }
                }
            }
        }
        Ok(round)
    }

    /// One attempt at one message.
    pub async fn send(&self, message: &Message) -> Result<(), Failure> {
        match message.channel {
            Channel::Email => self.send_email(message).await,
            Channel::Webhook => self.post_webhook(message).await,
        }
    }

    async fn send_email(&self, message: &Message) -> Result<(), Failure> {
        let Some(smtp) = &self.smtp else { return Ok(()) };
        let from = message
            .sender
            .parse()
            .map_err(|e| Failure::permanent(format!("sender `{}` is not an address: {e}", message.sender)))?;
        let to = message
            .recipient
            .parse()
            .map_err(|e| Failure::permanent(format!("recipient `{}` is not an address: {e}", message.recipient)))?;
        let envelope = Envelope::new(Some(from), vec![to]).map_err(|e| Failure::permanent(e.to_string()))?;
        match smtp.send_raw(&envelope, message.payload.as_bytes()).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = smtp_error_text(&e);
                if e.is_permanent() { Err(Failure::permanent(text)) } else { Err(Failure::transient(text)) }
            }
        }
    }

    async fn post_webhook(&self, message: &Message) -> Result<(), Failure> {
        let secret = self
            .options
            .webhooks
            .iter()
            .find(|(url, _)| *url == message.recipient)
            .map(|(_, secret)| secret.as_slice())
            .ok_or_else(|| Failure::permanent(format!("webhook `{}` is not configured any more", message.recipient)))?;
        let body = message.payload.as_bytes();
        let headers = [
            ("Content-Type", "application/json".to_owned()),
            ("X-Forewarn-Event", message.subject.clone()),
            ("X-Forewarn-Delivery", message.key.clone()),
            ("X-Forewarn-Signature", crate::sign_webhook(secret, body)),
        ];
        let status = tokio::time::timeout(self.options.timeout, self.http_post(&message.recipient, &headers, body))
            .await
            .map_err(|_| Failure::transient(format!("no answer within {} s", self.options.timeout.as_secs())))??;
        match status {
            200..=299 => Ok(()),
            _ => Err(Failure::transient(format!("the webhook answered HTTP {status}"))),
        }
    }

    /// POSTs `body` to an `http://` or `https://` URL and returns the status code.
    async fn http_post(&self, url: &str, headers: &[(&str, String)], body: &[u8]) -> Result<u16, Failure> {
        let target = Target::parse(url).map_err(Failure::permanent)?;
        let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| Failure::transient(format!("cannot connect to {}:{}: {e}", target.host, target.port)))?;
        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: forewarn\r\nContent-Length: {}\r\nConnection: close\r\n",
            target.path,
            target.host_header(),
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        if target.tls {
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| Failure::permanent(format!("`{}` is not a TLS server name: {e}", target.host)))?;
            let stream = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| Failure::transient(format!("TLS with {}: {e}", target.host)))?;
            exchange(stream, request.as_bytes(), body).await
        } else {
            exchange(tcp, request.as_bytes(), body).await
        }
    }

    /// Delivers until `shutdown` resolves: a round whenever something is due, woken early
    /// by `wake` (a write that queued messages) and at least every `idle` otherwise.
    pub async fn run<F>(
        self,
        now: F,
        wake: Arc<Notify>,
        idle: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) where
        F: Fn() -> Timestamp + Send + Sync,
    {
        tokio::pin!(shutdown);
        loop {
            let wait = match self.round(now()).await {
                Ok(round) if round.claimed > 0 => {
                    tracing::debug!(?round, "delivery round");
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
                    () = &mut shutdown => return,
                    () = tokio::task::yield_now() => {}
                }
                continue;
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
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

/// Where a webhook goes.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("webhook `{url}`: only http:// and https:// URLs are posted to"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(format!("webhook `{url}`: credentials in the URL (use the secret instead)"));
        }
        let default = if tls { 443 } else { 80 };
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            let (host, after) = inner.split_once(']').ok_or_else(|| format!("webhook `{url}`: unclosed `[`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("webhook `{url}`: bad port `{p}`"))?,
                None => default,
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, p)) => {
                    (host.to_owned(), p.parse().map_err(|_| format!("webhook `{url}`: bad port `{p}`"))?)
                }
                None => (authority.to_owned(), default),
            }
        };
        if host.is_empty() {
            return Err(format!("webhook `{url}`: no host"));
        }
        Ok(Target { tls, host, port, path: path.to_owned() })
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == if self.tls { 443 } else { 80 } { host } else { format!("{host}:{}", self.port) }
    }
}

/// Writes the request, reads the status line.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, head: &[u8], body: &[u8]) -> Result<u16, Failure> {
    let io = |e: std::io::Error| Failure::transient(format!("webhook connection: {e}"));
    stream.write_all(head).await.map_err(io)?;
    stream.write_all(body).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 8192 {
        let n = stream.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let status = line
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1."))
        .and_then(|l| l.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            Failure::transient(format!("the webhook did not answer HTTP: {:?}", line.lines().next().unwrap_or("")))
        })?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        assert_eq!(
            Target::parse("http://127.0.0.1:8080/hook?x=1").unwrap(),
            Target { tls: false, host: "127.0.0.1".into(), port: 8080, path: "/hook?x=1".into() }
        );
        let t = Target::parse("https://hooks.example.net").unwrap();
        assert_eq!((t.tls, t.port, t.path.as_str(), t.host_header()), (true, 443, "/", "hooks.example.net".to_owned()));
        let t = Target::parse("http://[::1]:9/x").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.host_header()), ("::1", 9, "[::1]:9".to_owned()));
        assert!(Target::parse("ftp://x/").unwrap_err().contains("only http"));
        assert!(Target::parse("http://user:pw@x/").unwrap_err().contains("credentials"));
        assert!(Target::parse("http://x:port/").unwrap_err().contains("bad port"));
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact("smtps://mailer:hunter2@smtp.example.net:465"), "smtps://mailer:***@smtp.example.net:465");
        assert_eq!(redact("smtp://127.0.0.1:25"), "smtp://127.0.0.1:25");
    }

    #[tokio::test]
    async fn a_status_line_is_read() {
        let (client, mut server) = tokio::io::duplex(1024);
        let answer = tokio::spawn(async move {
            let mut got = vec![0u8; 1024];
            let n = server.read(&mut got).await.unwrap();
            server.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.unwrap();
            String::from_utf8_lossy(&got[..n]).into_owned()
        });
        let status = exchange(client, b"POST / HTTP/1.1\r\n\r\n", b"{}").await.unwrap();
        assert_eq!(status, 204);
        assert!(answer.await.unwrap().starts_with("POST / HTTP/1.1"));
    }
}
