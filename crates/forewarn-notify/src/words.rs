//! Words in the reader's language: day and month names, times in a named zone, durations,
//! activities and post states, in English and German.

use forewarn_model::Zone;
use forewarn_model::inventory::Language;
use forewarn_status::{PostKind, PostState};
use jiff::civil::Weekday;
use jiff::{Timestamp, ZonedDateTime};

/// The language of a subscriber (`en`, `de`; anything else reads English).
pub(crate) fn language(code: &str) -> Language {
    Language::ALL.iter().find(|(c, _)| c.eq_ignore_ascii_case(code.trim())).map_or(Language::En, |&(_, l)| l)
}

fn zoned(t: Timestamp, zone: &Zone) -> ZonedDateTime {
    t.to_zoned_datetime(zone.tz().clone())
}

fn weekday(lang: Language, wd: Weekday) -> &'static str {
    let i = wd.to_monday_zero_offset() as usize;
    match lang {
        Language::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][i],
        Language::De => ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."][i],
    }
}

fn month(lang: Language, m: i8) -> &'static str {
    let i = (m.clamp(1, 12) - 1) as usize;
    match lang {
        Language::En => ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][i],
        Language::De => [
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ][i],
    }
}

/// `Tue 2 Mar 2027`, `Di. 2. März 2027`.
fn day(lang: Language, z: &ZonedDateTime) -> String {
    let (wd, d, m, y) = (weekday(lang, z.weekday()), z.day(), month(lang, z.month()), z.year());
    match lang {
        Language::En => format!("{wd} {d} {m} {y}"),
        Language::De => format!("{wd} {d}. {m} {y}"),
    }
}

fn clock(z: &ZonedDateTime) -> String {
    format!("{:02}:{:02}", z.hour(), z.minute())
}

/// The zone's abbreviation at that instant: `CET`, `EST`; in German the usual `MEZ` and
/// `MESZ` for Central European time.
pub(crate) fn abbreviation(lang: Language, t: Timestamp, zone: &Zone) -> String {
    // The zone's own abbreviation at `t`, as `%Z` prints it, without a datetime in the zone.
    let info = zone.tz().to_offset_info(t);
    match (lang, info.abbreviation()) {
        (Language::De, "CET") => "MEZ".to_owned(),
        (Language::De, "CEST") => "MESZ".to_owned(),
        (_, abbr) => abbr.to_owned(),
    }
}

/// The zone's name after an abbreviation, ` (Europe/Berlin)`; nothing when the two are the
/// same (`UTC`).
fn named(abbreviation: &str, zone: &Zone) -> String {
    if abbreviation == zone.name() { String::new() } else { format!(" ({})", zone.name()) }
}

/// A zone as a heading says it: `Europe/Berlin (CET)`, `UTC`.
pub(crate) fn zone_words(lang: Language, t: Timestamp, zone: &Zone) -> String {
    let abbr = abbreviation(lang, t, zone);
    if abbr == zone.name() { abbr } else { format!("{} ({abbr})", zone.name()) }
}

/// One instant, its zone named: `Tue 2 Mar 2027 23:00 CET (Europe/Berlin)`.
pub(crate) fn moment(lang: Language, t: Timestamp, zone: &Zone) -> String {
    let z = zoned(t, zone);
    let abbr = abbreviation(lang, t, zone);
    format!("{} {} {abbr}{}", day(lang, &z), clock(&z), named(&abbr, zone))
}

/// A slot, its zone named: `Tue 2 Mar 2027 23:00–23:30 CET (Europe/Berlin)`,
/// `Fri 5 Mar 2027 23:45 – Sat 6 Mar 2027 00:15 CET (Europe/Berlin)`, and an abbreviation at
/// both ends when the zone's offset changes in between.
pub(crate) fn span(lang: Language, start: Timestamp, end: Timestamp, zone: &Zone) -> String {
    let (a, b) = (zoned(start, zone), zoned(end, zone));
    let (za, zb) = (abbreviation(lang, start, zone), abbreviation(lang, end, zone));
    let midnight_after = b.time() == jiff::civil::Time::midnight() && a.date().tomorrow().ok() == Some(b.date());
    let end_clock = if midnight_after { "24:00".to_owned() } else { clock(&b) };
    let same_day = a.date() == b.date() || midnight_after;
    let first = format!("{} {}", day(lang, &a), clock(&a));
    let text = match (same_day, za == zb) {
        (true, true) => format!("{first}–{end_clock} {za}"),
        (true, false) => format!("{first} {za}–{end_clock} {zb}"),
        (false, true) => format!("{first} – {} {} {za}", day(lang, &b), clock(&b)),
        (false, false) => format!("{first} {za} – {} {} {zb}", day(lang, &b), clock(&b)),
    };
    format!("{text}{}", named(&zb, zone))
}

/// The spans one message says, each said once: a customer's machines share few slots, and
/// each is said in its row and in its calendar entry.
pub(crate) struct Spans<'z> {
    lang: Language,
    zone: &'z Zone,
    said: std::cell::RefCell<forewarn_model::fxhash::FxHashMap<(Timestamp, Timestamp), String>>,
}

impl<'z> Spans<'z> {
    pub(crate) fn new(lang: Language, zone: &'z Zone) -> Spans<'z> {
        Spans { lang, zone, said: Default::default() }
    }

    /// [`span`] from `start` to `end`.
    pub(crate) fn say(&self, start: Timestamp, end: Timestamp) -> String {
        self.said.borrow_mut().entry((start, end)).or_insert_with(|| span(self.lang, start, end, self.zone)).clone()
    }
}

/// A duration for people: `30 minutes`, `1 hour 30 minutes`, `3 days`; `30 Minuten`, `1 Stunde`.
pub(crate) fn duration(lang: Language, seconds: i64) -> String {
    let unit = |n: i64, en: (&str, &str), de: (&str, &str)| {
        let (one, many) = match lang {
            Language::En => en,
            Language::De => de,
        };
        format!("{n} {}", if n == 1 { one } else { many })
    };
    if seconds >= 4 * 86_400 && seconds % 86_400 == 0 {
        return unit(seconds / 86_400, ("day", "days"), ("Tag", "Tage"));
    }
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(unit(h, ("hour", "hours"), ("Stunde", "Stunden")));
    }
    if m > 0 {
        parts.push(unit(m, ("minute", "minutes"), ("Minute", "Minuten")));
    }
    if s > 0 || parts.is_empty() {
        parts.push(unit(s, ("second", "seconds"), ("Sekunde", "Sekunden")));
    }
    parts.join(" ")
}

/// An activity in words: `os-update` is "operating system update", "Betriebssystem-Update".
pub(crate) fn activity(lang: Language, kind: &str) -> String {
    let known = match (lang, kind) {
        (Language::En, "os-update") => "operating system update",
        (Language::En, "reboot") => "reboot",
        (Language::En, "fsck") => "file system check",
        (Language::En, "fs-migrate") => "file system migration",
        (Language::En, "host-reboot") => "reboot of the host",
        (Language::En, "network") => "network work",
        (Language::De, "os-update") => "Betriebssystem-Update",
        (Language::De, "reboot") => "Neustart",
        (Language::De, "fsck") => "Dateisystemprüfung",
        (Language::De, "fs-migrate") => "Dateisystem-Migration",
        (Language::De, "host-reboot") => "Neustart des Hosts",
        (Language::De, "network") => "Netzwerkarbeiten",
        _ => return kind.replace(['-', '_'], " "),
    };
    known.to_owned()
}

/// `a`, `a, then b`, `a, b, then c`; `a, dann b`.
pub(crate) fn then(lang: Language, words: &[String]) -> String {
    let last = match lang {
        Language::En => ", then ",
        Language::De => ", dann ",
    };
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., end] => format!("{}{last}{end}", init.join(", ")),
    }
}

pub(crate) fn kind(lang: Language, kind: PostKind) -> &'static str {
    match (lang, kind) {
        (Language::En, PostKind::Maintenance) => "Maintenance",
        (Language::En, PostKind::Incident) => "Incident",
        (Language::En, PostKind::Notice) => "Notice",
        (Language::De, PostKind::Maintenance) => "Wartung",
        (Language::De, PostKind::Incident) => "Störung",
        (Language::De, PostKind::Notice) => "Hinweis",
    }
}

pub(crate) fn state(lang: Language, state: PostState) -> &'static str {
    match lang {
        Language::En => state.label(),
        Language::De => match state {
            PostState::Scheduled => "geplant",
            PostState::InProgress => "in Arbeit",
            PostState::Completed => "abgeschlossen",
            PostState::Cancelled => "abgesagt",
            PostState::Investigating => "wird untersucht",
            PostState::Identified => "Ursache gefunden",
            PostState::Monitoring => "wird beobachtet",
            PostState::Resolved => "behoben",
            PostState::Published => "veröffentlicht",
        },
    }
}

/// Picks the English or the German text.
pub(crate) fn pick<T>(lang: Language, en: T, de: T) -> T {
    match lang {
        Language::En => en,
        Language::De => de,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn words_slots_in_both_languages_name_their_zone() {
        let berlin = Zone::get("Europe/Berlin").unwrap();
        let (a, b) = (ts("2027-03-02T22:00:00Z"), ts("2027-03-02T22:30:00Z"));
        assert_eq!(span(Language::En, a, b, &berlin), "Tue 2 Mar 2027 23:00–23:30 CET (Europe/Berlin)");
        assert_eq!(span(Language::De, a, b, &berlin), "Di. 2. März 2027 23:00–23:30 MEZ (Europe/Berlin)");
        let (a, b) = (ts("2027-03-05T22:45:00Z"), ts("2027-03-05T23:15:00Z"));
        assert_eq!(
            span(Language::En, a, b, &berlin),
            "Fri 5 Mar 2027 23:45 – Sat 6 Mar 2027 00:15 CET (Europe/Berlin)"
        );
        let (a, b) = (ts("2027-03-05T22:30:00Z"), ts("2027-03-05T23:00:00Z"));
        assert_eq!(span(Language::En, a, b, &berlin), "Fri 5 Mar 2027 23:30–24:00 CET (Europe/Berlin)");
        let (a, b) = (ts("2027-03-28T00:30:00Z"), ts("2027-03-28T01:30:00Z"));
        assert_eq!(span(Language::De, a, b, &berlin), "So. 28. März 2027 01:30 MEZ–03:30 MESZ (Europe/Berlin)");
        let la = Zone::get("America/Los_Angeles").unwrap();
        assert_eq!(
            moment(Language::En, ts("2027-03-02T22:00:00Z"), &la),
            "Tue 2 Mar 2027 14:00 PST (America/Los_Angeles)"
        );
    }

    #[test]
    fn words_durations_activities_and_lists() {
        assert_eq!(duration(Language::En, 30 * 60), "30 minutes");
        assert_eq!(duration(Language::En, 90 * 60), "1 hour 30 minutes");
        assert_eq!(duration(Language::De, 3600), "1 Stunde");
        assert_eq!(duration(Language::De, 7 * 86_400), "7 Tage");
        assert_eq!(activity(Language::De, "os-update"), "Betriebssystem-Update");
        assert_eq!(activity(Language::En, "disk-swap"), "disk swap");
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(then(Language::En, &w(&["a", "b", "c"])), "a, b, then c");
        assert_eq!(then(Language::De, &w(&["a", "b"])), "a, dann b");
        assert_eq!(language("DE"), Language::De);
        assert_eq!(language("fr"), Language::En);
    }
}
