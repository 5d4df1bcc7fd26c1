//! `forewarn agent`: runs on a machine with its machine's token. It reports the machine
//! (`POST /agent/v1/enrol`: its boot, the id FleetLock knows it by), then asks for due work
//! (`POST /agent/v1/work`) every poll interval with jitter. Work is a lease on the machine's
//! slot: the agent renews it by heartbeats while it runs the enter hook, each activity's
//! command from its own configuration (`/bin/sh -c`; the coordinator sends kinds, never
//! command lines) and the leave hook, then reports the outcome with the tail of the output
//! and the measured times. Exit statuses mean what `forewarn_agent::exit` says. The run in
//! progress is written to the state directory first: an agent killed in the middle finds it
//! there when it starts again, and reports it interrupted unless its activities are
//! idempotent (then it runs them again).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use forewarn_agent::config::{AgentConfig, parse_config};
use forewarn_agent::exit::{self, Next};
use serde_json::{Value, json};

use crate::Outcome;
use crate::client_cmd::{Call, Method, Server, error_text};

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The agent's configuration (TOML): `[activities]` maps each activity kind to the command
    /// line that does it, `[hooks] enter/leave`, `idempotent = [...]`. Without one, every
    /// activity fails with that reason.
    #[arg(long, env = "FOREWARN_AGENT_CONFIG")]
    config: Option<PathBuf>,
    /// Where the agent keeps the run in progress across restarts and reboots.
    #[arg(long, default_value = "/var/lib/forewarn-agent", env = "FOREWARN_AGENT_STATE_DIR")]
    state_dir: PathBuf,
    /// How often to ask for work when nothing is due (with up to a tenth of jitter); the
    /// coordinator's advice when not given.
    #[arg(long, value_name = "DURATION")]
    poll_interval: Option<forewarn_model::Duration>,
    /// Ask once, do what is due, report, and exit.
    #[arg(long)]
    once: bool,
    /// The file with the kernel's boot id.
    #[arg(long, default_value = "/proc/sys/kernel/random/boot_id", hide = true)]
    boot_id_file: PathBuf,
    /// The file with the machine id (the FleetLock id is derived from it).
    #[arg(long, default_value = "/etc/machine-id", hide = true)]
    machine_id_file: PathBuf,
}

/// How long a command waits after exiting 75 (try again later) before it runs again.
const TRY_AGAIN_AFTER: Duration = Duration::from_secs(5);
/// The most output reported: its tail.
const MAX_OUTPUT: usize = 16 * 1024;

pub fn run(server: &Server, args: AgentArgs) -> anyhow::Result<Outcome> {
    if server.token.is_none() {
        bail!("give the machine's token with --token (`forewarn token create --machine ID`)");
    }
    let config = match &args.config {
        Some(path) => {
            let text = crate::read_text(path, "agent configuration")?;
            parse_config(&path.display().to_string(), &text).map_err(|d| anyhow::anyhow!("{d}"))?
        }
        None => AgentConfig { file: "no configuration (--config)".to_owned(), ..AgentConfig::default() },
    };
    std::fs::create_dir_all(&args.state_dir)
        .with_context(|| format!("cannot create the state directory {}", args.state_dir.display()))?;
    let boot = std::fs::read_to_string(&args.boot_id_file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.boot_id_file.display()))
        .and_then(|t| forewarn_agent::identity::boot_id(&t).map_err(anyhow::Error::msg))?;
    let fleetlock_id = std::fs::read_to_string(&args.machine_id_file)
        .ok()
        .and_then(|t| forewarn_agent::identity::fleetlock_id(&t).ok());
    let enrolled = ask(
        server,
        "/agent/v1/enrol",
        &json!({ "boot_id": boot, "fleetlock_id": fleetlock_id, "version": concat!("forewarn ", env!("CARGO_PKG_VERSION")) }),
    )?;
    eprintln!(
        "forewarn agent: machine `{}`, known to FleetLock as `{}`",
        enrolled["machine"].as_str().unwrap_or("?"),
        enrolled["fleetlock_id"].as_str().unwrap_or("?")
    );
    for w in enrolled["warnings"].as_array().into_iter().flatten() {
        eprintln!("forewarn agent: warning: {}", w.as_str().unwrap_or_default());
    }
    loop {
        let answer = match ask(server, "/agent/v1/work", &json!({})) {
            Ok(a) => a,
            Err(e) if !args.once => {
                eprintln!("forewarn agent: {e:#}; asking again later");
                std::thread::sleep(pause(&args, 60));
                continue;
            }
            Err(e) => return Err(e),
        };
        if !answer["work"].is_null() {
            work(server, &config, &args.state_dir, &answer["work"])?;
        }
        if args.once {
            return Ok(Outcome::Ok);
        }
        if answer["work"].is_null() {
            let advised = answer["poll_seconds"].as_u64().unwrap_or(60);
            std::thread::sleep(pause(&args, advised));
        }
    }
}

/// The wait before the next ask: the interval given (or advised), plus up to a tenth of it.
fn pause(args: &AgentArgs, advised: u64) -> Duration {
    let base = args.poll_interval.map_or(advised as i64, |d| d.seconds()).max(1) as u64;
    let mut random = [0u8; 2];
    let _ = getrandom::fill(&mut random);
    let jitter = u64::from(u16::from_le_bytes(random)) % (base * 100 + 1);
    Duration::from_millis(base * 1000 + jitter)
}

/// A POST with a JSON body; the answer's JSON, or the service's error in words.
fn ask(server: &Server, path: &str, body: &Value) -> anyhow::Result<Value> {
    let answer = server.send_json(Call::new(Method::Post, path), body)?;
    if answer.status != 200 {
        bail!("{path}: {}", error_text(answer.status, &answer.body));
    }
    Ok(answer.body)
}

/// How a run ended on the machine.
struct Ended {
    outcome: &'static str,
    exit_status: Option<i32>,
    output: String,
}

/// Does the work of one run and reports it.
fn work(server: &Server, config: &AgentConfig, state_dir: &Path, w: &Value) -> anyhow::Result<()> {
    let run = w["run"].as_i64().context("the work has no run id")?;
    let kinds: Vec<String> = w["activities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["kind"].as_str())
        .map(str::to_owned)
        .collect();
    let slot_ends: Option<jiff::Timestamp> = w["slot_ends"].as_str().and_then(|t| t.parse().ok());
    let heartbeat = Duration::from_secs(w["heartbeat_seconds"].as_u64().unwrap_or(20).max(1));
    let state = state_dir.join(format!("run-{run}.json"));
    let started = crate::clock::now();
    eprintln!("forewarn agent: run {run} of `{}`: {}", w["campaign"].as_str().unwrap_or("?"), kinds.join(", "));

    // Found in progress after a restart: run again only what may run again.
    let ended = if w["resumed"] == true && state.exists() {
        let was = std::fs::read_to_string(&state).unwrap_or_default();
        let running: Value = serde_json::from_str(&was).unwrap_or(Value::Null);
        let kind = running["activity"].as_str().unwrap_or("?").to_owned();
        if kinds.iter().all(|k| config.is_idempotent(k)) {
            None
        } else {
            Some(Ended {
                outcome: "interrupted",
                exit_status: None,
                output: format!(
                    "the agent was stopped while `{kind}` ran; it is not run again (not listed as idempotent in {})",
                    config.file
                ),
            })
        }
    } else {
        None
    };

    let stop = Arc::new(AtomicBool::new(false));
    let beats = {
        let (server, stop) =
            (Server { url: server.url.clone(), token: server.token.clone(), json: false }, stop.clone());
        std::thread::spawn(move || {
            let mut waited = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                waited += Duration::from_millis(200);
                if waited < heartbeat {
                    continue;
                }
                waited = Duration::ZERO;
                if let Err(e) = ask(&server, &format!("/agent/v1/runs/{run}/heartbeat"), &json!({})) {
                    eprintln!("forewarn agent: heartbeat of run {run}: {e:#}");
                }
            }
        })
    };
    let ended = match ended {
        Some(e) => e,
        None => {
            let note = |activity: &str| {
                let _ = std::fs::write(&state, json!({ "run": run, "activity": activity }).to_string());
            };
            do_slot(config, &kinds, slot_ends, note)
        }
    };
    stop.store(true, Ordering::Relaxed);
    let _ = beats.join();
    let finished = crate::clock::now();
    let report = json!({
        "outcome": ended.outcome,
        "exit_status": ended.exit_status,
        "output": exit::tail(&ended.output, MAX_OUTPUT),
        "started": started.to_string(),
        "finished": finished.to_string(),
    });
    let answer = server.send_json(Call::new(Method::Post, format!("/agent/v1/runs/{run}/result")), &report)?;
    match answer.status {
        200 => eprintln!("forewarn agent: run {run} reported {}", ended.outcome),
        409 => eprintln!("forewarn agent: run {run}: the result was refused: {}", error_text(409, &answer.body)),
        s => bail!("reporting run {run}: {}", error_text(s, &answer.body)),
    }
    let _ = std::fs::remove_file(&state);
    Ok(())
}

/// The enter hook, the activities in order and the leave hook.
fn do_slot(config: &AgentConfig, kinds: &[String], slot_ends: Option<jiff::Timestamp>, note: impl Fn(&str)) -> Ended {
    let mut output = String::new();
    if let Some(enter) = &config.enter {
        note("enter hook");
        let code = shell(enter, &mut output);
        match exit::next(code) {
            Next::Continue => {}
            Next::Postpone => return Ended { outcome: "postponed", exit_status: code, output },
            _ => return Ended { outcome: "failed", exit_status: code, output },
        }
    }
    let mut ended = Ended { outcome: "done", exit_status: None, output: String::new() };
    'activities: for kind in kinds {
        note(kind);
        let command = match config.command(kind) {
            Ok(c) => c,
            Err(why) => {
                output.push_str(&why);
                output.push('\n');
                ended = Ended { outcome: "failed", exit_status: None, output: String::new() };
                break;
            }
        };
        loop {
            let code = shell(command, &mut output);
            ended.exit_status = code;
            match exit::next(code) {
                Next::Continue => continue 'activities,
                Next::TryAgain if slot_ends.is_none_or(|e| crate::clock::now() + TRY_AGAIN_AFTER < e) => {
                    std::thread::sleep(TRY_AGAIN_AFTER);
                }
                Next::TryAgain => {
                    output.push_str(&format!("`{kind}` still asked to try again later when the slot ended\n"));
                    ended.outcome = "failed";
                    break 'activities;
                }
                Next::Postpone => {
                    ended.outcome = "postponed";
                    break 'activities;
                }
                Next::Fail => {
                    ended.outcome = "failed";
                    break 'activities;
                }
            }
        }
    }
    if let Some(leave) = &config.leave {
        note("leave hook");
        shell(leave, &mut output);
    }
    ended.output = output;
    ended
}

/// Runs `command` with `/bin/sh -c`, appending what it wrote (standard output, then
/// standard error) to `output`; its exit status (`None` if a signal ended it or it could not
/// start).
fn shell(command: &str, output: &mut String) -> Option<i32> {
    match Command::new("/bin/sh").arg("-c").arg(command).stdin(std::process::Stdio::null()).output() {
        Ok(out) => {
            output.push_str(&String::from_utf8_lossy(&out.stdout));
            output.push_str(&String::from_utf8_lossy(&out.stderr));
            out.status.code()
        }
        Err(e) => {
            output.push_str(&format!("cannot run /bin/sh -c {command}: {e}\n"));
            None
        }
    }
}
