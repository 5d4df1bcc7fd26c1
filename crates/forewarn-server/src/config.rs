//! Configuration of `forewarn serve`: defaults, then a TOML file, then `FOREWARN_*`
//! environment variables, then command-line flags, each overriding the one before.
//! The caller reads the file and the environment; this module only merges and checks.

use std::fmt;
use std::net::SocketAddr;

use forewarn_store::Channel;
use serde::Deserialize;

/// The settings, as a file, the environment or flags may give them (all optional). Its
/// `Debug` hides the passwords of the URLs, the webhooks' paths and secrets and the metrics
/// token, like [`Config`]'s.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://PATH` (the default, one file) or `postgres://USER:PASSWORD@HOST/DB`.
    pub database: Option<String>,
    /// Address and port to listen on.
    pub listen: Option<String>,
    /// The address people reach the service at; links in pages, feeds and mail use it.
    pub base_url: Option<String>,
    /// `smtp://` or `smtps://` URL of the mail relay; without it, mail is captured and shown
    /// at `/admin/mail`.
    pub smtp: Option<String>,
    /// The name of the status page.
    pub site_name: Option<String>,
    /// Who mail comes from: `Name <address>` or an address.
    pub mail_from: Option<String>,
    /// How long before its slot a contact is reminded (`24h`; `0` sends no reminders).
    pub reminder: Option<String>,
    /// Failed deliveries are tried again after this, doubling each time (`30s`).
    pub delivery_backoff: Option<String>,
    /// ... up to this wait between attempts (`1h`).
    pub delivery_backoff_max: Option<String>,
    /// After this many failed attempts a message is dead (kept, shown, retried by hand).
    pub delivery_attempts: Option<u32>,
    /// Delivered messages are deleted this long after they were sent (`90d`).
    pub outbox_retention: Option<String>,
    /// Messages sent at once, each on its own connection to the relay (32).
    pub delivery_connections: Option<u32>,
    /// A message an instance took to send is not taken by another one before this has
    /// passed (`2m`): how long the messages of an instance killed while sending wait.
    pub delivery_lease: Option<String>,
    /// Where events are POSTed, each signed with its secret (file only).
    pub webhooks: Option<Vec<Webhook>>,
    /// A TZif directory (`/usr/share/zoneinfo`, the PyPI tzdata package's `tzdata/zoneinfo`)
    /// to resolve zones in instead of the bundled tzdb.
    pub tzdir: Option<String>,
    /// Use `tzdir` even when its release is older than the bundled one, or unknown.
    pub tzdir_force: Option<bool>,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <it>`.
    pub metrics_token: Option<String>,
    /// A client must send a request's headers within this (`10s`); also how long an idle
    /// keep-alive connection is kept open waiting for the next request.
    pub header_timeout: Option<String>,
    /// A client must send a request's body within this, counted from its headers (`30s`).
    pub body_timeout: Option<String>,
    /// At most this many connections are served at once; more wait to be accepted (4096).
    pub max_connections: Option<u32>,
    /// Environment variables that could not be read, reported by [`Settings::resolve`].
    #[serde(skip)]
    pub invalid: Vec<String>,
}

/// A webhook receiver.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `https://...` (or `http://...` on a trusted network).
    pub url: String,
    /// The HMAC-SHA256 key of the `X-Forewarn-Signature` header.
    pub secret: String,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook").field("url", &redact_webhook(&self.url)).field("secret", &"***").finish()
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("Settings")
            .field("database", &self.database.as_deref().map(redact))
            .field("listen", &self.listen)
            .field("base_url", &self.base_url)
            .field("smtp", &self.smtp.as_deref().map(redact))
            .field("site_name", &self.site_name)
            .field("mail_from", &self.mail_from)
            .field("reminder", &self.reminder)
            .field("delivery_backoff", &self.delivery_backoff)
            .field("delivery_backoff_max", &self.delivery_backoff_max)
            .field("delivery_attempts", &self.delivery_attempts)
            .field("outbox_retention", &self.outbox_retention)
            .field("delivery_connections", &self.delivery_connections)
            .field("delivery_lease", &self.delivery_lease)
            .field("webhooks", &self.webhooks)
            .field("tzdir", &self.tzdir)
            .field("tzdir_force", &self.tzdir_force)
            .field("metrics_token", &hidden(&self.metrics_token))
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections", &self.max_connections)
            .field("invalid", &self.invalid)
            .finish()
    }
}

/// The environment variables read, each overriding the file's key of the same name.
pub const ENV: [(&str, &str); 19] = [
    ("FOREWARN_DATABASE", "database"),
    ("FOREWARN_LISTEN", "listen"),
    ("FOREWARN_BASE_URL", "base_url"),
    ("FOREWARN_SMTP", "smtp"),
    ("FOREWARN_SITE_NAME", "site_name"),
    ("FOREWARN_MAIL_FROM", "mail_from"),
    ("FOREWARN_REMINDER", "reminder"),
    ("FOREWARN_DELIVERY_BACKOFF", "delivery_backoff"),
    ("FOREWARN_DELIVERY_BACKOFF_MAX", "delivery_backoff_max"),
    ("FOREWARN_DELIVERY_ATTEMPTS", "delivery_attempts"),
    ("FOREWARN_OUTBOX_RETENTION", "outbox_retention"),
    ("FOREWARN_DELIVERY_CONNECTIONS", "delivery_connections"),
    ("FOREWARN_DELIVERY_LEASE", "delivery_lease"),
    ("FOREWARN_TZDIR", "tzdir"),
    ("FOREWARN_TZDIR_FORCE", "tzdir_force"),
    ("FOREWARN_METRICS_TOKEN", "metrics_token"),
    ("FOREWARN_HEADER_TIMEOUT", "header_timeout"),
    ("FOREWARN_BODY_TIMEOUT", "body_timeout"),
    ("FOREWARN_MAX_CONNECTIONS", "max_connections"),
];

/// The merged configuration.
#[derive(Clone)]
pub struct Config {
    pub database: String,
    pub listen: SocketAddr,
    pub base_url: String,
    pub smtp: Option<String>,
    pub site_name: String,
    /// The display name and address mail comes from.
    pub mail_from: (String, String),
    /// Zero: no reminders.
    pub reminder: jiff::SignedDuration,
    pub retry: forewarn_store::RetryPolicy,
    /// Delivered messages are deleted this long after they were sent.
    pub outbox_retention: jiff::SignedDuration,
    /// Messages sent at once (SMTP connections, webhook requests).
    pub delivery_connections: usize,
    /// How long a message taken to be sent is held before another instance may take it.
    pub delivery_lease: jiff::SignedDuration,
    pub webhooks: Vec<Webhook>,
    /// The TZif directory the binary loads as the time zone database; `None`: the bundled one.
    pub tzdir: Option<String>,
    /// Load `tzdir` even when its release is older than the bundled one, or unknown.
    pub tzdir_force: bool,
    /// The bearer token `/metrics` asks for; `None`: `/metrics` is open.
    pub metrics_token: Option<String>,
    /// Time to send a request's headers, and to start the next one on a kept-alive connection.
    pub header_timeout: std::time::Duration,
    /// Time to send a request's body, from its headers.
    pub body_timeout: std::time::Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &redact(&self.database))
            .field("listen", &self.listen)
            .field("base_url", &self.base_url)
            .field("smtp", &self.smtp.as_deref().map(redact))
            .field("site_name", &self.site_name)
            .field("mail_from", &self.mail_from)
            .field("reminder", &self.reminder)
            .field("retry", &self.retry)
            .field("outbox_retention", &self.outbox_retention)
            .field("delivery_connections", &self.delivery_connections)
            .field("delivery_lease", &self.delivery_lease)
            .field("webhooks", &self.webhooks)
            .field("tzdir", &self.tzdir)
            .field("tzdir_force", &self.tzdir_force)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// A URL with its password replaced by `***`, for logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A webhook URL as logs show it: its scheme and host, without credentials, and `/***` for
/// its path and query, which often carry the receiver's token (`/services/T0/B0/XYZ`).
pub fn redact_webhook(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "***".to_owned() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let tail = if tail.is_empty() || tail == "/" { tail } else { "/***" };
    format!("{scheme}://{host}{tail}")
}

impl Config {
    /// Where a message goes, as an operator may see it (the admin mailbox, previews, the
    /// outbox's API): an email address as it is; a webhook by its place in the configuration,
    /// `webhooks[0]`, as logs and errors name it, or, when no configured webhook has that URL
    /// any more, by [`redact_webhook`]. A webhook's URL may hold the receiver's secret.
    pub fn shown_recipient(&self, channel: Channel, recipient: &str) -> String {
        match channel {
            Channel::Email => recipient.to_owned(),
            Channel::Webhook => match self.webhooks.iter().position(|w| w.url == recipient) {
                Some(i) => format!("webhooks[{i}]"),
                None => redact_webhook(recipient),
            },
        }
    }
}

/// A commented example configuration file (`forewarn config example`).
pub const EXAMPLE: &str = r#"# forewarn serve --config forewarn.toml
# Every key can also be set by an environment variable (FOREWARN_DATABASE,
# FOREWARN_LISTEN, FOREWARN_BASE_URL, FOREWARN_SMTP, FOREWARN_SITE_NAME) or a
# flag (--database, --listen, --base-url, --smtp, --site-name); flags win over
# the environment, the environment over this file.

# Where forewarn keeps everything. One SQLite file is the default; use
# PostgreSQL when several coordinator instances share the work:
#   database = "postgres://forewarn:SECRET@db.example.net/forewarn"
database = "sqlite://forewarn.db"

# Address and port to listen on.
listen = "127.0.0.1:8080"

# The address people reach the service at: links in pages, feeds and mail.
base_url = "https://status.example.net"

# The mail relay. Without it, mail is captured and shown at /admin/mail.
# smtp = "smtps://forewarn:SECRET@mail.example.net"

# The name shown on the status page.
site_name = "Example Hosting"

# Who mail comes from (default: forewarn at the base URL's host).
mail_from = "Example Hosting status <status@example.net>"

# Contacts are reminded this long before their slot; "0" sends no reminders.
reminder = "24h"

# A failed delivery is tried again after delivery_backoff, doubling each time up to
# delivery_backoff_max; after delivery_attempts failures (or at once, when the relay
# says the address does not exist) the message is dead: kept and shown at /admin/mail
# with its error and a retry button.
delivery_backoff = "30s"
delivery_backoff_max = "1h"
delivery_attempts = 8

# Delivered messages are kept (and shown at /admin/mail) this long after they were
# sent, then deleted; pending and dead ones are kept until they are sent.
outbox_retention = "90d"

# Messages sent at once, each on its own connection to the relay. A relay acknowledges
# each message's end only after its delayed-ACK timer (40 ms on Linux), so one
# connection carries at most about 25 messages a second: connections, not CPU, set the
# rate. Also FOREWARN_DELIVERY_CONNECTIONS.
delivery_connections = 32
# Several instances on one PostgreSQL database share the delivery: a message one of
# them took to send is held this long before another may take it. A message cut off by
# an instance's end (killed, or its machine gone) goes out again after it, under the
# same Message-ID. Also FOREWARN_DELIVERY_LEASE.
delivery_lease = "2m"

# Webhooks: every event (post created or updated, campaign published, paused,
# cancelled, slots changed...) is POSTed as JSON, signed in the header
# X-Forewarn-Signature: sha256=HEX (HMAC-SHA256 of the body with the secret).
# webhooks = [{ url = "https://hooks.example.net/forewarn", secret = "CHANGE-ME" }]

# The time zone database windows are read with. forewarn bundles a copy of the IANA
# tzdb (`forewarn --version` names its release); to take a newer release without a
# new forewarn, name a TZif directory: the system's, or the PyPI tzdata package's
# (`pip install --target DIR tzdata`, then DIR/tzdata/zoneinfo). Its release is read
# from its tzdata.zi or +VERSION; one older than the bundled release, or without
# one, is refused unless tzdir_force = true. When the database changes, published
# campaigns are checked again at start and slots now outside their windows are
# reported (audit log, admin campaigns page). Also FOREWARN_TZDIR,
# FOREWARN_TZDIR_FORCE=1, --tzdir, --tzdir-force.
# tzdir = "/usr/share/zoneinfo"
# tzdir_force = false

# /metrics is open by default (keep it on a trusted network, or behind the proxy).
# With a token set, it answers only `Authorization: Bearer TOKEN` (401 otherwise).
# Also FOREWARN_METRICS_TOKEN, --metrics-token.
# metrics_token = "CHANGE-ME"

# Slow or silent clients: a request's headers must arrive within header_timeout
# (also how long an idle kept-alive connection waits for its next request), its
# body within body_timeout after them; at most max_connections connections are
# served at once, the next ones wait to be accepted. Also FOREWARN_HEADER_TIMEOUT,
# FOREWARN_BODY_TIMEOUT, FOREWARN_MAX_CONNECTIONS.
header_timeout = "10s"
body_timeout = "30s"
max_connections = 4096
"#;

impl Settings {
    /// Reads a settings file; errors name the file, the line and the key.
    pub fn from_toml(file: &str, text: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            match line {
                Some(l) => format!("{file}:{l}: {}", e.message()),
                None => format!("{file}: {}", e.message()),
            }
        })
    }

    /// The settings given by `FOREWARN_*` variables among `vars`.
    pub fn from_env<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Settings {
        let mut s = Settings::default();
        for (name, value) in vars {
            let slot = match ENV.iter().find(|(n, _)| *n == name).map(|(_, key)| *key) {
                Some("database") => &mut s.database,
                Some("listen") => &mut s.listen,
                Some("base_url") => &mut s.base_url,
                Some("smtp") => &mut s.smtp,
                Some("site_name") => &mut s.site_name,
                Some("mail_from") => &mut s.mail_from,
                Some("reminder") => &mut s.reminder,
                Some("delivery_backoff") => &mut s.delivery_backoff,
                Some("delivery_backoff_max") => &mut s.delivery_backoff_max,
                Some("outbox_retention") => &mut s.outbox_retention,
                Some("delivery_lease") => &mut s.delivery_lease,
                Some("tzdir_force") => {
                    match value.trim().to_ascii_lowercase().as_str() {
                        "1" | "true" | "yes" | "on" => s.tzdir_force = Some(true),
                        "" | "0" | "false" | "no" | "off" => s.tzdir_force = Some(false),
                        _ => s.invalid.push(format!("{name}=`{value}`: expected 1 or 0 (true or false)")),
                    }
                    continue;
                }
                Some("tzdir") => &mut s.tzdir,
                Some("metrics_token") => &mut s.metrics_token,
                Some("header_timeout") => &mut s.header_timeout,
                Some("body_timeout") => &mut s.body_timeout,
                Some("max_connections") => {
                    match value.trim().parse() {
                        Ok(n) => s.max_connections = Some(n),
                        Err(_) => s.invalid.push(format!("{name}=`{value}`: expected a whole number such as 4096")),
                    }
                    continue;
                }
                Some("delivery_connections") => {
                    match value.trim().parse() {
                        Ok(n) => s.delivery_connections = Some(n),
                        Err(_) => s.invalid.push(format!("{name}=`{value}`: expected a whole number such as 32")),
                    }
                    continue;
                }
                Some("delivery_attempts") => {
                    match value.trim().parse() {
                        Ok(n) => s.delivery_attempts = Some(n),
                        Err(_) => s.invalid.push(format!("{name}=`{value}`: expected a whole number such as 8")),
                    }
                    continue;
                }
                _ => continue,
            };
            *slot = Some(value.to_owned());
        }
        s
    }

    /// These settings, with `over`'s where it has them.
    pub fn overridden_by(self, over: Settings) -> Settings {
        let mut invalid = self.invalid;
        invalid.extend(over.invalid);
        Settings {
            database: over.database.or(self.database),
            listen: over.listen.or(self.listen),
            base_url: over.base_url.or(self.base_url),
            smtp: over.smtp.or(self.smtp),
            site_name: over.site_name.or(self.site_name),
            mail_from: over.mail_from.or(self.mail_from),
            reminder: over.reminder.or(self.reminder),
            delivery_backoff: over.delivery_backoff.or(self.delivery_backoff),
            delivery_backoff_max: over.delivery_backoff_max.or(self.delivery_backoff_max),
            delivery_attempts: over.delivery_attempts.or(self.delivery_attempts),
            outbox_retention: over.outbox_retention.or(self.outbox_retention),
            delivery_connections: over.delivery_connections.or(self.delivery_connections),
            delivery_lease: over.delivery_lease.or(self.delivery_lease),
            webhooks: over.webhooks.or(self.webhooks),
            tzdir: over.tzdir.or(self.tzdir),
            tzdir_force: over.tzdir_force.or(self.tzdir_force),
            metrics_token: over.metrics_token.or(self.metrics_token),
            header_timeout: over.header_timeout.or(self.header_timeout),
            body_timeout: over.body_timeout.or(self.body_timeout),
            max_connections: over.max_connections.or(self.max_connections),
            invalid,
        }
    }

    /// The configuration, with defaults for what nobody gave.
    pub fn resolve(self) -> Result<Config, String> {
        let database = self.database.unwrap_or_else(|| "sqlite://forewarn.db".to_owned());
        if !(database.starts_with("sqlite:")
            || database.starts_with("postgres://")
            || database.starts_with("postgresql://"))
        {
            return Err(format!(
                "database `{}`: expected `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`",
                redact(&database)
            ));
        }
        let listen_text = self.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|_| format!("listen `{listen_text}`: expected an address and port such as `127.0.0.1:8080`"))?;
        let base_url = self.base_url.unwrap_or_else(|| format!("http://{listen}"));
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(format!("base_url `{base_url}`: expected an http:// or https:// URL"));
        }
        if let Some(smtp) = &self.smtp
            && !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://"))
        {
            return Err(format!("smtp `{}`: expected an smtp:// or smtps:// URL", redact(smtp)));
        }
        let host = base_url.split_once("://").map_or("", |(_, rest)| rest);
        let host = host.split(['/', ':']).next().unwrap_or("").to_owned();
        let mail_from = match self.mail_from {
            Some(text) => parse_mailbox(&text).ok_or_else(|| {
                format!("mail_from `{text}`: expected `Name <address@example.net>` or `address@example.net`")
            })?,
            None => {
                // A domain name, not an IP address, makes a mail domain.
                let domain = host.contains('.') && host.parse::<std::net::IpAddr>().is_err();
                ("forewarn".to_owned(), format!("forewarn@{}", if domain { host.as_str() } else { "localhost" }))
            }
        };
        let duration = |key: &str, value: Option<String>, default: &str| -> Result<jiff::SignedDuration, String> {
            let text = value.unwrap_or_else(|| default.to_owned());
            let d: forewarn_model::Duration = text.parse().map_err(|e| format!("{key}: {e}"))?;
            if d.seconds() < 0 {
                return Err(format!("{key} `{text}` is negative"));
            }
            Ok(d.0)
        };
        let reminder = duration("reminder", self.reminder, "24h")?;
        let first_backoff = duration("delivery_backoff", self.delivery_backoff, "30s")?;
        let max_backoff = duration("delivery_backoff_max", self.delivery_backoff_max, "1h")?;
        if first_backoff.as_secs() < 1 || max_backoff < first_backoff {
            return Err(format!(
                "delivery_backoff ({}s) must be at least 1s and at most delivery_backoff_max ({}s)",
                first_backoff.as_secs(),
                max_backoff.as_secs()
            ));
        }
        let outbox_retention = duration("outbox_retention", self.outbox_retention, "90d")?;
        if outbox_retention.as_secs() < 3600 {
            return Err(format!(
                "outbox_retention ({}s) must be at least 1h (such as `90d`): the admin mailbox shows what was sent within it",
                outbox_retention.as_secs()
            ));
        }
        let delivery_connections = self.delivery_connections.unwrap_or(32);
        if !(1..=1024).contains(&delivery_connections) {
            return Err(format!(
                "delivery_connections ({delivery_connections}) must be between 1 and 1024 (such as 32)"
            ));
        }
        let max_attempts = self.delivery_attempts.unwrap_or(8);
        if max_attempts == 0 {
            return Err("delivery_attempts must be at least 1".to_owned());
        }
        let delivery_lease = duration("delivery_lease", self.delivery_lease, "2m")?;
        if delivery_lease.as_secs() < 1 {
            return Err("delivery_lease: at least 1s (such as `2m`)".to_owned());
        }
        let webhooks = self.webhooks.unwrap_or_default();
        for (i, w) in webhooks.iter().enumerate() {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return Err(format!("webhooks[{i}].url `{}`: expected an https:// or http:// URL", w.url));
            }
            if w.secret.len() < 8 {
                return Err(format!("webhooks[{i}].secret: at least 8 characters, so that signatures mean something"));
            }
        }
        if let Some(first) = self.invalid.first() {
            return Err(first.clone());
        }
        let tzdir = self.tzdir.filter(|d| !d.trim().is_empty());
        let metrics_token = self.metrics_token.filter(|t| !t.trim().is_empty());
        if let Some(t) = &metrics_token
            && t.len() < 8
        {
            return Err("metrics_token: at least 8 characters, so that it cannot be guessed".to_owned());
        }
        let limit = |key: &str, value: Option<String>, default: &str| -> Result<std::time::Duration, String> {
            let d = duration(key, value, default)?;
            if d.as_secs() < 1 {
                return Err(format!("{key}: at least 1s (such as `{default}`)"));
            }
            Ok(std::time::Duration::from_secs(d.as_secs().unsigned_abs()))
        };
        let header_timeout = limit("header_timeout", self.header_timeout, "10s")?;
        let body_timeout = limit("body_timeout", self.body_timeout, "30s")?;
        let max_connections = self.max_connections.unwrap_or(4096);
        if max_connections == 0 {
            return Err("max_connections must be at least 1 (such as 4096)".to_owned());
        }
        Ok(Config {
            database,
            listen,
            base_url: base_url.trim_end_matches('/').to_owned(),
            smtp: self.smtp,
            site_name: self.site_name.unwrap_or_else(|| "forewarn".to_owned()),
            mail_from,
            reminder,
            retry: forewarn_store::RetryPolicy { max_attempts, first_backoff, max_backoff },
            outbox_retention,
            delivery_connections: delivery_connections as usize,
            delivery_lease,
            webhooks,
            tzdir,
            tzdir_force: self.tzdir_force.unwrap_or(false),
            metrics_token,
            header_timeout,
            body_timeout,
            max_connections: max_connections as usize,
        })
    }
}

/// `Name <address>` or `address`, as (name, address); the name defaults to the address.
fn parse_mailbox(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    let (name, address) = match text.rsplit_once('<') {
        Some((name, rest)) => (name.trim().trim_matches('"').to_owned(), rest.strip_suffix('>')?.trim().to_owned()),
        None => (String::new(), text.to_owned()),
    };
    let (local, domain) = address.split_once('@')?;
    if local.is_empty() || domain.is_empty() || address.chars().any(|c| c.is_whitespace() || c == '<' || c == '>') {
        return None;
    }
    let name = if name.is_empty() { address.clone() } else { name };
    Some((name, address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_valid_and_later_layers_win() {
        let file = Settings::from_toml("forewarn.toml", EXAMPLE).unwrap();
        let env = Settings::from_env([("FOREWARN_LISTEN", "127.0.0.1:9000"), ("HOME", "/root")]);
        let flags = Settings { database: Some("postgres://u:pw@localhost/f".into()), ..Settings::default() };
        let c = file.overridden_by(env).overridden_by(flags).resolve().unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.database, "postgres://u:pw@localhost/f");
        assert_eq!(c.base_url, "https://status.example.net");
        assert_eq!(c.site_name, "Example Hosting");
        let shown = format!("{c:?}");
        assert!(shown.contains("postgres://u:***@localhost/f") && !shown.contains("pw"), "{shown}");
    }

    #[test]
    fn mistakes_name_the_file_line_and_key() {
        let err = Settings::from_toml("f.toml", "listen = \"x\"\ndatbase = \"sqlite://a\"\n").unwrap_err();
        assert!(err.starts_with("f.toml:2:") && err.contains("datbase"), "{err}");
        let err = Settings { listen: Some("localhost".into()), ..Settings::default() }.resolve().unwrap_err();
        assert!(err.contains("127.0.0.1:8080"), "{err}");
        let err = Settings { database: Some("mysql://x".into()), ..Settings::default() }.resolve().unwrap_err();
        assert!(err.contains("sqlite://PATH"), "{err}");
        let c = Settings::default().resolve().unwrap();
        assert_eq!((c.database.as_str(), c.base_url.as_str()), ("sqlite://forewarn.db", "http://127.0.0.1:8080"));
        assert_eq!(c.mail_from, ("forewarn".to_owned(), "forewarn@localhost".to_owned()));
        assert_eq!((c.reminder.as_secs(), c.retry.max_attempts), (86_400, 8));
    }

    #[test]
    fn the_time_zone_directory_comes_from_file_environment_or_flag() {
        let file = Settings::from_toml("f.toml", "tzdir = \"/usr/share/zoneinfo\"\n").unwrap();
        let c = file.clone().resolve().unwrap();
        assert_eq!((c.tzdir.as_deref(), c.tzdir_force), (Some("/usr/share/zoneinfo"), false));
        let env = Settings::from_env([("FOREWARN_TZDIR", "/opt/tzdata/zoneinfo"), ("FOREWARN_TZDIR_FORCE", "1")]);
        let c = file.clone().overridden_by(env).resolve().unwrap();
        assert_eq!((c.tzdir.as_deref(), c.tzdir_force), (Some("/opt/tzdata/zoneinfo"), true));
        let flags = Settings { tzdir: Some("/srv/zoneinfo".into()), ..Settings::default() };
        assert_eq!(file.overridden_by(flags).resolve().unwrap().tzdir.as_deref(), Some("/srv/zoneinfo"));
        assert_eq!(Settings::default().resolve().unwrap().tzdir, None, "the bundled database by default");
        let err = Settings::from_env([("FOREWARN_TZDIR_FORCE", "please")]).resolve().unwrap_err();
        assert!(err.contains("FOREWARN_TZDIR_FORCE=`please`"), "{err}");
        let example = Settings::from_toml("forewarn.toml", EXAMPLE).unwrap();
        assert_eq!(example.tzdir, None, "the example names the setting, commented out");
        assert!(EXAMPLE.contains("# tzdir = \"/usr/share/zoneinfo\""));
    }

    #[test]
    fn delivery_settings() {
        let file = Settings::from_toml("f.toml", EXAMPLE).unwrap().resolve().unwrap();
        assert_eq!(file.mail_from, ("Example Hosting status".to_owned(), "status@example.net".to_owned()));
        let env = Settings::from_env([
            ("FOREWARN_DELIVERY_BACKOFF", "1s"),
            ("FOREWARN_DELIVERY_ATTEMPTS", "3"),
            ("FOREWARN_MAIL_FROM", "ops@example.org"),
        ]);
        let c = env.resolve().unwrap();
        assert_eq!((c.retry.first_backoff.as_secs(), c.retry.max_attempts), (1, 3));
        assert_eq!(c.mail_from.1, "ops@example.org");
        let err = Settings::from_env([("FOREWARN_DELIVERY_ATTEMPTS", "many")]).resolve().unwrap_err();
        assert!(err.contains("FOREWARN_DELIVERY_ATTEMPTS") && err.contains("whole number"), "{err}");
        let err = Settings { mail_from: Some("no address".into()), ..Settings::default() }.resolve().unwrap_err();
        assert!(err.contains("mail_from"), "{err}");
        let text = "webhooks = [{ url = \"ftp://x\", secret = \"0123456789\" }]\n";
        let err = Settings::from_toml("f.toml", text).unwrap().resolve().unwrap_err();
        assert!(err.contains("webhooks[0].url"), "{err}");
        let shown = format!(
            "{:?}",
            Settings::from_toml("f.toml", "webhooks = [{ url = \"https://h/\", secret = \"topsecret1\" }]").unwrap()
        );
        assert!(!shown.contains("topsecret1"), "{shown}");
    }

    #[test]
    fn settings_show_no_password_secret_or_token() {
        let text = "database = \"postgres://forewarn:dbpass1@db/forewarn\"\n\
                    smtp = \"smtps://relay:smtppass1@mail.example.net\"\n\
                    metrics_token = \"metricstoken1\"\n\
                    webhooks = [{ url = \"https://u:hookpass1@hooks.example.net/services/T0/hookpath1?k=1\", \
                    secret = \"hooksecret1\" }]\n";
        let settings = Settings::from_toml("f.toml", text).unwrap();
        let shown = format!("{settings:?}");
        for secret in ["dbpass1", "smtppass1", "metricstoken1", "hookpass1", "hookpath1", "hooksecret1"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        for kept in ["postgres://forewarn:***@db/forewarn", "smtps://relay:***@mail.example.net"] {
            assert!(shown.contains(kept), "{kept} not in {shown}");
        }
        assert!(shown.contains("https://hooks.example.net/***"), "{shown}");
        let config = settings.resolve().unwrap();
        let shown = format!("{config:?}");
        for secret in ["dbpass1", "smtppass1", "metricstoken1", "hookpass1", "hookpath1", "hooksecret1"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        assert_eq!(redact_webhook("https://h/"), "https://h/");
        assert_eq!(redact_webhook("http://h:8080"), "http://h:8080");
        assert_eq!(redact_webhook("not a url"), "***");
    }

    #[test]
    fn a_webhook_is_shown_by_its_place_in_the_configuration() {
        let config = Settings::from_toml(
            "f.toml",
            "webhooks = [{ url = \"https://h/a\", secret = \"topsecret1\" }, \
             { url = \"https://h/services/T0/B0/XYZ?k=1\", secret = \"topsecret2\" }]",
        )
        .unwrap()
        .resolve()
        .unwrap();
        assert_eq!(config.shown_recipient(Channel::Webhook, "https://h/services/T0/B0/XYZ?k=1"), "webhooks[1]");
        assert_eq!(config.shown_recipient(Channel::Webhook, "https://h/gone/XYZ"), "https://h/***", "not configured");
        assert_eq!(config.shown_recipient(Channel::Email, "ops@example.net"), "ops@example.net");
    }
}
