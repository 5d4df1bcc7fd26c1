//! Subscribers of the status page.

use std::collections::HashSet;

use serde_json::json;

use crate::Error;
use crate::codec::{conflict_on_unique, corrupt, json_text, micros};
use crate::outbox::{Confirmation, Confirmed, Notifier, Subscriber, SubscriptionRequest, What};

use super::super::FOR_UPDATE;
use super::*;

const SUBSCRIBER: &str = "SELECT id, email, components, language, created, confirmed FROM subscribers";

fn subscriber_from_row(r: &DbRow) -> Result<Subscriber> {
    let components: &str = r.try_get("components")?;
    Ok(Subscriber {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        components: serde_json::from_str(components)
            .map_err(|e| corrupt(format!("column `components` holds no list of ids: {e}")))?,
        language: r.try_get("language")?,
        created: ts(r, "created")?,
        confirmed: opt_ts(r, "confirmed")?,
    })
}

/// Those told about posts: confirmed and still subscribed.
pub(super) async fn confirmed_subscribers(c: &mut Conn) -> Result<Vec<Subscriber>> {
    let rows = query(&format!("{SUBSCRIBER} WHERE confirmed IS NOT NULL AND unsubscribed IS NULL ORDER BY id"))
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(subscriber_from_row).collect()
}

pub(crate) async fn subscribers(c: &mut Conn) -> Result<Vec<Subscriber>> {
    let rows = query(&format!("{SUBSCRIBER} WHERE unsubscribed IS NULL ORDER BY id")).fetch_all(&mut *c).await?;
    rows.iter().map(subscriber_from_row).collect()
}

/// Whether `email` (trimmed) looks like an address: one `@` with something before it and
/// a domain with a dot after it, no spaces or control characters, at most 254 bytes.
fn check_email(email: &str) -> Result<()> {
    let problem = if email.is_empty() {
        "it is empty"
    } else if email.len() > 254 {
        "it is longer than 254 bytes"
    } else if email.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
        "it contains a space or a control character"
    } else {
        match email.split_once('@') {
            None => "it has no @",
            Some((_, domain)) if domain.contains('@') => "it has more than one @",
            Some(("", _)) => "it has nothing before the @",
            Some((_, domain))
                if !domain.contains('.')
                    || domain.starts_with('.')
                    || domain.ends_with('.')
                    || domain.contains("..") =>
            {
                "it needs a domain like example.net after the @"
            }
            Some(_) => return Ok(()),
        }
    };
    Err(Error::Invalid(format!("`email` is not an address like name@example.net: {problem}")))
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An address is sent at most one confirmation request an hour.
const CONFIRMATION_INTERVAL_MICROS: i64 = 3_600_000_000;

/// A subscriber row as [`subscriber_from_row`] reads it, with `unsubscribed` folded into
/// `confirmed`: an ended subscription is not confirmed.
async fn current_subscriber(c: &mut Conn, id: i64) -> Result<Subscriber> {
    let row = query(
        "SELECT id, email, components, language, created, \
         CASE WHEN unsubscribed IS NULL THEN confirmed END AS confirmed FROM subscribers WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *c)
    .await?;
    subscriber_from_row(&row)
}

pub(crate) async fn subscribe(
    c: &mut Conn,
    at: Timestamp,
    email: &str,
    components: &[String],
    language: &str,
    notifier: &dyn Notifier,
) -> Result<Subscriber> {
    let email = email.trim();
    check_email(email)?;
    if language != "en" && language != "de" {
        return Err(Error::Invalid(format!("`language` must be en or de, not {language:?}")));
    }
    let mut wanted: Vec<&str> = Vec::new();
    for id in components {
        if !wanted.contains(&id.as_str()) {
            wanted.push(id);
        }
    }
    let known: HashSet<String> = self::components(c).await?.into_iter().map(|k| k.id).collect();
    let unknown: Vec<String> = wanted.iter().filter(|id| !known.contains(**id)).map(|id| format!("`{id}`")).collect();
    match unknown.as_slice() {
        [] => {}
        [one] => return Err(Error::NotFound(format!("component {one}"))),
        many => return Err(Error::NotFound(format!("components {}", many.join(", ")))),
    }
    let key = email_key(email);
    let components_text = json_text(&json!(wanted));
    // The address's row locked: requests for it through other instances queue here, and each
    // finds the one before (at most one confirmation an hour holds across instances).
    let row = query(&format!("SELECT id FROM subscribers WHERE email_key = $1{FOR_UPDATE}"))
        .bind(&key)
        .fetch_optional(&mut *c)
        .await?;
    let id = match row {
        None => {
            // A new address: unconfirmed, with these choices, until the link is followed.
            let id: i64 = query(
                "INSERT INTO subscribers (email, email_key, components, language, created) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(email)
            .bind(&key)
            .bind(&components_text)
            .bind(language)
            .bind(micros(at))
            .fetch_one(&mut *c)
            .await
            .map_err(|e| conflict_on_unique(e, || "this address subscribed at the same time; try again".into()))?
            .try_get("id")?;
            id
        }
        Some(r) => {
            let id: i64 = r.try_get("id")?;
            let recent = query("SELECT id FROM subscription_requests WHERE subscriber = $1 AND created > $2 LIMIT 1")
                .bind(id)
                .bind(micros(at) - CONFIRMATION_INTERVAL_MICROS)
                .fetch_optional(&mut *c)
                .await?
                .is_some();
            if recent {
                // At most one confirmation an hour to an address, whoever asks: nothing happens.
                return current_subscriber(c, id).await;
            }
            // Nothing changes until the link is followed: a confirmed subscription is not
            // changed by anyone who merely knows its address.
            id
        }
    };
    let request: i64 = query(
        "INSERT INTO subscription_requests (subscriber, components, language, created) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(id)
    .bind(&components_text)
    .bind(language)
    .bind(micros(at))
    .fetch_one(&mut *c)
    .await?
    .try_get("id")?;
    let detail = json!({ "request": request, "components": wanted, "language": language });
    audit(c, at, PUBLIC, "subscriber.request", &id.to_string(), detail).await?;
    let subscriber = current_subscriber(c, id).await?;
    let request = SubscriptionRequest {
        id: request,
        subscriber: id,
        components: wanted.iter().map(|s| (*s).to_owned()).collect(),
        language: language.to_owned(),
        created: at,
        confirmed: None,
    };
    tell(c, at, PUBLIC, notifier, What::SubscriptionRequested { subscriber: &subscriber, request: &request }).await?;
    Ok(subscriber)
}

pub(crate) async fn confirm_subscription(c: &mut Conn, at: Timestamp, request: i64) -> Result<Confirmation> {
    let row = query("SELECT subscriber, components, language, confirmed FROM subscription_requests WHERE id = $1")
        .bind(request)
        .fetch_optional(&mut *c)
        .await?
        .ok_or_else(|| Error::NotFound(format!("subscription request {request}")))?;
    let id: i64 = row.try_get("subscriber")?;
    if opt_ts(&row, "confirmed")?.is_some() {
        return Ok(Confirmation { subscriber: current_subscriber(c, id).await?, outcome: Confirmed::Already });
    }
    let components: String = row.try_get("components")?;
    let language: String = row.try_get("language")?;
    let current = current_subscriber(c, id).await?.confirmed.is_some();
    // A subscription that had ended starts anew from now.
    query(
        "UPDATE subscribers SET components = $1, language = $2, \
         confirmed = CASE WHEN confirmed IS NULL OR unsubscribed IS NOT NULL THEN $3 ELSE confirmed END, \
         created = CASE WHEN unsubscribed IS NOT NULL THEN $3 ELSE created END, unsubscribed = NULL \
         WHERE id = $4",
    )
    .bind(&components)
    .bind(&language)
    .bind(micros(at))
    .bind(id)
    .execute(&mut *c)
    .await?;
    query("UPDATE subscription_requests SET confirmed = $1 WHERE id = $2")
        .bind(micros(at))
        .bind(request)
        .execute(&mut *c)
        .await?;
    let subscriber = current_subscriber(c, id).await?;
    let (action, outcome) =
        if current { ("subscriber.change", Confirmed::Changed) } else { ("subscriber.confirm", Confirmed::Subscribed) };
    let detail = json!({ "request": request, "components": subscriber.components, "language": subscriber.language });
    audit(c, at, PUBLIC, action, &id.to_string(), detail).await?;
    Ok(Confirmation { subscriber, outcome })
}

/// Subscription `id` if it is confirmed, has not ended, and began by `sent` (a message
/// written then went to it).
pub(crate) async fn subscription(c: &mut Conn, id: i64, sent: Timestamp) -> Result<Option<Subscriber>> {
    let row = query(&format!(
        "{SUBSCRIBER} WHERE id = $1 AND confirmed IS NOT NULL AND unsubscribed IS NULL AND created <= $2"
    ))
    .bind(id)
    .bind(micros(sent))
    .fetch_optional(&mut *c)
    .await?;
    row.as_ref().map(subscriber_from_row).transpose()
}

pub(crate) async fn unsubscribe(c: &mut Conn, at: Timestamp, id: i64, sent: Timestamp) -> Result<Option<Subscriber>> {
    let Some(subscriber) = subscription(c, id, sent).await? else { return Ok(None) };
    query("UPDATE subscribers SET unsubscribed = $1 WHERE id = $2").bind(micros(at)).bind(id).execute(&mut *c).await?;
    let detail = json!({ "message": forewarn_status::when::rfc3339(sent) });
    audit(c, at, PUBLIC, "subscriber.unsubscribe", &id.to_string(), detail).await?;
    Ok(Some(subscriber))
}
