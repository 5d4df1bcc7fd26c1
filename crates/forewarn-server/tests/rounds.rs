//! The schedule's background rounds: one with nothing due asks the store when something will
//! be and does nothing else (no notifier made, no inventory read); one at a due time, or
//! after a write that made something due, does the work.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use forewarn_server::{App, Clock, Round, Settings, actions, schedule_round};
use forewarn_status::{PostKind, PostState};
use forewarn_store::testing::TempDir;
use forewarn_store::{NewPost, Silent, Store};
use jiff::{SignedDuration, Timestamp};

const INVENTORY: &str = include_str!("../../../examples/inventory.toml");

#[derive(Debug)]
struct TestClock(Mutex<Timestamp>);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }

    fn monotonic(&self) -> Duration {
        Duration::ZERO
    }
}

fn window(title: &str, starts: Timestamp, ends: Timestamp) -> NewPost {
    NewPost {
        kind: PostKind::Maintenance,
        state: None,
        title: title.into(),
        body: "Firmware of the storage shelves.".into(),
        starts: Some(starts),
        ends: Some(ends),
        components: vec![],
        campaign: None,
        impact: None,
        replaces: None,
    }
}

#[tokio::test]
async fn a_round_with_nothing_due_makes_no_notifier_and_one_at_a_due_time_does_the_work() {
    let dir = TempDir::new("forewarn-rounds-test").unwrap();
    let url = dir.sqlite_url("forewarn.db");
    let store = Store::open(&url).await.unwrap();
    let start: Timestamp = "2027-02-10T09:00:00Z".parse().unwrap();
    let clock = Arc::new(TestClock(Mutex::new(start)));
    let config = Settings { database: Some(url), ..Settings::default() }.resolve().unwrap();
    let app = App::new(store.clone(), clock.clone(), config);
    let set = |at: Timestamp| *clock.0.lock().unwrap() = at;
    let hours = |h: i64| start.checked_add(SignedDuration::from_hours(h)).unwrap();

    // Nothing at all: nothing due, ever.
    actions::import_inventory(&app, "test", "toml", INVENTORY.to_owned()).await.unwrap();
    assert_eq!(schedule_round(&app).await.unwrap(), Round { worked: false, next: None });

    // A window in two hours: due then, not before.
    let post = store.create_post(start, "test", window("Storage", hours(2), hours(4)), &Silent).await.unwrap();
    let made = app.tellers_made();
    assert_eq!(schedule_round(&app).await.unwrap(), Round { worked: false, next: Some(hours(2)) });
    set(hours(1));
    assert_eq!(schedule_round(&app).await.unwrap(), Round { worked: false, next: Some(hours(2)) });
    assert_eq!(app.tellers_made(), made, "a round with nothing due makes no notifier");

    // At its start: the post moves, and the next due time is its end.
    set(hours(2));
    assert_eq!(schedule_round(&app).await.unwrap(), Round { worked: true, next: Some(hours(4)) });
    assert!(app.tellers_made() > made, "the round did the work");
    assert_eq!(store.post(post.id).await.unwrap().unwrap().state, PostState::InProgress);
    let made = app.tellers_made();
    assert_eq!(schedule_round(&app).await.unwrap(), Round { worked: false, next: Some(hours(4)) });
    assert_eq!(app.tellers_made(), made);

    // A write that makes something due at once: the next round does it.
    set(hours(3));
    let begun = store.create_post(hours(3), "test", window("Power", hours(2), hours(5)), &Silent).await.unwrap();
    assert_eq!(schedule_round(&app).await.unwrap(), Round { worked: true, next: Some(hours(4)) });
    assert_eq!(store.post(begun.id).await.unwrap().unwrap().state, PostState::InProgress);

    // At the first end, then the last: completed, and nothing is due any more.
    set(hours(5));
    assert_eq!(schedule_round(&app).await.unwrap(), Round { worked: true, next: None });
    for id in [post.id, begun.id] {
        assert_eq!(store.post(id).await.unwrap().unwrap().state, PostState::Completed);
    }
}
