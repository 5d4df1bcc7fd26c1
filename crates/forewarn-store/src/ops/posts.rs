//! Posts of the status page: their updates and revisions.

use std::collections::HashMap;

use forewarn_status::{Impact, Post, PostKind, PostState, Revision, Update};
use serde_json::json;

use crate::Error;
use crate::codec::{conflict_on_unique, corrupt, micros, parse};
use crate::outbox::{Notifier, What};
use crate::types::{Correction, NewPost};

use super::*;

pub(super) const POST: &str = "SELECT id, kind, state, title, body, starts, ends, campaign, impact, replaces, created, updated, revision FROM posts";

pub(super) fn post_from_row(r: &DbRow, components: Vec<String>) -> Result<Post> {
    let revision: i64 = r.try_get("revision")?;
    Ok(Post {
        id: r.try_get("id")?,
        kind: parse(r.try_get("kind")?)?,
        state: parse(r.try_get("state")?)?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        starts: opt_ts(r, "starts")?,
        ends: opt_ts(r, "ends")?,
        components,
        campaign: r.try_get("campaign")?,
        impact: parse(r.try_get("impact")?)?,
        replaces: r.try_get("replaces")?,
        created: ts(r, "created")?,
        updated: ts(r, "updated")?,
        revision: u32::try_from(revision).map_err(|_| corrupt(format!("post revision {revision} is out of range")))?,
    })
}

/// Posts from their rows, with their components from `(post, component)` rows in order.
fn posts_from_rows(rows: &[DbRow], component_rows: &[DbRow]) -> Result<Vec<Post>> {
    let mut components: HashMap<i64, Vec<String>> = HashMap::new();
    for r in component_rows {
        components.entry(r.try_get("post")?).or_default().push(r.try_get("component")?);
    }
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            post_from_row(r, components.remove(&id).unwrap_or_default())
        })
        .collect()
}

pub(crate) async fn post(c: &mut Conn, id: i64) -> Result<Option<Post>> {
    let Some(row) = query(&format!("{POST} WHERE id = $1")).bind(id).fetch_optional(&mut *c).await? else {
        return Ok(None);
    };
    let components = query("SELECT component FROM post_components WHERE post = $1 ORDER BY position")
        .bind(id)
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(|r| r.try_get("component"))
        .collect::<Result<Vec<String>, sqlx::Error>>()?;
    post_from_row(&row, components).map(Some)
}

pub(super) async fn existing_post(c: &mut Conn, id: i64) -> Result<Post> {
    post(c, id).await?.ok_or_else(|| Error::NotFound(format!("post {id}")))
}

pub(crate) async fn posts(c: &mut Conn) -> Result<Vec<Post>> {
    let rows = query(&format!("{POST} ORDER BY created DESC, id DESC")).fetch_all(&mut *c).await?;
    let components =
        query("SELECT post, component FROM post_components ORDER BY post, position").fetch_all(&mut *c).await?;
    posts_from_rows(&rows, &components)
}

pub(crate) async fn posts_of_campaign(c: &mut Conn, campaign: &str) -> Result<Vec<Post>> {
    let rows = query(&format!("{POST} WHERE campaign = $1 ORDER BY created DESC, id DESC"))
        .bind(campaign)
        .fetch_all(&mut *c)
        .await?;
    let components = query(
        "SELECT pc.post, pc.component FROM post_components pc JOIN posts p ON p.id = pc.post \
         WHERE p.campaign = $1 ORDER BY pc.post, pc.position",
    )
    .bind(campaign)
    .fetch_all(&mut *c)
    .await?;
    posts_from_rows(&rows, &components)
}

fn check_state(kind: PostKind, state: PostState) -> Result<()> {
    if kind.states().contains(&state) {
        return Ok(());
    }
    let states: Vec<&str> = kind.states().iter().map(|s| s.name()).collect();
    Err(Error::Invalid(format!("a {kind} post cannot be {state}: its states are {}", states.join(", "))))
}

fn check_fields(title: &str, starts: Option<Timestamp>, ends: Option<Timestamp>) -> Result<()> {
    if blank(title) {
        return Err(Error::Invalid("a post needs a title".into()));
    }
    if let (Some(starts), Some(ends)) = (starts, ends) {
        if ends < starts {
            return Err(Error::Invalid(format!("the post ends ({ends}) before it starts ({starts})")));
        }
    }
    Ok(())
}

pub(crate) async fn create_post(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    new: &NewPost,
    notifier: &dyn Notifier,
) -> Result<Post> {
    let post = insert_post(c, at, actor, new).await?;
    let subscribers = confirmed_subscribers(c).await?;
    tell(c, at, actor, notifier, What::PostCreated { post: &post, subscribers: &subscribers }).await?;
    Ok(post)
}

/// The impact a new post takes: the one given, or its kind's default; only incidents have
/// one other than `none`.
fn post_impact(new: &NewPost) -> Result<Impact> {
    let impact = new.impact.unwrap_or(Impact::default_for(new.kind));
    if new.kind != PostKind::Incident && impact != Impact::None {
        return Err(Error::Invalid(format!(
            "`impact`: a {} post has no impact, only an incident has one (none, minor, major or critical); leave \
             `impact` out{}",
            new.kind,
            if new.kind == PostKind::Maintenance {
                ": its components show under maintenance while it is in progress"
            } else {
                ""
            }
        )));
    }
    Ok(impact)
}

/// `NotFound`-free checks of `replaces`: the post exists, both are maintenance, the old one
/// is cancelled and not replaced yet.
async fn check_replaces(c: &mut Conn, new: &NewPost) -> Result<()> {
    let Some(old_id) = new.replaces else { return Ok(()) };
    if new.kind != PostKind::Maintenance {
        return Err(Error::Invalid(format!(
            "`replaces`: only a maintenance post replaces a cancelled one; this is a {} post",
            new.kind
        )));
    }
    let Some(old) = post(c, old_id).await? else {
        return Err(Error::Invalid(format!(
            "`replaces`: there is no post {old_id}; give the id of the cancelled maintenance post this one replaces"
        )));
    };
    if old.kind != PostKind::Maintenance {
        return Err(Error::Invalid(format!(
            "`replaces`: post {old_id} is a {} post; only a cancelled maintenance post is replaced",
            old.kind
        )));
    }
    if old.state != PostState::Cancelled {
        return Err(Error::Invalid(format!(
            "`replaces`: post {old_id} is {}, not cancelled: cancel it first (an update with state `cancelled`), \
             then post its replacement",
            old.state
        )));
    }
    let taken = query("SELECT id FROM posts WHERE replaces = $1").bind(old_id).fetch_optional(&mut *c).await?;
    if let Some(row) = taken {
        let other: i64 = row.try_get("id")?;
        return Err(Error::Invalid(format!(
            "`replaces`: post {old_id} is already replaced by post {other}; correct post {other} instead"
        )));
    }
    Ok(())
}

/// A new post with its audit row, telling nobody.
pub(super) async fn insert_post(c: &mut Conn, at: Timestamp, actor: &str, new: &NewPost) -> Result<Post> {
    let state = new.state.unwrap_or(new.kind.initial_state());
    check_state(new.kind, state)?;
    check_fields(&new.title, new.starts, new.ends)?;
    let impact = post_impact(new)?;
    if let Some(campaign) = &new.campaign {
        existing_campaign(c, campaign).await?;
    }
    check_replaces(c, new).await?;
    for (i, component) in new.components.iter().enumerate() {
        if new.components[..i].contains(component) {
            return Err(Error::Invalid(format!("the post names component `{component}` twice")));
        }
        let found = query("SELECT id FROM components WHERE id = $1").bind(component).fetch_optional(&mut *c).await?;
        if found.is_none() {
            return Err(Error::NotFound(format!("component `{component}`")));
        }
    }
    let id: i64 = query(
        "INSERT INTO posts (kind, state, title, body, starts, ends, campaign, impact, replaces, created, updated, \
         revision) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1) RETURNING id",
    )
    .bind(new.kind.name())
    .bind(state.name())
    .bind(&new.title)
    .bind(&new.body)
    .bind(new.starts.map(micros))
    .bind(new.ends.map(micros))
    .bind(new.campaign.as_deref())
    .bind(impact.name())
    .bind(new.replaces)
    .bind(micros(at))
    .fetch_one(&mut *c)
    .await
    .map_err(|e| {
        conflict_on_unique(e, || {
            format!("`replaces`: post {} was replaced meanwhile; look again", new.replaces.unwrap_or_default())
        })
    })?
    .try_get("id")?;
    for (position, component) in (1_i64..).zip(&new.components) {
        query("INSERT INTO post_components (post, position, component) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(position)
            .bind(component)
            .execute(&mut *c)
            .await?;
    }
    let detail = json!({
        "kind": new.kind.name(),
        "state": state.name(),
        "title": new.title,
        "campaign": new.campaign,
        "components": new.components,
        "impact": impact.name(),
        "replaces": new.replaces,
    });
    audit(c, at, actor, "post.create", &id.to_string(), detail).await?;
    existing_post(c, id).await
}

pub(super) fn update_from_row(r: &DbRow) -> Result<Update> {
    Ok(Update {
        id: r.try_get("id")?,
        post: r.try_get("post")?,
        at: ts(r, "at")?,
        state: r.try_get::<Option<&str>, _>("state")?.map(parse).transpose()?,
        body: r.try_get("body")?,
        author: r.try_get("author")?,
    })
}

pub(crate) async fn add_update(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    post: i64,
    state: Option<PostState>,
    body: &str,
    notifier: &dyn Notifier,
) -> Result<Update> {
    let update = insert_update(c, at, actor, post, state, body).await?;
    let post = existing_post(c, post).await?;
    let subscribers = confirmed_subscribers(c).await?;
    tell(c, at, actor, notifier, What::PostUpdated { post: &post, update: &update, subscribers: &subscribers }).await?;
    Ok(update)
}

/// A post's new update with its audit row, telling nobody.
pub(super) async fn insert_update(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    post: i64,
    state: Option<PostState>,
    body: &str,
) -> Result<Update> {
    let kind: PostKind = match query("SELECT kind FROM posts WHERE id = $1").bind(post).fetch_optional(&mut *c).await? {
        Some(r) => parse(r.try_get("kind")?)?,
        None => return Err(Error::NotFound(format!("post {post}"))),
    };
    if let Some(state) = state {
        check_state(kind, state)?;
    }
    if blank(body) && state.is_none() {
        return Err(Error::Invalid("an update needs a text or a new state".into()));
    }
    query("UPDATE posts SET state = COALESCE($1, state), updated = $2 WHERE id = $3")
        .bind(state.map(PostState::name))
        .bind(micros(at))
        .bind(post)
        .execute(&mut *c)
        .await?;
    let row = query(
        "INSERT INTO post_updates (post, at, state, body, author) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, post, at, state, body, author",
    )
    .bind(post)
    .bind(micros(at))
    .bind(state.map(PostState::name))
    .bind(body)
    .bind(actor)
    .fetch_one(&mut *c)
    .await?;
    let update = update_from_row(&row)?;
    let detail = json!({ "update": update.id, "state": state.map(PostState::name) });
    audit(c, at, actor, "post.update", &post.to_string(), detail).await?;
    Ok(update)
}

/// Every update of every post, by post, then oldest first.
pub(crate) async fn all_updates(c: &mut Conn) -> Result<Vec<Update>> {
    let rows = query("SELECT id, post, at, state, body, author FROM post_updates ORDER BY post, at, id")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(update_from_row).collect()
}

pub(crate) async fn updates(c: &mut Conn, post: i64) -> Result<Vec<Update>> {
    let rows = query("SELECT id, post, at, state, body, author FROM post_updates WHERE post = $1 ORDER BY at, id")
        .bind(post)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(update_from_row).collect()
}

/// Writes a new revision of `old` with the fields `correction` gives (the earlier text kept
/// in `post_revisions` with `note`); `None` when nothing would change. Gives the new
/// revision and the fields that changed.
pub(super) async fn revise_post(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    old: &Post,
    note: &str,
    correction: &Correction,
) -> Result<Option<(i64, Vec<&'static str>)>> {
    let id = old.id;
    let title = correction.title.as_ref().unwrap_or(&old.title);
    let body = correction.body.as_ref().unwrap_or(&old.body);
    let starts = correction.starts.or(old.starts);
    let ends = correction.ends.or(old.ends);
    let changed: Vec<&'static str> = [
        ("title", *title != old.title),
        ("body", *body != old.body),
        ("starts", starts != old.starts),
        ("ends", ends != old.ends),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect();
    if changed.is_empty() {
        return Ok(None);
    }
    check_fields(title, starts, ends)?;
    let revision = i64::from(old.revision) + 1;
    query(
        "INSERT INTO post_revisions (post, revision, at, note, author, title, body, starts, ends) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(revision)
    .bind(micros(at))
    .bind(note)
    .bind(actor)
    .bind(&old.title)
    .bind(&old.body)
    .bind(old.starts.map(micros))
    .bind(old.ends.map(micros))
    .execute(&mut *c)
    .await
    .map_err(|e| conflict_on_unique(e, || format!("post {id} was corrected meanwhile; look again and retry")))?;
    let moved = query(
        "UPDATE posts SET title = $1, body = $2, starts = $3, ends = $4, revision = $5, updated = $6 \
         WHERE id = $7 AND revision = $8",
    )
    .bind(title)
    .bind(body)
    .bind(starts.map(micros))
    .bind(ends.map(micros))
    .bind(revision)
    .bind(micros(at))
    .bind(id)
    .bind(i64::from(old.revision))
    .execute(&mut *c)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(Error::Conflict(format!("post {id} was corrected meanwhile; look again and retry")));
    }
    Ok(Some((revision, changed)))
}

pub(crate) async fn correct_post(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    id: i64,
    note: &str,
    correction: &Correction,
    notifier: &dyn Notifier,
) -> Result<Post> {
    if blank(note) {
        return Err(Error::Invalid("a correction needs a note saying what was wrong".into()));
    }
    let old = existing_post(c, id).await?;
    let Some((revision, changed)) = revise_post(c, at, actor, &old, note, correction).await? else {
        return Err(Error::Invalid(format!("the correction of post {id} changes nothing")));
    };
    let detail = json!({ "revision": revision, "note": note, "changed": changed });
    audit(c, at, actor, "post.correct", &id.to_string(), detail).await?;
    let post = existing_post(c, id).await?;
    let subscribers = confirmed_subscribers(c).await?;
    tell(c, at, actor, notifier, What::PostCorrected { post: &post, note, subscribers: &subscribers }).await?;
    Ok(post)
}

pub(crate) async fn revisions(c: &mut Conn, post: i64) -> Result<Vec<Revision>> {
    let rows = query(
        "SELECT post, revision, at, note, author, title, body, starts, ends FROM post_revisions \
         WHERE post = $1 ORDER BY revision",
    )
    .bind(post)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            let revision: i64 = r.try_get("revision")?;
            Ok(Revision {
                post: r.try_get("post")?,
                revision: u32::try_from(revision)
                    .map_err(|_| corrupt(format!("post revision {revision} is out of range")))?,
                at: ts(r, "at")?,
                note: r.try_get("note")?,
                author: r.try_get("author")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                starts: opt_ts(r, "starts")?,
                ends: opt_ts(r, "ends")?,
            })
        })
        .collect()
}
