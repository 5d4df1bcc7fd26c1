//! Agents end to end: a real `forewarn serve` and several `forewarn agent` processes, each
//! with its machine's token and its own configuration, running real commands. A slot running
//! now is leased to its machine's agent, which runs each activity's command and reports the
//! outcome, the exit status, the tail of the output and the measured times; a stale fencing
//! token is refused; another machine's token reaches nothing of a run; an agent killed in the
//! middle of an activity that is not idempotent reports it interrupted when it starts again.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use support::{Serve, TempDir, poll_until};

const BIN: &str = env!("CARGO_BIN_EXE_forewarn");

const INVENTORY: &str = r#"[platform]
name = "Example Hosting"
time_zone = "Europe/Berlin"
windows = ["Mon-Sun 00:00-24:00"]

[[customers]]
id = "acme"
name = "ACME"

[[customers.contacts]]
name = "Ada Admin"
email = "ada@acme.example"

[[projects]]
id = "shop"
customer = "acme"

[[hosts]]
id = "kvm1"
rack = "r1"

[[machines]]
id = "app1"
project = "shop"
tier = "production"
host = "kvm1"

[[machines]]
id = "app2"
project = "shop"
tier = "production"
host = "kvm1"

[[machines]]
id = "app3"
project = "shop"
tier = "production"
host = "kvm1"

[[machines]]
id = "app4"
project = "shop"
tier = "production"
host = "kvm1"

[[machines]]
id = "app5"
project = "shop"
tier = "production"
host = "kvm1"
"#;

/// Published at 09:00 (the service's clock): every slot at 09:15, 20 minutes long; one
/// failure is tolerated, the second pauses the campaign.
const CAMPAIGN: &str = r#"id = "patch"
title = "Patch day"
starts = "2027-02-22T00:00:00+01:00"
ends = "2027-02-28T00:00:00+01:00"
publish_at = "2027-02-20T09:00:00+01:00"
notice = "10m"
activities = [{ kind = "os-update", duration = "10m" }, { kind = "fsck", duration = "10m" }]

[rollout]
max_failures = 1
"#;

fn machine_token(database: &str, machine: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "create", "--name", &format!("{machine} agent"), "--machine", machine, "--database", database])
        .env_remove("FOREWARN_DATABASE")
        .output()
        .expect("run forewarn token create --machine");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().last().expect("the token").trim().to_owned()
}

/// `forewarn agent --once` for `machine`, with `config` as its configuration.
fn agent(serve: &Serve, dir: &Path, machine: &str, token: &str, config: &str) -> Child {
    let home = dir.join(machine);
    std::fs::create_dir_all(&home).expect("the agent's directory");
    std::fs::write(home.join("agent.toml"), config).expect("the agent's configuration");
    std::fs::write(home.join("boot_id"), "0b7c6d52-93f4-4e3a-9f8e-3f4c1a2b5d6e\n").expect("a boot id");
    Command::new(BIN)
        .args(["agent", "--server", &serve.base_url, "--token", token, "--once"])
        .arg("--config")
        .arg(home.join("agent.toml"))
        .arg("--state-dir")
        .arg(home.join("state"))
        .arg("--boot-id-file")
        .arg(home.join("boot_id"))
        .arg("--machine-id-file")
        .arg(home.join("no-machine-id"))
        .env_remove("FOREWARN_SERVER")
        .env_remove("FOREWARN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start forewarn agent")
}

fn finished(child: Child) -> String {
    let out = child.wait_with_output().expect("the agent ends");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "forewarn agent failed ({}):\n{stderr}", out.status);
    stderr
}

fn runs(serve: &Serve) -> Vec<Value> {
    serve.admin_ok("GET", "/api/v1/campaigns/patch/runs", "application/json", b"")["runs"]
        .as_array()
        .expect("runs")
        .clone()
}

fn run_of<'a>(runs: &'a [Value], machine: &str) -> &'a Value {
    runs.iter().find(|r| r["machine"] == machine).unwrap_or_else(|| panic!("no run of {machine}: {runs:#?}"))
}

#[test]
fn agents_run_their_slots_with_their_own_commands_and_report_once() {
    let dir = TempDir::new("forewarn-agents");
    let mut serve = Serve::start(&dir.path().join("forewarn.db"), &["--now", "2027-02-22T09:00:00+01:00"], &[]);
    serve.admin_ok("POST", "/api/v1/inventory", "application/toml", INVENTORY.as_bytes());
    serve.admin_ok("POST", "/api/v1/campaigns", "application/toml", CAMPAIGN.as_bytes());
    serve.admin_ok("POST", "/api/v1/campaigns/patch/plan", "application/json", b"");
    serve.admin_ok("POST", "/api/v1/campaigns/patch/publish", "application/json", b"");
    let tokens: Vec<String> =
        ["app1", "app2", "app3", "app4", "app5"].iter().map(|m| machine_token(&serve.database, m)).collect();

    // Before the slots: nothing is due.
    let early = finished(agent(&serve, dir.path(), "app1", &tokens[0], ""));
    assert!(early.contains("machine `app1`"), "{early}");
    assert!(runs(&serve).is_empty());

    // 09:20: every slot is running.
    serve.kill9();
    serve.set_now("2027-02-22T09:20:00+01:00");
    serve.restart();
    // app4's agent is killed in the middle of its update, which is not idempotent: started
    // again, it reports the run interrupted and does not run it again.
    let slow = "[activities]\nos-update = \"echo started >> $HOME_DIR/ran; sleep 30\"\nfsck = \"true\"\n";
    let home = dir.path().join("app4");
    let slow = slow.replace("$HOME_DIR", &home.display().to_string());
    let mut killed = agent(&serve, dir.path(), "app4", &tokens[3], &slow);
    poll_until("app4's update to start", std::time::Duration::from_secs(30), || {
        std::fs::read_to_string(home.join("ran")).map_err(|e| e.to_string())
    });
    killed.kill().expect("SIGKILL the agent");
    let _ = killed.wait();
    assert_eq!(run_of(&runs(&serve), "app4")["state"], "running", "its lease still runs");
    let restarted = finished(agent(&serve, dir.path(), "app4", &tokens[3], &slow));
    assert!(restarted.contains("reported interrupted"), "{restarted}");
    let app4 = run_of(&runs(&serve), "app4").clone();
    assert_eq!(app4["state"], "interrupted");
    assert!(app4["output"].as_str().unwrap().contains("stopped while `os-update` ran"), "{app4}");
    assert_eq!(std::fs::read_to_string(home.join("ran")).unwrap(), "started\n", "not run again");
    // Nothing more is due for it: its slot had its run.
    let after = finished(agent(&serve, dir.path(), "app4", &tokens[3], &slow));
    assert!(!after.contains("run "), "{after}");

    let ok = "[activities]\nos-update = \"echo updated 12 packages; sleep 1\"\nfsck = \"echo clean\"\n";
    let fails = "[activities]\nos-update = \"echo updating\"\nfsck = \"echo broken inode >&2; exit 3\"\n";
    let missing = "[activities]\nos-update = \"true\"\n";
    let agents = vec![
        agent(&serve, dir.path(), "app1", &tokens[0], ok),
        agent(&serve, dir.path(), "app2", &tokens[1], fails),
        agent(&serve, dir.path(), "app3", &tokens[2], missing),
    ];
    for a in agents {
        finished(a);
    }
    let all = runs(&serve);
    let app1 = run_of(&all, "app1");
    assert_eq!(
        (app1["state"].as_str(), app1["source"].as_str(), app1["exit_status"].as_i64()),
        (Some("done"), Some("agent"), Some(0))
    );
    assert!(app1["output"].as_str().unwrap().contains("updated 12 packages\nclean"), "{app1}");
    assert!(app1["downtime_seconds"].as_i64().is_some_and(|d| d >= 1), "the measured duration: {app1}");
    let app2 = run_of(&all, "app2");
    assert_eq!((app2["state"].as_str(), app2["exit_status"].as_i64()), (Some("failed"), Some(3)));
    assert!(app2["output"].as_str().unwrap().contains("broken inode"), "{app2}");
    let app3 = run_of(&all, "app3");
    assert_eq!(app3["state"], "failed");
    assert!(app3["output"].as_str().unwrap().contains("no command for activity `fsck`"), "{app3}");

    // Two failures, more than the budget of one: the campaign paused itself, said why on its
    // post, and leases nothing more (app5's slot is running, its agent gets no work).
    let campaign = serve.admin_ok("GET", "/api/v1/campaigns/patch", "application/json", b"");
    assert_eq!(campaign["state"], "paused", "{campaign}");
    let post = serve.admin_ok(
        "GET",
        &format!("/api/v1/posts/{}", campaign["post"].as_i64().unwrap_or(1)),
        "application/json",
        b"",
    );
    let told = post.to_string();
    assert!(told.contains("2 of 5 machines failed (app2, app3)") && told.contains("failure budget of 1"), "{told}");
    let paused = finished(agent(&serve, dir.path(), "app5", &tokens[4], ok));
    assert!(!paused.contains("run "), "no lease while paused: {paused}");
    assert!(runs(&serve).iter().all(|r| r["machine"] != "app5"));
    // Resumed by an operator: the slots left go on.
    serve.admin_ok("POST", "/api/v1/campaigns/patch/resume", "application/json", b"");
    let resumed = finished(agent(&serve, dir.path(), "app5", &tokens[4], ok));
    assert!(resumed.contains("reported done"), "{resumed}");

    // A result sent again with the same fencing token changes nothing: 409.
    let id = app1["id"].as_i64().unwrap();
    let body = br#"{"outcome": "failed", "started": "2027-02-22T08:20:00Z", "finished": "2027-02-22T08:21:00Z"}"#;
    let auth = |t: &str| format!("Bearer {t}");
    let again = serve.request(
        "POST",
        &format!("/agent/v1/runs/{id}/result"),
        &[("authorization", &auth(&tokens[0])), ("content-type", "application/json")],
        body,
    );
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(run_of(&runs(&serve), "app1")["state"], "done");
    // Another machine's token reaches nothing of app1's run, nor an API token any of it.
    for (path, token, status) in [
        (format!("/agent/v1/runs/{id}/heartbeat"), &tokens[1], 404),
        (format!("/agent/v1/runs/{id}/result"), &tokens[1], 404),
        ("/agent/v1/work".to_owned(), &serve.token, 401),
    ] {
        let r = serve.request(
            "POST",
            &path,
            &[("authorization", &auth(token)), ("content-type", "application/json")],
            body,
        );
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(!r.text().contains("app1") && !r.text().contains("packages"), "{path}: {}", r.text());
    }
}
