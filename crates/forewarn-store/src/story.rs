//! The story test: a season of maintenance told to each backend, chapter by chapter, each
//! chapter on a fresh database. SQLite runs in a temporary directory, PostgreSQL in a
//! throwaway cluster of the system's binaries (see `testing`).

use std::future::Future;

use forewarn_status::{Component, ComponentKind, ComponentStatus, PostKind, PostState};
use jiff::{Timestamp, ToSpan};
use serde_json::json;
use sqlx::Row;

use crate::testing::{TempDir, TestPostgres};
use crate::types::{CampaignState, Correction, NewCampaign, NewPost};
use crate::{AgentReport, Backend, Error, Pool, Silent, Store};

mod instances;
mod telling;
use telling::{
    a_failed_message_fails_the_change, cancelling, concurrent_claims, delivering, leases_and_retention,
    posts_follow_the_schedule, reminders, republishing, rows, slots_start_and_finish, staged_publication, subscribing,
    writes_tell,
};

/// 1 March 2025, 09:00:00.123456 UTC, plus `minutes`.
fn t(minutes: i64) -> Timestamp {
    let t0: Timestamp = "2025-03-01T09:00:00.123456Z".parse().unwrap();
    t0.checked_add(minutes.minutes()).unwrap()
}

fn summary(machines: i64) -> serde_json::Value {
    json!({ "machines": machines, "customers": 2 })
}

fn new_campaign(id: &str, inventory_version: i64) -> NewCampaign {
    NewCampaign {
        id: id.into(),
        title: format!("Campaign {id}"),
        text: format!("id = \"{id}\"\ntitle = \"Campaign {id}\"\n"),
        inventory_version,
    }
}

fn maintenance(title: &str) -> NewPost {
    NewPost {
        kind: PostKind::Maintenance,
        state: None,
        title: title.into(),
        body: "Kernel updates on every VM, one reboot each.".into(),
        starts: Some(t(3 * 24 * 60)),
        ends: Some(t(5 * 24 * 60)),
        components: vec![],
        campaign: None,
        impact: None,
        replaces: None,
    }
}

fn incident(title: &str) -> NewPost {
    NewPost {
        kind: PostKind::Incident,
        state: None,
        title: title.into(),
        body: "Some VMs do not answer.".into(),
        starts: Some(t(0)),
        ends: None,
        components: vec![],
        campaign: None,
        impact: None,
        replaces: None,
    }
}

fn component(id: &str, name: &str) -> Component {
    Component { id: id.into(), name: name.into(), kind: ComponentKind::Service, status: ComponentStatus::Operational }
}

/// A campaign `id` on a fresh inventory, with plan 1.
async fn planned(store: &Store, id: &str) {
    let inventory = store.import_inventory(t(0), "ada", "toml", "[platform]", &summary(3)).await.unwrap();
    store.create_campaign(t(1), "ada", new_campaign(id, inventory)).await.unwrap();
    store.add_plan(t(2), "ada", id, inventory, r#"{"campaign":"x","slots":[]}"#, &summary(3)).await.unwrap();
}

fn actions(audit: &[crate::AuditEntry]) -> Vec<&str> {
    audit.iter().map(|a| a.action.as_str()).collect()
}

#[track_caller]
fn invalid(result: Result<impl std::fmt::Debug, Error>, words: &[&str]) {
    match result {
        Err(Error::Invalid(message)) => {
            for word in words {
                assert!(message.contains(word), "`{message}` does not say `{word}`");
            }
        }
        other => panic!("expected Invalid naming {words:?}, got {other:?}"),
    }
}

#[track_caller]
fn not_found(result: Result<impl std::fmt::Debug, Error>, what: &str) {
    match result {
        Err(Error::NotFound(w)) => assert_eq!(w, what),
        other => panic!("expected NotFound({what}), got {other:?}"),
    }
}

async fn inventory_versions(store: &Store) {
    assert_eq!(store.inventory(None).await.unwrap(), None);
    assert_eq!(store.import_inventory(t(0), "ada", "toml", "[platform]\n", &summary(3)).await.unwrap(), 1);
    assert_eq!(store.import_inventory(t(1), "bob", "json", "{}", &summary(4)).await.unwrap(), 2);
    let latest = store.inventory(None).await.unwrap().unwrap();
    assert_eq!((latest.version, latest.format.as_str(), latest.actor.as_str()), (2, "json", "bob"));
    assert_eq!(latest.summary, summary(4));
    let first = store.inventory(Some(1)).await.unwrap().unwrap();
    assert_eq!((first.at, first.text.as_str()), (t(0), "[platform]\n"));
    assert_eq!(store.inventory(Some(3)).await.unwrap(), None);

    invalid(store.import_inventory(t(2), "ada", "yaml", "", &summary(0)).await, &["yaml", "toml or json"]);
    // The refused import took no number.
    assert_eq!(store.import_inventory(t(3), "ada", "toml", "", &summary(5)).await.unwrap(), 3);

    let audit = store.audit(10).await.unwrap();
    assert_eq!(actions(&audit), ["inventory.import"; 3]);
    let subjects: Vec<&str> = audit.iter().map(|a| a.subject.as_str()).collect();
    assert_eq!(subjects, ["3", "2", "1"]);
    assert_eq!((audit[1].actor.as_str(), audit[1].at), ("bob", t(1)));
    assert_eq!(audit[1].detail["summary"], summary(4));
    inventories_in_pieces(store).await;
}

/// An inventory's text is kept in pieces of a few megabytes and read back whole, characters
/// of several bytes across the cuts included; one kept whole before pieces
/// (`inventories.text`) still reads.
async fn inventories_in_pieces(store: &Store) {
    // 10 MB: three pieces, with "é" (two bytes) and "🛠" (four) all along.
    let text: String = format!("# {}\n[platform]\n", "aé🛠xyz".repeat(1_000_000));
    assert!(text.len() > 9 << 20, "{}", text.len());
    let v = store.import_inventory(t(4), "ada", "toml", &text, &summary(1)).await.unwrap();
    assert_eq!(store.inventory(Some(v)).await.unwrap().unwrap().text, text);
    assert_eq!(store.inventory(None).await.unwrap().unwrap().text, text);
    assert_eq!(rows(store, &format!("SELECT COUNT(*) FROM inventory_pieces WHERE version = {v}")).await, 3);
    assert_eq!(rows(store, &format!("SELECT COUNT(*) FROM inventories WHERE version = {v} AND text = ''")).await, 1);
    assert_eq!(store.audit(1).await.unwrap()[0].detail["bytes"], text.len());
    // Imported before inventories were kept in pieces.
    rows(
        store,
        "INSERT INTO inventories (version, at, actor, format, text, summary) \
         VALUES (9, 0, 'eve', 'toml', '[platform]\nzone = \"UTC\"\n', '{}') RETURNING version",
    )
    .await;
    assert_eq!(store.inventory(Some(9)).await.unwrap().unwrap().text, "[platform]\nzone = \"UTC\"\n");
}

async fn campaigns(store: &Store) {
    let v = store.import_inventory(t(0), "ada", "toml", "", &summary(3)).await.unwrap();
    let created = store.create_campaign(t(1), "ada", new_campaign("os-2025", v)).await.unwrap();
    assert_eq!(created.state, CampaignState::Draft);
    assert_eq!((created.created, created.updated, created.published_plan), (t(1), t(1), None));
    assert_eq!(created.text, "id = \"os-2025\"\ntitle = \"Campaign os-2025\"\n");
    assert_eq!(store.campaign("os-2025").await.unwrap(), Some(created.clone()));

    let audit_before = store.audit(100).await.unwrap();
    let again = NewCampaign { title: "Another".into(), ..new_campaign("os-2025", v) };
    match store.create_campaign(t(2), "bob", again).await {
        Err(Error::Conflict(m)) => assert_eq!(m, "campaign `os-2025` already exists"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.campaign("os-2025").await.unwrap(), Some(created.clone()));
    assert_eq!(store.audit(100).await.unwrap(), audit_before);

    not_found(store.create_campaign(t(2), "ada", new_campaign("net", 9)).await, "inventory version 9");
    invalid(store.create_campaign(t(2), "ada", new_campaign(" ", v)).await, &["id"]);
    assert_eq!(store.campaign("net").await.unwrap(), None);

    store.create_campaign(t(3), "ada", new_campaign("switches", v)).await.unwrap();
    let ids: Vec<String> = store.campaigns().await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["switches", "os-2025"]);
    let audit = store.audit(100).await.unwrap();
    assert_eq!(actions(&audit), ["campaign.create", "campaign.create", "inventory.import"]);
    assert_eq!(audit[1].detail, json!({ "title": "Campaign os-2025", "inventory_version": 1 }));
}

async fn plans(store: &Store) {
    let v1 = store.import_inventory(t(0), "ada", "toml", "", &summary(3)).await.unwrap();
    store.create_campaign(t(1), "ada", new_campaign("os", v1)).await.unwrap();
    assert_eq!(store.plan("os", None).await.unwrap(), None);
    assert_eq!(store.add_plan(t(2), "ada", "os", v1, r#"{"slots":[1]}"#, &summary(3)).await.unwrap(), 1);
    let v2 = store.import_inventory(t(3), "ada", "toml", "", &summary(4)).await.unwrap();
    assert_eq!(store.add_plan(t(4), "bob", "os", v2, r#"{"slots":[2]}"#, &summary(4)).await.unwrap(), 2);

    let latest = store.plan("os", None).await.unwrap().unwrap();
    assert_eq!((latest.version, latest.inventory_version, latest.json.as_str()), (2, v2, r#"{"slots":[2]}"#));
    assert_eq!((latest.created, latest.actor.as_str(), &latest.summary), (t(4), "bob", &summary(4)));
    let first = store.plan("os", Some(1)).await.unwrap().unwrap();
    assert_eq!((first.version, first.json.as_str()), (1, r#"{"slots":[1]}"#));
    assert_eq!(store.plan("os", Some(3)).await.unwrap(), None);
    let listed: Vec<(i64, i64)> =
        store.plans("os").await.unwrap().iter().map(|p| (p.version, p.inventory_version)).collect();
    assert_eq!(listed, [(2, v2), (1, v1)]);
    assert_eq!(store.campaign("os").await.unwrap().unwrap().updated, t(4));

    let audit_before = store.audit(100).await.unwrap();
    not_found(store.add_plan(t(5), "ada", "nope", v1, "{}", &summary(0)).await, "campaign `nope`");
    not_found(store.add_plan(t(5), "ada", "os", 7, "{}", &summary(0)).await, "inventory version 7");
    store.set_campaign_state(t(6), "ada", "os", CampaignState::Cancelled).await.unwrap();
    invalid(store.add_plan(t(7), "ada", "os", v1, "{}", &summary(0)).await, &["os", "cancelled"]);
    assert_eq!(store.plans("os").await.unwrap().len(), 2);
    assert_eq!(store.campaign("os").await.unwrap().unwrap().updated, t(6));
    assert_eq!(actions(&store.audit(100).await.unwrap()[..2]), ["campaign.cancel", "plan.add"]);
    assert_eq!(store.audit(100).await.unwrap()[1..], audit_before[..]);
    assert_eq!(store.audit(100).await.unwrap()[1].detail["version"], 2);
    plans_in_pieces(store, v2).await;
}

/// A plan's text is kept in pieces of a few megabytes and read back whole, characters of
/// several bytes across the cuts included; one kept whole before pieces (`plans.json`)
/// still reads.
async fn plans_in_pieces(store: &Store, inventory: i64) {
    store.create_campaign(t(8), "ada", new_campaign("big", inventory)).await.unwrap();
    // 10 MB: three pieces, with "é" (two bytes) and "🛠" (four) all along.
    let text: String = format!("{{\"slots\":\"{}\"}}", "aé🛠xyz".repeat(1_000_000));
    assert!(text.len() > 9 << 20, "{}", text.len());
    assert_eq!(store.add_plan(t(9), "ada", "big", inventory, &text, &summary(1)).await.unwrap(), 1);
    assert_eq!(store.plan("big", Some(1)).await.unwrap().unwrap().json, text);
    assert_eq!(store.plan("big", None).await.unwrap().unwrap().json, text);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM plan_pieces WHERE campaign = 'big'").await, 3);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM plans WHERE campaign = 'big' AND json = ''").await, 1);
    // Empty text: no piece.
    assert_eq!(store.add_plan(t(10), "ada", "big", inventory, "", &summary(1)).await.unwrap(), 2);
    assert_eq!(store.plan("big", Some(2)).await.unwrap().unwrap().json, "");
    assert_eq!(rows(store, "SELECT COUNT(*) FROM plan_pieces WHERE campaign = 'big' AND version = 2").await, 0);
    // Written before plans were kept in pieces.
    rows(
        store,
        "INSERT INTO plans (campaign, version, created, actor, inventory_version, json, summary) \
         VALUES ('big', 3, 0, 'eve', 1, '{\"slots\":[3]}', '{}') RETURNING version",
    )
    .await;
    assert_eq!(store.plan("big", Some(3)).await.unwrap().unwrap().json, r#"{"slots":[3]}"#);
}

async fn publishing(store: &Store) {
    planned(store, "os").await;
    store.upsert_component(t(3), "ada", &component("vm-hosting", "VM hosting")).await.unwrap();
    let announced = NewPost { components: vec!["vm-hosting".into()], ..maintenance("OS updates in March") };
    let (campaign, post) = store.publish_campaign(t(10), "ada", "os", 1, announced, vec![], &Silent).await.unwrap();
    assert_eq!((campaign.state, campaign.published_plan, campaign.updated), (CampaignState::Published, Some(1), t(10)));
    assert_eq!((post.kind, post.state, post.revision), (PostKind::Maintenance, PostState::Scheduled, 1));
    assert_eq!((post.campaign.as_deref(), post.created, post.updated), (Some("os"), t(10), t(10)));
    assert_eq!((post.starts, post.ends), (Some(t(3 * 24 * 60)), Some(t(5 * 24 * 60))));
    assert_eq!(post.components, ["vm-hosting"]);
    assert_eq!(store.campaign("os").await.unwrap(), Some(campaign));
    assert_eq!(store.post(post.id).await.unwrap(), Some(post.clone()));
    assert_eq!(store.posts_of_campaign("os").await.unwrap(), std::slice::from_ref(&post));
    assert_eq!(store.posts().await.unwrap(), std::slice::from_ref(&post));

    let audit = store.audit(2).await.unwrap();
    assert_eq!(actions(&audit), ["campaign.publish", "post.create"]);
    assert_eq!(audit[0].detail, json!({ "plan": 1, "post": post.id, "slots": 0 }));
    assert_eq!((audit[1].subject.clone(), audit[1].detail["campaign"].clone()), (post.id.to_string(), json!("os")));

    invalid(
        store.publish_campaign(t(11), "ada", "os", 1, maintenance("again"), vec![], &Silent).await,
        &["os", "published", "draft"],
    );
    planned(store, "net").await;
    let as_incident = NewPost { kind: PostKind::Incident, ..maintenance("switches") };
    invalid(
        store.publish_campaign(t(12), "ada", "net", 1, as_incident, vec![], &Silent).await,
        &["maintenance", "incident"],
    );
    let elsewhere = NewPost { campaign: Some("os".into()), ..maintenance("switches") };
    invalid(store.publish_campaign(t(12), "ada", "net", 1, elsewhere, vec![], &Silent).await, &["net", "os"]);
    not_found(
        store.publish_campaign(t(12), "ada", "nope", 1, maintenance("x"), vec![], &Silent).await,
        "campaign `nope`",
    );
    assert_eq!(store.campaign("net").await.unwrap().unwrap().state, CampaignState::Draft);
    assert!(store.posts_of_campaign("net").await.unwrap().is_empty());
}

/// Whatever fails leaves campaigns, posts and the audit log as they were.
async fn nothing_half_written(store: &Store) {
    planned(store, "os").await;
    store.upsert_component(t(3), "ada", &component("vm-hosting", "VM hosting")).await.unwrap();
    let post = store.create_post(t(4), "ada", maintenance("Rack A1 power work"), &Silent).await.unwrap();
    let before = (store.campaigns().await.unwrap(), store.posts().await.unwrap(), store.audit(1000).await.unwrap());
    let unchanged = async || {
        let after = (store.campaigns().await.unwrap(), store.posts().await.unwrap(), store.audit(1000).await.unwrap());
        assert_eq!(after, before);
        assert!(store.updates(post.id).await.unwrap().is_empty());
        assert!(store.revisions(post.id).await.unwrap().is_empty());
    };

    not_found(
        store.publish_campaign(t(5), "ada", "os", 7, maintenance("x"), vec![], &Silent).await,
        "plan version 7 of campaign `os`",
    );
    unchanged().await;
    // These fail after the campaign has been moved to published, in the same transaction.
    let unknown_component = NewPost { components: vec!["vm-hosting".into(), "nope".into()], ..maintenance("x") };
    not_found(
        store.publish_campaign(t(5), "ada", "os", 1, unknown_component, vec![], &Silent).await,
        "component `nope`",
    );
    unchanged().await;
    let wrong_state = NewPost { state: Some(PostState::Resolved), ..maintenance("x") };
    invalid(
        store.publish_campaign(t(5), "ada", "os", 1, wrong_state, vec![], &Silent).await,
        &["maintenance", "resolved"],
    );
    unchanged().await;
    let twice = NewPost { components: vec!["vm-hosting".into(), "vm-hosting".into()], ..maintenance("x") };
    invalid(store.create_post(t(5), "ada", twice, &Silent).await, &["vm-hosting", "twice"]);
    unchanged().await;
    let backwards = Correction { ends: Some(t(0)), ..Correction::default() };
    invalid(
        store.correct_post(t(5), "ada", post.id, "the end was wrong", backwards, &Silent).await,
        &["ends", "before"],
    );
    unchanged().await;
    invalid(store.add_update(t(5), "ada", post.id, Some(PostState::Identified), "x", &Silent).await, &["identified"]);
    unchanged().await;
    assert!(matches!(store.create_campaign(t(5), "ada", new_campaign("os", 1)).await, Err(Error::Conflict(_))));
    unchanged().await;
}

/// Writes that span several records go together or not at all.
async fn combined_writes(store: &Store) {
    // An inventory version and the components it names.
    let blank = Component { id: " ".into(), ..component("x", "X") };
    let result = store
        .import_inventory_with_components(
            t(1),
            "ada",
            "toml",
            "x",
            &summary(1),
            &[component("rack-a1", "Rack A1"), blank],
        )
        .await;
    assert!(matches!(result, Err(Error::Invalid(_))), "{result:?}");
    assert!(store.inventory(None).await.unwrap().is_none());
    assert!(store.components().await.unwrap().is_empty());
    assert!(store.audit(10).await.unwrap().is_empty());
    let named = [component("rack-a1", "Rack A1")];
    assert_eq!(store.import_inventory_with_components(t(2), "ada", "toml", "x", &summary(1), &named).await.unwrap(), 1);
    store.set_component_status(t(3), "ada", "rack-a1", ComponentStatus::Degraded).await.unwrap();
    let named = [component("rack-a1", "Rack A1"), component("rack-a2", "Rack A2")];
    assert_eq!(store.import_inventory_with_components(t(4), "ada", "toml", "x", &summary(2), &named).await.unwrap(), 2);
    let now: Vec<(String, ComponentStatus)> =
        store.components().await.unwrap().into_iter().map(|c| (c.id, c.status)).collect();
    assert_eq!(now, [("rack-a1".into(), ComponentStatus::Degraded), ("rack-a2".into(), ComponentStatus::Operational)]);

    // A campaign's state and the updates on its open posts.
    let c = store.create_campaign(t(5), "ada", new_campaign("os", 2)).await.unwrap();
    store.add_plan(t(6), "ada", &c.id, 2, "{}", &summary(2)).await.unwrap();
    let (_, post) =
        store.publish_campaign(t(7), "ada", "os", 1, maintenance("OS update"), vec![], &Silent).await.unwrap();
    let result = store.change_campaign_state(t(8), "ada", "os", CampaignState::Paused, ("", None), &Silent).await;
    assert!(matches!(result, Err(Error::Invalid(_))), "an update with nothing in it: {result:?}");
    assert_eq!(store.campaign("os").await.unwrap().unwrap().state, CampaignState::Published);
    assert!(store.updates(post.id).await.unwrap().is_empty());
    store.change_campaign_state(t(9), "ada", "os", CampaignState::Paused, ("Paused.", None), &Silent).await.unwrap();
    let cancelled = ("Cancelled.", Some(PostState::Cancelled));
    let c =
        store.change_campaign_state(t(10), "ada", "os", CampaignState::Cancelled, cancelled, &Silent).await.unwrap();
    assert_eq!(c.state, CampaignState::Cancelled);
    let updates: Vec<String> = store.updates(post.id).await.unwrap().into_iter().map(|u| u.body).collect();
    assert_eq!(updates, ["Paused.", "Cancelled."]);
    assert_eq!(store.post(post.id).await.unwrap().unwrap().state, PostState::Cancelled);
}

async fn campaign_states(store: &Store) {
    use CampaignState::*;
    planned(store, "os").await;
    invalid(store.set_campaign_state(t(3), "ada", "os", Paused).await, &["`os`", "from draft to paused"]);
    invalid(store.set_campaign_state(t(3), "ada", "os", Published).await, &["draft", "plan"]);
    invalid(store.set_campaign_state(t(3), "ada", "os", Draft).await, &["already draft"]);
    not_found(store.set_campaign_state(t(3), "ada", "nope", Cancelled).await, "campaign `nope`");

    store.publish_campaign(t(4), "ada", "os", 1, maintenance("OS updates"), vec![], &Silent).await.unwrap();
    let paused = store.set_campaign_state(t(5), "bob", "os", Paused).await.unwrap();
    assert_eq!((paused.state, paused.updated, paused.published_plan), (Paused, t(5), Some(1)));
    invalid(store.set_campaign_state(t(6), "bob", "os", Completed).await, &["from paused to completed"]);
    assert_eq!(store.set_campaign_state(t(6), "bob", "os", Published).await.unwrap().state, Published);
    assert_eq!(store.set_campaign_state(t(7), "bob", "os", Completed).await.unwrap().state, Completed);
    invalid(
        store.set_campaign_state(t(8), "bob", "os", Cancelled).await,
        &["from completed to cancelled", "cannot change any more"],
    );
    let audit = store.audit(3).await.unwrap();
    assert_eq!(actions(&audit), ["campaign.complete", "campaign.resume", "campaign.pause"]);
    assert_eq!(audit[2].detail, json!({ "from": "published", "to": "paused" }));
    assert_eq!((audit[2].actor.as_str(), audit[2].at), ("bob", t(5)));

    planned(store, "net").await;
    assert_eq!(store.set_campaign_state(t(9), "ada", "net", Cancelled).await.unwrap().state, Cancelled);
    invalid(store.set_campaign_state(t(10), "ada", "net", Published).await, &["from cancelled to published"]);
    invalid(store.publish_campaign(t(10), "ada", "net", 1, maintenance("x"), vec![], &Silent).await, &["cancelled"]);
    let states: Vec<(String, CampaignState)> =
        store.campaigns().await.unwrap().into_iter().map(|c| (c.id, c.state)).collect();
    assert_eq!(states, [("net".to_owned(), Cancelled), ("os".to_owned(), Completed)]);
}

async fn posts_and_updates(store: &Store) {
    store.upsert_component(t(0), "ada", &component("vm-hosting", "VM hosting")).await.unwrap();
    store.upsert_component(t(0), "ada", &component("rack-a1", "Rack A1")).await.unwrap();
    let new = NewPost { components: vec!["rack-a1".into(), "vm-hosting".into()], ..incident("VMs on rack A1 down") };
    let post = store.create_post(t(1), "ada", new, &Silent).await.unwrap();
    assert_eq!((post.kind, post.state, post.revision), (PostKind::Incident, PostState::Investigating, 1));
    assert_eq!(post.components, ["rack-a1", "vm-hosting"]);

    let scheduled = NewPost { state: Some(PostState::Scheduled), ..incident("x") };
    invalid(store.create_post(t(1), "ada", scheduled, &Silent).await, &["incident", "scheduled", "investigating"]);
    invalid(store.create_post(t(1), "ada", incident("  "), &Silent).await, &["title"]);
    let backwards = NewPost { ends: Some(t(-1)), ..incident("x") };
    invalid(store.create_post(t(1), "ada", backwards, &Silent).await, &["before it starts"]);
    let lost = NewPost { campaign: Some("nope".into()), ..incident("x") };
    not_found(store.create_post(t(1), "ada", lost, &Silent).await, "campaign `nope`");

    let first =
        store.add_update(t(2), "bob", post.id, Some(PostState::Identified), "A PDU failed.", &Silent).await.unwrap();
    assert_eq!(
        (first.post, first.at, first.state, first.author.as_str()),
        (post.id, t(2), Some(PostState::Identified), "bob")
    );
    let second = store.add_update(t(3), "ada", post.id, None, "Replacement on its way.", &Silent).await.unwrap();
    assert_eq!(second.state, None);
    let now = store.post(post.id).await.unwrap().unwrap();
    assert_eq!((now.state, now.updated, now.created, now.revision), (PostState::Identified, t(3), t(1), 1));
    invalid(
        store.add_update(t(4), "ada", post.id, Some(PostState::Completed), "done", &Silent).await,
        &["incident", "completed"],
    );
    invalid(store.add_update(t(4), "ada", post.id, None, " ", &Silent).await, &["text or a new state"]);
    not_found(store.add_update(t(4), "ada", 999, None, "x", &Silent).await, "post 999");
    let resolved = store.add_update(t(5), "ada", post.id, Some(PostState::Resolved), "", &Silent).await.unwrap();
    assert_eq!(store.updates(post.id).await.unwrap(), [first, second, resolved.clone()]);
    assert_eq!(store.post(post.id).await.unwrap().unwrap().state, PostState::Resolved);
    let audit = store.audit(1).await.unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].subject.clone()), ("post.update", post.id.to_string()));
    assert_eq!(audit[0].detail, json!({ "update": resolved.id, "state": "resolved" }));

    let notice = store
        .create_post(t(6), "ada", NewPost { kind: PostKind::Notice, ..incident("New dashboard") }, &Silent)
        .await
        .unwrap();
    assert_eq!(notice.state, PostState::Published);
    let ids: Vec<i64> = store.posts().await.unwrap().iter().map(|p| p.id).collect();
    assert_eq!(ids, [notice.id, post.id]);
    assert_eq!(store.posts().await.unwrap()[1].components, ["rack-a1", "vm-hosting"]);
    assert!(store.updates(notice.id).await.unwrap().is_empty());
}

/// An incident's impact (minor unless given; only incidents have one), and a maintenance
/// post that replaces a cancelled one.
async fn impact_and_replacement(store: &Store) {
    use forewarn_status::Impact;
    let minor = store.create_post(t(0), "ada", incident("Slow disks"), &Silent).await.unwrap();
    assert_eq!(minor.impact, Impact::Minor);
    let major = NewPost { impact: Some(Impact::Major), ..incident("Outage") };
    let major = store.create_post(t(0), "ada", major, &Silent).await.unwrap();
    assert_eq!(store.post(major.id).await.unwrap().unwrap().impact, Impact::Major);
    let none = NewPost { impact: Some(Impact::None), ..incident("Hiccup") };
    assert_eq!(store.create_post(t(0), "ada", none, &Silent).await.unwrap().impact, Impact::None);
    let work = store.create_post(t(0), "ada", maintenance("Switch swap"), &Silent).await.unwrap();
    assert_eq!(work.impact, Impact::None);
    let with_impact = NewPost { impact: Some(Impact::Minor), ..maintenance("x") };
    invalid(
        store.create_post(t(1), "ada", with_impact, &Silent).await,
        &["`impact`", "maintenance", "under maintenance"],
    );
    let audit = store.audit(1).await.unwrap();
    assert_eq!((audit[0].detail["impact"].as_str(), audit[0].detail["replaces"].is_null()), (Some("none"), true));

    // Only a cancelled maintenance post is replaced, once, by a maintenance post.
    let replacing = |id| NewPost { replaces: Some(id), ..maintenance("Switch swap, new date") };
    invalid(
        store.create_post(t(2), "ada", replacing(work.id), &Silent).await,
        &["`replaces`", "scheduled", "cancel it first"],
    );
    invalid(store.create_post(t(2), "ada", replacing(major.id), &Silent).await, &["`replaces`", "incident"]);
    invalid(store.create_post(t(2), "ada", replacing(999), &Silent).await, &["`replaces`", "no post 999"]);
    store.add_update(t(3), "ada", work.id, Some(PostState::Cancelled), "Off.", &Silent).await.unwrap();
    let as_incident = NewPost { kind: PostKind::Incident, ..replacing(work.id) };
    invalid(store.create_post(t(4), "ada", as_incident, &Silent).await, &["`replaces`", "only a maintenance post"]);
    let new = store.create_post(t(4), "ada", replacing(work.id), &Silent).await.unwrap();
    assert_eq!(new.replaces, Some(work.id));
    assert_eq!(store.posts().await.unwrap()[0].replaces, Some(work.id));
    invalid(store.create_post(t(5), "ada", replacing(work.id), &Silent).await, &["already replaced by post"]);
    assert_eq!(store.posts().await.unwrap().len(), 5, "nothing refused was written");

    // Every update of every post, for the feed.
    let all = store.all_updates().await.unwrap();
    assert_eq!(all.iter().map(|u| u.post).collect::<Vec<_>>(), [work.id]);
}

async fn corrections(store: &Store) {
    let post = store.create_post(t(0), "ada", maintenance("Host reboot"), &Silent).await.unwrap();
    let right = t(4 * 24 * 60);
    let nothing = Correction::default();
    invalid(store.correct_post(t(1), "ada", post.id, "", nothing.clone(), &Silent).await, &["note"]);
    invalid(store.correct_post(t(1), "ada", post.id, "typo", nothing, &Silent).await, &["changes nothing"]);
    let same = Correction { title: Some("Host reboot".into()), ..Correction::default() };
    invalid(store.correct_post(t(1), "ada", post.id, "typo", same, &Silent).await, &["changes nothing"]);
    not_found(store.correct_post(t(1), "ada", 999, "typo", Correction::default(), &Silent).await, "post 999");

    let note = "the date of the host reboot was wrong";
    let fixed = Correction { starts: Some(right), ..Correction::default() };
    let second = store.correct_post(t(2), "bob", post.id, note, fixed, &Silent).await.unwrap();
    assert_eq!((second.revision, second.starts, second.updated), (2, Some(right), t(2)));
    assert_eq!((second.title.as_str(), second.ends, second.created), ("Host reboot", post.ends, t(0)));
    let retitled = Correction { title: Some("Host reboot of hv-12".into()), ..Correction::default() };
    let third = store.correct_post(t(3), "ada", post.id, "name the host", retitled, &Silent).await.unwrap();
    assert_eq!((third.revision, third.title.as_str(), third.starts), (3, "Host reboot of hv-12", Some(right)));
    assert_eq!(store.post(post.id).await.unwrap(), Some(third.clone()));

    let revisions = store.revisions(post.id).await.unwrap();
    assert_eq!(revisions.len(), 2);
    let r = &revisions[0];
    assert_eq!((r.post, r.revision, r.at, r.note.as_str(), r.author.as_str()), (post.id, 2, t(2), note, "bob"));
    assert_eq!(
        (r.title.as_str(), r.body.as_str(), r.starts, r.ends),
        ("Host reboot", post.body.as_str(), post.starts, post.ends)
    );
    let r = &revisions[1];
    assert_eq!((r.revision, r.title.as_str(), r.starts), (3, "Host reboot", Some(right)));
    let audit = store.audit(2).await.unwrap();
    assert_eq!(actions(&audit), ["post.correct", "post.correct"]);
    assert_eq!(audit[1].detail, json!({ "revision": 2, "note": note, "changed": ["starts"] }));
}

async fn components(store: &Store) {
    store.upsert_component(t(0), "ada", &component("vm-hosting", "VM hosting")).await.unwrap();
    let rack = Component { kind: ComponentKind::Rack, ..component("rack-a1", "Rack A1") };
    store.upsert_component(t(1), "ada", &rack).await.unwrap();
    store.upsert_component(t(2), "ada", &component("vm-hosting", "Virtual machines")).await.unwrap();
    let listed = store.components().await.unwrap();
    assert_eq!(listed, [component("vm-hosting", "Virtual machines"), rack.clone()]);
    let down = store.set_component_status(t(3), "bob", "rack-a1", ComponentStatus::MajorOutage).await.unwrap();
    assert_eq!(down, Component { status: ComponentStatus::MajorOutage, ..rack });
    assert_eq!(store.components().await.unwrap()[1], down);
    not_found(store.set_component_status(t(3), "bob", "nope", ComponentStatus::Degraded).await, "component `nope`");
    invalid(store.upsert_component(t(3), "bob", &component("", "x")).await, &["id"]);
    let audit = store.audit(10).await.unwrap();
    assert_eq!(actions(&audit), ["component.status", "component.upsert", "component.upsert", "component.upsert"]);
    assert_eq!(audit[0].detail, json!({ "from": "operational", "to": "major_outage" }));
}

/// Each inventory import makes the components those it names: a corrected name replaces the
/// old one, a component it no longer names is retired (kept: a post still names it), one it
/// names again comes back, with the status set by hand kept throughout.
async fn components_follow_the_inventory(store: &Store) {
    let rack = |id: &str, name: &str| Component { kind: ComponentKind::Rack, ..component(id, name) };
    let platform = component("platform", "Example");
    let named = [platform.clone(), rack("rack-a1", "Rack A1"), rack("rack-a2", "Rakc A2")];
    store.import_inventory_with_components(t(0), "ada", "toml", "1", &summary(2), &named).await.unwrap();
    store.set_component_status(t(1), "bob", "rack-a2", ComponentStatus::Degraded).await.unwrap();
    let down = NewPost { components: vec!["rack-a1".into()], ..incident("Rack A1 down") };
    let post = store.create_post(t(2), "bob", down, &Silent).await.unwrap();
    let a2 = Component { status: ComponentStatus::Degraded, ..rack("rack-a2", "Rack A2") };

    // Rack A2's name corrected, rack A1 gone.
    let named = [platform.clone(), rack("rack-a2", "Rack A2")];
    store.import_inventory_with_components(t(3), "ada", "toml", "2", &summary(1), &named).await.unwrap();
    assert_eq!(store.components().await.unwrap(), [platform.clone(), a2.clone()]);
    assert_eq!(store.post(post.id).await.unwrap().unwrap().components, ["rack-a1"], "the post keeps its component");
    let audit = store.audit(3).await.unwrap();
    assert_eq!(actions(&audit), ["component.retire", "component.rename", "inventory.import"]);
    assert_eq!((audit[0].subject.as_str(), &audit[0].detail), ("rack-a1", &json!({ "name": "Rack A1" })));
    assert_eq!(
        (audit[1].subject.as_str(), &audit[1].detail),
        ("rack-a2", &json!({ "from": "Rakc A2", "to": "Rack A2" }))
    );

    // The same inventory again changes no component.
    store.import_inventory_with_components(t(4), "ada", "toml", "3", &summary(1), &named).await.unwrap();
    assert_eq!(actions(&store.audit(2).await.unwrap()), ["inventory.import", "component.retire"]);

    // Rack A1 back, under a new name, in its old place.
    let named = [platform.clone(), rack("rack-a1", "Rack A1 (rebuilt)"), rack("rack-a2", "Rack A2")];
    store.import_inventory_with_components(t(5), "ada", "toml", "4", &summary(2), &named).await.unwrap();
    assert_eq!(store.components().await.unwrap(), [platform.clone(), rack("rack-a1", "Rack A1 (rebuilt)"), a2.clone()]);
    let audit = store.audit(3).await.unwrap();
    assert_eq!(actions(&audit), ["component.rename", "component.unretire", "inventory.import"]);
    assert_eq!(audit[1].detail, json!({ "name": "Rack A1 (rebuilt)" }));

    // A blank name is refused, and the inventory with it.
    let named = [component("platform", " ")];
    invalid(store.import_inventory_with_components(t(6), "ada", "toml", "5", &summary(0), &named).await, &["name"]);
    assert_eq!(store.inventory(None).await.unwrap().unwrap().version, 4);
    assert_eq!(store.components().await.unwrap().len(), 3);
}

async fn access(store: &Store) {
    let id = store.create_token(t(0), "cli", "deploy", "hash-of-token-1").await.unwrap();
    let token = store.token_by_hash("hash-of-token-1").await.unwrap().unwrap();
    assert_eq!((token.id, token.name.as_str(), token.created), (id, "deploy", t(0)));
    assert_eq!(store.token_by_hash("hash-of-something-else").await.unwrap(), None);
    assert!(matches!(store.create_token(t(1), "cli", "other", "hash-of-token-1").await, Err(Error::Conflict(_))));
    store.create_token(t(2), "cli", "deploy", "hash-of-token-2").await.unwrap();
    assert_eq!(store.tokens().await.unwrap().iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["deploy"; 2]);

    assert_eq!(store.operator_hash("ada").await.unwrap(), None);
    store.set_operator(t(3), "cli", "ada", "argon2-hash-1").await.unwrap();
    store.set_operator(t(4), "cli", "ada", "argon2-hash-2").await.unwrap();
    assert_eq!(store.operator_hash("ada").await.unwrap().as_deref(), Some("argon2-hash-2"));

    let expires = t(60);
    store.create_session(t(5), "session-hash-1", "ada", "csrf-1", expires).await.unwrap();
    let session = store.session("session-hash-1", t(30)).await.unwrap().unwrap();
    assert_eq!((session.operator.as_str(), session.csrf.as_str(), session.expires), ("ada", "csrf-1", expires));
    assert_eq!(store.session("session-hash-1", t(60)).await.unwrap(), None, "expired at its expiry");
    assert_eq!(store.session("session-hash-1", t(61)).await.unwrap(), None);
    assert_eq!(store.session("session-hash-2", t(30)).await.unwrap(), None);
    not_found(store.create_session(t(5), "session-hash-2", "bob", "csrf-2", expires).await, "operator `bob`");
    invalid(store.create_session(t(5), "session-hash-2", "ada", "csrf-2", t(5)).await, &["expire"]);
    assert!(matches!(
        store.create_session(t(6), "session-hash-1", "ada", "csrf-3", expires).await,
        Err(Error::Conflict(_))
    ));
    assert!(store.delete_session("session-hash-1").await.unwrap());
    assert!(!store.delete_session("session-hash-1").await.unwrap());
    assert_eq!(store.session("session-hash-1", t(30)).await.unwrap(), None);
    store.create_session(t(7), "session-hash-3", "ada", "csrf-3", t(8)).await.unwrap();
    store.create_session(t(7), "session-hash-4", "ada", "csrf-4", t(80)).await.unwrap();
    assert_eq!(store.delete_expired_sessions(t(9)).await.unwrap(), 1);
    assert!(store.session("session-hash-4", t(9)).await.unwrap().is_some());

    let audit = store.audit(100).await.unwrap();
    assert_eq!(
        actions(&audit),
        [
            "session.create",
            "session.create",
            "session.create",
            "operator.set",
            "operator.set",
            "token.create",
            "token.create"
        ]
    );
    assert_eq!((audit[2].actor.as_str(), audit[2].subject.as_str()), ("ada", "ada"));
    assert_eq!(audit[4].detail, json!({ "new": true, "sessions_ended": 0 }));
    let written = format!("{audit:?}");
    for secret in ["hash-of-token", "argon2-hash", "session-hash", "csrf-"] {
        assert!(!written.contains(secret), "the audit log shows {secret}");
    }
}

/// A machine's token names its machine, wherever it is read; an API token names none.
async fn machine_tokens(store: &Store) {
    store.create_token(t(9), "cli", "ci", "hash-of-token-2").await.unwrap();
    let id = store.create_machine_token(t(10), "cli", "web01's agent", "hash-of-machine", "web01").await.unwrap();
    let token = store.token_by_hash("hash-of-machine").await.unwrap().unwrap();
    assert_eq!((token.id, token.name.as_str(), token.machine.as_deref()), (id, "web01's agent", Some("web01")));
    assert_eq!(store.token_by_hash("hash-of-token-2").await.unwrap().unwrap().machine, None);
    assert_eq!(store.tokens().await.unwrap().iter().filter(|t| t.machine.is_some()).count(), 1);
    let audit = store.audit(1).await.unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].subject.as_str()), ("token.create", id.to_string().as_str()));
    assert_eq!(audit[0].detail, json!({ "name": "web01's agent", "machine": "web01" }));
    invalid(store.create_machine_token(t(11), "cli", "x", "hash-x", " ").await, &["a machine's token its machine"]);
    let revoked = store.revoke_token(t(12), "cli", id).await.unwrap();
    assert_eq!(revoked.machine.as_deref(), Some("web01"));
    assert_eq!(store.token_by_hash("hash-of-machine").await.unwrap(), None);
}

/// An agent's enrolment is recorded a machine a row, its latest report kept; the first
/// one and a change of its FleetLock id are audited, a new boot is not.
async fn agents_enrol(store: &Store) {
    let token = store.create_machine_token(t(0), "cli", "web01 agent", "hash-web01", "web01").await.unwrap();
    let report = |fleetlock: Option<&str>, boot: &str| AgentReport {
        fleetlock_id: fleetlock.map(str::to_owned),
        boot_id: boot.into(),
        version: "forewarn 0.1.0".into(),
    };
    let first = store.enrol_agent(t(1), "token:web01 agent", "web01", token, &report(None, "b1")).await.unwrap();
    assert_eq!((first.machine.as_str(), first.token, first.enrolled, first.seen), ("web01", token, t(1), t(1)));
    let again = store.enrol_agent(t(2), "token:web01 agent", "web01", token, &report(None, "b2")).await.unwrap();
    assert_eq!((again.enrolled, again.seen, again.report.boot_id.as_str()), (t(1), t(2), "b2"));
    let zincati = "4b1c9e0f2d8a4e6b9c3f7a1d5e2b8c04";
    store.enrol_agent(t(3), "token:web01 agent", "web01", token, &report(Some(zincati), "b2")).await.unwrap();
    let listed = store.agents().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].report.fleetlock_id.as_deref(), listed[0].seen), (Some(zincati), t(3)));
    let audit = store.audit(10).await.unwrap();
    assert_eq!(actions(&audit), ["agent.enrol", "agent.enrol", "token.create"]);
    assert_eq!((audit[0].actor.as_str(), audit[0].subject.as_str()), ("token:web01 agent", "web01"));
    assert_eq!(audit[0].detail["fleetlock_id"], zincati);
    assert_eq!(audit[0].detail["before"], json!(null));
    // Seen back after a boot: the locks it holds are released with their downtime; the same
    // boot reported again releases nothing.
    planned(store, "fcos").await;
    store.publish_campaign(t(4), "ada", "fcos", 1, maintenance("FCOS"), vec![], &Silent).await.unwrap();
    let anyone = |_: &crate::Holding| Ok::<(), ()>(());
    store.take_lock(t(5), "fcos", "web01", zincati, t(15), anyone).await.unwrap();
    store.enrol_agent(t(6), "token:web01 agent", "web01", token, &report(Some(zincati), "b2")).await.unwrap();
    assert_eq!(store.open_runs().await.unwrap().len(), 1, "the same boot");
    store.enrol_agent(t(9), "token:web01 agent", "web01", token, &report(Some(zincati), "b3")).await.unwrap();
    let runs = store.runs("fcos").await.unwrap();
    assert_eq!((runs[0].state, runs[0].downtime_seconds), (crate::RunState::Done, Some(4 * 60)));
}

/// FleetLock: a group takes locks only while published; a lock is a run, recursive, counted
/// by the caller's decision with what holds (other runs, running slots); seen back, it ends
/// done with its downtime; an operator's release is audited; concurrent asks never grant
/// more than the decision allows.
async fn fleetlock_locks(store: &Store) {
    let group = "fcos";
    planned(store, group).await;
    let g = store.create_fleetlock_token(t(0), "cli", "zincati", "hash-fcos", group).await.unwrap();
    let token = store.token_by_hash("hash-fcos").await.unwrap().unwrap();
    assert_eq!((token.id, token.fleetlock.as_deref(), token.machine.as_deref()), (g, Some(group), None));
    let anyone = |_: &crate::Holding| Ok::<(), String>(());
    let ask = |at, machine: &'static str| store.take_lock(at, group, machine, machine, t(40), anyone);
    // A draft takes no locks.
    assert_eq!(ask(t(20), "web01").await.unwrap(), crate::Taken::Inactive(CampaignState::Draft));
    store.publish_campaign(t(10), "ada", group, 1, maintenance("FCOS"), vec![], &Silent).await.unwrap();
    let crate::Taken::Granted(run) = ask(t(20), "web01").await.unwrap() else { panic!("granted") };
    assert_eq!((run.state, run.started, run.deadline, run.finished), (crate::RunState::Running, t(20), t(40), None));
    assert_eq!((run.source.as_str(), run.node.as_deref()), ("fleetlock", Some("web01")));
    // Recursive: the holder asks again and holds the same run.
    assert_eq!(ask(t(21), "web01").await.unwrap(), crate::Taken::Held(run.clone()));
    // The decision sees what holds, and its refusal comes back.
    let seen = store
        .take_lock(t(22), group, "web02", "web02", t(42), |h: &crate::Holding| {
            Err(h.runs.iter().map(|(c, m, at)| format!("{c}/{m}@{at}")).collect::<Vec<_>>())
        })
        .await
        .unwrap();
    assert_eq!(seen, crate::Taken::Refused(vec![format!("{group}/web01@{}", t(20))]));
    // Slots of other published campaigns running then hold their machines too.
    planned(store, "os").await;
    let slots = vec![crate::PlannedSlot { target: "db01".into(), start: t(15), end: t(25) }];
    store.publish_campaign(t(11), "ada", "os", 1, maintenance("OS"), slots, &Silent).await.unwrap();
    let seen = store
        .take_lock(t(22), group, "web02", "web02", t(42), |h: &crate::Holding| Err(h.slots.clone()))
        .await
        .unwrap();
    assert_eq!(seen, crate::Taken::Refused(vec![("os".into(), "db01".into(), t(15), t(25))]));
    let seen = store.take_lock(t(25), group, "web02", "web02", t(42), |h: &crate::Holding| Err(h.slots.len())).await;
    assert_eq!(seen.unwrap(), crate::Taken::Refused(0), "a slot that has ended holds nothing");
    assert!(!run.is_stuck(t(40)) && run.is_stuck(t(41)));
    // Seen back: done, with its downtime; unlocking again, or by a non-holder, changes nothing.
    let done = store.release_lock(t(27), group, "web01").await.unwrap().unwrap();
    assert_eq!((done.state, done.finished, done.downtime_seconds), (crate::RunState::Done, Some(t(27)), Some(7 * 60)));
    assert_eq!(store.release_lock(t(28), group, "web01").await.unwrap(), None);
    assert_eq!(store.release_lock(t(28), group, "web09").await.unwrap(), None);
    // Taken again later: a second run.
    let crate::Taken::Granted(again) = ask(t(30), "web01").await.unwrap() else { panic!("granted") };
    assert_ne!(again.id, run.id);
    assert_eq!(store.open_runs().await.unwrap(), vec![again.clone()]);
    // An operator frees it, audited; no downtime is measured.
    let freed = store.release_lock_by_operator(t(50), "operator:ada", group, "web01").await.unwrap();
    assert_eq!(
        (freed.state, freed.released_by.as_deref(), freed.downtime_seconds),
        (crate::RunState::Released, Some("operator:ada"), None)
    );
    let audit = store.audit(1).await.unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].subject.as_str()), ("lock.release", group));
    assert_eq!(audit[0].detail["machine"], "web01");
    not_found(
        store.release_lock_by_operator(t(51), "operator:ada", group, "web01").await,
        "a lock of group `fcos` held by `web01`",
    );
    assert_eq!(store.runs(group).await.unwrap().len(), 2);
    // A paused group takes no new locks.
    store.set_campaign_state(t(52), "ada", group, CampaignState::Paused).await.unwrap();
    assert_eq!(ask(t(53), "web03").await.unwrap(), crate::Taken::Inactive(CampaignState::Paused));
    store.set_campaign_state(t(54), "ada", group, CampaignState::Published).await.unwrap();
    // Forty machines ask at once for a group that allows three: three are granted.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let machine = format!("node{i:02}");
            let room = |h: &crate::Holding| if h.runs.len() < 3 { Ok(()) } else { Err(()) };
            store.take_lock(t(60), group, &machine, &machine, t(70), room).await.unwrap()
        }));
    }
    let mut granted = 0;
    for task in tasks {
        granted += usize::from(matches!(task.await.unwrap(), crate::Taken::Granted(_)));
    }
    assert_eq!(granted, 3);
    assert_eq!(store.open_runs().await.unwrap().len(), 3);
}

/// A FleetLock group's post follows its locks: in progress from the first grant; the group
/// and its post complete once its period has ended and no lock is held (not before).
async fn fleetlock_posts(store: &Store) {
    let group = "fcos";
    planned(store, group).await;
    store.publish_campaign(t(10), "ada", group, 1, maintenance("FCOS"), vec![], &Silent).await.unwrap();
    let zero = jiff::SignedDuration::ZERO;
    let ends = t(5 * 24 * 60);
    assert_eq!(store.next_scheduled(t(11), zero).await.unwrap(), Some(ends), "the period's end");
    assert_eq!(store.advance_posts(t(11), &Silent).await.unwrap(), 0);
    let anyone = |_: &crate::Holding| Ok::<(), ()>(());
    store.take_lock(t(20), group, "web01", "web01", t(30), anyone).await.unwrap();
    assert_eq!(store.next_scheduled(t(21), zero).await.unwrap(), Some(t(21)), "due now");
    assert_eq!(store.advance_posts(t(21), &Silent).await.unwrap(), 1);
    let post = &store.posts_of_campaign(group).await.unwrap()[0];
    assert_eq!(post.state, PostState::InProgress);
    let updates = store.updates(post.id).await.unwrap();
    assert_eq!(updates.last().unwrap().body, "In progress: the first machine is rebooting.");
    // The period ends with a lock held: nothing completes, nothing is due until it is back.
    assert_eq!(store.next_scheduled(ends, zero).await.unwrap(), None);
    assert_eq!(store.advance_posts(ends, &Silent).await.unwrap(), 0);
    store.release_lock(ends + 60.seconds(), group, "web01").await.unwrap().unwrap();
    assert_eq!(store.next_scheduled(ends + 61.seconds(), zero).await.unwrap(), Some(ends + 61.seconds()));
    assert_eq!(store.advance_posts(ends + 61.seconds(), &Silent).await.unwrap(), 2);
    assert_eq!(store.campaign(group).await.unwrap().unwrap().state, CampaignState::Completed);
    let post = &store.posts_of_campaign(group).await.unwrap()[0];
    assert_eq!(post.state, PostState::Completed);
    let last = store.updates(post.id).await.unwrap().last().unwrap().body.clone();
    assert_eq!(last, "Completed: the period has ended and every machine that rebooted is back.");
}

/// Agents run their slots: a slot running now is leased once as a run (its id the fencing
/// token), given again to an agent that restarted, renewed by heartbeats, lost when the lease
/// runs out (still holding its machine), and reported once; a stale token is refused.
async fn agents_run_their_slots(store: &Store) {
    planned(store, "os").await;
    let slots = vec![
        crate::PlannedSlot { target: "web01".into(), start: t(20), end: t(30) },
        crate::PlannedSlot { target: "web02".into(), start: t(20), end: t(30) },
    ];
    store.publish_campaign(t(10), "ada", "os", 1, maintenance("OS"), slots, &Silent).await.unwrap();
    assert_eq!(store.claim_work(t(19), "web01", t(20)).await.unwrap(), None, "not yet");
    let (run, again) = store.claim_work(t(21), "web01", t(22)).await.unwrap().unwrap();
    assert_eq!(
        (run.campaign.as_str(), run.source.as_str(), run.state, again),
        ("os", "agent", crate::RunState::Running, false)
    );
    assert_eq!((run.started, run.deadline, run.lease_until), (t(21), t(30), Some(t(22))));
    let (same, again) = store.claim_work(t(21), "web01", t(23)).await.unwrap().unwrap();
    assert_eq!((same.id, again), (run.id, true), "an agent that restarted finds its run");
    let renewed = store.renew_lease(run.id, "web01", t(24)).await.unwrap();
    assert_eq!(renewed.lease_until, Some(t(24)));
    not_found(store.renew_lease(run.id, "web02", t(24)).await, "run 1 of machine `web02`");
    let outcome = crate::Outcome {
        state: crate::RunState::Done,
        exit_status: Some(0),
        output: "updated 12 packages".into(),
        started: t(21),
        finished: t(25),
    };
    let done = store.report_run(t(25), run.id, "web01", &outcome).await.unwrap();
    assert_eq!((done.state, done.downtime_seconds, done.exit_status), (crate::RunState::Done, Some(240), Some(0)));
    assert_eq!(done.output.as_deref(), Some("updated 12 packages"));
    match store.report_run(t(26), run.id, "web01", &outcome).await {
        Err(Error::Conflict(m)) => assert!(m.contains("fencing token"), "{m}"),
        other => panic!("a result applied twice: {other:?}"),
    }
    assert_eq!(store.claim_work(t(26), "web01", t(27)).await.unwrap(), None, "its slot has had its run");
    // web02's agent goes silent: its run is lost, and still holds web02.
    let (lost, _) = store.claim_work(t(21), "web02", t(22)).await.unwrap().unwrap();
    // Due by then: the lease's end (here, the slots' starts are due already).
    assert!(store.next_scheduled(t(21), jiff::SignedDuration::ZERO).await.unwrap() <= Some(t(22)));
    assert_eq!(store.expire_leases(t(21)).await.unwrap(), 0, "not before the lease ends");
    assert_eq!(store.expire_leases(t(22)).await.unwrap(), 1);
    assert_eq!(store.runs("os").await.unwrap()[1].state, crate::RunState::Lost);
    assert!(store.holding(t(23)).await.unwrap().runs.iter().any(|(_, m, _)| m == "web02"));
    // It comes back: running again, then failed.
    assert_eq!(store.renew_lease(lost.id, "web02", t(25)).await.unwrap().state, crate::RunState::Running);
    let failed = crate::Outcome { state: crate::RunState::Failed, exit_status: Some(1), ..outcome };
    assert_eq!(store.report_run(t(26), lost.id, "web02", &failed).await.unwrap().state, crate::RunState::Failed);
    assert!(store.holding(t(26)).await.unwrap().runs.is_empty());
}

/// Revoked tokens stop working at once and stay listed; a draft's file is replaced with its
/// old text kept in the audit log; reasons of state changes are audited.
async fn revoking_and_editing(store: &Store) {
    let id = store.create_token(t(0), "cli", "deploy", "hash-of-token-1").await.unwrap();
    store.create_token(t(1), "cli", "ci", "hash-of-token-2").await.unwrap();
    let revoked = store.revoke_token(t(2), "operator:ada", id).await.unwrap();
    assert_eq!((revoked.revoked, revoked.revoked_by.as_deref()), (Some(t(2)), Some("operator:ada")));
    assert_eq!(store.token_by_hash("hash-of-token-1").await.unwrap(), None, "a revoked token authenticates nothing");
    assert!(store.token_by_hash("hash-of-token-2").await.unwrap().is_some());
    let listed = store.tokens().await.unwrap();
    assert_eq!(listed[0], revoked);
    assert_eq!((listed[1].by.as_str(), listed[1].revoked), ("cli", None));
    let before = store.audit(100).await.unwrap();
    match store.revoke_token(t(3), "cli", id).await {
        Err(Error::Conflict(m)) => assert!(m.contains("revoked already") && m.contains("operator:ada"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    not_found(store.revoke_token(t(3), "cli", 99).await, "token 99");
    assert_eq!(store.audit(100).await.unwrap(), before, "refused revocations write nothing");
    assert_eq!(before[0].action, "token.revoke");
    assert_eq!(
        (before[0].subject.as_str(), &before[0].detail),
        (id.to_string().as_str(), &json!({ "name": "deploy" }))
    );

    let v = store.import_inventory(t(4), "ada", "toml", "", &summary(3)).await.unwrap();
    let old = store.create_campaign(t(5), "ada", new_campaign("os", v)).await.unwrap();
    let text = "id = \"os\"\ntitle = \"Kernel update\"\n";
    let new = NewCampaign { title: "Kernel update".into(), text: text.into(), ..new_campaign("os", v) };
    let edited = store.edit_campaign(t(6), "bob", "os", new.clone()).await.unwrap();
    assert_eq!((edited.title.as_str(), edited.text.as_str(), edited.updated), ("Kernel update", text, t(6)));
    let audit = store.audit(1).await.unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str()), ("campaign.edit", "bob"));
    assert_eq!(audit[0].detail["previous"]["text"], json!(old.text));
    let before = store.audit(100).await.unwrap();
    invalid(store.edit_campaign(t(7), "bob", "os", new.clone()).await, &["same", "nothing to change"]);
    invalid(store.edit_campaign(t(7), "bob", "os", NewCampaign { id: "net".into(), ..new.clone() }).await, &["`net`"]);
    not_found(store.edit_campaign(t(7), "bob", "nope", new_campaign("nope", v)).await, "campaign `nope`");
    assert_eq!(store.audit(100).await.unwrap(), before);
    store
        .change_campaign_state_because(
            t(8),
            "bob",
            "os",
            CampaignState::Cancelled,
            ("Off.", None),
            Some("why"),
            &Silent,
        )
        .await
        .unwrap();
    assert_eq!(store.audit(1).await.unwrap()[0].detail, json!({ "from": "draft", "to": "cancelled", "reason": "why" }));
    match store.edit_campaign(t(9), "bob", "os", new_campaign("os", v)).await {
        Err(Error::Conflict(m)) => assert!(m.contains("only a draft"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn timestamps(store: &Store) {
    let instants: Vec<Timestamp> =
        ["1969-07-20T20:17:40.000001Z", "2025-03-30T01:59:59.999999Z", "9999-12-30T21:59:59.999999Z"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
    for (i, at) in instants.iter().enumerate() {
        let new = NewPost { starts: Some(*at), ends: Some(instants[2]), ..incident(&format!("post {i}")) };
        let post = store.create_post(*at, "ada", new, &Silent).await.unwrap();
        let read = store.post(post.id).await.unwrap().unwrap();
        assert_eq!((read.created, read.starts, read.ends), (*at, Some(*at), Some(instants[2])));
        let update = store.add_update(*at, "ada", post.id, None, "x", &Silent).await.unwrap();
        assert_eq!(store.updates(post.id).await.unwrap()[0].at, update.at);
        assert_eq!(update.at, *at);
    }
    // Finer than microseconds: dropped, towards the past.
    let nanos: Timestamp = "2025-01-01T00:00:00.123456789Z".parse().unwrap();
    let post = store.create_post(nanos, "ada", incident("nanos"), &Silent).await.unwrap();
    assert_eq!(post.created.to_string(), "2025-01-01T00:00:00.123456Z");
    // The audit log sorts by time, not by the order things were written in.
    let ats: Vec<Timestamp> = store.audit(100).await.unwrap().iter().map(|a| a.at).collect();
    let mut sorted = ats.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ats, sorted);
    assert_eq!(ats.last(), Some(&instants[0]));
}

async fn counts(store: &Store) {
    planned(store, "a").await;
    planned(store, "b").await;
    planned(store, "c").await;
    store.publish_campaign(t(5), "ada", "a", 1, maintenance("a"), vec![], &Silent).await.unwrap();
    store.publish_campaign(t(5), "ada", "b", 1, maintenance("b"), vec![], &Silent).await.unwrap();
    store.set_campaign_state(t(6), "ada", "b", CampaignState::Paused).await.unwrap();
    store.create_post(t(7), "ada", incident("i"), &Silent).await.unwrap();
    let counts = store.counts().await.unwrap();
    use CampaignState::*;
    assert_eq!(counts.campaigns_by_state, [(Draft, 1), (Published, 1), (Paused, 1), (Cancelled, 0), (Completed, 0)]);
    assert_eq!(counts.posts, 3);
}

/// Each start's time zone database is kept; a change is recorded with what checking the
/// published campaigns found, in one transaction with its audit rows.
async fn time_zone_databases(store: &Store) {
    assert_eq!(store.tzdb_last().await.unwrap(), None);
    store.record_tzdb(t(0), "forewarn", "2026f", "bundled", &[]).await.unwrap();
    let finding = crate::TzdbFinding {
        campaign: "os".into(),
        plan_version: 3,
        target: Some("web01".into()),
        message: "2027-03-01T02:00:00Z-2027-03-01T03:00:00Z is outside every window occurrence".into(),
    };
    store.record_tzdb(t(5), "forewarn", "2099a", "/srv/zoneinfo", std::slice::from_ref(&finding)).await.unwrap();
    let last = store.tzdb_last().await.unwrap().unwrap();
    assert_eq!((last.at, last.release.as_str(), last.source.as_str()), (t(5), "2099a", "/srv/zoneinfo"));
    let found = store.audit_of("tzdb.slot_outside_window", 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].subject.as_str(), found[0].actor.as_str()), ("os", "forewarn"));
    assert_eq!(found[0].detail["target"], "web01");
    assert_eq!(found[0].detail["plan_version"], 3);
    assert_eq!(found[0].detail["release"], "2099a");
    let changes = store.audit_of("tzdb.change", 10).await.unwrap();
    assert_eq!(changes.iter().map(|a| a.subject.as_str()).collect::<Vec<_>>(), ["2099a", "2026f"]);
    assert_eq!(changes[0].detail["previous"]["release"], "2026f");
    assert_eq!(changes[0].detail["slots_outside_window"], 1);
    assert_eq!(changes[1].detail["previous"], serde_json::Value::Null);
    let err = store.record_tzdb(t(6), "forewarn", " ", "bundled", &[]).await.unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");

    // Instances starting together read the same last record; the first records the new
    // database, the others find it recorded since and record nothing.
    let seen = store.tzdb_last().await.unwrap();
    assert!(store.record_tzdb_after(t(7), "forewarn", "2100a", "bundled", &[], seen.as_ref()).await.unwrap());
    assert!(!store.record_tzdb_after(t(7), "forewarn", "2100a", "bundled", &[], seen.as_ref()).await.unwrap());
    assert_eq!(store.audit_of("tzdb.change", 10).await.unwrap().len(), 3);
    assert_eq!(store.tzdb_last().await.unwrap().unwrap().release, "2100a");
}

/// Writers at the same time queue; none fails and numbers have no gaps or twins.
async fn concurrent_writers(store: &Store) {
    planned(store, "os").await;
    let post = store.create_post(t(3), "ada", incident("busy"), &Silent).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let plan = store.add_plan(t(10 + i), "ada", "os", 1, "{}", &summary(i)).await.unwrap();
            store.add_update(t(10 + i), "ada", post.id, None, &format!("note {i}"), &Silent).await.unwrap();
            store.import_inventory(t(10 + i), "ada", "json", "{}", &summary(i)).await.unwrap();
            plan
        }));
    }
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap());
    }
    versions.sort();
    assert_eq!(versions, (2..=9).collect::<Vec<i64>>());
    assert_eq!(store.updates(post.id).await.unwrap().len(), 8);
    assert_eq!(store.inventory(None).await.unwrap().unwrap().version, 9);
}

/// The generation counts the writes that change the pages, for every instance to see.
async fn generations(store: &Store) {
    assert_eq!(store.generation().await.unwrap(), 0);
    assert_eq!(store.bump_generation().await.unwrap(), 1);
    assert_eq!(store.bump_generation().await.unwrap(), 2);
    assert_eq!(store.rehearsal().bump_generation().await.unwrap(), 3, "a rehearsal keeps nothing");
    assert_eq!(store.generation().await.unwrap(), 2);
}

/// The schema enforces its references itself, not only the store's checks.
async fn references_are_enforced(store: &Store) {
    let orphan = "INSERT INTO post_components (post, position, component) VALUES (42, 1, 'nope')";
    let result = match &store.pool {
        Pool::Sqlite(pool) => sqlx::query(orphan).execute(pool).await.map(|_| ()),
        Pool::Postgres(pool) => sqlx::query(orphan).execute(pool).await.map(|_| ()),
    };
    match result {
        Err(sqlx::Error::Database(e)) => assert!(e.is_foreign_key_violation(), "{e}"),
        other => panic!("an orphan row was accepted: {other:?}"),
    }
}

/// Opening again finds the schema in place and the data kept.
async fn reopen(url: &str) {
    let store = Store::open(url).await.unwrap();
    store.import_inventory(t(0), "ada", "toml", "kept", &summary(1)).await.unwrap();
    store.close().await;
    let store = Store::open(url).await.unwrap();
    assert_eq!(store.inventory(None).await.unwrap().unwrap().text, "kept");
    const APPLIED: &str = "SELECT COUNT(*) AS n FROM _sqlx_migrations";
    let applied: i64 = match &store.pool {
        Pool::Sqlite(pool) => sqlx::query(APPLIED).fetch_one(pool).await.unwrap().get("n"),
        Pool::Postgres(pool) => sqlx::query(APPLIED).fetch_one(pool).await.unwrap().get("n"),
    };
    assert_eq!(applied, crate::migrate::SQLITE.len() as i64);
    store.close().await;
}

/// Tells every chapter, each on the fresh database that `fresh(name)` gives the URL of.
async fn story<F: Future<Output = String>>(backend: Backend, fresh: impl Fn(&'static str) -> F) {
    macro_rules! chapters {
        ($($chapter:ident),* $(,)?) => {$(
            let store = Store::open(&fresh(stringify!($chapter)).await).await.unwrap();
            assert_eq!(store.backend(), backend);
            eprintln!("{backend}: {}", stringify!($chapter));
            $chapter(&store).await;
            store.close().await;
        )*};
    }
    chapters!(
        inventory_versions,
        campaigns,
        plans,
        publishing,
        nothing_half_written,
        combined_writes,
        campaign_states,
        posts_and_updates,
        impact_and_replacement,
        corrections,
        components,
        components_follow_the_inventory,
        access,
        revoking_and_editing,
        machine_tokens,
        agents_enrol,
        fleetlock_locks,
        fleetlock_posts,
        agents_run_their_slots,
        timestamps,
        counts,
        time_zone_databases,
        concurrent_writers,
        generations,
        references_are_enforced,
        writes_tell,
        a_failed_message_fails_the_change,
        staged_publication,
        republishing,
        cancelling,
        reminders,
        slots_start_and_finish,
        posts_follow_the_schedule,
        subscribing,
        delivering,
        leases_and_retention,
        concurrent_claims,
    );
    reopen(&fresh("reopen").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_story_on_sqlite() {
    let dir = TempDir::new("forewarn-store").unwrap();
    story(Backend::Sqlite, |name| {
        let url = dir.sqlite_url(&format!("{name}.db"));
        async move { url }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_story_on_postgres() {
    let Some(pg) = TestPostgres::start().await else { return };
    let pg = &pg;
    story(Backend::Postgres, |name| async move { pg.create_schema(name).await.unwrap() }).await;
    // And in a database of its own, as in production.
    reopen(&pg.create_database("reopen").await.unwrap()).await;
}

/// A write that found SQLite busy with another for longer than its timeout says so
/// (`is_busy`: the server answers 503, not 500); other errors do not.
#[tokio::test]
async fn a_write_that_waited_too_long_is_busy() {
    use sqlx::Connection;
    let dir = TempDir::new("forewarn-store").unwrap();
    let url = dir.sqlite_url("busy.db");
    let store = Store::open(&url).await.unwrap();
    let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut holder).await.unwrap();
    let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
    let mut waiter =
        sqlx::SqliteConnection::connect_with(&options.busy_timeout(std::time::Duration::ZERO)).await.unwrap();
    let refused = sqlx::query("BEGIN IMMEDIATE").execute(&mut waiter).await.map(|_| ()).map_err(Error::Database);
    let refused = refused.expect_err("the database is held by another writer");
    assert!(refused.is_busy(), "{refused:?}");
    assert!(!refused.is_unavailable());
    assert!(!Error::Conflict("x".into()).is_busy());
    let bad = sqlx::query("SELECT nope FROM nowhere").execute(&mut waiter).await.map(|_| ()).map_err(Error::Database);
    assert!(!bad.expect_err("no such table").is_busy());
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn sqlite_creates_its_file_in_wal_mode_with_foreign_keys() {
    let dir = TempDir::new("forewarn-store").unwrap();
    let path = dir.path().join("new.db");
    let store = Store::open(&format!("sqlite://{}", path.display())).await.unwrap();
    assert!(path.is_file());
    let Pool::Sqlite(pool) = &store.pool else { panic!("not SQLite") };
    let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(pool).await.unwrap().get(0);
    assert_eq!(mode, "wal");
    let keys: i64 = sqlx::query("PRAGMA foreign_keys").fetch_one(pool).await.unwrap().get(0);
    assert_eq!(keys, 1);
    let timeout: i64 = sqlx::query("PRAGMA busy_timeout").fetch_one(pool).await.unwrap().get(0);
    assert_eq!(timeout, 10_000);
    // Readable by its owner only, and so are the files SQLite keeps beside it.
    use std::os::unix::fs::PermissionsExt;
    sqlx::query("CREATE TABLE t (x)").execute(pool).await.unwrap();
    for file in [path.clone(), dir.path().join("new.db-wal"), dir.path().join("new.db-shm")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", file.display());
    }
    store.close().await;
}

#[tokio::test]
async fn urls_it_cannot_use_are_refused_clearly() {
    let dir = TempDir::new("forewarn-store").unwrap();
    let missing = dir.path().join("no/such/dir/forewarn.db");
    invalid(Store::open(&format!("sqlite://{}", missing.display())).await, &["no/such/dir", "does not exist"]);
    invalid(Store::open("mysql://localhost/forewarn").await, &["`mysql`", "sqlite://", "postgres://"]);
    invalid(Store::open("forewarn.db").await, &["scheme"]);
}

#[tokio::test]
async fn sqlite_in_memory_works_for_quick_tests() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    assert_eq!(store.import_inventory(t(0), "ada", "toml", "", &summary(0)).await.unwrap(), 1);
    assert_eq!(store.inventory(None).await.unwrap().unwrap().version, 1);
    store.close().await;
}

/// The server awaits the store in handlers that must be `Send`: so must every future.
#[test]
fn every_operation_can_be_awaited_on_any_thread() {
    fn send<T: Send>(_: T) {}
    fn all(s: &Store, at: Timestamp) {
        let v = &summary(0);
        send(Store::open("sqlite::memory:"));
        send(s.close());
        send(s.import_inventory(at, "a", "toml", "", v));
        send(s.inventory(None));
        send(s.create_campaign(at, "a", new_campaign("c", 1)));
        send(s.campaign("c"));
        send(s.campaigns());
        send(s.set_campaign_state(at, "a", "c", CampaignState::Paused));
        send(s.publish_campaign(at, "a", "c", 1, maintenance("m"), vec![], &Silent));
        send(s.add_plan(at, "a", "c", 1, "{}", v));
        send(s.plan("c", None));
        send(s.plans("c"));
        send(s.create_post(at, "a", incident("i"), &Silent));
        send(s.post(1));
        send(s.posts());
        send(s.posts_of_campaign("c"));
        send(s.add_update(at, "a", 1, None, "u", &Silent));
        send(s.updates(1));
        send(s.correct_post(at, "a", 1, "n", Correction::default(), &Silent));
        send(s.revisions(1));
        send(s.upsert_component(at, "a", &component("x", "X")));
        send(s.components());
        send(s.next_scheduled(at, jiff::SignedDuration::ZERO));
        send(s.set_component_status(at, "a", "x", ComponentStatus::Degraded));
        send(s.audit(10));
        send(s.create_token(at, "a", "n", "h"));
        send(s.token_by_hash("h"));
        send(s.tokens());
        send(s.revoke_token(at, "a", 1));
        send(s.edit_campaign(at, "a", "c", new_campaign("c", 1)));
        send(s.change_campaign_state_because(at, "a", "c", CampaignState::Paused, ("p", None), None, &Silent));
        send(s.set_operator(at, "a", "n", "h"));
        send(s.operator_hash("n"));
        send(s.create_session(at, "h", "n", "c", at));
        send(s.session("h", at));
        send(s.delete_session("h"));
        send(s.delete_expired_sessions(at));
        send(s.counts());
        send(s.bump_generation());
        send(s.generation());
        send(s.record_tzdb_after(at, "a", "r", "s", &[], None));
        let slots = &[];
        send(s.republish_campaign(at, "a", "c", 2, slots, &Silent));
        send(s.slot_notices("c"));
        send(s.send_reminders(at, jiff::SignedDuration::ZERO, &Silent));
        send(s.subscribe(at, "e", &[], "en", &Silent));
        send(s.confirm_subscription(at, 1));
        send(s.subscription(1, at));
        send(s.unsubscribe(at, 1, at));
        send(s.subscribers());
        send(s.claim_messages(at, jiff::SignedDuration::ZERO, 1, "h"));
        send(s.renew_claims("h", &[1], at));
        send(s.prune_sent(at));
        send(s.release_claims());
        send(s.mark_sent(&[1], at));
        send(s.mark_failed(1, at, "e", false, &crate::RetryPolicy::default()));
        send(s.retry_message(at, "a", 1));
        send(s.messages(None, 10, None));
        send(s.message(1));
        send(s.outbox_counts());
        send(s.next_due());
        send(s.secret("s"));
    }
    let _ = all as fn(&Store, Timestamp);
}
