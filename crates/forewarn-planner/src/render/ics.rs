//! The plan as an RFC 5545 iCalendar file: one event per slot, with a UID that
//! stays the same for a target within a campaign. A small careful writer:
//! CRLF line ends, lines folded at 75 octets on character boundaries, TEXT escaped.

use std::fmt::Write as _;

use forewarn_model::campaign::Scope;
use forewarn_model::ical::{escape_into, fold_into};
use forewarn_model::{Campaign, Inventory};
use jiff::Timestamp;

use super::span_words;
use crate::plan::{Plan, write_rfc3339};

/// The plan as an iCalendar file (`METHOD:PUBLISH`), one `VEVENT` per slot, UIDs in the
/// domain `forewarn` ([`ics_in`]). `dtstamp` is when the file is made; the caller reads the
/// clock.
pub fn ics(plan: &Plan, inv: &Inventory, campaign: &Campaign, dtstamp: Timestamp) -> String {
    ics_in(plan, inv, campaign, dtstamp, "forewarn")
}

/// [`ics`] with UIDs in `domain` ([`forewarn_model::ical::slot_uid`]): with the host of the
/// service's address, the events are the same ones its contacts' invitations carry.
pub fn ics_in(plan: &Plan, inv: &Inventory, campaign: &Campaign, dtstamp: Timestamp, domain: &str) -> String {
    let mut out = String::with_capacity(256 + plan.slots.len() * 700);
    let mut line = String::with_capacity(512);
    let put = |out: &mut String, line: &mut String| {
        fold_into(out, line);
        line.clear();
    };
    for l in
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//forewarn//forewarn//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    {
        line.push_str(l);
        put(&mut out, &mut line);
    }
    line.push_str("X-WR-CALNAME:");
    escape_into(&mut line, &campaign.title);
    put(&mut out, &mut line);

    let mut stamp = String::new();
    utc_into(&mut stamp, dtstamp.as_second());
    let kinds: Vec<&str> = campaign.activities.iter().map(|a| a.kind.as_str()).collect();
    let kinds = kinds.join(", ");
    let what: Vec<String> = campaign.activities.iter().map(|a| format!("{} {}", a.kind, a.duration)).collect();
    let what = what.join(", ");
    let length = campaign.slot_length();
    let mut guests = Vec::new();
    if plan.scope == Scope::Hosts {
        guests = vec![0usize; inv.hosts.len()];
        for m in &inv.machines {
            guests[m.host] += 1;
        }
    }
    let machine_downtime = format!("up to {length}: the machine may be unavailable for the whole slot");
    let mut text = String::with_capacity(512);
    for slot in &plan.slots {
        let id = plan.target_id(inv, slot.target);
        line.push_str("BEGIN:VEVENT");
        put(&mut out, &mut line);
        line.push_str("UID:");
        escape_into(&mut line, &forewarn_model::ical::slot_uid(&campaign.id, id, domain));
        put(&mut out, &mut line);
        let _ = write!(line, "DTSTAMP:{stamp}");
        put(&mut out, &mut line);
        line.push_str("DTSTART:");
        utc_into(&mut line, slot.start);
        put(&mut out, &mut line);
        line.push_str("DTEND:");
        utc_into(&mut line, slot.end);
        put(&mut out, &mut line);
        line.push_str("SUMMARY:");
        escape_into(&mut line, &format!("Maintenance of {id}: {kinds}"));
        put(&mut out, &mut line);

        text.clear();
        let (about, zone, downtime) = match plan.scope {
            Scope::Machines => {
                let m = &inv.machines[slot.target as usize];
                let c = inv.customer_of(m);
                (
                    format!("Machine {id} ({}, project {}, {})", inv.tier_name(m), inv.project_of(m).id, c.name),
                    inv.zone_for(c),
                    machine_downtime.clone(),
                )
            }
            Scope::Hosts => {
                let h = &inv.hosts[slot.target as usize];
                let n = guests.get(slot.target as usize).copied().unwrap_or(0);
                (
                    format!("Host {id} (rack {})", h.rack),
                    &inv.platform.zone,
                    format!(
                        "up to {length} for the host and its {n} guest machine{}, which are down with it",
                        if n == 1 { "" } else { "s" }
                    ),
                )
            }
        };
        let _ = write!(
            text,
            "{} ({})\n{about}\nWhen: {} ({})\nActivities: {what}\nExpected downtime: {downtime}\nWhy this time: {}",
            campaign.title,
            campaign.id,
            span_words(slot.start, slot.end, zone),
            zone.name(),
            plan.reason(inv, campaign, slot)
        );
        line.push_str("DESCRIPTION:");
        escape_into(&mut line, &text);
        put(&mut out, &mut line);
        for l in ["SEQUENCE:0", "STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT"] {
            line.push_str(l);
            put(&mut out, &mut line);
        }
    }
    line.push_str("END:VCALENDAR");
    put(&mut out, &mut line);
    out
}

/// Unix seconds as an iCalendar UTC date-time, `20270301T220000Z`.
fn utc_into(out: &mut String, unix: i64) {
    let mut s = String::with_capacity(20);
    write_rfc3339(&mut s, unix);
    out.extend(s.chars().filter(|c| !matches!(c, '-' | ':')));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixture;

    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    #[test]
    fn render_ics_has_one_event_per_slot_with_stable_uids() {
        let (inv, campaign, plan) = fixture::load(fixture::CAMPAIGN);
        let stamp: Timestamp = "2027-03-01T00:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let ics = ics(&plan, &inv, &campaign, stamp);
        assert!(ics.starts_with(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//forewarn//forewarn//EN\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n"
        ));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'), "bare LF");
        for l in ics.split("\r\n") {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        assert_eq!(ics.matches("BEGIN:VEVENT\r\n").count(), plan.slots.len());
        let text = unfold(&ics);
        assert!(text.contains("UID:os-update-2027-03.shop-web-1@forewarn\r\n"), "{text}");
        assert!(text.contains("DTSTAMP:20270301T000000Z\r\n"));
        assert!(text.contains("SUMMARY:Maintenance of shop-web-1: os-update\\, reboot\r\n"), "{text}");
        assert!(text.contains("SEQUENCE:0\r\nSTATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\n"));
        // The same machine in the same campaign gets the same UID, whatever the plan or time.
        let again = super::ics(&plan, &inv, &campaign, Timestamp::UNIX_EPOCH);
        let uids = |s: &str| -> Vec<String> {
            unfold(s).lines().filter(|l| l.starts_with("UID:")).map(String::from).collect()
        };
        assert_eq!(uids(&ics), uids(&again));
        // Descriptions name the customer's zone: ACME reads New York time.
        assert!(text.contains("EST (America/New_York)"), "{text}");
    }

    #[test]
    fn render_ics_parses_with_python_icalendar() {
        let (inv, campaign, plan) = fixture::load(fixture::CAMPAIGN);
        let mut campaign = campaign;
        // A title that needs escaping and folding.
        campaign.title = "OS update, März 2027; with reboot \\ ✓ — and a long tail to fold over the line end".into();
        let stamp: Timestamp = "2027-02-27T08:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let ics = ics(&plan, &inv, &campaign, stamp);
        let file = fixture::temp_file("plan.ics");
        let path = file.path();
        std::fs::write(path, &ics).expect("write the ics");
        let script = r#"
import sys, json, icalendar
with open(sys.argv[1], 'rb') as f:
    cal = icalendar.Calendar.from_ical(f.read())
assert str(cal['VERSION']) == '2.0' and str(cal['METHOD']) == 'PUBLISH', cal
for ev in cal.walk('VEVENT'):
    fmt = '%Y-%m-%dT%H:%M:%SZ'
    start, end, stamp = ev['DTSTART'].dt, ev['DTEND'].dt, ev['DTSTAMP'].dt
    assert start.utcoffset().total_seconds() == 0 and end.utcoffset().total_seconds() == 0
    print(json.dumps([str(ev['UID']), start.strftime(fmt), end.strftime(fmt), stamp.strftime(fmt),
                      str(ev['SUMMARY']), str(ev['DESCRIPTION']), int(ev['SEQUENCE']), str(ev['STATUS'])]))
"#;
        let out = fixture::python("icalendar", script, &[path.to_str().unwrap_or_default()]);
        drop(file);
        let Some(out) = out else { return };
        let events: Vec<serde_json::Value> =
            out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
        assert_eq!(events.len(), plan.slots.len(), "{out}");
        for (slot, ev) in plan.slots.iter().zip(&events) {
            let id = plan.target_id(&inv, slot.target);
            let (mut start, mut end) = (String::new(), String::new());
            write_rfc3339(&mut start, slot.start);
            write_rfc3339(&mut end, slot.end);
            assert_eq!(ev[0], format!("os-update-2027-03.{id}@forewarn"));
            assert_eq!(ev[1], start.as_str());
            assert_eq!(ev[2], end.as_str());
            assert_eq!(ev[3], "2027-02-27T08:00:00Z");
            assert_eq!(ev[4], format!("Maintenance of {id}: os-update, reboot"));
            let description = ev[5].as_str().unwrap_or_default();
            assert!(description.starts_with(&format!("{} (os-update-2027-03)\n", campaign.title)), "{description}");
            assert!(description.contains("\nExpected downtime: up to 45m"), "{description}");
            assert!(description.contains(&format!("\nWhy this time: {}", plan.reason(&inv, &campaign, slot))));
            assert_eq!(ev[6], 0);
            assert_eq!(ev[7], "CONFIRMED");
        }
    }

    #[test]
    fn render_ics_host_events_name_the_guests() {
        let (inv, campaign, plan) = fixture::load(fixture::HOST_CAMPAIGN);
        let text = unfold(&ics(&plan, &inv, &campaign, Timestamp::UNIX_EPOCH));
        assert!(text.contains("UID:host-reboot-2027-03.kvm1@forewarn\r\n"), "{text}");
        assert!(text.contains("for the host and its 3 guest machines\\, which are down with it"), "{text}");
    }
}
