//! Several instances on one PostgreSQL database: what one instance's write does while
//! another one's transaction is between its read and its write. Each test holds a row or an
//! advisory lock from a connection of its own (the other instance), lets the store's
//! operation run into it, and only then commits what the other instance did: the
//! interleaving that loses an update, made to happen every time.

use std::time::Duration;

use jiff::SignedDuration;
use sqlx::{Connection, Executor, PgConnection, Row};

use super::{maintenance, planned, t};
use crate::outbox::PlannedSlot;
use crate::testing::TestPostgres;
use crate::{Error, Silent, Store};

fn slot(target: &str, from: i64, to: i64) -> PlannedSlot {
    PlannedSlot { target: target.into(), start: t(from), end: t(to) }
}

/// Another instance's connection, in a transaction.
async fn other_instance(url: &str) -> PgConnection {
    let mut conn = PgConnection::connect(url).await.unwrap();
    conn.execute("BEGIN").await.unwrap();
    conn
}

/// Waits until some session of the cluster waits for a lock another one holds (a cap on the
/// polls, not a time limit of the test).
async fn someone_waits_for_a_lock(url: &str) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    for _ in 0..3000 {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if row.get::<i64, _>("n") > 0 {
            let _ = conn.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no session came to wait for the lock held");
}

/// Waits until `task` is done or some session waits for a lock (a cap on the polls).
async fn done_or_waiting<T>(url: &str, task: &tokio::task::JoinHandle<T>) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    for _ in 0..3000 {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if task.is_finished() || row.get::<i64, _>("n") > 0 {
            let _ = conn.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the task neither finished nor came to wait for a lock");
}

/// A campaign `os` published with plan 1: slots a (100 to 130) and b (150 to 170).
async fn published(store: &Store) {
    planned(store, "os").await;
    let slots = [slot("a", 100, 130), slot("b", 150, 170)];
    store.publish_campaign(t(3), "ada", "os", 1, maintenance("OS"), slots.to_vec(), &Silent).await.unwrap();
}

/// Two moves of one campaign through two instances: the second read the published version
/// before the first committed a newer one, and must lose rather than publish a plan made
/// from the old version (which would undo the first move).
async fn a_move_loses_to_one_committed_after_it_read(store: &Store, url: &str) {
    published(store).await;
    let mut other = other_instance(url).await;
    other.execute("SELECT id FROM campaigns WHERE id = 'os' FOR UPDATE").await.unwrap();

    let mover = {
        let store = store.clone();
        tokio::spawn(async move {
            let plan = (1, r#"{"campaign":"os","slots":[]}"#, &super::summary(3));
            let slots = [slot("a", 200, 230), slot("b", 150, 170)];
            let text = crate::Correction::default();
            store.move_slot(t(10), "bob", "os", 1, plan, &slots, &text, &Silent).await
        })
    };
    someone_waits_for_a_lock(url).await;
    // The other instance's move: plan version 2, published.
    other
        .execute(
            "INSERT INTO plans (campaign, version, created, actor, inventory_version, json, summary) \
             VALUES ('os', 2, 0, 'eve', 1, '{}', '{}'); \
             UPDATE campaigns SET plan_count = 2, published_plan = 2 WHERE id = 'os'; COMMIT",
        )
        .await
        .unwrap();
    match mover.await.unwrap() {
        Err(Error::Conflict(message)) => {
            assert!(message.contains("plan version 2 is published now, not 1"), "{message}");
        }
        other => panic!("the move made from version 1 won over version 2: {other:?}"),
    }
    let c = store.campaign("os").await.unwrap().unwrap();
    assert_eq!(c.published_plan, Some(2));
    assert_eq!(store.plans("os").await.unwrap().len(), 2, "the lost move kept no plan version");
}

/// The schedule's round of an instance that waited while someone else completed the
/// campaign (its last slot had finished) does not complete it again.
async fn a_campaign_completed_meanwhile_is_not_completed_again(store: &Store, url: &str) {
    published(store).await;
    let (started, finished) = store.slot_progress(t(171), &Silent).await.unwrap();
    assert_eq!((started, finished), (2, 2));
    let mut other = other_instance(url).await;
    other.execute("SELECT id FROM posts WHERE campaign = 'os' FOR UPDATE").await.unwrap();

    let round = {
        let store = store.clone();
        tokio::spawn(async move { store.advance_posts(t(172), &Silent).await })
    };
    someone_waits_for_a_lock(url).await;
    other
        .execute(
            "UPDATE posts SET state = 'completed' WHERE campaign = 'os'; \
             UPDATE campaigns SET state = 'completed' WHERE id = 'os'; COMMIT",
        )
        .await
        .unwrap();
    assert_eq!(round.await.unwrap().unwrap(), 0, "the round found the campaign completed and did nothing");
    assert!(store.audit_of("campaign.complete", 10).await.unwrap().is_empty(), "completed once, by the other");
}

/// While one instance runs a round of the schedule, the others skip theirs at once (they
/// neither wait nor do the work twice); afterwards they find it done.
async fn one_instance_runs_the_schedule_at_a_time(store: &Store, url: &str) {
    published(store).await;
    let mut other = other_instance(url).await;
    other.execute("SELECT pg_advisory_xact_lock(x'666f726577610001'::bigint)").await.unwrap();
    let horizon = SignedDuration::from_mins(200);
    assert_eq!(store.send_reminders(t(20), horizon, &Silent).await.unwrap(), 0, "skipped");
    assert_eq!(store.slot_progress(t(171), &Silent).await.unwrap(), (0, 0), "skipped");
    assert_eq!(store.advance_posts(t(172), &Silent).await.unwrap(), 0, "skipped");
    other.execute("COMMIT").await.unwrap();
    assert_eq!(store.send_reminders(t(20), horizon, &Silent).await.unwrap(), 2);
    assert_eq!(store.slot_progress(t(171), &Silent).await.unwrap(), (2, 2));
    // The post to in progress, then completed, and the campaign completed.
    assert_eq!(store.advance_posts(t(172), &Silent).await.unwrap(), 3);
}

/// Someone asks twice, through two instances at once, to subscribe an address that was sent
/// a confirmation over an hour ago: one confirmation goes out, not two.
async fn one_confirmation_an_hour_whichever_instance_is_asked(store: &Store, url: &str) {
    store.subscribe(t(0), "ada@example.net", &[], "en", &Silent).await.unwrap();
    let mut other = other_instance(url).await;
    other.execute("SELECT id FROM subscribers FOR UPDATE").await.unwrap();
    let asking = {
        let store = store.clone();
        tokio::spawn(async move { store.subscribe(t(120), "ada@example.net", &[], "en", &Silent).await })
    };
    done_or_waiting(url, &asking).await;
    // The other instance's request for the address, committed first.
    let created = t(120).as_microsecond();
    other
        .execute(
            format!(
                "INSERT INTO subscription_requests (subscriber, components, language, created) \
                 SELECT id, '[]', 'en', {created} FROM subscribers; COMMIT"
            )
            .as_str(),
        )
        .await
        .unwrap();
    asking.await.unwrap().unwrap();
    let mut conn = PgConnection::connect(url).await.unwrap();
    let row = sqlx::query("SELECT COUNT(*) AS n FROM subscription_requests WHERE created >= $1")
        .bind(created)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>("n"), 1, "two confirmations within the hour");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_instances_on_postgres() {
    let Some(pg) = TestPostgres::start().await else { return };
    macro_rules! chapters {
        ($($chapter:ident),* $(,)?) => {$(
            let url = pg.create_schema(stringify!($chapter)).await.unwrap();
            let store = Store::open(&url).await.unwrap();
            eprintln!("postgres: {}", stringify!($chapter));
            $chapter(&store, &url).await;
            store.close().await;
        )*};
    }
    chapters!(
        a_move_loses_to_one_committed_after_it_read,
        a_campaign_completed_meanwhile_is_not_completed_again,
        one_instance_runs_the_schedule_at_a_time,
        one_confirmation_an_hour_whichever_instance_is_asked,
    );
}
