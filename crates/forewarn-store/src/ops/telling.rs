//! Telling people: events and their messages.

use jiff::SignedDuration;

use crate::Error;
use crate::codec::micros;

use super::super::FOR_UPDATE;
use crate::outbox::{Ahead, Body, Event, NewMessage, Notifier, What};

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

/// Takes the next event number.
pub(super) async fn next_event(c: &mut Conn) -> Result<i64> {
    Ok(query("UPDATE counters SET value = value + 1 WHERE name = 'event' RETURNING value")
        .fetch_one(&mut *c)
        .await?
        .try_get("value")?)
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
    let seq = next_event(c).await?;
    let told = notifier
        .tell(&Event { seq, at, actor, what, ahead: None })
        .map_err(|e| Error::Invalid(format!("nothing was changed, because its people cannot be told: {e}")))?;
    if told.messages.is_empty() {
        return Ok(seq);
    }
    told.check(seq, Ahead::default())?;
    query("INSERT INTO events (seq, at, actor, context) VALUES ($1, $2, $3, $4)")
        .bind(seq)
        .bind(micros(at))
        .bind(actor)
        .bind(&told.context)
        .execute(&mut *c)
        .await?;
    write_parts(c, seq, 0, &told.parts).await?;
    write_messages(c, at, seq, &told.messages).await?;
    Ok(seq)
}

/// Tells the rest of event `seq`, held back while `ahead` of it was written
/// ([`held_event`]), and releases it: its context is written and its messages, those
/// written ahead too, become deliverable.
pub(super) async fn tell_held(
    c: &mut Conn,
    seq: i64,
    ahead: Ahead,
    at: Timestamp,
    actor: &str,
    notifier: &dyn Notifier,
    what: What<'_>,
) -> Result<()> {
    let told = notifier
        .tell(&Event { seq, at, actor, what, ahead: Some(ahead) })
        .map_err(|e| Error::Invalid(format!("nothing was changed, because its people cannot be told: {e}")))?;
    told.check(seq, ahead)?;
    query("UPDATE events SET context = $1, staging = NULL WHERE seq = $2")
        .bind(&told.context)
        .bind(seq)
        .execute(&mut *c)
        .await?;
    write_parts(c, seq, ahead.parts, &told.parts).await?;
    write_messages(c, at, seq, &told.messages).await
}

/// Writes event `seq` held back for the publication of `campaign`: its messages are not
/// delivered, listed or counted until [`tell_held`] releases it.
pub(super) async fn hold_event(c: &mut Conn, seq: i64, at: Timestamp, actor: &str, campaign: &str) -> Result<()> {
    query("INSERT INTO events (seq, at, actor, context, staging) VALUES ($1, $2, $3, '{}', $4)")
        .bind(seq)
        .bind(micros(at))
        .bind(actor)
        .bind(campaign)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// `Conflict` unless event `seq` is still held back for the publication of `campaign`
/// (another publication of the campaign takes over a held event, and drops it).
pub(super) async fn held_event(c: &mut Conn, seq: i64, campaign: &str) -> Result<()> {
    held_event_locked(c, seq, campaign, FOR_UPDATE).await
}

/// [`held_event`], its row locked by `lock` (PostgreSQL): a publication taking over (which
/// deletes it) waits for the transaction to commit, and then clears what it wrote.
async fn held_event_locked(c: &mut Conn, seq: i64, campaign: &str, lock: &str) -> Result<()> {
    let held = query(&format!("SELECT seq FROM events WHERE seq = $1 AND staging = $2{lock}"))
        .bind(seq)
        .bind(campaign)
        .fetch_optional(&mut *c)
        .await?;
    match held {
        Some(_) => Ok(()),
        None => Err(Error::Conflict(format!(
            "the publication of campaign `{campaign}` was taken over by another one, which publishes it instead"
        ))),
    }
}

/// [`held_event`], in a transaction that writes a batch of a publication: its commit does not
/// wait for the disk (PostgreSQL; SQLite's commits do not in its write-ahead log's normal
/// mode). Nothing reads a batch before the publication's last transaction, whose commit
/// does wait, and with it for every batch before it: the log is written in order, so a
/// crash loses either that transaction too, or nothing. At 1.34 M machines the batches'
/// commits waited about a second of an 11 s publication. The event's row is shared by the
/// batches (two write at once on PostgreSQL: the slots, and what was told).
pub(super) async fn staging_batch(c: &mut Conn, seq: i64, campaign: &str) -> Result<()> {
    super::super::commit_lazily(c).await?;
    held_event_locked(c, seq, campaign, super::super::FOR_SHARE).await
}

/// Drops events held back for publications of `campaign` that did not finish, with their
/// parts and messages.
pub(super) async fn drop_held_events(c: &mut Conn, campaign: &str) -> Result<()> {
    let held = "SELECT seq FROM events WHERE staging = $1";
    for table in ["outbox", "event_parts"] {
        query(&format!("DELETE FROM {table} WHERE event IN ({held})")).bind(campaign).execute(&mut *c).await?;
    }
    query("DELETE FROM events WHERE staging = $1").bind(campaign).execute(&mut *c).await?;
    Ok(())
}

/// Writes a batch of what publication `seq` of `campaign` told ahead, its parts numbered
/// from `first_part`.
pub(crate) async fn stage_told(
    c: &mut Conn,
    at: Timestamp,
    campaign: &str,
    seq: i64,
    first_part: u32,
    parts: &[String],
    messages: &[NewMessage],
) -> Result<()> {
    staging_batch(c, seq, campaign).await?;
    write_parts(c, seq, first_part, parts).await?;
    write_messages(c, at, seq, messages).await
}

/// Rows a multi-row `INSERT` writes at once: 13 values a row stays well below both
/// databases' limits on parameters (SQLite's 32,766, PostgreSQL's 65,535).
const ROWS_PER_INSERT: usize = 1000;

/// Writes parts of event `seq`, numbered from `first`, as the backend takes many rows
/// fastest.
async fn write_parts(c: &mut Conn, seq: i64, first: u32, parts: &[String]) -> Result<()> {
    let parts: Vec<(i64, &str)> =
        parts.iter().enumerate().map(|(i, p)| (i64::from(first) + i as i64, p.as_str())).collect();
    for chunk in parts.chunks(ROWS_PER_INSERT) {
        super::super::insert_parts(c, seq, chunk).await?;
    }
    Ok(())
}

/// Writes messages of event `seq` (as pending), many rows per statement. A key that is
/// taken is a `Conflict`: keys are built from the event's number, which no other event
/// has, so only a notifier giving the same key twice gets there; the whole change is then
/// refused.
async fn write_messages(c: &mut Conn, at: Timestamp, seq: i64, messages: &[NewMessage]) -> Result<()> {
    for chunk in messages.chunks(ROWS_PER_INSERT) {
        let rows: Vec<crate::outbox::MessageRow<'_>> = chunk
            .iter()
            .map(|m| {
                let (payload, part, data) = match &m.body {
                    Body::Written(payload) => (payload.as_str(), None, None),
                    Body::Later { part, data } => ("", part.map(i64::from), Some(data.as_str())),
                };
                crate::outbox::MessageRow {
                    key: &m.key,
                    channel: m.channel.as_str(),
                    sender: &m.sender,
                    recipient: &m.recipient,
                    subject: &m.subject,
                    cause: &m.cause,
                    payload,
                    due: micros(m.due),
                    part,
                    data,
                }
            })
            .collect();
        // A key that is taken is skipped rather than failing the statement, so that the
        // error can name it (looked for only then: the rows' count says whether one was).
        let written = super::super::insert_messages(c, micros(at), seq, &rows).await?;
        if written == chunk.len() as u64 {
            continue;
        }
        let mut seen = std::collections::HashSet::new();
        let mut taken = None;
        for m in chunk {
            let ours = query("SELECT 1 FROM outbox WHERE key = $1 AND event = $2").bind(&m.key).bind(seq);
            if !seen.insert(m.key.as_str()) || ours.fetch_optional(&mut *c).await?.is_none() {
                taken = Some(m);
                break;
            }
        }
        if let Some(taken) = taken {
            return Err(Error::Conflict(format!(
                "message key `{}` of event {seq} is in the outbox already: keys are built from the event's number, \
                 so the notifier gave the same key twice",
                taken.key
            )));
        }
        return Err(Error::Conflict(format!(
            "only {written} of {} messages of event {seq} were written: their keys repeat, and keys are built from \
             the event's number, so the notifier gave a key twice",
            chunk.len()
        )));
    }
    Ok(())
}
