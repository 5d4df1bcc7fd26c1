//! Tests of the search on small hand-made platforms: slots, order, limits and reasons.

use forewarn_model::{Campaign, Inventory, parse_campaign, parse_inventory};

use crate::plan::{Plan, Why};

const PLATFORM: &str = r#"
[platform]
name = "Test"
time_zone = "Europe/Berlin"
windows = ["Mon-Fri 22:00-02:00"]

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
"#;

fn machine(id: &str, tier: &str, host: &str, extra: &str) -> String {
    format!("\n[[machines]]\nid = \"{id}\"\nproject = \"shop\"\ntier = \"{tier}\"\nhost = \"{host}\"\n{extra}\n")
}

fn campaign(extra: &str) -> String {
    format!(
        r#"
id = "c1"
title = "Test campaign"
starts = "2027-03-01T00:00:00+01:00"
ends = "2027-03-06T00:00:00+01:00"
publish_at = "2027-02-20T00:00:00+01:00"
notice = "72h"
activities = [{{ kind = "os-update", duration = "20m" }}, {{ kind = "reboot", duration = "10m" }}]
{extra}
"#
    )
}

fn setup(machines: &str, camp: &str) -> (Inventory, Campaign) {
    let inv = parse_inventory("inv.toml", &format!("{PLATFORM}{machines}")).unwrap();
    let c = parse_campaign("c.toml", camp, &inv).unwrap();
    (inv, c)
}

/// `machine start..end` lines in Berlin time, in plan order.
fn slots(plan: &Plan, inv: &Inventory) -> Vec<String> {
    let tz = inv.platform.zone.tz().clone();
    plan.slots
        .iter()
        .map(|s| {
            let a = s.start().to_zoned_datetime(tz.clone()).strftime("%a %H:%M");
            let b = s.end().to_zoned_datetime(tz.clone()).strftime("%H:%M");
            format!("{} {a}-{b}", plan.target_id(inv, s.target))
        })
        .collect()
}

#[test]
fn one_host_one_at_a_time_packs_back_to_back() {
    let ms: String = (1..=4).map(|i| machine(&format!("web{i}"), "production", "kvm1", "")).collect();
    let (inv, c) = setup(&ms, &campaign("[limits]\nper_host = 1"));
    let plan = crate::plan(&inv, &c);
    assert_eq!(
        slots(&plan, &inv),
        ["web1 Mon 22:00-22:30", "web2 Mon 22:30-23:00", "web3 Mon 23:00-23:30", "web4 Mon 23:30-00:00"]
    );
    assert_eq!(plan.slots[0].why, Why::First);
    assert_eq!(
        plan.reason(&inv, &c, &plan.slots[1]),
        "first start in its window Mon-Fri 22:00-02:00 Europe/Berlin where host kvm1 (per_host 1) had room"
    );
    assert!(plan.unscheduled.is_empty());
}

#[test]
fn the_notice_pushes_the_first_slot() {
    let ms = machine("web1", "production", "kvm1", "");
    let c = campaign("").replace("2027-02-20T00:00:00+01:00", "2027-02-27T12:00:00+01:00");
    let (inv, c) = setup(&ms, &c);
    let plan = crate::plan(&inv, &c);
    // Publication Sat 12:00 plus 72 h is Tue 12:00: the Monday night is too early.
    assert_eq!(slots(&plan, &inv), ["web1 Tue 22:00-22:30"]);
}

#[test]
fn staging_goes_a_tier_gap_before_production() {
    let ms = machine("stg", "staging", "kvm1", "") + &machine("prod", "production", "kvm2", "");
    let (inv, c) = setup(&ms, &campaign("tier_order = [\"staging\", \"production\"]\ntier_gap = \"24h\""));
    let plan = crate::plan(&inv, &c);
    assert_eq!(slots(&plan, &inv), ["stg Mon 22:00-22:30", "prod Tue 22:30-23:00"]);
    let prod = plan.slots.iter().find(|s| plan.target_id(&inv, s.target) == "prod").unwrap();
    assert_eq!(prod.why, Why::TierGap);
}

#[test]
fn production_waits_for_unscheduled_staging() {
    let ms = machine("stg", "staging", "kvm1", "windows = [\"Sun 03:00-04:00\"]")
        + &machine("prod", "production", "kvm2", "");
    let (inv, c) = setup(&ms, &campaign("tier_order = [\"staging\", \"production\"]\ntier_gap = \"24h\""));
    let plan = crate::plan(&inv, &c);
    assert!(plan.slots.is_empty());
    let reasons: Vec<&str> = plan.unscheduled.iter().map(|u| u.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "no window Sun 03:00-04:00 Europe/Berlin from Mon 1 Mar 2027 00:00 CET until the campaign ends Sat 6 Mar 2027 00:00 CET",
            "staging machine stg of project shop got no slot, and later tiers never go before it (tier order staging then production)",
        ]
    );
}

#[test]
fn redundancy_group_members_never_overlap() {
    let ms = machine("db1", "production", "kvm1", "groups = [\"db\"]")
        + &machine("db2", "production", "kvm2", "groups = [\"db\"]");
    let (inv, c) = setup(&ms, &campaign(""));
    let plan = crate::plan(&inv, &c);
    assert_eq!(slots(&plan, &inv), ["db1 Mon 22:00-22:30", "db2 Mon 22:30-23:00"]);
    assert_eq!(
        plan.reason(&inv, &c, &plan.slots[1]),
        "first start in its window Mon-Fri 22:00-02:00 Europe/Berlin where redundancy group db (per_group 1) had room"
    );
}

#[test]
fn blackouts_are_left_out() {
    let ms = machine("web1", "production", "kvm1", "");
    let mut platform = PLATFORM.replace(
        "windows = [\"Mon-Fri 22:00-02:00\"]",
        "windows = [\"Mon-Fri 22:00-02:00\"]\nblackouts = [{ from = \"2027-03-01T00:00:00+01:00\", to = \"2027-03-02T23:15:00+01:00\", reason = \"release freeze\" }]",
    );
    platform.push_str(&ms);
    let inv = parse_inventory("inv.toml", &platform).unwrap();
    let c = parse_campaign("c.toml", &campaign(""), &inv).unwrap();
    let plan = crate::plan(&inv, &c);
    assert_eq!(slots(&plan, &inv), ["web1 Tue 23:15-23:45"]);
}

#[test]
fn a_window_that_is_too_short_is_explained() {
    let ms = machine("web1", "production", "kvm1", "windows = [\"Tue 01:00-01:20\"]");
    let (inv, c) = setup(&ms, &campaign(""));
    let plan = crate::plan(&inv, &c);
    assert_eq!(
        plan.unscheduled[0].reason,
        "the activities take 30m, but no window Tue 01:00-01:20 Europe/Berlin from Mon 1 Mar 2027 00:00 CET until Sat 6 Mar 2027 00:00 CET leaves that much time (the longest leaves 20m)"
    );
}

#[test]
fn full_limits_are_named_when_nothing_fits() {
    let ms: String =
        (1..=3).map(|i| machine(&format!("web{i}"), "production", "kvm1", "windows = [\"Wed 01:00-02:00\"]")).collect();
    let (inv, c) = setup(&ms, &campaign("[limits]\nper_host = 1"));
    let plan = crate::plan(&inv, &c);
    assert_eq!(plan.slots.len(), 2);
    assert_eq!(
        plan.unscheduled[0].reason,
        "every start in its window Wed 01:00-02:00 Europe/Berlin between Mon 1 Mar 2027 00:00 CET and Sat 6 Mar 2027 00:00 CET was taken: host kvm1 (per_host 1) had no room left"
    );
}

#[test]
fn windows_follow_the_clocks_across_dst() {
    // Europe/Berlin falls back on Sun 31 Oct 2027: 02:00-03:00 local lasts two hours that night.
    let ms = machine("web1", "production", "kvm1", "windows = [\"Sun 02:00-03:00\"]");
    let c = campaign("activities = [{ kind = \"fsck\", duration = \"2h\" }]")
        .replace(
            "activities = [{ kind = \"os-update\", duration = \"20m\" }, { kind = \"reboot\", duration = \"10m\" }]\n",
            "",
        )
        .replace("2027-03-01T00:00:00+01:00", "2027-10-25T00:00:00+02:00")
        .replace("2027-03-06T00:00:00+01:00", "2027-11-06T00:00:00+01:00")
        .replace("2027-02-20T00:00:00+01:00", "2027-10-01T00:00:00+02:00");
    let (inv, c) = setup(&ms, &c);
    let plan = crate::plan(&inv, &c);
    assert_eq!(plan.slots.len(), 1, "{:?}", plan.unscheduled);
    assert_eq!(plan.slots[0].start().to_string(), "2027-10-31T00:00:00Z");
    assert_eq!(plan.slots[0].end().to_string(), "2027-10-31T02:00:00Z");
}

#[test]
fn spread_uses_the_whole_range() {
    let ms: String = (1..=8)
        .map(|i| machine(&format!("web{i}"), "production", if i % 2 == 0 { "kvm1" } else { "kvm2" }, ""))
        .collect();
    let (inv, c) = setup(&ms, &campaign("strategy = \"spread\""));
    let plan = crate::plan(&inv, &c);
    let nights: std::collections::BTreeSet<String> =
        slots(&plan, &inv).iter().map(|s| s.split(' ').nth(1).unwrap().to_owned()).collect();
    assert!(nights.len() >= 3, "spread should use several nights: {nights:?}");
    assert!(plan.slots.iter().all(|s| s.why == Why::Spread || matches!(s.why, Why::Limit(_))));
}

#[test]
fn host_campaigns_note_hosts_holding_a_whole_group() {
    let ms = machine("db1", "production", "kvm1", "groups = [\"db\"]")
        + &machine("db2", "production", "kvm1", "groups = [\"db\"]")
        + &machine("db3", "production", "kvm2", "groups = [\"db\"]");
    let c = campaign("scope = \"hosts\"").replace(
        "activities = [{ kind = \"os-update\", duration = \"20m\" }, { kind = \"reboot\", duration = \"10m\" }]",
        "activities = [{ kind = \"host-reboot\", duration = \"30m\" }]",
    );
    let (inv, c) = setup(&ms, &c);
    let plan = crate::plan(&inv, &c);
    assert_eq!(slots(&plan, &inv), ["kvm1 Mon 22:00-22:30", "kvm2 Mon 22:30-23:00"]);
    assert_eq!(
        plan.notes,
        ["host kvm1 holds 2 members of redundancy group db (db1, db2): rebooting it takes them down together"]
    );
}

#[test]
fn the_lower_bound_is_never_above_the_plan() {
    let ms: String = (1..=12)
        .map(|i| machine(&format!("web{i}"), if i <= 3 { "staging" } else { "production" }, "kvm1", ""))
        .collect();
    let (inv, c) =
        setup(&ms, &campaign("tier_order = [\"staging\", \"production\"]\ntier_gap = \"24h\"\n[limits]\nper_host = 2"));
    let plan = crate::plan(&inv, &c);
    let (done, bound) = (plan.stats.completion.unwrap(), plan.stats.lower_bound.unwrap());
    assert!(bound <= done, "{bound} > {done}");
    // Staging (3 on one host, 2 at a time) ends Mon 23:00; production starts Tue 23:00 and its
    // 9 machines, two at a time, end Wed 01:30. The bound reasons without rounds: staging's
    // first ends (Mon 22:30) plus the gap release production at Tue 22:30, and 4.5 h of work
    // on two lanes ends Wed 00:45 at the earliest.
    assert_eq!(done.to_string(), "2027-03-03T00:30:00Z");
    assert_eq!(bound.to_string(), "2027-03-02T23:45:00Z");
}

#[test]
fn overlapping_windows_offer_every_start_of_either() {
    // A whole Tuesday, three short windows inside it (in another zone) that are over by
    // noon, and later nights: the candidates of overlapping windows are one set. Production
    // waits for staging's Monday night slot and a 14 h gap, until Tuesday 12:30, and takes
    // Tuesday afternoon, not the Wednesday night.
    let windows = r#"windows = ["Tue 00:00-24:00", "Tue 01:00-02:00 UTC", "Tue 03:00-04:00 UTC", "Tue 05:00-06:00 UTC", "Wed 22:00-23:00", "Thu 22:00-23:00"]"#;
    let ms = machine("stg", "staging", "kvm1", "") + &machine("web1", "production", "kvm1", windows);
    let (inv, c) = setup(&ms, &campaign("tier_order = [\"staging\", \"production\"]\ntier_gap = \"14h\""));
    let plan = crate::plan(&inv, &c);
    assert_eq!(slots(&plan, &inv), ["stg Mon 22:00-22:30", "web1 Tue 12:30-13:00"]);
    // The next starts after Tuesday noon, an hour apart, staging where it is.
    let booked = [crate::Keep { target: "stg".into(), start: plan.slots[0].start }];
    let noon: jiff::Timestamp = "2027-03-02T12:00:00+01:00".parse().unwrap();
    let offered = crate::next_starts(&inv, &c, &booked, "web1", noon.as_second(), 3, 3600).unwrap();
    let tz = inv.platform.zone.tz().clone();
    let words: Vec<String> = offered
        .iter()
        .map(|&t| {
            jiff::Timestamp::from_second(t).unwrap().to_zoned_datetime(tz.clone()).strftime("%a %H:%M").to_string()
        })
        .collect();
    assert_eq!(words, ["Tue 12:30", "Tue 13:30", "Tue 14:30"]);
}

#[test]
fn overlapping_runs_become_disjoint_and_keep_every_start_of_their_grid() {
    use super::{Run, disjoint};
    use std::collections::BTreeSet;
    let starts = |runs: &[Run]| -> BTreeSet<i64> {
        runs.iter().flat_map(|r| (0..r.count).map(move |k| r.first + k * r.step)).collect()
    };
    // Runs on one grid of 10, overlapping, nested, adjacent and apart, from a small LCG.
    let mut x: u64 = 7;
    let mut next = |n: u64| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) % n
    };
    for _ in 0..500 {
        let runs: Vec<Run> = (0..next(8) + 1)
            .map(|_| Run { first: 10 * next(40) as i64, count: next(12) as i64 + 1, step: 10 })
            .collect();
        let out = disjoint(runs.clone());
        assert_eq!(starts(&out), starts(&runs), "{runs:?} -> {out:?}");
        assert!(out.windows(2).all(|w| w[0].last() + w[0].step < w[1].first), "{runs:?} -> {out:?}");
    }
    // On another grid, the starts after the run it overlaps are kept.
    let out = disjoint(vec![Run { first: 0, count: 10, step: 10 }, Run { first: 45, count: 10, step: 10 }]);
    assert_eq!((out[1].first, out[1].count, out[1].last()), (95, 5, 135), "{out:?}");
}
