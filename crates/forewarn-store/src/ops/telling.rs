//! Telling people: events and their messages.

use jiff::SignedDuration;

use crate::Error;
use crate::codec::micros;
use crate::outbox::{Body, Event, Notifier, Told, What};

use super::*;

/// Who acts when the service itself does (reminders).
pub(super) const SERVICE: &str = "forewarn";
/// Who acts for someone on the public pages (subscriptions).
pub(super) const PUBLIC: &str = "public";

/// `at + d`, clamped to the range of instants.
pub(super) fn later(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_add(d).unwrap_or(if d.is_negative() { Timestamp::MIN } else { Timestamp::MAX })
}

/// An instant as it reads back from a column (microseconds).
pub(super) fn stored(at: Timestamp) -> Result<Timestamp> {
    from_micros(micros(at))
}

/// Takes the next event number, hands the event to `notifier` and writes what it tells
/// into the outbox (the event's context and parts, a row per message), all in the caller's
/// transaction.
pub(super) async fn tell(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    notifier: &dyn Notifier,
    what: What<'_>,
) -> Result<i64> {
    let seq: i64 = query("UPDATE counters SET value = value + 1 WHERE name = 'event' RETURNING value")
        .fetch_one(&mut *c)
        .await?
        .try_get("value")?;
    let told = notifier
        .tell(&Event { seq, at, actor, what })
        .map_err(|e| Error::Invalid(format!("nothing was changed, because its people cannot be told: {e}")))?;
    if told.messages.is_empty() {
        return Ok(seq);
    }
    write_told(c, at, actor, seq, &told).await?;
    Ok(seq)
}

/// Rows a multi-row `INSERT` writes at once: 13 values a row stays well below both
/// databases' limits on parameters (SQLite's 32,766, PostgreSQL's 65,535).
const ROWS_PER_INSERT: usize = 1000;

/// Writes an event's context, parts and messages (as pending), many rows per statement. A
/// key that is taken is a `Conflict`: keys are built from the event's number, which no
/// other event has, so only a notifier giving the same key twice gets there; the whole
/// change is then refused. So is a message naming a part the event does not have.
async fn write_told(c: &mut Conn, at: Timestamp, actor: &str, seq: i64, told: &Told) -> Result<()> {
    for m in &told.messages {
        if blank(&m.key) {
            return Err(Error::Invalid(format!("a message of event {seq} has no key")));
        }
        if let Body::Later { part: Some(part), .. } = m.body
            && part as usize >= told.parts.len()
        {
            return Err(Error::Invalid(format!(
                "message `{}` of event {seq} reads part {part}, but the event has {}",
                m.key,
                told.parts.len()
            )));
        }
    }
    query("INSERT INTO events (seq, at, actor, context) VALUES ($1, $2, $3, $4)")
        .bind(seq)
        .bind(micros(at))
        .bind(actor)
        .bind(&told.context)
        .execute(&mut *c)
        .await?;
    let parts: Vec<(usize, &String)> = told.parts.iter().enumerate().collect();
    for chunk in parts.chunks(ROWS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<Db>::new("INSERT INTO event_parts (event, part, data) ");
        insert.push_values(chunk, |mut row, (i, data)| {
            row.push_bind(seq).push_bind(*i as i64).push_bind(*data);
        });
        insert.build().execute(&mut *c).await?;
    }
    for chunk in told.messages.chunks(ROWS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO outbox (key, channel, sender, recipient, subject, cause, payload, created, state, attempts, \
             due, event, part, data) ",
        );
        insert.push_values(chunk, |mut row, m| {
            let (payload, part, data) = match &m.body {
                Body::Written(payload) => (payload.as_str(), None, None),
                Body::Later { part, data } => ("", part.map(i64::from), Some(data.as_str())),
            };
            row.push_bind(&m.key)
                .push_bind(m.channel.as_str())
                .push_bind(&m.sender)
                .push_bind(&m.recipient)
                .push_bind(&m.subject)
                .push_bind(&m.cause)
                .push_bind(payload)
                .push_bind(micros(at));
            row.push("'pending'").push("0");
            row.push_bind(micros(m.due)).push_bind(seq).push_bind(part).push_bind(data);
        });
        // A key that is taken is skipped rather than failing the statement, so that the
        // error can name it.
        insert.push(" ON CONFLICT (key) DO NOTHING RETURNING key");
        let rows = insert.build().fetch_all(&mut *c).await?;
        let written: std::collections::HashSet<String> =
            rows.iter().map(|r| r.try_get("key")).collect::<std::result::Result<_, _>>()?;
        let mut seen = std::collections::HashSet::new();
        if let Some(taken) = chunk.iter().find(|m| !written.contains(&m.key) || !seen.insert(m.key.as_str())) {
            return Err(Error::Conflict(format!(
                "message key `{}` of event {seq} is in the outbox already: keys are built from the event's number, \
                 so the notifier gave the same key twice",
                taken.key
            )));
        }
    }
    Ok(())
}
