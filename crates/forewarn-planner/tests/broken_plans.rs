//! A valid plan from the planner, broken on purpose in one way at a time: the checker
//! must catch each break as the right constraint, naming the machine and the instants.

use std::collections::BTreeSet;

use forewarn_model::window::occurrences_of;
use forewarn_model::{Campaign, Inventory, parse_campaign, parse_inventory};
use forewarn_planner::PlanFile;
use forewarn_planner::check::{Constraint, Violation, check};
use forewarn_planner::plan::SlotEntry;
use jiff::{SignedDuration, Timestamp};

/// Three hosts in two racks; a staging machine and five production machines in two
/// redundancy groups; nights in Berlin; a release freeze on Wednesday night.
const INVENTORY: &str = r#"
[platform]
name = "Example Hosting"
time_zone = "Europe/Berlin"
windows = ["Mon-Fri 22:00-05:00"]
blackouts = [{ from = "2027-03-03T22:00:00+01:00", to = "2027-03-04T05:00:00+01:00", reason = "release freeze" }]

[[customers]]
id = "acme"
name = "ACME"

[[projects]]
id = "shop"
customer = "acme"

[[hosts]]
id = "kvm1"
rack = "r1"

[[hosts]]
id = "kvm2"
rack = "r1"

[[hosts]]
id = "kvm3"
rack = "r2"

[[machines]]
id = "web-s1"
project = "shop"
tier = "staging"
host = "kvm1"

[[machines]]
id = "web-p1"
project = "shop"
tier = "production"
host = "kvm1"
groups = ["web"]

[[machines]]
id = "web-p2"
project = "shop"
tier = "production"
host = "kvm2"
groups = ["web"]

[[machines]]
id = "db-p1"
project = "shop"
tier = "production"
host = "kvm2"
groups = ["db"]

[[machines]]
id = "db-p2"
project = "shop"
tier = "production"
host = "kvm3"
groups = ["db"]

[[machines]]
id = "app-p1"
project = "shop"
tier = "production"
host = "kvm3"
"#;

/// Published so that the notice ends on Tuesday at 00:00 UTC, in the middle of Monday night.
const CAMPAIGN: &str = r#"
id = "os-2027-03"
title = "OS update March 2027"
starts = "2027-03-01T00:00:00+01:00"
ends = "2027-03-13T00:00:00+01:00"
publish_at = "2027-02-27T00:00:00Z"
notice = "72h"
tier_order = ["staging", "production"]
tier_gap = "24h"
activities = [{ kind = "os-update", duration = "20m" }, { kind = "reboot", duration = "10m" }]
granularity = "15m"
strategy = "earliest"

[limits]
global = 10
per_host = 1
"#;

struct Fixture {
    inv: Inventory,
    campaign: Campaign,
    /// Plan files borrow from their text; a test leaks the text.
    plan: PlanFile<'static>,
}

fn fixture() -> Fixture {
    let inv = parse_inventory("inventory.toml", INVENTORY).unwrap_or_else(|e| panic!("{e}"));
    let campaign = parse_campaign("campaign.toml", CAMPAIGN, &inv).unwrap_or_else(|e| panic!("{e}"));
    let planned = forewarn_planner::plan(&inv, &campaign);
    let mut buf = Vec::new();
    planned.write_json(&mut buf, &inv, &campaign).unwrap();
    let plan: PlanFile<'static> = serde_json::from_slice(Vec::leak(buf.clone())).unwrap();
    assert_eq!(plan.slots.len(), 6, "every machine gets a slot: {}", String::from_utf8_lossy(&buf));
    let v = check(&inv, &campaign, &plan);
    assert!(v.is_empty(), "the planned plan is valid: {}", lines(&v));
    Fixture { inv, campaign, plan }
}

impl Fixture {
    fn check(&self) -> Vec<Violation> {
        check(&self.inv, &self.campaign, &self.plan)
    }

    fn slot(&mut self, machine: &str) -> &mut SlotEntry<'static> {
        self.plan.slots.iter_mut().find(|s| s.machine.as_deref() == Some(machine)).expect("the machine has a slot")
    }

    fn times(&mut self, machine: &str) -> (Timestamp, Timestamp) {
        let s = self.slot(machine);
        (s.start.parse().unwrap(), s.end.parse().unwrap())
    }

    fn set(&mut self, machine: &str, start: Timestamp, end: Timestamp) {
        let s = self.slot(machine);
        s.start = start.to_string().into();
        s.end = end.to_string().into();
    }

    /// The slot that starts last among the production machines.
    fn last_production(&self) -> String {
        let s = self
            .plan
            .slots
            .iter()
            .filter(|s| s.machine.as_deref() != Some("web-s1"))
            .max_by_key(|s| (s.start.clone(), s.machine.clone()))
            .unwrap();
        s.machine.as_deref().unwrap_or_default().to_owned()
    }
}

fn kinds(v: &[Violation]) -> BTreeSet<Constraint> {
    v.iter().map(|v| v.constraint).collect()
}

fn lines(v: &[Violation]) -> String {
    v.iter().map(|v| format!("{v}\n")).collect()
}

fn len(f: &Fixture) -> SignedDuration {
    f.campaign.slot_length().0
}

#[test]
fn the_valid_plan_is_valid() {
    fixture();
}

#[test]
fn a_slot_moved_just_past_the_end_of_its_occurrence_is_outside_its_window() {
    let mut f = fixture();
    let m = f.last_production();
    let (a, b) = f.times(&m);
    let machine = f.inv.machines.iter().find(|x| x.id == m).unwrap();
    let windows = f.inv.machine_windows(machine).1;
    let zone = f.inv.zone_for(f.inv.customer_of(machine));
    let occ = occurrences_of(windows, zone, a, b).into_iter().find(|o| o.covers(a, b)).unwrap();
    let slot_len = len(&f);
    f.set(&m, occ.end, occ.end + slot_len);
    let v = f.check();
    assert_eq!(kinds(&v), BTreeSet::from([Constraint::Window]), "{}", lines(&v));
    let text = v[0].to_string();
    assert!(text.starts_with(&format!("{m}: window: slot {}..{}", occ.end, occ.end + slot_len)), "{text}");
    assert!(text.contains("Mon-Fri 22:00-05:00 Europe/Berlin (no occurrence contains its start)"), "{text}");
    // One minute earlier it straddles the end, and the message names the occurrence.
    let back = SignedDuration::from_mins(1);
    f.set(&m, occ.end - back, occ.end - back + slot_len);
    let v = f.check();
    assert_eq!(kinds(&v), BTreeSet::from([Constraint::Window]), "{}", lines(&v));
    assert!(v[0].message.contains(&format!("the occurrence it starts in runs {}..{}", occ.start, occ.end)), "{}", v[0]);
}

#[test]
fn two_members_of_a_group_at_once_break_the_group_limit() {
    let mut f = fixture();
    // web-p1 is alone on kvm1 then: only the group is over its limit.
    let (a, b) = f.times("web-p2");
    f.set("web-p1", a, b);
    let v = f.check();
    assert_eq!(kinds(&v), BTreeSet::from([Constraint::PerGroup]), "{}", lines(&v));
    let text = v[0].to_string();
    assert!(
        text.starts_with(&format!("per_group: redundancy group web has 2 slots running at {a}, limit 1: ")),
        "{text}"
    );
    assert!(text.contains("web-p1") && text.contains("web-p2"), "{text}");
}

#[test]
fn a_tier_gap_one_minute_short_is_caught() {
    let mut f = fixture();
    let (_, staging_end) = f.times("web-s1");
    let gap = f.campaign.tier_gap.0;
    let first = f
        .plan
        .slots
        .iter()
        .filter(|s| s.machine.as_deref() != Some("web-s1"))
        .min_by_key(|s| (s.start.clone(), s.machine.clone()))
        .and_then(|s| s.machine.clone())
        .unwrap();
    let start = staging_end + gap - SignedDuration::from_mins(1);
    let slot_len = len(&f);
    f.set(&first, start, start + slot_len);
    let v = f.check();
    assert_eq!(kinds(&v), BTreeSet::from([Constraint::TierOrder]), "{}", lines(&v));
    assert_eq!(
        v[0].to_string(),
        format!(
            "{first}: tier order: production slot starts {start}, less than the 1d tier gap after staging machine \
             web-s1 of project shop ends {staging_end} (earliest allowed {})",
            staging_end + gap
        )
    );
}

#[test]
fn a_second_slot_on_a_host_with_per_host_1_is_caught() {
    let mut f = fixture();
    // db-p2 and app-p1 share kvm3 and no group.
    let (a, b) = f.times("db-p2");
    f.set("app-p1", a, b);
    let v = f.check();
    assert_eq!(kinds(&v), BTreeSet::from([Constraint::PerHost]), "{}", lines(&v));
    assert!(
        v[0].to_string().starts_with(&format!("per_host: host kvm3 has 2 slots running at {a}, limit 1: ")),
        "{}",
        v[0]
    );
    // Touching is not overlapping: right after it is fine (if the window allows).
    f.set("app-p1", b, b + (b - a));
    let v = f.check();
    assert!(!kinds(&v).contains(&Constraint::PerHost), "{}", lines(&v));
}

#[test]
fn a_missing_target_is_caught() {
    let mut f = fixture();
    f.plan.slots.retain(|s| s.machine.as_deref() != Some("db-p1"));
    let v = f.check();
    assert_eq!(
        lines(&v),
        "db-p1: coverage: target of campaign os-2027-03 has neither a slot nor an unscheduled entry\n"
    );
}

#[test]
fn a_duplicated_machine_is_caught() {
    let mut f = fixture();
    let copy = f.slot("app-p1").clone();
    f.plan.slots.push(copy);
    let v = f.check();
    // Twice in the plan, and so twice on its host at once.
    assert_eq!(kinds(&v), BTreeSet::from([Constraint::Coverage, Constraint::PerHost]), "{}", lines(&v));
    assert!(lines(&v).contains("app-p1: coverage: machine appears 2 times in the plan"), "{}", lines(&v));
}

#[test]
fn a_slot_of_the_wrong_length_is_caught() {
    let mut f = fixture();
    let (a, b) = f.times("db-p1");
    let short = b - SignedDuration::from_mins(5);
    f.set("db-p1", a, short);
    let v = f.check();
    assert_eq!(
        lines(&v),
        format!(
            "db-p1: duration: slot {a}..{short} lasts 1500s, its activities [os-update, reboot] take 30m (1800s)\n"
        )
    );
}

#[test]
fn a_slot_before_publication_plus_notice_is_caught() {
    let mut f = fixture();
    // Monday 23:00 UTC is inside Monday night, but the notice runs until Tuesday 00:00 UTC.
    let start: Timestamp = "2027-03-01T23:00:00Z".parse().unwrap();
    let slot_len = len(&f);
    f.set("web-s1", start, start + slot_len);
    let v = f.check();
    assert_eq!(
        lines(&v),
        format!(
            "web-s1: notice: slot {start}..{} starts before 2027-03-02T00:00:00Z, publication \
             (2027-02-27T00:00:00Z) plus the 3d notice\n",
            start + slot_len
        )
    );
}

#[test]
fn a_slot_in_a_blackout_is_caught() {
    let mut f = fixture();
    let m = f.last_production();
    // Wednesday night, in the release freeze.
    let start: Timestamp = "2027-03-03T22:00:00Z".parse().unwrap();
    let slot_len = len(&f);
    f.set(&m, start, start + slot_len);
    let v = f.check();
    assert_eq!(
        lines(&v),
        format!(
            "{m}: blackout: slot {start}..{} overlaps the platform's blackout \
             2027-03-03T21:00:00Z..2027-03-04T04:00:00Z (release freeze)\n",
            start + slot_len
        )
    );
}
