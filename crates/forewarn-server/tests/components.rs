//! Components follow the inventory, end to end: an inventory imported again through
//! `/api/v1/inventory` renames the status page's components and takes off those it no longer
//! names, from the status page and the subscribe form; a post naming a retired component
//! still names it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use forewarn_server::{App, Clock, Settings};
use forewarn_store::Store;
use forewarn_store::testing::TempDir;
use jiff::Timestamp;
use tower::ServiceExt;

const INVENTORY: &str = include_str!("../../../examples/inventory.toml");
const TOKEN: &str = "fw_the-components-token";

#[derive(Debug)]
struct FixedClock(Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }

    fn monotonic(&self) -> Duration {
        Duration::ZERO
    }
}

async fn send(router: &axum::Router, method: Method, uri: &str, body: &str) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if !body.is_empty() {
        let ctype = if body.starts_with('{') { "application/json" } else { "application/toml" };
        request = request.header("authorization", format!("Bearer {TOKEN}")).header("content-type", ctype);
    }
    let response = router.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The section of a page with `id`, to its end.
fn from_id<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let end = html[at..].find("</section>").map_or(html.len(), |n| at + n);
    &html[at..end]
}

#[tokio::test]
async fn a_renamed_or_removed_component_follows_the_inventory_on_the_status_page() {
    let dir = TempDir::new("forewarn-components-test").unwrap();
    let url = dir.sqlite_url("forewarn.db");
    let store = Store::open(&url).await.unwrap();
    let start: Timestamp = "2027-02-10T09:00:00Z".parse().unwrap();
    store.create_token(start, "test", "components", &forewarn_server::auth::hash_secret(TOKEN)).await.unwrap();
    let config = Settings {
        database: Some(url),
        base_url: Some("https://status.example.net".into()),
        site_name: Some("Test Hosting".into()),
        ..Settings::default()
    }
    .resolve()
    .unwrap();
    let app = App::new(store.clone(), Arc::new(FixedClock(start)), config);
    let router = forewarn_server::router(app);

    let (status, text) = send(&router, Method::POST, "/api/v1/inventory", INVENTORY).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let (_, page) = send(&router, Method::GET, "/", "").await;
    let components = from_id(&page, "components");
    assert!(components.contains("Lindenau Hosting") && components.contains("Switch sw2"), "{components}");

    // A post about switch sw2, before it goes.
    let post = r#"{"kind": "notice", "title": "Rack r2 uplink replaced", "body": "Done.", "components": ["sw2"]}"#;
    let (status, text) = send(&router, Method::POST, "/api/v1/posts", post).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let id = serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"].as_i64().unwrap();

    // The platform renamed, switch sw2 gone (rack r2 hangs off the core router alone).
    let sw2 = "[[devices]]\nid = \"sw2\"\nkind = \"switch\"\nracks = [\"r2\"]\n";
    assert!(INVENTORY.contains(sw2));
    let next = INVENTORY.replace(sw2, "").replace("name = \"Lindenau Hosting\"", "name = \"Lindenau Cloud\"");
    let (status, text) = send(&router, Method::POST, "/api/v1/inventory", &next).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");

    let (_, page) = send(&router, Method::GET, "/", "").await;
    let components = from_id(&page, "components");
    assert!(components.contains("Lindenau Cloud"), "the new name: {components}");
    assert!(!components.contains("Lindenau Hosting"), "the old name is gone: {components}");
    assert!(!components.contains("sw2"), "the removed switch is gone: {components}");
    assert!(components.contains("Switch sw1"), "{components}");
    let (status, form) = send(&router, Method::GET, "/subscribe", "").await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert!(!form.contains("value=\"sw2\"") && form.contains("value=\"sw1\""), "{form}");

    // The post still names the switch by its name, on its page and in the history.
    for uri in [format!("/posts/{id}"), "/history".to_owned()] {
        let (status, page) = send(&router, Method::GET, &uri, "").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Switch sw2"), "{uri} names the retired switch: {page}");
    }

    let audit = store.audit(100).await.unwrap();
    let of = |action: &str| audit.iter().filter(|a| a.action == action).map(|a| a.subject.as_str()).collect::<Vec<_>>();
    assert_eq!(of("component.rename"), ["platform"]);
    assert_eq!(of("component.retire"), ["sw2"]);
}
