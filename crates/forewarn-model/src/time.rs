//! Instants and durations as people write them in forewarn's files:
//! RFC 3339 times (TOML datetimes too) and durations like `24h`, `90m`, `1h30m`.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A time as written in a file: a string or, in TOML, a bare datetime.
/// Parsed later with [`parse_instant`] so that the error can name the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TimeText(pub String);

impl<'de> Deserialize<'de> for TimeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TimeText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time such as 2026-12-24T00:00:00+01:00")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TimeText, E> {
                Ok(TimeText(s.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TimeText, A::Error> {
                let dt = toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(TimeText(dt.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl From<Timestamp> for TimeText {
    fn from(t: Timestamp) -> TimeText {
        TimeText(t.to_string())
    }
}

/// Parses an RFC 3339 time with an offset (`Z` or `+01:00`).
pub fn parse_instant(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    s.parse::<Timestamp>().map_err(|_| {
        let has_offset = s.ends_with('Z')
            || s.ends_with('z')
            || s.get(s.len().saturating_sub(6)..).is_some_and(|t| t.starts_with(['+', '-']));
        if s.contains('T') && !has_offset {
            format!("time `{s}` has no offset: add one, like `{s}+01:00` or `{s}Z`")
        } else {
            format!("`{s}` is not an RFC 3339 time: expected e.g. `2026-12-24T00:00:00+01:00`")
        }
    })
}

/// A duration as written in files: `24h`, `90m`, `1h30m`, `2d`, `45s`, or `0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub SignedDuration);

impl Duration {
    pub fn seconds(self) -> i64 {
        self.0.as_secs()
    }

    pub fn from_secs(s: i64) -> Duration {
        Duration(SignedDuration::from_secs(s))
    }
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Duration, String> {
        let text = s.trim();
        let bad = || format!("duration `{s}` is not understood: write it like `24h`, `90m`, `1h30m` or `2d`");
        if text == "0" {
            return Ok(Duration::default());
        }
        if text.is_empty() {
            return Err(bad());
        }
        let mut total: i64 = 0;
        let mut num = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let unit = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                ' ' if num.is_empty() => continue,
                _ => return Err(bad()),
            };
            let n: i64 = num.parse().map_err(|_| bad())?;
            total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
            num.clear();
        }
        if !num.is_empty() {
            return Err(bad());
        }
        Ok(Duration::from_secs(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.seconds();
        if s == 0 {
            return f.write_str("0");
        }
        if s < 0 {
            f.write_str("-")?;
            s = -s;
        }
        for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if s >= len {
                write!(f, "{}{unit}", s / len)?;
                s %= len;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        for (text, secs, shown) in [
            ("24h", 86_400, "1d"),
            ("90m", 5_400, "1h30m"),
            ("1h30m", 5_400, "1h30m"),
            ("2d", 172_800, "2d"),
            ("45s", 45, "45s"),
            ("0", 0, "0"),
            ("1h 30m", 5_400, "1h30m"),
        ] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.seconds(), secs, "{text}");
            assert_eq!(d.to_string(), shown, "{text}");
        }
        for bad in ["", "h", "12", "1x", "-3h", "1.5h"] {
            let e = bad.parse::<Duration>().unwrap_err();
            assert!(e.contains("like `24h`"), "{bad}: {e}");
        }
    }

    #[test]
    fn instants_need_an_offset() {
        assert_eq!(parse_instant("2026-12-24T00:00:00+01:00").unwrap().to_string(), "2026-12-23T23:00:00Z");
        let e = parse_instant("2026-12-24T00:00:00").unwrap_err();
        assert_eq!(
            e,
            "time `2026-12-24T00:00:00` has no offset: add one, like `2026-12-24T00:00:00+01:00` or `2026-12-24T00:00:00Z`"
        );
        assert!(parse_instant("next tuesday").unwrap_err().contains("not an RFC 3339 time"));
    }

    #[test]
    fn toml_datetimes_are_accepted_as_times() {
        #[derive(Deserialize)]
        struct T {
            at: TimeText,
        }
        let t: T = toml::from_str("at = 2026-12-24T00:00:00+01:00").unwrap();
        assert_eq!(parse_instant(&t.at.0).unwrap().to_string(), "2026-12-23T23:00:00Z");
        let t: T = toml::from_str("at = \"2026-12-24T00:00:00Z\"").unwrap();
        assert_eq!(t.at.0, "2026-12-24T00:00:00Z");
    }
}
