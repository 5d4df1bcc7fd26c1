//! What the contacts of affected customers are told about a campaign: one email per contact
//! and change, listing all their machines with their slots in the contact's zone and
//! language, with calendar parts (`REQUEST` for slots to keep, `CANCEL` for slots that will
//! not take place).

use std::collections::HashMap;

use forewarn_model::campaign::{REBOOTS, Scope};
use forewarn_model::doc::{Document, Format};
use forewarn_model::inventory::{Contact, Customer, Language, Machine};
use forewarn_model::{CampaignFile, Inventory, parse_campaign};
use forewarn_store::{SlotChange, SlotNotice, StoredCampaign};
use jiff::Timestamp;

use crate::Site;
use crate::calendar::{self, Method, Person};
use crate::doc::{Block, Doc, Row};
use crate::email::Email;
use crate::words::{self, pick};

/// What contacts need to know of a campaign file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Info {
    pub id: String,
    pub title: String,
    pub scope: Scope,
    /// Kinds and their durations in seconds, in order.
    pub activities: Vec<(String, i64)>,
    pub notify_contacts: bool,
    /// A FleetLock group (`mode = "fleetlock"`): no slots; its machines reboot when their
    /// updates arrive, each inside its window (the reason told with each machine).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fleetlock: bool,
    /// Why the campaign changed state, in the operator's words (pause, resume, cancel).
    pub reason: Option<String>,
}

impl Info {
    /// The campaign as its file says, validated against the inventory its plan was made from;
    /// without that inventory the file is read as written (no contact is told then). A file
    /// that no longer validates against that inventory, or does not parse, is an error: the
    /// event is refused rather than told to the wrong people.
    pub(crate) fn of(stored: &StoredCampaign, inv: Option<&Inventory>) -> Result<Info, String> {
        let file = format!("campaign `{}`", stored.id);
        if let Some(inv) = inv {
            let c = parse_campaign(&file, &stored.text, inv).map_err(|d| {
                format!(
                    "the file of campaign `{}` no longer validates against the inventory its plan was made \
                     from, so who is affected is not known: {d} (edit the campaign or plan it again)",
                    stored.id
                )
            })?;
            return Ok(Info {
                id: c.id,
                title: c.title,
                scope: c.scope,
                activities: c.activities.into_iter().map(|a| (a.kind, a.duration.seconds())).collect(),
                notify_contacts: c.notify_contacts,
                fleetlock: c.mode == forewarn_model::campaign::Mode::Fleetlock,
                reason: None,
            });
        }
        let as_written = Document::parse(&file, &stored.text, Format::detect(&file, &stored.text))
            .ok()
            .and_then(|doc| doc.whole::<CampaignFile>(&mut Vec::new()));
        match as_written {
            Some(f) => Ok(Info {
                id: f.id,
                title: f.title,
                scope: f.scope,
                activities: f.activities.into_iter().map(|a| (a.kind, a.duration.seconds())).collect(),
                notify_contacts: f.notify_contacts,
                fleetlock: f.mode == forewarn_model::campaign::Mode::Fleetlock,
                reason: None,
            }),
            None => Err(format!(
                "the file of campaign `{}` does not parse, so who is affected is not known (edit the campaign)",
                stored.id
            )),
        }
    }

    fn slot_seconds(&self) -> i64 {
        self.activities.iter().map(|(_, s)| s).sum()
    }
}

/// A machine and the slot it is down in (its own, or its host's in host campaigns), with
/// the inventory it is read in (a machine removed since its slot was told is read in the
/// inventory it was told from).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'i, 'e> {
    pub machine: &'i Machine,
    pub inv: &'i Inventory,
    pub slot: &'e SlotNotice,
}

/// A machine of the campaign that got no slot, and why.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoSlot<'i> {
    pub machine: &'i Machine,
    pub inv: &'i Inventory,
    pub reason: &'i str,
}

/// One customer's part of a change: its machines with slots and those without.
#[derive(Clone, Debug)]
pub(crate) struct Affected<'i, 'e> {
    pub customer: &'i Customer,
    pub targets: Vec<Target<'i, 'e>>,
    pub unscheduled: Vec<NoSlot<'i>>,
    /// Whether a machine without a slot is news to the customer's contacts.
    pub new_unscheduled: bool,
}

/// Where a campaign's targets are found: the inventory of the plan version told now, and
/// the one of the version told before (for targets removed from the inventory since).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fleet<'i> {
    pub inv: &'i Inventory,
    pub previous: Option<&'i Inventory>,
    pub scope: Scope,
}

/// A fleet's targets by id, each standing for machines of one inventory: a machine for
/// itself, a host for its guests. Both are found by the inventory's own index of ids; a
/// host's guests are a run of `guests` (no allocation per host: a fleet has thousands).
struct Index<'i> {
    inv: &'i Inventory,
    scope: Scope,
    /// Hosts only: where each host's run starts in `guests` (one entry more than hosts).
    starts: Vec<u32>,
    /// Hosts only: the machines' positions, host by host, each host's in inventory order.
    guests: Vec<u32>,
}

/// The machines a target stands for: positions in its inventory's `machines`.
enum Run<'a> {
    One(u32),
    Many(&'a [u32]),
}

impl Run<'_> {
    fn positions(&self) -> &[u32] {
        match self {
            Run::One(p) => std::slice::from_ref(p),
            Run::Many(run) => run,
        }
    }
}

impl<'i> Index<'i> {
    fn new(inv: &'i Inventory, scope: Scope) -> Index<'i> {
        let (mut starts, mut guests) = (Vec::new(), Vec::new());
        if scope == Scope::Hosts {
            // Count each host's guests, then place them: a counting sort by host.
            starts = vec![0u32; inv.hosts.len() + 1];
            for m in &inv.machines {
                starts[m.host + 1] += 1;
            }
            for h in 0..inv.hosts.len() {
                starts[h + 1] += starts[h];
            }
            let mut next = starts.clone();
            guests = vec![0u32; inv.machines.len()];
            for (i, m) in inv.machines.iter().enumerate() {
                guests[next[m.host] as usize] = i as u32;
                next[m.host] += 1;
            }
        }
        Index { inv, scope, starts, guests }
    }

    /// The machines `target` stands for, in inventory order.
    fn get(&self, target: &str) -> Option<Run<'_>> {
        match self.scope {
            Scope::Machines => self.inv.machine_position(target).map(|p| Run::One(p as u32)),
            Scope::Hosts => self
                .inv
                .host_position(target)
                .map(|h| Run::Many(&self.guests[self.starts[h] as usize..self.starts[h + 1] as usize])),
        }
    }
}

/// The machines the slots concern, per customer (customers in inventory order, then those
/// found only in the previous inventory), each customer's machines in order of their slots'
/// starts; and the machines without a slot (`unscheduled`: target and reason; `is_new`
/// says which are news). In host campaigns a host's slot concerns every machine on it.
pub(crate) fn affected<'i, 'e>(
    fleet: Fleet<'i>,
    slots: &'e [SlotNotice],
    unscheduled: &'i [(String, String)],
    is_new: &dyn Fn(&str) -> bool,
) -> Vec<Affected<'i, 'e>> {
    if slots.is_empty() && unscheduled.is_empty() {
        return Vec::new();
    }
    let current = Index::new(fleet.inv, fleet.scope);
    // Indexed only when a target is missing from the current inventory.
    let previous: std::cell::OnceCell<Option<Index<'i>>> = std::cell::OnceCell::new();
    // The machines a target stands for and the inventory they are read in: the current
    // one, else the previous one.
    let machines = |target: &str| -> Option<(&'i Inventory, Run<'_>)> {
        if let Some(found) = current.get(target) {
            return Some((current.inv, found));
        }
        let index = previous.get_or_init(|| fleet.previous.map(|prev| Index::new(prev, fleet.scope))).as_ref()?;
        index.get(target).map(|found| (index.inv, found))
    };
    let mut per_customer: Vec<Affected<'i, 'e>> = Vec::new();
    // Where each customer's entry is: by position for the current inventory's customers,
    // by id for those found only in the previous one.
    let mut current_ix: Vec<u32> = vec![u32::MAX; fleet.inv.customers.len()];
    let mut gone_ix: HashMap<&'i str, usize> = HashMap::new();
    let mut entry = |per_customer: &mut Vec<Affected<'i, 'e>>, inv: &'i Inventory, m: &'i Machine| -> usize {
        let customer = inv.customer_of(m);
        // Contacts as the current inventory has them, when it still has the customer.
        let position = if std::ptr::eq(inv, fleet.inv) {
            Some(inv.customer_index_of(m))
        } else {
            fleet.inv.customers.iter().position(|c| c.id == customer.id)
        };
        let mut add = |customer: &'i Customer| {
            per_customer.push(Affected {
                customer,
                targets: Vec::new(),
                unscheduled: Vec::new(),
                new_unscheduled: false,
            });
            per_customer.len() - 1
        };
        match position {
            Some(p) => {
                if current_ix[p] == u32::MAX {
                    current_ix[p] = add(&fleet.inv.customers[p]) as u32;
                }
                current_ix[p] as usize
            }
            None => *gone_ix.entry(customer.id.as_str()).or_insert_with(|| add(customer)),
        }
    };
    for slot in slots {
        if let Some((inv, found)) = machines(&slot.target) {
            for &p in found.positions() {
                let machine = &inv.machines[p as usize];
                let i = entry(&mut per_customer, inv, machine);
                per_customer[i].targets.push(Target { machine, inv, slot });
            }
        }
    }
    for (target, reason) in unscheduled {
        if let Some((inv, found)) = machines(target) {
            let news = is_new(target);
            for &p in found.positions() {
                let machine = &inv.machines[p as usize];
                let i = entry(&mut per_customer, inv, machine);
                per_customer[i].unscheduled.push(NoSlot { machine, inv, reason });
                per_customer[i].new_unscheduled |= news;
            }
        }
    }
    // Customers in inventory order, then those found only in the previous one, by id.
    let mut gone: Vec<(&str, usize)> = gone_ix.into_iter().collect();
    gone.sort_unstable();
    let order = current_ix.iter().filter(|&&i| i != u32::MAX).map(|&i| i as usize).chain(gone.iter().map(|g| g.1));
    let mut entries: Vec<Option<Affected<'i, 'e>>> = per_customer.into_iter().map(Some).collect();
    let mut per_customer: Vec<Affected<'i, 'e>> = order.filter_map(|i| entries[i].take()).collect();
    for a in &mut per_customer {
        a.targets.sort_by(|x, y| (x.slot.start, &x.machine.id).cmp(&(y.slot.start, &y.machine.id)));
        a.unscheduled.sort_by(|x, y| x.machine.id.cmp(&y.machine.id));
    }
    per_customer
}

/// Which change a contact's email tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// "project Shop, production, on host kvm01", read in the machine's inventory `inv`.
fn about(cx: &Context<'_>, inv: &Inventory, lang: Language, m: &Machine) -> String {
    let project = inv.project_of(m);
    let name = project.name.as_deref().unwrap_or(&project.id);
    let mut about = format!("{} {name}, {}", pick(lang, "project", "Projekt"), inv.tier_name(m));
    if cx.info.scope == Scope::Hosts {
        about.push_str(&format!(", {} {}", pick(lang, "on host", "auf Host"), inv.host_of(m).id));
    }
    about
}

fn row(cx: &Context<'_>, lang: Language, spans: &words::Spans<'_>, tell: Tell, t: &Target<'_, '_>) -> Row {
    let s = t.slot;
    let note = match (tell, s.change) {
        (Tell::Cancelled, _) | (Tell::Changed, SlotChange::Cancelled) => {
            Some(pick(lang, "cancelled: this slot will not take place", "abgesagt: dieser Termin entfällt").to_owned())
        }
        (Tell::Changed, SlotChange::New) => Some(pick(lang, "new slot", "neuer Termin").to_owned()),
        (Tell::Changed, SlotChange::Moved { from_start, from_end }) => {
            Some(format!("{}: {}", pick(lang, "moved; before", "verschoben; bisher"), spans.say(from_start, from_end)))
        }
        (Tell::Changed, SlotChange::Unchanged) => Some(pick(lang, "unchanged", "unverändert").to_owned()),
        (Tell::Published | Tell::Reminder, _) => None,
    };
    Row { name: t.machine.id.clone(), about: about(cx, t.inv, lang, t.machine), when: spans.say(s.start, s.end), note }
}

fn no_slot_row(cx: &Context<'_>, lang: Language, u: &NoSlot<'_>) -> Row {
    if cx.info.fleetlock {
        return Row {
            name: u.machine.id.clone(),
            about: about(cx, u.inv, lang, u.machine),
            when: pick(lang, "when its update arrives", "wenn ihr Update kommt").to_owned(),
            note: Some(u.reason.to_owned()),
        };
    }
    Row {
        name: u.machine.id.clone(),
        about: about(cx, u.inv, lang, u.machine),
        when: pick(lang, "no slot", "kein Termin").to_owned(),
        note: Some(format!("{}: {}", pick(lang, "why", "Grund"), u.reason)),
    }
}

/// What every calendar entry of one message says besides its slot: what happens, and the
/// downtime to expect (said once a message, not once an entry).
struct Facts {
    what: String,
    downtime: String,
}

fn event(
    cx: &Context<'_>,
    lang: Language,
    spans: &words::Spans<'_>,
    facts: &Facts,
    t: &Target<'_, '_>,
    method: Method,
) -> calendar::Slot {
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
        about(cx, t.inv, lang, m),
        pick(lang, "When", "Wann"),
        spans.say(t.slot.start, t.slot.end)
    );
    if method == Method::Cancel {
        description.push_str(pick(lang, "This slot will not take place.\n", "Dieser Termin entfällt.\n"));
    } else if !cx.info.activities.is_empty() {
        description.push_str(&format!(
            "{}: {}\n{}: {}\n",
            pick(lang, "What happens", "Was passiert"),
            facts.what,
            pick(lang, "Expected downtime", "Erwartete Ausfallzeit"),
            facts.downtime
        ));
    }
    description.push_str(&format!("{}: {}", pick(lang, "Status page", "Statusseite"), cx.status_url));
    calendar::Slot {
        uid: forewarn_model::ical::slot_uid(&cx.info.id, &m.id, cx.domain),
        sequence: t.slot.sequence,
        start: t.slot.start,
        end: t.slot.end,
        summary,
        description,
    }
}

/// The subject of a contact's email (known when the event is written, without rendering):
/// what `tell` says of `title`, or that no slot was found when the contact's customer has
/// only machines without one.
pub(crate) fn subject(title: &str, tell: Tell, lang: Language, no_slots: bool) -> String {
    match tell {
        Tell::Published | Tell::Changed if no_slots => {
            pick(lang, format!("No maintenance slot found: {title}"), format!("Kein Wartungstermin gefunden: {title}"))
        }
        Tell::Published => pick(lang, format!("Planned maintenance: {title}"), format!("Geplante Wartung: {title}")),
        Tell::Changed => {
            pick(lang, format!("Changed maintenance times: {title}"), format!("Geänderte Wartungstermine: {title}"))
        }
        Tell::Cancelled => pick(lang, format!("Maintenance cancelled: {title}"), format!("Wartung abgesagt: {title}")),
        Tell::Reminder => pick(lang, format!("Reminder: {title}"), format!("Erinnerung: {title}")),
    }
}

/// The email one contact of `customer` gets about `targets` (their machines in the event).
pub(crate) fn email(cx: &Context<'_>, tell: Tell, affected: &Affected<'_, '_>, contact: &Contact) -> Email {
    let (customer, targets) = (affected.customer, affected.targets.as_slice());
    let lang = contact.language;
    let zone = cx.inv.contact_zone(customer, contact);
    let spans = words::Spans::new(lang, zone);
    let title = &cx.info.title;
    let n = targets.len();
    let first = targets.iter().map(|t| t.slot.start).min().unwrap_or(cx.at);
    let zone_line = pick(
        lang,
        format!("All times are in your time zone, {}.", words::zone_words(lang, first, zone)),
        format!("Alle Zeiten in Ihrer Zeitzone, {}.", words::zone_words(lang, first, zone)),
    );
    let intro = match tell {
        Tell::Published => pick(
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
        Tell::Changed => pick(
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
        Tell::Cancelled => pick(
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
        Tell::Reminder => pick(
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
    };

    let unscheduled = &affected.unscheduled;
    let fleetlock = cx.info.fleetlock && targets.is_empty() && matches!(tell, Tell::Published | Tell::Changed);
    let intro = if fleetlock {
        let m = unscheduled.len();
        pick(
            lang,
            format!(
                "“{title}” concerns {} of {}. There are no fixed slots: each machine installs its updates as they are released and then reboots once, only inside its agreed maintenance window, outside blackouts, and never more of them at once than agreed:",
                count(lang, m),
                customer.name
            ),
            format!(
                "„{title}“ betrifft {} von {}. Es gibt keine festen Termine: Jede Maschine installiert ihre Updates, sobald sie erscheinen, und startet danach einmal neu, nur innerhalb ihres vereinbarten Wartungsfensters, außerhalb von Sperrzeiten und nie mehr Maschinen zugleich als vereinbart:",
                count(lang, m),
                customer.name
            ),
        )
    } else if targets.is_empty() && matches!(tell, Tell::Published | Tell::Changed) {
        let m = unscheduled.len();
        pick(
            lang,
            format!("“{title}” concerns {} of {}, but we found no slot for them yet:", count(lang, m), customer.name),
            format!(
                "„{title}“ betrifft {} von {}, doch wir haben noch keinen Termin für sie gefunden:",
                count(lang, m),
                customer.name
            ),
        )
    } else {
        intro
    };
    let subject = subject(title, tell, lang, targets.is_empty() && !cx.info.fleetlock);

    let mut doc = Doc::default();
    doc.para(format!("{} {},", pick(lang, "Hello", "Guten Tag"), contact.name));
    doc.para(intro);
    if !targets.is_empty() {
        doc.push(Block::Slots(targets.iter().map(|t| row(cx, lang, &spans, tell, t)).collect()));
        doc.para(zone_line);
    }
    if !unscheduled.is_empty() && matches!(tell, Tell::Published | Tell::Changed) {
        if !targets.is_empty() {
            doc.para(pick(
                lang,
                format!(
                    "We found no slot for {} within the agreed maintenance windows:",
                    count(lang, unscheduled.len())
                ),
                format!(
                    "Für {} haben wir innerhalb der vereinbarten Wartungsfenster keinen Termin gefunden:",
                    count(lang, unscheduled.len())
                ),
            ));
        }
        doc.push(Block::Slots(unscheduled.iter().map(|u| no_slot_row(cx, lang, u)).collect()));
    }
    if fleetlock {
        doc.para(pick(
            lang,
            "Every reboot is shown on our status page as it happens. Should a machine need to wait, tell us and we hold it back; reply to this message.",
            "Jeder Neustart erscheint auf unserer Statusseite, sobald er geschieht. Soll eine Maschine warten, sagen Sie es uns, und wir halten sie zurück; antworten Sie bitte auf diese Nachricht.",
        ));
    } else if !unscheduled.is_empty() && matches!(tell, Tell::Published | Tell::Changed) {
        doc.para(pick(
            lang,
            "Nothing is done to these machines in this campaign until another time is found. Our operators look for one and write to you before anything happens; should a time outside the agreed window suit you, reply to this message.",
            "An diesen Maschinen wird in dieser Kampagne nichts gemacht, bis ein anderer Termin gefunden ist. Unser Betrieb sucht einen und schreibt Ihnen, bevor etwas geschieht; passt Ihnen eine Zeit außerhalb des vereinbarten Fensters, antworten Sie bitte auf diese Nachricht.",
        ));
    }
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
    let facts = Facts { what: what_happens(cx, lang), downtime: downtime(cx, lang) };
    let cal = |method: Method, chosen: Vec<&Target<'_, '_>>| {
        let slots: Vec<calendar::Slot> = chosen.iter().map(|t| event(cx, lang, &spans, &facts, t, method)).collect();
        let organizer = Person { name: &cx.site.from_name, email: &cx.site.from_address };
        let attendee = Person { name: &contact.name, email: &contact.email };
        (method, calendar::calendar(method, cx.at, organizer, attendee, cx.status_url, &slots))
    };
    match tell {
        _ if targets.is_empty() => {}
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
    if !calendars.is_empty() {
        doc.para(calendar_note);
    }
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
