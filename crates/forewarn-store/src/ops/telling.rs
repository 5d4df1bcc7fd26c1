//! Telling people: events and their messages.

use jiff::SignedDuration;

use crate::Error;
use crate::codec::{conflict_on_unique, micros};
use crate::outbox::{Event, NewMessage, Notifier, What};

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

/// Takes the next event number, hands the event to `notifier` and writes the messages it
/// gives into the outbox, all in the caller's transaction.
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
    let messages = notifier
        .messages(&Event { seq, at, actor, what })
        .map_err(|e| Error::Invalid(format!("nothing was changed, because its people cannot be told: {e}")))?;
    write_messages(c, at, seq, &messages).await?;
    Ok(seq)
}

/// Writes an event's messages as pending. A key that is taken is a `Conflict`: keys are
/// built from the event's number, which no other event has, so only a notifier giving the
/// same key twice gets there; the whole change is then refused.
async fn write_messages(c: &mut Conn, at: Timestamp, seq: i64, messages: &[NewMessage]) -> Result<()> {
    for m in messages {
        if blank(&m.key) {
            return Err(Error::Invalid(format!("a message of event {seq} has no key")));
        }
        query(
            "INSERT INTO outbox (key, channel, sender, recipient, subject, cause, payload, created, state, attempts, due) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9)",
        )
        .bind(&m.key)
        .bind(m.channel.as_str())
        .bind(&m.sender)
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(&m.cause)
        .bind(&m.payload)
        .bind(micros(at))
        .bind(micros(m.due))
        .execute(&mut *c)
        .await
        .map_err(|e| {
            conflict_on_unique(e, || {
                format!(
                    "message key `{}` of event {seq} is in the outbox already: keys are built from the event's \
                     number, so the notifier gave the same key twice",
                    m.key
                )
            })
        })?;
    }
    Ok(())
}
