//! Checking hand-written text against its campaign: every date written with a year
//! (`2013-03-09`, `09.03.2013`, `9 March 2013`, `March 9, 2013`, each with an optional
//! weekday before it, in English or German) is read, and a weekday that does not match its
//! date, or a date outside the campaign's days, is reported with what it probably meant.

use std::fmt;

use forewarn_model::{Campaign, Zone};
use jiff::ToSpan as _;
use jiff::civil::{Date, Weekday};

use crate::when;

/// A date in a text that contradicts itself or its campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateProblem {
    /// Byte range in the text: the date as written, with its weekday.
    pub span: (usize, usize),
    /// The text at `span`: `Saturday 2013-02-09`.
    pub found: String,
    /// What is wrong, and the suggestion if there is one:
    /// `2013-02-09 is outside the campaign's dates, 4–9 March 2013; perhaps 2013-02-09
    /// should have read 2013-03-09 (a Saturday)`.
    pub message: String,
    /// The date the text probably meant.
    pub suggestion: Option<Date>,
}

impl fmt::Display for DateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "“{}”: {}.", self.found, self.message)
    }
}

/// The days of a campaign in a zone (the platform's), first and last inclusive: the day it
/// starts and the day of its last instant (a campaign ending at midnight ends the day before).
pub fn campaign_range(campaign: &Campaign, zone: &Zone) -> (Date, Date) {
    (when::date(campaign.starts, zone), when::last_date(campaign.ends, zone))
}

/// Every problem with the dates written in `text`, in the order they are written: a weekday
/// that is not the date's, a date that does not exist, and, when the campaign's days are
/// given (first and last inclusive), a date outside them.
pub fn check(text: &str, range: Option<(Date, Date)>) -> Vec<DateProblem> {
    let range = range.map(|(a, b)| if b < a { (b, a) } else { (a, b) });
    find(text).into_iter().filter_map(|w| problem(text, &w, range)).collect()
}

/// A date as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Written {
    /// From the weekday (if any) to the end of the date (and its closing bracket).
    span: (usize, usize),
    /// The date alone.
    date_span: (usize, usize),
    weekday: Option<Weekday>,
    year: i32,
    month: i32,
    day: i32,
}

impl Written {
    fn date(&self) -> Option<Date> {
        Date::new(i16::try_from(self.year).ok()?, i8::try_from(self.month).ok()?, i8::try_from(self.day).ok()?).ok()
    }

    /// `YYYYMMDD`, the digits a typo changes.
    fn digits(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

fn problem(text: &str, w: &Written, range: Option<(Date, Date)>) -> Option<DateProblem> {
    let written = &text[w.date_span.0..w.date_span.1];
    let mut message;
    let suggestion;
    match w.date() {
        None => {
            message = format!("{written} is not a date: {}", why_not_a_date(w));
            suggestion = range.and_then(|r| suggest(w, r, false));
        }
        Some(date) => {
            let wrong_day = w.weekday.filter(|&wd| wd != date.weekday());
            let outside = range.filter(|&(lo, hi)| date < lo || date > hi);
            message = match (wrong_day, outside) {
                (None, None) => return None,
                (Some(wd), None) => format!("{written} is a {}, not a {}", name(date.weekday()), name(wd)),
                (None, Some((lo, hi))) => {
                    format!("{written} is outside the campaign's dates, {}", when::day_range(lo, hi))
                }
                (Some(wd), Some((lo, hi))) => format!(
                    "{written} is a {}, not a {}, and outside the campaign's dates, {}",
                    name(date.weekday()),
                    name(wd),
                    when::day_range(lo, hi)
                ),
            };
            // A date in range with a wrong weekday: only a typo that gives the written weekday is a
            // suggestion worth making.
            suggestion = range.and_then(|r| suggest(w, r, outside.is_none()));
        }
    }
    if let Some(s) = suggestion {
        message.push_str(&format!("; perhaps {written} should have read {s} (a {})", name(s.weekday())));
    }
    Some(DateProblem { span: w.span, found: text[w.span.0..w.span.1].to_owned(), message, suggestion })
}

fn why_not_a_date(w: &Written) -> String {
    if !(1..=12).contains(&w.month) {
        return format!("there is no month {}", w.month);
    }
    let days = i16::try_from(w.year)
        .ok()
        .and_then(|y| Date::new(y, w.month as i8, 1).ok())
        .map_or(31, |d| i32::from(d.days_in_month()));
    let month = Date::new(2000, w.month as i8, 1).map(|d| d.strftime("%B").to_string()).unwrap_or_default();
    format!("{month} {} has {days} days", w.year)
}

/// The date in `range` the writer most probably meant: one with the same day of the month, or
/// one digit away when that gives the written weekday (or when what was written is no date);
/// of those, the ones with the written weekday if any has it; of those the fewest digits
/// away, if only one is. With `typo_with_weekday`, only the typos count.
fn suggest(w: &Written, (lo, hi): (Date, Date), typo_with_weekday: bool) -> Option<Date> {
    let digits = w.digits();
    if digits.len() != 8 {
        return None;
    }
    let in_range = |d: &Date| lo <= *d && *d <= hi;
    let mut candidates: Vec<Date> = Vec::new();
    if !typo_with_weekday {
        // The same day in every month of the range.
        let mut month = lo.first_of_month();
        for _ in 0..1200 {
            if month > hi {
                break;
            }
            if let Ok(d) = Date::new(month.year(), month.month(), i8::try_from(w.day).unwrap_or(0)) {
                candidates.extend(Some(d).filter(in_range));
            }
            let Ok(next) = month.checked_add(1.month()) else { break };
            month = next;
        }
    }
    // One digit changed anywhere.
    let bytes = digits.as_bytes();
    for pos in 0..8 {
        for digit in b'0'..=b'9' {
            if digit == bytes[pos] {
                continue;
            }
            let mut typo = bytes.to_vec();
            typo[pos] = digit;
            let typo = String::from_utf8_lossy(&typo).into_owned();
            let part = |a: usize, b: usize| typo[a..b].parse::<i8>().ok();
            let (Ok(y), Some(m), Some(d)) = (typo[..4].parse::<i16>(), part(4, 6), part(6, 8)) else { continue };
            // A typo counts when it gives the written weekday, or when what was written is no date.
            if let Ok(date) = Date::new(y, m, d)
                && (w.date().is_none() || w.weekday == Some(date.weekday()))
            {
                candidates.extend(Some(date).filter(in_range));
            }
        }
    }
    candidates.sort();
    candidates.dedup();
    if let Some(wd) = w.weekday {
        if typo_with_weekday || candidates.iter().any(|c| c.weekday() == wd) {
            candidates.retain(|c| c.weekday() == wd);
        }
    } else if typo_with_weekday {
        return None;
    }
    let distance = |d: &Date| {
        let other = d.strftime("%Y%m%d").to_string();
        other.bytes().zip(digits.bytes()).filter(|(a, b)| a != b).count()
    };
    let best = candidates.iter().map(distance).min()?;
    let mut best_ones = candidates.iter().filter(|c| distance(c) == best);
    let first = *best_ones.next()?;
    if best_ones.next().is_some() { None } else { Some(first) }
}

fn name(wd: Weekday) -> &'static str {
    match wd {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

// ---------------------------------------------------------------------------
// Reading dates in text.

/// Every date written with a year, in order.
fn find(text: &str) -> Vec<Written> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let prev = text[..i].chars().next_back();
        if prev.is_none_or(|c| !c.is_alphanumeric()) {
            if let Some((end, year, month, day)) = date_at(text, i) {
                let (start, weekday, bracket) = match weekday_before(text, i) {
                    Some((start, wd, bracket)) => (start, Some(wd), bracket),
                    None => (i, None, false),
                };
                let span_end = if bracket && text[end..].starts_with(')') { end + 1 } else { end };
                out.push(Written { span: (start, span_end), date_span: (i, end), weekday, year, month, day });
                i = end;
                continue;
            }
        }
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    out
}

/// A date starting at byte `i`: its end, year, month and day.
fn date_at(text: &str, i: usize) -> Option<(usize, i32, i32, i32)> {
    let s = &text[i..];
    let first = s.chars().next()?;
    if first.is_ascii_digit() {
        iso(s).or_else(|| dotted(text, i)).or_else(|| day_month_year(s)).map(|(n, y, m, d)| (i + n, y, m, d))
    } else if first.is_alphabetic() {
        month_day_year(s).map(|(n, y, m, d)| (i + n, y, m, d))
    } else {
        None
    }
}

/// A number of `min` to `max` ASCII digits (and no more) at the start of `s`: value and length.
fn number(s: &str, min: usize, max: usize) -> Option<(i32, usize)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n < min || n > max {
        return None;
    }
    Some((s[..n].parse().ok()?, n))
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Length of the white space at the start of `s`.
fn spaces(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

/// The word (letters) at the start of `s`.
fn word(s: &str) -> &str {
    let n = s.char_indices().find(|(_, c)| !c.is_alphabetic()).map_or(s.len(), |(i, _)| i);
    &s[..n]
}

/// Whether a date may end where `rest` begins: not inside a word or a longer number.
fn ends_cleanly(rest: &str) -> bool {
    rest.chars().next().is_none_or(|c| !c.is_alphanumeric())
}

/// `2013-03-09`, also as the date of a timestamp (`2013-03-09T10:00:00+01:00`).
fn iso(s: &str) -> Option<(usize, i32, i32, i32)> {
    let (y, _) = number(s, 4, 4)?;
    let s2 = s[4..].strip_prefix('-')?;
    let (m, _) = number(s2, 2, 2)?;
    let s3 = s2[2..].strip_prefix('-')?;
    let (d, _) = number(s3, 2, 2)?;
    let rest = &s3[2..];
    let timestamp = rest.strip_prefix('T').is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    (ends_cleanly(rest) || timestamp).then_some((10, y, m, d))
}

/// `09.03.2013` or `9.3.2013`; not inside a longer dotted number (`1.09.03.2013`, `09.03.2013.1`).
fn dotted(text: &str, i: usize) -> Option<(usize, i32, i32, i32)> {
    let before = &text[..i];
    if before.ends_with('.') && before[..before.len() - 1].ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let s = &text[i..];
    let (d, n1) = number(s, 1, 2)?;
    let s2 = s[n1..].strip_prefix('.')?;
    let (m, n2) = number(s2, 1, 2)?;
    let s3 = s2[n2..].strip_prefix('.')?;
    let (y, _) = number(s3, 4, 4)?;
    let rest = &s3[4..];
    let more = rest.strip_prefix('.').is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    (ends_cleanly(rest) && !more).then_some((n1 + n2 + 6, y, m, d))
}

/// After a day number: an ordinal ending (`9th`) or a dot (`9.`), and the length taken.
fn day_suffix(s: &str) -> usize {
    let w = word(s);
    if w.len() == 2 && ["st", "nd", "rd", "th"].iter().any(|o| w.eq_ignore_ascii_case(o)) {
        2
    } else if s.starts_with('.') {
        1
    } else {
        0
    }
}

/// Where `s` goes on after one or more spaces at `p`.
fn after_space(s: &str, p: usize) -> Option<usize> {
    let sp = spaces(&s[p..]);
    (sp > 0).then_some(p + sp)
}

/// After spaces at `p`, a four-digit year that ends cleanly: where it ends, and the year.
fn space_then_year(s: &str, p: usize) -> Option<(usize, i32)> {
    let p = after_space(s, p)?;
    let (y, n) = number(&s[p..], 4, 4)?;
    ends_cleanly(&s[p + n..]).then_some((p + n, y))
}

/// `9 March 2013`, `9. März 2013`, `9th of Mar. 2013`.
fn day_month_year(s: &str) -> Option<(usize, i32, i32, i32)> {
    let (d, mut p) = number(s, 1, 2)?;
    p += day_suffix(&s[p..]);
    p = after_space(s, p)?;
    if word(&s[p..]).eq_ignore_ascii_case("of") {
        p = after_space(s, p + 2)?;
    }
    let w = word(&s[p..]);
    let m = month(w)?;
    p += w.len();
    p += usize::from(s[p..].starts_with('.'));
    p += usize::from(s[p..].starts_with(','));
    let (end, y) = space_then_year(s, p)?;
    Some((end, y, m, d))
}

/// `March 9, 2013`, `Mar 9th 2013`; not `March 9.2013`.
fn month_day_year(s: &str) -> Option<(usize, i32, i32, i32)> {
    let w = word(s);
    let m = month(w)?;
    let mut p = w.len();
    p += usize::from(s[p..].starts_with('.'));
    p = after_space(s, p)?;
    let (d, n) = number(&s[p..], 1, 2)?;
    p += n;
    if s[p..].starts_with('.') {
        return None;
    }
    p += day_suffix(&s[p..]);
    p += usize::from(s[p..].starts_with(','));
    let (end, y) = space_then_year(s, p)?;
    Some((end, y, m, d))
}

/// A month's number from its English or German name, full or abbreviated, any case.
pub(crate) fn month(word: &str) -> Option<i32> {
    const NAMES: [&[&str]; 12] = [
        &["january", "jan", "januar"],
        &["february", "feb", "februar"],
        &["march", "mar", "märz", "maerz", "mär", "mrz"],
        &["april", "apr"],
        &["may", "mai"],
        &["june", "jun", "juni"],
        &["july", "jul", "juli"],
        &["august", "aug"],
        &["september", "sep", "sept"],
        &["october", "oct", "oktober", "okt"],
        &["november", "nov"],
        &["december", "dec", "dezember", "dez"],
    ];
    if word.len() < 3 {
        return None;
    }
    let lower = word.to_lowercase();
    NAMES.iter().position(|names| names.contains(&lower.as_str())).map(|i| i as i32 + 1)
}

/// A weekday written just before the date at byte `i` (`Saturday 9 March 2013`,
/// `Sat, 2013-03-09`, `Samstag, den 09.03.2013`, `Monday (2012-07-09)`): where it starts,
/// which day, and whether a bracket opened between them. Not the end of a range of weekdays
/// (`Mon–Fri 2013-03-04`).
fn weekday_before(text: &str, i: usize) -> Option<(usize, Weekday, bool)> {
    let back = |p: usize| text[..p].trim_end_matches(is_space).len();
    let mut p = back(i);
    let bracket = text[..p].ends_with('(');
    if bracket {
        p = back(p - 1);
    }
    let mut punctuated = false;
    if text[..p].ends_with(',') {
        punctuated = true;
        p = back(p - 1);
    }
    for filler in ["the", "den"] {
        let before = &text[..p];
        if before.len() > filler.len()
            && before.is_char_boundary(before.len() - filler.len())
            && before[before.len() - filler.len()..].eq_ignore_ascii_case(filler)
        {
            let q = back(p - filler.len());
            if q < p - filler.len() {
                p = q;
                if text[..p].ends_with(',') {
                    punctuated = true;
                    p = back(p - 1);
                }
            }
            break;
        }
    }
    if text[..p].ends_with('.') {
        punctuated = true;
        p -= 1;
    }
    let before = &text[..p];
    let start = before.char_indices().rev().take_while(|(_, c)| c.is_alphabetic()).last().map(|(j, _)| j)?;
    if text[..start].chars().next_back().is_some_and(char::is_alphanumeric) {
        return None;
    }
    if text[..start].trim_end_matches(is_space).ends_with(['-', '–', '—', '/']) {
        return None;
    }
    Some((start, weekday(&before[start..], punctuated)?, bracket))
}

/// A weekday from its English or German name: full or three letters in any case, or the
/// German two-letter forms (`Sa.`, `Mo,`) capitalised and followed by a dot or comma.
pub(crate) fn weekday(word: &str, punctuated: bool) -> Option<Weekday> {
    use Weekday::*;
    const LONG: [(&str, Weekday); 25] = [
        ("monday", Monday),
        ("mon", Monday),
        ("montag", Monday),
        ("tuesday", Tuesday),
        ("tue", Tuesday),
        ("tues", Tuesday),
        ("dienstag", Tuesday),
        ("wednesday", Wednesday),
        ("wed", Wednesday),
        ("mittwoch", Wednesday),
        ("thursday", Thursday),
        ("thu", Thursday),
        ("thur", Thursday),
        ("thurs", Thursday),
        ("donnerstag", Thursday),
        ("friday", Friday),
        ("fri", Friday),
        ("freitag", Friday),
        ("saturday", Saturday),
        ("sat", Saturday),
        ("samstag", Saturday),
        ("sonnabend", Saturday),
        ("sunday", Sunday),
        ("sun", Sunday),
        ("sonntag", Sunday),
    ];
    const GERMAN_SHORT: [(&str, Weekday); 7] = [
        ("Mo", Monday),
        ("Di", Tuesday),
        ("Mi", Wednesday),
        ("Do", Thursday),
        ("Fr", Friday),
        ("Sa", Saturday),
        ("So", Sunday),
    ];
    let lower = word.to_lowercase();
    if let Some(&(_, wd)) = LONG.iter().find(|(n, _)| *n == lower) {
        return Some(wd);
    }
    GERMAN_SHORT.iter().find(|(n, _)| punctuated && *n == word).map(|&(_, wd)| wd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    /// The problems as `found => message` lines.
    fn problems(text: &str, range: Option<(Date, Date)>) -> Vec<String> {
        check(text, range)
            .iter()
            .map(|p| {
                assert_eq!(&text[p.span.0..p.span.1], p.found);
                p.to_string()
            })
            .collect()
    }

    /// The dates read in a text, as `weekday? YYYY-MM-DD` at their spans.
    fn read(text: &str) -> Vec<String> {
        find(text)
            .iter()
            .map(|w| {
                let wd = w.weekday.map_or(String::new(), |wd| format!("{} ", name(wd)));
                format!("{}{}-{:02}-{:02} [{}]", wd, w.year, w.month, w.day, &text[w.span.0..w.span.1])
            })
            .collect()
    }

    #[test]
    fn dates_reads_every_format() {
        assert_eq!(
            read(
                "On Saturday 2013-03-09, sat. 09.03.2013, Samstag, den 9. März 2013, \
                 Saturday, 9 March 2013, Sat March 9, 2013 and Sa., 9.3.2013 and the 9th of Mar 2013 \
                 and Monday (2012-07-09) and Sonntag, 7.10.2012."
            ),
            [
                "Saturday 2013-03-09 [Saturday 2013-03-09]",
                "Saturday 2013-03-09 [sat. 09.03.2013]",
                "Saturday 2013-03-09 [Samstag, den 9. März 2013]",
                "Saturday 2013-03-09 [Saturday, 9 March 2013]",
                "Saturday 2013-03-09 [Sat March 9, 2013]",
                "Saturday 2013-03-09 [Sa., 9.3.2013]",
                "2013-03-09 [9th of Mar 2013]",
                "Monday 2012-07-09 [Monday (2012-07-09)]",
                "Sunday 2012-10-07 [Sonntag, 7.10.2012]",
            ]
        );
    }

    #[test]
    fn dates_ignores_times_versions_and_numbers() {
        let text = "between 10:00-14:00 CET; Varnish 3 replaces Varnish 2; Python 2.4 and 2.4.1 \
                    are old; build 1.09.03.2013 and 09.03.2013.4; 20130309; 2013-3-9; a 12-03-2013 \
                    form; Mon-Fri 22:00-05:00; 3 March; in 2013 we; 123 March 2013; March 2013";
        assert_eq!(read(text), Vec::<String>::new());
        // The weekday that ends a range of weekdays is not the date's.
        assert_eq!(read("Mon–Fri 2013-03-04 to 2013-03-08"), ["2013-03-04 [2013-03-04]", "2013-03-08 [2013-03-08]"]);
    }

    #[test]
    fn dates_timestamps_inside_the_range_are_fine() {
        let range = Some((d(2013, 3, 4), d(2013, 3, 9)));
        let text = "Starts 2013-03-04T22:00:00+01:00, ends 2013-03-09T14:00:00Z (Saturday 2013-03-09).";
        assert_eq!(problems(text, range), Vec::<String>::new());
        assert_eq!(
            problems("until 2013-04-09T14:00:00Z", range),
            ["“2013-04-09”: 2013-04-09 is outside the campaign's dates, 4–9 March 2013; \
              perhaps 2013-04-09 should have read 2013-03-09 (a Saturday)."]
        );
    }

    #[test]
    fn dates_wrong_weekday_names_the_real_one() {
        assert_eq!(
            problems("The hosts reboot on Saturday 2013-02-11 at 10:00.", None),
            ["“Saturday 2013-02-11”: 2013-02-11 is a Monday, not a Saturday."]
        );
        assert_eq!(
            problems("Freitag, 9. März 2013 and Thu March 7, 2013", None),
            ["“Freitag, 9. März 2013”: 9. März 2013 is a Saturday, not a Friday."]
        );
        // In range, a one-digit typo that gives the written weekday is suggested.
        let range = Some((d(2013, 3, 4), d(2013, 3, 9)));
        let p = check("on Saturday 2013-03-08", range);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].suggestion, Some(d(2013, 3, 9)));
        assert_eq!(
            p[0].to_string(),
            "“Saturday 2013-03-08”: 2013-03-08 is a Friday, not a Saturday; perhaps 2013-03-08 should have read \
             2013-03-09 (a Saturday)."
        );
    }

    #[test]
    fn dates_wrong_month_is_found_and_corrected() {
        // A host reboot announced for the right weekday in the wrong month.
        let range = Some((d(2013, 3, 4), d(2013, 3, 9)));
        let p = check("The hypervisors restart on Saturday 2013-02-09 around 10:00-14:00 CET.", range);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].found, "Saturday 2013-02-09");
        assert_eq!(p[0].suggestion, Some(d(2013, 3, 9)));
        assert_eq!(
            p[0].to_string(),
            "“Saturday 2013-02-09”: 2013-02-09 is outside the campaign's dates, 4–9 March 2013; perhaps \
             2013-02-09 should have read 2013-03-09 (a Saturday)."
        );
    }

    #[test]
    fn dates_wrong_year_in_a_range_is_found_and_corrected() {
        // The title says one year, the body's range another.
        let range = Some((d(2013, 3, 4), d(2013, 3, 9)));
        let text = "Roll-out from 2013-03-04: machines are updated between 2012-03-04 and 2012-03-09.";
        let p = check(text, range);
        assert_eq!(p.iter().map(|p| p.suggestion).collect::<Vec<_>>(), [Some(d(2013, 3, 4)), Some(d(2013, 3, 9))]);
        assert_eq!(p[0].span, (text.find("2012-03-04").unwrap(), text.find("2012-03-04").unwrap() + 10));
        assert!(p[1].to_string().contains("2012-03-09 should have read 2013-03-09 (a Saturday)"), "{}", p[1]);
    }

    #[test]
    fn dates_suggestions_prefer_the_written_weekday_and_stay_silent_when_unsure() {
        // A range over two months: the 9th exists in both; the written Saturday picks March.
        let range = Some((d(2013, 2, 20), d(2013, 4, 20)));
        let p = check("Saturday 2012-04-09", range);
        assert_eq!(p[0].suggestion, Some(d(2013, 3, 9)), "{}", p[0]);
        // Without a weekday, 2013-04-09 is one digit away, 2013-03-09 two: April.
        assert_eq!(check("2012-04-09", range)[0].suggestion, Some(d(2013, 4, 9)));
        // Nothing near: no suggestion, but the problem.
        let p = check("2011-11-25", range);
        assert_eq!(p[0].suggestion, None);
        assert_eq!(
            p[0].to_string(),
            "“2011-11-25”: 2011-11-25 is outside the campaign's dates, 20 February – 20 April 2013."
        );
        // A weekday mismatch with nothing in range that has the weekday: no suggestion.
        assert_eq!(check("Sunday 2013-03-04", Some((d(2013, 3, 4), d(2013, 3, 5))))[0].suggestion, None);
    }

    #[test]
    fn dates_that_do_not_exist() {
        assert_eq!(
            problems("on 2013-02-30 and 31.04.2013 and 2013-13-01", None),
            [
                "“2013-02-30”: 2013-02-30 is not a date: February 2013 has 28 days.",
                "“31.04.2013”: 31.04.2013 is not a date: April 2013 has 30 days.",
                "“2013-13-01”: 2013-13-01 is not a date: there is no month 13.",
            ]
        );
        let p = check("2013-03-39", Some((d(2013, 3, 4), d(2013, 3, 9))));
        assert_eq!(p[0].suggestion, Some(d(2013, 3, 9)), "{}", p[0]);
    }

    #[test]
    fn dates_range_is_inclusive_by_calendar_date_and_correct_text_passes() {
        let range = Some((d(2012, 10, 9), d(2012, 10, 9)));
        let text = "Switch work on Tuesday, 2012-10-09 between 22:00 and 24:00 CEST (Tue 9 Oct 2012, \
                    October 9, 2012, 09.10.2012).";
        assert_eq!(problems(text, range), Vec::<String>::new());
        let p = problems("first planned for Monday 2012-10-08", range);
        assert_eq!(p, ["“Monday 2012-10-08”: 2012-10-08 is outside the campaign's dates, 9 October 2012."]);
    }

    #[test]
    fn dates_campaign_range_ends_the_day_before_a_midnight_end() {
        let (inv, campaign, _) = crate::testing::planned("os-update.toml");
        assert_eq!(campaign_range(&campaign, &inv.platform.zone), (d(2027, 3, 1), d(2027, 3, 5)));
    }
}
