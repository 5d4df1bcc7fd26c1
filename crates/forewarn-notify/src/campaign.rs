//! What the contacts of affected customers are told about a campaign: one email per contact
//! and change, listing all their machines with their slots in the contact's zone and
//! language, with calendar parts (`REQUEST` for slots to keep, `CANCEL` for slots that will
//! not take place).

use std::collections::{BTreeMap, HashMap};

use forewarn_model::campaign::{REBOOTS, Scope};
use forewarn_model::doc::{Document, Format};
use forewarn_model::inventory::{Contact, Customer, Language, Machine};
use forewarn_model::{CampaignFile, Inventory, Zone, parse_campaign};
use forewarn_store::{SlotChange, SlotNotice, StoredCampaign};
use jiff::Timestamp;

use crate::Site;
use crate::calendar::{self, Method, Person};
use crate::doc::{Block, Doc, Row};
use crate::email::Email;
use crate::words::{self, pick};

/// What contacts need to know of a campaign file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Info {
    pub id: String,
    pub title: String,
    pub scope: Scope,
    /// Kinds and their durations in seconds, in order.
    pub activities: Vec<(String, i64)>,
    pub notify_contacts: bool,
    /// Why the campaign changed state, in the operator's words (pause, resume, cancel).
    pub reason: Option<String>,
}

impl Info {
    /// The campaign as its file says, validated against the inventory its plan was made from;
    /// without that inventory (or should the file no longer validate against it) the file is
    /// read as written, and failing that only the stored id and title are known.
    pub(crate) fn of(stored: &StoredCampaign, inv: Option<&Inventory>) -> Info {
        let file = "campaign";
        if let Some(c) = inv.and_then(|inv| parse_campaign(file, &stored.text, inv).ok()) {
            return Info {
                id: c.id,
                title: c.title,
                scope: c.scope,
                activities: c.activities.into_iter().map(|a| (a.kind, a.duration.seconds())).collect(),
                notify_contacts: c.notify_contacts,
                reason: None,
            };
        }
        let as_written = Document::parse(file, &stored.text, Format::detect(file, &stored.text))
            .ok()
            .and_then(|doc| doc.whole::<CampaignFile>(&mut Vec::new()));
        match as_written {
            Some(f) => Info {
                id: f.id,
                title: f.title,
                scope: f.scope,
                activities: f.activities.into_iter().map(|a| (a.kind, a.duration.seconds())).collect(),
                notify_contacts: f.notify_contacts,
                reason: None,
            },
            None => Info {
                id: stored.id.clone(),
                title: stored.title.clone(),
                scope: Scope::Machines,
                activities: Vec::new(),
                notify_contacts: true,
                reason: None,
            },
        }
    }

    fn slot_seconds(&self) -> i64 {
        self.activities.iter().map(|(_, s)| s).sum()
    }
}

/// A machine and the slot it is down in (its own, or its host's in host campaigns).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'i, 'e> {
    pub machine: &'i Machine,
    pub slot: &'e SlotNotice,
}

/// The machines the slots concern, per customer (in inventory order), each customer's
/// machines in order of their slots' starts. In host campaigns a host's slot concerns every
/// machine on it.
pub(crate) fn affected<'i, 'e>(
    inv: &'i Inventory,
    scope: Scope,
    slots: &'e [SlotNotice],
) -> Vec<(usize, Vec<Target<'i, 'e>>)> {
    if slots.is_empty() {
        return Vec::new();
    }
    let by_id: HashMap<&str, &SlotNotice> = slots.iter().map(|s| (s.target.as_str(), s)).collect();
    let mut per_customer: BTreeMap<usize, Vec<Target<'i, 'e>>> = BTreeMap::new();
    let mut add = |machine: &'i Machine, slot: &'e SlotNotice| {
        per_customer.entry(inv.customer_index_of(machine)).or_default().push(Target { machine, slot });
    };
    match scope {
        Scope::Machines => {
            for m in &inv.machines {
                if let Some(&slot) = by_id.get(m.id.as_str()) {
                    add(m, slot);
                }
            }
        }
        Scope::Hosts => {
            let of_host: Vec<Option<&SlotNotice>> =
                inv.hosts.iter().map(|h| by_id.get(h.id.as_str()).copied()).collect();
            for m in &inv.machines {
                if let Some(slot) = of_host.get(m.host).copied().flatten() {
                    add(m, slot);
                }
            }
        }
    }
    let mut out: Vec<_> = per_customer.into_iter().collect();
    for (_, targets) in &mut out {
        targets.sort_by(|a, b| (a.slot.start, &a.machine.id).cmp(&(b.slot.start, &b.machine.id)));
    }
    out
}

/// Which change a contact's email tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tell {
    /// The campaign was published: every slot is new.
    Published,
    /// A newer plan moved, added or dropped slots.
    Changed,
    /// The campaign was cancelled: no slot takes place.
    Cancelled,
    /// These slots start soon.
    Reminder,
}

impl Tell {
    /// Why, in words, for the outbox: "campaign `os-update` published".
    pub(crate) fn cause(self, id: &str) -> String {
        match self {
            Tell::Published => format!("campaign `{id}` published"),
            Tell::Changed => format!("campaign `{id}`: slots changed"),
            Tell::Cancelled => format!("campaign `{id}` cancelled"),
            Tell::Reminder => format!("campaign `{id}`: reminder"),
        }
    }
}

/// Everything a contact's email is written from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Context<'a> {
    pub site: &'a Site,
    pub inv: &'a Inventory,
    pub info: &'a Info,
    /// The campaign's post on the status page (or the status page).
    pub status_url: &'a str,
    pub at: Timestamp,
    pub domain: &'a str,
}

/// A name that a sentence's period follows, without its own: `Inc.` + `.` is `Inc.`.
fn with_period(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

fn count(lang: Language, n: usize) -> String {
    match (lang, n == 1) {
        (Language::En, true) => "1 machine".to_owned(),
        (Language::En, false) => format!("{n} machines"),
        (Language::De, true) => "1 Maschine".to_owned(),
        (Language::De, false) => format!("{n} Maschinen"),
    }
}

/// `operating system update (20 minutes), then reboot (10 minutes)`.
fn what_happens(cx: &Context<'_>, lang: Language) -> String {
    let words: Vec<String> = cx
        .info
        .activities
        .iter()
        .map(|(kind, secs)| format!("{} ({})", words::activity(lang, kind), words::duration(lang, *secs)))
        .collect();
    words::then(lang, &words)
}

fn downtime(cx: &Context<'_>, lang: Language) -> String {
    let length = words::duration(lang, cx.info.slot_seconds());
    let reboots = cx.info.activities.iter().any(|(k, _)| REBOOTS.contains(&k.as_str()));
    match (cx.info.scope, reboots) {
        (Scope::Hosts, _) => pick(
            lang,
            format!("each machine is down with its host, once, for at most {length}, within the host's slot"),
            format!(
                "jede Maschine ist mit ihrem Host einmal für höchstens {length} nicht erreichbar, innerhalb des Termins des Hosts"
            ),
        ),
        (Scope::Machines, true) => pick(
            lang,
            format!("each machine is down once, for at most {length}, within its slot"),
            format!("jede Maschine ist innerhalb ihres Termins einmal für höchstens {length} nicht erreichbar"),
        ),
        (Scope::Machines, false) => pick(
            lang,
            format!("each machine may be unavailable for up to {length} within its slot"),
            format!("jede Maschine kann innerhalb ihres Termins bis zu {length} nicht erreichbar sein"),
        ),
    }
}

/// "project Shop, production, on host kvm01".
fn about(cx: &Context<'_>, lang: Language, m: &Machine) -> String {
    let project = cx.inv.project_of(m);
    let name = project.name.as_deref().unwrap_or(&project.id);
    let mut about = format!("{} {name}, {}", pick(lang, "project", "Projekt"), cx.inv.tier_name(m));
    if cx.info.scope == Scope::Hosts {
        about.push_str(&format!(", {} {}", pick(lang, "on host", "auf Host"), cx.inv.host_of(m).id));
    }
    about
}

fn row(cx: &Context<'_>, lang: Language, zone: &Zone, tell: Tell, t: &Target<'_, '_>) -> Row {
    let s = t.slot;
    let note = match (tell, s.change) {
        (Tell::Cancelled, _) | (Tell::Changed, SlotChange::Cancelled) => {
            Some(pick(lang, "cancelled: this slot will not take place", "abgesagt: dieser Termin entfällt").to_owned())
        }
        (Tell::Changed, SlotChange::New) => Some(pick(lang, "new slot", "neuer Termin").to_owned()),
        (Tell::Changed, SlotChange::Moved { from_start, from_end }) => Some(format!(
            "{}: {}",
            pick(lang, "moved; before", "verschoben; bisher"),
            words::span(lang, from_start, from_end, zone)
        )),
        (Tell::Changed, SlotChange::Unchanged) => Some(pick(lang, "unchanged", "unverändert").to_owned()),
        (Tell::Published | Tell::Reminder, _) => None,
    };
    Row {
        name: t.machine.id.clone(),
        about: about(cx, lang, t.machine),
        when: words::span(lang, s.start, s.end, zone),
        note,
    }
}

fn event(cx: &Context<'_>, lang: Language, zone: &Zone, t: &Target<'_, '_>, method: Method) -> calendar::Slot {
    let m = t.machine;
    let cancelled = match method {
        Method::Cancel => pick(lang, "Cancelled: ", "Abgesagt: "),
        Method::Request => "",
    };
    let summary = format!("{cancelled}{} {}: {}", pick(lang, "Maintenance of", "Wartung von"), m.id, cx.info.title);
    let mut description = format!(
        "{}\n{} {} ({})\n{}: {}\n",
        cx.info.title,
        pick(lang, "Machine", "Maschine"),
        m.id,
        about(cx, lang, m),
        pick(lang, "When", "Wann"),
        words::span(lang, t.slot.start, t.slot.end, zone)
    );
    if method == Method::Cancel {
        description.push_str(pick(lang, "This slot will not take place.\n", "Dieser Termin entfällt.\n"));
    } else if !cx.info.activities.is_empty() {
        description.push_str(&format!(
            "{}: {}\n{}: {}\n",
            pick(lang, "What happens", "Was passiert"),
            what_happens(cx, lang),
            pick(lang, "Expected downtime", "Erwartete Ausfallzeit"),
            downtime(cx, lang)
        ));
    }
    description.push_str(&format!("{}: {}", pick(lang, "Status page", "Statusseite"), cx.status_url));
    calendar::Slot {
        uid: format!("{}.{}@{}", cx.info.id, m.id, cx.domain),
        sequence: t.slot.sequence,
        start: t.slot.start,
        end: t.slot.end,
        summary,
        description,
    }
}

/// The email one contact of `customer` gets about `targets` (their machines in the event).
pub(crate) fn email(
    cx: &Context<'_>,
    tell: Tell,
    customer: &Customer,
    contact: &Contact,
    targets: &[Target<'_, '_>],
) -> Email {
    let lang = contact.language;
    let zone = cx.inv.contact_zone(customer, contact);
    let title = &cx.info.title;
    let n = targets.len();
    let first = targets.iter().map(|t| t.slot.start).min().unwrap_or(cx.at);
    let zone_line = pick(
        lang,
        format!("All times are in your time zone, {}.", words::zone_words(lang, first, zone)),
        format!("Alle Zeiten in Ihrer Zeitzone, {}.", words::zone_words(lang, first, zone)),
    );
    let (subject, intro) = match tell {
        Tell::Published => (
            pick(lang, format!("Planned maintenance: {title}"), format!("Geplante Wartung: {title}")),
            pick(
                lang,
                format!(
                    "we are going to carry out “{title}” on {} of {}, each in its own slot:",
                    count(lang, n),
                    customer.name
                ),
                format!(
                    "wir führen „{title}“ an {} von {} durch, jede in ihrem eigenen Termin:",
                    count(lang, n),
                    customer.name
                ),
            ),
        ),
        Tell::Changed => (
            pick(lang, format!("Changed maintenance times: {title}"), format!("Geänderte Wartungstermine: {title}")),
            pick(
                lang,
                format!(
                    "the plan of “{title}” has changed for machines of {}. These are the slots of all {} as they are now, with what changed:",
                    with_period(&customer.name),
                    count(lang, n)
                ),
                format!(
                    "der Plan für „{title}“ hat sich für Maschinen von {} geändert. Das sind die Termine aller {}, wie sie jetzt gelten, mit den Änderungen:",
                    customer.name,
                    count(lang, n)
                ),
            ),
        ),
        Tell::Cancelled => (
            pick(lang, format!("Maintenance cancelled: {title}"), format!("Wartung abgesagt: {title}")),
            pick(
                lang,
                format!(
                    "“{title}” is cancelled. None of these slots for {} of {} will take place, and nothing will be done to these machines in this campaign:",
                    count(lang, n),
                    customer.name
                ),
                format!(
                    "„{title}“ ist abgesagt. Keiner dieser Termine für {} von {} findet statt, und an diesen Maschinen wird in dieser Kampagne nichts gemacht:",
                    count(lang, n),
                    customer.name
                ),
            ),
        ),
        Tell::Reminder => (
            pick(lang, format!("Reminder: {title}"), format!("Erinnerung: {title}")),
            pick(
                lang,
                format!(
                    "a reminder: “{title}” begins soon for {} of {}, at the times you were told:",
                    count(lang, n),
                    customer.name
                ),
                format!(
                    "zur Erinnerung: „{title}“ beginnt bald für {} von {}, zu den angekündigten Terminen:",
                    count(lang, n),
                    customer.name
                ),
            ),
        ),
    };

    let mut doc = Doc::default();
    doc.para(format!("{} {},", pick(lang, "Hello", "Guten Tag"), contact.name));
    doc.para(intro);
    doc.push(Block::Slots(targets.iter().map(|t| row(cx, lang, zone, tell, t)).collect()));
    doc.para(zone_line);
    if tell == Tell::Cancelled
        && let Some(reason) = cx.info.reason.as_deref().map(str::trim).filter(|r| !r.is_empty())
    {
        doc.para(format!("{}: {reason}", pick(lang, "Reason", "Grund")));
    }
    if tell != Tell::Cancelled && !cx.info.activities.is_empty() {
        doc.push(Block::Facts(vec![
            (pick(lang, "What happens", "Was passiert").to_owned(), what_happens(cx, lang)),
            (pick(lang, "Expected downtime", "Erwartete Ausfallzeit").to_owned(), downtime(cx, lang)),
        ]));
    }

    let mut calendars = Vec::new();
    let cal = |method: Method, chosen: Vec<&Target<'_, '_>>| {
        let slots: Vec<calendar::Slot> = chosen.iter().map(|t| event(cx, lang, zone, t, method)).collect();
        let organizer = Person { name: &cx.site.from_name, email: &cx.site.from_address };
        let attendee = Person { name: &contact.name, email: &contact.email };
        (method, calendar::calendar(method, cx.at, organizer, attendee, cx.status_url, &slots))
    };
    match tell {
        Tell::Published | Tell::Reminder => calendars.push(cal(Method::Request, targets.iter().collect())),
        Tell::Cancelled => calendars.push(cal(Method::Cancel, targets.iter().collect())),
        Tell::Changed => {
            let (cancelled, kept): (Vec<&Target<'_, '_>>, Vec<&Target<'_, '_>>) =
                targets.iter().partition(|t| t.slot.change == SlotChange::Cancelled);
            let request: Vec<&Target<'_, '_>> = kept
                .into_iter()
                .filter(|t| matches!(t.slot.change, SlotChange::New | SlotChange::Moved { .. }))
                .collect();
            if !request.is_empty() {
                calendars.push(cal(Method::Request, request));
            }
            if !cancelled.is_empty() {
                calendars.push(cal(Method::Cancel, cancelled));
            }
        }
    }
    let calendar_note = match tell {
        Tell::Published => pick(
            lang,
            "The attached calendar file (invite.ics) has one entry per machine. Should a slot move, we send an update of the same entry.",
            "Die angehängte Kalenderdatei (invite.ics) enthält einen Eintrag je Maschine. Verschiebt sich ein Termin, schicken wir eine Aktualisierung desselben Eintrags.",
        ),
        Tell::Changed => pick(
            lang,
            "The attached calendar files update the entries already in your calendar and remove those of cancelled slots.",
            "Die angehängten Kalenderdateien aktualisieren die Einträge in Ihrem Kalender und entfernen die der abgesagten Termine.",
        ),
        Tell::Cancelled => pick(
            lang,
            "The attached calendar file (cancel.ics) removes these entries from your calendar.",
            "Die angehängte Kalenderdatei (cancel.ics) entfernt diese Einträge aus Ihrem Kalender.",
        ),
        Tell::Reminder => pick(
            lang,
            "The attached calendar file (invite.ics) holds the same entries as before.",
            "Die angehängte Kalenderdatei (invite.ics) enthält dieselben Einträge wie bisher.",
        ),
    };
    doc.para(calendar_note);
    doc.link(pick(lang, "Status page", "Statusseite"), cx.status_url);
    doc.para(format!("{}\n{}", pick(lang, "Kind regards", "Viele Grüße"), cx.site.name));
    doc.push(Block::Footer {
        text: pick(
            lang,
            format!("You receive this email as a technical contact of {} at {}.", customer.name, cx.site.name),
            format!("Sie erhalten diese E-Mail als technischer Kontakt von {} bei {}.", customer.name, cx.site.name),
        ),
        link: None,
    });
    Email {
        to_name: Some(contact.name.clone()),
        to: contact.email.clone(),
        subject,
        lang,
        doc,
        calendars,
        unsubscribe: None,
    }
}
