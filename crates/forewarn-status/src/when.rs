//! Times and dates in words, in a named zone: "Sat 9 Mar 2013 10:00–14:00 CET",
//! "1–12 March 2027". Every date a reader sees on the status page goes through here.

use forewarn_model::Zone;
use jiff::Timestamp;
use jiff::ZonedDateTime;
use jiff::civil::Date;
use jiff::tz::TimeZone;

fn zoned(t: Timestamp, zone: &Zone) -> ZonedDateTime {
    t.to_zoned_datetime(zone.tz().clone())
}

/// The zone's abbreviation at that instant ("CET", "CEST"; "-03" where the zone has none).
pub fn abbreviation(t: Timestamp, zone: &Zone) -> String {
    zoned(t, zone).strftime("%Z").to_string()
}

/// One instant: `Mon 4 Mar 2013 09:12 CET`.
pub fn moment(t: Timestamp, zone: &Zone) -> String {
    zoned(t, zone).strftime("%a %-d %b %Y %H:%M %Z").to_string()
}

/// The local calendar date of an instant.
pub fn date(t: Timestamp, zone: &Zone) -> Date {
    zoned(t, zone).date()
}

/// The local date of the last instant before `end`: the last day an interval that ends at
/// `end` (exclusive) touches. An interval ending at midnight does not touch the next day.
pub fn last_date(end: Timestamp, zone: &Zone) -> Date {
    let before = end.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap_or(end);
    date(before, zone)
}

/// A post's window, or `None` when it has no times:
/// `Sat 9 Mar 2013 10:00–14:00 CET`, `Fri 24 Aug 2012 22:00–24:00 CEST`,
/// `Fri 8 Mar 2013 22:00 – Sat 9 Mar 2013 02:00 CET`, `from Sat 9 Mar 2013 10:00 CET`,
/// `until …`. The zone is named once, or at both ends when it changes in between.
pub fn window(starts: Option<Timestamp>, ends: Option<Timestamp>, zone: &Zone) -> Option<String> {
    const DAY: &str = "%a %-d %b %Y %H:%M";
    match (starts, ends) {
        (Some(s), Some(e)) => {
            let (a, b) = (zoned(s, zone), zoned(e, zone));
            let (za, zb) = (a.strftime("%Z").to_string(), b.strftime("%Z").to_string());
            let first = a.strftime(DAY).to_string();
            let midnight_after =
                b.time() == jiff::civil::Time::midnight() && a.date().tomorrow().ok() == Some(b.date());
            let end_clock = if midnight_after { "24:00".to_owned() } else { b.strftime("%H:%M").to_string() };
            let end = if a.date() == b.date() || midnight_after { end_clock } else { b.strftime(DAY).to_string() };
            let dash = if end.len() > 5 { " – " } else { "–" };
            Some(if za == zb { format!("{first}{dash}{end} {za}") } else { format!("{first} {za}{dash}{end} {zb}") })
        }
        (Some(s), None) => Some(format!("from {}", moment(s, zone))),
        (None, Some(e)) => Some(format!("until {}", moment(e, zone))),
        (None, None) => None,
    }
}

/// A range of days in words, each date named once: `4 March 2027`, `1–12 March 2027`,
/// `28 February – 5 March 2027`, `30 December 2026 – 2 January 2027`.
pub fn day_range(first: Date, last: Date) -> String {
    let (first, last) = if last < first { (last, first) } else { (first, last) };
    if first == last {
        first.strftime("%-d %B %Y").to_string()
    } else if (first.year(), first.month()) == (last.year(), last.month()) {
        format!("{}–{}", first.day(), last.strftime("%-d %B %Y"))
    } else if first.year() == last.year() {
        format!("{} – {}", first.strftime("%-d %B"), last.strftime("%-d %B %Y"))
    } else {
        format!("{} – {}", first.strftime("%-d %B %Y"), last.strftime("%-d %B %Y"))
    }
}

/// An instant as RFC 3339 in UTC, to the second: `2013-03-09T09:00:00Z` (Atom, `datetime`).
pub fn rfc3339(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second()).unwrap_or(t).to_string()
}

/// An instant as an iCalendar UTC date-time: `20130309T090000Z`.
pub fn ical_utc(t: Timestamp) -> String {
    t.to_zoned_datetime(TimeZone::UTC).strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn when_windows_name_their_zone() {
        let berlin = Zone::get("Europe/Berlin").unwrap();
        let w = |a: &str, b: &str| window(Some(ts(a)), Some(ts(b)), &berlin).unwrap();
        assert_eq!(w("2013-03-09T09:00:00Z", "2013-03-09T13:00:00Z"), "Sat 9 Mar 2013 10:00–14:00 CET");
        assert_eq!(w("2012-08-24T20:00:00Z", "2012-08-24T22:00:00Z"), "Fri 24 Aug 2012 22:00–24:00 CEST");
        assert_eq!(
            w("2013-03-08T21:00:00Z", "2013-03-09T01:00:00Z"),
            "Fri 8 Mar 2013 22:00 – Sat 9 Mar 2013 02:00 CET"
        );
        // Over the change to summer time the zone is named at both ends.
        assert_eq!(w("2013-03-31T00:00:00Z", "2013-03-31T02:00:00Z"), "Sun 31 Mar 2013 01:00 CET–04:00 CEST");
        assert_eq!(window(Some(ts("2013-03-09T09:00:00Z")), None, &berlin).unwrap(), "from Sat 9 Mar 2013 10:00 CET");
        assert_eq!(window(None, Some(ts("2013-03-09T09:00:00Z")), &berlin).unwrap(), "until Sat 9 Mar 2013 10:00 CET");
        assert_eq!(window(None, None, &berlin), None);
        assert_eq!(moment(ts("2013-03-04T08:12:00Z"), &berlin), "Mon 4 Mar 2013 09:12 CET");
        assert_eq!(last_date(ts("2027-03-05T23:00:00Z"), &berlin), Date::constant(2027, 3, 5));
    }

    #[test]
    fn when_day_ranges_name_each_part_once() {
        let d = |y, m, d| Date::new(y, m, d).unwrap();
        assert_eq!(day_range(d(2027, 3, 4), d(2027, 3, 4)), "4 March 2027");
        assert_eq!(day_range(d(2027, 3, 1), d(2027, 3, 12)), "1–12 March 2027");
        assert_eq!(day_range(d(2027, 2, 28), d(2027, 3, 5)), "28 February – 5 March 2027");
        assert_eq!(day_range(d(2026, 12, 30), d(2027, 1, 2)), "30 December 2026 – 2 January 2027");
    }

    #[test]
    fn when_machine_formats() {
        assert_eq!(rfc3339(ts("2013-03-09T09:00:00.5Z")), "2013-03-09T09:00:00Z");
        assert_eq!(ical_utc(ts("2013-03-09T09:00:00+01:00")), "20130309T080000Z");
    }
}
