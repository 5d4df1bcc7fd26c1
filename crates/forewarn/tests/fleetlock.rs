//! FleetLock end to end: `forewarn serve` with a group (a campaign with mode = "fleetlock")
//! answers exactly what Zincati sends (`../shared/tools/fleetlock_probe.py`); a lock outside
//! the node's window is refused with `outside_maintenance_window`; tokens reach their group's
//! locks only; a lock is recorded as a run with its downtime; 1,000 concurrent pre-reboots
//! never grant more holders than the group allows, on SQLite and on PostgreSQL.

mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use forewarn_store::testing::TestPostgres;
use serde_json::Value;
use support::{HttpResponse, Serve, TempDir, http};

const BIN: &str = env!("CARGO_BIN_EXE_forewarn");
const PROBE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/tools/fleetlock_probe.py");

/// Holders the probe's group allows, and the rush group's.
const PROBE_SLOTS: usize = 3;
const RUSH_SLOTS: usize = 7;
const RUSH: usize = 1000;

/// An inventory: the probe's nodes (`probe0000`.. and `probestorm0000`..), the rush's
/// (`rush0000`..), on an all-day window; `night01` only at night; `web01` and `web02` in one
/// redundancy group.
fn inventory() -> String {
    let mut s = String::from(
        r#"[platform]
name = "Example Hosting"
time_zone = "Europe/Berlin"
windows = ["Mon-Sun 00:00-24:00"]

[[customers]]
id = "acme"
name = "ACME"

[[projects]]
id = "probe"
customer = "acme"

[[projects]]
id = "rush"
customer = "acme"

[[projects]]
id = "shop"
customer = "acme"

[[hosts]]
id = "kvm1"
rack = "r1"

[[machines]]
id = "night01"
project = "shop"
tier = "production"
host = "kvm1"
windows = ["Mon-Sun 22:00-23:00"]

[[machines]]
id = "web01"
project = "shop"
tier = "production"
host = "kvm1"
groups = ["web"]
fleetlock_id = "4b1c9e0f2d8a4e6b9c3f7a1d5e2b8c04"

[[machines]]
id = "web02"
project = "shop"
tier = "production"
host = "kvm1"
groups = ["web"]
"#,
    );
    let mut machine = |id: String, project: &str| {
        s.push_str(&format!(
            "\n[[machines]]\nid = \"{id}\"\nproject = \"{project}\"\ntier = \"production\"\nhost = \"kvm1\"\n"
        ));
    };
    for i in 0..=PROBE_SLOTS {
        machine(format!("probe{i:04}"), "probe");
    }
    for i in 0..400 {
        machine(format!("probestorm{i:04}"), "probe");
    }
    for i in 0..RUSH {
        machine(format!("rush{i:04}"), "rush");
    }
    s
}

fn group(id: &str, project: &str, limits: &str) -> String {
    format!(
        r#"id = "{id}"
title = "Fedora CoreOS updates ({id})"
mode = "fleetlock"
starts = "2027-02-01T00:00:00+01:00"
ends = "2027-03-31T00:00:00+01:00"
publish_at = "2027-02-01T00:00:00+01:00"
activities = [{{ kind = "reboot", duration = "10m" }}]

[targets]
projects = ["{project}"]

[limits]
{limits}
"#
    )
}

/// Creates, plans and publishes a group.
fn publish(serve: &Serve, text: &str, id: &str) {
    serve.admin_ok("POST", "/api/v1/campaigns", "application/toml", text.as_bytes());
    serve.admin_ok("POST", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b"");
    serve.admin_ok("POST", &format!("/api/v1/campaigns/{id}/publish"), "application/json", b"");
}

fn fleetlock_token(database: &str, group: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "create", "--name", "zincati", "--fleetlock", group, "--database", database])
        .env_remove("FOREWARN_DATABASE")
        .output()
        .expect("run forewarn token create");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "token create --fleetlock failed: {stderr}");
    assert!(stderr.contains(&format!("group = \"{group}\"")), "{stderr}");
    String::from_utf8_lossy(&out.stdout).lines().last().expect("the token").trim().to_owned()
}

/// A FleetLock request exactly as Zincati sends it: pretty JSON, no Content-Type.
fn zincati(serve: &Serve, op: &str, token: &str, group: &str, node: &str) -> HttpResponse {
    let body = serde_json::to_string_pretty(&serde_json::json!({"client_params": {"id": node, "group": group}}))
        .expect("json");
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("fcos:{token}")));
    http(
        &serve.addr,
        "POST",
        &format!("/v1/{op}"),
        &[("fleet-lock-protocol", "true"), ("authorization", &basic)],
        body.as_bytes(),
    )
    .unwrap_or_else(|e| panic!("POST /v1/{op}: {e}"))
}

/// The `{kind, value}` of a refusal.
fn refusal(r: &HttpResponse) -> (u16, String, String) {
    let j = r.json();
    let field = |k: &str| j[k].as_str().unwrap_or_else(|| panic!("no `{k}` in {}", r.text())).to_owned();
    (r.status, field("kind"), field("value"))
}

fn runs(serve: &Serve, group: &str) -> Vec<Value> {
    serve.admin_ok("GET", &format!("/api/v1/campaigns/{group}/runs"), "application/json", b"")["runs"]
        .as_array()
        .expect("runs")
        .clone()
}

fn setup(serve: &Serve) {
    serve.admin_ok("POST", "/api/v1/inventory", "application/toml", inventory().as_bytes());
    publish(serve, &group("fcos", "probe", &format!("global = {PROBE_SLOTS}")), "fcos");
    publish(serve, &group("shop", "shop", ""), "shop");
    publish(serve, &group("rush", "rush", &format!("global = {RUSH_SLOTS}")), "rush");
}

/// 1,000 pre-reboots at once, from as many connections: never more holders than allowed,
/// and exactly as many as allowed (the others are told `limit_reached`).
fn rush(serve: &Serve, token: &str) {
    let granted = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..RUSH)
        .map(|i| {
            let (granted, refused) = (granted.clone(), refused.clone());
            let (addr, token) = (serve.addr.clone(), token.to_owned());
            std::thread::spawn(move || {
                let node = format!("rush{i:04}");
                let body =
                    format!("{{\n  \"client_params\": {{\n    \"id\": \"{node}\",\n    \"group\": \"rush\"\n  }}\n}}");
                let basic =
                    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("fcos:{token}")));
                let headers = [("fleet-lock-protocol", "true"), ("authorization", basic.as_str())];
                // A connection refused under the load is tried again, as Zincati would.
                for _ in 0..50 {
                    match http(&addr, "POST", "/v1/pre-reboot", &headers, body.as_bytes()) {
                        Ok(r) if r.status == 200 => return granted.lock().unwrap().push(node),
                        Ok(r) => return refused.lock().unwrap().push(refusal(&r).1),
                        Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                    }
                }
                panic!("{node}: no answer");
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread");
    }
    let granted = granted.lock().unwrap().clone();
    let refused = refused.lock().unwrap().clone();
    assert_eq!(granted.len(), RUSH_SLOTS, "holders granted under 1,000 concurrent pre-reboots");
    assert_eq!(refused.len(), RUSH - RUSH_SLOTS);
    assert!(refused.iter().all(|k| k == "limit_reached"), "{refused:?}");
    let open: Vec<Value> = runs(serve, "rush").into_iter().filter(|r| r["state"] == "running").collect();
    assert_eq!(open.len(), RUSH_SLOTS);
    for node in &granted {
        assert_eq!(zincati(serve, "steady-state", token, "rush", node).status, 200);
    }
    assert!(runs(serve, "rush").iter().all(|r| r["state"] == "done"));
}

#[test]
fn zincati_takes_locks_inside_windows_and_limits_on_sqlite() {
    let dir = TempDir::new("forewarn-fleetlock");
    let db = dir.path().join("forewarn.db");

    let serve = Serve::start(&db, &[], &[]);
    setup(&serve);
    let token = fleetlock_token(&serve.database, "fcos");
    let shop = fleetlock_token(&serve.database, "shop");

    // What Zincati sends, from the probe: recursive lock, non-holder unlock, errors as
    // {kind, value}, malformed bodies, the missing header, a storm of 400.
    if support::find_program("python3").is_some() {
        let base = format!("http://fcos:{token}@{}/", serve.addr);
        let out = Command::new("python3")
            .args([PROBE, &base, "fcos", &PROBE_SLOTS.to_string(), "probe"])
            .output()
            .expect("run the FleetLock probe");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "the probe failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("400 concurrent requests granted 3"), "{stdout}");
    } else {
        support::cannot_run("the FleetLock probe", "python3 is not installed");
    }

    // Outside the node's window (22:00-23:00; the service's clock reads 09:00 Berlin).
    let r = zincati(&serve, "pre-reboot", &shop, "shop", "night01");
    let (status, kind, value) = refusal(&r);
    assert_eq!((status, kind.as_str()), (409, "outside_maintenance_window"));
    assert!(
        value.contains("`night01` is outside its maintenance window (Mon-Sun 22:00-23:00 Europe/Berlin)"),
        "{value}"
    );
    assert!(value.contains("it next opens Mon 22 Feb 2027 22:00 CET"), "{value}");

    // The inventory's fleetlock_id names web01; the redundancy group holds web02 back.
    assert_eq!(zincati(&serve, "pre-reboot", &shop, "shop", "4b1c9e0f2d8a4e6b9c3f7a1d5e2b8c04").status, 200);
    let (status, kind, value) = refusal(&zincati(&serve, "pre-reboot", &shop, "shop", "web02"));
    assert_eq!((status, kind.as_str()), (409, "limit_reached"));
    assert!(value.contains("per_group = 1 in redundancy group `web` is reached: `web01` down now"), "{value}");
    let (status, kind, _) = refusal(&zincati(&serve, "pre-reboot", &shop, "shop", "nobody"));
    assert_eq!((status, kind.as_str()), (404, "unknown_node"));
    // A node its agent reported (from /etc/machine-id) is found too: web02, held back.
    let out = Command::new(BIN)
        .args(["token", "create", "--name", "web02 agent", "--machine", "web02", "--database", &serve.database])
        .env_remove("FOREWARN_DATABASE")
        .output()
        .expect("run forewarn token create --machine");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let agent = String::from_utf8_lossy(&out.stdout).lines().last().expect("the token").trim().to_owned();
    let enrol = serve.request(
        "POST",
        "/agent/v1/enrol",
        &[("authorization", &format!("Bearer {agent}")), ("content-type", "application/json")],
        br#"{"boot_id": "b1", "fleetlock_id": "975228d46dc94622b9bbe16671e2b58d", "version": "forewarn 0.1.0"}"#,
    );
    assert_eq!(enrol.status, 200, "{}", enrol.text());
    let (status, kind, value) =
        refusal(&zincati(&serve, "pre-reboot", &shop, "shop", "975228d46dc94622b9bbe16671e2b58d"));
    assert_eq!((status, kind.as_str()), (409, "limit_reached"), "{value}");
    // Recorded as web01's run, with the id it asked as; released when it is back.
    let open = runs(&serve, "shop");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0]["machine"].as_str(), open[0]["state"].as_str()), (Some("web01"), Some("running")));
    assert_eq!(open[0]["node"], "4b1c9e0f2d8a4e6b9c3f7a1d5e2b8c04");
    assert_eq!(open[0]["stuck"], false);
    assert_eq!(zincati(&serve, "steady-state", &shop, "shop", "4b1c9e0f2d8a4e6b9c3f7a1d5e2b8c04").status, 200);
    let done = runs(&serve, "shop");
    assert_eq!(done[0]["state"], "done");
    assert!(done[0]["downtime_seconds"].as_i64().is_some_and(|d| d >= 0), "{done:?}");
    assert_eq!(zincati(&serve, "pre-reboot", &shop, "shop", "web02").status, 200);

    // A token reaches its own group only, and nothing of the API; no token, nothing.
    let (status, kind, _) = refusal(&zincati(&serve, "pre-reboot", &token, "shop", "web02"));
    assert_eq!((status, kind.as_str()), (403, "wrong_group"));
    let (status, kind, _) = refusal(&zincati(&serve, "pre-reboot", "fw_not-a-token", "shop", "web02"));
    assert_eq!((status, kind.as_str()), (401, "unauthorized"));
    let (status, kind, _) = refusal(&zincati(&serve, "pre-reboot", &serve.token, "shop", "web02"));
    assert_eq!((status, kind.as_str()), (401, "unauthorized"), "an API token is not a group's");
    let api = serve.request("GET", "/api/v1/campaigns", &[("authorization", &format!("Bearer {token}"))], b"");
    assert_eq!(api.status, 401, "{}", api.text());
    assert!(api.text().contains("FleetLock group `fcos`'s token"), "{}", api.text());

    // A paused group grants nothing new; its holders still unlock.
    serve.admin_ok("POST", "/api/v1/campaigns/shop/pause", "application/json", b"");
    let (status, kind, value) = refusal(&zincati(&serve, "pre-reboot", &shop, "shop", "night01"));
    assert_eq!((status, kind.as_str()), (409, "group_not_active"), "{value}");
    assert_eq!(value, "group `shop` is paused: it grants locks only while its campaign is published");
    assert_eq!(zincati(&serve, "pre-reboot", &shop, "shop", "web02").status, 200, "a holder holds, paused or not");
    // An operator frees it (audited); a second release finds nothing.
    let freed = serve.admin_ok("POST", "/api/v1/campaigns/shop/locks/web02/release", "application/json", b"");
    assert_eq!((freed["state"].as_str(), freed["machine"].as_str()), (Some("released"), Some("web02")));
    assert!(freed["released_by"].as_str().is_some_and(|b| b.starts_with("token:")), "{freed}");
    let again = serve.admin("POST", "/api/v1/campaigns/shop/locks/web02/release", "application/json", b"");
    assert_eq!(again.status, 404, "{}", again.text());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let audit = runtime.block_on(async {
        let store = forewarn_store::Store::open(&serve.database).await.expect("the database");
        store.audit(1).await.expect("the audit log")
    });
    assert_eq!((audit[0].action.as_str(), audit[0].subject.as_str()), ("lock.release", "shop"));
    assert_eq!(zincati(&serve, "steady-state", &shop, "shop", "web02").status, 200);

    let rush_token = fleetlock_token(&serve.database, "rush");
    rush(&serve, &rush_token);

    let metrics = serve.get("/metrics").text();
    assert!(
        metrics.contains("forewarn_fleetlock_requests_total{op=\"pre-reboot\",result=\"limit_reached\"}"),
        "{metrics}"
    );
}

#[test]
fn a_thousand_concurrent_pre_reboots_on_postgres_grant_no_more_than_allowed() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let Some(pg) = runtime.block_on(TestPostgres::start()) else { return };
    let url = pg.url().to_owned();
    let a = Serve::start_on(&url, &[], &[]);
    setup(&a);
    // Two instances on one database, as behind a load balancer: grants are one at a time
    // across them.
    let b = Serve::start_on(&url, &[], &[]);
    let token = fleetlock_token(&url, "rush");
    let granted = Arc::new(Mutex::new(0usize));
    let threads: Vec<_> = (0..RUSH)
        .map(|i| {
            let granted = granted.clone();
            let addr = if i % 2 == 0 { a.addr.clone() } else { b.addr.clone() };
            let token = token.clone();
            std::thread::spawn(move || {
                let body = format!(
                    "{{\n  \"client_params\": {{\n    \"id\": \"rush{i:04}\",\n    \"group\": \"rush\"\n  }}\n}}"
                );
                let basic =
                    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("fcos:{token}")));
                let headers = [("fleet-lock-protocol", "true"), ("authorization", basic.as_str())];
                for _ in 0..50 {
                    match http(&addr, "POST", "/v1/pre-reboot", &headers, body.as_bytes()) {
                        Ok(r) if r.status == 200 => return *granted.lock().unwrap() += 1,
                        Ok(r) => {
                            assert_eq!(refusal(&r).1, "limit_reached", "{}", r.text());
                            return;
                        }
                        Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                    }
                }
                panic!("rush{i:04}: no answer");
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread");
    }
    assert_eq!(*granted.lock().unwrap(), RUSH_SLOTS);
    let open = runs(&a, "rush").into_iter().filter(|r| r["state"] == "running").count();
    assert_eq!(open, RUSH_SLOTS);
}
