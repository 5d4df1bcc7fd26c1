//! FleetLock admission on a small platform: every refusal's kind and words.

use forewarn_model::{Campaign, Inventory, parse_campaign, parse_inventory};

use super::{Hold, Kind, admit};

const INVENTORY: &str = r#"
[platform]
name = "Test"
time_zone = "Europe/Berlin"
windows = ["Mon-Fri 22:00-02:00"]
blackouts = [{ from = "2027-03-03T23:00:00+01:00", to = "2027-03-04T01:00:00+01:00", reason = "year-end freeze" }]

[[customers]]
id = "acme"
name = "ACME"

[[customers]]
id = "beta"
name = "Beta"

[[projects]]
id = "shop"
customer = "acme"

[[projects]]
id = "blog"
customer = "beta"

[[hosts]]
id = "kvm1"
rack = "r1"

[[hosts]]
id = "kvm2"
rack = "r1"

[[machines]]
id = "web1"
project = "shop"
tier = "production"
host = "kvm1"
groups = ["web"]

[[machines]]
id = "web2"
project = "shop"
tier = "production"
host = "kvm2"
groups = ["web"]

[[machines]]
id = "db1"
project = "shop"
tier = "production"
host = "kvm1"

[[machines]]
id = "blog1"
project = "blog"
tier = "production"
host = "kvm2"
windows = ["Sat 10:00-12:00"]
"#;

fn group(extra: &str) -> (Inventory, Campaign) {
    let inv = parse_inventory("inv.toml", INVENTORY).unwrap();
    let text = format!(
        r#"
id = "fcos-stable"
title = "Fedora CoreOS updates"
mode = "fleetlock"
starts = "2027-03-01T00:00:00+01:00"
ends = "2027-03-31T00:00:00+01:00"
publish_at = "2027-02-20T00:00:00+01:00"
notice = "72h"
activities = [{{ kind = "reboot", duration = "10m" }}]
{extra}
"#
    );
    let c = parse_campaign("g.toml", &text, &inv).unwrap();
    (inv, c)
}

/// Unix seconds of a Berlin wall-clock time in March 2027 (CET, +01:00).
fn at(text: &str) -> i64 {
    format!("{text}+01:00").parse::<jiff::Timestamp>().unwrap().as_second()
}

fn ix(inv: &Inventory, id: &str) -> usize {
    inv.machine_position(id).unwrap()
}

fn refusal(r: Result<(), super::Refused>) -> (Kind, String) {
    let r = r.expect_err("refused");
    (r.kind, r.value)
}

#[test]
fn inside_the_window_a_lock_is_granted() {
    let (inv, c) = group("");
    assert_eq!(admit(&inv, &c, &[], ix(&inv, "web1"), at("2027-03-01T22:00:00")), Ok(()));
    assert_eq!(admit(&inv, &c, &[], ix(&inv, "web1"), at("2027-03-02T01:50:00")), Ok(()));
}

#[test]
fn outside_the_window_says_when_it_opens() {
    let (inv, c) = group("");
    let (kind, value) = refusal(admit(&inv, &c, &[], ix(&inv, "web1"), at("2027-03-02T12:00:00")));
    assert_eq!(kind, Kind::OutsideMaintenanceWindow);
    assert_eq!(kind.as_str(), "outside_maintenance_window");
    assert_eq!(
        value,
        "`web1` is outside its maintenance window (Mon-Fri 22:00-02:00 Europe/Berlin); it next opens Tue 2 Mar 2027 22:00 CET"
    );
    // Too late in the window for the reboot to end inside it.
    let (kind, value) = refusal(admit(&inv, &c, &[], ix(&inv, "web1"), at("2027-03-02T01:55:00")));
    assert_eq!(kind, Kind::OutsideMaintenanceWindow);
    assert!(value.contains("closes at Tue 2 Mar 2027 02:00 CET, before a reboot of 10m would end"), "{value}");
    // A machine's own window.
    let (kind, value) = refusal(admit(&inv, &c, &[], ix(&inv, "blog1"), at("2027-03-01T22:00:00")));
    assert_eq!(kind, Kind::OutsideMaintenanceWindow);
    assert!(value.ends_with("it next opens Sat 6 Mar 2027 10:00 CET"), "{value}");
}

#[test]
fn before_the_notice_and_after_the_end_are_outside_the_group() {
    let (inv, c) = group("");
    // The notice ends 23 Feb; the range starts 1 Mar.
    let (kind, value) = refusal(admit(&inv, &c, &[], ix(&inv, "web1"), at("2027-02-25T22:00:00")));
    assert_eq!(kind, Kind::OutsideCampaign);
    assert!(value.starts_with("group `fcos-stable` takes locks from Mon 1 Mar 2027 00:00 CET to"), "{value}");
    let (kind, _) = refusal(admit(&inv, &c, &[], ix(&inv, "web1"), at("2027-03-31T22:00:00")));
    assert_eq!(kind, Kind::OutsideCampaign);
}

#[test]
fn a_blackout_refuses_with_its_reason() {
    let (inv, c) = group("");
    let (kind, value) = refusal(admit(&inv, &c, &[], ix(&inv, "web1"), at("2027-03-03T22:55:00")));
    assert_eq!(kind, Kind::Blackout);
    assert!(value.starts_with("a blackout (year-end freeze) from Wed 3 Mar 2027 23:00 CET"), "{value}");
    assert_eq!(admit(&inv, &c, &[], ix(&inv, "web1"), at("2027-03-04T01:00:00")), Ok(()));
}

#[test]
fn limits_count_what_holds_and_name_it() {
    let (inv, c) = group("[limits]\nper_host = 1");
    let t = at("2027-03-01T22:30:00");
    let held = |id: &str, start: i64, end: i64| Hold { machine: ix(&inv, id), start, end };
    // The redundancy group: one of web1, web2 at a time (per_group defaults to 1).
    let (kind, value) = refusal(admit(&inv, &c, &[held("web1", t - 600, i64::MAX)], ix(&inv, "web2"), t));
    assert_eq!(kind, Kind::LimitReached);
    assert_eq!(
        value,
        "per_group = 1 in redundancy group `web` is reached: `web1` down now; try again when one is back"
    );
    // The host: db1 shares kvm1 with web1.
    let (kind, value) = refusal(admit(&inv, &c, &[held("web1", t - 600, i64::MAX)], ix(&inv, "db1"), t));
    assert_eq!(kind, Kind::LimitReached);
    assert!(value.starts_with("per_host = 1 on host `kvm1` is reached: `web1`"), "{value}");
    // A hold that ended before, or starts after the reboot would end, does not count.
    assert_eq!(admit(&inv, &c, &[held("web1", t - 1200, t)], ix(&inv, "db1"), t), Ok(()));
    assert_eq!(admit(&inv, &c, &[held("web1", t + 600, t + 1200)], ix(&inv, "db1"), t), Ok(()));
    // The machine's own hold is not another's.
    assert_eq!(admit(&inv, &c, &[held("db1", t - 600, i64::MAX)], ix(&inv, "db1"), t), Ok(()));

    let (inv, c) = group("[limits]\nglobal = 2\nper_group = 2");
    let held = |id: &str| Hold { machine: ix(&inv, id), start: t, end: i64::MAX };
    assert_eq!(admit(&inv, &c, &[held("web1")], ix(&inv, "web2"), t), Ok(()));
    let (kind, value) = refusal(admit(&inv, &c, &[held("web1"), held("web2")], ix(&inv, "db1"), t));
    assert_eq!(kind, Kind::LimitReached);
    assert!(value.starts_with("global = 2 is reached: `web1`, `web2` down now"), "{value}");
}

#[test]
fn a_machine_outside_the_targets_is_not_in_the_group() {
    let (inv, c) = group("[targets]\ncustomers = [\"acme\"]");
    let (kind, value) = refusal(admit(&inv, &c, &[], ix(&inv, "blog1"), at("2027-03-06T10:00:00")));
    assert_eq!(kind, Kind::NotInGroup);
    assert_eq!(value, "`blog1` is not among the machines of group `fcos-stable`");
}

#[test]
fn a_group_is_planned_without_slots_listing_only_machines_that_can_never_reboot() {
    let (inv, c) = group("[targets]\nmachines = [\"web1\", \"blog1\"]\n");
    let plan = crate::plan(&inv, &c);
    assert!(plan.slots.is_empty());
    assert!(plan.unscheduled.is_empty(), "{:?}", plan.unscheduled);
    let narrow = parse_inventory("inv.toml", &INVENTORY.replace("Sat 10:00-12:00", "Sat 10:00-10:05")).unwrap();
    let plan = crate::plan(&narrow, &c);
    assert_eq!(plan.unscheduled.len(), 1);
    assert_eq!(plan.target_id(&narrow, plan.unscheduled[0].target), "blog1");
}

#[test]
fn a_group_locks_machines_and_its_id_is_a_zincati_group() {
    let inv = parse_inventory("inv.toml", INVENTORY).unwrap();
    let text = r#"
id = "fcos_stable"
title = "Hosts"
mode = "fleetlock"
scope = "hosts"
starts = "2027-03-01T00:00:00+01:00"
ends = "2027-03-31T00:00:00+01:00"
publish_at = "2027-02-20T00:00:00+01:00"
activities = [{ kind = "host-reboot", duration = "10m" }]
"#;
    let e = parse_campaign("g.toml", text, &inv).unwrap_err().to_string();
    assert!(e.contains("g.toml:2: id: a FleetLock group's id is the group Zincati sends"), "{e}");
    assert!(e.contains("`fcos_stable` contains `_`"), "{e}");
    assert!(e.contains("g.toml:4: mode: a FleetLock group locks machines"), "{e}");
}
