//! The plan: one slot per target or the reason there is none; its JSON file
//! format (DESIGN.md "Plan"), written and read.

use std::borrow::Cow;
use std::fmt::Write as _;

use forewarn_model::campaign::{Campaign, Scope};
use forewarn_model::fxhash::FxHashMap;
use forewarn_model::{Inventory, Window};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Why a slot starts when it does, kept compact (a million of them) and put in words on output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The first start in its windows after the notice.
    First,
    /// The first start where a limit had room; earlier starts were full.
    Limit(Resource),
    /// The first start after its project's earlier tier ended plus the tier gap.
    TierGap,
    /// Spread strategy: the start nearest its share of the range.
    Spread,
    /// A slot already published, kept when planning again (`plan_keeping`).
    Kept,
    /// A plan read back from its file ([`Plan::from_file`]): the reason as written there,
    /// by index into [`Plan::stored_reasons`].
    Stored(u32),
}

/// A limited resource: which limit, and which host, rack, customer or group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    Global,
    Host(u32),
    Rack(u32),
    Customer(u32),
    Group(u32),
}

/// One target's slot: all its activities back to back in `[start, end)`, unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Index of the machine (or host, for host campaigns) in the inventory.
    pub target: u32,
    pub start: i64,
    pub end: i64,
    pub why: Why,
    /// Index into [`Plan::windows`]: the target's windows in words.
    pub class: u32,
}

impl Slot {
    pub fn start(&self) -> Timestamp {
        Timestamp::from_second(self.start).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    pub fn end(&self) -> Timestamp {
        Timestamp::from_second(self.end).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// A target that got no slot, and why, in words a person understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unscheduled {
    pub target: u32,
    pub reason: String,
}

/// Figures about the plan's quality.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub targets: usize,
    /// When the last slot ends, if any is scheduled.
    pub completion: Option<Timestamp>,
    /// No plan that schedules every target can complete before this (see `bound.rs`).
    pub lower_bound: Option<Timestamp>,
    /// Candidate starts examined by the search.
    pub probes: u64,
}

/// The result of planning a campaign.
#[derive(Clone, Debug)]
pub struct Plan {
    pub campaign: String,
    pub scope: Scope,
    /// Sorted by start, then target.
    pub slots: Vec<Slot>,
    pub unscheduled: Vec<Unscheduled>,
    /// Things an operator should know that are not errors (e.g. a host holding two members of a group).
    pub notes: Vec<String>,
    pub stats: Stats,
    /// Each window class's windows in words, e.g. "Mon-Fri 22:00-05:00 Europe/Berlin".
    pub windows: Vec<String>,
    /// Names of racks and redundancy groups, which the inventory does not index.
    pub rack_names: Vec<String>,
    /// The reasons of a plan read back from its file ([`Why::Stored`]); empty for a plan
    /// the planner made.
    pub stored_reasons: Vec<String>,
}

impl Plan {
    /// The id of a slot's target (machine or host).
    pub fn target_id<'a>(&self, inv: &'a Inventory, target: u32) -> &'a str {
        match self.scope {
            Scope::Machines => &inv.machines[target as usize].id,
            Scope::Hosts => &inv.hosts[target as usize].id,
        }
    }

    /// A slot's reason, in words.
    pub fn reason(&self, inv: &Inventory, campaign: &Campaign, slot: &Slot) -> String {
        let mut s = String::new();
        self.write_reason(&mut s, inv, campaign, slot);
        s
    }

    fn write_reason(&self, out: &mut String, inv: &Inventory, campaign: &Campaign, slot: &Slot) {
        let windows = self.windows.get(slot.class as usize).map_or("?", String::as_str);
        let _ = match slot.why {
            Why::Kept => write!(out, "published earlier in its window {windows}, and kept"),
            Why::Stored(i) => write!(out, "{}", self.stored_reasons.get(i as usize).map_or("", String::as_str)),
            Why::First => write!(out, "first start in its window {windows} after the {} notice", campaign.notice),
            Why::Spread => write!(out, "start nearest its turn in the spread roll-out, in its window {windows}"),
            Why::TierGap => write!(
                out,
                "first start in its window {windows} at least {} after the earlier tier of its project ended",
                campaign.tier_gap
            ),
            Why::Limit(r) => {
                write!(
                    out,
                    "first start in its window {windows} where {} had room",
                    self.resource_words(inv, campaign, r)
                )
            }
        };
    }

    /// A resource in words, e.g. "host kvm0001 (per_host 4)".
    pub fn resource_words(&self, inv: &Inventory, campaign: &Campaign, r: Resource) -> String {
        let l = &campaign.limits;
        let n = |v: Option<u32>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        match r {
            Resource::Global => format!("the campaign (global {})", n(l.global)),
            Resource::Host(h) => format!("host {} (per_host {})", inv.hosts[h as usize].id, n(l.per_host)),
            Resource::Rack(r) => {
                format!(
                    "rack {} (per_rack {})",
                    self.rack_names.get(r as usize).map_or("?", String::as_str),
                    n(l.per_rack)
                )
            }
            Resource::Customer(c) => {
                format!("customer {} (per_customer {})", inv.customers[c as usize].id, n(l.per_customer))
            }
            Resource::Group(g) => format!(
                "redundancy group {} (per_group {})",
                inv.groups.get(g as usize).map_or("?", String::as_str),
                campaign.per_group()
            ),
        }
    }

    /// The plan file (DESIGN.md "Plan") as JSON. Slots are formatted on two threads.
    pub fn write_json<W: std::io::Write>(&self, mut w: W, inv: &Inventory, campaign: &Campaign) -> std::io::Result<()> {
        let mut head = String::from("{\"campaign\":");
        push_json_str(&mut head, &self.campaign);
        head.push_str(",\"slots\":[");
        w.write_all(head.as_bytes())?;
        let kinds: Vec<&str> = campaign.activities.iter().map(|a| a.kind.as_str()).collect();
        let mut activities = String::new();
        push_json(&mut activities, &kinds);
        self.slots_pipelined(&mut w, inv, campaign, &activities)?;
        let mut tail = String::from("],\"unscheduled\":[");
        let key = target_key(self.scope);
        for (i, u) in self.unscheduled.iter().enumerate() {
            if i > 0 {
                tail.push(',');
            }
            tail.push_str("{\"");
            tail.push_str(key);
            tail.push_str("\":");
            push_json_str(&mut tail, self.target_id(inv, u.target));
            tail.push_str(",\"reason\":");
            push_json_str(&mut tail, &u.reason);
            tail.push('}');
        }
        tail.push(']');
        if !self.notes.is_empty() {
            tail.push_str(",\"notes\":");
            push_json(&mut tail, &self.notes);
        }
        tail.push('}');
        w.write_all(tail.as_bytes())
    }

    /// Writes every slot, comma-separated. The slots are cut into chunks that both cores format;
    /// this thread writes them in order as they are ready, and formats one itself whenever the
    /// next is not, so writing overlaps formatting and only the last chunk's write is left.
    fn slots_pipelined<W: std::io::Write>(
        &self,
        w: &mut W,
        inv: &Inventory,
        campaign: &Campaign,
        activities: &str,
    ) -> std::io::Result<()> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        const CHUNKS: usize = 32;
        let chunks: Vec<&[Slot]> = self.slots.chunks(self.slots.len().div_ceil(CHUNKS).max(1)).collect();
        let claimed = AtomicUsize::new(0);
        let format = |i: usize| -> Vec<u8> {
            let mut buf = Vec::with_capacity(chunks[i].len() * 256);
            // Writing into memory cannot fail.
            let _ = self.slots_json(&mut buf, chunks[i], inv, campaign, activities, i > 0);
            buf
        };
        std::thread::scope(|s| {
            let (done, ready) = std::sync::mpsc::channel();
            if chunks.len() > 1 {
                let (claimed, format, n) = (&claimed, &format, chunks.len());
                s.spawn(move || {
                    loop {
                        let i = claimed.fetch_add(1, Ordering::Relaxed);
                        if i >= n || done.send((i, format(i))).is_err() {
                            break;
                        }
                    }
                });
            } else {
                drop(done);
            }
            let mut waiting: std::collections::BTreeMap<usize, Vec<u8>> = std::collections::BTreeMap::new();
            for next in 0..chunks.len() {
                loop {
                    waiting.extend(ready.try_iter());
                    if let Some(buf) = waiting.remove(&next) {
                        w.write_all(&buf)?;
                        break;
                    }
                    let i = claimed.fetch_add(1, Ordering::Relaxed);
                    if i < chunks.len() {
                        waiting.insert(i, format(i));
                    } else if let Ok((i, buf)) = ready.recv() {
                        waiting.insert(i, buf);
                    } else {
                        return Err(std::io::Error::other("the slot formatting thread failed"));
                    }
                }
            }
            Ok(())
        })
    }

    /// Writes slots as JSON objects, comma-separated (`lead`: with a comma before the first).
    fn slots_json<W: std::io::Write>(
        &self,
        w: &mut W,
        slots: &[Slot],
        inv: &Inventory,
        campaign: &Campaign,
        activities: &str,
        lead: bool,
    ) -> std::io::Result<()> {
        let key = target_key(self.scope);
        let mut out = String::with_capacity(1 << 20);
        // Reasons repeat per window class (and per limit): render and escape each once.
        let mut fixed: Vec<[Option<String>; 4]> = vec![Default::default(); self.windows.len()];
        let mut words: FxHashMap<Resource, String> = FxHashMap::default();
        for (i, slot) in slots.iter().enumerate() {
            if out.len() > (1 << 20) - 1024 {
                w.write_all(out.as_bytes())?;
                out.clear();
            }
            if i > 0 || lead {
                out.push(',');
            }
            out.push_str("{\"");
            out.push_str(key);
            out.push_str("\":");
            push_json_str(&mut out, self.target_id(inv, slot.target));
            out.push_str(",\"activities\":");
            out.push_str(activities);
            out.push_str(",\"start\":\"");
            write_rfc3339(&mut out, slot.start);
            out.push_str("\",\"end\":\"");
            write_rfc3339(&mut out, slot.end);
            out.push_str("\",\"reason\":");
            let class = slot.class as usize;
            let k = match slot.why {
                Why::First => 0,
                Why::Spread => 1,
                Why::TierGap => 2,
                Why::Kept => 3,
                Why::Stored(i) => {
                    push_json_str(&mut out, self.stored_reasons.get(i as usize).map_or("", String::as_str));
                    out.push('}');
                    continue;
                }
                Why::Limit(r) => {
                    let windows = self.windows.get(class).map_or("?", String::as_str);
                    let words = words.entry(r).or_insert_with(|| self.resource_words(inv, campaign, r));
                    let mut text = String::with_capacity(windows.len() + words.len() + 48);
                    text.push_str("first start in its window ");
                    text.push_str(windows);
                    text.push_str(" where ");
                    text.push_str(words);
                    text.push_str(" had room");
                    push_json_str(&mut out, &text);
                    out.push('}');
                    continue;
                }
            };
            match fixed.get_mut(class) {
                Some(cached) => {
                    let text = cached[k].get_or_insert_with(|| {
                        let mut t = String::new();
                        push_json_str(&mut t, &self.reason(inv, campaign, slot));
                        t
                    });
                    out.push_str(text);
                }
                None => push_json_str(&mut out, &self.reason(inv, campaign, slot)),
            }
            out.push('}');
        }
        w.write_all(out.as_bytes())
    }
}

/// Appends `s` as a JSON string; plain ASCII (ids, most reasons) is copied as it is.
fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        push_json(out, s);
    }
}

fn push_json<T: Serialize + ?Sized>(out: &mut String, v: &T) {
    // Serializing strings and lists of strings cannot fail.
    out.push_str(&serde_json::to_string(v).unwrap_or_default());
}

/// A target's windows in words, e.g. "Mon-Fri 22:00-05:00 Europe/Berlin".
pub fn windows_text(inv: &Inventory, scope: Scope, target: u32) -> String {
    let (windows, zone): (&[Window], _) = match scope {
        Scope::Machines => {
            let m = &inv.machines[target as usize];
            (inv.machine_windows(m).1, inv.zone_for(inv.customer_of(m)))
        }
        Scope::Hosts => (inv.host_windows(&inv.hosts[target as usize]).1, &inv.platform.zone),
    };
    forewarn_model::window::describe(windows, zone)
}

fn target_key(scope: Scope) -> &'static str {
    match scope {
        Scope::Machines => "machine",
        Scope::Hosts => "host",
    }
}

/// Unix seconds as RFC 3339 in UTC, `2027-03-01T22:00:00Z`; fast, for a million slots.
pub fn write_rfc3339(out: &mut String, unix: i64) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    if !(0..=9999).contains(&y) {
        let _ = write!(out, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3_600, secs / 60 % 60, secs % 60);
        return;
    }
    // Digits by hand: two million timestamps through `write!` cost more than the planning.
    let two = |v: i64| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
    let (h, mi, se) = (secs / 3_600, secs / 60 % 60, secs % 60);
    let mut b = [0u8; 20];
    b[..2].copy_from_slice(&two(y / 100));
    b[2..4].copy_from_slice(&two(y % 100));
    b[4] = b'-';
    b[5..7].copy_from_slice(&two(m));
    b[7] = b'-';
    b[8..10].copy_from_slice(&two(d));
    b[10] = b'T';
    b[11..13].copy_from_slice(&two(h));
    b[13] = b':';
    b[14..16].copy_from_slice(&two(mi));
    b[16] = b':';
    b[17..19].copy_from_slice(&two(se));
    b[19] = b'Z';
    out.push_str(std::str::from_utf8(&b).unwrap_or_default());
}

// ---------------------------------------------------------------------------
// Reading plan files.

/// A string read from a plan file: borrowed from the text unless the JSON had escapes,
/// so that reading a million slots does not allocate six million strings.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text(Cow::Borrowed(s))
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// A plan file as read back: ids and times as written. Unknown fields are allowed.
#[derive(Clone, Debug, Deserialize)]
pub struct PlanFile<'a> {
    #[serde(default, borrow)]
    pub campaign: Text<'a>,
    #[serde(default, borrow)]
    pub slots: Vec<SlotEntry<'a>>,
    #[serde(default, borrow)]
    pub unscheduled: Vec<UnscheduledEntry<'a>>,
    #[serde(default, borrow)]
    pub notes: Vec<Text<'a>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SlotEntry<'a> {
    #[serde(default, borrow)]
    pub machine: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub host: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub activities: Vec<Text<'a>>,
    #[serde(borrow)]
    pub start: Text<'a>,
    #[serde(borrow)]
    pub end: Text<'a>,
    #[serde(default, borrow)]
    pub reason: Text<'a>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct UnscheduledEntry<'a> {
    #[serde(default, borrow)]
    pub machine: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub host: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub reason: Text<'a>,
}

impl Plan {
    /// A stored plan file read back into a plan of `campaign` against the inventory it was
    /// made from, so that everything drawn or told of a stored plan version (the
    /// announcement, the picture, the table) is drawn from what was stored, never from a
    /// fresh run of the planner. Reasons are kept as written ([`Why::Stored`]); slots are
    /// sorted by start, then target. An unknown target or an unreadable time is an error
    /// naming it.
    pub fn from_file(file: &PlanFile<'_>, inv: &Inventory, campaign: &Campaign) -> Result<Plan, String> {
        let mut reader = Reader::new(inv, campaign, |_: &str, _, _| {});
        for entry in &file.slots {
            reader.slot(entry)?;
        }
        reader.finish(&file.unscheduled, &file.notes)
    }

    /// [`Plan::from_file`] straight from the file's text, one slot entry at a time: no entry
    /// is kept once read (a million of them parsed whole take more memory than the text),
    /// and each slot is handed to `each` as written (target id, start, end) as it is read.
    /// Gives the plan and the file's entries without a slot.
    pub fn read_stored<'t>(
        text: &'t str,
        inv: &Inventory,
        campaign: &Campaign,
        each: impl FnMut(&str, Timestamp, Timestamp),
    ) -> Result<(Plan, Vec<UnscheduledEntry<'t>>), String> {
        use serde::de::DeserializeSeed;
        // The targets are looked up on a second thread, in batches, while this one parses:
        // at a million slots each half takes about a second.
        std::thread::scope(|scope| {
            let (to, batches) = std::sync::mpsc::sync_channel::<Vec<Pending<'t>>>(8);
            let finder = scope.spawn(move || -> Result<Vec<Slot>, String> {
                let mut slots = Vec::new();
                for batch in batches {
                    for p in batch {
                        let target = position(inv, campaign, p.target.as_deref())?;
                        slots.push(Slot { target, start: p.start, end: p.end, why: Why::Stored(p.why), class: 0 });
                    }
                }
                Ok(slots)
            });
            let mut reader = Reader::new(inv, campaign, each);
            reader.finder = Some(Finder { batch: Vec::with_capacity(Finder::BATCH), to });
            let parsed = (|| {
                let mut de = serde_json::Deserializer::from_str(text);
                let rest = Top { reader: &mut reader }.deserialize(&mut de).map_err(|e| e.to_string())?;
                de.end().map_err(|e| e.to_string())?;
                Ok::<_, String>(rest)
            })();
            if let Some(finder) = reader.finder.take() {
                // The last batch; then the channel closes and the finder ends.
                let _ = finder.to.send(finder.batch);
            }
            let found = finder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // The first error in the file's order: the finder has seen every entry before
            // the one the parser stopped at.
            reader.slots = found?;
            let rest = parsed?;
            let plan = reader.finish(&rest.unscheduled, &rest.notes)?;
            Ok((plan, rest.unscheduled))
        })
    }
}

/// Where target `id` is in the inventory (a machine, or a host in a host campaign).
fn position(inv: &Inventory, campaign: &Campaign, id: Option<&str>) -> Result<u32, String> {
    let what = if campaign.scope == Scope::Hosts { "host" } else { "machine" };
    let id = id.ok_or_else(|| format!("an entry of the plan of `{}` names no {what}", campaign.id))?;
    let found = match campaign.scope {
        Scope::Machines => inv.machine_position(id),
        Scope::Hosts => inv.host_position(id),
    };
    found.map(|i| i as u32).ok_or_else(|| format!("the plan names {what} `{id}`, which its inventory lacks"))
}

/// A slot read whose target is yet to be looked up ([`Plan::read_stored`]).
struct Pending<'t> {
    /// `None` when the entry names no target.
    target: Option<Cow<'t, str>>,
    start: i64,
    end: i64,
    why: u32,
}

/// Where a reader sends its slots to have their targets looked up.
struct Finder<'t> {
    batch: Vec<Pending<'t>>,
    to: std::sync::mpsc::SyncSender<Vec<Pending<'t>>>,
}

impl Finder<'_> {
    /// Slots a batch carries (few in tests, so that they cross many batches).
    const BATCH: usize = if cfg!(test) { 64 } else { 4096 };
}

/// Reads a stored plan file's entries into a [`Plan`], one at a time (for
/// [`Plan::from_file`] and [`Plan::read_stored`]).
struct Reader<'i, 't, F> {
    campaign: &'i Campaign,
    inv: &'i Inventory,
    /// Each distinct reason once, by its text: slots in one window share theirs.
    reason_index: FxHashMap<String, u32>,
    stored_reasons: Vec<String>,
    slots: Vec<Slot>,
    each: F,
    /// Where targets are looked up when not here, one by one.
    finder: Option<Finder<'t>>,
}

impl<'i, 't, F: FnMut(&str, Timestamp, Timestamp)> Reader<'i, 't, F> {
    fn new(inv: &'i Inventory, campaign: &'i Campaign, each: F) -> Self {
        Reader {
            campaign,
            inv,
            reason_index: FxHashMap::default(),
            stored_reasons: Vec::new(),
            slots: Vec::new(),
            each,
            finder: None,
        }
    }

    fn index(&self, id: Option<&str>) -> Result<u32, String> {
        position(self.inv, self.campaign, id)
    }

    fn slot(&mut self, entry: &SlotEntry<'t>) -> Result<(), String> {
        // With a finder, the target goes there first: an entry with an unknown target and
        // an unreadable time is refused for its target, as it is without one.
        let target = match &mut self.finder {
            None => Some(self.index(entry.target())?),
            Some(finder) => {
                let text = entry.machine.as_ref().or(entry.host.as_ref()).map(|t| match &t.0 {
                    Cow::Borrowed(s) => Cow::Borrowed(*s),
                    Cow::Owned(s) => Cow::Owned(s.clone()),
                });
                finder.batch.push(Pending { target: text, start: 0, end: 0, why: 0 });
                None
            }
        };
        let id = entry.target().unwrap_or_default();
        let time = |text: &str| -> Result<Timestamp, String> {
            text.parse::<Timestamp>().map_err(|e| format!("the slot of `{id}` has an unreadable time `{text}`: {e}"))
        };
        let (start, end) = (time(&entry.start)?, time(&entry.end)?);
        (self.each)(id, start, end);
        let reason: &str = &entry.reason;
        let why = match self.reason_index.get(reason) {
            Some(&i) => i,
            None => {
                self.stored_reasons.push(reason.to_owned());
                let i = self.stored_reasons.len() as u32 - 1;
                self.reason_index.insert(reason.to_owned(), i);
                i
            }
        };
        let (start, end) = (start.as_second(), end.as_second());
        match &mut self.finder {
            None => {
                let target = target.expect("looked up here without a finder");
                self.slots.push(Slot { target, start, end, why: Why::Stored(why), class: 0 });
            }
            Some(finder) => {
                if let Some(last) = finder.batch.last_mut() {
                    (last.start, last.end, last.why) = (start, end, why);
                }
                if finder.batch.len() >= Finder::BATCH {
                    let batch = std::mem::replace(&mut finder.batch, Vec::with_capacity(Finder::BATCH));
                    // The finder stopped at an unknown target: that is the error to give.
                    finder.to.send(batch).map_err(|_| "the plan names an unknown target".to_owned())?;
                }
            }
        }
        Ok(())
    }

    fn finish(self, unscheduled: &[UnscheduledEntry<'_>], notes: &[Text<'_>]) -> Result<Plan, String> {
        let unscheduled = unscheduled
            .iter()
            .map(|u| Ok(Unscheduled { target: self.index(u.target())?, reason: u.reason.to_string() }))
            .collect::<Result<Vec<_>, String>>()?;
        let mut slots = self.slots;
        slots.sort_unstable_by_key(|s| (s.start, s.target));
        let completion = slots.iter().map(|s| s.end).max().and_then(|e| Timestamp::from_second(e).ok());
        Ok(Plan {
            campaign: self.campaign.id.clone(),
            scope: self.campaign.scope,
            stats: Stats { targets: slots.len() + unscheduled.len(), completion, lower_bound: None, probes: 0 },
            slots,
            unscheduled,
            notes: notes.iter().map(|n| n.to_string()).collect(),
            windows: Vec::new(),
            rack_names: Vec::new(),
            stored_reasons: self.stored_reasons,
        })
    }
}

/// The top of a plan file read by [`Plan::read_stored`]: its slots go to the reader as
/// they are read, the rest is kept.
struct Top<'r, 'i, 't, F> {
    reader: &'r mut Reader<'i, 't, F>,
}

/// What [`Top`] keeps of a plan file.
struct Rest<'t> {
    unscheduled: Vec<UnscheduledEntry<'t>>,
    notes: Vec<Text<'t>>,
}

impl<'de, F: FnMut(&str, Timestamp, Timestamp)> serde::de::DeserializeSeed<'de> for Top<'_, '_, 'de, F> {
    type Value = Rest<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Rest<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(&str, Timestamp, Timestamp)> serde::de::Visitor<'de> for Top<'_, '_, 'de, F> {
    type Value = Rest<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a plan file (a JSON object)")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Rest<'de>, A::Error> {
        use serde::de::Error as _;
        let mut rest = Rest { unscheduled: Vec::new(), notes: Vec::new() };
        let mut slots_read = false;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match &*key {
                "slots" if slots_read => return Err(A::Error::duplicate_field("slots")),
                "slots" => {
                    map.next_value_seed(Slots { reader: &mut *self.reader })?;
                    slots_read = true;
                }
                "unscheduled" => rest.unscheduled = map.next_value()?,
                "notes" => rest.notes = map.next_value()?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(rest)
    }
}

/// A plan file's `slots`, each entry handed to the reader as it is read.
struct Slots<'r, 'i, 't, F> {
    reader: &'r mut Reader<'i, 't, F>,
}

impl<'de, F: FnMut(&str, Timestamp, Timestamp)> serde::de::DeserializeSeed<'de> for Slots<'_, '_, 'de, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(&str, Timestamp, Timestamp)> serde::de::Visitor<'de> for Slots<'_, '_, 'de, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of slots")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        while let Some(entry) = seq.next_element::<SlotEntry<'de>>()? {
            self.reader.slot(&entry).map_err(A::Error::custom)?;
        }
        Ok(())
    }
}

impl SlotEntry<'_> {
    /// The target's id, whichever key holds it.
    pub fn target(&self) -> Option<&str> {
        self.machine.as_deref().or(self.host.as_deref())
    }
}

impl UnscheduledEntry<'_> {
    pub fn target(&self) -> Option<&str> {
        self.machine.as_deref().or(self.host.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored plan read as a stream is the plan read whole, and every slot is handed over
    /// as written; a broken file is refused with the entry it names.
    #[test]
    fn a_plan_read_as_a_stream_is_the_plan_read_whole() {
        use forewarn_model::fleet::{FleetConfig, generate};
        let fleet = generate(&FleetConfig {
            machines: 3000,
            seed: 7,
            campaign_start: jiff::civil::date(2027, 3, 1),
            customer_machines: None,
        });
        let inv = forewarn_model::parse_inventory("inventory.json", &serde_json::to_string(&fleet.inventory).unwrap())
            .unwrap();
        let c = forewarn_model::parse_campaign("campaign.json", &serde_json::to_string(&fleet.campaign).unwrap(), &inv)
            .unwrap();
        let planned = crate::plan(&inv, &c);
        let mut buf = Vec::new();
        planned.write_json(&mut buf, &inv, &c).unwrap();
        // And a target without a slot, with a reason that needs escapes, and notes.
        let last = inv.machines.last().unwrap().id.as_str();
        let text = String::from_utf8(buf).unwrap().replacen(
            "\"unscheduled\":[]",
            &format!("\"unscheduled\":[{{\"machine\":\"{last}\",\"reason\":\"no \\\"room\\\"\"}}],\"notes\":[\"n\"]"),
            1,
        );
        let file: PlanFile = serde_json::from_str(&text).unwrap();
        assert!(
            file.slots.len() > 2000 && !file.unscheduled.is_empty(),
            "{} {}",
            file.slots.len(),
            file.unscheduled.len()
        );
        let whole = Plan::from_file(&file, &inv, &c).unwrap();

        let mut handed = Vec::new();
        let (streamed, unscheduled) =
            Plan::read_stored(&text, &inv, &c, |t, s, e| handed.push((t.to_owned(), s, e))).unwrap();
        assert_eq!(streamed.slots, whole.slots);
        assert_eq!(streamed.unscheduled, whole.unscheduled);
        assert_eq!(streamed.stored_reasons, whole.stored_reasons);
        assert_eq!(streamed.notes, whole.notes);
        assert!(streamed.stored_reasons.len() < file.slots.len() / 4, "{}", streamed.stored_reasons.len());
        // Each slot keeps its own reason, shared or not.
        let written: std::collections::HashMap<&str, &str> =
            file.slots.iter().map(|e| (e.target().unwrap(), &*e.reason)).collect();
        for slot in &streamed.slots {
            let id = inv.machines[slot.target as usize].id.as_str();
            assert_eq!(streamed.reason(&inv, &c, slot), written[id], "{id}");
        }
        let written: Vec<(String, Timestamp, Timestamp)> = file
            .slots
            .iter()
            .map(|e| (e.target().unwrap().to_owned(), e.start.parse().unwrap(), e.end.parse().unwrap()))
            .collect();
        assert_eq!(handed, written);
        assert_eq!(unscheduled.len(), file.unscheduled.len());

        // Broken files: the entry named, nothing half-read given back.
        let unknown = text.replacen(file.slots[5].target().unwrap(), "nobody-here", 1);
        let err = Plan::read_stored(&unknown, &inv, &c, |_, _, _| {}).unwrap_err();
        assert!(err.contains("`nobody-here`, which its inventory lacks"), "{err}");
        let time = text.replacen(&*file.slots[3].start, "2027-13-01T00:00:00Z", 1);
        let err = Plan::read_stored(&time, &inv, &c, |_, _, _| {}).unwrap_err();
        assert!(err.contains("unreadable time `2027-13-01T00:00:00Z`"), "{err}");
        let twice = format!("{{\"slots\": [], {}", &text.trim_start()[1..]);
        let err = Plan::read_stored(&twice, &inv, &c, |_, _, _| {}).unwrap_err();
        assert!(err.contains("duplicate field `slots`"), "{err}");
        let err = Plan::read_stored(&format!("{text} {{}}"), &inv, &c, |_, _, _| {}).unwrap_err();
        assert!(err.contains("trailing characters"), "{err}");
        // Targets are looked up beside the parse, in batches: still the first bad entry of
        // the file is the one named, whichever its fault.
        // Entry `i` with its target and, or, its start made bad.
        let spoil = |text: &str, i: usize, target: Option<&str>, start: Option<&str>| -> String {
            let id = file.slots[i].target().unwrap();
            let at = text.find(&format!("\"machine\":\"{id}\"")).unwrap();
            let (head, entry) = text.split_at(at);
            let mut entry = entry.to_owned();
            if let Some(start) = start {
                entry = entry.replacen(
                    &format!("\"start\":\"{}\"", file.slots[i].start.0),
                    &format!("\"start\":\"{start}\""),
                    1,
                );
            }
            if let Some(target) = target {
                entry = entry.replacen(&format!("\"{id}\""), &format!("\"{target}\""), 1);
            }
            format!("{head}{entry}")
        };
        let unknown_first = spoil(&spoil(&text, 2500, None, Some("soon")), 150, Some("nobody-early"), None);
        let err = Plan::read_stored(&unknown_first, &inv, &c, |_, _, _| {}).unwrap_err();
        assert!(err.contains("`nobody-early`, which its inventory lacks"), "{err}");
        let time_first = spoil(&spoil(&text, 2500, Some("nobody-late"), None), 150, None, Some("soon"));
        let err = Plan::read_stored(&time_first, &inv, &c, |_, _, _| {}).unwrap_err();
        assert!(err.contains("unreadable time `soon`"), "{err}");
        let both = spoil(&text, 2500, Some("nobody-late"), Some("soon"));
        let err = Plan::read_stored(&both, &inv, &c, |_, _, _| {}).unwrap_err();
        assert!(err.contains("`nobody-late`, which its inventory lacks"), "{err}");
    }

    #[test]
    fn rfc3339_matches_jiff() {
        for t in [0i64, 951_782_400, 1_709_251_199, 1_798_761_600, 4_102_444_800, -86_400, 1_234_567_890] {
            let mut s = String::new();
            write_rfc3339(&mut s, t);
            assert_eq!(s, Timestamp::from_second(t).unwrap().to_string(), "{t}");
        }
    }
}
