//! The `forewarn` command: subcommands, reading and writing files, wiring.
//! The only crate that reads the clock or touches the file system.

mod agent_cmd;
mod client_cmd;
mod clock;
mod fleet_cmd;
mod inventory_cmd;
mod operator_cmd;
mod plan_cmd;
mod serve_cmd;
mod tzdir;
mod windows_cmd;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Plan, announce and drive planned maintenance on a hosting platform.
#[derive(Debug, Parser)]
#[command(name = "forewarn", version, about, propagate_version = true)]
struct Cli {
    /// The service to talk to, for `campaign`, `post`, `component` and `inventory import` (http://HOST:PORT).
    #[arg(long, global = true, env = "FOREWARN_SERVER")]
    server: Option<String>,
    /// An API token (`forewarn token create`).
    #[arg(long, global = true, env = "FOREWARN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print the service's answers as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with inventory files (customers, contacts, projects, hosts, devices, machines).
    #[command(subcommand)]
    Inventory(inventory_cmd::InventoryCommand),
    /// Expand a maintenance window into its occurrences, one `START END` a line.
    Windows(windows_cmd::WindowsArgs),
    /// Synthetic fleets for benchmarks and tests.
    #[command(subcommand)]
    Fleet(fleet_cmd::FleetCommand),
    /// Plan a campaign: one slot per target inside its window, or the reason there is none.
    Plan(plan_cmd::PlanArgs),
    /// Check a plan against every constraint; one violation a line, exit 1 if any.
    Check(plan_cmd::CheckArgs),
    /// Run the coordinator service: API, status page, feeds, metrics.
    Serve(serve_cmd::ServeArgs),
    /// Start the service on a fresh database with the sample platform's story, and print its URLs.
    Demo(serve_cmd::DemoArgs),
    /// API tokens for the admin API.
    #[command(subcommand)]
    Token(serve_cmd::TokenCommand),
    /// Operators, who log in to the admin pages.
    #[command(subcommand)]
    Operator(operator_cmd::OperatorCommand),
    /// The service's configuration file.
    #[command(subcommand)]
    Config(serve_cmd::ConfigCommand),
    /// Campaigns on the service (with --server and --token): create, edit, plan, publish, pause, resume, cancel, slots.
    #[command(subcommand)]
    Campaign(client_cmd::CampaignCommand),
    /// Posts on the service's status page (with --server and --token): create, update, correct.
    #[command(subcommand)]
    Post(client_cmd::PostCommand),
    /// Components on the service's status page (with --server and --token): list, set a status.
    #[command(subcommand)]
    Component(client_cmd::ComponentCommand),
    /// Run on a machine with its token (--server and --token): ask for due work, run each
    /// activity's command from the agent's configuration, report.
    Agent(agent_cmd::AgentArgs),
}

/// What a subcommand concluded: success, or a finding the user must act on (exit 1).
enum Outcome {
    Ok,
    Findings,
}

fn main() -> ExitCode {
    // `--version` names the time zone database too: `forewarn 0.1.0 (tzdb 2026f, bundled)`.
    let version = format!("{} ({})", env!("CARGO_PKG_VERSION"), tzdir::version_note());
    let matches = Cli::command().version(&*Box::leak(version.into_boxed_str())).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Every command that reads windows resolves zones in FOREWARN_TZDIR when it is set
    // (`serve` reads it with its configuration).
    if matches!(
        cli.command,
        Command::Inventory(inventory_cmd::InventoryCommand::Check { .. })
            | Command::Windows(_)
            | Command::Plan(_)
            | Command::Check(_)
            | Command::Demo(_)
    ) && let Err(e) = tzdir::install_from_env()
    {
        eprintln!("forewarn: {e:#}");
        return ExitCode::from(1);
    }
    let server = cli.server.map(|url| client_cmd::Server { url, token: cli.token, json: cli.json });
    let needs_server = || {
        server
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("this talks to the service: give --server URL (and --token TOKEN)"))
    };
    let result = match cli.command {
        Command::Inventory(inventory_cmd::InventoryCommand::Import { file }) => {
            needs_server().and_then(|s| client_cmd::import_inventory(s, &file))
        }
        Command::Inventory(c) => inventory_cmd::run(c),
        Command::Windows(a) => windows_cmd::run(a),
        Command::Fleet(c) => fleet_cmd::run(c),
        Command::Plan(a) => plan_cmd::plan(a),
        Command::Check(a) => plan_cmd::check(a),
        Command::Serve(a) => serve_cmd::serve(a),
        Command::Demo(a) => serve_cmd::demo(a),
        Command::Token(c) => serve_cmd::token(c),
        Command::Operator(c) => operator_cmd::run(c),
        Command::Config(c) => serve_cmd::config(c),
        Command::Campaign(c) => needs_server().and_then(|s| client_cmd::campaign(s, c)),
        Command::Post(c) => needs_server().and_then(|s| client_cmd::post(s, c)),
        Command::Component(c) => needs_server().and_then(|s| client_cmd::component(s, c)),
        Command::Agent(a) => needs_server().and_then(|s| agent_cmd::run(s, a)),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            eprintln!("forewarn: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Reads a text file, naming it in the error. A large file is read in two halves at once:
/// copying a million-machine fleet out of the page cache is a tenth of planning it.
fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::FileExt;
    let context = || format!("cannot read {what} `{}`", path.display());
    let mut file = std::fs::File::open(path).with_context(context)?;
    let len = usize::try_from(file.metadata().with_context(context)?.len()).unwrap_or(usize::MAX);
    if len < 16 << 20 {
        let mut text = String::with_capacity(len);
        file.read_to_string(&mut text).with_context(context)?;
        return Ok(text);
    }
    let mut buf = vec![0u8; len];
    let half = len / 2;
    let (first, second) = buf.split_at_mut(half);
    std::thread::scope(|s| {
        let other = s.spawn(|| file.read_exact_at(second, half as u64));
        let mine = file.read_exact_at(first, 0);
        other.join().unwrap_or_else(|_| Err(std::io::Error::other("the reading thread panicked"))).and(mine)
    })
    .with_context(context)?;
    // Whatever was appended meanwhile.
    file.seek(SeekFrom::Start(len as u64)).with_context(context)?;
    file.read_to_end(&mut buf).with_context(context)?;
    String::from_utf8(buf)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 text (byte {} is not)", context(), e.utf8_error().valid_up_to()))
}

#[cfg(test)]
mod tests {
    use super::read_text;

    #[test]
    fn the_command_tree_is_consistent() {
        // clap checks names, flags and conflicts of every subcommand only when it is built.
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn large_files_read_in_halves_come_back_whole() {
        let dir = tempfile::Builder::new().prefix("forewarn-read-").tempdir().unwrap();
        let path = dir.path().join("big.json");
        // Over the 16 MiB at which reading splits, with a multi-byte character across the middle.
        let mut text = "ä".repeat(9 << 20);
        text.push('x');
        std::fs::write(&path, &text).unwrap();
        assert_eq!(read_text(&path, "inventory").unwrap(), text);
        let mut bytes = text.into_bytes();
        bytes[12345] = 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let err = read_text(&path, "inventory").unwrap_err().to_string();
        assert!(err.contains("big.json") && err.contains("not UTF-8 text (byte 12344 is not)"), "{err}");
    }
}
