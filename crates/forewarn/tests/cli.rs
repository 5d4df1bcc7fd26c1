//! End-to-end tests of the `forewarn` command: the real binary on real files, judged by
//! what a user sees (exit codes, output lines, files written) and by outside parsers
//! and the independent Python checker in `../shared/tools`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use forewarn_model::time::parse_instant;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_forewarn");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const CHECK_PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/tools/check_plan.py");

// ---------------------------------------------------------------------------
// Helpers

/// What one run of a command left behind.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }

    #[track_caller]
    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

fn run_in(program: &str, args: &[&str], dir: Option<&Path>) -> Run {
    let mut cmd = Command::new(program);
    cmd.args(args);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

fn forewarn(args: &[&str]) -> Run {
    run_in(BIN, args, None)
}

fn example(name: &str) -> String {
    format!("{EXAMPLES}/{name}")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// A new directory under the system's temporary directory, named after the test (by the
/// tempfile crate), removed when dropped.
#[derive(Debug)]
struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = tempfile::Builder::new().prefix(&format!("forewarn-cli-{test}-")).tempdir();
        TempDir(dir.expect("create the test directory"))
    }

    /// `name` in the directory.
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// Whether python3 can run `probe` (and, if asked, the shared checker exists). When it
/// cannot, the test fails under CI (`CI` set) and otherwise says `skipped: ...`.
fn python_ready(test: &str, probe: &str, needs_checker: bool) -> bool {
    let problem = if needs_checker && !Path::new(CHECK_PLAN).is_file() {
        Some(format!("{CHECK_PLAN} is missing (shared/ must sit beside the clone)"))
    } else {
        match Command::new("python3").args(["-c", probe]).output() {
            Err(e) => Some(format!("python3 cannot run: {e}")),
            Ok(out) if !out.status.success() => Some(format!(
                "python3 -c {probe:?} failed (run .ci/test to install what is missing): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Ok(_) => None,
        }
    };
    match problem {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => panic!("{test}: {why}; CI must run this test"),
        Some(why) => {
            eprintln!("skipped: {test}: {why}");
            false
        }
    }
}

const CHECKER_PROBE: &str = "import tomllib, zoneinfo; zoneinfo.ZoneInfo('Europe/Berlin')";

/// Converts a TOML file to JSON with Python's tomllib, dates as RFC 3339 strings.
/// The shared checker reads TOML dates only when they are quoted strings, while the
/// example files use TOML's own date-times (both are valid forewarn input).
const TOML_TO_JSON: &str = r#"
import datetime, json, sys, tomllib
def text(o):
    if isinstance(o, (datetime.datetime, datetime.date, datetime.time)):
        return o.isoformat()
    raise TypeError(type(o))
with open(sys.argv[1], "rb") as f:
    data = tomllib.load(f)
with open(sys.argv[2], "w") as f:
    json.dump(data, f, default=text)
"#;

/// Runs `../shared/tools/check_plan.py`; TOML inputs go through `TOML_TO_JSON` first.
fn python_check(dir: &TempDir, inventory: &str, campaign: &str, plan: &str) -> Run {
    let as_json = |file: &str, name: &str| -> String {
        if !file.ends_with(".toml") {
            return file.to_owned();
        }
        let out = dir.path(name);
        run_in("python3", &["-c", TOML_TO_JSON, file, s(&out)], None).assert_code(0);
        s(&out).to_owned()
    };
    let inventory = as_json(inventory, "inventory-for-python.json");
    let campaign = as_json(campaign, "campaign-for-python.json");
    run_in("python3", &[CHECK_PLAN, &inventory, &campaign, plan], None)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn instant(v: &Value) -> i64 {
    let text = v.as_str().unwrap_or_else(|| panic!("expected an RFC 3339 string, got {v}"));
    parse_instant(text).unwrap_or_else(|e| panic!("bad instant {text}: {e}")).as_second()
}

fn array<'a>(plan: &'a Value, key: &str) -> &'a Vec<Value> {
    plan[key].as_array().unwrap_or_else(|| panic!("plan has no `{key}` array"))
}

/// The target's id in a slot or unscheduled entry: `machine`, or `host` in host campaigns.
fn target_of(entry: &Value) -> &str {
    entry["machine"].as_str().or_else(|| entry["host"].as_str()).unwrap_or_else(|| panic!("no target in {entry}"))
}

/// Parses a `violations: V, slots: S, unscheduled: U` line.
#[track_caller]
fn counts(line: &str) -> (usize, usize, usize) {
    let nums: Vec<usize> = line
        .split(", ")
        .map(|part| {
            let (_, n) = part.split_once(": ").unwrap_or_else(|| panic!("not a counts line: {line:?}"));
            n.parse().unwrap_or_else(|_| panic!("not a counts line: {line:?}"))
        })
        .collect();
    assert!(line.starts_with("violations: ") && nums.len() == 3, "not a counts line: {line:?}");
    (nums[0], nums[1], nums[2])
}

fn plan_to(inventory: &str, campaign: &str, out: &Path) {
    forewarn(&["plan", "--inventory", inventory, "--campaign", campaign, "--out", s(out)]).assert_code(0);
}

fn check(inventory: &str, campaign: &str, plan: &Path) -> Run {
    forewarn(&["check", "--inventory", inventory, "--campaign", campaign, "--plan", s(plan)])
}

// ---------------------------------------------------------------------------
// forewarn windows

#[test]
fn windows_fall_back_night_is_two_hours_long() {
    let run = forewarn(&["windows", "Sun 02:00-03:00 Europe/Berlin", "--from", "2026-10-24", "--to", "2026-10-26"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "2026-10-25T02:00:00+02:00 2026-10-25T03:00:00+01:00\n");
}

#[test]
fn windows_vanish_on_spring_forward_night() {
    let run = forewarn(&["windows", "Sun 02:00-03:00 Europe/Berlin", "--from", "2026-03-28", "--to", "2026-03-30"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "", "02:00-03:00 does not exist in Berlin on 29 March 2026");
}

#[test]
fn windows_weeknights_in_new_york_across_dst_change() {
    let spec = "Mon-Fri 22:00-05:00 America/New_York";
    // The week before the clocks go forward on Sunday 8 March 2026: five nights at -05:00.
    let run = forewarn(&["windows", spec, "--from", "2026-03-02", "--to", "2026-03-09"]);
    run.assert_code(0);
    assert_eq!(
        run.lines(),
        [
            "2026-03-02T22:00:00-05:00 2026-03-03T05:00:00-05:00",
            "2026-03-03T22:00:00-05:00 2026-03-04T05:00:00-05:00",
            "2026-03-04T22:00:00-05:00 2026-03-05T05:00:00-05:00",
            "2026-03-05T22:00:00-05:00 2026-03-06T05:00:00-05:00",
            "2026-03-06T22:00:00-05:00 2026-03-07T05:00:00-05:00",
        ]
    );
    // The week after: the same local times, now at -04:00.
    let run = forewarn(&["windows", spec, "--from", "2026-03-09", "--to", "2026-03-16"]);
    run.assert_code(0);
    assert_eq!(
        run.lines(),
        [
            "2026-03-09T22:00:00-04:00 2026-03-10T05:00:00-04:00",
            "2026-03-10T22:00:00-04:00 2026-03-11T05:00:00-04:00",
            "2026-03-11T22:00:00-04:00 2026-03-12T05:00:00-04:00",
            "2026-03-12T22:00:00-04:00 2026-03-13T05:00:00-04:00",
            "2026-03-13T22:00:00-04:00 2026-03-14T05:00:00-04:00",
        ]
    );
    // A Saturday-to-Saturday week across the change: six nights, since both Friday nights
    // overlap the range (DESIGN.md: "every occurrence overlapping the range"), the first
    // at -05:00, the others at -04:00.
    let run = forewarn(&["windows", spec, "--from", "2026-03-07", "--to", "2026-03-14"]);
    run.assert_code(0);
    assert_eq!(
        run.lines(),
        [
            "2026-03-06T22:00:00-05:00 2026-03-07T05:00:00-05:00",
            "2026-03-09T22:00:00-04:00 2026-03-10T05:00:00-04:00",
            "2026-03-10T22:00:00-04:00 2026-03-11T05:00:00-04:00",
            "2026-03-11T22:00:00-04:00 2026-03-12T05:00:00-04:00",
            "2026-03-12T22:00:00-04:00 2026-03-13T05:00:00-04:00",
            "2026-03-13T22:00:00-04:00 2026-03-14T05:00:00-04:00",
        ]
    );
    // The night the clocks go forward is an hour shorter: it starts at -05:00, ends at -04:00.
    let run = forewarn(&["windows", "Sat 22:00-05:00 America/New_York", "--from", "2026-03-07", "--to", "2026-03-09"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "2026-03-07T22:00:00-05:00 2026-03-08T05:00:00-04:00\n");
}

#[test]
fn windows_malformed_spec_says_unknown_day() {
    let run = forewarn(&["windows", "Mon-Fry 22:00-05:00", "--from", "2026-03-02", "--to", "2026-03-09"]);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("unknown day"), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("Fry"), "the message quotes the bad day: {}", run.stderr);
}

#[test]
fn windows_to_before_from_is_refused() {
    for to in ["2026-03-01", "2026-03-02"] {
        let run = forewarn(&["windows", "Mon-Fri 22:00-05:00", "--from", "2026-03-02", "--to", to]);
        assert_ne!(run.code, Some(0), "--to {to} --from 2026-03-02 must fail: {run:?}");
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr.contains("--to") && run.stderr.contains("--from") && run.stderr.contains(to),
            "the message names both flags and the date: {}",
            run.stderr
        );
    }
}

// ---------------------------------------------------------------------------
// FOREWARN_TZDIR: a TZif directory instead of the bundled time zone database

/// `forewarn ARGS` with extra environment variables.
fn forewarn_with(env: &[(&str, &str)], args: &[&str]) -> Run {
    let out = Command::new(BIN).args(args).envs(env.iter().copied()).output().expect("run forewarn");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// A zoneinfo directory of one release in which Berlin keeps +03:00 all year (rules no
/// bundled release has), built from TZif bytes made here: no system files needed.
fn berlin_at_plus_three(dir: &TempDir, release: Option<&str>) -> String {
    let root = dir.path("zoneinfo");
    std::fs::create_dir_all(root.join("Europe")).unwrap();
    std::fs::write(root.join("Europe/Berlin"), forewarn_model::tz::fixed_tzif(3 * 3600, "+03", "<+03>-3")).unwrap();
    let zi = root.join("tzdata.zi");
    match release {
        Some(r) => std::fs::write(&zi, format!("# version {r}\n# ddeps\n")).unwrap(),
        None => {
            let _ = std::fs::remove_file(&zi);
        }
    }
    s(&root).to_owned()
}

#[test]
fn windows_follow_the_rules_of_a_newer_tzdir() {
    let dir = TempDir::new("windows_follow_the_rules_of_a_newer_tzdir");
    let tzdir = berlin_at_plus_three(&dir, Some("2099a"));
    let env = [("FOREWARN_TZDIR", tzdir.as_str())];
    let args = ["windows", "Mon 02:00-03:00 Europe/Berlin", "--from", "2027-03-01", "--to", "2027-04-06"];
    // Bundled: +01:00 in winter, +02:00 from the end of March.
    let bundled = forewarn(&args);
    bundled.assert_code(0);
    assert_eq!(bundled.lines().first(), Some(&"2027-03-01T02:00:00+01:00 2027-03-01T03:00:00+01:00"));
    assert_eq!(bundled.last_line(), "2027-04-05T02:00:00+02:00 2027-04-05T03:00:00+02:00");
    // The directory's rules: +03:00 all along, the same local times.
    let run = forewarn_with(&env, &args);
    run.assert_code(0);
    assert_eq!(run.lines().len(), 6, "{}", run.stdout);
    assert!(
        run.lines().iter().all(|l| l.ends_with("T03:00:00+03:00") && l.contains("T02:00:00+03:00 ")),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr, "");
    // Every command resolves zones there: a zone the directory lacks is unknown.
    let ny = forewarn_with(
        &env,
        &["windows", "Mon 02:00-03:00 America/New_York", "--from", "2027-03-01", "--to", "2027-03-02"],
    );
    ny.assert_code(1);
    assert!(ny.stderr.contains("unknown time zone `America/New_York`"), "{}", ny.stderr);
    // And --version names the release in use.
    let version = forewarn_with(&env, &["--version"]);
    assert_eq!(version.stdout, format!("forewarn {} (tzdb 2099a, {tzdir})\n", env!("CARGO_PKG_VERSION")));
    let plain = forewarn(&["--version"]);
    assert!(plain.stdout.starts_with(&format!("forewarn {} (tzdb 20", env!("CARGO_PKG_VERSION"))), "{}", plain.stdout);
    assert!(plain.stdout.ends_with(", bundled)\n"), "{}", plain.stdout);
}

#[test]
fn an_older_tzdir_or_one_without_a_release_is_refused_unless_forced() {
    let dir = TempDir::new("an_older_tzdir_or_one_without_a_release_is_refused_unless_forced");
    let args = ["windows", "Mon 02:00-03:00 Europe/Berlin", "--from", "2027-03-01", "--to", "2027-03-02"];
    let tzdir = berlin_at_plus_three(&dir, Some("2001a"));
    let run = forewarn_with(&[("FOREWARN_TZDIR", &tzdir)], &args);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with(&format!(
            "forewarn: the time zone database `{tzdir}` (FOREWARN_TZDIR) is refused: its tzdb release 2001a is older than the"
        )) && run.stderr.contains("set FOREWARN_TZDIR_FORCE=1"),
        "{}",
        run.stderr
    );
    let version = forewarn_with(&[("FOREWARN_TZDIR", &tzdir)], &["--version"]);
    assert!(version.stdout.contains(&format!("bundled; FOREWARN_TZDIR `{tzdir}` refused)")), "{}", version.stdout);
    // Forced: used, with a warning.
    let forced = forewarn_with(&[("FOREWARN_TZDIR", &tzdir), ("FOREWARN_TZDIR_FORCE", "1")], &args);
    forced.assert_code(0);
    assert_eq!(forced.stdout, "2027-03-01T02:00:00+03:00 2027-03-01T03:00:00+03:00\n");
    assert!(forced.stderr.contains("warning") && forced.stderr.contains("forced"), "{}", forced.stderr);
    // No release to read: refused too, and forcing is suggested.
    let tzdir = berlin_at_plus_three(&dir, None);
    let run = forewarn_with(&[("FOREWARN_TZDIR", &tzdir)], &args);
    run.assert_code(1);
    assert!(
        run.stderr.contains("it names no tzdb release") && run.stderr.contains("FOREWARN_TZDIR_FORCE=1"),
        "{}",
        run.stderr
    );
    let run = forewarn_with(&[("FOREWARN_TZDIR", &tzdir), ("FOREWARN_TZDIR_FORCE", "maybe")], &args);
    run.assert_code(1);
    assert!(run.stderr.contains("FOREWARN_TZDIR_FORCE=`maybe`: expected 1 or 0"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------
// forewarn inventory check

#[test]
fn inventory_check_example_prints_ok_and_summary() {
    let file = example("inventory.toml");
    let run = forewarn(&["inventory", "check", &file]);
    run.assert_code(0);
    let lines = run.lines();
    assert_eq!(lines[0], format!("{file}: ok"));
    let line = |prefix: &str| -> String {
        let found = lines.iter().find(|l| l.starts_with(prefix));
        found
            .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{}", run.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("platform "), "platform Lindenau Hosting (time zone Europe/Berlin)");
    assert_eq!(line("customers "), "customers 5 with 8 contacts, 9 projects");
    assert_eq!(line("hosts "), "hosts 5 in 2 racks, 3 network devices");
    assert_eq!(line("machines "), "machines 33: testing 0, staging 8, production 25");
}

#[test]
fn inventory_check_reports_every_error_with_file_line_field() {
    let run = run_in(BIN, &["inventory", "check", "broken-inventory.toml"], Some(Path::new(FIXTURES)));
    run.assert_code(1);
    assert_eq!(run.stdout, "", "errors go to standard error");
    let lines: Vec<&str> = run.stderr.lines().collect();
    // (FILE:LINE: FIELD, what the message must say)
    let expected = [
        ("broken-inventory.toml:14: customers[0].time_zone: ", "Europe/Berlinn"),
        ("broken-inventory.toml:17: customers[0].blackouts[0]", "before it starts"),
        ("broken-inventory.toml:23: customers[0].contacts[0].email: ", "ann.example.com"),
        ("broken-inventory.toml:29: projects[0].windows[0]: ", "unknown day `Fry`"),
        ("broken-inventory.toml:40: machines[0].host: ", "kvm09"),
        ("broken-inventory.toml:48: machines[1]", "unknown field `colour`"),
    ];
    for (prefix, says) in expected {
        assert!(
            lines.iter().any(|l| l.starts_with(prefix) && l.contains(says)),
            "no line `{prefix}...{says}...` in:\n{}",
            run.stderr
        );
    }
    assert_eq!(lines.len(), expected.len() + 1, "one line per error, then the count:\n{}", run.stderr);
    assert_eq!(lines.last(), Some(&"6 errors"));
}

#[test]
fn inventory_check_reports_a_broken_machine_whole() {
    // A machine with an unknown field still has its project, tier and host checked: the
    // user fixes everything in one round, in TOML (with lines) and in JSON (without).
    for (file, lines) in
        [("broken-machine.toml", [":22: ", ":23: ", ":24: ", ":25: "]), ("broken-machine.json", [": "; 4])]
    {
        let run = run_in(BIN, &["inventory", "check", file], Some(Path::new(FIXTURES)));
        run.assert_code(1);
        let expected = [
            "machines[0].project: unknown project `wbe` (machine `web01`): define it under [[projects]] or fix the id",
            "machines[0].tier: unknown tier `prod` (machine `web01`): the platform's tiers are testing, staging, production",
            "machines[0].host: unknown host `kvm09` (machine `web01`): define it under [[hosts]] or fix the id",
            "machines[0]: unknown field `colour`, expected one of `id`, `project`, `tier`, `host`, `groups`, `services`, `windows`, `fleetlock_id`",
        ];
        let got: BTreeSet<&str> = run.stderr.lines().collect();
        for (line, says) in lines.iter().zip(expected) {
            let want = format!("{file}{line}{says}");
            assert!(got.contains(want.as_str()), "no line `{want}` in:\n{}", run.stderr);
        }
        assert_eq!(run.stderr.lines().last(), Some("4 errors"), "{}", run.stderr);
    }
}

#[test]
fn inventory_check_missing_file_names_it() {
    let dir = TempDir::new("inventory_check_missing_file_names_it");
    let missing = dir.path("no-such-inventory.toml");
    let run = forewarn(&["inventory", "check", s(&missing)]);
    run.assert_code(1);
    assert!(run.stderr.contains(s(&missing)), "the message names the file: {}", run.stderr);
}

// ---------------------------------------------------------------------------
// forewarn fleet generate

#[test]
fn fleet_generate_is_deterministic_and_valid() {
    let dir = TempDir::new("fleet_generate_is_deterministic_and_valid");
    let generate = |seed: &str, out: &Path| {
        forewarn(&["fleet", "generate", "--machines", "2000", "--seed", seed, "--out", s(out)]).assert_code(0);
        let read = |name| std::fs::read(out.join(name)).unwrap_or_else(|e| panic!("{name} not written: {e}"));
        (read("inventory.json"), read("campaign.toml"))
    };
    let first = generate("7", &dir.path("a"));
    let again = generate("7", &dir.path("b"));
    let other = generate("8", &dir.path("c"));
    assert!(first.0 == again.0, "the same seed gives the same inventory.json, byte for byte");
    assert!(first.1 == again.1, "the same seed gives the same campaign.toml, byte for byte");
    assert!(first.0 != other.0, "another seed gives another inventory");
    assert!(first.1 != other.1, "another seed gives another campaign");

    let inventory = dir.path("a/inventory.json");
    let run = forewarn(&["inventory", "check", s(&inventory)]);
    run.assert_code(0);
    assert_eq!(run.lines()[0], format!("{}: ok", s(&inventory)));
    assert!(run.stdout.lines().any(|l| l.starts_with("machines") && l.contains(" 2000:")), "{}", run.stdout);
}

// ---------------------------------------------------------------------------
// forewarn plan and forewarn check on the examples

/// Plans an example campaign, checks it with both checkers, returns the plan.
fn plan_example(test: &str, campaign: &str, targets: usize) -> Value {
    let dir = TempDir::new(test);
    let inventory = example("inventory.toml");
    let campaign = example(campaign);
    let plan_path = dir.path("plan.json");
    plan_to(&inventory, &campaign, &plan_path);

    let run = check(&inventory, &campaign, &plan_path);
    run.assert_code(0);
    assert_eq!(run.lines().len(), 1, "no violations, only the counts:\n{}", run.stdout);
    let (violations, slots, unscheduled) = counts(run.last_line());
    assert_eq!(violations, 0);
    assert_eq!(slots + unscheduled, targets, "every target has a slot or a reason: {}", run.last_line());

    let plan = read_json(&plan_path);
    let slots_json = array(&plan, "slots");
    let unscheduled_json = array(&plan, "unscheduled");
    assert_eq!((slots_json.len(), unscheduled_json.len()), (slots, unscheduled));
    let ids: BTreeSet<&str> = slots_json.iter().chain(unscheduled_json).map(target_of).collect();
    assert_eq!(ids.len(), targets, "every target exactly once");

    if python_ready(test, CHECKER_PROBE, true) {
        let run = python_check(&dir, &inventory, &campaign, s(&plan_path));
        run.assert_code(0);
        assert_eq!(counts(run.last_line()).0, 0, "{}", run.stdout);
    }
    plan
}

#[test]
fn plan_os_update_example_passes_both_checkers() {
    plan_example("plan_os_update_example_passes_both_checkers", "os-update.toml", 33);
}

#[test]
fn plan_host_reboot_example_passes_both_checkers() {
    // Host scope: one target per host (the Python checker skips host campaigns).
    let plan = plan_example("plan_host_reboot_example_passes_both_checkers", "host-reboot.toml", 5);
    assert!(array(&plan, "slots").iter().all(|slot| slot["host"].is_string()), "host slots name a `host`");
}

#[test]
fn plan_fsck_example_passes_both_checkers() {
    plan_example("plan_fsck_example_passes_both_checkers", "fsck.toml", 33);
}

/// Tier name to the `(start, end)` of its slots, in unix seconds.
type SlotsByTier<'a> = BTreeMap<&'a str, Vec<(i64, i64)>>;

#[test]
fn os_update_production_waits_24h_after_staging() {
    let dir = TempDir::new("os_update_production_waits_24h_after_staging");
    let inventory = example("inventory.toml");
    let plan_path = dir.path("plan.json");
    plan_to(&inventory, &example("os-update.toml"), &plan_path);
    let plan = read_json(&plan_path);

    let text = std::fs::read_to_string(&inventory).expect("read the inventory");
    let inv = forewarn_model::parse_inventory(&inventory, &text).expect("the example inventory is valid");
    let tier_of = |m: &forewarn_model::inventory::Machine| inv.platform.tiers[m.tier].as_str();
    let machines: HashMap<&str, _> = inv.machines.iter().map(|m| (m.id.as_str(), m)).collect();

    // project -> tier -> [(start, end)]
    let mut by_project: BTreeMap<&str, SlotsByTier<'_>> = BTreeMap::new();
    for slot in array(&plan, "slots") {
        let m = machines[target_of(slot)];
        let project = inv.projects[m.project].id.as_str();
        by_project
            .entry(project)
            .or_default()
            .entry(tier_of(m))
            .or_default()
            .push((instant(&slot["start"]), instant(&slot["end"])));
    }
    assert!(array(&plan, "unscheduled").is_empty(), "the example schedules every machine");

    let mut projects_with_both = 0;
    for (project, tiers) in &by_project {
        let (Some(staging), Some(production)) = (tiers.get("staging"), tiers.get("production")) else {
            continue;
        };
        projects_with_both += 1;
        let staging_done = staging.iter().map(|&(_, end)| end).max().expect("staging slots");
        for &(start, _) in production {
            assert!(
                start >= staging_done + 24 * 3600,
                "{project}: a production slot starts {}s after staging ends, want at least 24h",
                start - staging_done
            );
        }
    }
    // Nordlicht booking, Harbor dashboards, Elbe shop and archive, Kiefer tracking, Mühlenbach web.
    assert_eq!(projects_with_both, 6, "projects with staging and production: {by_project:?}");
}

#[test]
fn plan_is_byte_identical_across_runs() {
    let dir = TempDir::new("plan_is_byte_identical_across_runs");
    let (inventory, campaign) = (example("inventory.toml"), example("os-update.toml"));
    plan_to(&inventory, &campaign, &dir.path("a.json"));
    plan_to(&inventory, &campaign, &dir.path("b.json"));
    let read = |name| std::fs::read(dir.path(name)).expect("plan written");
    assert!(read("a.json") == read("b.json"), "the same inputs give the same plan, byte for byte");
}

#[test]
fn generated_fleet_plan_passes_both_checkers() {
    let test = "generated_fleet_plan_passes_both_checkers";
    let dir = TempDir::new(test);
    let fleet = dir.path("fleet");
    forewarn(&["fleet", "generate", "--machines", "2000", "--seed", "3", "--out", s(&fleet)]).assert_code(0);
    let inventory = fleet.join("inventory.json");
    let campaign = fleet.join("campaign.toml");
    let plan_path = dir.path("plan.json");
    plan_to(s(&inventory), s(&campaign), &plan_path);

    let run = check(s(&inventory), s(&campaign), &plan_path);
    run.assert_code(0);
    let (violations, slots, unscheduled) = counts(run.last_line());
    assert_eq!(violations, 0, "{}", run.stdout);
    assert_eq!(slots + unscheduled, 2000);

    if python_ready(test, CHECKER_PROBE, true) {
        let run = python_check(&dir, s(&inventory), s(&campaign), s(&plan_path));
        run.assert_code(0);
        assert_eq!(counts(run.last_line()), (0, slots, unscheduled), "{}", run.stdout);
    }
}

// ---------------------------------------------------------------------------
// forewarn check catches tampering

/// Plans the OS update example, lets `tamper` break the plan, checks the result: exit 1,
/// a line `MACHINE: CONSTRAINT: ...` for the machine `tamper` returns, and a last line
/// counting every violation line. Returns the check's output.
fn tampered(test: &str, constraint: &str, tamper: impl FnOnce(&mut Vec<Value>) -> String) -> Run {
    let dir = TempDir::new(test);
    let (inventory, campaign) = (example("inventory.toml"), example("os-update.toml"));
    let plan_path = dir.path("plan.json");
    plan_to(&inventory, &campaign, &plan_path);
    let mut plan = read_json(&plan_path);
    let machine = tamper(plan["slots"].as_array_mut().expect("slots"));
    let bad_path = dir.path("tampered.json");
    std::fs::write(&bad_path, serde_json::to_string_pretty(&plan).expect("JSON")).expect("write the tampered plan");

    let run = check(&inventory, &campaign, &bad_path);
    run.assert_code(1);
    let lines = run.lines();
    let want = format!("{machine}: {constraint}: ");
    assert!(lines.iter().any(|l| l.starts_with(&want)), "no line starting `{want}` in:\n{}", run.stdout);
    let (violations, slots, _) = counts(run.last_line());
    assert!(violations >= 1);
    assert_eq!(violations, lines.len() - 1, "the last line counts the violation lines above it:\n{}", run.stdout);
    assert_eq!(slots, array(&plan, "slots").len());

    if python_ready(test, CHECKER_PROBE, true) {
        let py = python_check(&dir, &inventory, &campaign, s(&bad_path));
        py.assert_code(1);
        assert!(py.stdout.lines().any(|l| l.starts_with(&format!("{machine}: "))), "{}", py.stdout);
    }
    run
}

#[test]
fn check_catches_slot_moved_by_a_day() {
    let campaign_end = parse_instant("2027-03-06T00:00:00+01:00").expect("instant").as_second();
    tampered("check_catches_slot_moved_by_a_day", "range", |slots| {
        // The last slot to end, a day later, ends after the campaign's range.
        let slot = slots.iter_mut().max_by_key(|s| instant(&s["end"])).expect("a slot");
        for key in ["start", "end"] {
            let moved = parse_instant(slot[key].as_str().expect("time")).expect("instant")
                + forewarn_model::Duration::from_secs(86_400).0;
            slot[key] = Value::String(moved.to_string());
        }
        assert!(instant(&slot["end"]) > campaign_end, "the moved slot leaves the range: {slot}");
        target_of(slot).to_owned()
    });
}

#[test]
fn check_catches_duplicated_machine() {
    tampered("check_catches_duplicated_machine", "coverage", |slots| {
        let copy = slots[0].clone();
        slots.push(copy);
        target_of(&slots[0]).to_owned()
    });
}

#[test]
fn check_catches_dropped_machine() {
    tampered("check_catches_dropped_machine", "coverage", |slots| {
        let dropped = slots.remove(slots.len() / 2);
        target_of(&dropped).to_owned()
    });
}

// ---------------------------------------------------------------------------
// Formats

#[test]
fn plan_table_names_title_and_zone() {
    let run = forewarn(&[
        "plan",
        "--inventory",
        &example("inventory.toml"),
        "--campaign",
        &example("os-update.toml"),
        "--format",
        "table",
    ]);
    run.assert_code(0);
    assert!(run.stdout.contains("Operating system update, March 2027"), "the title:\n{}", run.stdout);
    assert!(run.stdout.contains("Europe/Berlin"), "the platform zone:\n{}", run.stdout);
    assert!(!run.stdout.trim_start().starts_with('{'), "a table, not JSON");
}

#[test]
fn plan_svg_is_well_formed_xml() {
    let test = "plan_svg_is_well_formed_xml";
    let dir = TempDir::new(test);
    let svg = dir.path("plan.svg");
    forewarn(&[
        "plan",
        "--inventory",
        &example("inventory.toml"),
        "--campaign",
        &example("os-update.toml"),
        "--format",
        "svg",
        "--out",
        s(&svg),
    ])
    .assert_code(0);
    let text = std::fs::read_to_string(&svg).expect("SVG written as UTF-8");
    assert!(text.starts_with("<svg") || text.starts_with("<?xml"), "starts: {:?}", &text[..text.len().min(80)]);
    assert!(text.contains("Operating system update, March 2027"), "the SVG names the campaign");

    if python_ready(test, "import xml.etree.ElementTree", false) {
        let script = "import sys, xml.etree.ElementTree as ET; print(ET.parse(sys.argv[1]).getroot().tag)";
        let run = run_in("python3", &["-c", script, s(&svg)], None);
        run.assert_code(0);
        assert_eq!(run.stdout.trim(), "{http://www.w3.org/2000/svg}svg");
    }
}

/// Prints `UID START END` (unix seconds) for every VEVENT, after a strict enough parse.
const ICS_EVENTS: &str = r#"
import sys, icalendar
with open(sys.argv[1], "rb") as f:
    cal = icalendar.Calendar.from_ical(f.read())
assert cal.name == "VCALENDAR", cal.name
assert not cal.errors, cal.errors
for ev in cal.walk("VEVENT"):
    assert not ev.errors, ev.errors
    start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
    print(ev["UID"], int(start.timestamp()), int(end.timestamp()))
"#;

#[test]
fn plan_ics_has_one_event_per_slot() {
    let test = "plan_ics_has_one_event_per_slot";
    let dir = TempDir::new(test);
    let (inventory, campaign) = (example("inventory.toml"), example("os-update.toml"));
    let plan_path = dir.path("plan.json");
    plan_to(&inventory, &campaign, &plan_path);
    let ics = dir.path("plan.ics");
    forewarn(&["plan", "--inventory", &inventory, "--campaign", &campaign, "--format", "ics", "--out", s(&ics)])
        .assert_code(0);

    let plan = read_json(&plan_path);
    let slots = array(&plan, "slots");
    let text = std::fs::read_to_string(&ics).expect("iCalendar written as UTF-8");
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "starts: {:?}", &text[..text.len().min(40)]);
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count(), "every line ends in CRLF");
    assert!(text.split("\r\n").all(|l| l.len() <= 75), "lines are folded at 75 octets (RFC 5545 3.1)");
    assert_eq!(text.matches("\r\nBEGIN:VEVENT\r\n").count(), slots.len(), "one VEVENT per slot");

    if python_ready(test, "import icalendar", false) {
        let run = run_in("python3", &["-c", ICS_EVENTS, s(&ics)], None);
        run.assert_code(0);
        let mut uids = BTreeSet::new();
        let mut events: Vec<(i64, i64)> = Vec::new();
        for line in run.stdout.lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 3, "{line:?}");
            assert!(uids.insert(parts[0].to_owned()), "UID {} twice", parts[0]);
            events.push((parts[1].parse().expect("start"), parts[2].parse().expect("end")));
        }
        let mut want: Vec<(i64, i64)> = slots.iter().map(|s| (instant(&s["start"]), instant(&s["end"]))).collect();
        events.sort();
        want.sort();
        assert_eq!(events, want, "the events are the plan's slots");
    }

    // The UIDs are the contacts' invitations' (`{campaign}.{machine}@{domain}`), in the domain
    // given: the service's host.
    assert!(text.contains("UID:os-update-2027-03.web01@forewarn\r\n"), "{text}");
    let ics = dir.path("plan-status.ics");
    forewarn(&[
        "plan",
        "--inventory",
        &inventory,
        "--campaign",
        &campaign,
        "--format",
        "ics",
        "--uid-domain",
        "status.example.net",
        "--out",
        s(&ics),
    ])
    .assert_code(0);
    let text = std::fs::read_to_string(&ics).unwrap();
    assert!(text.contains("UID:os-update-2027-03.web01@status.example.net\r\n"), "{text}");
}

#[test]
fn planning_again_with_keep_moves_nobody_when_a_machine_leaves() {
    let dir = TempDir::new("plan_keep");
    let (inventory, campaign) = (example("inventory.toml"), example("os-update.toml"));
    let first = dir.path("plan.json");
    plan_to(&inventory, &campaign, &first);
    let text = std::fs::read_to_string(&inventory).unwrap();
    let block = "[[machines]]\nid = \"web01\"\n";
    let at = text.find(block).expect("web01 in the sample");
    let end = text[at + block.len()..].find("[[").map_or(text.len(), |i| at + block.len() + i);
    let fewer = dir.path("inventory.toml");
    std::fs::write(&fewer, format!("{}{}", &text[..at], &text[end..])).unwrap();

    let again = dir.path("again.json");
    let run =
        forewarn(&["plan", "--inventory", s(&fewer), "--campaign", &campaign, "--keep", s(&first), "--out", s(&again)]);
    run.assert_code(0);
    assert!(run.stderr.contains("kept 32 of the 33 published slots where they were"), "{}", run.stderr);
    let slots = |path: &Path| -> Vec<(String, String)> {
        array(&read_json(path), "slots")
            .iter()
            .map(|s| (s["machine"].as_str().unwrap().to_owned(), s["start"].as_str().unwrap().to_owned()))
            .filter(|(m, _)| m != "web01")
            .collect()
    };
    assert_eq!(slots(&again), slots(&first), "every other slot stays where it was");
    forewarn(&["check", "--inventory", s(&fewer), "--campaign", &campaign, "--plan", s(&again)]).assert_code(0);

    // A plan file that is not one is refused, naming it.
    let broken = dir.path("broken.json");
    std::fs::write(&broken, "{\"slots\": [{\"machine\": \"web02\", \"start\": \"tomorrow\", \"end\": \"x\"}]}")
        .unwrap();
    let run = forewarn(&["plan", "--inventory", &inventory, "--campaign", &campaign, "--keep", s(&broken)]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("broken.json: slots[0].start: `tomorrow` is not an RFC 3339 instant"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------
// Bad campaign, help

#[test]
fn bad_campaign_reports_every_error_with_file_and_line() {
    let inventory = example("inventory.toml");
    let run =
        run_in(BIN, &["plan", "--inventory", &inventory, "--campaign", "bad-campaign.toml"], Some(Path::new(FIXTURES)));
    run.assert_code(1);
    assert_eq!(run.stdout, "", "no plan is written");
    let lines: Vec<&str> = run.stderr.lines().collect();
    for (prefix, says) in [
        ("bad-campaign.toml:11: tier_order[1]: ", "unknown tier `prod`"),
        ("bad-campaign.toml:15: colour: ", "unknown field `colour`"),
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(prefix) && l.contains(says)),
            "no line `{prefix}...{says}...` in:\n{}",
            run.stderr
        );
    }
    assert_eq!(lines.last(), Some(&"2 errors"), "{}", run.stderr);
}

#[test]
fn help_lists_subcommands() {
    let run = forewarn(&["--help"]);
    run.assert_code(0);
    for word in ["inventory", "windows", "fleet", "plan", "check"] {
        assert!(run.stdout.lines().any(|l| l.trim_start().starts_with(word)), "`{word}` in:\n{}", run.stdout);
    }
}

#[test]
fn plan_help_lists_flags() {
    let run = forewarn(&["plan", "--help"]);
    run.assert_code(0);
    for flag in ["--inventory", "--campaign", "--out", "--format", "json", "table", "svg", "ics"] {
        assert!(run.stdout.contains(flag), "`{flag}` in:\n{}", run.stdout);
    }
}
