//! Telling people, end to end: the built `forewarn serve` sends its mail to an SMTP sink
//! (`support/smtp_sink.py`, aiosmtpd on 127.0.0.1) and its webhook events to a webhook sink
//! (`support/webhook_sink.py`), and what arrives is taken apart by real parsers (Python's
//! `email` with policy=default, `icalendar`) and checked as a contact, a subscriber or a
//! receiving system would notice it: who got what, which machines at which times, the
//! calendar's UIDs, SEQUENCE and METHOD, the outbox's account of it all, and that nothing is
//! lost nor shown twice when the relay is down, an address is refused, or the service is
//! killed with SIGKILL in the middle of delivering.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::process::Command;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use serde_json::{Value, json};
use support::{ARRIVAL, POLL, Serve, SmtpSink, TempDir, WebhookSink, cannot_run, poll_until, python_can};

const BIN: &str = env!("CARGO_BIN_EXE_forewarn");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

/// Who the service's mail comes from in these tests (`FOREWARN_MAIL_FROM`), and its address.
const MAIL_FROM: &str = "forewarn <status@example.net>";
const SENDER: &str = "status@example.net";

/// The service's environment: a failed delivery is tried again after 1 s, then 2 s, 4 s...,
/// `attempts` times in all before the message is dead.
fn env(attempts: &'static str) -> [(&'static str, &'static str); 3] {
    [("FOREWARN_DELIVERY_BACKOFF", "1s"), ("FOREWARN_DELIVERY_ATTEMPTS", attempts), ("FOREWARN_MAIL_FROM", MAIL_FROM)]
}

/// Whether the sinks can run here (aiosmtpd and icalendar); if not, the test is skipped, or
/// fails under CI=true.
fn sinks_can_run(test: &str) -> bool {
    match python_can("import aiosmtpd, icalendar") {
        Ok(()) => true,
        Err(why) => {
            cannot_run(test, &why);
            false
        }
    }
}

/// A line past the test harness's capture: figures a reader of the CI log wants to see.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

// ---------------------------------------------------------------------------
// The platform as the inventory file says it: who is told about which machine.

/// A customer's contact, with the zone their mail's times are in (their own, else their
/// customer's, else the platform's).
#[derive(Clone, Debug)]
struct Contact {
    /// In lower case.
    email: String,
    zone: String,
    customer: String,
}

#[derive(Debug)]
struct Platform {
    contacts: Vec<Contact>,
    /// Machine id to customer id, through the machine's project.
    customer_of: HashMap<String, String>,
}

impl Platform {
    #[track_caller]
    fn from(inventory: &Value) -> Platform {
        let zone = inventory["platform"]["time_zone"].as_str().unwrap_or("UTC").to_owned();
        let list = |key: &str| inventory[key].as_array().cloned().unwrap_or_default();
        let mut contacts = Vec::new();
        for c in list("customers") {
            let customer = c["id"].as_str().expect("a customer's id").to_owned();
            let customer_zone = c["time_zone"].as_str();
            for k in c["contacts"].as_array().into_iter().flatten() {
                contacts.push(Contact {
                    email: k["email"].as_str().expect("a contact's email").to_ascii_lowercase(),
                    zone: k["time_zone"].as_str().or(customer_zone).unwrap_or(&zone).to_owned(),
                    customer: customer.clone(),
                });
            }
        }
        let project_customer: HashMap<String, String> = list("projects")
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_owned(), p["customer"].as_str().unwrap().to_owned()))
            .collect();
        let customer_of = list("machines")
            .iter()
            .map(|m| (m["id"].as_str().unwrap().to_owned(), project_customer[m["project"].as_str().unwrap()].clone()))
            .collect();
        Platform { contacts, customer_of }
    }

    fn contacts_of(&self, customer: &str) -> Vec<&Contact> {
        self.contacts.iter().filter(|c| c.customer == customer).collect()
    }
}

/// A slot of a plan, as `GET /api/v1/campaigns/{id}/plan` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    machine: String,
    start: Timestamp,
    end: Timestamp,
}

#[track_caller]
fn instant(v: &Value) -> Timestamp {
    let s = v.as_str().unwrap_or_else(|| panic!("not an instant: {v}"));
    s.parse().unwrap_or_else(|e| panic!("`{s}` is not an RFC 3339 instant: {e}"))
}

#[track_caller]
fn slots(plan: &Value) -> Vec<Slot> {
    let list = plan["slots"].as_array().unwrap_or_else(|| panic!("a plan without `slots`: {plan}"));
    let mut slots: Vec<Slot> = list
        .iter()
        .map(|s| Slot {
            machine: s["machine"].as_str().unwrap_or_else(|| panic!("a slot without `machine`: {s}")).to_owned(),
            start: instant(&s["start"]),
            end: instant(&s["end"]),
        })
        .collect();
    slots.sort_by(|a, b| a.machine.cmp(&b.machine));
    slots
}

/// What one contact is told: their customer's slotted machines.
#[derive(Clone, Debug)]
struct Told {
    contact: Contact,
    slots: Vec<Slot>,
}

/// Every contact whose customer has a machine with a slot, by address.
fn told(platform: &Platform, slots: &[Slot]) -> BTreeMap<String, Told> {
    let mut by_customer: HashMap<&str, Vec<Slot>> = HashMap::new();
    for s in slots {
        let customer = platform.customer_of.get(&s.machine).unwrap_or_else(|| panic!("{} is in no project", s.machine));
        by_customer.entry(customer).or_default().push(s.clone());
    }
    platform
        .contacts
        .iter()
        .filter_map(|c| {
            let slots = by_customer.get(c.customer.as_str())?.clone();
            Some((c.email.clone(), Told { contact: c.clone(), slots }))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Files: the sample platform, a generated fleet, campaigns kept ahead of today.

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

#[track_caller]
fn toml_as_json(text: &str) -> Value {
    let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("not TOML: {e}"));
    serde_json::to_value(table).expect("TOML as JSON")
}

/// The sample platform of `examples/`: its inventory (TOML) and its OS update.
#[derive(Debug)]
struct Sample {
    inventory: String,
    platform: Platform,
    campaign: String,
}

impl Sample {
    fn load() -> Sample {
        Sample::with_inventory(read(&format!("{EXAMPLES}/inventory.toml")))
    }

    fn with_inventory(inventory: String) -> Sample {
        let json = toml_as_json(&inventory);
        // As written: the services run at a fixed time before its publication (support::SERVE_NOW).
        let campaign = read(&format!("{EXAMPLES}/os-update.toml"));
        Sample { platform: Platform::from(&json), inventory, campaign }
    }
}

// ---------------------------------------------------------------------------
// The API as an operator drives it.

/// Imports the inventory, creates the campaign and plans it; gives its id and the plan's slots.
#[track_caller]
fn create_and_plan(serve: &Serve, inventory: &[u8], inventory_type: &str, campaign: &str) -> (String, Vec<Slot>) {
    serve.admin_ok("POST", "/api/v1/inventory", inventory_type, inventory);
    let created = serve.admin_ok("POST", "/api/v1/campaigns", "application/toml", campaign.as_bytes());
    let id =
        created["id"].as_str().unwrap_or_else(|| panic!("POST /api/v1/campaigns gave no `id`: {created}")).to_owned();
    serve.admin_ok("POST", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b"");
    let slots = slots(&serve.admin_ok("GET", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b""));
    assert!(!slots.is_empty(), "the plan of `{id}` has no slot");
    (id, slots)
}

#[track_caller]
fn publish(serve: &Serve, id: &str) {
    serve.admin_ok("POST", &format!("/api/v1/campaigns/{id}/publish"), "application/json", b"");
}

/// The first few messages of the outbox in a state, for failure messages.
fn outbox_glimpse(serve: &Serve, state: &str) -> String {
    let list = serve.outbox(state);
    let shown: Vec<String> = list
        .iter()
        .take(5)
        .map(|m| {
            format!(
                "  {} {} to {} ({}): attempts {}, error {}",
                m["id"], m["channel"], m["recipient"], m["subject"], m["attempts"], m["error"]
            )
        })
        .collect();
    format!("{} {state} in the outbox{}{}", list.len(), if shown.is_empty() { "" } else { ":\n" }, shown.join("\n"))
}

/// How many messages each address got, in lower case.
fn counts(sink: &SmtpSink) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in sink.records().iter() {
        *counts.entry(r["rcpt_to"].as_str().unwrap_or("(none)").to_ascii_lowercase()).or_insert(0) += 1;
    }
    counts
}

/// Waits until every address of `expect` got at least its number of messages and the outbox
/// has nothing pending (so nothing more is on its way); then every address must have got
/// exactly its number, and nobody else anything.
#[track_caller]
fn settle(serve: &Serve, sink: &SmtpSink, expect: &BTreeMap<String, usize>, what: &str) {
    poll_until(what, ARRIVAL, || {
        let got = counts(sink);
        let short: Vec<String> = expect
            .iter()
            .filter(|(to, n)| got.get(*to).copied().unwrap_or(0) < **n)
            .map(|(to, n)| format!("{to}: {} of {n}", got.get(to).copied().unwrap_or(0)))
            .collect();
        let pending = serve.outbox_count("pending");
        if short.is_empty() && pending == 0 {
            return Ok(());
        }
        Err(format!("still missing: {short:?}\n{}", outbox_glimpse(serve, "pending")))
    });
    let got = counts(sink);
    let want: BTreeMap<String, usize> = expect.iter().filter(|(_, n)| **n > 0).map(|(k, n)| (k.clone(), *n)).collect();
    assert_eq!(got, want, "{what}: messages per address (got, expected)");
}

/// The outbox's sent emails must be what the sink received: the same (key, recipient) pairs,
/// each once; nothing pending nor dead; `/metrics` agreeing with the listing.
#[track_caller]
fn outbox_matches_sink(serve: &Serve, sink: &SmtpSink) {
    let sent = serve.outbox("sent");
    assert_eq!(sent.len() as u64, serve.outbox_count("sent"), "GET /api/v1/outbox?state=sent lists every sent message");
    assert_eq!(serve.outbox_count("pending"), 0, "{}", outbox_glimpse(serve, "pending"));
    assert_eq!(serve.outbox_count("dead"), 0, "{}", outbox_glimpse(serve, "dead"));
    let outbox: BTreeSet<(String, String)> = sent
        .iter()
        .filter(|m| m["channel"] == "email")
        .map(|m| (m["key"].as_str().unwrap().to_owned(), m["recipient"].as_str().unwrap().to_ascii_lowercase()))
        .collect();
    let arrived: Vec<(String, String)> = sink
        .records()
        .iter()
        .map(|r| (r["key"].as_str().unwrap_or("").to_owned(), r["rcpt_to"].as_str().unwrap_or("").to_ascii_lowercase()))
        .collect();
    let arrived_set: BTreeSet<(String, String)> = arrived.iter().cloned().collect();
    assert_eq!(arrived.len(), arrived_set.len(), "a Message-ID arrived twice for one recipient: {arrived:#?}");
    assert_eq!(arrived_set, outbox, "the sink received (Message-ID, recipient) what the outbox says it sent");
}

// ---------------------------------------------------------------------------
// Reading a message as its recipient's mail client would.

/// A header's value (decoded by the sink), by name without regard to case.
fn header<'a>(m: &'a Value, name: &str) -> Option<&'a str> {
    m["headers"].as_array()?.iter().find_map(|h| {
        let pair = h.as_array()?;
        pair.first()?.as_str()?.eq_ignore_ascii_case(name).then(|| pair.get(1)?.as_str()).flatten()
    })
}

fn text<'a>(m: &'a Value, part: &str) -> &'a str {
    m[part].as_str().unwrap_or("")
}

/// Whether `text` names `id` as a word of its own: not as part of a longer id (`web01` is not
/// named by `booking-web01`).
fn mentions(text: &str, id: &str) -> bool {
    let is_id = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(id).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(is_id) && !text[i + id.len()..].chars().next().is_some_and(is_id)
    })
}

/// A message every recipient can read: parsed without defects, multipart with a text/plain
/// and a text/html part in UTF-8, a Message-ID `<key>`, from the configured sender, to them.
#[track_caller]
fn check_shape(m: &Value) {
    let to = m["rcpt_to"].as_str().unwrap_or("(none)");
    assert!(m.get("error").is_none(), "the sink could not parse the mail to {to}: {}", m["error"]);
    assert_eq!(m["defects"], json!([]), "Python's email parser found defects in the mail to {to}: {m:#}");
    assert!(
        m["content_type"].as_str().is_some_and(|t| t.starts_with("multipart/")),
        "the mail to {to} is not multipart: {}",
        m["content_type"]
    );
    for ctype in ["text/plain", "text/html"] {
        let part = m["parts"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["content_type"] == ctype && p["disposition"] != "attachment"))
            .unwrap_or_else(|| panic!("the mail to {to} has no {ctype} part: {}", m["parts"]));
        assert!(
            part["charset"].as_str().is_some_and(|c| c.eq_ignore_ascii_case("utf-8")),
            "the {ctype} part of the mail to {to} is not UTF-8: {part}"
        );
    }
    assert!(!text(m, "text").trim().is_empty() && !text(m, "html").trim().is_empty(), "empty parts: {m:#}");
    let id = m["message_id"].as_str().unwrap_or("");
    let key = m["key"].as_str().unwrap_or("");
    assert!(id == format!("<{key}>") && key.contains('@'), "Message-ID of the mail to {to}: `{id}`");
    assert_eq!(m["mail_from"], SENDER, "the envelope sender (FOREWARN_MAIL_FROM)");
    assert!(m["from"].as_str().is_some_and(|f| f.contains(SENDER)), "From: {}", m["from"]);
    let to_header = m["to"].as_str().unwrap_or("");
    assert!(to_header.to_ascii_lowercase().contains(&to.to_ascii_lowercase()), "To: `{to_header}` for {to}");
}

/// A VEVENT as the sink parsed it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Event {
    uid: String,
    sequence: i64,
    start: Timestamp,
    end: Timestamp,
    status: String,
}

/// The calendar of a slot mail by machine: every text/calendar part (an inline one and an
/// attached copy alike) has `method` both in its Content-Type and as METHOD, parses without
/// errors and holds the same events; each UID is `{campaign}.{machine}@{domain}`, one a
/// machine, all with one domain.
#[track_caller]
fn calendar(m: &Value, method: &str, campaign: &str) -> BTreeMap<String, Event> {
    let to = m["rcpt_to"].as_str().unwrap_or("(none)");
    let cals = m["calendars"].as_array().cloned().unwrap_or_default();
    assert!(!cals.is_empty(), "the mail to {to} has no text/calendar part: {}", m["parts"]);
    let mut first: Option<BTreeMap<String, Event>> = None;
    for cal in &cals {
        assert_eq!(cal["errors"], json!([]), "icalendar found problems in the mail to {to}");
        assert!(
            cal["content_type_method"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(method)),
            "the calendar part of the mail to {to} is not `text/calendar; method={method}`: {cal}"
        );
        assert_eq!(cal["method"], method, "METHOD of the calendar to {to}");
        let mut events = BTreeMap::new();
        let mut domains = BTreeSet::new();
        for e in cal["events"].as_array().unwrap() {
            let uid = e["uid"].as_str().unwrap().to_owned();
            let (head, domain) = uid.rsplit_once('@').unwrap_or_else(|| panic!("UID `{uid}` has no @domain"));
            let machine = head
                .strip_prefix(&format!("{campaign}."))
                .unwrap_or_else(|| panic!("UID `{uid}` is not `{campaign}.MACHINE@DOMAIN`"))
                .to_owned();
            domains.insert(domain.to_owned());
            let event = Event {
                uid: uid.clone(),
                sequence: e["sequence"].as_i64().unwrap(),
                start: instant(&e["dtstart"]),
                end: instant(&e["dtend"]),
                status: e["status"].as_str().unwrap_or("").to_owned(),
            };
            assert!(events.insert(machine, event).is_none(), "two events with UID {uid} in the mail to {to}");
        }
        assert!(domains.len() <= 1, "UIDs with different domains: {domains:?}");
        match &first {
            None => first = Some(events),
            Some(f) => assert_eq!(f, &events, "the calendar parts of the mail to {to} disagree"),
        }
    }
    first.unwrap()
}

/// Ways a date may be written in a mail, English or German (`2027-03-02`, `2 March`,
/// `March 2`, `2. März`, `02.03.2027`, ...), and a time of day (`22:00`, `10:00 PM`).
fn date_forms(z: &ZonedDateTime) -> Vec<String> {
    const MONATE: [&str; 12] = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ];
    let mut forms: Vec<String> =
        ["%Y-%m-%d", "%-d %B", "%B %-d", "%-d %b", "%b %-d", "%d.%m.%Y", "%-d.%-m.%Y", "%d/%m/%Y", "%m/%d/%Y"]
            .iter()
            .map(|f| z.strftime(*f).to_string())
            .collect();
    forms.push(format!("{}. {}", z.day(), MONATE[z.month() as usize - 1]));
    forms.push(format!("{}.{}.", z.day(), z.month()));
    forms
}

fn clock_forms(z: &ZonedDateTime) -> Vec<String> {
    ["%H:%M", "%-H:%M", "%-I:%M %p", "%-I:%M%p", "%-I:%M %P", "%-I:%M%P"]
        .iter()
        .map(|f| z.strftime(*f).to_string())
        .collect()
}

/// Whether `form` stands in `text` not as part of a longer number.
fn has_form(text: &str, form: &str) -> bool {
    text.match_indices(form).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(|c| c.is_ascii_digit())
            && !text[i + form.len()..].chars().next().is_some_and(|c| c.is_ascii_digit())
    })
}

/// Whether `text` names the instant in `zone`: its date in some usual form and its time of day.
fn names_instant(text: &str, at: Timestamp, zone: &str) -> Result<(), String> {
    let z = at.to_zoned_datetime(forewarn_model::Zone::get(zone).expect("a time zone").tz().clone());
    let dates = date_forms(&z);
    let clocks = clock_forms(&z);
    if dates.iter().any(|f| has_form(text, f)) && clocks.iter().any(|f| has_form(text, f)) {
        return Ok(());
    }
    Err(format!("{z} is not named (as one of {dates:?} with one of {clocks:?})"))
}

// ---------------------------------------------------------------------------
// a. A campaign's story, told to its contacts.

/// Moves one slot with `POST /api/v1/campaigns/{id}/slots/{machine}` to the same time 1 to
/// 7 days later or earlier, whichever the service accepts first (it answers 422 with the
/// constraints a start would break). `None` if it accepts none.
#[track_caller]
fn move_slot(serve: &Serve, id: &str, slot: &Slot) -> Option<(Timestamp, Value)> {
    for days in 1..=7i64 {
        for sign in [1, -1] {
            let start = slot.start.checked_add(SignedDuration::from_hours(sign * days * 24)).unwrap();
            let path = format!("/api/v1/campaigns/{id}/slots/{}", slot.machine);
            let body = json!({ "start": start.to_string() }).to_string();
            let r = serve.admin("POST", &path, "application/json", body.as_bytes());
            match r.status {
                200 => return Some((start, r.json())),
                422 => assert!(!r.body.is_empty(), "422 without the violated constraints for {path} {body}"),
                status => panic!("POST {path} {body} answered {status}: {}", String::from_utf8_lossy(&r.body)),
            }
        }
    }
    None
}

#[test]
fn contacts_hear_of_their_slots_then_a_move_then_the_cancellation() {
    const TEST: &str = "contacts_hear_of_their_slots_then_a_move_then_the_cancellation";
    if !sinks_can_run(TEST) {
        return;
    }
    let tmp = TempDir::new("forewarn-notify-story");
    let sink = SmtpSink::start(tmp.path(), "smtp", &[]);
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--smtp", &sink.url()], &env("3"));
    let sample = Sample::load();
    let (id, plan) = create_and_plan(&serve, sample.inventory.as_bytes(), "application/toml", &sample.campaign);
    let told = told(&sample.platform, &plan);
    assert!(!told.is_empty(), "nobody has a machine with a slot: {plan:#?}");

    // Published: one message for each contact of a customer with a slot, listing exactly
    // their machines, with one VEVENT per slot at the planned instants.
    publish(&serve, &id);
    let mut expect: BTreeMap<String, usize> = told.keys().map(|k| (k.clone(), 1)).collect();
    settle(&serve, &sink, &expect, "one message for each told contact after publishing");
    let mut keys = BTreeSet::new();
    // The SEQUENCE and times each contact was last told, per machine.
    let mut last: BTreeMap<String, BTreeMap<String, Event>> = BTreeMap::new();
    for (to, t) in &told {
        let mail = sink.to(to).remove(0);
        check_shape(&mail);
        assert!(keys.insert(mail["key"].as_str().unwrap().to_owned()), "Message-ID used twice: {}", mail["key"]);
        for part in ["text", "html"] {
            let body = text(&mail, part);
            for s in &t.slots {
                assert!(mentions(body, &s.machine), "the {part} part to {to} does not name {}:\n{body}", s.machine);
            }
            for (machine, customer) in &sample.platform.customer_of {
                if *customer != t.contact.customer {
                    assert!(!mentions(body, machine), "the {part} part to {to} names {machine} of {customer}:\n{body}");
                }
            }
        }
        let cal = calendar(&mail, "REQUEST", &id);
        let machines: Vec<&String> = cal.keys().collect();
        let want: Vec<&String> = t.slots.iter().map(|s| &s.machine).collect();
        assert_eq!(machines, want, "one VEVENT per slot of {to}'s customer");
        for s in &t.slots {
            let e = &cal[&s.machine];
            assert_eq!((e.start, e.end), (s.start, s.end), "{to}: the event of {} is the planned slot", s.machine);
            assert_eq!(e.sequence, 0, "{to}: the first time {} is told: {e:?}", s.machine);
        }
        last.insert(to.clone(), cal);
    }
    outbox_matches_sink(&serve, &sink);

    // One slot moves: the contacts of its customer get one update (SEQUENCE 1, the new
    // DTSTART, the old and the new time in words); nobody else hears of it.
    let contacts_per_customer = |s: &Slot| sample.platform.contacts_of(&sample.platform.customer_of[&s.machine]).len();
    let mut order: Vec<&Slot> = plan.iter().collect();
    order.sort_by_key(|s| (std::cmp::Reverse(contacts_per_customer(s)), s.machine.clone()));
    let (old, (new_start, answer)) = order
        .iter()
        .find_map(|s| move_slot(&serve, &id, s).map(|moved| (*s, moved)))
        .unwrap_or_else(|| panic!("no slot of the plan could be moved by 1 to 7 days: {plan:#?}"));
    let new_end = new_start.checked_add(old.end.duration_since(old.start)).unwrap();
    assert_eq!(answer["target"], old.machine.as_str(), "{answer}");
    assert_eq!((instant(&answer["start"]), instant(&answer["end"])), (new_start, new_end), "{answer}");
    assert_eq!(answer["sequence"], 1, "the first change of a slot: {answer}");
    assert!(answer["plan_version"].is_i64(), "{answer}");
    let replanned = slots(&serve.admin_ok("GET", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b""));
    for s in &replanned {
        let want = if s.machine == old.machine {
            Slot { machine: s.machine.clone(), start: new_start, end: new_end }
        } else {
            plan.iter().find(|p| p.machine == s.machine).expect("the same machines").clone()
        };
        assert_eq!(s, &want, "after moving {} only its slot changed", old.machine);
    }
    assert_eq!(replanned.len(), plan.len());

    let customer = &sample.platform.customer_of[&old.machine];
    for c in sample.platform.contacts_of(customer) {
        *expect.get_mut(&c.email).unwrap() += 1;
    }
    settle(&serve, &sink, &expect, &format!("an update for the contacts of {customer} after moving {}", old.machine));
    for c in sample.platform.contacts_of(customer) {
        let mail = sink.to(&c.email).pop().unwrap();
        check_shape(&mail);
        assert!(keys.insert(mail["key"].as_str().unwrap().to_owned()), "Message-ID used twice: {}", mail["key"]);
        let cal = calendar(&mail, "REQUEST", &id);
        let e = cal
            .get(&old.machine)
            .unwrap_or_else(|| panic!("the update to {} has no event for {}", c.email, old.machine));
        assert_eq!((e.start, e.end, e.sequence), (new_start, new_end, 1), "the moved slot's event to {}", c.email);
        let before = &last[&c.email];
        assert_eq!(e.uid, before[&old.machine].uid, "UIDs are stable");
        for (machine, other) in cal.iter().filter(|(m, _)| **m != old.machine) {
            assert_eq!(
                Some(other),
                before.get(machine),
                "an unchanged slot in the update to {} stays as told",
                c.email
            );
        }
        let body = text(&mail, "text");
        assert!(mentions(body, &old.machine), "the update to {} does not name {}:\n{body}", c.email, old.machine);
        for (what, at) in [("old", old.start), ("new", new_start)] {
            if let Err(e) = names_instant(body, at, &c.zone) {
                panic!("the update to {} does not state the {what} time in {}: {e}\n{body}", c.email, c.zone);
            }
        }
        last.get_mut(&c.email).unwrap().insert(old.machine.clone(), e.clone());
    }
    outbox_matches_sink(&serve, &sink);

    // Cancelled: everyone told gets METHOD:CANCEL for each of their events, SEQUENCE raised.
    let why = "The new kernel breaks the storage driver; a new date follows.";
    let reason = serde_json::json!({ "reason": why }).to_string();
    serve.admin_ok("POST", &format!("/api/v1/campaigns/{id}/cancel"), "application/json", reason.as_bytes());
    for n in expect.values_mut() {
        *n += 1;
    }
    settle(&serve, &sink, &expect, "a cancellation for every told contact");
    for to in told.keys() {
        let mail = sink.to(to).pop().unwrap();
        check_shape(&mail);
        assert!(keys.insert(mail["key"].as_str().unwrap().to_owned()), "Message-ID used twice: {}", mail["key"]);
        let cal = calendar(&mail, "CANCEL", &id);
        let body = text(&mail, "text");
        assert!(body.contains(why), "the cancellation to {to} gives the operator's reason:\n{body}");
        let before = &last[to];
        assert_eq!(
            cal.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>(),
            "every slot of {to} is cancelled"
        );
        for (machine, e) in &cal {
            let was = &before[machine];
            assert_eq!(e.uid, was.uid, "UIDs are stable");
            assert!(
                e.sequence > was.sequence,
                "{to}: the cancellation of {machine} raises SEQUENCE: {was:?} then {e:?}"
            );
            assert_eq!((e.start, e.end), (was.start, was.end), "{to}: the cancelled event is the slot as last told");
        }
    }
    outbox_matches_sink(&serve, &sink);
}

// ---------------------------------------------------------------------------
// b. The relay is down, then up.

#[test]
fn mail_waits_while_the_relay_is_down_and_goes_out_when_it_is_back() {
    const TEST: &str = "mail_waits_while_the_relay_is_down_and_goes_out_when_it_is_back";
    if !sinks_can_run(TEST) {
        return;
    }
    let tmp = TempDir::new("forewarn-notify-down");
    let mut sink = SmtpSink::start(tmp.path(), "smtp", &[]);
    sink.stop();
    // Many attempts: the messages must still be pending when the relay comes back.
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--smtp", &sink.url()], &env("1000"));
    let sample = Sample::load();
    let (id, plan) = create_and_plan(&serve, sample.inventory.as_bytes(), "application/toml", &sample.campaign);
    let told = told(&sample.platform, &plan);
    publish(&serve, &id);

    let pending = poll_until("every message pending after a failed attempt, with its error", ARRIVAL, || {
        let list = serve.outbox("pending");
        let failed = list
            .iter()
            .filter(|m| {
                m["attempts"].as_u64().is_some_and(|a| a >= 1)
                    && m["error"].as_str().is_some_and(|e| !e.trim().is_empty())
            })
            .count();
        if list.len() == told.len() && failed == list.len() {
            Ok(list)
        } else {
            Err(format!(
                "{} pending ({failed} of them failed with an error), {} told contacts\n{}",
                list.len(),
                told.len(),
                outbox_glimpse(&serve, "pending")
            ))
        }
    });
    let recipients: BTreeSet<String> =
        pending.iter().map(|m| m["recipient"].as_str().unwrap().to_ascii_lowercase()).collect();
    assert_eq!(recipients, told.keys().cloned().collect(), "one pending message for each told contact");
    assert_eq!(serve.outbox_count("pending"), told.len() as u64, "/metrics counts them");
    assert_eq!(serve.outbox_count("dead"), 0, "{}", outbox_glimpse(&serve, "dead"));
    assert!(sink.records().is_empty(), "nothing arrived while the relay was down");

    sink.start_again(&[]);
    let expect: BTreeMap<String, usize> = told.keys().map(|k| (k.clone(), 1)).collect();
    settle(&serve, &sink, &expect, "every message once the relay is back");
    outbox_matches_sink(&serve, &sink);
    let pending_keys: BTreeSet<&str> = pending.iter().map(|m| m["key"].as_str().unwrap()).collect();
    let records = sink.records();
    let arrived: BTreeSet<&str> = records.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(arrived, pending_keys, "the messages that waited are the ones that arrived, under their keys");
    for r in records.iter() {
        check_shape(r);
    }
}

// ---------------------------------------------------------------------------
// c. An address the relay refuses for good.

#[test]
fn a_refused_address_ends_dead_and_is_sent_when_retried() {
    const TEST: &str = "a_refused_address_ends_dead_and_is_sent_when_retried";
    if !sinks_can_run(TEST) {
        return;
    }
    const GOOD: &str = "email = \"tobias.wolf@nordlicht-reisen.example\"";
    const BAD: &str = "no-such-user@nordlicht-reisen.example";
    let tmp = TempDir::new("forewarn-notify-refused");
    let original = read(&format!("{EXAMPLES}/inventory.toml"));
    assert!(original.contains(GOOD), "examples/inventory.toml has no `{GOOD}` to change");
    let copy = tmp.path().join("inventory.toml");
    std::fs::write(&copy, original.replace(GOOD, &format!("email = \"{BAD}\""))).unwrap();
    let sample = Sample::with_inventory(read(copy.to_str().unwrap()));

    let mut sink = SmtpSink::start(tmp.path(), "smtp", &["--reject", BAD]);
    // A 550 is final at the first attempt; many attempts keep the retried one pending while
    // the relay is down below.
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--smtp", &sink.url()], &env("20"));
    let (id, plan) = create_and_plan(&serve, sample.inventory.as_bytes(), "application/toml", &sample.campaign);
    let told = told(&sample.platform, &plan);
    assert!(told.contains_key(BAD), "{BAD} has machines with slots");
    publish(&serve, &id);

    let expect: BTreeMap<String, usize> = told.keys().filter(|k| *k != BAD).map(|k| (k.clone(), 1)).collect();
    settle(&serve, &sink, &expect, "every message but the refused one");
    let dead = poll_until("the refused message in the outbox as dead", ARRIVAL, || {
        let dead = serve.outbox("dead");
        if dead.is_empty() { Err(outbox_glimpse(&serve, "pending")) } else { Ok(dead) }
    });
    assert_eq!(dead.len(), 1, "only the refused address's message is dead: {dead:#?}");
    let m = &dead[0];
    assert_eq!(m["recipient"].as_str().map(str::to_ascii_lowercase).as_deref(), Some(BAD), "{m}");
    assert_eq!(m["channel"], "email", "{m}");
    assert!(m["error"].as_str().is_some_and(|e| e.contains("550")), "the relay's 550 is shown: {m}");
    assert!(m["attempts"].as_u64().is_some_and(|a| a >= 1), "{m}");
    assert_eq!(serve.outbox_count("dead"), 1, "/metrics counts it");
    assert!(sink.to(BAD).is_empty(), "the relay accepted nothing for {BAD}");
    let msg_id = m["id"].as_i64().unwrap_or_else(|| panic!("a message's id: {m}"));
    let key = m["key"].as_str().unwrap().to_owned();

    // The operator has the mailbox created, and retries. While the relay is down the message
    // waits as pending (a refused connection is not final); once it is up, it goes out.
    sink.stop();
    let r = serve.admin("POST", &format!("/api/v1/outbox/{msg_id}/retry"), "application/json", b"");
    assert!((200..300).contains(&r.status), "retry answered {}: {}", r.status, String::from_utf8_lossy(&r.body));
    if let Ok(v) = serde_json::from_slice::<Value>(&r.body)
        && let Some(state) = v.get("state")
    {
        assert_eq!(state, "pending", "the retried message is pending again: {v}");
    }
    let shown = serve.admin_ok("GET", &format!("/api/v1/outbox/{msg_id}"), "application/json", b"");
    assert_eq!(shown["state"], "pending", "a retried message is pending again: {shown}");
    assert_eq!(shown["key"], key.as_str());
    let payload = shown["payload"].as_str().unwrap_or_else(|| panic!("GET /api/v1/outbox/{msg_id} has no payload"));
    assert!(payload.contains(&format!("<{key}>")), "the payload carries its Message-ID <{key}>:\n{payload}");
    assert_eq!(serve.outbox_count("dead"), 0);

    sink.start_again(&[]);
    let mut expect = expect;
    expect.insert(BAD.to_owned(), 1);
    settle(&serve, &sink, &expect, "the retried message");
    assert_eq!(sink.to(BAD)[0]["key"], key.as_str(), "it arrives under its Message-ID");
    let shown = serve.admin_ok("GET", &format!("/api/v1/outbox/{msg_id}"), "application/json", b"");
    assert_eq!(shown["state"], "sent", "{shown}");
    outbox_matches_sink(&serve, &sink);
}

// ---------------------------------------------------------------------------
// d. SIGKILL while delivering, again and again.

/// Machines of the generated fleet: enough customers that publishing tells over 3000 contacts
/// (seed 7 gives 3418 contacts, every customer with slots).
const FLEET_MACHINES: &str = "45000";
const FLEET_SEED: &str = "7";
const MIN_MESSAGES: usize = 3000;
/// Kill rounds per run, and runs (each on a fresh database).
const ROUNDS: u32 = 10;
const RUNS: u64 = 3;
/// The sink waits this long after recording a message before it answers 250: the window in
/// which a kill leaves a message received but not marked sent is as wide as it gets.
const SINK_DELAY: &str = "0.015";
/// At most this many messages delivered twice per kill. A kill repeats only what the relay
/// had accepted but the service had not yet marked sent: the messages in flight at that
/// instant. The service sends a bounded number at once (8), and marks each sent as soon as
/// the relay accepts it, so a kill can leave at most those in flight unmarked; twice that
/// leaves room for one mark that is written late, not for sending a whole batch again.
const DUPLICATES_PER_KILL: usize = 16;

/// SplitMix64: the kill delays, reproducible from the seed printed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A delay between 50 ms and 1.5 s.
    fn delay(&mut self) -> Duration {
        Duration::from_millis(50 + self.next() % 1451)
    }
}

/// Waits until the outbox has nothing pending; fails only when that number has not gone
/// down for [`ARRIVAL`] (slow is fine, stuck is not).
#[track_caller]
fn wait_until_delivered(serve: &Serve, sink: &SmtpSink, what: &str) {
    let stall = (ARRIVAL.as_millis() / POLL.as_millis()) as u32;
    let (mut best, mut still) = (u64::MAX, 0);
    loop {
        let pending = serve.outbox_count("pending");
        if pending == 0 {
            return;
        }
        if pending < best {
            (best, still) = (pending, 0);
        } else {
            still += 1;
            if still >= stall {
                panic!(
                    "{what}: {pending} messages pending, none delivered for {} s\n{}\nsink:\n{}",
                    ARRIVAL.as_secs(),
                    outbox_glimpse(serve, "pending"),
                    support::tail(&sink.log(), 20)
                );
            }
        }
        std::thread::sleep(POLL);
    }
}

/// One run: publish the fleet's campaign on a fresh database, kill the service with SIGKILL
/// up to [`ROUNDS`] times while it delivers, then check the outbox against what arrived.
fn crash_run(run: u64, seed: u64, inventory: &[u8], campaign: &str, platform: &Platform) {
    let tmp = TempDir::new("forewarn-notify-crash");
    let sink = SmtpSink::start(tmp.path(), "smtp", &["--brief", "--delay", SINK_DELAY]);
    let mut serve = Serve::start(&tmp.path().join("forewarn.db"), &["--smtp", &sink.url()], &env("3"));
    let (id, plan) = create_and_plan(&serve, inventory, "application/json", campaign);
    let told = told(platform, &plan);
    assert!(told.len() >= MIN_MESSAGES, "the fleet tells only {} contacts; {MIN_MESSAGES} wanted", told.len());
    publish(&serve, &id);

    let mut rng = Rng(seed);
    let mut delays = Vec::new();
    for _ in 0..ROUNDS {
        let delay = rng.delay();
        std::thread::sleep(delay);
        if serve.outbox_count("pending") == 0 {
            break;
        }
        serve.kill9();
        delays.push(delay.as_millis());
        serve.restart();
    }
    let kills = delays.len();
    assert!(kills >= 1, "run {run}: every message was delivered before the first kill: nothing was tested");
    wait_until_delivered(&serve, &sink, &format!("run {run}, after {kills} kills"));
    assert_eq!(serve.outbox_count("dead"), 0, "{}", outbox_glimpse(&serve, "dead"));

    // The outbox's account: one message per told contact, every one sent.
    let sent = serve.outbox("sent");
    assert_eq!(sent.len() as u64, serve.outbox_count("sent"), "GET /api/v1/outbox?state=sent lists every sent message");
    let mut outbox: HashMap<&str, &str> = HashMap::new();
    for m in sent.iter().filter(|m| m["channel"] == "email") {
        let key = m["key"].as_str().unwrap();
        assert!(outbox.insert(key, m["recipient"].as_str().unwrap()).is_none(), "key {key} twice in the outbox");
    }
    let recipients: BTreeSet<String> = outbox.values().map(|r| r.to_ascii_lowercase()).collect();
    assert_eq!(outbox.len(), told.len(), "one message per told contact");
    assert_eq!(recipients, told.keys().cloned().collect::<BTreeSet<_>>(), "the told contacts");

    // What arrived: every key, nothing else, each copy of a key the same bytes.
    let records = sink.records();
    let mut copies: HashMap<&str, Vec<&Value>> = HashMap::new();
    for r in records.iter() {
        let key = r["key"].as_str().unwrap_or_else(|| panic!("a message without Message-ID arrived: {r}"));
        copies.entry(key).or_default().push(r);
    }
    let missing: Vec<&&str> = outbox.keys().filter(|k| !copies.contains_key(**k)).collect();
    assert!(
        missing.is_empty(),
        "run {run}: {} sent messages never arrived, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let strangers: Vec<&&str> = copies.keys().filter(|k| !outbox.contains_key(**k)).collect();
    assert!(strangers.is_empty(), "run {run}: messages arrived that the outbox does not have: {strangers:?}");
    let mut duplicates = 0;
    for (key, list) in &copies {
        let first = list[0];
        for other in &list[1..] {
            for field in ["sha256", "rcpt_to", "mail_from"] {
                assert_eq!(first[field], other[field], "run {run}: two copies of {key} differ in {field}");
            }
        }
        assert!(
            first["rcpt_to"].as_str().unwrap().eq_ignore_ascii_case(outbox[key]),
            "run {run}: {key} went to {} but is for {}",
            first["rcpt_to"],
            outbox[key]
        );
        duplicates += list.len() - 1;
    }
    report(&format!(
        "notify crash run {run} (seed {seed:#x}): {} messages, {kills} SIGKILLs after {delays:?} ms, \
         {duplicates} delivered more than once ({} arrivals), {} starts",
        outbox.len(),
        records.len(),
        serve.starts
    ));
    assert!(
        duplicates <= kills * DUPLICATES_PER_KILL,
        "run {run}: {duplicates} duplicates after {kills} kills: more than the {DUPLICATES_PER_KILL} in flight per kill"
    );
}

/// A generated fleet whose publication tells over 3000 contacts, three times on a fresh
/// database: SIGKILL during delivery and start again, up to ten times, then every message of
/// the outbox arrived, nothing else did, and repeats stay within the bound. The kill delays
/// come from a seed printed with the figures; `FOREWARN_TEST_SEED=HEX` replays another.
#[test]
fn nothing_is_lost_when_the_service_is_killed_while_delivering() {
    const TEST: &str = "nothing_is_lost_when_the_service_is_killed_while_delivering";
    if !sinks_can_run(TEST) {
        return;
    }
    let dir = TempDir::new("forewarn-notify-fleet");
    let out = Command::new(BIN)
        .args(["fleet", "generate", "--machines", FLEET_MACHINES, "--seed", FLEET_SEED, "--out"])
        .arg(dir.path())
        .output()
        .expect("run forewarn fleet generate");
    assert!(out.status.success(), "fleet generate failed: {}", String::from_utf8_lossy(&out.stderr));
    let inventory = std::fs::read(dir.path().join("inventory.json")).expect("the fleet's inventory.json");
    let inventory_json: Value = serde_json::from_slice(&inventory).expect("inventory.json is JSON");
    let platform = Platform::from(&inventory_json);
    assert!(platform.contacts.len() >= MIN_MESSAGES, "the fleet has only {} contacts", platform.contacts.len());

    // The generated campaign: its dates in order, after the services' fixed time.
    let campaign = read(dir.path().join("campaign.toml").to_str().unwrap());
    let fields = toml_as_json(&campaign);
    let (publish_at, starts, ends) =
        (instant(&fields["publish_at"]), instant(&fields["starts"]), instant(&fields["ends"]));
    assert!(publish_at < starts && starts < ends, "the generated campaign's dates: {fields}");
    let serve_now = instant(&serde_json::json!(support::SERVE_NOW));
    assert!(serve_now + SignedDuration::from_hours(72) <= starts, "published at {serve_now} with notice: {fields}");

    let base = std::env::var("FOREWARN_TEST_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5eed_f0e0);
    for run in 0..RUNS {
        crash_run(run, base.wrapping_add(run), &inventory, &campaign, &platform);
    }
}

// ---------------------------------------------------------------------------
// e. Subscribers of the status page.

/// The first URL in `text` that starts with `prefix`.
fn link(text: &str, prefix: &str) -> Option<String> {
    let at = text.find(prefix)?;
    let rest = &text[at..];
    let end = rest.find(|c: char| c.is_whitespace() || "<>\"')]".contains(c)).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// Whether a mail is about a post: its title in the subject or the text.
fn about(m: &Value, title: &str) -> bool {
    m["subject"].as_str().is_some_and(|s| s.contains(title)) || text(m, "text").contains(title)
}

#[track_caller]
fn subscribe(serve: &Serve, email: &str, language: &str) {
    let body = format!("email={}&language={language}", email.replace('@', "%40"));
    let r =
        serve.request("POST", "/subscribe", &[("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes());
    assert!(
        (200..400).contains(&r.status),
        "POST /subscribe {body}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
}

#[track_caller]
fn post_notice(serve: &Serve, title: &str, body: &str) {
    let post = json!({ "kind": "notice", "title": title, "body": body }).to_string();
    serve.admin_ok("POST", "/api/v1/posts", "application/json", post.as_bytes());
}

#[test]
fn subscribers_confirm_get_posts_and_unsubscribe_with_one_click() {
    const TEST: &str = "subscribers_confirm_get_posts_and_unsubscribe_with_one_click";
    if !sinks_can_run(TEST) {
        return;
    }
    const ADA: &str = "ada@example.org";
    const BRUNO: &str = "bruno@example.org";
    const CARL: &str = "carl@example.org";
    const FIRST: &str = "New DNS resolvers";
    const SECOND: &str = "Mail relay replaced";
    let tmp = TempDir::new("forewarn-notify-subscribers");
    let sink = SmtpSink::start(tmp.path(), "smtp", &[]);
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--smtp", &sink.url()], &env("3"));
    let base = serve.base_url.clone();

    // Three subscribe; Ada and Bruno follow their confirmation links, Carl never does.
    for (email, language) in [(ADA, "en"), (BRUNO, "de"), (CARL, "en")] {
        subscribe(&serve, email, language);
    }
    let mut expect: BTreeMap<String, usize> = [(ADA, 1), (BRUNO, 1), (CARL, 1)].map(|(k, n)| (k.to_owned(), n)).into();
    settle(&serve, &sink, &expect, "a confirmation request for each subscriber");
    let confirm_prefix = format!("{base}/subscribe/confirm?token=");
    for to in [ADA, BRUNO] {
        let mail = sink.to(to).remove(0);
        check_shape(&mail);
        let url = link(text(&mail, "text"), &confirm_prefix)
            .unwrap_or_else(|| panic!("no {confirm_prefix}... link in the mail to {to}:\n{}", text(&mail, "text")));
        let r = serve.request("GET", url.strip_prefix(&base).unwrap(), &[], b"");
        assert!((200..400).contains(&r.status), "GET {url}: {} {}", r.status, String::from_utf8_lossy(&r.body));
    }

    // A post reaches the confirmed ones, with List-Unsubscribe for one click.
    post_notice(&serve, FIRST, "Use 192.0.2.53 from now on.");
    expect.insert(ADA.to_owned(), 2);
    expect.insert(BRUNO.to_owned(), 2);
    settle(&serve, &sink, &expect, "the post for the confirmed subscribers, not for Carl");
    let mut unsubscribe = BTreeMap::new();
    for to in [ADA, BRUNO] {
        let mail = sink.to(to).pop().unwrap();
        check_shape(&mail);
        assert!(about(&mail, FIRST), "the mail to {to} is about `{FIRST}`: {mail:#}");
        let list = header(&mail, "List-Unsubscribe").unwrap_or_else(|| panic!("no List-Unsubscribe to {to}: {mail:#}"));
        let url = list
            .strip_prefix('<')
            .and_then(|u| u.strip_suffix('>'))
            .filter(|u| u.starts_with(&format!("{base}/unsubscribe?token=")))
            .unwrap_or_else(|| panic!("List-Unsubscribe to {to} is not <{base}/unsubscribe?token=...>: {list}"));
        assert_eq!(header(&mail, "List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"), "to {to}");
        unsubscribe.insert(to, url.to_owned());
    }
    assert_ne!(unsubscribe[ADA], unsubscribe[BRUNO], "each subscriber has a link of their own");
    assert!(sink.to(CARL).iter().all(|m| !about(m, FIRST)), "Carl never confirmed");

    // Ada unsubscribes with one click (RFC 8058); the next post reaches Bruno only.
    let url = &unsubscribe[ADA];
    let r = serve.request(
        "POST",
        url.strip_prefix(&base).unwrap(),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"List-Unsubscribe=One-Click",
    );
    assert!((200..400).contains(&r.status), "POST {url}: {} {}", r.status, String::from_utf8_lossy(&r.body));
    post_notice(&serve, SECOND, "The new relay takes over today.");
    expect.insert(BRUNO.to_owned(), 3);
    settle(&serve, &sink, &expect, "the second post for Bruno only");
    assert!(about(&sink.to(BRUNO).pop().unwrap(), SECOND), "Bruno's last mail is the second post");
    assert!(sink.to(ADA).iter().all(|m| !about(m, SECOND)), "Ada unsubscribed before the second post");
    outbox_matches_sink(&serve, &sink);
}

// ---------------------------------------------------------------------------
// f. Webhooks.

/// An event's type and id: from its JSON body (`type`, `id`) or else its headers
/// (`X-Forewarn-Event`, `X-Forewarn-Delivery`).
fn event_type(r: &Value) -> Option<String> {
    r["json"]["type"].as_str().or_else(|| r["headers"]["x-forewarn-event"].as_str()).map(str::to_owned)
}

fn event_id(r: &Value) -> Option<String> {
    match &r["json"]["id"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => r["headers"]["x-forewarn-delivery"].as_str().map(str::to_owned),
    }
}

#[test]
fn webhooks_get_signed_events() {
    const TEST: &str = "webhooks_get_signed_events";
    // Only the webhook sink runs here: Python's standard library.
    if let Err(why) = python_can("import hmac, http.server") {
        return cannot_run(TEST, &why);
    }
    const SECRET: &str = "s3cret-for-the-tests";
    const TITLE: &str = "New DNS resolvers";
    let tmp = TempDir::new("forewarn-notify-webhooks");
    let hooks = WebhookSink::start(tmp.path(), "webhooks", SECRET);
    let config = tmp.path().join("forewarn.toml");
    let hook_url = hooks.url("/hook");
    std::fs::write(&config, format!("webhooks = [{{ url = \"{hook_url}\", secret = \"{SECRET}\" }}]\n")).unwrap();
    // No --smtp: mail goes to the capture mailbox; only the webhooks leave the service.
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--config", config.to_str().unwrap()], &env("3"));
    let sample = Sample::load();
    let (id, _) = create_and_plan(&serve, sample.inventory.as_bytes(), "application/toml", &sample.campaign);
    publish(&serve, &id);
    post_notice(&serve, TITLE, "Use 192.0.2.53 from now on.");

    poll_until("campaign.published and post.created at the webhook, and nothing pending", ARRIVAL, || {
        let types: BTreeSet<String> = hooks.records().iter().filter_map(event_type).collect();
        let pending = serve.outbox_count("pending");
        if types.contains("campaign.published") && types.contains("post.created") && pending == 0 {
            Ok(())
        } else {
            Err(format!("event types so far: {types:?}\n{}", outbox_glimpse(&serve, "pending")))
        }
    });
    let records = hooks.records();
    let mut ids = BTreeSet::new();
    let mut deliveries = BTreeSet::new();
    for r in records.iter() {
        assert_eq!(r["path"], "/hook", "{r}");
        assert!(r["signature_ok"] == true, "X-Forewarn-Signature is not sha256=HMAC-SHA256(secret, body): {r:#}");
        assert!(
            r["headers"]["content-type"].as_str().is_some_and(|t| t.starts_with("application/json")),
            "Content-Type: {r}"
        );
        assert!(r["json"].is_object(), "the body is a JSON object: {}", r["body"]);
        let id = event_id(r).unwrap_or_else(|| panic!("an event without id: {r:#}"));
        assert!(ids.insert(id.clone()), "event {id} delivered twice");
        if let Some(d) = r["headers"]["x-forewarn-delivery"].as_str() {
            assert!(deliveries.insert(d.to_owned()), "X-Forewarn-Delivery {d} twice");
        }
    }
    let published = records.iter().find(|r| event_type(r).as_deref() == Some("campaign.published")).unwrap();
    assert!(published["body"].as_str().unwrap().contains(&id), "campaign.published names `{id}`: {published:#}");
    assert!(
        records
            .iter()
            .any(|r| event_type(r).as_deref() == Some("post.created") && r["body"].as_str().unwrap().contains(TITLE)),
        "a post.created event for `{TITLE}`: {records:#?}"
    );
    let hooks_sent: Vec<Value> = serve.outbox("sent").into_iter().filter(|m| m["channel"] == "webhook").collect();
    assert_eq!(hooks_sent.len(), records.len(), "each webhook message of the outbox was POSTed once: {hooks_sent:#?}");
    // The API names the webhook by its place in the configuration: its URL may hold a secret.
    assert!(hooks_sent.iter().all(|m| m["recipient"] == "webhooks[0]"), "{hooks_sent:#?}");
    assert!(!serve.outbox("sent").iter().any(|m| m.to_string().contains(hook_url.as_str())), "{hooks_sent:#?}");
    assert_eq!(serve.outbox_count("dead"), 0, "{}", outbox_glimpse(&serve, "dead"));
}

// ---------------------------------------------------------------------------
// g. What people read matches the plan: pages, calendar and mail after a change.

/// Logs in to the admin pages as a new operator `ada` (added to the service's database
/// with `forewarn operator add`); gives the session's `Cookie` header value.
#[track_caller]
fn operator_cookie(serve: &Serve) -> String {
    use std::io::Write as _;
    use std::process::Stdio;
    const PASSWORD: &str = "a long passphrase for the tests";
    let mut child = Command::new(BIN)
        .args(["operator", "add", "--name", "ada", "--database", &serve.database])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run forewarn operator add");
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "operator add: {}", String::from_utf8_lossy(&out.stderr));
    let form = format!("name=ada&password={}", PASSWORD.replace(' ', "+"));
    let r = serve.request(
        "POST",
        "/admin/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(r.status, 303, "login: {}", r.text());
    let cookie = r.header("set-cookie").unwrap_or_else(|| panic!("no session cookie: {:?}", r.headers));
    cookie.split(';').next().unwrap().to_owned()
}

/// The status page's calendar, parsed with icalendar: its events by URL.
fn public_calendar(serve: &Serve) -> BTreeMap<String, Value> {
    const ICS_PY: &str = r#"
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.buffer.read())
out = []
for ev in cal.walk("VEVENT"):
    out.append({
        "uid": str(ev.get("UID")), "url": str(ev.get("URL", "")), "status": str(ev.get("STATUS", "")),
        "transp": str(ev.get("TRANSP", "")), "sequence": int(ev.get("SEQUENCE", 0)),
        "start": ev.decoded("DTSTART").isoformat(), "end": ev.decoded("DTEND").isoformat(),
    })
print(json.dumps(out))
"#;
    let r = serve.get("/calendar.ics");
    assert_eq!(r.status, 200);
    let events = support::python_json(ICS_PY, &r.body);
    events.as_array().unwrap().iter().map(|e| (e["url"].as_str().unwrap().to_owned(), e.clone())).collect()
}

/// The campaign's maintenance post as the API gives it (with its updates and revisions).
#[track_caller]
fn campaign_post(serve: &Serve, id: &str) -> Value {
    let posts = serve.get("/api/v1/posts").json();
    let post = posts
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["campaign"] == id && p["kind"] == "maintenance")
        .unwrap_or_else(|| panic!("no maintenance post of `{id}`: {posts:#}"))
        .clone();
    serve.get(&format!("/api/v1/posts/{}", post["id"])).json()
}

/// The first start and the last end of a plan's slots.
fn span(slots: &[Slot]) -> (Timestamp, Timestamp) {
    (slots.iter().map(|s| s.start).min().unwrap(), slots.iter().map(|s| s.end).max().unwrap())
}

/// The sample OS update planned and published on a fresh service that delivers to a fresh
/// SMTP sink, its first messages arrived: the directory, sink and service (kept alive by
/// the caller), the sample, the campaign's id, its plan and how many messages each
/// contact has.
#[track_caller]
fn published_sample(dir: &str) -> (TempDir, SmtpSink, Serve, Sample, String, Vec<Slot>, BTreeMap<String, usize>) {
    let tmp = TempDir::new(dir);
    let sink = SmtpSink::start(tmp.path(), "smtp", &[]);
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--smtp", &sink.url()], &env("3"));
    let sample = Sample::load();
    let (id, plan) = create_and_plan(&serve, sample.inventory.as_bytes(), "application/toml", &sample.campaign);
    publish(&serve, &id);
    let expect: BTreeMap<String, usize> = told(&sample.platform, &plan).keys().map(|k| (k.clone(), 1)).collect();
    settle(&serve, &sink, &expect, "one message for each told contact after publishing");
    (tmp, sink, serve, sample, id, plan, expect)
}

/// Waits until the outbox has nothing pending.
#[track_caller]
fn drained(serve: &Serve) {
    poll_until("the outbox to empty", ARRIVAL, || match serve.outbox_count("pending") {
        0 => Ok(()),
        n => Err(format!("{n} pending")),
    });
}

#[test]
fn a_moved_slot_reads_the_same_on_the_pages_in_the_calendar_and_in_the_mail() {
    const TEST: &str = "a_moved_slot_reads_the_same_on_the_pages_in_the_calendar_and_in_the_mail";
    if !sinks_can_run(TEST) {
        return;
    }
    let (_tmp, sink, serve, sample, id, plan, _) = published_sample("forewarn-notify-truth");

    let post = campaign_post(&serve, &id);
    assert_eq!((instant(&post["starts"]), instant(&post["ends"])), span(&plan), "the post's window is the plan's");

    // A correction of the post's window that disagrees with the plan is refused, naming the
    // plan's dates; the post stays as it was.
    let (first, last) = span(&plan);
    let wrong = json!({ "note": "the window was wrong", "ends": (last + SignedDuration::from_hours(24)).to_string() });
    let r = serve.admin(
        "PATCH",
        &format!("/api/v1/posts/{}", post["id"]),
        "application/json",
        wrong.to_string().as_bytes(),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["error"], "plan_conflict", "{}", r.text());
    assert!(r.text().contains(&first.to_string()) && r.text().contains(&last.to_string()), "{}", r.text());
    assert_eq!(campaign_post(&serve, &id)["revision"], post["revision"], "nothing was written");

    // A slot at an end of the plan moves by an hour or more (the first later, or the last
    // earlier: whichever the constraints allow first) so that the plan's window changes: the
    // post, its page, the admin page, the calendar and the mail all say where it is now.
    let mut tries: Vec<(Slot, i64)> = Vec::new();
    let mut by_start = plan.clone();
    by_start.sort_by_key(|s| (s.start, s.machine.clone()));
    let mut by_end = plan.clone();
    by_end.sort_by_key(|s| (std::cmp::Reverse(s.end), s.machine.clone()));
    for (a, b) in by_start.iter().zip(&by_end).take(4) {
        tries.extend((1..=48).map(|h| (a.clone(), h)));
        tries.extend((1..=48).map(|h| (b.clone(), -h)));
    }
    let mut refusals = Vec::new();
    let (earliest, moved_to, now_plan) = tries
        .into_iter()
        .find_map(|(slot, hours)| {
            let start = slot.start + SignedDuration::from_hours(hours);
            let path = format!("/api/v1/campaigns/{id}/slots/{}", slot.machine);
            let body = json!({ "start": start.to_string() }).to_string();
            let r = serve.admin("POST", &path, "application/json", body.as_bytes());
            if r.status != 200 {
                refusals.truncate(3);
                refusals.push(format!("{path} {body}: {} {}", r.status, r.text()));
                return None;
            }
            let now_plan =
                slots(&serve.admin_ok("GET", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b""));
            (span(&now_plan) != span(&plan)).then_some((slot, start, now_plan))
        })
        .unwrap_or_else(|| panic!("no slot at an end of the plan could move by 1 to 48 hours: {refusals:#?}"));
    let moved = now_plan.iter().find(|s| s.machine == earliest.machine).unwrap().clone();
    assert_eq!(moved.start, moved_to);
    let (first, last) = span(&now_plan);

    // The post follows the plan: its window, a revision naming the plan version.
    let post = campaign_post(&serve, &id);
    assert_eq!((instant(&post["starts"]), instant(&post["ends"])), (first, last), "{post:#}");
    let revisions = post["revisions"].as_array().unwrap();
    assert!(
        revisions.last().is_some_and(|r| r["note"].as_str().unwrap_or("").contains("plan version")),
        "the earlier window is kept with a note: {revisions:#?}"
    );
    let page = serve.get(&format!("/posts/{}", post["id"])).text();
    assert!(page.contains(&format!("<h1>{}</h1>", post["title"].as_str().unwrap())), "{page}");

    // The public calendar: the post's event at the plan's window, SEQUENCE raised,
    // transparent.
    let events = public_calendar(&serve);
    let event = &events[&serve.url(&format!("/posts/{}", post["id"]))];
    assert_eq!((instant(&event["start"]), instant(&event["end"])), (first, last), "{event}");
    assert_eq!(event["sequence"], 1, "{event}");
    assert_eq!(event["transp"], "TRANSPARENT", "{event}");

    // The admin page draws the stored plan: the moved slot's bar says it was moved.
    let cookie = operator_cookie(&serve);
    let admin = serve.request("GET", &format!("/admin/campaigns/{id}"), &[("Cookie", &cookie)], b"");
    assert_eq!(admin.status, 200, "{}", admin.text());
    assert!(admin.text().contains("moved by"), "the picture is of the stored plan:\n{}", admin.text());

    // The mail: the moved machine's contacts got the new time under the same UID.
    drained(&serve);
    let customer = &sample.platform.customer_of[&earliest.machine];
    for c in sample.platform.contacts_of(customer) {
        let mail = sink.to(&c.email).pop().unwrap();
        let cal = calendar(&mail, "REQUEST", &id);
        let e = &cal[&earliest.machine];
        assert_eq!((e.start, e.end), (moved.start, moved.end), "the mail to {}", c.email);
        assert!(e.sequence >= 1, "a moved slot raises SEQUENCE: {e:?}");
    }
}

#[test]
fn a_machine_removed_from_the_inventory_is_cancelled_for_its_contacts() {
    const TEST: &str = "a_machine_removed_from_the_inventory_is_cancelled_for_its_contacts";
    if !sinks_can_run(TEST) {
        return;
    }
    let (_tmp, sink, serve, sample, id, plan, expect) = published_sample("forewarn-notify-removed");

    // web01 leaves the inventory; the campaign is planned again and the new version published.
    const GONE: &str = "web01";
    let inventory = support::without_machine(&sample.inventory, GONE);
    serve.admin_ok("POST", "/api/v1/inventory", "application/toml", inventory.as_bytes());
    let planned = serve.admin_ok("POST", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b"");
    assert_eq!(planned["summary"]["kept"], plan.len() - 1, "every other published slot is kept: {planned}");
    publish(&serve, &id);

    // Nobody else's slot moved: only the contacts of web01's customer hear anything.
    let replanned = slots(&serve.admin_ok("GET", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b""));
    let before: Vec<&Slot> = plan.iter().filter(|s| s.machine != GONE).collect();
    assert_eq!(replanned.iter().collect::<Vec<_>>(), before, "only {GONE} left the plan");
    let customer = &sample.platform.customer_of[GONE];
    let mut expect = expect;
    for c in sample.platform.contacts_of(customer) {
        *expect.get_mut(&c.email).unwrap() += 1;
    }
    settle(&serve, &sink, &expect, "an update for the contacts of web01's customer, nothing for anyone else");

    // Its contacts hear that its slot is cancelled: named in the text, METHOD:CANCEL with the
    // UID they were given and a higher SEQUENCE.
    let contacts = sample.platform.contacts_of(customer);
    assert!(!contacts.is_empty());
    for c in contacts {
        let mails = sink.to(&c.email);
        assert!(mails.len() >= 2, "{} got {} messages", c.email, mails.len());
        let first = calendar(&mails[0], "REQUEST", &id);
        let update = mails.last().unwrap();
        let body = text(update, "text");
        assert!(mentions(body, GONE), "the update to {} names {GONE}:\n{body}", c.email);
        let cals = update["calendars"].as_array().cloned().unwrap_or_default();
        let cancel = cals
            .iter()
            .find(|cal| cal["method"] == "CANCEL")
            .unwrap_or_else(|| panic!("the update to {} has no METHOD:CANCEL part: {}", c.email, update["parts"]));
        let event = cancel["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["uid"] == first[GONE].uid.as_str())
            .unwrap_or_else(|| panic!("no CANCEL for {GONE}'s UID in {cancel:#}"));
        assert_eq!(event["sequence"], 1, "{event}");
        assert_eq!(instant(&event["dtstart"]), first[GONE].start, "{event}");
    }
}

#[test]
fn a_plan_is_published_only_with_its_notice_and_machines_without_a_slot_are_told() {
    const TEST: &str = "a_plan_is_published_only_with_its_notice_and_machines_without_a_slot_are_told";
    if !sinks_can_run(TEST) {
        return;
    }
    let tmp = TempDir::new("forewarn-notify-late");
    let sink = SmtpSink::start(tmp.path(), "smtp", &[]);
    let db = tmp.path().join("forewarn.db");
    let sample = Sample::load();
    // Planned in time (a week before the range)...
    let id = {
        let serve = Serve::start(&db, &["--smtp", &sink.url()], &env("3"));
        create_and_plan(&serve, sample.inventory.as_bytes(), "application/toml", &sample.campaign).0
    };
    // ... but published when its first slots have passed: refused, nothing written or sent.
    const LATE: &str = "2027-03-03T09:00:00+01:00";
    let serve = Serve::start(&db, &["--smtp", &sink.url(), "--now", LATE], &env("3"));
    let r = serve.admin("POST", &format!("/api/v1/campaigns/{id}/publish"), "application/json", b"");
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["error"], "too_late", "{}", r.text());
    for words in ["notice", "plan", "again"] {
        assert!(r.text().contains(words), "the refusal says what to do ({words}): {}", r.text());
    }
    let campaign = serve.admin_ok("GET", &format!("/api/v1/campaigns/{id}"), "application/json", b"");
    assert_eq!(campaign["state"], "draft", "{campaign}");
    assert_eq!(serve.outbox("pending").len() + serve.outbox("sent").len(), 0, "nothing is told");

    // Planned again now: the notice counts from now, so no slot starts before now + 72 h,
    // and the machines that no longer fit are told why.
    serve.admin_ok("POST", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b"");
    let plan = serve.admin_ok("GET", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b"");
    let late: Timestamp = LATE.parse().unwrap();
    for s in slots(&plan) {
        assert!(s.start >= late + SignedDuration::from_hours(72), "{s:?} keeps the notice from {LATE}");
    }
    let unscheduled = plan["unscheduled"].as_array().unwrap().clone();
    assert!(!unscheduled.is_empty(), "some machines no longer fit: {plan:#}");

    // A preview says whom the publication tells and what, and writes nothing.
    let preview =
        serve.admin_ok("POST", &format!("/api/v1/campaigns/{id}/publish?preview=true"), "application/json", b"");
    assert_eq!(preview["written"], false, "{preview:#}");
    let previewed: BTreeSet<(String, String)> = preview["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["recipient"].as_str().unwrap().to_ascii_lowercase(), m["subject"].as_str().unwrap().to_owned()))
        .collect();
    assert!(!previewed.is_empty(), "{preview:#}");
    let campaign = serve.admin_ok("GET", &format!("/api/v1/campaigns/{id}"), "application/json", b"");
    assert_eq!(campaign["state"], "draft", "a preview publishes nothing: {campaign}");
    assert_eq!(serve.outbox("pending").len() + serve.outbox("sent").len(), 0, "a preview sends nothing");

    publish(&serve, &id);
    drained(&serve);
    let sent: BTreeSet<(String, String)> = sink
        .records()
        .iter()
        .map(|r| (r["rcpt_to"].as_str().unwrap().to_ascii_lowercase(), r["subject"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(sent, previewed, "the preview named exactly the messages that went out");
    for u in &unscheduled {
        let machine = u["machine"].as_str().unwrap();
        let customer = &sample.platform.customer_of[machine];
        for c in sample.platform.contacts_of(customer) {
            let mails = sink.to(&c.email);
            let mail = mails.last().unwrap_or_else(|| panic!("{} heard nothing of {machine}", c.email));
            let body = text(mail, "text");
            assert!(mentions(body, machine), "the mail to {} names {machine}:\n{body}", c.email);
            // Lines may be wrapped anywhere: compare words.
            let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            let (flat, reason) = (words(body), words(u["reason"].as_str().unwrap()));
            assert!(flat.contains(&reason), "the reason for {machine} ({reason}) in:\n{body}");
            assert!(flat.contains("another time") || flat.contains("anderer Termin"), "what happens next:\n{body}");
        }
    }
}

/// `forewarn operator` with `--database`, its password on standard input.
fn operator(serve: &Serve, args: &[&str], password: &str) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(BIN)
        .arg("operator")
        .args(args)
        .args(["--database", &serve.database])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run forewarn operator");
    let _ = child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn a_new_password_ends_the_operators_sessions_and_operators_are_listed_and_removed() {
    let tmp = TempDir::new("forewarn-operators");
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &[], &[]);
    let cookie = operator_cookie(&serve);
    let page = |cookie: &str| serve.request("GET", "/admin", &[("Cookie", cookie)], b"").status;
    assert_eq!(page(&cookie), 200, "logged in");

    let out = operator(&serve, &["add", "--name", "ada"], "another long passphrase");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("their sessions are ended"));
    assert_eq!(page(&cookie), 303, "the old session ended with the old password");

    let out = operator(&serve, &["list"], "");
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && listed.starts_with("ada  added "), "{listed}");

    let cookie = operator_cookie(&serve);
    assert_eq!(page(&cookie), 200);
    let out = operator(&serve, &["remove", "ada"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(page(&cookie), 303, "a removed operator's sessions end at once");
    let out = operator(&serve, &["remove", "ada"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no operator `ada`"));
}
