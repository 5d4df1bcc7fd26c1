//! Maintenance windows: the `DAYS HH:MM-HH:MM [ZONE]` grammar and its exact expansion into instants.
//!
//! A window such as `Mon-Fri 22:00-05:00 Europe/Berlin` is read in wall-clock
//! time. The occurrence for a local date `d` whose weekday is listed is the
//! stretch from the first instant whose local time reaches `d + start` to the
//! last instant whose local time is before `d + end` (`end` falls on `d + 1`
//! when the window wraps past midnight; `24:00` is `d + 1 00:00`). So:
//!
//! * a start or end inside a skipped hour (the clocks jump forward) resolves
//!   to the instant of the jump, which shrinks the window or makes it vanish;
//! * inside a repeated hour (the clocks go back) the start takes the earlier
//!   and the end the later instant, which grows the window. The one exception
//!   follows from the definition: an end exactly at the first repeated local
//!   time (e.g. `01:00` when 01:00–02:00 repeats) takes the earlier instant,
//!   because no instant of the second pass is before it;
//! * an occurrence whose end is not after its start does not occur.
//!
//! Nothing is approximated with fixed offsets: every resolution goes through
//! the zone's rules in the time zone database in use (`tz.rs`: jiff's bundled one, or
//! a TZif directory the binary installed).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// Minutes in a (wall-clock) day.
const DAY_MINUTES: u16 = 1440;

/// Three-letter day names, Monday first (the index is the bit in [`DaySet`]).
const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The grammar, as shown in error messages.
const GRAMMAR: &str = "expected `DAYS HH:MM-HH:MM [ZONE]`, e.g. `Mon-Fri 22:00-05:00 Europe/Berlin`";

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// What is wrong with a window or a time zone name.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum WindowError {
    /// Nothing but whitespace.
    #[error("empty window: {GRAMMAR}")]
    Empty,
    /// The text does not have the shape `DAYS HH:MM-HH:MM [ZONE]`.
    #[error("window `{input}` is malformed: {GRAMMAR}")]
    Format { input: String },
    /// The window starts with its time range.
    #[error("window `{input}` has no days: put them first, e.g. `Mon-Fri {input}`")]
    MissingDays { input: String },
    /// Something follows the zone.
    #[error("unexpected `{extra}` after the time zone: {GRAMMAR}")]
    TrailingText { extra: String },
    /// The day list was written with spaces (`Mon, Tue`).
    #[error("day list `{found}` contains spaces: write it without spaces, as `{fixed}`")]
    SpacedDays { found: String, fixed: String },
    /// The time range was written with spaces (`10:00 - 12:00`).
    #[error("time range `{found}` contains spaces: write it without spaces, as `{fixed}`")]
    SpacedTimes { found: String, fixed: String },
    /// `Mon,,Tue` or a trailing comma.
    #[error("day list `{list}` has an empty entry: separate days with single commas, e.g. `Mon,Wed,Fri`")]
    EmptyDay { list: String },
    /// Not one of `Mon`..`Sun`.
    #[error("unknown day `{found}`: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun{}", day_hint(.found))]
    UnknownDay { found: String },
    /// `Mon-` or `Mon-Tue-Wed`.
    #[error("day range `{found}` is malformed: write the first and last day joined by `-`, e.g. `Mon-Fri`")]
    BadDayRange { found: String },
    /// `Mon-Mon`.
    #[error("day range `{range}` starts and ends on the same day: write `{day}` alone, or `Mon-Sun` for every day")]
    SameDayRange { range: String, day: String },
    /// The time range is not two times joined by `-`.
    #[error("time range `{found}` is malformed: write the start and end joined by `-`, e.g. `22:00-05:00`")]
    BadRange { found: String },
    /// A time that is not `HH:MM`.
    #[error("time `{found}` is not HH:MM: write two-digit hours and minutes, e.g. `09:00`")]
    BadTime { found: String },
    /// `25:00`, `12:60`, `24:30`.
    #[error("time `{found}` is out of range: expected HH:MM from 00:00 to 23:59 (24:00 only as an end)")]
    TimeOutOfRange { found: String },
    /// `24:00` as a start.
    #[error("a window cannot start at `24:00`: start it at `00:00` and list the next day instead")]
    StartAt24,
    /// Start equals end.
    #[error("empty window `{range}`: start and end are equal; for a whole day write 00:00-24:00")]
    EmptyWindow { range: String },
    /// Not a name in the time zone database.
    #[error("unknown time zone `{name}`: expected an IANA name like Europe/Berlin or UTC")]
    UnknownZone { name: String },
}

/// For `Monday`, `tues` and the like: which three-letter name was meant.
fn day_hint(found: &str) -> String {
    let meant = found
        .get(..3)
        .filter(|_| found.len() > 3 && found.chars().all(|c| c.is_ascii_alphabetic()))
        .and_then(day_index);
    match meant {
        Some(i) => format!(" (write `{}`)", DAY_NAMES[i]),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------
// Days
// ---------------------------------------------------------------------------

/// Days of the week as a bitmask, Monday = bit 0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DaySet(u8);

impl DaySet {
    /// No day.
    pub const EMPTY: DaySet = DaySet(0);
    /// Every day, Monday to Sunday.
    pub const ALL: DaySet = DaySet(0x7f);

    /// The set with these bits (Monday = bit 0); bits above Sunday are ignored.
    pub const fn from_bits(bits: u8) -> DaySet {
        DaySet(bits & 0x7f)
    }

    /// The set holding only `wd`.
    pub fn single(wd: Weekday) -> DaySet {
        DaySet(bit(wd))
    }

    /// This set with `wd` added.
    #[must_use]
    pub fn with(self, wd: Weekday) -> DaySet {
        DaySet(self.0 | bit(wd))
    }

    /// Whether `wd` is in the set.
    pub fn contains(self, wd: Weekday) -> bool {
        self.0 & bit(wd) != 0
    }

    /// Whether the set has no day.
    pub fn is_empty(self) -> bool {
        self.0 & 0x7f == 0
    }

    /// The bitmask, Monday = bit 0.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// The days in the set, Monday first.
    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        (0..7i8).filter(move |i| self.0 & (1 << i) != 0).filter_map(|i| Weekday::from_monday_zero_offset(i).ok())
    }
}

fn bit(wd: Weekday) -> u8 {
    1u8 << wd.to_monday_zero_offset()
}

/// Index (Monday = 0) of a three-letter day name, any case.
fn day_index(s: &str) -> Option<usize> {
    DAY_NAMES.iter().position(|n| n.eq_ignore_ascii_case(s))
}

fn parse_day(s: &str) -> Result<usize, WindowError> {
    day_index(s).ok_or_else(|| WindowError::UnknownDay { found: s.to_owned() })
}

impl FromStr for DaySet {
    type Err = WindowError;

    /// Parses a day list such as `Mon-Fri`, `Sat,Sun` or `Fri-Mon` (wrapping).
    fn from_str(list: &str) -> Result<DaySet, WindowError> {
        let mut bits = 0u8;
        for item in list.split(',') {
            if item.is_empty() {
                return Err(WindowError::EmptyDay { list: list.to_owned() });
            }
            match item.split_once('-') {
                None => bits |= 1 << parse_day(item)?,
                Some((a, b)) => {
                    if a.is_empty() || b.is_empty() || b.contains('-') {
                        return Err(WindowError::BadDayRange { found: item.to_owned() });
                    }
                    let (first, last) = (parse_day(a)?, parse_day(b)?);
                    if first == last {
                        return Err(WindowError::SameDayRange {
                            range: item.to_owned(),
                            day: DAY_NAMES[first].to_owned(),
                        });
                    }
                    let mut i = first;
                    loop {
                        bits |= 1 << i;
                        if i == last {
                            break;
                        }
                        i = (i + 1) % 7;
                    }
                }
            }
        }
        Ok(DaySet(bits))
    }
}

impl fmt::Display for DaySet {
    /// Canonical form: runs of three or more days as ranges (`Mon-Fri`,
    /// wrapping ones too: `Fri-Mon`), others as a comma list (`Sat,Sun`).
    /// The empty set displays as nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let has = |i: usize| self.0 & (1 << (i % 7)) != 0;
        if *self == DaySet::ALL {
            return f.write_str("Mon-Sun");
        }
        // Begin at Monday, unless a run wraps from Sunday into Monday: then at
        // that run's first day, so it is written as one range.
        let mut begin = 0;
        if has(0) && has(6) {
            begin = 6;
            while begin > 0 && has(begin + 6) {
                begin -= 1;
            }
        }
        let mut first = true;
        let mut i = 0;
        while i < 7 {
            if !has(begin + i) {
                i += 1;
                continue;
            }
            let mut len = 1;
            while i + len < 7 && has(begin + i + len) {
                len += 1;
            }
            let names = (i..i + len).map(|j| DAY_NAMES[(begin + j) % 7]);
            let sep = if first { "" } else { "," };
            first = false;
            if len >= 3 {
                let a = DAY_NAMES[(begin + i) % 7];
                let b = DAY_NAMES[(begin + i + len - 1) % 7];
                write!(f, "{sep}{a}-{b}")?;
            } else {
                f.write_str(sep)?;
                for (k, n) in names.enumerate() {
                    if k > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(n)?;
                }
            }
            i += len;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Zones
// ---------------------------------------------------------------------------

/// An IANA time zone that keeps its name.
///
/// Equality and hashing go by the (canonical) name.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// Looks a zone up in the database in use ([`crate::tz::db`]: the bundled one unless the
    /// binary installed another), any case (`europe/berlin` gives `Europe/Berlin`).
    pub fn get(name: &str) -> Result<Zone, WindowError> {
        let unknown = || WindowError::UnknownZone { name: name.to_owned() };
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(unknown());
        }
        let tz = crate::tz::db().get(name).ok_or_else(unknown)?;
        let canonical = tz.iana_name().unwrap_or(name).to_owned();
        Ok(Zone { name: canonical, tz })
    }

    /// A zone from rules at hand rather than the database in use: e.g. to see what a
    /// campaign looks like under another database's rules.
    pub fn from_tz(name: &str, tz: TimeZone) -> Zone {
        Zone { name: name.to_owned(), tz }
    }

    /// Coordinated Universal Time.
    pub fn utc() -> Zone {
        Zone { name: "UTC".to_owned(), tz: TimeZone::UTC }
    }

    /// The IANA name, e.g. `Europe/Berlin`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's rules.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Hash for Zone {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl FromStr for Zone {
    type Err = WindowError;
    fn from_str(s: &str) -> Result<Zone, WindowError> {
        Zone::get(s)
    }
}

impl serde::Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl<'de> serde::Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Zone, D::Error> {
        let s = String::deserialize(d)?;
        Zone::get(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------

/// A recurring maintenance window, e.g. `Mon-Fri 22:00-05:00 Europe/Berlin`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// The local dates on which an occurrence starts.
    pub days: DaySet,
    /// minutes after local midnight, 0..1440
    pub start: u16,
    /// minutes after local midnight, 1..=1440; <= start means it wraps to the next day
    pub end: u16,
    /// The zone the window is read in; `None`: the caller's default.
    pub zone: Option<Zone>,
}

/// One occurrence of a window: the instants in `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Occurrence {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Occurrence {
    /// How long it lasts.
    pub fn duration(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }

    /// Whether `[start, end)` lies inside this occurrence.
    pub fn covers(&self, start: Timestamp, end: Timestamp) -> bool {
        self.start <= start && end <= self.end
    }
}

/// Parses `HH:MM` (or `24:00`) into minutes after midnight.
fn parse_time(s: &str) -> Result<u16, WindowError> {
    let b = s.as_bytes();
    let digit = |i: usize| b[i].is_ascii_digit();
    if b.len() != 5 || b[2] != b':' || !(digit(0) && digit(1) && digit(3) && digit(4)) {
        return Err(WindowError::BadTime { found: s.to_owned() });
    }
    let num = |i: usize| u16::from(b[i] - b'0') * 10 + u16::from(b[i + 1] - b'0');
    let (h, m) = (num(0), num(3));
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(WindowError::TimeOutOfRange { found: s.to_owned() });
    }
    Ok(h * 60 + m)
}

/// Parses `HH:MM-HH:MM` into (start, end) minutes; end is 1..=1440.
fn parse_range(s: &str) -> Result<(u16, u16), WindowError> {
    let bad = || WindowError::BadRange { found: s.to_owned() };
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    if a.is_empty() || b.is_empty() || b.contains('-') {
        return Err(bad());
    }
    let start = parse_time(a)?;
    let end = parse_time(b)?;
    if start == DAY_MINUTES {
        return Err(WindowError::StartAt24);
    }
    if start == end {
        return Err(WindowError::EmptyWindow { range: s.to_owned() });
    }
    // `22:00-00:00` means up to midnight: the same as `22:00-24:00`.
    let end = if end == 0 { DAY_MINUTES } else { end };
    Ok((start, end))
}

impl FromStr for Window {
    type Err = WindowError;

    fn from_str(input: &str) -> Result<Window, WindowError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(WindowError::Empty);
        }
        let tokens: Vec<&str> = input.split_whitespace().collect();
        // The time range is the first token that starts with a digit.
        let t = tokens
            .iter()
            .position(|tok| tok.starts_with(|c: char| c.is_ascii_digit()))
            .ok_or_else(|| WindowError::Format { input: input.to_owned() })?;
        if t == 0 {
            return Err(WindowError::MissingDays { input: input.to_owned() });
        }
        if t > 1 {
            let fixed = tokens[..t].concat();
            if fixed.parse::<DaySet>().is_ok() {
                return Err(WindowError::SpacedDays { found: tokens[..t].join(" "), fixed });
            }
            return Err(WindowError::Format { input: input.to_owned() });
        }
        let days: DaySet = tokens[0].parse()?;
        let rest = &tokens[t..];
        if rest.len() >= 2 && (rest[0].ends_with('-') || rest[1].starts_with('-')) {
            let n = if rest[1] == "-" { rest.len().min(3) } else { 2 };
            return Err(WindowError::SpacedTimes { found: rest[..n].join(" "), fixed: rest[..n].concat() });
        }
        let (start, end) = parse_range(rest[0])?;
        let zone = match rest.get(1) {
            None => None,
            Some(name) => Some(Zone::get(name)?),
        };
        if rest.len() > 2 {
            return Err(WindowError::TrailingText { extra: rest[2..].join(" ") });
        }
        Ok(Window { days, start, end, zone })
    }
}

fn write_minutes(f: &mut fmt::Formatter<'_>, m: u16) -> fmt::Result {
    write!(f, "{:02}:{:02}", m / 60, m % 60)
}

impl fmt::Display for Window {
    /// Canonical text, e.g. `Mon-Fri 22:00-05:00 Europe/Berlin`; parses back
    /// to an equal window.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.days)?;
        write_minutes(f, self.start)?;
        f.write_str("-")?;
        write_minutes(f, self.end)?;
        if let Some(zone) = &self.zone {
            write!(f, " {zone}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Window, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Expansion
// ---------------------------------------------------------------------------

/// Which edge of an occurrence a local time is resolved for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// The first instant whose local time reaches it.
    Start,
    /// The last instant whose local time is before it.
    End,
}

/// `date` + `minutes` (may exceed a day) as a civil datetime.
fn civil_at(date: Date, minutes: i64) -> Option<DateTime> {
    let days = minutes.div_euclid(i64::from(DAY_MINUTES));
    let rem = minutes.rem_euclid(i64::from(DAY_MINUTES));
    let date = if days == 0 { date } else { shift_days(date, days)? };
    let time = Time::new(i8::try_from(rem / 60).ok()?, i8::try_from(rem % 60).ok()?, 0, 0).ok()?;
    Some(DateTime::from_parts(date, time))
}

fn shift_days(date: Date, days: i64) -> Option<Date> {
    date.checked_add(SignedDuration::from_hours(days.checked_mul(24)?)).ok()
}

/// The instant for local time `dt` on the given edge (see the module docs).
/// `None` only at the ends of the representable range.
fn resolve(tz: &TimeZone, dt: DateTime, edge: Edge) -> Option<Timestamp> {
    match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok(),
        AmbiguousOffset::Gap { before, after } => {
            // The clocks jump at T from T+before to T+after, and
            // T+before <= dt < T+after, so T lies in (dt-after, dt-before].
            let lo = after.to_timestamp(dt).ok()?;
            let hi = before.to_timestamp(dt).ok()?;
            match tz.following(lo).next() {
                Some(tr) if tr.timestamp() <= hi => Some(tr.timestamp()),
                _ => Some(hi),
            }
        }
        AmbiguousOffset::Fold { before, after } => {
            // dt is seen twice: at dt-before (earlier) and dt-after (later).
            let earlier = before.to_timestamp(dt).ok()?;
            if edge == Edge::Start {
                return Some(earlier);
            }
            let later = after.to_timestamp(dt).ok()?;
            // The clocks go back at T, to T+after. If dt is exactly that
            // first repeated time, the later instant is T itself and nothing
            // after `earlier` has a local time before dt.
            match tz.following(earlier).next() {
                Some(tr) if tr.timestamp() == later => Some(earlier),
                _ => Some(later),
            }
        }
    }
}

impl Window {
    /// The zone this window is read in: its own, else `default`.
    pub fn zone_or<'a>(&'a self, default: &'a Zone) -> &'a Zone {
        self.zone.as_ref().unwrap_or(default)
    }

    /// The occurrence starting on local date `date` (its weekday need not be
    /// listed), or `None` when the clocks leave nothing of it.
    fn occurrence_on(&self, tz: &TimeZone, date: Date) -> Option<Occurrence> {
        let start = i64::from(self.start);
        let mut end = i64::from(self.end);
        if end <= start {
            end += i64::from(DAY_MINUTES);
        }
        let start = resolve(tz, civil_at(date, start)?, Edge::Start)?;
        let end = resolve(tz, civil_at(date, end)?, Edge::End)?;
        (start < end).then_some(Occurrence { start, end })
    }

    /// Every occurrence that overlaps [from, to), whole (not clipped), sorted by start.
    ///
    /// Occurrences of one window never overlap: in the rare case that two
    /// do (a wrapping window whose end and next start both fall in a
    /// repeated hour), they are returned as one.
    pub fn occurrences(&self, default: &Zone, from: Timestamp, to: Timestamp) -> Vec<Occurrence> {
        let mut out = Vec::new();
        if from >= to || self.days.is_empty() {
            return out;
        }
        let tz = self.zone_or(default).tz();
        // An occurrence overlapping the range starts on a local date between
        // the day before `from`'s and `to`'s; two days of slack on either side
        // cover any offset change and let overlapping neighbours merge.
        let first = tz.to_datetime(from).date();
        let last = tz.to_datetime(to).date();
        let mut date = shift_days(first, -3).unwrap_or(Date::MIN);
        let last = shift_days(last, 2).unwrap_or(Date::MAX);
        loop {
            if self.days.contains(date.weekday()) {
                out.extend(self.occurrence_on(tz, date));
            }
            if date >= last {
                break;
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        out.sort_unstable();
        let mut merged: Vec<Occurrence> = Vec::with_capacity(out.len());
        for o in out {
            match merged.last_mut() {
                Some(prev) if o.start < prev.end => prev.end = prev.end.max(o.end),
                _ => merged.push(o),
            }
        }
        merged.retain(|o| o.start < to && o.end > from);
        merged
    }

    /// Every occurrence overlapping [midnight of `from`, midnight of `to`) in
    /// the window's zone (the CLI's `forewarn windows SPEC --from DATE --to DATE`).
    pub fn occurrences_on_dates(&self, default: &Zone, from: Date, to: Date) -> Vec<Occurrence> {
        let tz = self.zone_or(default).tz();
        let midnight = |d: Date| resolve(tz, DateTime::from_parts(d, Time::midnight()), Edge::Start);
        match (midnight(from), midnight(to)) {
            (Some(a), Some(b)) => self.occurrences(default, a, b),
            _ => Vec::new(),
        }
    }
}

/// Windows in words with their zone always named, joined by "or":
/// `Mon-Fri 22:00-05:00 Europe/Berlin or Sat 10:00-14:00 Europe/Berlin`.
pub fn describe(windows: &[Window], default: &Zone) -> String {
    let parts: Vec<String> = windows
        .iter()
        .map(|w| if w.zone.is_some() { w.to_string() } else { format!("{w} {}", default.name()) })
        .collect();
    parts.join(" or ")
}

/// Occurrences of several windows (a machine's effective window list), sorted by start; NOT merged (a slot must fit inside one occurrence).
///
/// Identical occurrences (from duplicate windows) are listed once.
pub fn occurrences_of(windows: &[Window], default: &Zone, from: Timestamp, to: Timestamp) -> Vec<Occurrence> {
    let mut out: Vec<Occurrence> = windows.iter().flat_map(|w| w.occurrences(default, from, to)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn w(s: &str) -> Window {
        s.parse().unwrap_or_else(|e| panic!("`{s}` should parse: {e}"))
    }

    fn err(s: &str) -> String {
        match s.parse::<Window>() {
            Ok(w) => panic!("`{s}` should not parse, got {w:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn zone(name: &str) -> Zone {
        Zone::get(name).unwrap()
    }

    /// Occurrences as `start..end` in RFC 3339 with the zone's offsets.
    fn show(occs: &[Occurrence], z: &Zone) -> Vec<String> {
        let at = |t: Timestamp| t.display_with_offset(z.tz().to_offset(t)).to_string();
        occs.iter().map(|o| format!("{}..{}", at(o.start), at(o.end))).collect()
    }

    fn on_dates(spec: &str, default: &str, from: Date, to: Date) -> Vec<String> {
        let win = w(spec);
        let d = zone(default);
        let occs = win.occurrences_on_dates(&d, from, to);
        show(&occs, win.zone_or(&d))
    }

    // ----- parsing -----

    #[test]
    fn parses_single_day_with_zone() {
        let win = w("Sun 02:00-03:00 Europe/Berlin");
        assert_eq!(win.days, DaySet::single(Weekday::Sunday));
        assert_eq!((win.start, win.end), (120, 180));
        assert_eq!(win.zone.as_ref().map(Zone::name), Some("Europe/Berlin"));
    }

    #[test]
    fn parses_day_lists_and_ranges() {
        assert_eq!(w("Mon-Fri 09:00-17:00").days.bits(), 0b001_1111);
        assert_eq!(w("Sat,Sun 09:00-17:00").days.bits(), 0b110_0000);
        assert_eq!(w("Mon,Wed-Thu,Sun 09:00-17:00").days.bits(), 0b100_1101);
        assert_eq!(w("Mon,Mon-Tue 09:00-17:00").days.bits(), 0b000_0011);
        assert_eq!(w("Mon-Sun 09:00-17:00").days, DaySet::ALL);
    }

    #[test]
    fn parses_wrapping_day_ranges() {
        let days = w("Fri-Mon 09:00-17:00").days;
        assert_eq!(days.bits(), 0b111_0001);
        let listed: Vec<Weekday> = days.iter().collect();
        assert_eq!(listed, [Weekday::Monday, Weekday::Friday, Weekday::Saturday, Weekday::Sunday]);
        assert_eq!(w("Tue-Mon 09:00-17:00").days, DaySet::ALL);
        assert_eq!(w("Sun-Mon 09:00-17:00").days.bits(), 0b100_0001);
    }

    #[test]
    fn parses_days_case_insensitively() {
        assert_eq!(w("mon-FRI 09:00-17:00").days, w("Mon-Fri 09:00-17:00").days);
        assert_eq!(w("sUn 09:00-17:00").days, DaySet::single(Weekday::Sunday));
    }

    #[test]
    fn parses_times_and_wrap_around() {
        let win = w("Mon 00:00-24:00");
        assert_eq!((win.start, win.end), (0, 1440));
        let win = w("Mon 22:00-05:00");
        assert_eq!((win.start, win.end), (1320, 300));
        let win = w("Mon 23:59-00:01");
        assert_eq!((win.start, win.end), (1439, 1));
        // An end at 00:00 is midnight, the same as 24:00.
        assert_eq!(w("Mon 22:00-00:00"), w("Mon 22:00-24:00"));
    }

    #[test]
    fn parses_zone_present_or_absent() {
        assert_eq!(w("Mon 09:00-17:00").zone, None);
        assert_eq!(w("Mon 09:00-17:00 UTC").zone, Some(Zone::utc()));
        assert_eq!(w("Mon 09:00-17:00 europe/berlin").zone, Some(zone("Europe/Berlin")));
        assert_eq!(zone("america/new_york").name(), "America/New_York");
        assert_eq!(w("  Mon   09:00-17:00   Asia/Kolkata ").to_string(), "Mon 09:00-17:00 Asia/Kolkata");
    }

    #[test]
    fn displays_canonically_and_round_trips() {
        let cases = [
            ("mon,tue,wed,thu,fri 22:00-05:00 europe/berlin", "Mon-Fri 22:00-05:00 Europe/Berlin"),
            ("Sun,Sat 08:00-09:30", "Sat,Sun 08:00-09:30"),
            ("Fri,Sat,Sun,Mon 00:00-24:00 UTC", "Fri-Mon 00:00-24:00 UTC"),
            ("Mon,Wed 08:00-09:00", "Mon,Wed 08:00-09:00"),
            ("Sun-Mon 08:00-09:00", "Sun,Mon 08:00-09:00"),
            ("Tue-Mon 08:00-09:00", "Mon-Sun 08:00-09:00"),
            ("Mon-Wed,Fri-Sat 23:00-00:00", "Mon-Wed,Fri,Sat 23:00-24:00"),
            ("Sat-Mon,Wed 08:00-09:00", "Sat-Mon,Wed 08:00-09:00"),
        ];
        for (input, canonical) in cases {
            let win = w(input);
            assert_eq!(win.to_string(), canonical, "display of `{input}`");
            assert_eq!(w(canonical), win, "round trip of `{input}`");
        }
    }

    #[test]
    fn rejects_malformed_windows_with_helpful_messages() {
        let cases = [
            ("", "empty window: expected `DAYS HH:MM-HH:MM [ZONE]`, e.g. `Mon-Fri 22:00-05:00 Europe/Berlin`"),
            (
                "Mon",
                "window `Mon` is malformed: expected `DAYS HH:MM-HH:MM [ZONE]`, e.g. `Mon-Fri 22:00-05:00 Europe/Berlin`",
            ),
            (
                "Mon Europe/Berlin 10:00-11:00",
                "window `Mon Europe/Berlin 10:00-11:00` is malformed: expected `DAYS HH:MM-HH:MM [ZONE]`, e.g. `Mon-Fri 22:00-05:00 Europe/Berlin`",
            ),
            ("22:00-05:00 UTC", "window `22:00-05:00 UTC` has no days: put them first, e.g. `Mon-Fri 22:00-05:00 UTC`"),
            (
                "Mon 10:00-11:00 UTC extra",
                "unexpected `extra` after the time zone: expected `DAYS HH:MM-HH:MM [ZONE]`, e.g. `Mon-Fri 22:00-05:00 Europe/Berlin`",
            ),
            ("Mon, Tue 10:00-11:00", "day list `Mon, Tue` contains spaces: write it without spaces, as `Mon,Tue`"),
            ("Mon - Fri 10:00-11:00", "day list `Mon - Fri` contains spaces: write it without spaces, as `Mon-Fri`"),
            (
                "Mon 10:00 - 11:00",
                "time range `10:00 - 11:00` contains spaces: write it without spaces, as `10:00-11:00`",
            ),
            (
                "Mon 10:00- 11:00 UTC",
                "time range `10:00- 11:00` contains spaces: write it without spaces, as `10:00-11:00`",
            ),
            (
                "Mon,,Tue 10:00-11:00",
                "day list `Mon,,Tue` has an empty entry: separate days with single commas, e.g. `Mon,Wed,Fri`",
            ),
            (
                "Mon, 10:00-11:00",
                "day list `Mon,` has an empty entry: separate days with single commas, e.g. `Mon,Wed,Fri`",
            ),
            ("Fry 10:00-11:00", "unknown day `Fry`: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun"),
            ("Monday 10:00-11:00", "unknown day `Monday`: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun (write `Mon`)"),
            (
                "Mon-Thurs 10:00-11:00",
                "unknown day `Thurs`: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun (write `Thu`)",
            ),
            (
                "Mon- 10:00-11:00",
                "day range `Mon-` is malformed: write the first and last day joined by `-`, e.g. `Mon-Fri`",
            ),
            (
                "Mon-Tue-Wed 10:00-11:00",
                "day range `Mon-Tue-Wed` is malformed: write the first and last day joined by `-`, e.g. `Mon-Fri`",
            ),
            (
                "Mon-mon 10:00-11:00",
                "day range `Mon-mon` starts and ends on the same day: write `Mon` alone, or `Mon-Sun` for every day",
            ),
            ("Mon 10:00", "time range `10:00` is malformed: write the start and end joined by `-`, e.g. `22:00-05:00`"),
            (
                "Mon 10:00-11:00-12:00",
                "time range `10:00-11:00-12:00` is malformed: write the start and end joined by `-`, e.g. `22:00-05:00`",
            ),
            ("Mon 9:00-11:00", "time `9:00` is not HH:MM: write two-digit hours and minutes, e.g. `09:00`"),
            ("Mon 9am-5pm", "time `9am` is not HH:MM: write two-digit hours and minutes, e.g. `09:00`"),
            ("Mon 10:00-11:0x", "time `11:0x` is not HH:MM: write two-digit hours and minutes, e.g. `09:00`"),
            (
                "Mon 25:00-11:00",
                "time `25:00` is out of range: expected HH:MM from 00:00 to 23:59 (24:00 only as an end)",
            ),
            (
                "Mon 10:00-10:60",
                "time `10:60` is out of range: expected HH:MM from 00:00 to 23:59 (24:00 only as an end)",
            ),
            (
                "Mon 10:00-24:01",
                "time `24:01` is out of range: expected HH:MM from 00:00 to 23:59 (24:00 only as an end)",
            ),
            ("Mon 24:00-05:00", "a window cannot start at `24:00`: start it at `00:00` and list the next day instead"),
            (
                "Mon 10:00-10:00",
                "empty window `10:00-10:00`: start and end are equal; for a whole day write 00:00-24:00",
            ),
            (
                "Mon 00:00-00:00",
                "empty window `00:00-00:00`: start and end are equal; for a whole day write 00:00-24:00",
            ),
            (
                "Mon 10:00-11:00 Europe/Berln",
                "unknown time zone `Europe/Berln`: expected an IANA name like Europe/Berlin or UTC",
            ),
            ("Mon 10:00-11:00 +02:00", "unknown time zone `+02:00`: expected an IANA name like Europe/Berlin or UTC"),
        ];
        for (input, message) in cases {
            assert_eq!(err(input), message, "error for `{input}`");
        }
        assert_eq!(
            Zone::get("").unwrap_err().to_string(),
            "unknown time zone ``: expected an IANA name like Europe/Berlin or UTC"
        );
    }

    #[test]
    fn zone_equality_is_by_name() {
        assert_eq!(zone("Europe/Berlin"), zone("EUROPE/BERLIN"));
        assert_ne!(zone("Europe/Berlin"), zone("Europe/Paris"));
        assert_eq!(zone("UTC"), Zone::utc());
    }

    #[test]
    fn serde_uses_the_text_form() {
        let win = w("Mon-Fri 22:00-05:00 Europe/Berlin");
        let json = serde_json::to_string(&win).unwrap();
        assert_eq!(json, "\"Mon-Fri 22:00-05:00 Europe/Berlin\"");
        assert_eq!(serde_json::from_str::<Window>(&json).unwrap(), win);
        let e = serde_json::from_str::<Window>("\"Fry 10:00-11:00\"").unwrap_err().to_string();
        assert!(e.contains("unknown day `Fry`"), "{e}");
        assert_eq!(serde_json::from_str::<Zone>("\"UTC\"").unwrap(), Zone::utc());
    }

    // ----- expansion -----

    #[test]
    fn berlin_fall_back_grows_the_window() {
        assert_eq!(
            on_dates("Sun 02:00-03:00 Europe/Berlin", "UTC", date(2026, 10, 24), date(2026, 10, 26)),
            ["2026-10-25T02:00:00+02:00..2026-10-25T03:00:00+01:00"]
        );
        let occs = w("Sun 02:00-03:00 Europe/Berlin").occurrences_on_dates(
            &Zone::utc(),
            date(2026, 10, 24),
            date(2026, 10, 26),
        );
        assert_eq!(occs[0].duration(), SignedDuration::from_hours(2));
        assert_eq!((occs[0].start, occs[0].end), (ts("2026-10-25T00:00:00Z"), ts("2026-10-25T02:00:00Z")));
        // An end inside the repeated hour takes the later instant.
        assert_eq!(
            on_dates("Sun 00:00-02:30 Europe/Berlin", "UTC", date(2026, 10, 25), date(2026, 10, 26)),
            ["2026-10-25T00:00:00+02:00..2026-10-25T02:30:00+01:00"]
        );
        // An end exactly at the first repeated time: nothing later is before it.
        assert_eq!(
            on_dates("Sun 00:00-02:00 Europe/Berlin", "UTC", date(2026, 10, 25), date(2026, 10, 26)),
            ["2026-10-25T00:00:00+02:00..2026-10-25T02:00:00+02:00"]
        );
    }

    #[test]
    fn berlin_spring_forward_drops_or_shrinks_the_window() {
        assert_eq!(
            on_dates("Sun 02:00-03:00 Europe/Berlin", "UTC", date(2026, 3, 28), date(2026, 3, 30)),
            Vec::<String>::new()
        );
        // The week before and after it occurs normally.
        assert_eq!(
            on_dates("Sun 02:00-03:00 Europe/Berlin", "UTC", date(2026, 3, 22), date(2026, 4, 6)),
            [
                "2026-03-22T02:00:00+01:00..2026-03-22T03:00:00+01:00",
                "2026-04-05T02:00:00+02:00..2026-04-05T03:00:00+02:00",
            ]
        );
        // Over the jump: one hour shorter. Into it: cut at the jump (01:00Z).
        assert_eq!(
            on_dates("Sun 01:00-04:00 Europe/Berlin", "UTC", date(2026, 3, 29), date(2026, 3, 30)),
            ["2026-03-29T01:00:00+01:00..2026-03-29T04:00:00+02:00"]
        );
        let occs =
            w("Sun 01:30-02:30 Europe/Berlin").occurrences_on_dates(&Zone::utc(), date(2026, 3, 29), date(2026, 3, 30));
        assert_eq!(occs, [Occurrence { start: ts("2026-03-29T00:30:00Z"), end: ts("2026-03-29T01:00:00Z") }]);
    }

    #[test]
    fn new_york_spring_start_in_gap_is_the_jump() {
        let occs = w("Sun 02:30-04:00 America/New_York").occurrences_on_dates(
            &Zone::utc(),
            date(2026, 3, 8),
            date(2026, 3, 9),
        );
        assert_eq!(occs, [Occurrence { start: ts("2026-03-08T07:00:00Z"), end: ts("2026-03-08T08:00:00Z") }]);
        assert_eq!(
            on_dates("Sun 02:30-04:00 America/New_York", "UTC", date(2026, 3, 8), date(2026, 3, 9)),
            ["2026-03-08T03:00:00-04:00..2026-03-08T04:00:00-04:00"]
        );
        // Entirely inside the gap: no occurrence.
        assert!(
            w("Sun 02:00-02:59 America/New_York")
                .occurrences_on_dates(&Zone::utc(), date(2026, 3, 8), date(2026, 3, 9))
                .is_empty()
        );
        // Ending inside the gap: cut at the jump.
        assert_eq!(
            on_dates("Sun 01:00-02:30 America/New_York", "UTC", date(2026, 3, 8), date(2026, 3, 9)),
            ["2026-03-08T01:00:00-05:00..2026-03-08T03:00:00-04:00"]
        );
    }

    #[test]
    fn new_york_fall_end_in_fold_is_the_later_instant() {
        let occs = w("Sun 00:00-01:30 America/New_York").occurrences_on_dates(
            &Zone::utc(),
            date(2026, 11, 1),
            date(2026, 11, 2),
        );
        assert_eq!(occs, [Occurrence { start: ts("2026-11-01T04:00:00Z"), end: ts("2026-11-01T06:30:00Z") }]);
        // A start in the fold takes the earlier instant.
        assert_eq!(
            on_dates("Sun 01:30-03:00 America/New_York", "UTC", date(2026, 11, 1), date(2026, 11, 2)),
            ["2026-11-01T01:30:00-04:00..2026-11-01T03:00:00-05:00"]
        );
        // An end at exactly 01:00: the first 01:00 (05:00Z).
        let occs = w("Sun 00:00-01:00 America/New_York").occurrences_on_dates(
            &Zone::utc(),
            date(2026, 11, 1),
            date(2026, 11, 2),
        );
        assert_eq!(occs, [Occurrence { start: ts("2026-11-01T04:00:00Z"), end: ts("2026-11-01T05:00:00Z") }]);
        // Both in the fold: the whole repeated stretch between them.
        let occs = w("Sun 01:10-01:20 America/New_York").occurrences_on_dates(
            &Zone::utc(),
            date(2026, 11, 1),
            date(2026, 11, 2),
        );
        assert_eq!(occs, [Occurrence { start: ts("2026-11-01T05:10:00Z"), end: ts("2026-11-01T06:20:00Z") }]);
    }

    #[test]
    fn wraps_across_midnight() {
        assert_eq!(
            on_dates("Mon-Fri 22:00-05:00 Europe/Berlin", "UTC", date(2026, 6, 5), date(2026, 6, 9)),
            [
                "2026-06-04T22:00:00+02:00..2026-06-05T05:00:00+02:00",
                "2026-06-05T22:00:00+02:00..2026-06-06T05:00:00+02:00",
                "2026-06-08T22:00:00+02:00..2026-06-09T05:00:00+02:00",
            ]
        );
    }

    #[test]
    fn wraps_across_the_week_boundary() {
        let occs =
            w("Sun 22:00-02:00 UTC").occurrences(&Zone::utc(), ts("2026-06-01T00:00:00Z"), ts("2026-06-15T00:00:00Z"));
        assert_eq!(
            occs,
            [
                Occurrence { start: ts("2026-05-31T22:00:00Z"), end: ts("2026-06-01T02:00:00Z") },
                Occurrence { start: ts("2026-06-07T22:00:00Z"), end: ts("2026-06-08T02:00:00Z") },
                Occurrence { start: ts("2026-06-14T22:00:00Z"), end: ts("2026-06-15T02:00:00Z") },
            ]
        );
        assert_eq!(occs[1].end.to_zoned_datetime(TimeZone::UTC).weekday(), Weekday::Monday);
    }

    #[test]
    fn whole_day_runs_midnight_to_midnight() {
        assert_eq!(
            on_dates("Sat,Sun 00:00-24:00 Europe/Berlin", "UTC", date(2026, 10, 24), date(2026, 10, 26)),
            [
                "2026-10-24T00:00:00+02:00..2026-10-25T00:00:00+02:00",
                "2026-10-25T00:00:00+02:00..2026-10-26T00:00:00+01:00",
            ]
        );
        let occs = w("Sun 00:00-24:00 Europe/Berlin").occurrences_on_dates(
            &Zone::utc(),
            date(2026, 10, 25),
            date(2026, 10, 26),
        );
        assert_eq!(occs[0].duration(), SignedDuration::from_hours(25));
        let occs =
            w("Sun 00:00-24:00 Europe/Berlin").occurrences_on_dates(&Zone::utc(), date(2026, 3, 29), date(2026, 3, 30));
        assert_eq!(occs[0].duration(), SignedDuration::from_hours(23));
    }

    #[test]
    fn uses_the_default_zone_only_without_its_own() {
        let ny = zone("America/New_York");
        let plain = w("Wed 10:00-11:00");
        assert_eq!(plain.zone_or(&ny), &ny);
        assert_eq!(
            plain.occurrences_on_dates(&ny, date(2026, 6, 3), date(2026, 6, 4)),
            [Occurrence { start: ts("2026-06-03T14:00:00Z"), end: ts("2026-06-03T15:00:00Z") }]
        );
        let own = w("Wed 10:00-11:00 Asia/Kolkata");
        assert_eq!(own.zone_or(&ny).name(), "Asia/Kolkata");
        assert_eq!(
            own.occurrences_on_dates(&ny, date(2026, 6, 3), date(2026, 6, 4)),
            [Occurrence { start: ts("2026-06-03T04:30:00Z"), end: ts("2026-06-03T05:30:00Z") }]
        );
    }

    #[test]
    fn returns_whole_occurrences_that_overlap_the_range() {
        let win = w("Mon-Fri 22:00-05:00 UTC");
        // A range inside one occurrence returns it whole.
        let occs = win.occurrences(&Zone::utc(), ts("2026-06-02T01:00:00Z"), ts("2026-06-02T01:00:01Z"));
        assert_eq!(occs, [Occurrence { start: ts("2026-06-01T22:00:00Z"), end: ts("2026-06-02T05:00:00Z") }]);
        // Touching is not overlapping.
        assert!(win.occurrences(&Zone::utc(), ts("2026-06-02T05:00:00Z"), ts("2026-06-02T22:00:00Z")).is_empty());
        // Empty and reversed ranges.
        assert!(win.occurrences(&Zone::utc(), ts("2026-06-02T01:00:00Z"), ts("2026-06-02T01:00:00Z")).is_empty());
        assert!(win.occurrences_on_dates(&Zone::utc(), date(2026, 6, 5), date(2026, 6, 1)).is_empty());
    }

    #[test]
    fn overlapping_occurrences_of_one_window_are_joined() {
        let utc = Zone::utc();
        // Saturday's occurrence ends at the later 01:20 on Sunday (06:20Z),
        // after Sunday's starts at the earlier 01:40 (05:40Z).
        let win = w("Sat,Sun 01:40-01:20 America/New_York");
        let occs = win.occurrences_on_dates(&utc, date(2026, 10, 31), date(2026, 11, 2));
        assert_eq!(occs, [Occurrence { start: ts("2026-10-31T05:40:00Z"), end: ts("2026-11-02T06:20:00Z") }]);
        // Ending exactly at the first repeated time, they only touch.
        let win = w("Sat,Sun 01:30-01:00 America/New_York");
        let occs = win.occurrences_on_dates(&utc, date(2026, 10, 31), date(2026, 11, 2));
        assert_eq!(
            occs,
            [
                Occurrence { start: ts("2026-10-31T05:30:00Z"), end: ts("2026-11-01T05:00:00Z") },
                Occurrence { start: ts("2026-11-01T05:30:00Z"), end: ts("2026-11-02T06:00:00Z") },
            ]
        );
    }

    #[test]
    fn occurrences_of_sorts_without_merging() {
        let windows =
            [w("Mon 10:00-12:00 UTC"), w("Mon 11:00-13:00 UTC"), w("Mon 08:00-09:00 UTC"), w("Mon 10:00-12:00 UTC")];
        let occs = occurrences_of(&windows, &Zone::utc(), ts("2026-06-01T00:00:00Z"), ts("2026-06-02T00:00:00Z"));
        assert_eq!(
            show(&occs, &Zone::utc()),
            [
                "2026-06-01T08:00:00+00:00..2026-06-01T09:00:00+00:00",
                "2026-06-01T10:00:00+00:00..2026-06-01T12:00:00+00:00",
                "2026-06-01T11:00:00+00:00..2026-06-01T13:00:00+00:00",
            ]
        );
        assert!(occs[1].covers(ts("2026-06-01T10:00:00Z"), ts("2026-06-01T12:00:00Z")));
        assert!(!occs[1].covers(ts("2026-06-01T10:00:00Z"), ts("2026-06-01T12:00:01Z")));
    }

    #[test]
    fn extreme_ranges_do_not_panic() {
        let win = w("Mon-Sun 22:00-05:00 Pacific/Kiritimati");
        let day = SignedDuration::from_hours(24);
        let _ = win.occurrences(&Zone::utc(), Timestamp::MIN, Timestamp::MIN.checked_add(day * 9).unwrap());
        let _ = win.occurrences(&Zone::utc(), Timestamp::MAX.checked_sub(day * 9).unwrap(), Timestamp::MAX);
        let _ = win.occurrences_on_dates(&Zone::utc(), Date::MIN, date(-9999, 1, 10));
        let _ = win.occurrences_on_dates(&Zone::utc(), date(9999, 12, 20), Date::MAX);
        // Samoa skipped 2011-12-30 entirely.
        let samoa = w("Fri 10:00-11:00 Pacific/Apia");
        assert!(samoa.occurrences_on_dates(&Zone::utc(), date(2011, 12, 29), date(2012, 1, 1)).is_empty());
    }

    // ----- properties -----

    const ZONES: [&str; 6] =
        ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "America/Santiago"];

    fn arb_window() -> impl Strategy<Value = Window> {
        (1u8..128, 0u16..1440, 1u16..=1440, prop::option::of(0usize..ZONES.len()))
            .prop_filter("start == end", |(_, s, e, _)| s != e)
            .prop_map(|(bits, start, end, z)| Window {
                days: DaySet::from_bits(bits),
                start,
                end,
                zone: z.map(|i| zone(ZONES[i])),
            })
    }

    /// A range of 1..60 days within 2025..2028, at a 30-second grid offset.
    fn arb_range() -> impl Strategy<Value = (Timestamp, Timestamp)> {
        let lo = ts("2025-01-01T00:00:00Z").as_second();
        let hi = ts("2028-01-01T00:00:00Z").as_second();
        (0..(hi - lo) / 30, 1i64..60, 0i64..2880).prop_map(move |(k, days, extra)| {
            let from = lo + k * 30;
            let to = from + days * 86_400 + extra * 30 - 1440 * 30;
            (Timestamp::from_second(from).unwrap(), Timestamp::from_second(to.max(from + 30)).unwrap())
        })
    }

    /// The window's local intervals `[d+start, d+end)` for listed dates in
    /// `first..=last`, in order (both ends increase with `d`).
    fn civil_intervals(win: &Window, first: Date, last: Date) -> Vec<(DateTime, DateTime)> {
        let mut out = Vec::new();
        let mut d = first;
        while d <= last {
            if win.days.contains(d.weekday()) {
                let midnight = d.to_datetime(Time::midnight());
                let end = if win.end <= win.start { win.end + 1440 } else { win.end };
                let s = midnight.checked_add(SignedDuration::from_mins(i64::from(win.start))).unwrap();
                let e = midnight.checked_add(SignedDuration::from_mins(i64::from(end))).unwrap();
                out.push((s, e));
            }
            d = d.tomorrow().unwrap();
        }
        out
    }

    fn check_window(win: &Window, default: &Zone, from: Timestamp, to: Timestamp) -> Result<(), TestCaseError> {
        let occs = win.occurrences(default, from, to);
        let tz = win.zone_or(default).tz().clone();
        let step = SignedDuration::from_secs(30);
        let pad = SignedDuration::from_hours(48);
        let lo = from.checked_sub(pad).unwrap();
        let hi = to.checked_add(pad).unwrap();
        let intervals = civil_intervals(
            win,
            tz.to_datetime(lo).date().checked_sub(SignedDuration::from_hours(48)).unwrap(),
            tz.to_datetime(hi).date(),
        );
        let in_window = |local: DateTime| intervals.iter().any(|&(s, e)| s <= local && local < e);

        for o in &occs {
            prop_assert!(o.start < o.end, "empty occurrence {o:?}");
            prop_assert!(o.start < to && o.end > from, "{o:?} misses the range");
            let first = tz.to_datetime(o.start);
            let last = tz.to_datetime(o.end.checked_sub(SignedDuration::from_secs(1)).unwrap());
            prop_assert!(in_window(first), "{o:?} starts at local {first}, outside the window");
            prop_assert!(in_window(last), "{o:?} ends after local {last}, outside the window");
        }
        for pair in occs.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "{:?} and {:?} overlap or are unsorted", pair[0], pair[1]);
        }

        // Oracle, straight from the definition: t is in the occurrence of d
        // iff some instant up to t has a local time at or past d+start, and
        // some instant from t on has a local time before d+end. Sampled on a
        // 30 s grid; all transitions in these zones are on whole minutes.
        let mut samples = Vec::new();
        let mut t = lo;
        while t < hi {
            samples.push((t, tz.to_datetime(t)));
            t = t.checked_add(step).unwrap();
        }
        let mut run_min = vec![DateTime::MAX; samples.len()];
        let mut acc = DateTime::MAX;
        for (i, &(_, local)) in samples.iter().enumerate().rev() {
            acc = acc.min(local);
            run_min[i] = acc;
        }
        let mut run_max = DateTime::MIN;
        let mut j = 0; // intervals[..j] start at or before run_max
        let mut k = 0; // occs[..k] end at or before t
        for (i, &(t, local)) in samples.iter().enumerate() {
            run_max = run_max.max(local);
            while j < intervals.len() && intervals[j].0 <= run_max {
                j += 1;
            }
            let expected = j > 0 && run_min[i] < intervals[j - 1].1;
            while k < occs.len() && occs[k].end <= t {
                k += 1;
            }
            let actual = k < occs.len() && occs[k].start <= t;
            if from <= t && t < to {
                prop_assert_eq!(actual, expected, "at {} (local {})", t, local);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_occurrences_match_the_definition(
            win in arb_window(),
            default in 0usize..ZONES.len(),
            (from, to) in arb_range(),
        ) {
            check_window(&win, &zone(ZONES[default]), from, to)?;
        }

        #[test]
        fn prop_display_round_trips(win in arb_window()) {
            let text = win.to_string();
            prop_assert_eq!(text.parse::<Window>(), Ok(win), "via `{}`", text);
        }

        #[test]
        fn prop_parse_never_panics(s in "[ -~]{0,40}") {
            let _ = s.parse::<Window>();
        }

        #[test]
        fn prop_parse_never_panics_near_the_grammar(
            s in "[MTWFSmtwfs][a-zA-Z]{0,3}([-,][A-Za-z]{1,4}){0,3} [0-9]{1,3}:?[0-9]{0,3}-?[0-9]{0,2}:?[0-9]{0,3}( [A-Za-z/_]{0,16})?"
        ) {
            let _ = s.parse::<Window>();
        }
    }

    #[test]
    fn oracle_covers_the_transition_nights() {
        // The property test samples randomly; pin the tricky nights too.
        let cases = [
            ("Sun 02:00-03:00 Europe/Berlin", "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z"),
            ("Sun 02:00-03:00 Europe/Berlin", "2026-10-23T00:00:00Z", "2026-10-27T00:00:00Z"),
            ("Sat,Sun 01:30-01:00 America/New_York", "2026-10-29T00:00:00Z", "2026-11-04T00:00:00Z"),
            ("Sat,Sun 01:40-01:20 America/New_York", "2026-10-29T00:00:00Z", "2026-11-04T00:00:00Z"),
            ("Sun 00:00-01:00 America/New_York", "2026-10-29T00:00:00Z", "2026-11-04T00:00:00Z"),
            ("Sun 01:00-01:00 America/New_York", "2026-10-29T00:00:00Z", "2026-11-04T00:00:00Z"),
            ("Mon-Sun 02:30-02:10 America/New_York", "2026-03-05T00:00:00Z", "2026-03-11T00:00:00Z"),
            ("Mon-Sun 02:30-02:10 America/New_York", "2026-10-29T00:00:00Z", "2026-11-04T00:00:00Z"),
            ("Sun 02:15-02:45 Australia/Sydney", "2026-04-02T00:00:00Z", "2026-04-07T00:00:00Z"),
            ("Sun 02:15-02:45 Australia/Sydney", "2026-10-01T00:00:00Z", "2026-10-06T00:00:00Z"),
            ("Sat,Sun 00:00-24:00 America/Santiago", "2026-04-01T00:00:00Z", "2026-04-08T00:00:00Z"),
            ("Sat,Sun 23:30-00:30 America/Santiago", "2026-09-01T00:00:00Z", "2026-09-10T00:00:00Z"),
        ];
        for (spec, from, to) in cases {
            let win = match spec.parse::<Window>() {
                Ok(win) => win,
                // `01:00-01:00` is not valid text, but a wrapping 24 h window as a value.
                Err(_) => Window { start: 60, end: 60, ..w("Sun 01:00-02:00 America/New_York") },
            };
            if let Err(e) = check_window(&win, &Zone::utc(), ts(from), ts(to)) {
                panic!("{spec}: {e}");
            }
        }
    }
}
