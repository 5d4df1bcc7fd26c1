//! How values are kept in columns, the same on both backends: instants as integer
//! microseconds since the Unix epoch, enums by their snake_case names, JSON as text.

use std::str::FromStr;

use forewarn_status::{ComponentKind, ComponentStatus};
use jiff::Timestamp;

use crate::Error;

/// An instant as stored: microseconds since the Unix epoch. Finer digits are dropped
/// (towards the past), so what is read back sorts exactly like what was written.
pub(crate) fn micros(at: Timestamp) -> i64 {
    // Seconds and nanoseconds share their sign; flooring keeps instants before 1970 in order.
    at.as_second() * 1_000_000 + i64::from(at.subsec_nanosecond()).div_euclid(1000)
}

pub(crate) fn from_micros(us: i64) -> Result<Timestamp, Error> {
    // Through seconds and nanoseconds: `from_microsecond` refuses the last second of the range.
    let nanos = i32::try_from(us.rem_euclid(1_000_000) * 1000).unwrap_or(0);
    Timestamp::new(us.div_euclid(1_000_000), nanos)
        .map_err(|e| corrupt(format!("instant {us} µs is out of range: {e}")))
}

/// A stored value the store cannot have written (a manual edit, a newer schema).
pub(crate) fn corrupt(message: String) -> Error {
    Error::Database(sqlx::Error::Decode(message.into()))
}

/// `Conflict` when `e` is a unique violation (someone else wrote the same key first).
pub(crate) fn conflict_on_unique(e: sqlx::Error, what: impl FnOnce() -> String) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::Conflict(what()),
        _ => Error::Database(e),
    }
}

pub(crate) fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

pub(crate) fn json_value(text: &str, column: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("column `{column}` holds no JSON: {e}")))
}

pub(crate) fn parse<T: FromStr<Err = String>>(text: &str) -> Result<T, Error> {
    text.parse().map_err(corrupt)
}

pub(crate) fn component_kind_name(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Service => "service",
        ComponentKind::Rack => "rack",
        ComponentKind::Device => "device",
    }
}

pub(crate) fn component_kind(text: &str) -> Result<ComponentKind, Error> {
    [ComponentKind::Service, ComponentKind::Rack, ComponentKind::Device]
        .into_iter()
        .find(|k| component_kind_name(*k) == text)
        .ok_or_else(|| corrupt(format!("unknown component kind `{text}`")))
}

pub(crate) fn component_status_name(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => "operational",
        ComponentStatus::Maintenance => "maintenance",
        ComponentStatus::Degraded => "degraded",
        ComponentStatus::PartialOutage => "partial_outage",
        ComponentStatus::MajorOutage => "major_outage",
    }
}

const COMPONENT_STATUSES: [ComponentStatus; 5] = [
    ComponentStatus::Operational,
    ComponentStatus::Maintenance,
    ComponentStatus::Degraded,
    ComponentStatus::PartialOutage,
    ComponentStatus::MajorOutage,
];

pub(crate) fn component_status(text: &str) -> Result<ComponentStatus, Error> {
    COMPONENT_STATUSES
        .into_iter()
        .find(|s| component_status_name(*s) == text)
        .ok_or_else(|| corrupt(format!("unknown component status `{text}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_keep_microseconds_and_order_even_before_1970() {
        let extremes = [Timestamp::MIN.as_microsecond(), Timestamp::MAX.as_microsecond()];
        for us in [0, 1, -1, 1_700_000_000_123_456, -86_400_000_001].into_iter().chain(extremes) {
            assert_eq!(micros(from_micros(us).unwrap()), us);
        }
        let late = Timestamp::new(1, 999_999_999).unwrap();
        assert_eq!(micros(late), 1_999_999);
        let early = Timestamp::new(-1, -1).unwrap();
        assert_eq!(micros(early), -1_000_001);
        assert!(from_micros(i64::MAX).is_err());
    }

    #[test]
    fn enum_names_are_serde_names() {
        for s in COMPONENT_STATUSES {
            assert_eq!(serde_json::to_value(s).unwrap(), component_status_name(s));
            assert_eq!(component_status(component_status_name(s)).unwrap(), s);
        }
        for k in [ComponentKind::Service, ComponentKind::Rack, ComponentKind::Device] {
            assert_eq!(serde_json::to_value(k).unwrap(), component_kind_name(k));
            assert_eq!(component_kind(component_kind_name(k)).unwrap(), k);
        }
    }
}
