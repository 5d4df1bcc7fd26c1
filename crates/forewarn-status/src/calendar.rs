//! The status page's maintenance calendar (RFC 5545): one event per maintenance post with a
//! window, recent or upcoming, with a UID that never changes for the post, a SEQUENCE that
//! rises with each correction and with the cancellation, and cancelled posts kept as
//! cancelled events; every event is transparent (it does not make anyone busy). Bytes depend only
//! on the posts: DTSTAMP is the post's last change, not the time of the request.

use forewarn_model::ical::{escape_into, fold_into};
use jiff::{SignedDuration, Timestamp};

use crate::atom::kind_title;
use crate::post::{Post, PostKind, PostState};
use crate::site::Site;
use crate::{markdown, when};

/// How long after its end a maintenance stays in the calendar.
pub const KEEP_AFTER_END: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The calendar of maintenance posts that have a start and an end and did not end more than
/// [`KEEP_AFTER_END`] before `now`, in order of their start.
pub fn calendar(posts: &[Post], site: &Site, now: Timestamp) -> String {
    let horizon = now.checked_sub(KEEP_AFTER_END).unwrap_or(now);
    let mut events: Vec<(&Post, Timestamp, Timestamp)> = posts
        .iter()
        .filter(|p| p.kind == PostKind::Maintenance)
        .filter_map(|p| Some((p, p.starts?, p.ends?)))
        .filter(|&(_, _, ends)| ends >= horizon)
        .collect();
    events.sort_by_key(|&(p, starts, _)| (starts, p.id));

    let mut ics = Lines::default();
    for (name, value) in [
        ("BEGIN", "VCALENDAR"),
        ("VERSION", "2.0"),
        ("PRODID", "-//forewarn//status page//EN"),
        ("CALSCALE", "GREGORIAN"),
        ("METHOD", "PUBLISH"),
    ] {
        ics.raw(name, value);
    }
    ics.text("X-WR-CALNAME", &format!("{} maintenance", site.name));
    let host = site.host();
    for (post, starts, ends) in events {
        let url = site.url(&format!("/posts/{}", post.id));
        ics.raw("BEGIN", "VEVENT");
        ics.text("UID", &format!("post-{}@{host}", post.id));
        ics.raw("DTSTAMP", &when::ical_utc(post.updated));
        ics.raw("CREATED", &when::ical_utc(post.created));
        ics.raw("LAST-MODIFIED", &when::ical_utc(post.updated));
        ics.raw("DTSTART", &when::ical_utc(starts));
        ics.raw("DTEND", &when::ical_utc(ends));
        // Every correction raises SEQUENCE, and so does the cancellation, so that calendars
        // that hold the event take the change.
        let cancelled = post.state == PostState::Cancelled;
        ics.raw("SEQUENCE", &(post.revision.saturating_sub(1) + u32::from(cancelled)).to_string());
        ics.raw("STATUS", if cancelled { "CANCELLED" } else { "CONFIRMED" });
        let summary = if cancelled { format!("Cancelled: {}", post.title) } else { post.title.clone() };
        ics.text("SUMMARY", &summary);
        let mut description = format!("{}, {}.", kind_title(post.kind), post.state.label());
        if let Some(w) = when::window(Some(starts), Some(ends), &site.zone) {
            description.push_str(&format!(" When: {w}."));
        }
        let body = markdown::plain(&post.body);
        if !body.is_empty() {
            description.push_str("\n\n");
            description.push_str(&body);
        }
        description.push_str(&format!("\n\n{url}"));
        ics.text("DESCRIPTION", &description);
        ics.raw("URL", &url);
        // A maintenance does not make a subscriber busy.
        ics.raw("TRANSP", "TRANSPARENT");
        ics.raw("END", "VEVENT");
    }
    ics.raw("END", "VCALENDAR");
    ics.out
}

/// Content lines: CRLF-terminated, folded so that no line is longer than 75 octets.
#[derive(Default)]
struct Lines {
    out: String,
}

impl Lines {
    /// `NAME:VALUE` with a value already in its type's syntax (a date-time, a number, a URI).
    /// Line breaks, which no such value may hold, are left out.
    fn raw(&mut self, name: &str, value: &str) {
        let value: String = value.chars().filter(|c| !c.is_control()).collect();
        fold_into(&mut self.out, &format!("{name}:{value}"));
    }

    /// `NAME:VALUE` with a TEXT value, escaped (RFC 5545 §3.3.11).
    fn text(&mut self, name: &str, value: &str) {
        let mut line = format!("{name}:");
        escape_into(&mut line, value);
        fold_into(&mut self.out, &line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, ts};

    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    fn lines_of(f: impl FnOnce(&mut Lines)) -> String {
        let mut l = Lines::default();
        f(&mut l);
        l.out
    }

    #[test]
    fn calendar_folds_at_75_octets_between_characters() {
        let out = lines_of(|l| l.raw("X", &"a".repeat(73)));
        assert_eq!(out, format!("X:{}\r\n", "a".repeat(73)));
        let out = lines_of(|l| l.raw("X", &"a".repeat(74)));
        assert_eq!(out, format!("X:{}\r\n a\r\n", "a".repeat(73)));
        let long = format!("{}€😀ü", "ä".repeat(100));
        let out = lines_of(|l| l.text("SUMMARY", &long));
        for line in out.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        assert_eq!(unfold(&out), format!("SUMMARY:{long}\r\n"));
    }

    #[test]
    fn calendar_escapes_text() {
        let out = lines_of(|l| l.text("DESCRIPTION", "a\\b;c,d\ne\r\nf\rg\u{7}\th"));
        assert_eq!(out, "DESCRIPTION:a\\\\b\\;c\\,d\\ne\\nf\\ng \th\r\n");
    }

    #[test]
    fn calendar_has_recent_and_upcoming_maintenance_with_stable_uids() {
        let site = testing::site();
        let posts = testing::posts();
        let now = ts("2013-03-05T12:00:00Z");
        let ics = calendar(&posts, &site, now);
        testing::keep("status-calendar.ics", &ics);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{ics}");
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains(['\n', '\r']), "bare line ends");
        for l in ics.split("\r\n") {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        let text = unfold(&ics);
        let expected: Vec<i64> = {
            let mut v: Vec<&Post> = posts
                .iter()
                .filter(|p| {
                    p.kind == PostKind::Maintenance
                        && p.starts.is_some()
                        && p.ends.is_some_and(|e| e >= now - KEEP_AFTER_END)
                })
                .collect();
            v.sort_by_key(|p| (p.starts, p.id));
            v.iter().map(|p| p.id).collect()
        };
        let uids: Vec<String> = text.lines().filter_map(|l| l.strip_prefix("UID:")).map(String::from).collect();
        assert_eq!(uids, expected.iter().map(|id| format!("post-{id}@status.lindenau.example")).collect::<Vec<_>>());
        // The corrected post raised its sequence; the cancelled one says so.
        assert!(text.contains("UID:post-2@status.lindenau.example\r\nDTSTAMP:20130304T081200Z\r\n"), "{text}");
        assert!(text.contains("DTSTART:20130309T090000Z\r\nDTEND:20130309T130000Z\r\nSEQUENCE:1\r\nSTATUS:CONFIRMED"));
        assert!(text.contains("STATUS:CANCELLED\r\nSUMMARY:Cancelled: Core switch replacement\r\n"), "{text}");
        // Cancelling raises SEQUENCE too, so calendars that hold the event take it; no event
        // makes its reader busy.
        assert!(text.contains("SEQUENCE:1\r\nSTATUS:CANCELLED\r\n"), "{text}");
        assert_eq!(text.matches("TRANSP:TRANSPARENT\r\n").count(), uids.len(), "{text}");
        assert!(!text.contains("OPAQUE"), "{text}");
        assert!(text.contains("When: Sat 9 Mar 2013 10:00–14:00 CET."), "{text}");
        // The clock does not change the bytes while the same events are in.
        assert_eq!(ics, calendar(&posts, &site, ts("2013-03-05T13:00:00Z")));
        // An event leaves a week after its end.
        let later = calendar(&posts, &site, ts("2013-03-16T13:00:01Z"));
        assert!(!unfold(&later).contains("UID:post-2@"), "{later}");
    }

    #[test]
    fn calendar_parses_with_python_icalendar() {
        let site = testing::site();
        let posts = testing::posts();
        let ics = calendar(&posts, &site, ts("2013-03-05T12:00:00Z"));
        let script = r#"
import sys, json, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
assert str(cal['VERSION']) == '2.0', cal
fmt = '%Y-%m-%dT%H:%M:%SZ'
out = []
for ev in cal.walk('VEVENT'):
    start, end = ev['DTSTART'].dt, ev['DTEND'].dt
    assert start.utcoffset().total_seconds() == 0
    out.append([str(ev['UID']), start.strftime(fmt), end.strftime(fmt), ev['DTSTAMP'].dt.strftime(fmt),
                int(ev['SEQUENCE']), str(ev['STATUS']), str(ev['SUMMARY']), str(ev['DESCRIPTION']), str(ev['URL'])])
print(json.dumps(out))
"#;
        let Some(out) = testing::python("icalendar", script, &ics) else { return };
        let events: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        assert!(!events.is_empty());
        for ev in &events {
            let uid = ev[0].as_str().unwrap();
            let id: i64 = uid.strip_prefix("post-").unwrap().split('@').next().unwrap().parse().unwrap();
            let p = posts.iter().find(|p| p.id == id).unwrap();
            assert_eq!(ev[1], when::rfc3339(p.starts.unwrap()));
            assert_eq!(ev[2], when::rfc3339(p.ends.unwrap()));
            assert_eq!(ev[3], when::rfc3339(p.updated));
            // Each correction and the cancellation raise SEQUENCE.
            let cancelled = p.state == PostState::Cancelled;
            assert_eq!(ev[4], i64::from(p.revision) - 1 + i64::from(cancelled));
            assert_eq!(ev[5], if cancelled { "CANCELLED" } else { "CONFIRMED" });
            assert!(ev[6].as_str().unwrap().ends_with(&p.title), "{ev}");
            assert!(ev[7].as_str().unwrap().contains("\n\nhttps://status.lindenau.example/posts/"), "{ev}");
            assert_eq!(ev[8], format!("https://status.lindenau.example/posts/{id}"));
        }
        // Text that needs every escape survives the round trip.
        let mut odd = posts[0].clone();
        odd.title = "Switch; router, and \\ backslash — ✓ with a title long enough to be folded over lines".into();
        odd.body = "Line one\nline two; three, four\r\n\r\nNew paragraph".into();
        let ics = calendar(&[odd.clone()], &site, ts("2013-03-05T12:00:00Z"));
        let Some(out) = testing::python("icalendar", script, &ics) else { return };
        let events: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(events[0][6], odd.title);
        assert!(
            events[0][7].as_str().unwrap().contains("Line one line two; three, four\nNew paragraph"),
            "{}",
            events[0][7]
        );
    }
}
