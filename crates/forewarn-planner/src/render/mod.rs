//! Plan renderings for people: a terminal table, an SVG picture and an
//! iCalendar file. Pure: every date is rendered from the plan, in a named zone.

pub mod ics;
pub mod svg;
pub mod table;

pub use ics::ics;
pub use svg::svg;
pub use table::table;

use forewarn_model::campaign::Scope;
use forewarn_model::{Inventory, Window, Zone};
use jiff::Timestamp;

use crate::explain::local;
use crate::plan::Plan;

/// A target's effective windows and the zone windows without one are read in.
pub(crate) fn target_windows(inv: &Inventory, scope: Scope, target: u32) -> (&[Window], &Zone) {
    match scope {
        Scope::Machines => {
            let m = &inv.machines[target as usize];
            (inv.machine_windows(m).1, inv.zone_for(inv.customer_of(m)))
        }
        Scope::Hosts => (inv.host_windows(&inv.hosts[target as usize]).1, &inv.platform.zone),
    }
}

/// "machine"/"machines" or "host"/"hosts" for a count.
pub(crate) fn noun(scope: Scope, n: usize) -> &'static str {
    match (scope, n == 1) {
        (Scope::Machines, true) => "machine",
        (Scope::Machines, false) => "machines",
        (Scope::Hosts, true) => "host",
        (Scope::Hosts, false) => "hosts",
    }
}

/// A count with thousands separators: `1,234,567`.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Unix seconds formatted in a zone with a strftime pattern (jiff's), or the number if out of range.
pub(crate) fn fmt_local(t: i64, zone: &Zone, pattern: &str) -> String {
    match Timestamp::from_second(t) {
        Ok(ts) => ts.to_zoned_datetime(zone.tz().clone()).strftime(pattern).to_string(),
        Err(_) => t.to_string(),
    }
}

/// The local UTC offset of a zone at unix second `t`, in seconds.
pub(crate) fn offset_at(zone: &Zone, t: i64) -> i64 {
    Timestamp::from_second(t).map_or(0, |ts| i64::from(zone.tz().to_offset(ts).seconds()))
}

/// `Tue 2 Mar 2027 22:00–22:45 CET`, or with both dates when it runs past midnight.
pub(crate) fn span_words(start: i64, end: i64, zone: &Zone) -> String {
    let day = |t: i64| (t + offset_at(zone, t)).div_euclid(86_400);
    if day(start) == day(end) {
        format!("{}–{}", fmt_local(start, zone, "%a %-d %b %Y %H:%M"), fmt_local(end, zone, "%H:%M %Z"))
    } else {
        format!("{} – {}", local(start, zone), local(end, zone))
    }
}

/// When the last slot ends, if any.
pub(crate) fn completion(plan: &Plan) -> Option<i64> {
    plan.slots.iter().map(|s| s.end).max()
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A small platform shared by the renderers' tests.

    use forewarn_model::{Campaign, Inventory, parse_campaign, parse_inventory};

    use crate::plan::Plan;

    pub const INVENTORY: &str = r#"
[platform]
name = "Example Hosting"
time_zone = "Europe/Berlin"
windows = ["Mon-Fri 22:00-05:00"]
blackouts = [{ from = "2027-03-03T00:00:00+01:00", to = "2027-03-04T12:00:00+01:00", reason = "release freeze" }]

[[customers]]
id = "acme"
name = "ACME & Sons <Shop>"
time_zone = "America/New_York"

[[customers.contacts]]
name = "Ana Ops"
email = "ana@acme.example"

[[customers]]
id = "blogco"
name = "Blog Co"
blackouts = [{ from = "2027-03-08T00:00:00+01:00", to = "2027-03-09T00:00:00+01:00", reason = "sale" }]

[[projects]]
id = "shop"
customer = "acme"
windows = ["Mon-Fri 22:00-05:00 Europe/Berlin"]

[[projects]]
id = "blog"
customer = "blogco"

[[hosts]]
id = "kvm1"
rack = "r1"

[[hosts]]
id = "kvm2"
rack = "r1"
windows = ["Sat 10:00-14:00"]

[[hosts]]
id = "kvm3"
rack = "r2"

[[machines]]
id = "shop-test"
project = "shop"
tier = "testing"
host = "kvm1"
windows = ["Mon-Sun 00:00-24:00 Europe/Berlin"]

[[machines]]
id = "shop-stg"
project = "shop"
tier = "staging"
host = "kvm1"

[[machines]]
id = "shop-web-1"
project = "shop"
tier = "production"
host = "kvm1"
groups = ["shop-web"]

[[machines]]
id = "shop-web-2"
project = "shop"
tier = "production"
host = "kvm2"
groups = ["shop-web"]

[[machines]]
id = "shop-db"
project = "shop"
tier = "production"
host = "kvm3"

[[machines]]
id = "blog-1"
project = "blog"
tier = "production"
host = "kvm2"

[[machines]]
id = "blog-2"
project = "blog"
tier = "production"
host = "kvm3"

[[machines]]
id = "blog-odd"
project = "blog"
tier = "production"
host = "kvm3"
windows = ["Sun 03:00-03:10"]
"#;

    pub const CAMPAIGN: &str = r#"
id = "os-update-2027-03"
title = "OS update, March 2027"
starts = "2027-03-01T00:00:00+01:00"
ends = "2027-03-13T00:00:00+01:00"
publish_at = "2027-02-27T09:00:00+01:00"
notice = "72h"
tier_gap = "24h"
activities = [{ kind = "os-update", duration = "30m" }, { kind = "reboot", duration = "15m" }]

[limits]
per_host = 1
"#;

    pub const HOST_CAMPAIGN: &str = r#"
id = "host-reboot-2027-03"
title = "Host reboots"
scope = "hosts"
starts = "2027-03-01T00:00:00+01:00"
ends = "2027-03-13T00:00:00+01:00"
publish_at = "2027-02-20T09:00:00+01:00"
notice = "72h"
activities = [{ kind = "host-reboot", duration = "20m" }]

[limits]
per_rack = 1
"#;

    pub fn load(campaign: &str) -> (Inventory, Campaign, Plan) {
        let inv = parse_inventory("inventory.toml", INVENTORY).unwrap_or_else(|e| panic!("{e}"));
        let campaign = parse_campaign("campaign.toml", campaign, &inv).unwrap_or_else(|e| panic!("{e}"));
        let plan = crate::plan(&inv, &campaign);
        (inv, campaign, plan)
    }

    /// Says that a test was skipped, on the real stderr: the test harness would hide `eprintln!`.
    pub fn skipped(why: &str) {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "skipped: {why}");
    }

    /// Runs `python3 -c script args...`; `None` (after saying why) when python3 or
    /// `module` is missing outside CI. In CI (`CI` set) a missing tool fails the test.
    pub fn python(module: &str, script: &str, args: &[&str]) -> Option<String> {
        use std::process::Command;
        let skip = |why: String| -> Option<String> {
            if std::env::var_os("CI").is_some() {
                panic!("{why} (CI is set, so this test fails instead of skipping)");
            }
            skipped(&why);
            None
        };
        let probe = Command::new("python3").arg("-c").arg(format!("import {module}")).output();
        match probe {
            Err(e) => return skip(format!("python3 is not available ({e})")),
            Ok(o) if !o.status.success() => {
                return skip(format!(
                    "python3 cannot import `{module}` (install it with `python3 -m pip install {module}`): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
            Ok(_) => {}
        }
        let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3 runs");
        assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
        Some(String::from_utf8(out.stdout).expect("python3 prints UTF-8"))
    }

    /// With `FOREWARN_RENDER_KEEP=DIR` set, keeps a rendering as `DIR/name` to look at.
    pub fn keep(name: &str, text: &str) {
        if let Some(dir) = std::env::var_os("FOREWARN_RENDER_KEEP") {
            let path = std::path::Path::new(&dir).join(name);
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }

    /// A new file under the system's temp directory, ending in `name`, removed on drop.
    pub fn temp_file(name: &str) -> tempfile::NamedTempFile {
        tempfile::Builder::new().prefix("forewarn-render-").suffix(name).tempfile().expect("a temporary file")
    }
}

#[cfg(test)]
mod tests {
    use super::fixture;

    #[test]
    fn render_empty_plan_every_way() {
        let (inv, campaign, plan) = fixture::load(fixture::CAMPAIGN);
        let plan = crate::Plan { slots: vec![], unscheduled: vec![], notes: vec![], ..plan };
        let table = super::table(&plan, &inv, &campaign);
        assert!(table.contains("targets      0 machines: 0 scheduled, 0 unscheduled\n"), "{table}");
        assert!(table.contains("Schedule: nothing is scheduled.\n"), "{table}");
        let svg = super::svg(&plan, &inv, &campaign);
        assert!(svg.contains("0 machines: 0 scheduled, 0 without a slot; nothing is scheduled."), "{svg}");
        assert!(svg.ends_with("</svg>\n"));
        let ics = super::ics(&plan, &inv, &campaign, campaign.publish_at);
        assert!(!ics.contains("BEGIN:VEVENT"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }

    /// The renderings of the fixture's campaigns, compared with the reviewed ones in
    /// `snapshots/` (`INSTA_UPDATE=always cargo test` writes new ones; `git diff` shows the
    /// change). The calendar's CRLF line ends become LF here so that the files read as text;
    /// the other tests check the CRLFs.
    #[test]
    fn renderings_match_their_snapshots() {
        for (name, text) in [("machines", fixture::CAMPAIGN), ("hosts", fixture::HOST_CAMPAIGN)] {
            let (inv, campaign, plan) = fixture::load(text);
            insta::assert_snapshot!(format!("{name}_table"), super::table(&plan, &inv, &campaign));
            insta::assert_snapshot!(format!("{name}_svg"), super::svg(&plan, &inv, &campaign));
            let ics = super::ics(&plan, &inv, &campaign, campaign.publish_at);
            insta::assert_snapshot!(format!("{name}_ics"), ics.replace("\r\n", "\n"));
        }
    }

    /// Renders the sample platform's campaigns in `examples/` every way, and keeps
    /// the results when `FOREWARN_RENDER_KEEP` names a directory.
    #[test]
    fn render_examples_every_way() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let Ok(inventory) = std::fs::read_to_string(dir.join("inventory.toml")) else {
            assert!(std::env::var_os("CI").is_none(), "examples/inventory.toml is missing");
            fixture::skipped("no examples/inventory.toml");
            return;
        };
        let inv = forewarn_model::parse_inventory("inventory.toml", &inventory).unwrap_or_else(|e| panic!("{e}"));
        for name in ["os-update", "host-reboot", "fsck"] {
            let file = format!("{name}.toml");
            let Ok(text) = std::fs::read_to_string(dir.join(&file)) else { continue };
            let campaign = forewarn_model::parse_campaign(&file, &text, &inv).unwrap_or_else(|e| panic!("{e}"));
            let plan = crate::plan(&inv, &campaign);
            let table = super::table(&plan, &inv, &campaign);
            assert!(table.starts_with(&campaign.title), "{table}");
            assert!(table.lines().all(|l| l.chars().count() <= 120), "{table}");
            let svg = super::svg(&plan, &inv, &campaign);
            assert!(svg.ends_with("</svg>\n"));
            let ics = super::ics(&plan, &inv, &campaign, campaign.publish_at);
            assert_eq!(ics.matches("BEGIN:VEVENT").count(), plan.slots.len());
            fixture::keep(&format!("{name}.txt"), &table);
            fixture::keep(&format!("{name}.svg"), &svg);
            fixture::keep(&format!("{name}.ics"), &ics);
        }
    }
}
