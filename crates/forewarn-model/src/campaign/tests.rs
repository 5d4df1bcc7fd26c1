//! Tests of campaign parsing and validation against an inventory.

use super::*;
use crate::parse_inventory;

const INVENTORY: &str = r#"
[platform]
name = "Example"
time_zone = "Europe/Berlin"
windows = ["Mon-Fri 22:00-05:00"]

[[customers]]
id = "acme"
name = "ACME"

[[projects]]
id = "shop"
customer = "acme"

[[hosts]]
id = "kvm01"
rack = "r1"

[[hosts]]
id = "kvm02"
rack = "r1"

[[machines]]
id = "shop-stg"
project = "shop"
tier = "staging"
host = "kvm01"
services = ["http"]

[[machines]]
id = "shop-prod"
project = "shop"
tier = "production"
host = "kvm01"
services = ["db"]
"#;

const GOOD: &str = r#"
id = "os-update-2027-03"
title = "OS update March 2027"
starts = 2027-03-01T00:00:00+01:00
ends = "2027-03-06T00:00:00+01:00"
publish_at = "2027-02-22T09:00:00+01:00"
notice = "72h"
tier_order = ["staging", "production"]
tier_gap = "24h"
activities = [{ kind = "os-update", duration = "20m" }, { kind = "reboot", duration = "10m" }]
granularity = "15m"
strategy = "spread"

[targets]
tiers = ["staging", "production"]

[limits]
global = 10
per_host = 2
"#;

fn inventory() -> Inventory {
    parse_inventory("inv.toml", INVENTORY).unwrap()
}

fn errors(text: &str) -> String {
    match parse_campaign("c.toml", text, &inventory()) {
        Ok(_) => panic!("should not validate"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_good_campaign_validates() {
    let inv = inventory();
    let c = parse_campaign("c.toml", GOOD, &inv).unwrap();
    assert_eq!(c.slot_length().to_string(), "30m");
    assert_eq!(c.earliest_start().to_string(), "2027-03-01T00:00:00Z".replace("03-01T00", "02-28T23"));
    assert_eq!(c.per_group(), 1);
    assert_eq!(c.tier_order, vec![1, 2]);
    assert_eq!(c.strategy, Strategy::Spread);
    assert_eq!(c.target_machines(&inv), vec![0, 1]);
    assert_eq!(c.activity_kinds(), vec!["os-update", "reboot"]);
    assert!(c.notify_contacts, "contacts are told unless the file says otherwise");
}

#[test]
fn a_campaign_may_tell_no_contacts() {
    let inv = inventory();
    let quiet = GOOD.replace("strategy = \"spread\"", "strategy = \"spread\"\nnotify_contacts = false");
    assert!(!parse_campaign("c.toml", &quiet, &inv).unwrap().notify_contacts);
    let wrong = GOOD.replace("strategy = \"spread\"", "strategy = \"spread\"\nnotify_contacts = \"no\"");
    assert!(errors(&wrong).contains("notify_contacts"), "{}", errors(&wrong));
}

#[test]
fn notice_can_push_the_earliest_start_past_the_range_start() {
    let inv = inventory();
    let text = GOOD.replace("2027-02-22T09:00:00+01:00", "2027-02-27T12:00:00+01:00");
    let c = parse_campaign("c.toml", &text, &inv).unwrap();
    assert_eq!(c.earliest_start().to_string(), "2027-03-02T11:00:00Z");
}

#[test]
fn targets_match_every_key_and_any_value() {
    let inv = inventory();
    let with = |targets: &str| {
        let text = GOOD.replace("tiers = [\"staging\", \"production\"]\n\n[limits]", &format!("{targets}\n\n[limits]"));
        parse_campaign("c.toml", &text, &inv).unwrap().target_machines(&inv)
    };
    assert_eq!(with("services = [\"db\", \"mail\"]"), vec![1]);
    assert_eq!(with("tiers = [\"staging\"]\nservices = [\"db\"]"), Vec::<usize>::new());
    assert_eq!(with("machines = [\"shop-stg\"]"), vec![0]);
    assert_eq!(with("hosts = [\"kvm01\"]"), vec![0, 1]);
}

#[test]
fn host_campaigns_target_hosts_with_matching_guests() {
    let inv = inventory();
    let text = r#"
id = "host-reboot"
title = "Host reboot"
starts = "2027-03-06T10:00:00+01:00"
ends = "2027-03-06T14:00:00+01:00"
publish_at = "2027-02-20T10:00:00+01:00"
scope = "hosts"
activities = [{ kind = "host-reboot", duration = "30m" }]
"#;
    let c = parse_campaign("h.toml", text, &inv).unwrap();
    assert_eq!(c.target_hosts(&inv), vec![0, 1]);
    let only_db = text.replace("scope = \"hosts\"", "scope = \"hosts\"\ntargets = { services = [\"db\"] }");
    assert_eq!(parse_campaign("h.toml", &only_db, &inv).unwrap().target_hosts(&inv), vec![0]);
}

#[test]
fn every_unknown_key_is_named_with_its_line() {
    let text = GOOD
        .replace("granularity = \"15m\"", "granularty = \"15m\"")
        .replace("global = 10", "globl = 10\nper_hots = 1");
    assert_eq!(
        errors(&text),
        "c.toml:11: granularty: unknown field `granularty`: expected one of id, title, starts, ends, publish_at, notice, scope, targets, tier_order, tier_gap, activities, limits, granularity, strategy, notify_contacts, mode, rollout\n\
         c.toml:18: limits.globl: unknown limit `globl`: expected one of global, per_host, per_rack, per_customer, per_group\n\
         c.toml:19: limits.per_hots: unknown limit `per_hots`: expected one of global, per_host, per_rack, per_customer, per_group\n\
         3 errors"
    );
}

#[test]
fn semantic_errors_are_all_reported() {
    let text = GOOD
        .replace("ends = \"2027-03-06T00:00:00+01:00\"", "ends = \"2027-02-26T00:00:00+01:00\"")
        .replace("tier_order = [\"staging\", \"production\"]", "tier_order = [\"staging\", \"prod\"]")
        .replace(
            "{ kind = \"reboot\", duration = \"10m\" }",
            "{ kind = \"reboot\", duration = \"10m\" }, { kind = \"host-reboot\", duration = \"30m\" }",
        )
        .replace("global = 10", "global = 0")
        .replace("tiers = [\"staging\", \"production\"]\n", "tiers = [\"staging\"]\ncustomers = [\"acne\"]\n");
    assert_eq!(
        errors(&text),
        "c.toml:5: ends: the campaign ends (2027-02-26T00:00:00+01:00) before it starts (2027-03-01T00:00:00+01:00): swap `starts` and `ends`\n\
         c.toml:8: tier_order[1]: unknown tier `prod`: the platform's tiers are testing, staging, production\n\
         c.toml:10: activities[2].kind: a slot holds at most one reboot: remove this one\n\
         c.toml:10: activities[2].kind: `host-reboot` works on hosts: set scope = \"hosts\"\n\
         c.toml:16: targets.customers[0]: unknown customer `acne`: check the id in the inventory\n\
         c.toml:19: limits.global: `global = 0` lets nothing run: remove it to have no limit\n\
         6 errors"
    );
}

#[test]
fn malformed_values_are_explained() {
    let e = errors(&GOOD.replace("notice = \"72h\"", "notice = \"three days\""));
    assert_eq!(
        e,
        "c.toml:7: notice: duration `three days` is not understood: write it like `24h`, `90m`, `1h30m` or `2d`\n1 error"
    );
    let e = errors(&GOOD.replace("strategy = \"spread\"", "strategy = \"fast\""));
    assert!(e.starts_with("c.toml:12: strategy: unknown variant `fast`, expected `earliest` or `spread`"), "{e}");
}

#[test]
fn publication_plus_notice_must_leave_room() {
    let e = errors(&GOOD.replace("2027-02-22T09:00:00+01:00", "2027-03-04T09:00:00+01:00"));
    assert_eq!(
        e,
        "c.toml:6: publish_at: publication (2027-03-04T09:00:00+01:00) plus the 3d notice is not before the campaign ends (2027-03-06T00:00:00+01:00): publish earlier or move the range\n1 error"
    );
}

#[test]
fn unknown_keys_do_not_hide_other_errors() {
    let text = GOOD
        .replace("granularity = \"15m\"", "granularty = \"15m\"")
        .replace("tier_order = [\"staging\", \"production\"]", "tier_order = [\"staging\", \"prod\"]");
    assert_eq!(
        errors(&text),
        "c.toml:8: tier_order[1]: unknown tier `prod`: the platform's tiers are testing, staging, production\n\
         c.toml:11: granularty: unknown field `granularty`: expected one of id, title, starts, ends, publish_at, notice, scope, targets, tier_order, tier_gap, activities, limits, granularity, strategy, notify_contacts, mode, rollout\n\
         2 errors"
    );
}

#[test]
fn titles_are_one_line_of_sensible_length() {
    let e = errors(&GOOD.replace("OS update March 2027", "OS update\\nMarch"));
    assert!(e.contains("c.toml:3") && e.contains("title") && e.contains("U+000A"), "{e}");
    let e = errors(&GOOD.replace("OS update March 2027", &"x".repeat(201)));
    assert!(e.contains("title") && e.contains("at most 200"), "{e}");
    let e = errors(&GOOD.replace("OS update March 2027", "OS \\u202Eupdate"));
    assert!(e.contains("U+202E"), "{e}");
    let e = errors(&GOOD.replace("id = \"os-update-2027-03\"", "id = \"os\\u0000update\""));
    assert!(e.contains("c.toml:2") && e.contains("id"), "{e}");
}

#[test]
fn a_failure_budget_is_exceeded_not_equalled() {
    use super::Budget;
    // 3: the fourth failure pauses.
    assert!(!Budget::Count(3).exceeded(3, 100));
    assert!(Budget::Count(3).exceeded(4, 100));
    // "5%" of 200 machines is 10: the eleventh pauses.
    let share = Budget::Share("5%".into());
    assert!(!share.exceeded(10, 200));
    assert!(share.exceeded(11, 200));
    // "5%" of 30 machines is 1.5: the second pauses.
    assert!(!share.exceeded(1, 30));
    assert!(share.exceeded(2, 30));
    // "0%": the first failure pauses; "2.5%" of 40 is 1.
    assert!(Budget::Share("0%".into()).exceeded(1, 1000));
    assert!(!Budget::Share("2.5%".into()).exceeded(1, 40));
    assert!(Budget::Share("2.5%".into()).exceeded(2, 40));
}

#[test]
fn a_failure_budget_reads_as_a_number_or_a_share() {
    let inv = inventory();
    let with =
        |rollout: &str| GOOD.replace("strategy = \"spread\"", &format!("strategy = \"spread\"\n[rollout]\n{rollout}"));
    let c = parse_campaign("c.toml", &with("max_failures = 3"), &inv).unwrap();
    assert_eq!(c.rollout.max_failures, Some(super::Budget::Count(3)));
    let c = parse_campaign("c.toml", &with("max_failures = \"5%\""), &inv).unwrap();
    assert_eq!(c.rollout.max_failures.unwrap().to_string(), "5%");
    for bad in ["max_failures = \"five\"", "max_failures = \"150%\"", "max_failures = \"5\""] {
        let e = errors(&with(bad));
        assert!(e.contains("rollout.max_failures") && e.contains("is not a share"), "{bad}: {e}");
    }
    let e = errors(&with("canary = 3"));
    assert!(e.contains("unknown roll-out field `canary`: expected one of max_failures"), "{e}");
}
