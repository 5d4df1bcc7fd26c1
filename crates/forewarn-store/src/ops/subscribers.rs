//! Subscribers of the status page.

use std::collections::HashSet;

use serde_json::json;

use crate::Error;
use crate::codec::{conflict_on_unique, corrupt, json_text, micros};
use crate::outbox::{Notifier, Subscriber, What};

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

async fn existing_subscriber(c: &mut Conn, id: i64) -> Result<Subscriber> {
    let row = query(&format!("{SUBSCRIBER} WHERE id = $1")).bind(id).fetch_one(&mut *c).await?;
    subscriber_from_row(&row)
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
    let row = query("SELECT id, confirmed, unsubscribed FROM subscribers WHERE email_key = $1")
        .bind(&key)
        .fetch_optional(&mut *c)
        .await?;
    let id = match row {
        None => {
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
            let confirmed: Option<i64> = r.try_get("confirmed")?;
            let unsubscribed: Option<i64> = r.try_get("unsubscribed")?;
            // The last hour of the audit log only (its index is by time).
            let last: Option<i64> = query(
                "SELECT MAX(at) AS last FROM audit \
                 WHERE at > $1 AND action = 'subscriber.request' AND subject = $2",
            )
            .bind(micros(at) - CONFIRMATION_INTERVAL_MICROS)
            .bind(id.to_string())
            .fetch_one(&mut *c)
            .await?
            .try_get("last")?;
            let recent = last.is_some();
            if (confirmed.is_some() && unsubscribed.is_none()) || recent {
                // A confirmed subscription is not changed by anyone who knows its address,
                // and an address is sent at most one confirmation an hour: nothing happens.
                return existing_subscriber(c, id).await;
            } else {
                // Asked again before confirming, or back after unsubscribing (a new
                // subscription, from now): unconfirmed until the new link is followed.
                query(
                    "UPDATE subscribers SET email = $1, components = $2, language = $3, confirmed = NULL, \
                     created = CASE WHEN unsubscribed IS NULL THEN created ELSE $4 END, unsubscribed = NULL \
                     WHERE id = $5",
                )
                .bind(email)
                .bind(&components_text)
                .bind(language)
                .bind(micros(at))
                .bind(id)
                .execute(&mut *c)
                .await?;
                id
            }
        }
    };
    let detail = json!({ "components": wanted, "language": language });
    audit(c, at, PUBLIC, "subscriber.request", &id.to_string(), detail).await?;
    let subscriber = existing_subscriber(c, id).await?;
    tell(c, at, PUBLIC, notifier, What::SubscriptionRequested { subscriber: &subscriber }).await?;
    Ok(subscriber)
}

pub(crate) async fn confirm_subscriber(c: &mut Conn, at: Timestamp, email: &str) -> Result<Subscriber> {
    let row = query("SELECT id, confirmed FROM subscribers WHERE email_key = $1 AND unsubscribed IS NULL")
        .bind(email_key(email))
        .fetch_optional(&mut *c)
        .await?
        .ok_or_else(|| Error::NotFound(format!("subscriber `{}`", email.trim())))?;
    let id: i64 = row.try_get("id")?;
    let confirmed: Option<i64> = row.try_get("confirmed")?;
    if confirmed.is_none() {
        query("UPDATE subscribers SET confirmed = $1 WHERE id = $2 AND confirmed IS NULL")
            .bind(micros(at))
            .bind(id)
            .execute(&mut *c)
            .await?;
        audit(c, at, PUBLIC, "subscriber.confirm", &id.to_string(), json!({})).await?;
    }
    existing_subscriber(c, id).await
}

pub(crate) async fn unsubscribe(c: &mut Conn, at: Timestamp, email: &str) -> Result<bool> {
    let row =
        query("UPDATE subscribers SET unsubscribed = $1 WHERE email_key = $2 AND unsubscribed IS NULL RETURNING id")
            .bind(micros(at))
            .bind(email_key(email))
            .fetch_optional(&mut *c)
            .await?;
    let Some(row) = row else { return Ok(false) };
    let id: i64 = row.try_get("id")?;
    audit(c, at, PUBLIC, "subscriber.unsubscribe", &id.to_string(), json!({})).await?;
    Ok(true)
}
