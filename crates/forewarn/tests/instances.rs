//! Several `forewarn serve` instances on one PostgreSQL database (a throwaway cluster of the
//! system's binaries), as behind a load balancer: they share the delivery of the outbox, the
//! rounds of the schedule run once for all, moves through different instances never undo
//! each other, and an instance whose database goes away answers 503 to writes, keeps serving
//! its cached pages, and recovers by itself when the database is back.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;

use forewarn_store::testing::TestPostgres;
use serde_json::{Value, json};
use support::{
    ARRIVAL, Demo, HttpResponse, POLL, Serve, SmtpSink, TempDir, WebhookSink, cannot_run, poll_until, python_can,
};

const BIN: &str = env!("CARGO_BIN_EXE_forewarn");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

/// The address every instance has behind the load balancer (links in mail and pages).
const BASE_URL: &str = "http://status.example.net";
const SECRET: &str = "s3cret-for-the-instances";

/// A throwaway PostgreSQL cluster, or `None` when the test cannot run here (said so; under
/// CI=true it fails instead).
fn postgres(runtime: &tokio::runtime::Runtime) -> Option<TestPostgres> {
    runtime.block_on(TestPostgres::start())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

/// The prefix of a message key (`{event}.{n}@{domain}`): the event that caused it.
fn event_of(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
}

/// Webhook deliveries by event type: the distinct event ids (a delivery may repeat).
fn webhook_events(hooks: &WebhookSink) -> BTreeMap<String, BTreeSet<String>> {
    let mut events: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in hooks.records().iter() {
        let kind = r["json"]["type"].as_str().unwrap_or("(none)").to_owned();
        let id = r["json"]["id"].as_str().map_or_else(|| r["json"]["id"].to_string(), str::to_owned);
        events.entry(kind).or_default().insert(id);
    }
    events
}

/// Waits until nothing is pending in the outbox (slow is fine: the cap is a hang guard).
#[track_caller]
fn drained(serve: &Serve, what: &str) {
    poll_until(what, ARRIVAL, || match serve.outbox_count("pending") {
        0 => Ok(()),
        n => Err(format!("{n} messages pending")),
    });
}

/// A slot of the published plan.
#[derive(Clone, Debug)]
struct Slot {
    machine: String,
    start: jiff::Timestamp,
}

#[track_caller]
fn plan_slots(serve: &Serve, id: &str) -> Vec<Slot> {
    let plan = serve.admin_ok("GET", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b"");
    let mut slots: Vec<Slot> = plan["slots"]
        .as_array()
        .unwrap_or_else(|| panic!("a plan without slots: {plan}"))
        .iter()
        .map(|s| Slot {
            machine: s["machine"].as_str().expect("a machine campaign").to_owned(),
            start: s["start"].as_str().unwrap().parse().unwrap(),
        })
        .collect();
    slots.sort_by(|a, b| a.machine.cmp(&b.machine));
    slots
}

fn move_request(serve: &Serve, id: &str, machine: &str, start: jiff::Timestamp, preview: bool) -> HttpResponse {
    let query = if preview { "?preview=true" } else { "" };
    let body = json!({ "start": start.to_string() }).to_string();
    serve.admin("POST", &format!("/api/v1/campaigns/{id}/slots/{machine}{query}"), "application/json", body.as_bytes())
}

/// A start that `machine`'s slot may move to (1 to 4 days later, the service says so in a
/// rehearsal), or `None`.
fn valid_move(serve: &Serve, id: &str, slot: &Slot, days: &[i64]) -> Option<jiff::Timestamp> {
    days.iter().map(|d| slot.start + jiff::SignedDuration::from_hours(24 * d)).find(|start| {
        let r = move_request(serve, id, &slot.machine, *start, true);
        match r.status {
            200 => true,
            422 => false,
            status => panic!("previewing a move of {} answered {status}: {}", slot.machine, r.text()),
        }
    })
}

/// Three instances on one PostgreSQL database, one SMTP sink each (so that each one's share
/// is seen) and a webhook sink. A fleet's campaign is published through the first: its
/// publication and the reminders (due at once: `reminder` covers the whole campaign) are
/// delivered by all three while the second is killed with SIGKILL in the middle of sending
/// and started again. Every message arrives, no Message-ID under two bodies, the reminders
/// went out once. Then moves through two instances at once, repeated: none undoes another.
/// Then the three start again after the campaign's last slot: slot progress and the
/// campaign's completion are told once.
#[test]
fn three_instances_share_one_database() {
    const TEST: &str = "three_instances_share_one_database";
    if let Err(why) = python_can("import aiosmtpd, icalendar") {
        return cannot_run(TEST, &why);
    }
    let runtime = runtime();
    let Some(pg) = postgres(&runtime) else { return };
    let database = pg.url().to_owned();
    let tmp = TempDir::new("forewarn-instances");

    // A fleet whose publication tells a few hundred contacts: more than one delivery round
    // (256 messages) of each instance, so that all three take a share.
    let out = Command::new(BIN)
        .args(["fleet", "generate", "--machines", "4000", "--seed", "7", "--out"])
        .arg(tmp.path())
        .output()
        .expect("run forewarn fleet generate");
    assert!(out.status.success(), "fleet generate failed: {}", String::from_utf8_lossy(&out.stderr));
    let inventory = std::fs::read(tmp.path().join("inventory.json")).unwrap();
    let campaign = std::fs::read(tmp.path().join("campaign.toml")).unwrap();

    // Each instance its own relay, slow enough (50 ms a message) that a round outlasts the
    // moment the others need to join in.
    let sinks: Vec<SmtpSink> =
        (0..3).map(|i| SmtpSink::start(tmp.path(), &format!("smtp{i}"), &["--brief", "--delay", "0.05"])).collect();
    let hooks = WebhookSink::start(tmp.path(), "webhooks", SECRET);
    let config = tmp.path().join("forewarn.toml");
    std::fs::write(&config, format!("webhooks = [{{ url = \"{}\", secret = \"{SECRET}\" }}]\n", hooks.url("/hook")))
        .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let env = [
        ("FOREWARN_DELIVERY_BACKOFF", "1s"),
        ("FOREWARN_DELIVERY_LEASE", "8s"),
        ("FOREWARN_REMINDER", "720h"),
        ("FOREWARN_MAIL_FROM", "forewarn <status@example.net>"),
    ];
    // The three start at the same time: their clocks, each starting at `now`, agree to within
    // their start-up.
    let instances = |now: &str| -> Vec<Serve> {
        std::thread::scope(|s| {
            let starting: Vec<_> = sinks
                .iter()
                .map(|sink| {
                    let (config, database, url) = (config.clone(), database.clone(), sink.url());
                    s.spawn(move || {
                        let args = ["--config", &config, "--smtp", &url, "--base-url", BASE_URL, "--now", now];
                        Serve::start_on(&database, &args, &env)
                    })
                })
                .collect();
            starting.into_iter().map(|t| t.join().expect("an instance started")).collect()
        })
    };

    // Publication and reminders, delivered by all three; the second killed meanwhile.
    let mut serves = instances(support::SERVE_NOW);
    let (a, c) = (0, 2);
    serves[a].admin_ok("POST", "/api/v1/inventory", "application/json", &inventory);
    let created = serves[a].admin_ok("POST", "/api/v1/campaigns", "application/toml", &campaign);
    let id = created["id"].as_str().unwrap().to_owned();
    serves[a].admin_ok("POST", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b"");
    serves[a].admin_ok("POST", &format!("/api/v1/campaigns/{id}/publish"), "application/json", b"");
    poll_until("the second instance delivers", ARRIVAL, || match sinks[1].records().len() {
        0 => Err("nothing yet".to_owned()),
        _ => Ok(()),
    });
    serves[1].kill9();
    serves[1].restart();
    drained(&serves[a], "every message delivered after the kill");

    let sent = serves[c].outbox("sent");
    let mut outbox: HashMap<String, String> = HashMap::new();
    for m in sent.iter().filter(|m| m["channel"] == "email") {
        let key = m["key"].as_str().unwrap().to_owned();
        assert!(outbox.insert(key.clone(), m["recipient"].as_str().unwrap().to_ascii_lowercase()).is_none());
    }
    let mut copies: HashMap<String, Vec<Value>> = HashMap::new();
    for (i, sink) in sinks.iter().enumerate() {
        let records = sink.records();
        assert!(!records.is_empty(), "instance {i} delivered nothing: the three did not share the work");
        for r in records.iter() {
            copies.entry(r["key"].as_str().unwrap_or("").to_owned()).or_default().push(r.clone());
        }
    }
    let missing: Vec<&String> = outbox.keys().filter(|k| !copies.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} sent messages never arrived, e.g. {:?}",
        missing.len(),
        &missing[..5.min(missing.len())]
    );
    let mut repeats = 0;
    for (key, list) in &copies {
        let to = outbox.get(key).unwrap_or_else(|| panic!("{key} arrived but the outbox never sent it"));
        for r in list {
            assert_eq!(r["sha256"], list[0]["sha256"], "{key} arrived under two bodies");
            assert!(r["rcpt_to"].as_str().unwrap().eq_ignore_ascii_case(to), "{key} went to {}", r["rcpt_to"]);
        }
        repeats += list.len() - 1;
    }
    // Told once and reminded once: two events, each one message to every contact.
    let mut by_event: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (key, to) in &outbox {
        assert!(by_event.entry(event_of(key)).or_default().insert(to.as_str()), "{to} got two messages of one event");
    }
    assert_eq!(by_event.len(), 2, "the publication and one round of reminders: {:?}", by_event.keys());
    let told: Vec<&BTreeSet<&str>> = by_event.values().collect();
    assert!(told[1].is_subset(told[0]), "the reminders went to contacts told of the campaign");
    eprintln!(
        "{TEST}: {} messages to {} contacts, sent by three instances ({} / {} / {}), {repeats} sent again after the kill",
        outbox.len(),
        told[0].len(),
        sinks[0].records().len(),
        sinks[1].records().len(),
        sinks[2].records().len()
    );

    // Moves through two instances at once. Different slots: both are made (the second on
    // the plan the first published), neither undoes the other. The same slot: one is made;
    // the other is refused, or made after it (then it is the one that stands).
    let slots = plan_slots(&serves[a], &id);
    let mut moves: Vec<(Slot, jiff::Timestamp, jiff::Timestamp)> = Vec::new();
    for slot in slots.iter().step_by(97) {
        if moves.len() == 5 {
            break;
        }
        if let Some(one) = valid_move(&serves[a], &id, slot, &[1])
            && let Some(two) = valid_move(&serves[a], &id, slot, &[2])
        {
            moves.push((slot.clone(), one, two));
        }
    }
    assert_eq!(moves.len(), 5, "five slots that may move by one and by two days");
    let at_once = |left: (&str, jiff::Timestamp), right: (&str, jiff::Timestamp)| -> (HttpResponse, HttpResponse) {
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            let l = s.spawn(|| {
                barrier.wait();
                move_request(&serves[a], &id, left.0, left.1, false)
            });
            let r = s.spawn(|| {
                barrier.wait();
                move_request(&serves[c], &id, right.0, right.1, false)
            });
            (l.join().unwrap(), r.join().unwrap())
        })
    };
    let mut expect: BTreeMap<String, jiff::Timestamp> = BTreeMap::new();
    let mut versions = BTreeSet::new();
    for pair in [(0, 1), (2, 3), (1, 2)] {
        let (x, y) = (&moves[pair.0], &moves[pair.1]);
        // Pairs moved before move again by a further day: each move changes its slot.
        let (xs, ys) = if expect.contains_key(&x.0.machine) { (x.2, y.2) } else { (x.1, y.1) };
        let (l, r) = at_once((&x.0.machine, xs), (&y.0.machine, ys));
        for (answer, machine, start) in [(&l, &x.0.machine, xs), (&r, &y.0.machine, ys)] {
            assert_eq!(answer.status, 200, "moving {machine} to {start}: {}", answer.text());
            assert!(versions.insert(answer.json()["plan_version"].as_i64().unwrap()), "two moves, one plan version");
            expect.insert(machine.clone(), start);
        }
    }
    let same = &moves[4];
    let (l, r) = at_once((&same.0.machine, same.1), (&same.0.machine, same.2));
    let made: Vec<(i64, jiff::Timestamp)> = [(&l, same.1), (&r, same.2)]
        .into_iter()
        .filter_map(|(answer, start)| match answer.status {
            200 => Some((answer.json()["plan_version"].as_i64().unwrap(), start)),
            409 => {
                assert!(answer.text().contains("meanwhile"), "{}", answer.text());
                None
            }
            status => panic!("moving {} answered {status}: {}", same.0.machine, answer.text()),
        })
        .collect();
    let last = made.iter().max().unwrap_or_else(|| panic!("neither move of {} was made", same.0.machine));
    expect.insert(same.0.machine.clone(), last.1);
    let now = plan_slots(&serves[c], &id);
    for (machine, start) in &expect {
        let slot = now.iter().find(|s| &s.machine == machine).unwrap();
        assert_eq!(&slot.start, start, "{machine}: a move was undone by a move through another instance");
    }
    for slot in now.iter().filter(|s| !expect.contains_key(&s.machine)) {
        let before = slots.iter().find(|b| b.machine == slot.machine).unwrap();
        assert_eq!(slot.start, before.start, "{} moved, though nobody moved it", slot.machine);
    }
    drained(&serves[a], "the moves told");
    drop(serves);

    // After the last slot: the three start together and the schedule's round runs once.
    let hooks_before = webhook_events(&hooks);
    assert!(!hooks_before.contains_key("slot.started"), "{hooks_before:?}");
    let serves = instances("2027-03-20T12:00:00+01:00");
    poll_until("slot progress and the completion told", ARRIVAL, || {
        let events = webhook_events(&hooks);
        let pending = serves[0].outbox_count("pending");
        let told = ["slot.started", "slot.finished", "campaign.completed"].iter().all(|t| events.contains_key(*t));
        if told && pending == 0 { Ok(()) } else { Err(format!("{pending} pending; events: {:?}", events.keys())) }
    });
    let events = webhook_events(&hooks);
    for kind in ["slot.started", "slot.finished", "campaign.completed", "campaign.published"] {
        assert_eq!(events[kind].len(), 1, "{kind} told {} times: {:?}", events[kind].len(), events[kind]);
    }
    drop(serves);
    drop(pg);
}

/// One instance on PostgreSQL, its database stopped (as `pg_ctl stop -m fast`) and started
/// again under it: meanwhile writes answer 503 saying the database cannot be reached, the
/// status page it rendered before is still served, `/healthz` says the database is
/// unreachable; once it is back, the instance works again without a restart.
#[test]
fn an_instance_outlives_its_database_going_away() {
    let runtime = runtime();
    let Some(mut pg) = postgres(&runtime) else { return };
    let serve = Serve::start_on(pg.url(), &[], &[]);
    let inventory = std::fs::read(format!("{EXAMPLES}/inventory.toml")).unwrap();
    serve.admin_ok("POST", "/api/v1/inventory", "application/toml", &inventory);
    let notice = |title: &str| json!({ "kind": "notice", "title": title, "body": "Read this." }).to_string();
    serve.admin_ok("POST", "/api/v1/posts", "application/json", notice("Before").as_bytes());
    let page = serve.get("/").text();
    assert!(page.contains("Before"));

    pg.stop();
    let r = serve.admin("POST", "/api/v1/posts", "application/json", notice("During").as_bytes());
    assert_eq!(r.status, 503, "a write while the database is away: {}", r.text());
    let error = r.json();
    assert_eq!(error["error"], "unavailable", "{error}");
    assert!(error["message"].as_str().unwrap().contains("database cannot be reached"), "{error}");
    assert_eq!(r.header("retry-after"), Some("5"));
    let health = serve.request("GET", "/healthz", &[], b"");
    assert_eq!(health.status, 503);
    assert!(health.text().contains("database unreachable"), "{}", health.text());
    // Past the pages' few seconds of freshness (the write above waited 5 s for a
    // connection), and later again: still the page as rendered last.
    for _ in 0..2 {
        let r = serve.request("GET", "/", &[], b"");
        assert_eq!((r.status, r.text()), (200, page.clone()), "the cached status page while the database is away");
        std::thread::sleep(POLL * 30);
    }

    runtime.block_on(pg.start_again()).expect("postgres starts again");
    poll_until("/healthz answers 200 again", ARRIVAL, || match serve.request("GET", "/healthz", &[], b"").status {
        200 => Ok(()),
        status => Err(format!("/healthz answers {status}")),
    });
    serve.admin_ok("POST", "/api/v1/posts", "application/json", notice("After").as_bytes());
    poll_until("the status page shows the post written after", ARRIVAL, || {
        let page = serve.get("/").text();
        if page.contains("After") { Ok(()) } else { Err("not yet".to_owned()) }
    });
}

/// `forewarn demo --database postgres://...` tells its story into that database (kept after
/// it), and refuses one that has data already.
#[test]
fn the_demo_runs_on_postgres() {
    let runtime = runtime();
    let Some(pg) = postgres(&runtime) else { return };
    let mut demo = Demo::start_with(support::DEMO_NOW, &["--database", pg.url()]);
    assert!(demo.lines.iter().any(|l| l.contains("database") && l.contains("(kept)")), "{:?}", demo.lines);
    let page = demo.get("/").text();
    assert!(page.contains("Operating system update"), "the demo's campaign on its status page:\n{page}");
    assert!(demo.terminate(), "the demo stops cleanly on SIGTERM");

    let again = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--now", support::DEMO_NOW, "--database", pg.url()])
        .env_remove("FOREWARN_NOW")
        .output()
        .expect("run forewarn demo");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "a second demo into the same database: {stderr}");
    assert!(stderr.contains("empty database"), "{stderr}");
}
