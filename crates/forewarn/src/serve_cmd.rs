//! `forewarn serve`, `forewarn demo`, `forewarn token create` and `forewarn config example`:
//! the coordinator service and what it needs around it (`operator_cmd.rs` adds operators).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use clap::{Args, Subcommand};
use forewarn_server::{App, Settings};
use forewarn_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::Outcome;
use crate::clock::SystemClock;

/// Settings that flags can give (each overrides the file and the environment).
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB` [env: FOREWARN_DATABASE]
    #[arg(long)]
    database: Option<String>,
    /// Address and port to listen on [env: FOREWARN_LISTEN]
    #[arg(long)]
    listen: Option<String>,
    /// The address people reach the service at [env: FOREWARN_BASE_URL]
    #[arg(long)]
    base_url: Option<String>,
    /// `smtp://` or `smtps://` URL of the mail relay [env: FOREWARN_SMTP]
    #[arg(long)]
    smtp: Option<String>,
    /// The status page's name [env: FOREWARN_SITE_NAME]
    #[arg(long)]
    site_name: Option<String>,
    /// Who mail comes from: `Name <address>` [env: FOREWARN_MAIL_FROM]
    #[arg(long)]
    mail_from: Option<String>,
    /// A TZif directory to read windows with instead of the bundled tzdb [env: FOREWARN_TZDIR]
    #[arg(long)]
    tzdir: Option<String>,
    /// Use --tzdir even when its release is older than the bundled one [env: FOREWARN_TZDIR_FORCE]
    #[arg(long)]
    tzdir_force: bool,
    /// `/metrics` answers only `Authorization: Bearer <this>` [env: FOREWARN_METRICS_TOKEN]
    #[arg(long)]
    metrics_token: Option<String>,
    /// Time a client has to send a request's headers, and an idle connection to start its next
    /// request (`10s`) [env: FOREWARN_HEADER_TIMEOUT]
    #[arg(long)]
    header_timeout: Option<String>,
    /// Time a client has to send a request's body after its headers (`30s`) [env: FOREWARN_BODY_TIMEOUT]
    #[arg(long)]
    body_timeout: Option<String>,
    /// Connections served at once (4096) [env: FOREWARN_MAX_CONNECTIONS]
    #[arg(long)]
    max_connections: Option<u32>,
}

impl SettingsArgs {
    fn settings(self) -> Settings {
        Settings {
            database: self.database,
            listen: self.listen,
            base_url: self.base_url,
            smtp: self.smtp,
            site_name: self.site_name,
            mail_from: self.mail_from,
            tzdir: self.tzdir,
            tzdir_force: self.tzdir_force.then_some(true),
            metrics_token: self.metrics_token,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections,
            ..Settings::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (`forewarn config example` prints one).
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(flatten)]
    clock: ClockArgs,
}

/// Where the service's clock starts.
#[derive(Debug, Args)]
pub struct ClockArgs {
    /// Start the clock at this instant (RFC 3339, e.g. `2027-02-20T09:00:00+01:00`) instead of
    /// the system's time; it runs on from there. For rehearsals and tests. [env: FOREWARN_NOW]
    #[arg(long, env = "FOREWARN_NOW", value_parser = parse_instant)]
    now: Option<jiff::Timestamp>,
}

impl ClockArgs {
    fn clock(&self) -> SystemClock {
        SystemClock::starting_at(self.now)
    }
}

fn parse_instant(text: &str) -> Result<jiff::Timestamp, String> {
    text.trim()
        .parse()
        .map_err(|e| format!("`{text}` is not an RFC 3339 instant such as 2027-02-20T09:00:00+01:00: {e}"))
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for the admin API (or, with --machine, a machine's token for its
    /// agent; with --fleetlock, a FleetLock group's token for Zincati); it is printed once, as
    /// the last line.
    Create {
        /// Who or what uses the token; it names the token in the audit log.
        #[arg(long)]
        name: String,
        /// A machine's token instead: the machine (its id in the latest inventory) whose agent
        /// uses it. It reaches the agent's API (/agent/v1) for that machine only.
        #[arg(long, value_name = "ID", conflicts_with = "fleetlock")]
        machine: Option<String>,
        /// A FleetLock group's token instead: the group (a campaign with mode = "fleetlock",
        /// named by its id) whose locks it takes and releases, and nothing else. Zincati sends
        /// it as the password of its base_url (`https://fcos:TOKEN@status.example.net/`).
        #[arg(long, value_name = "GROUP")]
        fleetlock: Option<String>,
        /// `sqlite://PATH` or `postgres://...` [env: FOREWARN_DATABASE]
        #[arg(long, env = "FOREWARN_DATABASE")]
        database: String,
    },
    /// Every API token (never its hash): id, name, created, by whom, revoked.
    List {
        /// `sqlite://PATH` or `postgres://...` [env: FOREWARN_DATABASE]
        #[arg(long, env = "FOREWARN_DATABASE")]
        database: String,
    },
    /// Revoke an API token (by its id, from `token list`): refused from its next request on.
    Revoke {
        id: i64,
        /// `sqlite://PATH` or `postgres://...` [env: FOREWARN_DATABASE]
        #[arg(long, env = "FOREWARN_DATABASE")]
        database: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration file.
    Example,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// An empty database to tell the story into, kept afterwards (`postgres://...`, or
    /// `sqlite://PATH`); by default a SQLite file in a temporary directory, removed at the end.
    #[arg(long)]
    database: Option<String>,
    #[command(flatten)]
    clock: ClockArgs,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

fn init_logs() {
    // Structured lines: time, level, message and fields as key=value.
    let _ = tracing_subscriber::fmt().with_target(false).with_writer(std::io::stderr).try_init();
}

/// Stops on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

pub fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    let file = match &args.config {
        Some(path) => {
            let text = crate::read_text(path, "configuration")?;
            Settings::from_toml(&path.display().to_string(), &text).map_err(anyhow::Error::msg)?
        }
        None => Settings::default(),
    };
    let env: Vec<(String, String)> = std::env::vars().collect();
    let env = Settings::from_env(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let config =
        file.overridden_by(env).overridden_by(args.settings.settings()).resolve().map_err(anyhow::Error::msg)?;
    if let Some(dir) = &config.tzdir {
        crate::tzdir::install(
            std::path::Path::new(dir),
            config.tzdir_force,
            "the `tzdir` setting",
            "set `tzdir_force = true`, --tzdir-force or FOREWARN_TZDIR_FORCE=1",
        )?;
    }
    init_logs();
    runtime()?.block_on(async {
        let store = Store::open(&config.database)
            .await
            .with_context(|| format!("cannot open the database `{}`", forewarn_server::config::redact(&config.database)))?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        tracing::info!(listen = %config.listen, base_url = %config.base_url, database = %forewarn_server::config::redact(&config.database), tzdb = %forewarn_model::tz::db().describe(), "forewarn serving");
        let app = App::new(store, Arc::new(args.clock.clock()), config);
        // A new time zone database may have moved published slots out of their windows.
        forewarn_server::tzdb::check_on_start(&app).await.map_err(anyhow::Error::msg)?;
        serve_with_delivery(listener, app).await
    })?;
    Ok(Outcome::Ok)
}

/// Serves until Ctrl-C or SIGTERM, delivering the outbox beside the requests; on the way
/// out, the requests in flight finish and the delivery round in flight gets a few seconds
/// (a message cut off is sent again at the next start, under the same Message-ID).
async fn serve_with_delivery(listener: tokio::net::TcpListener, app: Arc<App>) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = forewarn_server::background(app.clone(), stop_rx).await.map_err(anyhow::Error::msg)?;
    let stop = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    let served = forewarn_server::serve(listener, app, stop).await.context("the server failed");
    if tokio::time::timeout(std::time::Duration::from_secs(10), background).await.is_err() {
        tracing::warn!("delivery did not stop within 10 s; its messages in flight go out at the next start");
    }
    served
}

/// 32 random bytes from the operating system.
fn random_bytes() -> anyhow::Result<[u8; 32]> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("the operating system gave no random bytes: {e}"))?;
    Ok(buf)
}

async fn new_token(store: &Store, now: jiff::Timestamp, actor: &str, name: &str) -> anyhow::Result<String> {
    let token = forewarn_server::auth::token_from(&random_bytes()?);
    store.create_token(now, actor, name, &forewarn_server::auth::hash_secret(&token)).await?;
    Ok(token)
}

/// A machine's token, for a machine of the latest inventory.
async fn new_machine_token(
    store: &Store,
    now: jiff::Timestamp,
    actor: &str,
    name: &str,
    machine: &str,
) -> anyhow::Result<String> {
    let Some(stored) = store.inventory(None).await? else {
        bail!("--machine `{machine}`: there is no inventory yet; import one first (POST /api/v1/inventory)");
    };
    let file = format!("inventory-v{}.{}", stored.version, stored.format);
    let inv = forewarn_model::parse_inventory(&file, &stored.text)
        .map_err(|d| anyhow::anyhow!("the stored inventory {} does not validate: {d}", stored.version))?;
    if inv.machine_position(machine).is_none() {
        bail!(
            "--machine `{machine}`: inventory version {} has no such machine; give a machine's id as the \
             inventory names it",
            stored.version
        );
    }
    let token = forewarn_server::auth::token_from(&random_bytes()?);
    store.create_machine_token(now, actor, name, &forewarn_server::auth::hash_secret(&token), machine).await?;
    Ok(token)
}

/// A FleetLock group's token, for a campaign with mode = "fleetlock".
async fn new_fleetlock_token(
    store: &Store,
    now: jiff::Timestamp,
    actor: &str,
    name: &str,
    group: &str,
) -> anyhow::Result<String> {
    use forewarn_model::doc::{Document, Format};
    let Some(stored) = store.campaign(group).await? else {
        bail!(
            "--fleetlock `{group}`: there is no campaign `{group}`; a FleetLock group is a campaign with \
             mode = \"fleetlock\" whose id is the group's name: create it first"
        );
    };
    let file = format!("campaign `{group}`");
    let mode = Document::parse(&file, &stored.text, Format::detect(&file, &stored.text))
        .ok()
        .and_then(|doc| doc.whole::<forewarn_model::CampaignFile>(&mut Vec::new()))
        .map(|f| f.mode);
    if mode != Some(forewarn_model::campaign::Mode::Fleetlock) {
        bail!("--fleetlock `{group}`: campaign `{group}` is not a FleetLock group; give it mode = \"fleetlock\"");
    }
    let token = forewarn_server::auth::token_from(&random_bytes()?);
    store.create_fleetlock_token(now, actor, name, &forewarn_server::auth::hash_secret(&token), group).await?;
    Ok(token)
}

async fn open_store(database: &str) -> anyhow::Result<Store> {
    Store::open(database)
        .await
        .with_context(|| format!("cannot open the database `{}`", forewarn_server::config::redact(database)))
}

/// One token a line: `ID  NAME  created TIME by WHO  active|revoked TIME by WHO`, and
/// `machine ID` for a machine's token.
fn token_line(t: &forewarn_store::Token) -> String {
    let state = match (&t.revoked, &t.revoked_by) {
        (Some(when), by) => format!("revoked {when} by {}", by.as_deref().unwrap_or("?")),
        (None, _) => "active".to_owned(),
    };
    let machine = t.machine.as_ref().map(|m| format!("\tmachine {m}")).unwrap_or_default();
    let group = t.fleetlock.as_ref().map(|g| format!("\tfleetlock {g}")).unwrap_or_default();
    format!("{}\t{}\tcreated {} by {}\t{state}{machine}{group}", t.id, t.name, t.created, t.by)
}

pub fn token(cmd: TokenCommand) -> anyhow::Result<Outcome> {
    let (name, database, reach) = match cmd {
        TokenCommand::Create { name, database, machine, fleetlock } => (name, database, (machine, fleetlock)),
        TokenCommand::List { database } => {
            let tokens = runtime()?.block_on(async {
                let store = open_store(&database).await?;
                let tokens = store.tokens().await;
                store.close().await;
                anyhow::Ok(tokens?)
            })?;
            if tokens.is_empty() {
                eprintln!("no API tokens yet: `forewarn token create --name NAME` makes one");
            }
            for t in &tokens {
                println!("{}", token_line(t));
            }
            return Ok(Outcome::Ok);
        }
        TokenCommand::Revoke { id, database } => {
            let revoked = runtime()?.block_on(async {
                let store = open_store(&database).await?;
                let revoked = store.revoke_token(crate::clock::now(), "cli", id).await;
                store.close().await;
                anyhow::Ok(revoked)
            })?;
            return match revoked {
                Ok(t) => {
                    println!("revoked token {} (`{}`): it is refused from its next request on", t.id, t.name);
                    Ok(Outcome::Ok)
                }
                Err(e @ (forewarn_store::Error::NotFound(_) | forewarn_store::Error::Conflict(_))) => {
                    let hint = if matches!(e, forewarn_store::Error::NotFound(_)) {
                        " (`forewarn token list` shows the ids)"
                    } else {
                        ""
                    };
                    eprintln!("forewarn: cannot revoke token {id}: {e}{hint}");
                    Ok(Outcome::Findings)
                }
                Err(e) => Err(e.into()),
            };
        }
    };
    if name.trim().is_empty() {
        bail!("--name is empty: name the person or system that uses the token");
    }
    let token = runtime()?.block_on(async {
        let store = Store::open(&database)
            .await
            .with_context(|| format!("cannot open the database `{}`", forewarn_server::config::redact(&database)))?;
        let token = match &reach {
            (Some(machine), _) => new_machine_token(&store, crate::clock::now(), "cli", &name, machine).await,
            (None, Some(group)) => new_fleetlock_token(&store, crate::clock::now(), "cli", &name, group).await,
            (None, None) => new_token(&store, crate::clock::now(), "cli", &name).await,
        };
        store.close().await;
        token
    })?;
    match &reach {
        (Some(m), _) => eprintln!(
            "machine `{m}`'s token `{name}` created; it is shown only now. Give it to that machine's agent: it \
             reaches the agents' API (/agent/v1) for `{m}` only, as `Authorization: Bearer TOKEN`."
        ),
        (None, Some(g)) => eprintln!(
            "FleetLock group `{g}`'s token `{name}` created; it is shown only now. It takes and releases that \
             group's locks only: in Zincati's config, [updates.fleet_lock] base_url = \"https://fcos:TOKEN@HOST/\" \
             and [identity] group = \"{g}\"."
        ),
        (None, None) => {
            eprintln!("API token `{name}` created; it is shown only now. Send it as `Authorization: Bearer TOKEN`.")
        }
    }
    println!("{token}");
    Ok(Outcome::Ok)
}

pub fn config(cmd: ConfigCommand) -> anyhow::Result<Outcome> {
    let ConfigCommand::Example = cmd;
    print!("{}", forewarn_server::config::EXAMPLE);
    Ok(Outcome::Ok)
}

// ---------------------------------------------------------------------------
// The demo.

const DEMO_INVENTORY: &str = include_str!("../../../examples/inventory.toml");
const DEMO_CAMPAIGN: &str = include_str!("../../../examples/os-update.toml");

/// Sends one request to the service in-process (the same code path as over HTTP).
async fn call(
    router: &axum::Router,
    token: &str,
    method: Method,
    uri: &str,
    ctype: &str,
    body: String,
) -> anyhow::Result<Value> {
    let request = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", ctype)
        .body(Body::from(body))?;
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !(status == StatusCode::OK || status == StatusCode::CREATED) {
        bail!("demo: {method} {uri} answered {status}: {value}");
    }
    Ok(value)
}

async fn post_json(router: &axum::Router, token: &str, uri: &str, body: Value) -> anyhow::Result<Value> {
    call(router, token, Method::POST, uri, "application/json", body.to_string()).await
}

/// The sample OS update moved by whole weeks (so windows keep their weekdays and local times)
/// to start on the first Monday at least two weeks from `now` whose range is clear of every
/// blackout of the sample inventory (the year-end freeze, customers' sales days): the demo
/// always shows maintenance ahead that every machine gets a slot in. Its id and title follow
/// the new dates; no date in it is left as typed.
fn demo_campaign(text: &str, inventory: &forewarn_model::Inventory, now: jiff::Timestamp) -> anyhow::Result<String> {
    use jiff::ToSpan;
    let zone = forewarn_model::Zone::get("Europe/Berlin")?.tz().clone();
    let mut table: toml::Table = text.parse().context("examples/os-update.toml")?;
    let when = |key: &str| -> anyhow::Result<jiff::ZonedDateTime> {
        let text = table.get(key).and_then(|v| v.as_str()).with_context(|| format!("os-update.toml: no `{key}`"))?;
        Ok(text.parse::<jiff::Timestamp>()?.to_zoned_datetime(zone.clone()))
    };
    let (starts, ends) = (when("starts")?, when("ends")?);
    let today = now.to_zoned_datetime(zone.clone()).date();
    let target = today.checked_add(14.days())?;
    let days = target.since((jiff::Unit::Day, starts.date()))?.get_days();
    // Whole weeks, rounded up: the start stays a Monday, at least 14 days ahead.
    let mut weeks = i64::from(days).div_euclid(7) + i64::from(days.rem_euclid(7) != 0);
    let blackouts: Vec<&forewarn_model::inventory::Blackout> =
        inventory.platform.blackouts.iter().chain(inventory.customers.iter().flat_map(|c| &c.blackouts)).collect();
    let clear = |weeks: i64| -> anyhow::Result<bool> {
        let (from, to) = (starts.checked_add(weeks.weeks())?.timestamp(), ends.checked_add(weeks.weeks())?.timestamp());
        Ok(blackouts.iter().all(|b| b.to <= from || to <= b.from))
    };
    let mut tries = 0;
    while !clear(weeks)? {
        weeks += 1;
        tries += 1;
        if tries > 104 {
            bail!("the sample inventory's blackouts leave no free week for the demo's OS update in two years");
        }
    }
    let moved = |z: jiff::ZonedDateTime| -> anyhow::Result<String> {
        Ok(z.checked_add(weeks.weeks())?.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
    };
    let new_starts = starts.checked_add(weeks.weeks())?;
    let values: Vec<(&str, String)> = ["starts", "ends", "publish_at"]
        .into_iter()
        .map(|key| Ok((key, moved(when(key)?)?)))
        .collect::<anyhow::Result<_>>()?;
    for (key, value) in values {
        table.insert(key.to_owned(), toml::Value::String(value));
    }
    table.insert("id".to_owned(), toml::Value::String("os-update".to_owned()));
    let month = new_starts.strftime("%B %Y").to_string();
    table.insert("title".to_owned(), toml::Value::String(format!("Operating system update, {month}")));
    Ok(toml::to_string(&table)?)
}

/// The sample platform's story, each step stored at the time it happened (the clock is
/// pinned there while it is told): the inventory imported ten days ago; a switch
/// replacement announced nine days ago for the day after tomorrow, cancelled two days ago
/// and announced again for twelve days ahead; an incident yesterday morning with its
/// updates over two and a half hours; and the OS update planned and published now.
async fn tell_story(
    router: &axum::Router,
    clock: &SystemClock,
    token: &str,
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    use jiff::ToSpan;
    let zone = forewarn_model::Zone::get("Europe/Berlin")?.tz().clone();
    // `days` from today at `hour:minute` Berlin time.
    let at = |days: i64, hour: i8, minute: i8| -> anyhow::Result<jiff::Timestamp> {
        let day = now.to_zoned_datetime(zone.clone()).date().checked_add(days.days())?;
        Ok(day.at(hour, minute, 0, 0).to_zoned_datetime(zone.clone())?.timestamp())
    };

    clock.pin(Some(at(-10, 10, 0)?));
    call(router, token, Method::POST, "/api/v1/inventory", "application/toml", DEMO_INVENTORY.to_owned()).await?;

    clock.pin(Some(at(-9, 11, 0)?));
    let first = post_json(
        router,
        token,
        "/api/v1/posts",
        json!({
            "kind": "maintenance",
            "title": "Replacement of switch sw1 in rack r1",
            "body": "The access switch **sw1** serving rack r1 is replaced. Machines on kvm01 to kvm03 lose their network for up to 15 minutes within the window.",
            "starts": at(2, 22, 0)?, "ends": at(2, 23, 0)?,
            "components": ["sw1", "rack-r1"],
        }),
    )
    .await?;
    clock.pin(Some(at(-2, 16, 0)?));
    post_json(
        router,
        token,
        &format!("/api/v1/posts/{}/updates", first["id"]),
        json!({ "state": "cancelled", "body": "Cancelled: the replacement switch was delivered damaged. A new date follows." }),
    )
    .await?;
    clock.pin(Some(at(-2, 16, 30)?));
    post_json(
        router,
        token,
        "/api/v1/posts",
        json!({
            "kind": "maintenance",
            "title": "Replacement of switch sw1 in rack r1 (new date)",
            "body": "The switch replacement that was cancelled because the new switch arrived damaged takes place at this new date. Machines on kvm01 to kvm03 lose their network for up to 15 minutes within the window.",
            "starts": at(12, 22, 0)?, "ends": at(12, 23, 0)?,
            "components": ["sw1", "rack-r1"], "replaces": first["id"],
        }),
    )
    .await?;

    clock.pin(Some(at(-1, 9, 12)?));
    let incident = post_json(
        router,
        token,
        "/api/v1/posts",
        json!({
            "kind": "incident",
            "title": "Slow disks on host kvm03",
            "body": "Machines on kvm03 see slow disk access. We are looking into it.",
            "starts": at(-1, 9, 0)?, "ends": at(-1, 10, 30)?,
            "components": ["rack-r1"],
        }),
    )
    .await?;
    for (hour, minute, state, text) in [
        (9, 40, "identified", "A failing disk in kvm03's storage array slows every write. It is being replaced."),
        (10, 35, "monitoring", "The disk is replaced and the array rebuilt; we are watching the latency."),
        (11, 40, "resolved", "Latency has been normal for an hour. Sorry for the trouble."),
    ] {
        clock.pin(Some(at(-1, hour, minute)?));
        post_json(
            router,
            token,
            &format!("/api/v1/posts/{}/updates", incident["id"]),
            json!({ "state": state, "body": text }),
        )
        .await?;
    }

    // The OS update: written and planned this morning... or an hour ago, whichever is
    // later, and published now.
    clock.pin(Some(now.checked_sub(1.hour())?));
    let inventory = forewarn_model::parse_inventory("examples/inventory.toml", DEMO_INVENTORY)
        .map_err(|d| anyhow::anyhow!("the sample inventory does not validate: {d}"))?;
    let campaign = call(
        router,
        token,
        Method::POST,
        "/api/v1/campaigns",
        "application/toml",
        demo_campaign(DEMO_CAMPAIGN, &inventory, now)?,
    )
    .await?;
    let id = campaign["id"].as_str().unwrap_or_default().to_owned();
    call(router, token, Method::POST, &format!("/api/v1/campaigns/{id}/plan"), "application/json", String::new())
        .await?;
    clock.pin(None);
    call(router, token, Method::POST, &format!("/api/v1/campaigns/{id}/publish"), "application/json", String::new())
        .await?;
    Ok(())
}

pub fn demo(args: DemoArgs) -> anyhow::Result<Outcome> {
    init_logs();
    // The demo's own database goes with it: the directory is removed when this returns; one
    // given with --database stays.
    let dir = tempfile::Builder::new()
        .prefix("forewarn-demo-")
        .tempdir()
        .context("cannot create the demo's directory in the temporary directory (TMPDIR)")?;
    let kept = args.database.is_some();
    let database = args.database.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("forewarn.db").display()));
    let served = runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {} (try --listen 127.0.0.1:0)", args.listen))?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let config = Settings {
            database: Some(database.clone()),
            listen: Some(addr.to_string()),
            base_url: Some(base_url.clone()),
            smtp: None,
            site_name: Some("Demo Hosting".to_owned()),
            ..Settings::default()
        }
        .resolve()
        .map_err(anyhow::Error::msg)?;
        let store = open_store(&database).await?;
        if store.inventory_version().await?.is_some() || !store.posts().await?.is_empty() {
            bail!(
                "the demo tells its story into an empty database, and `{}` has an inventory or posts already: give \
                 it a new one (such as `createdb forewarn_demo`), or leave out --database",
                forewarn_server::config::redact(&database)
            );
        }
        let clock = Arc::new(args.clock.clock());
        let now = forewarn_server::Clock::now(&*clock);
        let token = new_token(&store, now, "demo", "demo admin").await?;
        let password = crate::operator_cmd::demo_password(&random_bytes()?);
        let hash = {
            let password = password.clone();
            tokio::task::spawn_blocking(move || forewarn_server::auth::hash_password(&password))
                .await?
                .map_err(anyhow::Error::msg)?
        };
        store.set_operator(now, "demo", "admin", &hash).await?;
        let app = App::new(store, clock.clone(), config);
        let router = forewarn_server::router(app.clone());
        tell_story(&router, &clock, &token, now).await?;
        println!("forewarn demo: the sample platform, its OS update (moved to the weeks ahead) published,");
        println!("a switch replacement cancelled and announced again, and yesterday's incident, resolved.");
        println!("  status page   {base_url}/");
        println!("  Atom feed     {base_url}/feed.atom");
        println!("  calendar      {base_url}/calendar.ics");
        println!("  admin pages   {base_url}/admin");
        println!("  mail          {base_url}/admin/mail (captured: the demo sends no mail)");
        println!("  API           {base_url}/api/v1/openapi.json");
        let shown = forewarn_server::config::redact(&database);
        println!("  database      {shown}{}", if kept { " (kept)" } else { "" });
        println!("admin login: admin / {password}");
        println!("Stop with Ctrl-C. Admin API token (Authorization: Bearer ...):");
        println!("{token}");
        use std::io::Write;
        std::io::stdout().flush()?;
        serve_with_delivery(listener, app).await
    });
    drop(dir);
    served?;
    Ok(Outcome::Ok)
}
