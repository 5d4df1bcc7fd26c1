//! The plan as an RFC 5545 iCalendar file: one event per slot, with a UID that
//! stays the same for a target within a campaign. A small careful writer:
//! CRLF line ends, lines folded at 75 octets on character boundaries, TEXT escaped.

use std::fmt::Write as _;

use forewarn_model::campaign::Scope;
use forewarn_model::{Campaign, Inventory};
use jiff::Timestamp;

use super::span_words;
use crate::plan::{Plan, write_rfc3339};

/// The longest a content line may be, in octets, without its CRLF (RFC 5545 §3.1).
const FOLD_AT: usize = 75;

/// The plan as an iCalendar file (`METHOD:PUBLISH`), one `VEVENT` per slot.
/// `dtstamp` is when the file is made; the caller reads the clock.
pub fn ics(plan: &Plan, inv: &Inventory, campaign: &Campaign, dtstamp: Timestamp) -> String {
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
        escape_into(&mut line, &format!("{}.{id}@forewarn", campaign.id));
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

/// Appends `value` escaped as an iCalendar TEXT value (RFC 5545 §3.3.11):
/// backslash, `;` and `,` get a backslash, a line break becomes `\n`, and
/// other control characters, which TEXT may not hold, become spaces.
pub(crate) fn escape_into(out: &mut String, value: &str) {
    let special = |c: char| matches!(c, '\\' | ';' | ',') || (c.is_control() && c != '\t');
    let mut rest = value;
    while let Some(i) = rest.find(special) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or(' ');
        rest = &rest[i + c.len_utf8()..];
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            // CRLF is one line break; a lone CR is one too.
            '\r' if rest.starts_with('\n') => {}
            '\r' => out.push_str("\\n"),
            _ => out.push(' '),
        }
    }
    out.push_str(rest);
}

/// Appends one content line, folded so that no physical line exceeds 75
/// octets (continuations start with a space, which counts), never splitting
/// a UTF-8 character, and ended with CRLF.
pub(crate) fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut room = FOLD_AT;
    while rest.len() > room {
        // The longest prefix within `room` octets that ends on a character boundary.
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = FOLD_AT - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixture;
    use proptest::prelude::*;

    fn folded(line: &str) -> String {
        let mut out = String::new();
        fold_into(&mut out, line);
        out
    }

    fn escaped(value: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, value);
        out
    }

    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    #[test]
    fn render_ics_folds_at_75_octets() {
        let exact = "A".repeat(75);
        assert_eq!(folded(&exact), format!("{exact}\r\n"));
        let long = "B".repeat(76);
        assert_eq!(folded(&long), format!("{}\r\n B\r\n", "B".repeat(75)));
        // Continuations hold 74 octets after their space.
        let longer = "C".repeat(75 + 74 + 1);
        assert_eq!(folded(&longer), format!("{}\r\n {}\r\n C\r\n", "C".repeat(75), "C".repeat(74)));
        assert_eq!(folded(""), "\r\n");
    }

    #[test]
    fn render_ics_folds_between_multibyte_characters() {
        // 74 octets, then a 2-octet `é` that would straddle the limit: it moves to the next line whole.
        let line = format!("{}é", "x".repeat(74));
        assert_eq!(folded(&line), format!("{}\r\n é\r\n", "x".repeat(74)));
        // 73 + `é` ends exactly at 75.
        let line = format!("{}é", "x".repeat(73));
        assert_eq!(folded(&line), format!("{line}\r\n"));
        // 3-octet `€` and 4-octet `😀` at the boundary.
        let line = format!("{}€€", "x".repeat(71));
        assert_eq!(folded(&line), format!("{}€\r\n €\r\n", "x".repeat(71)));
        let line = format!("{}😀", "x".repeat(72));
        assert_eq!(folded(&line), format!("{}\r\n 😀\r\n", "x".repeat(72)));
        // All multi-byte: every physical line within the limit, and unfolding restores the text.
        let line = format!("SUMMARY:{}", "März ✓ 😀 ".repeat(30));
        let out = folded(&line);
        for l in out.split("\r\n") {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        assert_eq!(unfold(&out), format!("{line}\r\n"));
    }

    #[test]
    fn render_ics_escapes_text() {
        assert_eq!(escaped("a\\b;c,d\ne"), "a\\\\b\\;c\\,d\\ne");
        assert_eq!(escaped("one\r\ntwo\rthree"), "one\\ntwo\\nthree");
        assert_eq!(escaped("März: 22:00\u{7}"), "März: 22:00 ");
        assert_eq!(escaped("\"quoted\""), "\"quoted\"");
    }

    /// The reverse of [`escape_into`], as a parser reads a TEXT value.
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        out
    }

    proptest! {
        #[test]
        fn render_ics_prop_escape_round_trips(s in "(\\PC|[\\\\;,\r\n\t\u{0}-\u{1f}]){0,80}") {
            let e = escaped(&s);
            prop_assert!(!e.chars().any(|c| c.is_control() && c != '\t'), "{:?}", e);
            let expected: String = s
                .replace("\r\n", "\n")
                .replace('\r', "\n")
                .chars()
                .map(|c| if c.is_control() && !matches!(c, '\n' | '\t') { ' ' } else { c })
                .collect();
            prop_assert_eq!(unescape(&e), expected);
        }

        #[test]
        fn render_ics_prop_fold_round_trips(s in "\\PC{0,300}") {
            let out = folded(&s);
            prop_assert!(out.ends_with("\r\n"));
            for l in out.trim_end_matches("\r\n").split("\r\n") {
                prop_assert!(l.len() <= FOLD_AT, "{} octets", l.len());
            }
            prop_assert_eq!(unfold(&out), format!("{s}\r\n"));
        }
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
        let path = fixture::temp_path("plan.ics");
        std::fs::write(&path, &ics).expect("write the ics");
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
        let _ = std::fs::remove_file(&path);
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
