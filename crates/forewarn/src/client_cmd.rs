//! forewarn as a client of a running service: `forewarn --server URL --token T campaign ...`,
//! `post ...`, `component ...`, `inventory import`. Human output by default, the service's JSON with `--json`;
//! the service's errors (every diagnostic with its line) are printed as they come, exit 1.
//!
//! The HTTP client is ureq: HTTP/1.1 over TCP (`http://`) or TLS (`https://`, rustls with
//! the system's trust store), with a connect and a whole-call timeout; query values and path
//! segments are percent-encoded, and an answer cut short is an error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::Outcome;

/// Where the service is and who is asking.
#[derive(Debug, Clone)]
pub struct Server {
    pub url: String,
    pub token: Option<String>,
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign from its file (TOML or JSON), checked against the latest inventory.
    Create { file: PathBuf },
    /// Every campaign, newest first.
    List,
    /// A campaign and its plan versions.
    Show { id: String },
    /// Plan the campaign against the latest inventory (a new draft version).
    Plan {
        id: String,
        /// Plan every target anew; by default a published campaign keeps the slots its
        /// contacts were told wherever they still fit.
        #[arg(long)]
        fresh: bool,
    },
    /// Publish a plan version (the latest by default) and its maintenance post. A newer plan
    /// of a published campaign is shown first (what moves, who is told) and published with
    /// --yes.
    Publish {
        id: String,
        /// The plan version to publish.
        #[arg(long)]
        plan: Option<i64>,
        /// Show whom publishing would tell and what, and publish nothing.
        #[arg(long, conflicts_with = "yes")]
        preview: bool,
        /// Publish a newer plan of a published campaign without showing it first.
        #[arg(long)]
        yes: bool,
    },
    /// Replace a draft campaign's file (its id stays); a published one is planned again instead.
    Edit { id: String, file: PathBuf },
    /// Pause a published campaign.
    Pause {
        id: String,
        /// Why: it goes into the campaign's post.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Resume a paused campaign.
    Resume {
        id: String,
        /// Why: it goes into the campaign's post.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Cancel a campaign: its posts say so and its contacts are told, with the reason.
    Cancel {
        id: String,
        /// Why: it goes into the campaign's post and the contacts' mail.
        #[arg(long)]
        reason: String,
        /// Do not ask for confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Every target's slot of the published plan (the unscheduled ones with their reason).
    Slots {
        id: String,
        /// Only this customer's targets (its id).
        #[arg(long)]
        customer: Option<String>,
        /// CSV instead of lines.
        #[arg(long)]
        csv: bool,
    },
    /// Move a target's slot of the published campaign to another start, or place a target the
    /// planner left without one: checked against every constraint, its contacts told.
    Move {
        id: String,
        /// The machine (or host) whose slot moves.
        target: String,
        /// The new start, RFC 3339 (e.g. 2027-03-03T22:00:00+01:00).
        #[arg(long)]
        start: String,
        /// Show whom the move would tell and what, and move nothing.
        #[arg(long)]
        preview: bool,
    },
}

#[derive(Debug, Args)]
pub struct PostText {
    /// The text (Markdown).
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// Read the text (Markdown) from this file.
    #[arg(long)]
    body_file: Option<PathBuf>,
}

impl PostText {
    fn text(&self) -> anyhow::Result<Option<String>> {
        match (&self.body, &self.body_file) {
            (Some(b), _) => Ok(Some(b.clone())),
            (None, Some(path)) => Ok(Some(crate::read_text(path, "text")?)),
            (None, None) => Ok(None),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PostCommand {
    /// Create a post on the status page.
    Create {
        /// maintenance, incident or notice.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        title: String,
        #[command(flatten)]
        text: PostText,
        /// The state to start in (the kind's first by default).
        #[arg(long)]
        state: Option<String>,
        /// RFC 3339, e.g. 2027-03-06T10:00:00+01:00.
        #[arg(long)]
        starts: Option<String>,
        #[arg(long)]
        ends: Option<String>,
        /// An affected component's id (repeat for several).
        #[arg(long = "component")]
        components: Vec<String>,
        /// The campaign the post belongs to (its dates are checked against it).
        #[arg(long)]
        campaign: Option<String>,
        /// An incident's impact on its components while it is open: none, minor (the
        /// default), major or critical (degraded, partial outage, major outage).
        #[arg(long)]
        impact: Option<String>,
        /// The id of the cancelled maintenance post this one replaces (both pages link).
        #[arg(long)]
        replaces: Option<i64>,
    },
    /// Append an update to a post's timeline.
    Update {
        id: i64,
        #[command(flatten)]
        text: PostText,
        /// The post's new state, if it changes.
        #[arg(long)]
        state: Option<String>,
    },
    /// Correct a post; the earlier text stays visible with the note.
    Correct {
        id: i64,
        /// Why: shown with the correction.
        #[arg(long)]
        note: String,
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        text: PostText,
        #[arg(long)]
        starts: Option<String>,
        #[arg(long)]
        ends: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Every component: its status as the status page shows it, and what it was set to by hand.
    List,
    /// Set a component's status by hand (the page shows the worse of it and what open
    /// incidents and maintenance in progress make of the component).
    Set {
        /// The component's id (`forewarn component list`).
        id: String,
        /// operational, maintenance, degraded, partial_outage or major_outage.
        status: String,
    },
}

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one call may take from connecting to the last byte of the answer: importing a
/// large inventory is checked and stored before the service answers.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);
/// The largest answer read (a slot table of a big campaign is a few MiB).
const ANSWER_LIMIT: u64 = 256 * 1024 * 1024;

/// What the service answered.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

/// The HTTP methods the CLI uses.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Patch,
}

/// A request to the service: a path under `--server`, its query (percent-encoded when sent)
/// and its body.
pub(crate) struct Call<'a> {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    content_type: &'a str,
    body: &'a [u8],
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Call<'a> {
        Call { method, path: path.into(), query: Vec::new(), content_type: "", body: b"" }
    }

    fn get(path: impl Into<String>) -> Call<'a> {
        Call::new(Method::Get, path)
    }

    fn query(mut self, key: &'static str, value: impl Into<String>) -> Call<'a> {
        self.query.push((key, value.into()));
        self
    }

    fn body(mut self, content_type: &'a str, body: &'a [u8]) -> Call<'a> {
        self.content_type = content_type;
        self.body = body;
        self
    }
}

/// Characters escaped in a path segment: everything but RFC 3986's unreserved ones.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A path segment (an id, a target) percent-encoded.
fn segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

/// The HTTP client: HTTP/1.1 over TCP (`http://`) or TLS (`https://`, rustls with the system's
/// trust store), with [`CONNECT_TIMEOUT`] and [`CALL_TIMEOUT`].
fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(CALL_TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("forewarn/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build()
        .new_agent()
}

impl Server {
    pub(crate) fn call(&self, call: Call<'_>) -> anyhow::Result<Answer> {
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            bail!("--server `{}`: expected an https:// or http:// URL", self.url)
        }
        let url = format!("{}{}", self.url.trim_end_matches('/'), call.path);
        let agent = agent();
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let failed = |e: ureq::Error| {
            let what = match e {
                ureq::Error::Timeout(_) => "no answer in time from",
                ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => "cannot reach",
                ureq::Error::Io(ref io) if io.kind() == std::io::ErrorKind::ConnectionRefused => "cannot reach",
                _ => "cannot talk to",
            };
            anyhow::Error::new(e).context(format!("{what} the service at {}", self.url))
        };
        macro_rules! send {
            ($builder:expr) => {{
                let mut b = $builder
                    .header("Accept", "application/json")
                    .query_pairs(call.query.iter().map(|(k, v)| (*k, v.as_str())));
                if let Some(auth) = &auth {
                    b = b.header("Authorization", auth);
                }
                b
            }};
        }
        let sent = match call.method {
            Method::Get => send!(agent.get(&url)).call(),
            method => {
                let mut b = match method {
                    Method::Put => send!(agent.put(&url)),
                    Method::Patch => send!(agent.patch(&url)),
                    _ => send!(agent.post(&url)),
                };
                if !call.content_type.is_empty() {
                    b = b.header("Content-Type", call.content_type);
                }
                b.send(call.body)
            }
        };
        let mut response = sent.map_err(failed)?;
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(ANSWER_LIMIT).read_to_vec().map_err(failed)?;
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
        };
        Ok(Answer { status, body })
    }

    pub(crate) fn send_json(&self, call: Call<'_>, body: &Value) -> anyhow::Result<Answer> {
        let text = body.to_string();
        self.call(call.body("application/json", text.as_bytes()))
    }

    /// Sends a file with its name (`?file=NAME`), which the service's diagnostics repeat.
    fn send_file(&self, call: Call<'_>, file: &Path, what: &str) -> anyhow::Result<Answer> {
        let text = crate::read_text(file, what)?;
        let ext = file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let json = match ext.as_deref() {
            Some("json") => true,
            Some("toml") => false,
            _ => text.trim_start().starts_with('{'),
        };
        let ctype = if json { "application/json" } else { "application/toml" };
        let call = match file.file_name().and_then(|n| n.to_str()) {
            Some(name) => call.query("file", name),
            None => call,
        };
        self.call(call.body(ctype, text.as_bytes()))
    }

    /// Prints the answer: JSON as it came with `--json`, else `human`'s words; errors always
    /// with every diagnostic.
    fn report(&self, answer: Answer, human: impl FnOnce(&Value) -> String) -> anyhow::Result<Outcome> {
        if !(200..300).contains(&answer.status) {
            if self.json {
                println!("{}", serde_json::to_string_pretty(&answer.body)?);
            } else {
                eprintln!("{}", error_text(answer.status, &answer.body));
            }
            return Ok(Outcome::Findings);
        }
        if self.json {
            println!("{}", serde_json::to_string_pretty(&answer.body)?);
        } else {
            println!("{}", human(&answer.body));
        }
        Ok(Outcome::Ok)
    }
}

pub(crate) fn error_text(status: u16, body: &Value) -> String {
    let message = body["message"].as_str().map_or_else(|| body.to_string(), str::to_owned);
    let mut out = format!("forewarn: the service answered {status}: {message}");
    for e in body["errors"].as_array().into_iter().flatten() {
        if let Some(text) = e["text"].as_str() {
            out.push('\n');
            out.push_str(text);
        }
    }
    out
}

fn plan_words(v: &Value) -> String {
    let s = &v["summary"];
    let kept = match s["kept"].as_u64() {
        Some(n) if n > 0 => format!(" ({n} kept as published)"),
        _ => String::new(),
    };
    format!(
        "plan version {} of `{}`: {} scheduled{kept}, {} unscheduled, completion {}",
        v["version"],
        v["campaign"].as_str().unwrap_or("?"),
        s["scheduled"],
        s["unscheduled"],
        s["completion"].as_str().unwrap_or("-")
    )
}

fn campaign_words(v: &Value) -> String {
    format!(
        "campaign `{}` ({}): {}",
        v["id"].as_str().unwrap_or("?"),
        v["state"].as_str().unwrap_or("?"),
        v["title"].as_str().unwrap_or("")
    )
}

pub fn campaign(server: &Server, cmd: CampaignCommand) -> anyhow::Result<Outcome> {
    match cmd {
        CampaignCommand::Create { file } => server
            .report(server.send_file(Call::new(Method::Post, "/api/v1/campaigns"), &file, "campaign")?, |v| {
                format!("created {}", campaign_words(v))
            }),
        CampaignCommand::Edit { id, file } => server.report(
            server.send_file(
                Call::new(Method::Put, format!("/api/v1/campaigns/{}", segment(&id))),
                &file,
                "campaign",
            )?,
            |v| format!("edited {}; plan it again before publishing", campaign_words(v)),
        ),
        CampaignCommand::List => server.report(server.call(Call::get("/api/v1/campaigns"))?, |v| {
            let lines: Vec<String> = v.as_array().into_iter().flatten().map(campaign_words).collect();
            if lines.is_empty() { "no campaigns".to_owned() } else { lines.join("\n") }
        }),
        CampaignCommand::Show { id } => {
            server.report(server.call(Call::get(format!("/api/v1/campaigns/{}", segment(&id))))?, |v| {
                let mut out = campaign_words(v);
                for p in v["plans"].as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "\n  plan {}: {} scheduled, {} unscheduled",
                        p["version"], p["summary"]["scheduled"], p["summary"]["unscheduled"]
                    ));
                }
                out
            })
        }
        CampaignCommand::Plan { id, fresh } => {
            let call = Call::new(Method::Post, format!("/api/v1/campaigns/{}/plan", segment(&id)));
            let call = if fresh { call.query("fresh", "true") } else { call };
            server.report(server.call(call)?, plan_words)
        }
        CampaignCommand::Publish { id, plan, preview, yes } => {
            let body = match plan {
                Some(v) => json!({ "version": v }),
                None => json!({}),
            };
            let path = format!("/api/v1/campaigns/{}/publish", segment(&id));
            if preview {
                let call = Call::new(Method::Post, path).query("preview", "true");
                return server.report(server.send_json(call, &body)?, preview_words);
            }
            if !yes && let Some(shown) = newer_plan_shown(server, &id, plan, &body)? {
                println!("{shown}");
                eprintln!("nothing published yet: run again with --yes to publish it");
                return Ok(Outcome::Findings);
            }
            server.report(server.send_json(Call::new(Method::Post, path), &body)?, |v| {
                format!("published {}; its post is /posts/{}", campaign_words(v), v["post"])
            })
        }
        CampaignCommand::Pause { id, reason } => state(server, &id, "pause", reason),
        CampaignCommand::Resume { id, reason } => state(server, &id, "resume", reason),
        CampaignCommand::Cancel { id, reason, yes } => {
            if !yes {
                confirm_cancel(&id)?;
            }
            state(server, &id, "cancel", Some(reason))
        }
        CampaignCommand::Slots { id, customer, csv } => slots(server, &id, customer.as_deref(), csv),
        CampaignCommand::Move { id, target, start, preview } => {
            let call =
                Call::new(Method::Post, format!("/api/v1/campaigns/{}/slots/{}", segment(&id), segment(&target)));
            let call = if preview { call.query("preview", "true") } else { call };
            let answer = server.send_json(call, &json!({ "start": start }))?;
            if preview {
                return server.report(answer, preview_words);
            }
            server.report(answer, |v| {
                format!(
                    "`{target}` of `{id}` now {} to {} (SEQUENCE {}, plan version {}); its contacts are told",
                    v["start"].as_str().unwrap_or("?"),
                    v["end"].as_str().unwrap_or("?"),
                    v["sequence"],
                    v["plan_version"]
                )
            })
        }
    }
}

/// The messages a publication would send, a line each.
fn preview_words(v: &Value) -> String {
    let messages = v["messages"].as_array().cloned().unwrap_or_default();
    let mut out = format!("{} message{} would go out:", messages.len(), if messages.len() == 1 { "" } else { "s" });
    for m in &messages {
        out.push_str(&format!(
            "\n  {} to {}: {}",
            m["channel"].as_str().unwrap_or("?"),
            m["recipient"].as_str().unwrap_or("?"),
            m["subject"].as_str().unwrap_or("")
        ));
    }
    out
}

/// For a published (or paused) campaign with a plan version newer than the published one:
/// what publishing it changes and whom it tells, in words; `None` otherwise (the service
/// decides).
fn newer_plan_shown(server: &Server, id: &str, plan: Option<i64>, body: &Value) -> anyhow::Result<Option<String>> {
    let c = server.call(Call::get(format!("/api/v1/campaigns/{}", segment(id))))?;
    let Some(published) = c.body["published_plan"].as_i64().filter(|_| (200..300).contains(&c.status)) else {
        return Ok(None);
    };
    let latest = c.body["plans"].as_array().into_iter().flatten().filter_map(|p| p["version"].as_i64()).max();
    let Some(to) = plan.or(latest).filter(|&v| v > published) else { return Ok(None) };
    let diff = server.call(
        Call::get(format!("/api/v1/campaigns/{}/plan/diff", segment(id)))
            .query("from", published.to_string())
            .query("to", to.to_string()),
    )?;
    let preview = server.send_json(
        Call::new(Method::Post, format!("/api/v1/campaigns/{}/publish", segment(id))).query("preview", "true"),
        body,
    )?;
    if !(200..300).contains(&diff.status) || !(200..300).contains(&preview.status) {
        // The service says why when it is asked to publish.
        return Ok(None);
    }
    let list = |key: &str| diff.body[key].as_array().cloned().unwrap_or_default();
    let mut out = format!("plan version {to} of `{id}` would replace the published version {published}:");
    let moved = list("moved");
    out.push_str(&format!("\n{} moved", moved.len()));
    for m in &moved {
        out.push_str(&format!(
            "\n  {}: {} -> {}",
            m["target"].as_str().unwrap_or("?"),
            m["from"]["start"].as_str().unwrap_or("?"),
            m["to"]["start"].as_str().unwrap_or("?")
        ));
    }
    for (key, words) in [("no_longer_scheduled", "no longer scheduled"), ("newly_scheduled", "newly scheduled")] {
        let items = list(key);
        out.push_str(&format!("\n{} {words}", items.len()));
        for m in &items {
            out.push_str(&format!(
                "\n  {}: {}",
                m["target"].as_str().unwrap_or("?"),
                m["start"].as_str().unwrap_or("?")
            ));
        }
    }
    out.push('\n');
    out.push_str(&preview_words(&preview.body));
    Ok(Some(out))
}

fn state(server: &Server, id: &str, verb: &str, reason: Option<String>) -> anyhow::Result<Outcome> {
    let body = match reason {
        Some(r) => json!({ "reason": r }),
        None => json!({}),
    };
    server.report(
        server.send_json(Call::new(Method::Post, format!("/api/v1/campaigns/{}/{verb}", segment(id))), &body)?,
        campaign_words,
    )
}

/// Asks on the terminal before a cancellation; without a terminal, refuses (`--yes` skips).
fn confirm_cancel(id: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!("not cancelled: there is no terminal to confirm on; add --yes to cancel campaign `{id}` without asking");
    }
    eprint!(
        "Cancel campaign `{id}`? Its contacts are told at once, and this cannot be undone.\nType the campaign's id to \
         confirm: "
    );
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("cannot read the confirmation")?;
    if line.trim() != id {
        bail!("not cancelled: `{}` is not `{id}`", line.trim());
    }
    Ok(())
}

fn slots(server: &Server, id: &str, customer: Option<&str>, csv: bool) -> anyhow::Result<Outcome> {
    let mut call =
        Call::get(format!("/api/v1/campaigns/{}/slots", segment(id))).query("format", if csv { "csv" } else { "json" });
    if let Some(c) = customer {
        call = call.query("customer", c);
    }
    let answer = server.call(call)?;
    if csv && (200..300).contains(&answer.status) && !server.json {
        print!("{}", answer.body.as_str().unwrap_or_default());
        return Ok(Outcome::Ok);
    }
    server.report(answer, |v| {
        let rows = v["table"].as_array().cloned().unwrap_or_default();
        if v["plan_version"].is_null() {
            return format!("campaign `{id}` is not published: no slots yet");
        }
        let mut out = format!("plan version {} of `{id}`: {} targets", v["plan_version"], rows.len());
        for r in &rows {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            let when = match (r["start"].as_str(), r["end"].as_str()) {
                (Some(a), Some(b)) => format!("{a} to {b}"),
                _ => format!("no slot: {}", s("reason")),
            };
            out.push_str(&format!("\n{}  {}  {}  {when}", s("target"), s("customer"), s("state")));
        }
        out
    })
}

fn post_words(v: &Value) -> String {
    format!(
        "post {} ({} {}, revision {}): {}",
        v["id"],
        v["kind"].as_str().unwrap_or("?"),
        v["state"].as_str().unwrap_or("?"),
        v["revision"],
        v["title"].as_str().unwrap_or("")
    )
}

pub fn post(server: &Server, cmd: PostCommand) -> anyhow::Result<Outcome> {
    match cmd {
        PostCommand::Create { kind, title, text, state, starts, ends, components, campaign, impact, replaces } => {
            let mut body = json!({
                "kind": kind, "title": title, "body": text.text()?.unwrap_or_default(), "state": state,
                "starts": starts, "ends": ends, "components": components, "campaign": campaign,
            });
            if let Some(impact) = impact {
                body["impact"] = Value::String(impact);
            }
            if let Some(replaces) = replaces {
                body["replaces"] = json!(replaces);
            }
            server.report(server.send_json(Call::new(Method::Post, "/api/v1/posts"), &body)?, |v| {
                format!("created {}", post_words(v))
            })
        }
        PostCommand::Update { id, text, state } => {
            let Some(body) = text.text()? else { bail!("give the update's text with --body or --body-file") };
            let body = json!({ "body": body, "state": state });
            server.report(
                server.send_json(Call::new(Method::Post, format!("/api/v1/posts/{id}/updates")), &body)?,
                |v| {
                    format!(
                        "update {} added to post {id}{}",
                        v["id"],
                        v["state"].as_str().map(|s| format!(", now {s}")).unwrap_or_default()
                    )
                },
            )
        }
        PostCommand::Correct { id, note, title, text, starts, ends } => {
            let mut body = json!({ "note": note });
            for (k, v) in [("title", title), ("body", text.text()?), ("starts", starts), ("ends", ends)] {
                if let Some(v) = v {
                    body[k] = Value::String(v);
                }
            }
            server.report(server.send_json(Call::new(Method::Patch, format!("/api/v1/posts/{id}")), &body)?, |v| {
                format!("corrected {}", post_words(v))
            })
        }
    }
}

fn component_words(v: &Value) -> String {
    let mut out = format!(
        "{} ({}): {}",
        v["id"].as_str().unwrap_or("?"),
        v["name"].as_str().unwrap_or(""),
        v["status"].as_str().unwrap_or("?")
    );
    let (manual, derived) = (v["manual_status"].as_str(), v["derived_status"].as_str());
    if manual.is_some_and(|m| m != "operational") || derived.is_some_and(|d| d != "operational") {
        out.push_str(&format!(" (set by hand: {}, from posts: {})", manual.unwrap_or("?"), derived.unwrap_or("?")));
    }
    out
}

pub fn component(server: &Server, cmd: ComponentCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ComponentCommand::List => server.report(server.call(Call::get("/api/v1/components"))?, |v| {
            let lines: Vec<String> = v.as_array().into_iter().flatten().map(component_words).collect();
            if lines.is_empty() { "no components: they come with the inventory".to_owned() } else { lines.join("\n") }
        }),
        ComponentCommand::Set { id, status } => {
            let body = json!({ "status": status });
            server.report(
                server.send_json(Call::new(Method::Patch, format!("/api/v1/components/{}", segment(&id))), &body)?,
                |v| format!("set {}", component_words(v)),
            )
        }
    }
}

pub fn import_inventory(server: &Server, file: &Path) -> anyhow::Result<Outcome> {
    server.report(server.send_file(Call::new(Method::Post, "/api/v1/inventory"), file, "inventory")?, |v| {
        let s = &v["summary"];
        format!(
            "inventory version {} imported: {} customers, {} projects, {} hosts, {} machines",
            v["version"], s["customers"], s["projects"], s["hosts"], s["machines"]
        )
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;

    use super::*;

    /// A one-connection HTTP server on loopback: reads a request head, writes `answer` as it
    /// is, closes, and gives back the head it read.
    fn answer_once(answer: &'static [u8]) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap() == 1 {
                head.push(byte[0]);
            }
            conn.write_all(answer).unwrap();
            String::from_utf8(head).unwrap()
        });
        (url, server)
    }

    fn server(url: &str) -> Server {
        Server { url: url.to_owned(), token: Some("tok".into()), json: false }
    }

    #[test]
    fn errors_show_every_diagnostic() {
        let body = json!({
            "error": "invalid", "message": "the campaign has 2 problems",
            "errors": [{ "text": "campaign.toml:3: ends: before starts" }, { "text": "campaign.toml:9: limits.per_hots: unknown limit" }]
        });
        let text = error_text(422, &body);
        assert!(text.starts_with("forewarn: the service answered 422: the campaign has 2 problems"), "{text}");
        assert!(text.contains("\ncampaign.toml:3: ends: before starts\ncampaign.toml:9:"), "{text}");
    }

    #[test]
    fn answers_plain_and_chunked_are_read_whole() {
        let (url, head) = answer_once(
            b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 8\r\n\r\n{\"id\":1}",
        );
        let answer = server(&url).call(Call::get("/api/v1/posts")).unwrap();
        assert_eq!((answer.status, answer.body), (201, json!({ "id": 1 })));
        let head = head.join().unwrap();
        assert!(head.starts_with("GET /api/v1/posts HTTP/1.1\r\n"), "{head}");
        assert!(head.to_ascii_lowercase().contains("\r\nauthorization: bearer tok\r\n"), "{head}");
        let (url, _) = answer_once(
            b"HTTP/1.1 422 Unprocessable Entity\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        );
        let answer = server(&url).call(Call::get("/api/v1/posts")).unwrap();
        assert_eq!((answer.status, answer.body), (422, json!({ "a": 1 })));
    }

    /// The old client took whatever arrived before the connection closed as the answer.
    #[test]
    fn an_answer_cut_short_is_an_error() {
        let (url, _) = answer_once(b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n{\"id\":");
        let err = server(&url).call(Call::get("/api/v1/posts")).err().expect("a truncated answer is no answer");
        assert!(format!("{err:#}").contains(&format!("the service at {url}")), "{err:#}");
        let (url, _) = answer_once(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n");
        assert!(server(&url).call(Call::get("/api/v1/posts")).is_err(), "a chunked answer without its last chunk");
    }

    /// Query values and path segments reach the service as they were typed.
    #[test]
    fn values_are_percent_encoded() {
        let (url, head) = answer_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
        let call = Call::get(format!("/api/v1/campaigns/{}/slots", segment("a/b?c")))
            .query("format", "json")
            .query("customer", "Smith & Sons #2+x=1");
        server(&url).call(call).unwrap();
        let head = head.join().unwrap();
        let target = head.split(' ').nth(1).unwrap();
        let (path, query) = target.split_once('?').unwrap();
        assert_eq!(path, "/api/v1/campaigns/a%2Fb%3Fc/slots", "{head}");
        let decode = |v: &str| percent_encoding::percent_decode_str(v).decode_utf8().unwrap().into_owned();
        let pairs: Vec<(String, String)> = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (decode(k), decode(v))
            })
            .collect();
        let expected = [("format", "json"), ("customer", "Smith & Sons #2+x=1")];
        assert_eq!(pairs, expected.map(|(k, v)| (k.to_owned(), v.to_owned())), "{head}");
    }

    #[test]
    fn https_speaks_tls_and_other_schemes_are_refused() {
        let err = server("ftp://status.example.net").call(Call::get("/api/v1/posts")).err().unwrap().to_string();
        assert!(err.contains("expected an https:// or http:// URL"), "{err}");
        // A plain HTTP server behind an https:// URL: the client insists on a TLS handshake.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server_thread = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut hello = [0u8; 5];
            conn.read_exact(&mut hello).unwrap();
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap();
            hello
        });
        let url = format!("https://127.0.0.1:{port}");
        let err = server(&url).call(Call::get("/api/v1/posts")).err().expect("no TLS, no answer");
        assert_eq!(server_thread.join().unwrap()[0], 0x16, "the first byte sent is a TLS handshake record");
        assert!(format!("{err:#}").contains(&url), "{err:#}");
    }
}
