//! The calendar part of a contact's email (RFC 5545 with iTIP, RFC 5546): `METHOD:REQUEST`
//! with one event per machine slot, or `METHOD:CANCEL` for slots that will not take place.
//! UIDs stay the same for a machine within a campaign and `SEQUENCE` is the notice's, so a
//! calendar updates the entry it has instead of adding one. Text goes through
//! forewarn_model::ical (escaping, folding).

use forewarn_model::ical::{escape_into, fold_into};
use forewarn_status::when::ical_utc;
use jiff::Timestamp;

/// What a calendar part asks of the reader's calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// Add or update these events.
    Request,
    /// Remove these events.
    Cancel,
}

impl Method {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }

    /// The attachment's file name.
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            Method::Request => "invite.ics",
            Method::Cancel => "cancel.ics",
        }
    }
}

/// One machine's slot as a calendar event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// `{campaign}.{machine}@{domain}`.
    pub uid: String,
    pub sequence: u32,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: String,
    pub description: String,
}

/// Someone named in the calendar: the organizer (the site) or the attendee (the contact).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Person<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

/// A whole calendar object: `stamp` is the event's time (never the clock), `url` the status
/// page of the campaign.
pub(crate) fn calendar(
    method: Method,
    stamp: Timestamp,
    organizer: Person<'_>,
    attendee: Person<'_>,
    url: &str,
    slots: &[Slot],
) -> String {
    let mut out = String::with_capacity(512 + slots.len() * 900);
    let mut line = String::with_capacity(256);
    let put = |out: &mut String, line: &mut String| {
        fold_into(out, line);
        line.clear();
    };
    for l in ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//forewarn//notify//EN", "CALSCALE:GREGORIAN"] {
        line.push_str(l);
        put(&mut out, &mut line);
    }
    line.push_str("METHOD:");
    line.push_str(method.name());
    put(&mut out, &mut line);
    let stamp = ical_utc(stamp);
    for slot in slots {
        line.push_str("BEGIN:VEVENT");
        put(&mut out, &mut line);
        line.push_str("UID:");
        escape_into(&mut line, &slot.uid);
        put(&mut out, &mut line);
        line.push_str("SEQUENCE:");
        line.push_str(&slot.sequence.to_string());
        put(&mut out, &mut line);
        line.push_str("DTSTAMP:");
        line.push_str(&stamp);
        put(&mut out, &mut line);
        line.push_str("DTSTART:");
        line.push_str(&ical_utc(slot.start));
        put(&mut out, &mut line);
        line.push_str("DTEND:");
        line.push_str(&ical_utc(slot.end));
        put(&mut out, &mut line);
        line.push_str("SUMMARY:");
        escape_into(&mut line, &slot.summary);
        put(&mut out, &mut line);
        line.push_str("DESCRIPTION:");
        escape_into(&mut line, &slot.description);
        put(&mut out, &mut line);
        line.push_str("ORGANIZER");
        person_into(&mut line, organizer);
        put(&mut out, &mut line);
        line.push_str("ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE");
        person_into(&mut line, attendee);
        put(&mut out, &mut line);
        line.push_str("URL:");
        line.push_str(&uri(url));
        put(&mut out, &mut line);
        let status = match method {
            Method::Request => "STATUS:CONFIRMED",
            Method::Cancel => "STATUS:CANCELLED",
        };
        for l in [status, "TRANSP:OPAQUE", "CLASS:PUBLIC", "END:VEVENT"] {
            line.push_str(l);
            put(&mut out, &mut line);
        }
    }
    line.push_str("END:VCALENDAR");
    put(&mut out, &mut line);
    out
}

/// `;CN="Name":mailto:address`. A quoted parameter value may hold anything but a double
/// quote and control characters (RFC 5545 §3.1), so those are left out.
fn person_into(line: &mut String, p: Person<'_>) {
    let name: String = p.name.chars().filter(|&c| c != '"' && !c.is_control()).collect();
    if !name.trim().is_empty() {
        line.push_str(";CN=\"");
        line.push_str(name.trim());
        line.push('"');
    }
    line.push_str(":mailto:");
    line.push_str(&uri(p.email));
}

/// A URI value: no control characters or spaces, which no URI holds.
fn uri(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() && !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_writes_folded_events_with_people_and_method() {
        let slot = Slot {
            uid: "os-update.web-01@status.example.net".into(),
            sequence: 2,
            start: "2027-03-02T22:00:00Z".parse().unwrap(),
            end: "2027-03-02T22:30:00Z".parse().unwrap(),
            summary: "Wartung von web-01: Betriebssystem-Update, März 2027".into(),
            description: "Zeile eins; zwei, drei\nZeile vier ".repeat(5),
        };
        let org = Person { name: "Lindenau \"Ops\"", email: "ops@example.net" };
        let att = Person { name: "Jana Becker", email: "jana@example.de" };
        let ics =
            calendar(Method::Cancel, "2027-02-22T08:00:00Z".parse().unwrap(), org, att, "https://s/posts/1", &[slot]);
        for l in ics.split("\r\n") {
            assert!(l.len() <= 75, "{l}");
        }
        assert!(!ics.replace("\r\n", "").contains('\n'));
        let unfolded = ics.replace("\r\n ", "");
        for want in [
            "METHOD:CANCEL\r\n",
            "UID:os-update.web-01@status.example.net\r\n",
            "SEQUENCE:2\r\n",
            "DTSTAMP:20270222T080000Z\r\n",
            "DTSTART:20270302T220000Z\r\n",
            "DTEND:20270302T223000Z\r\n",
            "ORGANIZER;CN=\"Lindenau Ops\":mailto:ops@example.net\r\n",
            "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE;CN=\"Jana Becker\":mailto:jana@example.de\r\n",
            "STATUS:CANCELLED\r\n",
            "DESCRIPTION:Zeile eins\\; zwei\\, drei\\nZeile vier Zeile",
        ] {
            assert!(unfolded.contains(want), "{want} in\n{unfolded}");
        }
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    }
}
