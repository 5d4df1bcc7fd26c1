//! Two instances (two apps, each with its own pool) on one PostgreSQL database, their clocks
//! standing still: a page one of them rendered and keeps must not outlive the other's write
//! by more than the watch's second, however fresh the clock says it is.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use forewarn_server::{App, Clock, Settings};
use forewarn_store::Store;
use forewarn_store::testing::TestPostgres;
use jiff::Timestamp;
use tower::ServiceExt;

#[derive(Debug)]
struct Stopped(Timestamp);

impl Clock for Stopped {
    fn now(&self) -> Timestamp {
        self.0
    }

    fn monotonic(&self) -> Duration {
        Duration::ZERO
    }
}

async fn instance(url: &str, now: Timestamp) -> Arc<App> {
    let store = Store::open(url).await.expect("open PostgreSQL");
    let config = Settings {
        database: Some(url.to_owned()),
        base_url: Some("https://status.example.net".into()),
        ..Settings::default()
    }
    .resolve()
    .expect("a valid configuration");
    App::new(store, Arc::new(Stopped(now)), config)
}

async fn send(app: &Arc<App>, method: Method, uri: &str, token: &str, body: String) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = forewarn_server::router(app.clone()).oneshot(request).await.expect("the router answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_cached_by_one_instance_follows_a_write_through_another() {
    let Some(pg) = TestPostgres::start().await else { return };
    let now: Timestamp = "2027-02-15T09:00:00Z".parse().unwrap();
    let (a, b) = (instance(pg.url(), now).await, instance(pg.url(), now).await);
    let token = forewarn_server::auth::token_from(&[7; 32]);
    a.store.create_token(now, "test", "instances", &forewarn_server::auth::hash_secret(&token)).await.unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watch = {
        let b = b.clone();
        tokio::spawn(async move { forewarn_server::watch_changes(&b, stopped).await })
    };

    let (status, page) = send(&b, Method::GET, "/", "", String::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("New DNS resolvers"));
    let post = serde_json::json!({ "kind": "notice", "title": "New DNS resolvers", "body": "Use 192.0.2.53." });
    let (status, body) = send(&a, Method::POST, "/api/v1/posts", &token, post.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // B's clock stands still, so its page never ages: only the watch makes it stale.
    let mut polls = 0;
    loop {
        let (status, page) = send(&b, Method::GET, "/", "", String::new()).await;
        assert_eq!(status, StatusCode::OK);
        if page.contains("New DNS resolvers") {
            break;
        }
        polls += 1;
        assert!(polls < 600, "the other instance's page never showed the post written through the first");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    watch.await.unwrap();
}
