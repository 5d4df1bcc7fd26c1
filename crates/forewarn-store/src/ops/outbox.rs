//! The outbox: claiming, sending, failing and retrying messages.

use jiff::SignedDuration;
use serde_json::json;

use super::super::SKIP_LOCKED;
use crate::Error;
use crate::codec::{corrupt, micros};
use crate::outbox::{Channel, Intent, Message, MessageState, OutboxCounts, RetryPolicy};

use super::*;

const MESSAGE: &str = "id, key, channel, sender, recipient, subject, cause, created, state, attempts, due, sent, error";

/// The messages that exist: not those of an event held back while its publication is
/// written in batches (`Store::publish_campaign`), which are neither sent, listed nor
/// counted until it is released. Held events are few: the list is read once a query.
const LIVE: &str = "(event IS NULL OR event NOT IN (SELECT seq FROM events WHERE staging IS NOT NULL))";

/// A message's columns with its payload and what it is rendered from (its event's context
/// and its part), for a query that joins `outbox o` with `events e` and `event_parts p`.
const WHOLE: &str = "o.id, o.key, o.channel, o.sender, o.recipient, o.subject, o.cause, o.created, o.state, \
     o.attempts, o.due, o.sent, o.error, o.payload, o.event, o.data, e.at AS event_at, e.context, p.data AS part_data \
     FROM outbox o LEFT JOIN events e ON e.seq = o.event \
     LEFT JOIN event_parts p ON p.event = o.event AND p.part = o.part";

/// What a message is rendered from, if it is rendered at delivery: it names its event and
/// has data of its own (a message written whole names its event too, without data).
fn intent_from_row(r: &DbRow) -> Result<Option<Intent>> {
    let (Some(event), Some(data)) = (r.try_get::<Option<i64>, _>("event")?, r.try_get::<Option<String>, _>("data")?)
    else {
        return Ok(None);
    };
    let at: Option<i64> = r.try_get("event_at")?;
    let context: Option<String> = r.try_get("context")?;
    let (Some(at), Some(context)) = (at, context) else {
        return Err(corrupt(format!("a message names event {event}, which is not stored")));
    };
    Ok(Some(Intent { event, at: from_micros(at)?, context, part: r.try_get("part_data")?, data }))
}

fn whole_message_from_row(r: &DbRow) -> Result<Message> {
    let mut m = message_from_row(r, true)?;
    m.intent = intent_from_row(r)?;
    Ok(m)
}

fn message_from_row(r: &DbRow, with_payload: bool) -> Result<Message> {
    let channel: &str = r.try_get("channel")?;
    let state: &str = r.try_get("state")?;
    let attempts: i64 = r.try_get("attempts")?;
    Ok(Message {
        id: r.try_get("id")?,
        key: r.try_get("key")?,
        channel: Channel::parse(channel).ok_or_else(|| corrupt(format!("unknown channel `{channel}`")))?,
        sender: r.try_get("sender")?,
        recipient: r.try_get("recipient")?,
        subject: r.try_get("subject")?,
        cause: r.try_get("cause")?,
        payload: if with_payload { r.try_get("payload")? } else { String::new() },
        intent: None,
        created: ts(r, "created")?,
        state: MessageState::parse(state).ok_or_else(|| corrupt(format!("unknown message state `{state}`")))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt(format!("{attempts} attempts is out of range")))?,
        due: ts(r, "due")?,
        sent: opt_ts(r, "sent")?,
        error: r.try_get("error")?,
    })
}

pub(crate) async fn claim_messages(
    c: &mut Conn,
    at: Timestamp,
    lease: SignedDuration,
    limit: u32,
    holder: &str,
) -> Result<Vec<Message>> {
    if !lease.is_positive() {
        return Err(Error::Invalid(format!("a lease must be longer than nothing, not {lease}")));
    }
    // On PostgreSQL the rows are locked as they are picked, skipping those another instance
    // is picking right now: no message is claimed twice in one round. The pick is
    // materialized so that it runs once, whatever plan the update gets.
    let ids: Vec<i64> = query(&format!(
        "WITH picked AS MATERIALIZED (\
         SELECT id FROM outbox WHERE state = 'pending' AND due <= $2 \
         AND (claimed_until IS NULL OR claimed_until <= $2) AND {LIVE} ORDER BY due, id LIMIT $3{SKIP_LOCKED}) \
         UPDATE outbox SET claimed_until = $1, claimed_by = $4 WHERE id IN (SELECT id FROM picked) RETURNING id"
    ))
    .bind(micros(later(at, lease)))
    .bind(micros(at))
    .bind(i64::from(limit))
    .bind(holder)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<std::result::Result<_, _>>()?;
    let mut messages = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut q = sqlx::QueryBuilder::<Db>::new(format!("SELECT {WHOLE} WHERE o.id IN ("));
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        for r in q.build().fetch_all(&mut *c).await? {
            messages.push(whole_message_from_row(&r)?);
        }
    }
    messages.sort_by_key(|m| (m.due, m.id));
    Ok(messages)
}

/// Extends the lease of the messages `holder` claimed and still holds (pending, not marked)
/// to `until`; how many it still holds. A round renews its lease while it runs, so that no
/// other worker takes a message it is sending.
pub(crate) async fn renew_claims(c: &mut Conn, holder: &str, ids: &[i64], until: Timestamp) -> Result<u64> {
    let mut held = 0;
    for chunk in ids.chunks(500) {
        let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE outbox SET claimed_until = ");
        q.push_bind(micros(until));
        q.push(" WHERE state = 'pending' AND claimed_by = ");
        q.push_bind(holder);
        q.push(" AND id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        held += q.build().execute(&mut *c).await?.rows_affected();
    }
    Ok(held)
}

pub(crate) async fn release_claims(c: &mut Conn) -> Result<u64> {
    let done = query("UPDATE outbox SET claimed_until = NULL, claimed_by = NULL WHERE claimed_until IS NOT NULL")
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected())
}

/// Marks pending messages sent at `at`; how many were pending (the others were marked by
/// someone else first).
pub(crate) async fn mark_sent(c: &mut Conn, ids: &[i64], at: Timestamp) -> Result<u64> {
    let mut marked = 0;
    for chunk in ids.chunks(500) {
        let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE outbox SET state = 'sent', sent = ");
        q.push_bind(micros(at));
        q.push(", claimed_until = NULL, claimed_by = NULL WHERE state = 'pending' AND id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        marked += q.build().execute(&mut *c).await?.rows_affected();
    }
    Ok(marked)
}

/// Deletes messages sent before `before`, and the events (with their parts) that no message
/// names any more; how many messages. Pending and dead messages are kept, whatever their age.
pub(crate) async fn prune_sent(c: &mut Conn, before: Timestamp) -> Result<u64> {
    let done =
        query("DELETE FROM outbox WHERE state = 'sent' AND sent < $1").bind(micros(before)).execute(&mut *c).await?;
    if done.rows_affected() > 0 {
        // Held events are being written (their messages may not be yet): not orphans.
        let orphans = "SELECT seq FROM events WHERE staging IS NULL \
                       AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.event = events.seq)";
        query(&format!("DELETE FROM event_parts WHERE event IN ({orphans})")).execute(&mut *c).await?;
        query(&format!("DELETE FROM events WHERE seq IN ({orphans})")).execute(&mut *c).await?;
    }
    // What a publication that died half-way left and no later one of its campaign dropped.
    let stale = "SELECT seq FROM events WHERE staging IS NOT NULL AND at < $1";
    for table in ["outbox", "event_parts"] {
        query(&format!("DELETE FROM {table} WHERE event IN ({stale})")).bind(micros(before)).execute(&mut *c).await?;
    }
    query("DELETE FROM events WHERE staging IS NOT NULL AND at < $1").bind(micros(before)).execute(&mut *c).await?;
    Ok(done.rows_affected())
}

pub(crate) async fn mark_failed(
    c: &mut Conn,
    id: i64,
    at: Timestamp,
    error: &str,
    permanent: bool,
    policy: &RetryPolicy,
) -> Result<MessageState> {
    let row = query(
        "UPDATE outbox SET attempts = attempts + 1, error = $1, claimed_until = NULL, claimed_by = NULL \
         WHERE id = $2 AND state = 'pending' RETURNING attempts",
    )
    .bind(error)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = row else {
        // Not pending: marked by another worker after this one's lease ran out (or dead and
        // retried meanwhile); that stands.
        let row = query("SELECT state FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
            .ok_or_else(|| Error::NotFound(format!("message {id}")))?;
        let state: &str = row.try_get("state")?;
        return MessageState::parse(state).ok_or_else(|| corrupt(format!("unknown message state `{state}`")));
    };
    let attempts: i64 = row.try_get("attempts")?;
    let failures = u32::try_from(attempts).unwrap_or(u32::MAX);
    let state = if permanent || failures >= policy.max_attempts { MessageState::Dead } else { MessageState::Pending };
    query("UPDATE outbox SET state = $1, due = $2 WHERE id = $3")
        .bind(state.as_str())
        .bind(micros(later(at, policy.backoff(failures))))
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(state)
}

pub(crate) async fn retry_message(c: &mut Conn, at: Timestamp, actor: &str, id: i64) -> Result<Message> {
    let old = message(c, id).await?.ok_or_else(|| Error::NotFound(format!("message {id}")))?;
    if old.state != MessageState::Dead {
        return Err(Error::Invalid(format!(
            "message {id} is {}: only a dead message is retried by hand",
            old.state.as_str()
        )));
    }
    let done = query(
        "UPDATE outbox SET state = 'pending', attempts = 0, due = $1, claimed_until = NULL \
         WHERE id = $2 AND state = 'dead'",
    )
    .bind(micros(at))
    .bind(id)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() != 1 {
        return Err(Error::Conflict(format!("message {id} changed while it was being retried; look again")));
    }
    let detail = json!({ "key": old.key, "attempts": old.attempts, "error": old.error });
    audit(c, at, actor, "outbox.retry", &id.to_string(), detail).await?;
    message(c, id).await?.ok_or_else(|| Error::NotFound(format!("message {id}")))
}

pub(crate) async fn messages(
    c: &mut Conn,
    state: Option<MessageState>,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<Message>> {
    let mut conditions = vec![LIVE.to_owned()];
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if state.is_some() {
        conditions.push(format!("state = ${}", next()));
    }
    if before.is_some() {
        conditions.push(format!("id < ${}", next()));
    }
    let filter = format!(" WHERE {}", conditions.join(" AND "));
    let sql = format!("SELECT {MESSAGE} FROM outbox{filter} ORDER BY id DESC LIMIT ${}", next());
    let mut q = query(&sql);
    if let Some(state) = state {
        q = q.bind(state.as_str());
    }
    if let Some(before) = before {
        q = q.bind(before);
    }
    let rows = q.bind(i64::from(limit)).fetch_all(&mut *c).await?;
    rows.iter().map(|r| message_from_row(r, false)).collect()
}

pub(crate) async fn message(c: &mut Conn, id: i64) -> Result<Option<Message>> {
    let row = query(&format!("SELECT {WHOLE} WHERE o.id = $1 AND (e.staging IS NULL)"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
    row.map(|r| whole_message_from_row(&r)).transpose()
}

pub(crate) async fn outbox_counts(c: &mut Conn) -> Result<OutboxCounts> {
    let rows = query(&format!("SELECT state, COUNT(*) AS n FROM outbox WHERE {LIVE} GROUP BY state"))
        .fetch_all(&mut *c)
        .await?;
    let mut counts = OutboxCounts::default();
    for r in &rows {
        let state: &str = r.try_get("state")?;
        let n = u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0);
        match MessageState::parse(state) {
            Some(MessageState::Pending) => counts.pending = n,
            Some(MessageState::Sent) => counts.sent = n,
            Some(MessageState::Dead) => counts.dead = n,
            None => return Err(corrupt(format!("unknown message state `{state}`"))),
        }
    }
    Ok(counts)
}

pub(crate) async fn next_due(c: &mut Conn) -> Result<Option<Timestamp>> {
    // A claimed message is not due before its lease ends.
    let row = query(&format!(
        "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > due THEN claimed_until ELSE due END) \
         AS due FROM outbox WHERE state = 'pending' AND {LIVE}"
    ))
    .fetch_one(&mut *c)
    .await?;
    opt_ts(&row, "due")
}
