//! Tests of inventory parsing and validation: what a person gets wrong, and what they are told.

use super::*;

const GOOD: &str = r#"
[platform]
name = "Example Hosting"
time_zone = "Europe/Berlin"
windows = ["Mon-Fri 22:00-05:00"]
blackouts = [{ from = 2026-12-23T00:00:00+01:00, to = "2027-01-02T00:00:00+01:00", reason = "holidays" }]

[[customers]]
id = "acme"
name = "ACME Corp"
time_zone = "America/New_York"
windows = ["Tue,Thu 06:00-09:00"]

[[customers.contacts]]
name = "Ana Ops"
email = "ana@acme.example"
language = "de"

[[projects]]
id = "shop"
customer = "acme"

[[projects]]
id = "blog"
customer = "acme"
windows = ["Sat 10:00-14:00 Europe/Berlin"]

[[hosts]]
id = "kvm01"
rack = "r1"

[[hosts]]
id = "kvm02"
rack = "r2"
windows = ["Sat 10:00-14:00"]

[[devices]]
id = "sw1"
kind = "switch"
racks = ["r1"]

[[machines]]
id = "shop-stg"
project = "shop"
tier = "staging"
host = "kvm01"
groups = ["shop-web"]

[[machines]]
id = "shop-prod"
project = "shop"
tier = "production"
host = "kvm01"
groups = ["shop-web"]
services = ["http"]

[[machines]]
id = "blog1"
project = "blog"
tier = "production"
host = "kvm02"
windows = ["Sun 03:00-04:00"]
"#;

fn errors(file: &str, text: &str) -> String {
    match parse_inventory(file, text) {
        Ok(_) => panic!("{file} should not validate"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_good_inventory_validates_and_resolves_windows() {
    let inv = parse_inventory("good.toml", GOOD).unwrap();
    assert_eq!(inv.machines.len(), 3);
    let level = |id: &str| {
        let m = inv.machines.iter().find(|m| m.id == id).unwrap();
        let (level, windows) = inv.machine_windows(m);
        (level, windows.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    };
    assert_eq!(level("shop-prod"), (WindowLevel::Customer, vec!["Tue,Thu 06:00-09:00".to_owned()]));
    assert_eq!(level("blog1"), (WindowLevel::Machine, vec!["Sun 03:00-04:00".to_owned()]));
    let shop = &inv.machines[0];
    assert_eq!(inv.zone_for(inv.customer_of(shop)).name(), "America/New_York");
    assert_eq!(inv.tier_name(shop), "staging");
    assert_eq!(inv.host_windows(&inv.hosts[0]).0, WindowLevel::Platform);
    assert_eq!(inv.host_windows(&inv.hosts[1]).0, WindowLevel::Host);
    assert_eq!(inv.platform.blackouts[0].from.to_string(), "2026-12-22T23:00:00Z");
    assert_eq!(inv.customers[0].contacts[0].language, Language::De);
    assert_eq!(inv.blackouts_for(&inv.customers[0]).count(), 1);
    let found: Vec<Option<usize>> =
        ["shop-stg", "shop-prod", "blog1", "blog", "kvm01"].map(|id| inv.machine_position(id)).to_vec();
    assert_eq!(found, [Some(0), Some(1), Some(2), None, None]);
    assert_eq!((inv.host_position("kvm02"), inv.host_position("blog1")), (Some(1), None));
}

#[test]
fn the_summary_counts_what_an_operator_asks_about() {
    let inv = parse_inventory("good.toml", GOOD).unwrap();
    assert_eq!(
        inv.summary().to_string(),
        "platform   Example Hosting (time zone Europe/Berlin)\n\
         customers  1 with 1 contacts, 2 projects\n\
         hosts      2 in 2 racks, 1 network devices\n\
         machines   3: testing 0, staging 1, production 2\n\
         windows    from machine 1, customer 2\n\
         groups     1 redundancy groups\n\
         note       1 group with several members on one host (a host reboot takes them down together): shop-web"
    );
}

#[test]
fn json_and_toml_give_the_same_inventory() {
    let from_toml = parse_inventory("good.toml", GOOD).unwrap();
    let def: InventoryFile = toml::from_str(GOOD).unwrap();
    let json = serde_json::to_string(&def).unwrap();
    let from_json = parse_inventory("good.json", &json).unwrap();
    assert_eq!(from_toml.summary(), from_json.summary());
    assert_eq!(from_json.platform.blackouts, from_toml.platform.blackouts);
}

#[test]
fn every_error_is_reported_with_file_line_and_field() {
    let broken = r#"[platform]
name = "Example"
time_zone = "Europe/Berln"
tiers = ["staging", "production"]
windows = ["Mon-Fry 22:00-05:00"]
blackouts = [{ from = "2026-12-24T00:00:00Z", to = "2026-12-23T00:00:00Z" }]

[[customers]]
id = "acme"
name = "ACME"

[[customers.contacts]]
name = "Ana"
email = "ana.acme.example"
language = "fr"

[[projects]]
id = "shop"
customer = "acne"

[[hosts]]
id = "kvm01"
rack = "r1"

[[machines]]
id = "web1"
project = "shop"
tier = "prod"
host = "kvm09"

[[machines]]
id = "web1"
project = "shop"
tier = "staging"
hots = "kvm01"
"#;
    assert_eq!(
        errors("broken.toml", broken),
        "broken.toml:3: platform.time_zone: unknown time zone `Europe/Berln`: expected an IANA name like Europe/Berlin or UTC\n\
         broken.toml:5: platform.windows[0]: window `Mon-Fry 22:00-05:00`: unknown day `Fry`: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun\n\
         broken.toml:6: platform.blackouts[0].to: blackout ends (2026-12-23T00:00:00Z) before it starts (2026-12-24T00:00:00Z): swap `from` and `to`\n\
         broken.toml:14: customers[0].contacts[0].email: `ana.acme.example` is not an email address: it has no `@`\n\
         broken.toml:15: customers[0].contacts[0].language: unsupported language `fr`: forewarn writes `en` (English) and `de` (German)\n\
         broken.toml:19: projects[0].customer: unknown customer `acne` (project `shop`): define it under [[customers]] or fix the id\n\
         broken.toml:28: machines[0].tier: unknown tier `prod` (machine `web1`): the platform's tiers are staging, production\n\
         broken.toml:29: machines[0].host: unknown host `kvm09` (machine `web1`): define it under [[hosts]] or fix the id\n\
         broken.toml:35: machines[1]: unknown field `hots`, expected one of `id`, `project`, `tier`, `host`, `groups`, `services`, `windows`, `fleetlock_id`\n\
         9 errors"
    );
}

#[test]
fn duplicates_unknown_sections_and_missing_fields_are_named() {
    let text = r#"[platform]
name = ""

[[hosts]]
id = "kvm01"
rack = "r1"

[[hosts]]
id = "kvm01"

[[machine]]
id = "x"
"#;
    assert_eq!(
        errors("dup.toml", text),
        "dup.toml:2: platform.name: `name` is empty: give it a value\n\
         dup.toml:8: hosts[1]: missing field `rack`\n\
         dup.toml:11: machine: unknown section `machine`: expected one of platform, customers, projects, hosts, devices, machines\n\
         3 errors"
    );
    let dup = "[platform]\nname = \"p\"\n[[hosts]]\nid = \"a\"\nrack = \"r\"\n[[hosts]]\nid = \"a\"\nrack = \"r\"\n";
    assert_eq!(errors("d.toml", dup), "d.toml:7: hosts[1].id: duplicate host id `a`: also used by hosts[0]\n1 error");
}

#[test]
fn syntax_errors_name_the_line() {
    let e = errors("bad.toml", "[platform]\nname = \"x\"\nwindows = [\"Mon 01:00-02:00\"\n");
    assert!(e.starts_with("bad.toml:3: this is not valid TOML"), "{e}");
    let e = errors("bad.json", "{\n  \"platform\": {\"name\": \"x\",}\n}");
    assert!(e.starts_with("bad.json:2: this is not valid JSON"), "{e}");
    let e = errors("garbage.toml", "\u{0}\u{1}not toml at all {{{{");
    assert!(e.starts_with("garbage.toml:1: this is not valid TOML"), "{e}");
}

#[test]
fn json_errors_name_the_field_even_without_lines() {
    let text = r#"{"platform": {"name": "p"},
      "hosts": [{"id": "h", "rack": "r"}],
      "projects": [{"id": "p1", "customer": "nobody"}],
      "machines": [{"id": "m", "project": "p1", "tier": "staging", "host": "h", "color": "red"}]}"#;
    assert_eq!(
        errors("inv.json", text),
        "inv.json: projects[0].customer: unknown customer `nobody` (project `p1`): define it under [[customers]] or fix the id\n\
         inv.json: machines[0]: unknown field `color`, expected one of `id`, `project`, `tier`, `host`, `groups`, `services`, `windows`, `fleetlock_id`\n\
         2 errors"
    );
}

#[test]
fn a_missing_platform_is_explained() {
    assert_eq!(
        errors("empty.toml", ""),
        "empty.toml:1: missing the platform: add a `[platform]` table with at least `name`\n1 error"
    );
}

#[test]
fn ids_and_emails_are_checked() {
    assert!(check_id("web-1.example_a").is_ok());
    assert_eq!(check_id("web 1").unwrap_err(), "`web 1` contains ` `: use only letters, digits, `.`, `-` and `_`");
    assert!(check_email("a.b+c@mail.example.com").is_ok());
    for (bad, why) in [
        ("@x.com", "nothing before"),
        ("a@b@c.com", "more than one"),
        ("a@localhost", "the domain"),
        ("a b@x.com", "contains a space"),
        ("a@x..com", "the domain"),
    ] {
        let e = check_email(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn json_with_escaped_strings_takes_the_owned_path() {
    // `\u0041` is `A`: strings with escapes cannot be borrowed from the text.
    let text = r#"{"platform": {"name": "p"},
      "customers": [{"id": "c", "name": "C"}],
      "projects": [{"id": "p1", "customer": "c"}],
      "hosts": [{"id": "h", "rack": "r"}],
      "machines": [{"id": "web\u0041", "project": "p1", "tier": "staging", "host": "h", "services": ["ht\u0074p"]}]}"#;
    let inv = parse_inventory("inv.json", text).unwrap();
    assert_eq!(inv.machines[0].id, "webA");
    assert_eq!(inv.service_names(&inv.machines[0]).collect::<Vec<_>>(), ["http"]);
}

#[test]
fn long_lists_survive_the_fast_path() {
    let text = r#"{"platform": {"name": "p"},
      "customers": [{"id": "c", "name": "C"}],
      "projects": [{"id": "p1", "customer": "c"}],
      "hosts": [{"id": "h", "rack": "r"}],
      "machines": [{"id": "m", "project": "p1", "tier": "staging", "host": "h",
                    "services": ["a", "b", "c", "d", "e"], "groups": []}]}"#;
    let inv = parse_inventory("inv.json", text).unwrap();
    assert_eq!(inv.service_names(&inv.machines[0]).collect::<Vec<_>>(), ["a", "b", "c", "d", "e"]);
    assert!(inv.machines[0].groups.is_empty());
}

#[test]
fn a_machine_with_an_unknown_field_is_still_checked() {
    let text = r#"[platform]
name = "p"

[[customers]]
id = "c"
name = "C"

[[projects]]
id = "shop"
customer = "c"

[[hosts]]
id = "kvm01"
rack = "r1"

[[machines]]
id = "web1"
project = "shpo"
tier = "prod"
host = "kvm09"
colour = "red"
windows = ["Mon 25:00-26:00"]
"#;
    assert_eq!(
        errors("typo.toml", text),
        "typo.toml:18: machines[0].project: unknown project `shpo` (machine `web1`): define it under [[projects]] or fix the id\n\
         typo.toml:19: machines[0].tier: unknown tier `prod` (machine `web1`): the platform's tiers are testing, staging, production\n\
         typo.toml:20: machines[0].host: unknown host `kvm09` (machine `web1`): define it under [[hosts]] or fix the id\n\
         typo.toml:21: machines[0]: unknown field `colour`, expected one of `id`, `project`, `tier`, `host`, `groups`, `services`, `windows`, `fleetlock_id`\n\
         typo.toml:22: machines[0].windows[0]: window `Mon 25:00-26:00`: time `25:00` is out of range: expected HH:MM from 00:00 to 23:59 (24:00 only as an end)\n\
         5 errors"
    );
}

#[test]
fn a_machine_with_an_unknown_field_is_still_checked_in_json() {
    // Not the fast path's kind of file: it gives up on the first error, and the general path
    // reads the whole file again and explains everything.
    let text = r#"{"platform": {"name": "p"},
      "customers": [{"id": "c", "name": "C"}],
      "projects": [{"id": "p1", "customer": "c"}],
      "hosts": [{"id": "h", "rack": "r"}],
      "machines": [{"id": "m0", "project": "p1", "tier": "staging", "host": "h"},
                   {"id": "m1", "project": "p2", "tier": "prod", "host": "h2", "color": "red"}]}"#;
    assert_eq!(
        errors("inv.json", text),
        "inv.json: machines[1]: unknown field `color`, expected one of `id`, `project`, `tier`, `host`, `groups`, `services`, `windows`, `fleetlock_id`\n\
         inv.json: machines[1].project: unknown project `p2` (machine `m1`): define it under [[projects]] or fix the id\n\
         inv.json: machines[1].tier: unknown tier `prod` (machine `m1`): the platform's tiers are testing, staging, production\n\
         inv.json: machines[1].host: unknown host `h2` (machine `m1`): define it under [[hosts]] or fix the id\n\
         4 errors"
    );
}

#[test]
fn machines_after_an_unreadable_one_keep_their_place() {
    // machines[0] lacks its host: it cannot be read at all, but the errors of the machines
    // after it still name their own entries and lines.
    let text = r#"[platform]
name = "p"

[[customers]]
id = "c"
name = "C"

[[projects]]
id = "shop"
customer = "c"

[[hosts]]
id = "kvm01"
rack = "r1"

[[machines]]
id = "web1"
project = "shop"
tier = "staging"

[[machines]]
id = "web2"
project = "shop"
tier = "prod"
host = "kvm01"

[[machines]]
id = "web2"
project = "shop"
tier = "staging"
host = "kvm01"
"#;
    assert_eq!(
        errors("gap.toml", text),
        "gap.toml:16: machines[0]: missing field `host`\n\
         gap.toml:24: machines[1].tier: unknown tier `prod` (machine `web2`): the platform's tiers are testing, staging, production\n\
         gap.toml:28: machines[2].id: duplicate machine id `web2`: also used by machines[1]\n\
         3 errors"
    );
}

/// Names hold one line of text of sensible length: a newline in a contact's name (which
/// would become a header line in a mail), NUL, a bidirectional override or a name of
/// megabytes is refused at validation, with file, line and field.
#[test]
fn names_with_control_characters_or_too_long_are_refused() {
    let cases: [(&str, &str, &str); 9] = [
        ("name = \"Ana Ops\"", "name = \"Ana\\nBcc: all@example.net\"", "customers[0].contacts[0].name"),
        ("name = \"ACME Corp\"", "name = \"ACME\\u0000Corp\"", "customers[0].name"),
        ("name = \"Example Hosting\"", "name = \"Example \\u202EgnitsoH\"", "platform.name"),
        ("name = \"Example Hosting\"", &format!("name = \"{}\"", "x".repeat(201)), "platform.name"),
        ("rack = \"r1\"", "rack = \"r1\\u2066\"", "hosts[0].rack"),
        ("reason = \"holidays\"", "reason = \"holi\\rdays\"", "platform.blackouts[0].reason"),
        ("services = [\"http\"]", "services = [\"ht\\ttp\"]", "machines[1].services[0]"),
        ("groups = [\"shop-web\"]\nservices", "groups = [\"shop\\u001bweb\"]\nservices", "machines[1].groups[0]"),
        ("id = \"acme\"", "id = \"ac\\nme\"", "customers[0].id"),
    ];
    for (good, bad, field) in cases {
        assert!(GOOD.contains(good), "{good}");
        let text = GOOD.replacen(good, bad, 1);
        let e = errors("inv.toml", &text);
        assert!(e.contains("inv.toml:"), "no file and line: {e}");
        assert!(e.contains(field), "{field} not named: {e}");
        assert!(
            e.contains("control character")
                || e.contains("NUL")
                || e.contains("U+202E")
                || e.contains("U+2066")
                || e.contains("at most 200")
                || e.contains("contains `"),
            "{e}"
        );
    }
    let long_email = format!("email = \"{}@acme.example\"", "a".repeat(250));
    let e = errors("inv.toml", &GOOD.replacen("email = \"ana@acme.example\"", &long_email, 1));
    assert!(e.contains("customers[0].contacts[0].email") && e.contains("at most 254"), "{e}");
}

#[test]
fn fleetlock_finds_a_machine_by_its_fleetlock_id_or_else_its_own_id() {
    // blog1 names the id Zincati sends; the others are known to FleetLock by their own ids.
    let zincati = "1f2e3d4c5b6a79881f2e3d4c5b6a7988";
    let text = GOOD.replace(
        "host = \"kvm02\"\nwindows = [\"Sun 03:00-04:00\"]",
        &format!("host = \"kvm02\"\nwindows = [\"Sun 03:00-04:00\"]\nfleetlock_id = \"{zincati}\""),
    );
    let from_toml = parse_inventory("fl.toml", &text).unwrap();
    let def: InventoryFile = toml::from_str(&text).unwrap();
    assert_eq!(def.machines[2].fleetlock_id.as_deref(), Some(zincati));
    let from_json = parse_inventory("fl.json", &serde_json::to_string(&def).unwrap()).unwrap();
    for inv in [&from_toml, &from_json] {
        let found = [zincati, "shop-stg", "shop-prod", "blog1", "kvm01", ""].map(|id| inv.fleetlock_machine(id));
        assert_eq!(found, [Some(2), Some(0), Some(1), None, None, None], "blog1 answers to its fleetlock_id only");
        assert_eq!((0..3).map(|i| inv.fleetlock_id(i)).collect::<Vec<_>>(), ["shop-stg", "shop-prod", zincati]);
    }
    // Written back as it was read.
    assert!(serde_json::to_string(&def).unwrap().contains(&format!("\"fleetlock_id\":\"{zincati}\"")));
    assert!(!serde_json::to_string(&def.machines[0]).unwrap().contains("fleetlock_id"));
}

#[test]
fn fleetlock_ids_are_checked_and_belong_to_one_machine() {
    let with = |ids: [&str; 3]| {
        let mut text = GOOD.to_owned();
        for (machine, id) in ["shop-stg", "shop-prod", "blog1"].iter().zip(ids) {
            if !id.is_empty() {
                text = text.replace(
                    &format!("id = \"{machine}\"\n"),
                    &format!("id = \"{machine}\"\nfleetlock_id = \"{id}\"\n"),
                );
            }
        }
        text
    };
    assert_eq!(
        errors("bad.toml", &with(["a b", "", "x".repeat(300).as_str()])),
        "bad.toml:44: machines[0].fleetlock_id: fleetlock_id `a b` contains ` `: use only letters, digits, `.`, `-` and `_` (machine `shop-stg`)\n\
         bad.toml:60: machines[2].fleetlock_id: fleetlock_id `xxxxxxxxxxxxxxxxxxxx...` is longer than 253 characters (machine `blog1`)\n\
         2 errors"
    );
    assert_eq!(
        errors("dup.toml", &with(["n1", "", "n1"])),
        "dup.toml:60: machines[2].fleetlock_id: duplicate fleetlock_id `n1`: also named by machines[0]; each machine has its own\n1 error"
    );
    assert_eq!(
        errors("other.toml", &with(["", "blog1", ""])),
        "other.toml:51: machines[1].fleetlock_id: fleetlock_id `blog1` is the id of machines[2]: FleetLock would not know which machine it is\n1 error"
    );
    // A machine may name its own id.
    let inv = parse_inventory("own.toml", &with(["shop-stg", "", ""])).unwrap();
    assert_eq!(inv.fleetlock_machine("shop-stg"), Some(0));
}
