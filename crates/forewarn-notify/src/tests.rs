//! The notifier on small, realistic data: who gets what, in which language and zone, with
//! which calendar parts; and the messages themselves, taken apart again.

use forewarn_model::{Inventory, parse_inventory};
use forewarn_status::{Post, PostKind, PostState, Update};
use forewarn_store::{
    CampaignState, Channel, Event, Notifier, SlotChange, SlotNotice, StoredCampaign, Subscriber, SubscriptionRequest,
    Told, What,
};
use jiff::Timestamp;

use super::*;
use crate::read::{base64, param, quoted_printable};

// ---------------------------------------------------------------------------
// Fixtures.

const INVENTORY: &str = r#"
[platform]
name = "Lindenau Hosting"
time_zone = "Europe/Berlin"
windows = ["Mon-Fri 22:00-05:00"]

[[customers]]
id = "nordlicht"
name = "Nordlicht Reisen GmbH"

[[customers.contacts]]
name = "Jana Becker"
email = "jana.becker@nordlicht-reisen.example"
language = "de"

[[customers.contacts]]
name = "Ömer Yılmaz"
email = "oemer.yilmaz@nordlicht-reisen.example"
language = "en"

[[customers]]
id = "harbor"
name = "Harbor Analytics Inc."
time_zone = "America/New_York"

[[customers.contacts]]
name = "Emily Carter"
email = "emily.carter@harbor-analytics.example"

[[customers.contacts]]
name = "Raj Patel"
email = "raj.patel@harbor-analytics.example"
time_zone = "America/Los_Angeles"

[[customers]]
id = "elbe"
name = "Elbe Verlag KG"

[[customers.contacts]]
name = "Katrin Schulz"
email = "katrin.schulz@elbe-verlag.example"
language = "de"

[[projects]]
id = "shop"
customer = "nordlicht"
name = "Online-Shop"

[[projects]]
id = "analytics"
customer = "harbor"

[[projects]]
id = "verlag"
customer = "elbe"

[[hosts]]
id = "kvm01"
rack = "r1"

[[hosts]]
id = "kvm02"
rack = "r1"

[[hosts]]
id = "kvm03"
rack = "r2"

[[machines]]
id = "shop-web-1"
project = "shop"
tier = "production"
host = "kvm01"

[[machines]]
id = "shop-db-1"
project = "shop"
tier = "production"
host = "kvm02"

[[machines]]
id = "shop-stg"
project = "shop"
tier = "staging"
host = "kvm01"

[[machines]]
id = "ana-1"
project = "analytics"
tier = "production"
host = "kvm02"

[[machines]]
id = "ana-2"
project = "analytics"
tier = "production"
host = "kvm03"

[[machines]]
id = "verlag-1"
project = "verlag"
tier = "production"
host = "kvm03"
"#;

const OS_UPDATE: &str = r#"
id = "os-update"
title = "Operating system update, March 2027"
starts = "2027-03-01T00:00:00+01:00"
ends = "2027-03-06T00:00:00+01:00"
publish_at = "2027-02-22T09:00:00+01:00"
notice = "72h"
activities = [
  { kind = "os-update", duration = "20m" },
  { kind = "reboot", duration = "10m" },
]
[targets]
customers = ["nordlicht", "harbor"]
"#;

const HOST_REBOOT: &str = r#"
id = "host-reboot"
title = "KVM host reboot"
scope = "hosts"
starts = "2027-03-06T00:00:00+01:00"
ends = "2027-03-07T00:00:00+01:00"
publish_at = "2027-02-22T09:00:00+01:00"
activities = [{ kind = "host-reboot", duration = "30m" }]
"#;

const DOMAIN: &str = "status.lindenau.example";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn at() -> Timestamp {
    ts("2027-02-22T08:00:00Z")
}

pub(crate) fn site() -> Site {
    Site {
        name: "Lindenau Hosting".into(),
        base_url: format!("https://{DOMAIN}"),
        from_name: "Lindenau Hosting Betrieb".into(),
        from_address: "betrieb@lindenau.example".into(),
        secret: b"a secret of the site".to_vec(),
        confirm_lifetime: CONFIRM_LIFETIME,
    }
}

fn inventory() -> Inventory {
    parse_inventory("inventory.toml", INVENTORY).unwrap()
}

fn stored(text: &str, state: CampaignState) -> StoredCampaign {
    let id = text.lines().find_map(|l| l.strip_prefix("id = ")).unwrap().trim_matches('"').to_owned();
    let title = text.lines().find_map(|l| l.strip_prefix("title = ")).unwrap().trim_matches('"').to_owned();
    StoredCampaign {
        id,
        title,
        text: text.to_owned(),
        state,
        inventory_version: 1,
        created: ts("2027-02-20T10:00:00Z"),
        updated: at(),
        published_plan: Some(1),
    }
}

fn slot(target: &str, start: &str, minutes: i64, sequence: u32, change: SlotChange) -> SlotNotice {
    let start = ts(start);
    SlotNotice {
        target: target.into(),
        start,
        end: start + jiff::SignedDuration::from_mins(minutes),
        sequence,
        change,
        reminded: false,
    }
}

/// shop-web-1 and shop-db-1 (Nordlicht), ana-1 (Harbor); shop-stg has no slot.
fn published_slots() -> Vec<SlotNotice> {
    vec![
        slot("shop-db-1", "2027-03-03T22:00:00Z", 30, 0, SlotChange::New),
        slot("shop-web-1", "2027-03-02T22:00:00Z", 30, 0, SlotChange::New),
        slot("ana-1", "2027-03-02T13:00:00Z", 30, 0, SlotChange::New),
    ]
}

fn post(id: i64, components: &[&str]) -> Post {
    Post {
        id,
        kind: PostKind::Maintenance,
        state: PostState::Scheduled,
        title: "Operating system update 2–4 March 2027".into(),
        body: "Every machine gets **one slot** of 30 minutes.\n\n- staging first\n- then production\n".into(),
        starts: Some(ts("2027-03-02T13:00:00Z")),
        ends: Some(ts("2027-03-03T22:30:00Z")),
        components: components.iter().map(|c| c.to_string()).collect(),
        campaign: Some("os-update".into()),
        impact: forewarn_status::Impact::None,
        replaces: None,
        created: at(),
        updated: at(),
        revision: 1,
    }
}

fn subscriber(id: i64, email: &str, components: &[&str], language: &str, confirmed: bool) -> Subscriber {
    Subscriber {
        id,
        email: email.into(),
        components: components.iter().map(|c| c.to_string()).collect(),
        language: language.into(),
        created: ts("2027-01-10T10:00:00Z"),
        confirmed: confirmed.then(|| ts("2027-01-10T10:05:00Z")),
    }
}

/// A message of an event, as it goes out: the notifier's row and its bytes, rendered from
/// what the event writes as delivery renders it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sent {
    key: String,
    channel: Channel,
    sender: String,
    recipient: String,
    subject: String,
    cause: String,
    payload: String,
    due: Timestamp,
}

/// The inventory version the tests' inventory is stored as.
const VERSION: i64 = 4;

/// What `what` tells, each message rendered; `Err` when the event cannot be told.
fn told(inv: Option<&Inventory>, webhooks: &[String], what: What<'_>) -> Result<Vec<Sent>, String> {
    let site = site();
    let messages =
        Messages { site: &site, inventory: inv.map(|i| (VERSION, i)), webhooks, publication: Default::default() };
    let told = messages.tell(&Event { seq: 17, at: at(), actor: "ops", what, ahead: None })?;
    let rendering = Rendering::parse(&told.context).expect("the context reads back");
    assert_eq!(rendering.inventories(), (inv.map(|_| VERSION), None), "the context names the inventory");
    let invs = Inventories { current: inv, previous: None };
    told.messages
        .iter()
        .map(|m| {
            Ok(Sent {
                key: m.key.clone(),
                channel: m.channel,
                sender: m.sender.clone(),
                recipient: m.recipient.clone(),
                subject: m.subject.clone(),
                cause: m.cause.clone(),
                payload: render_new(&site, invs, at(), &told, m)?,
                due: m.due,
            })
        })
        .collect()
}

fn notify(inv: Option<&Inventory>, webhooks: &[String], what: What<'_>) -> Vec<Sent> {
    told(inv, webhooks, what).expect("the event can be told")
}

fn emails(list: &[Sent]) -> Vec<&Sent> {
    list.iter().filter(|m| m.channel == Channel::Email).collect()
}

fn to(list: &[Sent], address: &str) -> Mail {
    let m = list.iter().find(|m| m.recipient == address).unwrap_or_else(|| panic!("no message to {address}"));
    Mail::parse(&m.payload)
}

// ---------------------------------------------------------------------------
// Taking a message apart again: headers, MIME parts split on their boundaries, bodies decoded.

#[derive(Debug)]
struct Mail {
    headers: Vec<(String, String)>,
    /// Decoded, for single parts.
    body: String,
    parts: Vec<Mail>,
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        assert!(!raw.replace("\r\n", "").contains('\n'), "bare LF");
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                let last = headers.last_mut().expect("a continuation follows a header");
                last.1.push_str(line);
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.to_owned(), value.trim_start().to_owned()));
            }
        }
        let mut mail = Mail { headers, body: String::new(), parts: Vec::new() };
        let content_type = mail.header("Content-Type").unwrap_or_default();
        if content_type.starts_with("multipart/") {
            let boundary = param(&content_type, "boundary").expect("a multipart has a boundary");
            let delimiter = format!("--{boundary}");
            let close = format!("--{boundary}--");
            assert!(body.contains(&close), "closing delimiter of {boundary}");
            let inside = &body[..body.find(&close).unwrap()];
            for chunk in inside.split(&delimiter).skip(1) {
                let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
                let chunk = chunk.strip_suffix("\r\n").unwrap_or(chunk);
                mail.parts.push(Mail::parse(chunk));
            }
        } else {
            let encoding = mail.header("Content-Transfer-Encoding").unwrap_or_default().to_ascii_lowercase();
            let bytes = match encoding.as_str() {
                "quoted-printable" => quoted_printable(body),
                "base64" => base64(body),
                _ => body.as_bytes().to_vec(),
            };
            mail.body = String::from_utf8(bytes).expect("UTF-8 body").replace("\r\n", "\n");
        }
        mail
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    /// Every single part, depth first.
    fn leaves(&self) -> Vec<&Mail> {
        if self.parts.is_empty() { vec![self] } else { self.parts.iter().flat_map(Mail::leaves).collect() }
    }

    fn part(&self, content_type: &str) -> Option<&Mail> {
        self.leaves().into_iter().find(|p| p.header("Content-Type").unwrap_or_default().starts_with(content_type))
    }

    fn text(&self) -> String {
        self.part("text/plain").expect("a text part").body.clone()
    }

    fn html(&self) -> String {
        self.part("text/html").expect("an HTML part").body.clone()
    }

    /// The calendar parts: (content type, calendar with its lines unfolded).
    fn calendars(&self) -> Vec<(String, String)> {
        self.leaves()
            .into_iter()
            .filter(|p| p.header("Content-Type").unwrap_or_default().starts_with("text/calendar"))
            .map(|p| (p.header("Content-Type").unwrap_or_default(), p.body.replace("\n ", "")))
            .collect()
    }

    fn subject(&self) -> String {
        decode_words(&self.header("Subject").unwrap_or_default())
    }
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`), as lettre writes them.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while !rest.is_empty() {
        if let Some(start) = rest.find("=?") {
            let before = &rest[..start];
            if !(last_was_word && before.trim().is_empty()) {
                out.push_str(before);
            }
            let word = &rest[start + 2..];
            let mut pieces = word.splitn(3, '?');
            let (_charset, enc, tail) = (pieces.next().unwrap(), pieces.next().unwrap(), pieces.next().unwrap());
            let end = tail.find("?=").unwrap();
            let text = &tail[..end];
            let bytes =
                if enc.eq_ignore_ascii_case("b") { base64(text) } else { quoted_printable(&text.replace('_', " ")) };
            out.push_str(&String::from_utf8(bytes).unwrap());
            rest = &tail[end + 2..];
            last_was_word = true;
        } else {
            out.push_str(rest);
            break;
        }
    }
    out
}

fn assert_lines_fit(raw: &str) {
    for line in raw.split("\r\n") {
        assert!(line.len() <= 998, "a line of {} octets", line.len());
    }
}

fn webhooks() -> Vec<String> {
    vec!["https://hooks.example/forewarn".to_owned()]
}

/// The events of a calendar: each VEVENT's lines.
fn vevents(calendar: &str) -> Vec<String> {
    calendar.split("BEGIN:VEVENT\n").skip(1).map(|e| e.split("END:VEVENT").next().unwrap().to_owned()).collect()
}

// ---------------------------------------------------------------------------
// Contacts.

#[test]
fn published_tells_each_contact_once_listing_exactly_their_machines() {
    let inv = inventory();
    let c = stored(OS_UPDATE, CampaignState::Published);
    let p = post(7, &["vm-hosting"]);
    let slots = published_slots();
    let list = notify(
        Some(&inv),
        &webhooks(),
        What::CampaignPublished { campaign: &c, post: &p, slots: &slots, subscribers: &[] },
    );
    let recipients: Vec<(&str, &str)> = list.iter().map(|m| (m.key.as_str(), m.recipient.as_str())).collect();
    assert_eq!(
        recipients,
        vec![
            ("17.0@status.lindenau.example", "jana.becker@nordlicht-reisen.example"),
            ("17.1@status.lindenau.example", "oemer.yilmaz@nordlicht-reisen.example"),
            ("17.2@status.lindenau.example", "emily.carter@harbor-analytics.example"),
            ("17.3@status.lindenau.example", "raj.patel@harbor-analytics.example"),
            ("17.4@status.lindenau.example", "https://hooks.example/forewarn"),
        ]
    );
    for m in emails(&list) {
        assert_eq!(m.sender, "betrieb@lindenau.example");
        assert_eq!(m.cause, "campaign `os-update` published");
        assert_eq!(m.due, at());
        assert_lines_fit(&m.payload);
    }
    // The same input gives the same bytes.
    let again = notify(
        Some(&inv),
        &webhooks(),
        What::CampaignPublished { campaign: &c, post: &p, slots: &slots, subscribers: &[] },
    );
    assert_eq!(list, again);

    // Jana reads German, in Berlin (her customer's and the platform's zone).
    let jana = to(&list, "jana.becker@nordlicht-reisen.example");
    assert_eq!(list[0].subject, "Geplante Wartung: Operating system update, March 2027");
    assert_eq!(jana.subject(), list[0].subject);
    assert_eq!(jana.header("Message-ID").as_deref(), Some("<17.0@status.lindenau.example>"));
    assert_eq!(jana.header("Date").as_deref(), Some("Mon, 22 Feb 2027 08:00:00 +0000"));
    assert_eq!(jana.header("From").as_deref(), Some("\"Lindenau Hosting Betrieb\" <betrieb@lindenau.example>"));
    assert_eq!(jana.header("To").as_deref(), Some("\"Jana Becker\" <jana.becker@nordlicht-reisen.example>"));
    assert_eq!(jana.header("Content-Language").as_deref(), Some("de"));
    assert!(jana.header("List-Unsubscribe").is_none());
    assert!(jana.header("Content-Type").unwrap().starts_with("multipart/mixed"));
    assert!(jana.parts[0].header("Content-Type").unwrap().starts_with("multipart/alternative"));
    let text = jana.text();
    assert!(text.starts_with("Guten Tag Jana Becker,\n"), "{text}");
    let web = "- shop-web-1 (Projekt Online-Shop, production)\n  Di. 2. März 2027 23:00–23:30 MEZ (Europe/Berlin)\n";
    let db = "- shop-db-1 (Projekt Online-Shop, production)\n  Mi. 3. März 2027 23:00–23:30 MEZ (Europe/Berlin)\n";
    assert!(text.contains(web) && text.contains(db), "{text}");
    assert!(text.find(web) < text.find(db), "in order of their slots");
    assert!(!text.contains("ana-1") && !text.contains("shop-stg"), "{text}");
    assert!(text.contains("Alle Zeiten in Ihrer Zeitzone, Europe/Berlin (MEZ)."), "{text}");
    assert!(text.contains("Was passiert: Betriebssystem-Update (20 Minuten), dann Neustart (10 Minuten)"), "{text}");
    assert!(text.contains("höchstens 30 Minuten"), "{text}");
    assert!(text.contains("Statusseite: https://status.lindenau.example/posts/7"), "{text}");
    let html = jana.html();
    assert!(html.contains("<html lang=\"de\">") && html.contains("<strong>shop-db-1</strong>"), "{html}");
    assert!(html.contains("href=\"https://status.lindenau.example/posts/7\""), "{html}");

    // One calendar, one event per machine slot, in UTC, with stable UIDs.
    let calendars = jana.calendars();
    assert_eq!(calendars.len(), 1);
    let (content_type, ics) = &calendars[0];
    assert_eq!(content_type, "text/calendar; charset=utf-8; method=REQUEST");
    assert!(jana.leaves()[2].header("Content-Disposition").unwrap().contains("filename=\"invite.ics\""));
    assert!(ics.contains("\nMETHOD:REQUEST\n"), "{ics}");
    let events = vevents(ics);
    assert_eq!(events.len(), 2);
    for (event, (machine, start, end)) in events.iter().zip([
        ("shop-web-1", "20270302T220000Z", "20270302T223000Z"),
        ("shop-db-1", "20270303T220000Z", "20270303T223000Z"),
    ]) {
        for want in [
            format!("UID:os-update.{machine}@status.lindenau.example\n"),
            "SEQUENCE:0\n".to_owned(),
            "DTSTAMP:20270222T080000Z\n".to_owned(),
            format!("DTSTART:{start}\n"),
            format!("DTEND:{end}\n"),
            format!("SUMMARY:Wartung von {machine}: Operating system update\\, March 2027\n"),
            "ORGANIZER;CN=\"Lindenau Hosting Betrieb\":mailto:betrieb@lindenau.example\n".to_owned(),
            "RSVP=FALSE;CN=\"Jana Becker\":mailto:jana.becker@nordlicht-reisen.example\n".to_owned(),
            "STATUS:CONFIRMED\n".to_owned(),
        ] {
            assert!(event.contains(&want), "{want} in\n{event}");
        }
        assert!(event.contains("DESCRIPTION:"), "{event}");
    }

    // Ömer, same customer, reads English; his name is encoded in the header and decodes again.
    let oemer = to(&list, "oemer.yilmaz@nordlicht-reisen.example");
    assert_eq!(decode_words(&oemer.header("To").unwrap()), "Ömer Yılmaz <oemer.yilmaz@nordlicht-reisen.example>");
    assert!(oemer.header("To").unwrap().is_ascii());
    let text = oemer.text();
    assert!(
        text.contains(
            "- shop-web-1 (project Online-Shop, production)\n  Tue 2 Mar 2027 23:00–23:30 CET (Europe/Berlin)"
        )
    );
    assert!(text.contains("operating system update (20 minutes), then reboot (10 minutes)"), "{text}");

    // Harbor's contacts read their own zones: the customer's New York, and Raj's Los Angeles.
    let emily = to(&list, "emily.carter@harbor-analytics.example").text();
    assert!(emily.contains("  Tue 2 Mar 2027 08:00–08:30 EST (America/New_York)\n"), "{emily}");
    assert!(!emily.contains("shop-"), "{emily}");
    let raj = to(&list, "raj.patel@harbor-analytics.example");
    assert!(raj.text().contains("  Tue 2 Mar 2027 05:00–05:30 PST (America/Los_Angeles)\n"), "{}", raj.text());
    let (_, ics) = &raj.calendars()[0];
    assert_eq!(vevents(ics).len(), 1);
    assert!(
        ics.contains("DTSTART:20270302T130000Z\n") && ics.contains("UID:os-update.ana-1@status.lindenau.example\n")
    );
}

#[test]
fn slots_changed_raise_the_sequence_and_state_old_and_new_times() {
    let inv = inventory();
    let c = stored(OS_UPDATE, CampaignState::Published);
    let p = post(7, &[]);
    let moved = SlotChange::Moved { from_start: ts("2027-03-02T22:00:00Z"), from_end: ts("2027-03-02T22:30:00Z") };
    let slots = vec![
        slot("shop-web-1", "2027-03-04T22:00:00Z", 30, 1, moved),
        slot("shop-db-1", "2027-03-03T22:00:00Z", 30, 0, SlotChange::Unchanged),
        slot("ana-1", "2027-03-02T13:00:00Z", 30, 0, SlotChange::Unchanged),
    ];
    let list = notify(Some(&inv), &webhooks(), What::SlotsChanged { campaign: &c, post: Some(&p), slots: &slots });
    // Only Nordlicht has a change; each of its contacts gets all their machines.
    let recipients: Vec<&str> = list.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(
        recipients,
        vec![
            "jana.becker@nordlicht-reisen.example",
            "oemer.yilmaz@nordlicht-reisen.example",
            "https://hooks.example/forewarn",
        ]
    );
    assert_eq!(list[1].subject, "Changed maintenance times: Operating system update, March 2027");
    assert_eq!(list[0].cause, "campaign `os-update`: slots changed");
    let jana = to(&list, "jana.becker@nordlicht-reisen.example");
    let text = jana.text();
    assert!(
        text.contains(
            "- shop-web-1 (Projekt Online-Shop, production)\n  Do. 4. März 2027 23:00–23:30 MEZ (Europe/Berlin)\n  \
             verschoben; bisher: Di. 2. März 2027 23:00–23:30 MEZ (Europe/Berlin)\n"
        ),
        "{text}"
    );
    assert!(text.contains("Mi. 3. März 2027 23:00–23:30 MEZ (Europe/Berlin)\n  unverändert\n"), "{text}");
    let oemer = to(&list, "oemer.yilmaz@nordlicht-reisen.example").text();
    assert!(
        oemer.contains(
            "Thu 4 Mar 2027 23:00–23:30 CET (Europe/Berlin)\n  moved; before: Tue 2 Mar 2027 23:00–23:30 CET"
        )
    );
    // The calendar updates only the moved event, with the raised sequence.
    let calendars = jana.calendars();
    assert_eq!(calendars.len(), 1);
    let events = vevents(&calendars[0].1);
    assert_eq!(events.len(), 1);
    assert!(events[0].contains("UID:os-update.shop-web-1@status.lindenau.example\n"));
    assert!(events[0].contains("SEQUENCE:1\n") && events[0].contains("DTSTART:20270304T220000Z\n"), "{}", events[0]);

    // A cancelled and a new slot: a REQUEST part for the new one, a CANCEL part for the other.
    let slots = vec![
        slot("shop-web-1", "2027-03-02T22:00:00Z", 30, 0, SlotChange::Unchanged),
        slot("shop-db-1", "2027-03-03T22:00:00Z", 30, 1, SlotChange::Cancelled),
        slot("shop-stg", "2027-03-01T22:00:00Z", 30, 0, SlotChange::New),
    ];
    let list = notify(Some(&inv), &[], What::SlotsChanged { campaign: &c, post: None, slots: &slots });
    assert_eq!(list.len(), 2);
    let oemer = to(&list, "oemer.yilmaz@nordlicht-reisen.example");
    let text = oemer.text();
    assert!(
        text.contains(
            "- shop-stg (project Online-Shop, staging)\n  Mon 1 Mar 2027 23:00–23:30 CET (Europe/Berlin)\n  new slot\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("Wed 3 Mar 2027 23:00–23:30 CET (Europe/Berlin)\n  cancelled: this slot will not take place\n"),
        "{text}"
    );
    assert!(text.contains("Status page: https://status.lindenau.example/\n"), "without a post, the status page");
    let calendars = oemer.calendars();
    assert_eq!(calendars.len(), 2);
    assert_eq!(calendars[0].0, "text/calendar; charset=utf-8; method=REQUEST");
    let request = vevents(&calendars[0].1);
    assert_eq!(request.len(), 1);
    assert!(request[0].contains("UID:os-update.shop-stg@status.lindenau.example\n"));
    assert_eq!(calendars[1].0, "text/calendar; charset=utf-8; method=CANCEL");
    assert!(calendars[1].1.contains("\nMETHOD:CANCEL\n"));
    let cancel = vevents(&calendars[1].1);
    assert_eq!(cancel.len(), 1);
    for want in ["UID:os-update.shop-db-1@status.lindenau.example\n", "SEQUENCE:1\n", "STATUS:CANCELLED\n"] {
        assert!(cancel[0].contains(want), "{want} in {}", cancel[0]);
    }
    assert!(oemer.leaves()[3].header("Content-Disposition").unwrap().contains("cancel.ics"));
}

#[test]
fn a_cancelled_campaign_cancels_every_slot_and_pausing_tells_no_contact() {
    let inv = inventory();
    let c = stored(OS_UPDATE, CampaignState::Cancelled);
    let mut p = post(7, &[]);
    p.state = PostState::Cancelled;
    let update = Update {
        id: 3,
        post: 7,
        at: at(),
        state: Some(PostState::Cancelled),
        body: "The update is **postponed** to April.".into(),
        author: "ops".into(),
    };
    let posts = vec![(p.clone(), update.clone())];
    let slots: Vec<SlotNotice> =
        published_slots().into_iter().map(|s| SlotNotice { sequence: 1, change: SlotChange::Cancelled, ..s }).collect();
    let subs = vec![subscriber(1, "fan@example.org", &[], "en", true)];
    let list = notify(
        Some(&inv),
        &webhooks(),
        What::CampaignStateChanged {
            campaign: &c,
            from: CampaignState::Published,
            reason: Some("The new kernel breaks the storage driver."),
            posts: &posts,
            slots: &slots,
            subscribers: &subs,
        },
    );
    assert_eq!(list.len(), 4 + 1 + 1, "{:#?}", list.iter().map(|m| &m.recipient).collect::<Vec<_>>());
    let jana = to(&list, "jana.becker@nordlicht-reisen.example");
    assert_eq!(jana.subject(), "Wartung abgesagt: Operating system update, March 2027");
    assert!(jana.text().contains("Keiner dieser Termine"), "{}", jana.text());
    assert!(jana.text().contains("Grund: The new kernel breaks the storage driver."), "{}", jana.text());
    let oemer = to(&list, "oemer.yilmaz@nordlicht-reisen.example");
    assert!(oemer.text().contains("Reason: The new kernel breaks the storage driver."), "{}", oemer.text());
    let calendars = jana.calendars();
    assert_eq!(calendars.len(), 1);
    assert_eq!(calendars[0].0, "text/calendar; charset=utf-8; method=CANCEL");
    let events = vevents(&calendars[0].1);
    assert_eq!(events.len(), 2);
    for e in &events {
        assert!(e.contains("STATUS:CANCELLED\n") && e.contains("SEQUENCE:1\n"), "{e}");
        assert!(e.contains("SUMMARY:Abgesagt: Wartung von shop-"), "{e}");
    }
    assert!(list.iter().filter(|m| m.cause == "campaign `os-update` cancelled").count() == 6);
    let fan = to(&list, "fan@example.org");
    assert_eq!(fan.subject(), "[Lindenau Hosting] Update: Operating system update 2–4 March 2027");
    assert!(fan.text().contains("The update is **postponed** to April."), "{}", fan.text());
    assert!(fan.text().contains("(now cancelled):"), "{}", fan.text());
    assert!(fan.html().contains("<strong>postponed</strong>"), "{}", fan.html());
    let hook = list.last().unwrap();
    assert_eq!((hook.channel, hook.subject.as_str()), (Channel::Webhook, "campaign.cancelled"));

    // Pausing and resuming: subscribers and webhooks hear of it, contacts do not.
    for (from, state, kind) in [
        (CampaignState::Published, CampaignState::Paused, "campaign.paused"),
        (CampaignState::Paused, CampaignState::Published, "campaign.resumed"),
        (CampaignState::Published, CampaignState::Completed, "campaign.completed"),
    ] {
        let c = stored(OS_UPDATE, state);
        let slots = published_slots();
        let list = notify(
            Some(&inv),
            &webhooks(),
            What::CampaignStateChanged {
                campaign: &c,
                from,
                reason: Some("a reason"),
                posts: &posts,
                slots: &slots,
                subscribers: &subs,
            },
        );
        let recipients: Vec<&str> = list.iter().map(|m| m.recipient.as_str()).collect();
        assert_eq!(recipients, vec!["fan@example.org", "https://hooks.example/forewarn"], "{kind}");
        assert_eq!(list[1].subject, kind);
    }
    // A draft that is cancelled had told nobody.
    let list = notify(
        Some(&inv),
        &[],
        What::CampaignStateChanged {
            campaign: &c,
            from: CampaignState::Draft,
            reason: None,
            posts: &[],
            slots: &[],
            subscribers: &subs,
        },
    );
    assert!(list.is_empty());
}

#[test]
fn host_campaigns_list_every_machine_on_the_host_with_the_hosts_times() {
    let inv = inventory();
    let c = stored(HOST_REBOOT, CampaignState::Published);
    let p = post(9, &[]);
    let slots = vec![
        slot("kvm02", "2027-03-06T01:00:00Z", 30, 0, SlotChange::New),
        slot("kvm03", "2027-03-06T02:00:00Z", 30, 0, SlotChange::New),
    ];
    let list =
        notify(Some(&inv), &[], What::CampaignPublished { campaign: &c, post: &p, slots: &slots, subscribers: &[] });
    // kvm02 carries shop-db-1 (Nordlicht) and ana-1 (Harbor); kvm03 ana-2 (Harbor) and verlag-1 (Elbe).
    let recipients: Vec<&str> = list.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(
        recipients,
        vec![
            "jana.becker@nordlicht-reisen.example",
            "oemer.yilmaz@nordlicht-reisen.example",
            "emily.carter@harbor-analytics.example",
            "raj.patel@harbor-analytics.example",
            "katrin.schulz@elbe-verlag.example",
        ]
    );
    let emily = to(&list, "emily.carter@harbor-analytics.example");
    let text = emily.text();
    assert!(
        text.contains("- ana-1 (project analytics, production, on host kvm02)\n  Fri 5 Mar 2027 20:00–20:30 EST (America/New_York)\n"),
        "{text}"
    );
    assert!(
        text.contains("- ana-2 (project analytics, production, on host kvm03)\n  Fri 5 Mar 2027 21:00–21:30 EST"),
        "{text}"
    );
    assert!(text.contains("each machine is down with its host, once, for at most 30 minutes"), "{text}");
    assert!(text.contains("reboot of the host (30 minutes)"), "{text}");
    assert!(!text.contains("shop-db-1") && !text.contains("verlag-1"));
    let events = vevents(&emily.calendars()[0].1);
    assert_eq!(events.len(), 2);
    assert!(events[0].contains("UID:host-reboot.ana-1@status.lindenau.example\n"));
    assert!(events[0].contains("DTSTART:20270306T010000Z\n"));
    assert!(events[1].contains("UID:host-reboot.ana-2@status.lindenau.example\n"));
    assert!(events[1].contains("DTSTART:20270306T020000Z\n"));
    let katrin = to(&list, "katrin.schulz@elbe-verlag.example").text();
    assert!(
        katrin.contains("- verlag-1 (Projekt verlag, production, auf Host kvm03)\n  Sa. 6. März 2027 03:00–03:30 MEZ"),
        "{katrin}"
    );
}

#[test]
fn a_campaign_that_notifies_no_contacts_still_tells_subscribers_and_webhooks() {
    let inv = inventory();
    let quiet = OS_UPDATE.replace("notice = \"72h\"", "notice = \"72h\"\nnotify_contacts = false");
    let c = stored(&quiet, CampaignState::Published);
    let p = post(7, &[]);
    let slots = published_slots();
    let subs = vec![subscriber(1, "fan@example.org", &[], "en", true)];
    let list = notify(
        Some(&inv),
        &webhooks(),
        What::CampaignPublished { campaign: &c, post: &p, slots: &slots, subscribers: &subs },
    );
    let recipients: Vec<&str> = list.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(recipients, vec!["fan@example.org", "https://hooks.example/forewarn"]);
    assert_eq!(list[0].key, "17.0@status.lindenau.example");
    let list = notify(Some(&inv), &[], What::Reminder { campaign: &c, slots: &slots });
    assert!(list.is_empty());
    let cancelled: Vec<SlotNotice> =
        slots.iter().cloned().map(|s| SlotNotice { change: SlotChange::Cancelled, sequence: 1, ..s }).collect();
    let list = notify(
        Some(&inv),
        &[],
        What::CampaignStateChanged {
            campaign: &stored(&quiet, CampaignState::Cancelled),
            from: CampaignState::Published,
            reason: None,
            posts: &[],
            slots: &cancelled,
            subscribers: &[],
        },
    );
    assert!(list.is_empty());
    // Without the inventory nobody can be reached either; the rest still goes out.
    let c = stored(OS_UPDATE, CampaignState::Published);
    let list = notify(
        None,
        &webhooks(),
        What::CampaignPublished { campaign: &c, post: &p, slots: &slots, subscribers: &subs },
    );
    assert_eq!(list.len(), 2);
}

#[test]
fn reminders_repeat_the_same_calendar_entries() {
    let inv = inventory();
    let c = stored(OS_UPDATE, CampaignState::Published);
    let slots = vec![slot("shop-web-1", "2027-03-02T22:00:00Z", 30, 2, SlotChange::Unchanged)];
    let list = notify(Some(&inv), &webhooks(), What::Reminder { campaign: &c, slots: &slots });
    let recipients: Vec<&str> = list.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(recipients, vec!["jana.becker@nordlicht-reisen.example", "oemer.yilmaz@nordlicht-reisen.example"]);
    assert_eq!(list[0].subject, "Erinnerung: Operating system update, March 2027");
    assert_eq!(list[1].cause, "campaign `os-update`: reminder");
    let oemer = to(&list, "oemer.yilmaz@nordlicht-reisen.example");
    assert!(oemer.text().contains("begins soon for 1 machine of Nordlicht Reisen GmbH"), "{}", oemer.text());
    let calendars = oemer.calendars();
    assert_eq!(calendars.len(), 1);
    assert_eq!(calendars[0].0, "text/calendar; charset=utf-8; method=REQUEST");
    let events = vevents(&calendars[0].1);
    assert_eq!(events.len(), 1);
    assert!(events[0].contains("SEQUENCE:2\n") && events[0].contains("STATUS:CONFIRMED\n"));
}

// ---------------------------------------------------------------------------
// Subscribers.

#[test]
fn subscribers_get_posts_of_their_components_with_an_unsubscribe_link() {
    // The latest inventory gives the platform's zone.
    let inv = inventory();
    let subs = vec![
        subscriber(1, "all@example.org", &[], "en", true),
        subscriber(2, "vm@example.de", &["vm-hosting"], "de", true),
        subscriber(3, "storage@example.org", &["object-storage"], "en", true),
        subscriber(4, "unconfirmed@example.org", &[], "en", false),
    ];
    let p = post(7, &["vm-hosting", "rack-a1"]);
    let list = notify(Some(&inv), &[], What::PostCreated { post: &p, subscribers: &subs });
    let recipients: Vec<&str> = list.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(recipients, vec!["all@example.org", "vm@example.de"]);
    assert_eq!(list[0].cause, "post 7 created");
    assert_eq!(list[0].subject, "[Lindenau Hosting] Operating system update 2–4 March 2027");

    let all = to(&list, "all@example.org");
    let url = all.header("List-Unsubscribe").unwrap();
    let url = url.strip_prefix('<').and_then(|u| u.strip_suffix('>')).unwrap();
    assert!(url.starts_with("https://status.lindenau.example/unsubscribe?token="), "{url}");
    assert_eq!(all.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let token = url.split_once("token=").unwrap().1;
    // The link names the subscription and this message, and expires.
    let named = links::Unsubscribe { subscriber: 1, sent: at() };
    assert_eq!(links::verify_unsubscribe(&site().secret, token, at()), Ok(named));
    let end = at() + crate::UNSUBSCRIBE_LIFETIME;
    assert_eq!(links::verify_unsubscribe(&site().secret, token, end), Err(LinkError::Expired));
    assert_eq!(links::verify_confirm(&site().secret, token, at()), Err(LinkError::Invalid));
    let vm = to(&list, "vm@example.de").header("List-Unsubscribe").unwrap();
    assert!(!vm.contains(token), "each subscriber has a link of their own");
    let text = all.text();
    assert!(
        text.contains(&format!(
            "-- \nYou receive this email because you subscribed to the posts of Lindenau Hosting.\nUnsubscribe: {url}\n"
        )),
        "{text}"
    );
    assert!(text.contains("Status: Maintenance, scheduled\nWhen: Tue 2 Mar 2027 14:00 – Wed 3 Mar 2027 23:30 CET (Europe/Berlin)\nAffects: vm-hosting, rack-a1\n"), "{text}");
    assert!(
        text.contains("Every machine gets **one slot** of 30 minutes.\n\n- staging first\n"),
        "Markdown as written: {text}"
    );
    assert!(text.contains("On the status page: https://status.lindenau.example/posts/7\n"), "{text}");
    let html = all.html();
    assert!(html.contains("<strong>one slot</strong>") && html.contains("<li>staging first</li>"), "{html}");
    assert!(html.contains(&format!("href=\"{url}\"")), "{html}");
    assert!(all.calendars().is_empty());
    assert!(all.header("Content-Type").unwrap().starts_with("multipart/alternative"));

    let vm = to(&list, "vm@example.de");
    let text = vm.text();
    assert!(
        text.contains(
            "Stand: Wartung, geplant\nWann: Di. 2. März 2027 14:00 – Mi. 3. März 2027 23:30 MEZ (Europe/Berlin)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "weil Sie die Beiträge von Lindenau Hosting zu vm-hosting abonniert haben.\nAbbestellen: https://"
        ),
        "{text}"
    );

    // A post naming no components concerns every confirmed subscriber.
    let everyone = post(8, &[]);
    let list = notify(Some(&inv), &[], What::PostCreated { post: &everyone, subscribers: &subs });
    assert_eq!(list.len(), 3);

    // Updates and corrections, in the subscriber's language.
    let update = Update {
        id: 1,
        post: 7,
        at: ts("2027-03-02T13:05:00Z"),
        state: Some(PostState::InProgress),
        body: "Staging is done.".into(),
        author: "ops".into(),
    };
    let list = notify(Some(&inv), &[], What::PostUpdated { post: &p, update: &update, subscribers: &subs });
    assert_eq!(list[1].subject, "[Lindenau Hosting] Aktualisierung: Operating system update 2–4 March 2027");
    let text = to(&list, "vm@example.de").text();
    assert!(
        text.contains(
            "Aktualisierung vom Di. 2. März 2027 14:05 MEZ (Europe/Berlin) (jetzt in Arbeit):\n\nStaging is done.\n"
        ),
        "{text}"
    );
    let list = notify(Some(&inv), &[], What::PostCorrected { post: &p, note: "the end was wrong", subscribers: &subs });
    assert_eq!(list[0].subject, "[Lindenau Hosting] Correction: Operating system update 2–4 March 2027");
    assert_eq!(list[0].cause, "post 7 corrected");
    assert!(to(&list, "all@example.org").text().contains("This post was corrected: the end was wrong\n"));
    // Without an inventory, times are in UTC, named.
    let list = notify(None, &[], What::PostCreated { post: &p, subscribers: &subs });
    let text = to(&list, "all@example.org").text();
    assert!(text.contains("When: Tue 2 Mar 2027 13:00 – Wed 3 Mar 2027 22:30 UTC\n"), "{text}");
}

fn request(id: i64, sub: &Subscriber, components: &[&str], language: &str) -> SubscriptionRequest {
    SubscriptionRequest {
        id,
        subscriber: sub.id,
        components: components.iter().map(|c| (*c).to_owned()).collect(),
        language: language.into(),
        created: at(),
        confirmed: None,
    }
}

#[test]
fn a_subscription_request_sends_a_confirmation_link_that_expires() {
    let inv = inventory();
    let sub = subscriber(5, "neu@example.de", &["vm-hosting"], "de", false);
    let req = request(12, &sub, &["vm-hosting"], "de");
    let list = notify(Some(&inv), &webhooks(), What::SubscriptionRequested { subscriber: &sub, request: &req });
    assert_eq!(list.len(), 1, "no webhook for subscriptions");
    let m = &list[0];
    assert_eq!((m.recipient.as_str(), m.cause.as_str()), ("neu@example.de", "subscription 5 requested (12)"));
    assert_eq!(m.subject, "Bitte bestätigen Sie Ihr Abonnement bei Lindenau Hosting");
    let mail = Mail::parse(&m.payload);
    assert_eq!(mail.subject(), m.subject);
    assert_eq!(mail.header("To").as_deref(), Some("neu@example.de"));
    assert!(mail.header("List-Unsubscribe").is_none());
    let text = mail.text();
    let url = text.lines().find_map(|l| l.strip_prefix("Bestätigen: ")).unwrap();
    assert!(url.starts_with("https://status.lindenau.example/subscribe/confirm?token="), "{url}");
    assert!(
        text.contains("die Beiträge der Statusseite von Lindenau Hosting zu vm-hosting an diese Adresse"),
        "{text}"
    );
    assert!(text.contains("Der Link gilt bis Mo. 1. März 2027 09:00 MEZ (Europe/Berlin)."), "{text}");
    let token = url.split_once("token=").unwrap().1;
    let secret = &site().secret;
    // The link confirms this request, and no other.
    assert_eq!(links::verify_confirm(secret, token, at()), Ok(12));
    let week = at() + CONFIRM_LIFETIME;
    assert_eq!(links::verify_confirm(secret, token, week - jiff::SignedDuration::from_secs(1)), Ok(12));
    assert_eq!(links::verify_confirm(secret, token, week), Err(LinkError::Expired));
    assert!(mail.html().contains(&format!("href=\"{url}\"")));
}

#[test]
fn a_request_for_a_confirmed_address_asks_to_confirm_the_change_and_can_unsubscribe() {
    let inv = inventory();
    let sub = subscriber(5, "alt@example.org", &["vm-hosting"], "en", true);
    let req = request(13, &sub, &[], "de");
    let list = notify(Some(&inv), &[], What::SubscriptionRequested { subscriber: &sub, request: &req });
    let mail = Mail::parse(&list[0].payload);
    // Written in the language asked for.
    assert_eq!(mail.subject(), "Bitte bestätigen Sie die Änderung Ihres Abonnements bei Lindenau Hosting");
    let text = mail.text();
    assert!(
        text.contains("diese Adresse erhält bereits die Beiträge der Statusseite von Lindenau Hosting zu vm-hosting. Jemand, hoffentlich Sie, möchte stattdessen alle Beiträge erhalten, auf Deutsch."),
        "{text}"
    );
    assert!(text.contains("es ändert sich nichts."), "{text}");
    let change = text.lines().find_map(|l| l.strip_prefix("Abonnement ändern: ")).unwrap();
    assert_eq!(links::verify_confirm(&site().secret, change.split_once("token=").unwrap().1, at()), Ok(13));
    // And a working unsubscribe link, in the text and the headers.
    let url = mail.header("List-Unsubscribe").unwrap();
    let url = url.strip_prefix('<').and_then(|u| u.strip_suffix('>')).unwrap();
    assert!(text.contains(&format!("Abbestellen: {url}")), "{text}");
    let named = links::verify_unsubscribe(&site().secret, url.split_once("token=").unwrap().1, at());
    assert_eq!(named, Ok(links::Unsubscribe { subscriber: 5, sent: at() }));
}

// ---------------------------------------------------------------------------
// Webhooks and the messages themselves.

#[test]
fn webhooks_carry_each_event_as_signed_json() {
    let urls = vec!["https://a.example/hook".to_owned(), "https://b.example/hook?x=1".to_owned()];
    let p = post(7, &["vm-hosting"]);
    let update = Update { id: 4, post: 7, at: at(), state: None, body: "Half done.".into(), author: "ops".into() };
    let list = notify(None, &urls, What::PostUpdated { post: &p, update: &update, subscribers: &[] });
    assert_eq!(list.len(), 2);
    for (m, url) in list.iter().zip(&urls) {
        assert_eq!(m.channel, Channel::Webhook);
        assert_eq!((m.recipient.as_str(), m.subject.as_str(), m.sender.as_str()), (url.as_str(), "post.updated", ""));
        let json: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
        assert_eq!(json["id"], m.key.as_str());
        assert_eq!(json["type"], "post.updated");
        assert_eq!(json["at"], "2027-02-22T08:00:00Z");
        assert_eq!(json["data"]["post"]["id"], 7);
        assert_eq!(json["data"]["post"]["url"], "https://status.lindenau.example/posts/7");
        assert_eq!(json["data"]["post"]["starts"], "2027-03-02T13:00:00Z");
        assert_eq!(json["data"]["update"]["body"], "Half done.");
        let signature = sign_webhook(b"hook secret", m.payload.as_bytes());
        assert!(signature.starts_with("sha256=") && signature.len() == 7 + 64, "{signature}");
    }
    assert_eq!(list[0].key, "17.0@status.lindenau.example");
    assert_eq!(list[1].key, "17.1@status.lindenau.example");

    let inv = inventory();
    let c = stored(OS_UPDATE, CampaignState::Published);
    let moved = SlotChange::Moved { from_start: ts("2027-03-02T22:00:00Z"), from_end: ts("2027-03-02T22:30:00Z") };
    let slots = vec![slot("shop-web-1", "2027-03-04T22:00:00Z", 30, 1, moved)];
    let list = notify(Some(&inv), &urls[..1], What::SlotsChanged { campaign: &c, post: None, slots: &slots });
    let hook = list.last().unwrap();
    let json: serde_json::Value = serde_json::from_str(&hook.payload).unwrap();
    assert_eq!(json["type"], "slots.changed");
    assert_eq!(json["data"]["campaign"]["id"], "os-update");
    assert_eq!(json["data"]["campaign"]["title"], "Operating system update, March 2027");
    let counted = &json["data"]["slots"];
    assert_eq!(
        [&counted["total"], &counted["new"], &counted["moved"], &counted["cancelled"], &counted["unchanged"]],
        [1, 0, 1, 0, 0]
    );
    assert_eq!(counted["url"], "https://status.lindenau.example/api/v1/campaigns/os-update/slots");
    let s = &counted["listed"][0];
    assert_eq!(
        (s["target"].as_str(), s["change"].as_str(), s["sequence"].as_u64()),
        (Some("shop-web-1"), Some("moved"), Some(1))
    );
    assert_eq!(s["from_start"], "2027-03-02T22:00:00Z");
    assert_eq!(s["start"], "2027-03-04T22:00:00Z");
    assert_eq!(json["data"]["post"], serde_json::Value::Null);

    // A big change makes a small body: counts, the changed slots first, at most 100.
    let mut many: Vec<SlotNotice> =
        (0..5000).map(|i| slot(&format!("vm-{i:05}"), "2027-03-04T22:00:00Z", 30, 0, SlotChange::Unchanged)).collect();
    many[4321].change = SlotChange::Cancelled;
    let list = notify(Some(&inv), &urls[..1], What::SlotsChanged { campaign: &c, post: None, slots: &many });
    let hook = list.last().unwrap();
    assert!(hook.payload.len() < 20_000, "{} bytes", hook.payload.len());
    let json: serde_json::Value = serde_json::from_str(&hook.payload).unwrap();
    let counted = &json["data"]["slots"];
    assert_eq!([&counted["total"], &counted["cancelled"], &counted["unchanged"]], [5000, 1, 4999]);
    let listed = counted["listed"].as_array().unwrap();
    assert_eq!((listed.len(), &listed[0]["target"]), (100, &serde_json::json!("vm-04321")));
    let progress = notify(Some(&inv), &urls[..1], What::SlotsStarted { campaign: &c, slots: &many });
    let json: serde_json::Value = serde_json::from_str(&progress[0].payload).unwrap();
    assert_eq!(
        (&json["data"]["total"], json["data"]["slots"].as_array().map(Vec::len)),
        (&serde_json::json!(5000), Some(100))
    );
}

#[test]
fn slots_started_and_finished_go_to_webhooks_only() {
    let inv = inventory();
    let urls = vec!["https://a.example/hook".to_owned(), "https://b.example/hook".to_owned()];
    let c = stored(OS_UPDATE, CampaignState::Published);
    let slots = vec![
        slot("ana-1", "2027-03-02T13:00:00Z", 30, 0, SlotChange::Unchanged),
        slot("shop-web-1", "2027-03-02T22:00:00Z", 30, 2, SlotChange::Unchanged),
    ];
    let events = [
        ("slot.started", "started", What::SlotsStarted { campaign: &c, slots: &slots }),
        ("slot.finished", "finished", What::SlotsFinished { campaign: &c, slots: &slots }),
    ];
    for (kind, verb, what) in events {
        // With the inventory at hand and contacts to reach, still no email.
        let list = notify(Some(&inv), &urls, what);
        assert!(emails(&list).is_empty(), "{kind}: no email");
        assert_eq!(list.len(), 2, "{kind}: one event per URL");
        for (n, (m, url)) in list.iter().zip(&urls).enumerate() {
            assert_eq!(m.channel, Channel::Webhook);
            assert_eq!((m.recipient.as_str(), m.subject.as_str(), m.sender.as_str()), (url.as_str(), kind, ""));
            assert_eq!(m.key, format!("17.{n}@status.lindenau.example"));
            assert_eq!(m.cause, format!("campaign `os-update`: slots {verb}"));
            assert_eq!(m.due, at());
            let json: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
            assert_eq!(json["id"], m.key.as_str());
            assert_eq!(json["type"], kind);
            assert_eq!(json["at"], "2027-02-22T08:00:00Z");
            assert_eq!(
                json["data"],
                serde_json::json!({
                    "campaign": "os-update",
                    "source": "schedule",
                    "total": 2,
                    "url": "https://status.lindenau.example/api/v1/campaigns/os-update/slots",
                    "slots": [
                        {
                            "target": "ana-1",
                            "start": "2027-03-02T13:00:00Z",
                            "end": "2027-03-02T13:30:00Z",
                            "sequence": 0,
                        },
                        {
                            "target": "shop-web-1",
                            "start": "2027-03-02T22:00:00Z",
                            "end": "2027-03-02T22:30:00Z",
                            "sequence": 2,
                        },
                    ],
                })
            );
        }
        // Without webhooks nobody is told.
        assert!(notify(Some(&inv), &[], what).is_empty(), "{kind}");
    }
}

#[test]
fn long_lines_and_hostile_text_are_encoded() {
    let mut p = post(7, &[]);
    p.title = format!("Wartung <b>&</b> Störung {}", "sehr lang ".repeat(30));
    let long =
        format!("{}\n\n<script>alert(1)</script> [x](javascript:alert(1))", "ü".repeat(1500) + &"x".repeat(2000));
    p.body = long.clone();
    let subs = vec![subscriber(1, "all@example.org", &[], "de", true)];
    let list = notify(None, &[], What::PostCreated { post: &p, subscribers: &subs });
    let raw = &list[0].payload;
    assert_lines_fit(raw);
    for line in raw.split("\r\n").take_while(|l| !l.is_empty()) {
        assert!(line.len() <= 998 && line.is_ascii(), "headers are ASCII: {line}");
    }
    let mail = Mail::parse(raw);
    assert_eq!(mail.subject(), format!("[Lindenau Hosting] {}", p.title));
    assert!(mail.text().contains(&long), "the text part holds the body as written");
    let html = mail.html();
    assert!(!html.contains("<script") && !html.contains("href=\"javascript") && !html.contains("<b>"), "{html}");
    assert!(html.contains("&lt;script&gt;"));

    // Line breaks in a title cannot add headers.
    p.title = "Maintenance\r\nBcc: victim@example.org\nX-Injected: yes".into();
    let list = notify(None, &[], What::PostCreated { post: &p, subscribers: &subs });
    let mail = Mail::parse(&list[0].payload);
    assert!(mail.header("Bcc").is_none() && mail.header("X-Injected").is_none(), "{:?}", mail.headers);
}

#[test]
fn a_big_campaign_is_written_on_every_core_with_keys_in_order() {
    use forewarn_model::fleet::{FleetConfig, generate};
    let fleet = generate(&FleetConfig {
        machines: 3000,
        seed: 11,
        campaign_start: jiff::civil::date(2027, 3, 1),
        customer_machines: None,
    });
    let inv = parse_inventory("inventory.json", &serde_json::to_string(&fleet.inventory).unwrap()).unwrap();
    let text = serde_json::to_string(&fleet.campaign).unwrap();
    let campaign = StoredCampaign { text, ..stored(OS_UPDATE, CampaignState::Published) };
    let start = ts("2027-03-02T22:00:00Z");
    let slots: Vec<SlotNotice> = inv
        .machines
        .iter()
        .enumerate()
        .map(|(i, m)| SlotNotice {
            target: m.id.clone(),
            start: start + jiff::SignedDuration::from_mins(15 * (i as i64 % 96)),
            end: start + jiff::SignedDuration::from_mins(15 * (i as i64 % 96) + 30),
            sequence: 0,
            change: SlotChange::New,
            reminded: false,
        })
        .collect();
    let p = post(3, &[]);
    let what = || What::CampaignPublished { campaign: &campaign, post: &p, slots: &slots, subscribers: &[] };
    let first = notify(Some(&inv), &[], what());
    let contacts: usize = inv.customers.iter().filter(|c| !c.contacts.is_empty()).map(|c| c.contacts.len()).sum();
    assert!(contacts > 64, "enough contacts to split the work: {contacts}");
    assert_eq!(first.len(), contacts, "one message per contact");
    let keys: Vec<String> = first.iter().map(|m| m.key.clone()).collect();
    let expected: Vec<String> = (0..contacts).map(|n| format!("17.{n}@{DOMAIN}")).collect();
    assert_eq!(keys, expected, "keys are the messages' positions, in order");
    // Each contact once, and the same bytes again.
    let mut recipients: Vec<&str> = first.iter().map(|m| m.recipient.as_str()).collect();
    recipients.sort_unstable();
    recipients.dedup();
    assert_eq!(recipients.len(), contacts);
    assert_eq!(notify(Some(&inv), &[], what()), first);
}

/// A publication tells its contacts ahead of its transaction and the rest (subscribers,
/// webhooks, the context) in it: together, the same parts and messages under the same keys
/// as told at once, so every message renders to the same bytes.
#[test]
fn told_ahead_and_then_the_rest_is_what_is_told_at_once() {
    use forewarn_model::fleet::{FleetConfig, generate};
    let fleet = generate(&FleetConfig {
        machines: 2000,
        seed: 5,
        campaign_start: jiff::civil::date(2027, 3, 1),
        customer_machines: None,
    });
    let inv = parse_inventory("inventory.json", &serde_json::to_string(&fleet.inventory).unwrap()).unwrap();
    let text = serde_json::to_string(&fleet.campaign).unwrap();
    let published = StoredCampaign { text, ..stored(OS_UPDATE, CampaignState::Published) };
    let draft = StoredCampaign { state: CampaignState::Draft, published_plan: None, ..published.clone() };
    let start = ts("2027-03-02T22:00:00Z");
    let slots: Vec<SlotNotice> = inv
        .machines
        .iter()
        .enumerate()
        .map(|(i, m)| {
            slot(
                &m.id,
                &(start + jiff::SignedDuration::from_mins(15 * (i as i64 % 96))).to_string(),
                30,
                0,
                SlotChange::New,
            )
        })
        .collect();
    let p = post(3, &[]);
    let subs = [subscriber(1, "ops@example.net", &[], "en", true), subscriber(2, "de@example.net", &[], "de", true)];
    let hooks = webhooks();
    let site = site();
    let messages =
        Messages { site: &site, inventory: Some((VERSION, &inv)), webhooks: &hooks, publication: Default::default() };
    let what = What::CampaignPublished { campaign: &published, post: &p, slots: &slots, subscribers: &subs };
    let at_once = messages.tell(&Event { seq: 17, at: at(), actor: "ops", what, ahead: None }).unwrap();

    let ahead = messages.tell_ahead(17, at(), &draft, &slots).unwrap();
    let contacts_only = |m: &NewMessage| m.channel == Channel::Email && subs.iter().all(|s| s.email != m.recipient);
    assert!(ahead.messages.iter().all(contacts_only), "only contacts are told ahead");
    let told_ahead = forewarn_store::Ahead { parts: ahead.parts.len() as u32, messages: ahead.messages.len() as u32 };
    let rest = messages.tell(&Event { seq: 17, at: at(), actor: "ops", what, ahead: Some(told_ahead) }).unwrap();
    assert_eq!(rest.messages.len(), 2 + hooks.len(), "the subscribers and the webhooks");
    let together = Told {
        context: rest.context,
        parts: [ahead.parts, rest.parts].concat(),
        messages: [ahead.messages, rest.messages].concat(),
    };
    assert!(at_once.messages.len() > 50, "a fleet's worth: {}", at_once.messages.len());
    assert_eq!(together, at_once);
}

/// What cannot be told fails closed: a mail that cannot be written, or a campaign file that
/// no longer validates against the inventory of its plan (or does not parse), is an error
/// with the reason, never a message dropped or everyone told.
#[test]
fn what_cannot_be_told_is_an_error_not_a_message_dropped() {
    let inv = inventory();
    let tell = |inv: Option<&Inventory>, what: What<'_>| told(inv, &[], what);

    let sub = subscriber(5, "not an address", &["vm-hosting"], "en", false);
    let req = request(1, &sub, &["vm-hosting"], "en");
    let e = tell(Some(&inv), What::SubscriptionRequested { subscriber: &sub, request: &req }).unwrap_err();
    assert!(e.contains("`not an address`") && e.contains("cannot be"), "{e}");

    let p = post(7, &["vm-hosting"]);
    let slots = published_slots();
    // The campaign targets a customer the inventory no longer has.
    let gone = stored(&OS_UPDATE.replace("\"harbor\"", "\"gone\""), CampaignState::Published);
    let e = tell(Some(&inv), What::CampaignPublished { campaign: &gone, post: &p, slots: &slots, subscribers: &[] })
        .unwrap_err();
    assert!(e.contains("os-update") && e.contains("no longer validates") && e.contains("gone"), "{e}");
    let e = tell(Some(&inv), What::Reminder { campaign: &gone, slots: &slots }).unwrap_err();
    assert!(e.contains("no longer validates"), "{e}");
    // A file that does not parse at all, even without an inventory.
    let mut broken = stored(OS_UPDATE, CampaignState::Published);
    broken.text = "id = \"os-update\"\ntitle = ".to_owned();
    let e = tell(None, What::CampaignPublished { campaign: &broken, post: &p, slots: &slots, subscribers: &[] })
        .unwrap_err();
    assert!(e.contains("does not parse"), "{e}");
}

// ---------------------------------------------------------------------------
// Snapshots: the messages as their readers see them, compared with the reviewed ones in
// `snapshots/` (`INSTA_UPDATE=always cargo test` writes new ones; `git diff` on them is the
// change to review).

/// A message as its reader sees it: its headers, then every part decoded (calendars
/// unfolded, CRLF read as LF).
fn readable(m: &Sent) -> String {
    let mail = Mail::parse(&m.payload);
    let mut out = String::new();
    for name in ["From", "To", "Reply-To", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"] {
        if let Some(v) = mail.header(name) {
            out.push_str(&format!("{name}: {v}\n"));
        }
    }
    out.push_str(&format!("Subject: {}\n", mail.subject()));
    for part in mail.leaves() {
        let kind = part.header("Content-Type").unwrap_or_default();
        let kind = kind.split(';').next().unwrap_or_default().to_owned();
        out.push_str(&format!("\n----- {kind} -----\n{}", part.body));
        if !part.body.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[test]
fn emails_match_their_snapshots() {
    let inv = inventory();
    let c = stored(OS_UPDATE, CampaignState::Published);
    let p = post(7, &["vm-hosting"]);
    let slots = published_slots();
    let list =
        notify(Some(&inv), &[], What::CampaignPublished { campaign: &c, post: &p, slots: &slots, subscribers: &[] });
    let find = |list: &[Sent], to: &str| readable(list.iter().find(|m| m.recipient == to).expect("a message"));
    insta::assert_snapshot!("slots_published_de", find(&list, "jana.becker@nordlicht-reisen.example"));
    insta::assert_snapshot!("slots_published_en", find(&list, "emily.carter@harbor-analytics.example"));

    let subs = vec![subscriber(1, "all@example.org", &[], "en", true), subscriber(2, "vm@example.de", &[], "de", true)];
    let list = notify(Some(&inv), &[], What::PostCreated { post: &p, subscribers: &subs });
    insta::assert_snapshot!("post_created_en", find(&list, "all@example.org"));
    insta::assert_snapshot!("post_created_de", find(&list, "vm@example.de"));

    let sub = subscriber(5, "neu@example.org", &["vm-hosting"], "en", false);
    let req = request(12, &sub, &["vm-hosting"], "en");
    let list = notify(Some(&inv), &[], What::SubscriptionRequested { subscriber: &sub, request: &req });
    insta::assert_snapshot!("confirmation", find(&list, "neu@example.org"));
    // A confirmed address asked again: the change to confirm, with an unsubscribe link.
    let sub = subscriber(6, "alt@example.org", &["vm-hosting"], "en", true);
    let req = request(13, &sub, &[], "de");
    let list = notify(Some(&inv), &[], What::SubscriptionRequested { subscriber: &sub, request: &req });
    insta::assert_snapshot!("confirmation_of_a_change", find(&list, "alt@example.org"));
}

#[test]
fn a_text_holding_its_own_boundaries_cannot_break_the_message() {
    // The boundaries come from the key, so anyone who can guess a key can write them into a
    // machine's name or a post; the parts that hold them are never sent as they are.
    let key = "17.3@status.example.net";
    let tag = crate::email::boundary_tag(key);
    let hostile = format!("before\n--=_fw_alt_{tag}\nContent-Type: text/html\n\n<b>x</b>\n--=_fw_mixed_{tag}--\nafter");
    let mut doc = crate::doc::Doc::default();
    doc.para(hostile.clone());
    let email = crate::email::Email {
        to_name: None,
        to: "ops@example.org".into(),
        subject: "Boundaries".into(),
        lang: forewarn_model::inventory::Language::En,
        doc,
        calendars: vec![(
            crate::calendar::Method::Request,
            format!("BEGIN:VCALENDAR\r\nX-A:--=_fw_mixed_{tag}\r\nEND:VCALENDAR\r\n"),
        )],
        unsubscribe: None,
    };
    let raw = crate::email::render(&site(), key, at(), &email).expect("renders");
    let mail = Mail::parse(&raw);
    assert_eq!(mail.parts.len(), 2, "the alternative and the calendar: {raw}");
    assert_eq!(mail.parts[0].parts.len(), 2, "text and HTML: {raw}");
    assert!(mail.text().contains(&hostile), "{raw}");
    assert!(mail.calendars()[0].1.contains(&format!("X-A:--=_fw_mixed_{tag}")), "{raw}");
    let delimiters = raw.split("\r\n").filter(|l| l.starts_with(&format!("--=_fw_alt_{tag}"))).count();
    assert_eq!(delimiters, 3, "two parts and the close, nothing from the text: {raw}");
}
