//! The admin pages through the real router, on a SQLite store in a temporary directory, with
//! a fixed clock: login and logout, the session and CSRF checks, and forms that change what
//! the JSON API changes, with the same checks and an audit row naming the operator.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use forewarn_status::{ComponentStatus, PostState};
use forewarn_store::testing::TempDir;
use forewarn_store::{CampaignState, Store};
use jiff::Timestamp;
use tower::ServiceExt;

use crate::auth::hash_secret;
use crate::{App, Clock, Settings, actions, auth};

const INVENTORY: &str = include_str!("../../../../examples/inventory.toml");
const CAMPAIGN: &str = include_str!("../../../../examples/os-update.toml");
const CAMPAIGN_ID: &str = "os-update-2027-03";
const PASSWORD: &str = "correct horse battery";

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

struct Service {
    app: Arc<App>,
    router: Router,
    _dir: TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn cookie(&self) -> &str {
        self.headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// A logged-in browser: its session cookie and the CSRF token its pages carry.
struct Login {
    cookie: String,
    csrf: String,
}

/// The service with the sample inventory, the OS update campaign planned once, and the
/// operator `ada`.
async fn service(base_url: &str) -> Service {
    service_with(base_url, Vec::new()).await
}

/// [`service`], telling these webhooks.
async fn service_with(base_url: &str, webhooks: Vec<crate::config::Webhook>) -> Service {
    let dir = TempDir::new("forewarn-admin-test").unwrap();
    let url = dir.sqlite_url("forewarn.db");
    let store = Store::open(&url).await.unwrap();
    let config = Settings {
        database: Some(url),
        base_url: Some(base_url.to_owned()),
        site_name: Some("Test Hosting".into()),
        webhooks: Some(webhooks),
        ..Settings::default()
    }
    .resolve()
    .unwrap();
    let clock = FixedClock("2027-02-10T09:00:00Z".parse().unwrap());
    let app = App::new(store, Arc::new(clock), config);
    actions::import_inventory(&app, "test", "toml", INVENTORY.to_owned()).await.unwrap();
    actions::create_campaign(&app, "test", "toml", CAMPAIGN).await.unwrap();
    actions::plan_campaign(&app, "test", CAMPAIGN_ID, false).await.unwrap();
    let hash = auth::hash_password(PASSWORD).unwrap();
    app.store.set_operator(app.now(), "test", "ada", &hash).await.unwrap();
    Service { router: crate::router(app.clone()), app, _dir: dir }
}

impl Service {
    async fn send(&self, method: Method, uri: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(c) = cookie {
            request = request.header(COOKIE, format!("forewarn_session={c}"));
        }
        let body = serde_urlencoded::to_string(form).unwrap();
        let request =
            request.header("content-type", "application/x-www-form-urlencoded").body(Body::from(body)).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        Answer { status, headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
    }

    async fn get(&self, uri: &str, login: &Login) -> Answer {
        self.send(Method::GET, uri, Some(&login.cookie), &[]).await
    }

    /// A form sent with the session and its CSRF token.
    async fn post(&self, uri: &str, login: &Login, form: &[(&str, &str)]) -> Answer {
        let mut fields = vec![("csrf", login.csrf.as_str())];
        fields.extend_from_slice(form);
        self.send(Method::POST, uri, Some(&login.cookie), &fields).await
    }

    async fn login(&self) -> Login {
        let r = self.send(Method::POST, "/admin/login", None, &[("name", "ada"), ("password", PASSWORD)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let cookie = r.cookie().strip_prefix("forewarn_session=").unwrap().split(';').next().unwrap().to_owned();
        let page = self.send(Method::GET, "/admin", Some(&cookie), &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        Login { cookie, csrf: csrf_of(&page.body) }
    }

    async fn audit_len(&self) -> usize {
        self.app.store.audit(10_000).await.unwrap().len()
    }

    async fn state(&self) -> CampaignState {
        self.app.store.campaign(CAMPAIGN_ID).await.unwrap().unwrap().state
    }
}

/// The CSRF token a page's forms carry (all the same).
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = html.find(marker).expect("a csrf field") + marker.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn login_works_with_the_right_password_only() {
    let s = service("http://status.test").await;
    let form = s.send(Method::GET, "/admin/login", None, &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<form class=\"stack\" id=\"login\" method=\"post\" action=\"/admin/login\">"));

    for (name, password) in [("ada", "wrong horse battery"), ("bob", PASSWORD), ("", ""), ("ada", "")] {
        let r = s.send(Method::POST, "/admin/login", None, &[("name", name), ("password", password)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}");
        assert!(r.body.contains("wrong name or password"), "{}", r.body);
        assert!(!r.body.contains(PASSWORD) || password.is_empty(), "the password is not shown back");
        assert!(r.headers.get(SET_COOKIE).is_none(), "no session for {name}");
    }
    // The same words whether the name or the password was wrong.
    let a = s.send(Method::POST, "/admin/login", None, &[("name", "ada"), ("password", "nope nope nope")]).await;
    let b = s.send(Method::POST, "/admin/login", None, &[("name", "bob"), ("password", "nope nope nope")]).await;
    assert_eq!(a.body.replace("value=\"ada\"", ""), b.body.replace("value=\"bob\"", ""));

    let r = s.send(Method::POST, "/admin/login", None, &[("name", "ada"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/admin");
    let cookie = r.cookie();
    assert!(cookie.ends_with("; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let value = cookie.strip_prefix("forewarn_session=").unwrap().split(';').next().unwrap();
    assert_eq!(value.len(), 64);
    // Kept only hashed.
    let now = s.app.now();
    let session = s.app.store.session(&hash_secret(value), now).await.unwrap().unwrap();
    assert_eq!(session.operator, "ada");
    assert_eq!(session.expires, now.checked_add(jiff::SignedDuration::from_hours(12)).unwrap());
    assert!(s.app.store.session(value, now).await.unwrap().is_none());

    let page = s.send(Method::GET, "/admin", Some(value), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-id=\"os-update-2027-03\" data-state=\"draft\""), "{}", page.body);
    assert!(page.body.contains("Log out ada"));
    assert_eq!(page.headers.get("cache-control").unwrap(), "no-store");
    // Logged in, the form is not needed.
    let again = s.send(Method::GET, "/admin/login", Some(value), &[]).await;
    assert_eq!((again.status, again.location()), (StatusCode::SEE_OTHER, "/admin"));
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure() {
    let s = service("https://status.test/ops").await;
    let r = s.send(Method::POST, "/admin/login", None, &[("name", "ada"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.cookie().ends_with("; Max-Age=43200; Secure"), "{}", r.cookie());
    // Below a path, redirects keep it.
    assert_eq!(r.location(), "/ops/admin");
    // Browsers are told to come back over https only; a site over http says nothing of it.
    assert_eq!(r.headers.get("strict-transport-security").unwrap(), "max-age=31536000");
    let plain = service("http://status.test").await;
    let r = plain.send(Method::GET, "/admin/login", None, &[]).await;
    assert!(r.headers.get("strict-transport-security").is_none());
    assert_eq!(r.headers.get("x-frame-options").unwrap(), "DENY");
}

#[tokio::test]
async fn without_a_session_pages_redirect_and_forms_are_refused() {
    let s = service("http://status.test").await;
    let before = s.audit_len().await;
    for cookie in [None, Some("not-a-session"), Some(&*"0".repeat(64))] {
        for page in ["/admin", "/admin/campaigns/os-update-2027-03", "/admin/posts", "/admin/posts/1", "/admin/audit"] {
            let r = s.send(Method::GET, page, cookie, &[]).await;
            assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/admin/login"), "{page}");
        }
        for action in ["/admin/campaigns/os-update-2027-03/cancel", "/admin/posts", "/admin/logout"] {
            let r = s.send(Method::POST, action, cookie, &[("csrf", "x"), ("title", "t")]).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{action}");
            assert!(r.body.contains("You are not logged in"), "{}", r.body);
        }
    }
    assert_eq!(s.state().await, CampaignState::Draft);
    assert_eq!(s.audit_len().await, before);
}

#[tokio::test]
async fn forms_need_the_sessions_csrf_token() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let page = s.get("/admin/campaigns/os-update-2027-03", &login).await;
    // Every form that changes something carries it.
    let posting = page.body.matches("method=\"post\"").count();
    assert!(posting >= 3, "{}", page.body);
    assert_eq!(posting, page.body.matches(&format!("value=\"{}\"", login.csrf)).count());
    let before = s.audit_len().await;
    let uri = "/admin/campaigns/os-update-2027-03/cancel";
    let other = "f".repeat(64);
    for form in [vec![], vec![("csrf", "")], vec![("csrf", other.as_str())], vec![("csrf", &login.csrf[..63])]] {
        let r = s.send(Method::POST, uri, Some(&login.cookie), &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form:?}");
        assert!(!r.body.contains(&login.csrf));
    }
    // Another session's token is no good either.
    let second = s.login().await;
    assert_ne!(second.csrf, login.csrf);
    let r = s.send(Method::POST, uri, Some(&login.cookie), &[("csrf", &second.csrf)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(s.state().await, CampaignState::Draft);
    assert_eq!(s.audit_len().await, before + 1, "only the second login");

    let r = s.post(uri, &login, &[("reason", "Postponed to April."), ("confirm", CAMPAIGN_ID)]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/admin/campaigns/os-update-2027-03"));
    assert_eq!(s.state().await, CampaignState::Cancelled);
}

#[tokio::test]
async fn campaign_buttons_act_as_the_api_does_and_name_the_operator() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let page = s.get("/admin/campaigns/os-update-2027-03", &login).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<div id=\"plan-svg\">\n<svg xmlns=\"http://www.w3.org/2000/svg\""), "inline SVG");
    assert!(!page.body.contains("<?xml"));
    // Publishing goes through a review of whom it tells.
    assert!(page.body.contains(">Review and publish plan version 1</a>"), "{}", page.body);
    assert!(!page.body.contains(">Pause</button>"), "a draft is not paused");
    let review = s.get("/admin/campaigns/os-update-2027-03/review?version=1", &login).await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(review.body.contains("<h1>Publish plan version 1?</h1>"), "{}", review.body);
    assert!(review.body.contains("messages go out:"), "{}", review.body);
    assert!(review.body.contains("Planned maintenance: "), "the contacts' subjects: {}", review.body);
    assert!(review.body.contains(">Publish plan version 1</button>"));
    assert!(!review.body.contains("What changes against"), "nothing was published before");
    assert_eq!(s.state().await, CampaignState::Draft, "a review writes nothing");
    assert!(s.app.store.messages(None, 10, None).await.unwrap().is_empty(), "a review sends nothing");

    let r = s.post("/admin/campaigns/os-update-2027-03/plan", &login, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(s.app.store.plans(CAMPAIGN_ID).await.unwrap().len(), 2);
    let r = s.post("/admin/campaigns/os-update-2027-03/publish", &login, &[("version", "2")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let c = s.app.store.campaign(CAMPAIGN_ID).await.unwrap().unwrap();
    assert_eq!((c.state, c.published_plan), (CampaignState::Published, Some(2)));
    assert_eq!(s.app.store.posts_of_campaign(CAMPAIGN_ID).await.unwrap().len(), 1, "its maintenance post");

    let r = s.post("/admin/campaigns/os-update-2027-03/pause", &login, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(s.state().await, CampaignState::Paused);
    let audit = s.app.store.audit(5).await.unwrap();
    let pause = audit.iter().find(|e| e.action == "campaign.pause").unwrap();
    assert_eq!((pause.actor.as_str(), pause.subject.as_str()), ("operator:ada", CAMPAIGN_ID));
    let publish = s.app.store.audit(50).await.unwrap().into_iter().find(|e| e.action == "campaign.publish").unwrap();
    assert_eq!(publish.actor, "operator:ada");

    // What the state does not allow is refused as the API refuses it, on the page.
    let before = s.audit_len().await;
    let r = s.post("/admin/campaigns/os-update-2027-03/publish", &login, &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains(
            "Not published:</strong> campaign `os-update-2027-03` is paused with plan version 2: only a newer"
        ),
        "{}",
        r.body
    );
    assert!(r.body.contains("<section id=\"campaign\""), "the campaign page, with the error");
    assert_eq!(s.audit_len().await, before);

    // Planned again, the published slots are kept: the review shows no change and nobody told.
    let r = s.post("/admin/campaigns/os-update-2027-03/plan", &login, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = s.get("/admin/campaigns/os-update-2027-03", &login).await;
    assert!(page.body.contains(">Review and publish plan version 3</a>"), "{}", page.body);
    let review = s.get("/admin/campaigns/os-update-2027-03/review?version=3", &login).await;
    assert!(review.body.contains("What changes against version 2"), "{}", review.body);
    assert!(review.body.contains("No slot changes."), "{}", review.body);
    assert!(review.body.contains("Nobody: publishing this version sends no message."), "{}", review.body);
    let r = s.post("/admin/campaigns/nope/pause", &login, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let page = s.get("/admin/campaigns/os-update-2027-03", &login).await;
    assert!(page.body.contains(">Resume</button>") && page.body.contains(">Cancel the campaign…</button>"));
    assert!(page.body.contains("data-state=\"paused\""));
    let audit = s.get("/admin/audit", &login).await;
    assert!(audit.body.contains("<td>operator:ada</td><td>campaign.pause</td>"), "{}", audit.body);
}

#[tokio::test]
async fn a_post_form_with_errors_comes_back_with_its_input() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let before = (s.app.store.posts().await.unwrap().len(), s.audit_len().await);
    // A date the campaign does not have: the same check as the API's.
    let r = s
        .post(
            "/admin/posts",
            &login,
            &[
                ("kind", "maintenance"),
                ("title", "Reboots <soon> & \"then\""),
                ("body", "The hosts reboot on Saturday 2027-02-09.\r\nSorry."),
                ("starts", "2027-03-02T22:00"),
                ("ends", "2027-03-02T23:00"),
                ("components", "rack-r1"),
                ("components", "sw1"),
                ("campaign", CAMPAIGN_ID),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("The post was not created:"), "{}", r.body);
    assert!(r.body.contains("contradicts campaign `os-update-2027-03`"), "{}", r.body);
    assert!(r.body.contains("value=\"Reboots &lt;soon&gt; &amp; &quot;then&quot;\""), "the title kept, escaped");
    assert!(r.body.contains(">The hosts reboot on Saturday 2027-02-09.\nSorry.</textarea>"));
    assert!(r.body.contains("name=\"starts\" value=\"2027-03-02T22:00\""));
    assert!(r.body.contains("value=\"rack-r1\" checked") && r.body.contains("value=\"sw1\" checked"));
    assert!(!r.body.contains("value=\"rack-r2\" checked"));
    assert!(r.body.contains(&format!("<option value=\"{CAMPAIGN_ID}\" selected>")));

    for (field, value, words) in [
        ("ends", "2027-03-02T21:00", "is not after `starts`"),
        ("starts", "next tuesday", "`starts`: `next tuesday` is not a date and time"),
        ("kind", "outage", "`kind`: unknown post kind `outage`"),
        ("state", "resolved", "a maintenance post cannot be resolved"),
        ("components", "rack-z9", "unknown component rack-z9"),
        ("title", " ", "`title` is empty"),
        ("campaign", "nope", "no campaign `nope`"),
    ] {
        let mut form = vec![
            ("kind", "maintenance"),
            ("title", "Switch firmware"),
            ("body", "New firmware."),
            ("starts", "2027-03-02T22:00"),
            ("ends", "2027-03-02T23:00"),
        ];
        form.retain(|(f, _)| *f != field);
        form.push((field, value));
        let r = s.post("/admin/posts", &login, &form).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", r.body);
        assert!(r.body.contains(words), "{field}: {words} in {}", r.body);
    }
    assert_eq!((s.app.store.posts().await.unwrap().len(), s.audit_len().await), before, "nothing written");
}

#[tokio::test]
async fn posts_are_written_updated_and_corrected_through_the_forms() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let r = s
        .post(
            "/admin/posts",
            &login,
            &[
                ("kind", "incident"),
                ("title", "Slow disks on kvm03"),
                ("body", "Writes are slow.\r\n\r\n*Investigating.*"),
                // Local time in Europe/Berlin (CET, +01:00).
                ("starts", "2027-02-10T09:30"),
                ("ends", ""),
                ("components", "rack-r1"),
                ("campaign", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id: i64 = r.location().strip_prefix("/admin/posts/").unwrap().parse().unwrap();
    let p = s.app.store.post(id).await.unwrap().unwrap();
    assert_eq!(p.starts, Some("2027-02-10T08:30:00Z".parse().unwrap()));
    assert_eq!(
        (p.ends, p.state, p.body.as_str()),
        (None, PostState::Investigating, "Writes are slow.\n\n*Investigating.*")
    );
    assert_eq!(p.components, ["rack-r1"]);
    let created = s.app.store.audit(1).await.unwrap().remove(0);
    assert_eq!((created.action.as_str(), created.actor.as_str()), ("post.create", "operator:ada"));

    let page = s.get(&format!("/admin/posts/{id}"), &login).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h1>Slow disks on kvm03</h1>"));
    assert!(page.body.contains("name=\"starts\" value=\"2027-02-10T09:30\""), "the correction form, filled in");
    assert!(page.body.contains("<option value=\"resolved\">resolved</option>"), "the incident's states");
    assert!(!page.body.contains("<option value=\"completed\">"), "not a maintenance's");

    // An update with a state of another kind comes back; a good one is appended.
    let r = s.post(&format!("/admin/posts/{id}/updates"), &login, &[("state", "completed"), ("body", "Done.")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("an incident post cannot be completed") || r.body.contains("cannot be completed"));
    assert!(r.body.contains(">Done.</textarea>"));
    let r = s
        .post(&format!("/admin/posts/{id}/updates"), &login, &[("state", "resolved"), ("body", "Disk replaced.")])
        .await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, &*format!("/admin/posts/{id}")));
    assert_eq!(s.app.store.post(id).await.unwrap().unwrap().state, PostState::Resolved);
    let updates = s.app.store.updates(id).await.unwrap();
    assert_eq!(updates.last().unwrap().body, "Disk replaced.");

    // A correction needs a note; only what changed is corrected.
    let form = |note: &'static str| {
        vec![
            ("note", note),
            ("title", "Slow disks on kvm03"),
            ("body", "Writes are slow.\r\n\r\n*Investigating.*"),
            ("starts", "2027-02-10T09:00"),
            ("ends", ""),
        ]
    };
    let r = s.post(&format!("/admin/posts/{id}/correct"), &login, &form("")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("`note` is empty") && r.body.contains("name=\"starts\" value=\"2027-02-10T09:00\""));
    let r = s.post(&format!("/admin/posts/{id}/correct"), &login, &form("it began half an hour earlier")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = s.app.store.post(id).await.unwrap().unwrap();
    assert_eq!((p.revision, p.starts), (2, Some("2027-02-10T08:00:00Z".parse().unwrap())));
    let revisions = s.app.store.revisions(id).await.unwrap();
    assert_eq!(revisions[0].note, "it began half an hour earlier");
    assert_eq!(s.app.store.audit(1).await.unwrap()[0].actor, "operator:ada");
    let page = s.get(&format!("/admin/posts/{id}"), &login).await;
    assert!(page.body.contains("it began half an hour earlier"));
}

#[tokio::test]
async fn components_are_set_by_hand_and_posts_take_impact_and_replaces() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    // An incident of major impact on rack r1, through the form.
    let incident = [
        ("kind", "incident"),
        ("impact", "major"),
        ("title", "Packet loss in rack r1"),
        ("body", "Looking into it."),
        ("components", "rack-r1"),
    ];
    let r = s.post("/admin/posts", &login, &incident).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id: i64 = r.location().strip_prefix("/admin/posts/").unwrap().parse().unwrap();
    assert_eq!(s.app.store.post(id).await.unwrap().unwrap().impact, forewarn_status::Impact::Major);
    let r = s.post("/admin/posts", &login, &[("kind", "incident"), ("impact", "huge"), ("title", "x")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("`impact`: unknown impact `huge`"), "{}", r.body);

    // The components page: what the page shows, from posts, set by hand.
    let page = s.get("/admin/components", &login).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(
            "id=\"component-rack-r1\" data-id=\"rack-r1\" data-status=\"partial_outage\" data-manual=\"operational\" \
             data-derived=\"partial_outage\">"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("partial outage: <a href=\"/admin/posts/{id}\">Packet loss in rack r1</a>")));
    let r = s.post("/admin/components/sw2", &login, &[("status", "degraded")]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/admin/components#component-sw2"), "{}", r.body);
    let sw2 = s.app.store.components().await.unwrap().into_iter().find(|c| c.id == "sw2").unwrap();
    assert_eq!(sw2.status, ComponentStatus::Degraded);
    let audit = s.app.store.audit(1).await.unwrap().remove(0);
    assert_eq!((audit.action.as_str(), audit.actor.as_str()), ("component.status", "operator:ada"));
    let r = s.post("/admin/components/sw2", &login, &[("status", "down")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("`status`: unknown component status `down`"), "{}", r.body);
    let r = s.post("/admin/components/nope", &login, &[("status", "degraded")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // A maintenance cancelled, then replaced through the form's choice of cancelled posts.
    let work = [
        ("kind", "maintenance"),
        ("title", "Switch swap"),
        ("body", "x"),
        ("starts", "2027-02-20T22:00"),
        ("ends", "2027-02-20T23:00"),
    ];
    let r = s.post("/admin/posts", &login, &work).await;
    let old: i64 = r.location().strip_prefix("/admin/posts/").unwrap().parse().unwrap();
    let page = s.get("/admin/posts", &login).await;
    assert!(!page.body.contains(&format!("<option value=\"{old}\">#{old} Switch swap</option>")), "not cancelled yet");
    let r = s.post(&format!("/admin/posts/{old}/updates"), &login, &[("state", "cancelled"), ("body", "Off.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = s.get("/admin/posts", &login).await;
    assert!(page.body.contains(&format!("<option value=\"{old}\">#{old} Switch swap</option>")), "{}", page.body);
    let old_id = old.to_string();
    let mut again = work.to_vec();
    again.push(("replaces", &old_id));
    let r = s.post("/admin/posts", &login, &again).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let new: i64 = r.location().strip_prefix("/admin/posts/").unwrap().parse().unwrap();
    assert_eq!(s.app.store.post(new).await.unwrap().unwrap().replaces, Some(old));
    let page = s.get(&format!("/admin/posts/{old}"), &login).await;
    assert!(page.body.contains(&format!("Replaced by <a href=\"/posts/{new}\"")), "{}", page.body);
}

#[tokio::test]
async fn data_is_escaped_and_logout_ends_the_session() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let r = s
        .post(
            "/admin/posts",
            &login,
            &[("kind", "notice"), ("title", "<script>alert(1)</script>"), ("body", "<img src=x onerror=alert(2)>")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    for page in ["/admin/posts", "/admin/posts/1", "/admin/audit"] {
        let body = s.get(page, &login).await.body;
        assert!(!body.contains("<script>") && !body.contains("<img"), "{page}: {body}");
    }
    assert!(s.get("/admin/posts", &login).await.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // The API reads with the session; it does not write with it (no CSRF token there).
    let r = s.send(Method::GET, "/api/v1/campaigns", Some(&login.cookie), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = s.send(Method::POST, "/api/v1/campaigns/os-update-2027-03/cancel", Some(&login.cookie), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let r = s.post("/admin/logout", &login, &[]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/admin/login"));
    assert!(r.cookie().starts_with("forewarn_session=; ") && r.cookie().contains("Max-Age=0"), "{}", r.cookie());
    let r = s.get("/admin", &login).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/admin/login"));
    assert!(s.app.store.session(&hash_secret(&login.cookie), s.app.now()).await.unwrap().is_none());
}

#[tokio::test]
async fn the_mailbox_shows_what_publishing_wrote_and_retries_the_dead() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let r = s.post("/admin/campaigns/os-update-2027-03/publish", &login, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let counts = s.app.store.outbox_counts().await.unwrap();
    assert!(counts.pending > 0, "publishing queued the contacts' messages: {counts:?}");

    // Without an SMTP relay, a delivery round captures them.
    let deliverer = s.app.deliverer(forewarn_notify::deliver::Options::default()).unwrap();
    assert!(deliverer.captures());
    let round = deliverer.round(&|| s.app.now()).await.unwrap();
    assert_eq!((round.sent, round.dead), (counts.pending as usize, 0));

    let page = s.get("/admin/mail", &login).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("mail is captured here"), "{}", page.body);
    assert_eq!(page.body.matches("class=\"mail-row\"").count(), counts.pending as usize, "{}", page.body);
    assert_eq!(page.body.matches("data-state=\"sent\" data-channel=\"email\"").count(), counts.pending as usize);

    // One message, readable: its text and its calendar part, decoded.
    let first = s.app.store.messages(None, 1, None).await.unwrap().remove(0);
    let page = s.get(&format!("/admin/mail/{}", first.id), &login).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-part=\"text/plain\""), "{}", page.body);
    assert!(page.body.contains("data-part=\"text/calendar (method REQUEST)\""), "{}", page.body);
    assert!(page.body.contains("BEGIN:VEVENT"), "the calendar part is decoded: {}", page.body);
    assert!(!page.body.contains("id=\"mail-actions\""), "a sent message has no retry button");

    // A dead one shows its error and comes back with the button.
    let policy = forewarn_store::RetryPolicy::default();
    let id = {
        let m = forewarn_store::NewMessage {
            key: "test.1@status.test".into(),
            channel: forewarn_store::Channel::Email,
            sender: "forewarn@status.test".into(),
            recipient: "nobody@nowhere.example".into(),
            subject: "Bounce".into(),
            cause: "a test".into(),
            body: forewarn_store::Body::Written("Subject: Bounce\r\n\r\nhello\r\n".into()),
            due: s.app.now(),
        };
        struct One(forewarn_store::NewMessage);
        impl forewarn_store::Notifier for One {
            fn tell(&self, _: &forewarn_store::Event<'_>) -> Result<forewarn_store::Told, String> {
                Ok(forewarn_store::Told { messages: vec![self.0.clone()], ..Default::default() })
            }
        }
        s.app.store.subscribe(s.app.now(), "reader@example.net", &[], "en", &One(m)).await.unwrap();
        let claimed =
            s.app.store.claim_messages(s.app.now(), jiff::SignedDuration::from_secs(60), 10, "test").await.unwrap();
        let m = claimed.into_iter().find(|m| m.key == "test.1@status.test").unwrap();
        let state = s.app.store.mark_failed(m.id, s.app.now(), "550 5.1.1 no such user", true, &policy).await.unwrap();
        assert_eq!(state, forewarn_store::MessageState::Dead);
        m.id
    };
    let page = s.get("/admin/mail?state=dead", &login).await;
    assert_eq!(page.body.matches("class=\"mail-row\"").count(), 1, "{}", page.body);
    assert!(page.body.contains("550 5.1.1 no such user"));
    let page = s.get(&format!("/admin/mail/{id}"), &login).await;
    assert!(page.body.contains("id=\"mail-error\">550 5.1.1 no such user"), "{}", page.body);
    assert!(page.body.contains("id=\"mail-actions\""));
    let r = s.send(Method::POST, &format!("/admin/mail/{id}/retry"), Some(&login.cookie), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token, no retry");
    let r = s.post(&format!("/admin/mail/{id}/retry"), &login, &[]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, format!("/admin/mail/{id}").as_str()));
    let m = s.app.message(id).await.unwrap().unwrap();
    assert_eq!((m.state, m.attempts), (forewarn_store::MessageState::Pending, 0));
    let r = s.post(&format!("/admin/mail/{id}/retry"), &login, &[]).await;
    assert!(r.status.is_client_error(), "a pending message is not retried: {}", r.status);
    assert_eq!(s.get("/admin/mail?state=nonsense", &login).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_campaigns_page_names_the_time_zone_database_and_the_slots_outside_their_window() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let r = s.post("/admin/campaigns/os-update-2027-03/publish", &login, &[("version", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let bundled = forewarn_model::tz::bundled_release();

    // The first start records the database, having checked the published plan under it.
    assert_eq!(crate::tzdb::check_on_start(&s.app).await.unwrap(), []);
    let recorded = s.app.store.tzdb_last().await.unwrap().unwrap();
    assert_eq!((recorded.release.as_str(), recorded.source.as_str()), (bundled, "bundled"));
    // The same database again: nothing to check, nothing written.
    let before = s.audit_len().await;
    assert_eq!(crate::tzdb::check_on_start(&s.app).await.unwrap(), []);
    assert_eq!(s.audit_len().await, before);

    let page = s.get("/admin", &login).await;
    assert!(
        page.body.contains(&format!(
            "Windows are read with tzdb <strong class=\"tzdb-release\">{bundled}</strong> (bundled with forewarn)."
        )),
        "{}",
        page.body
    );
    assert!(!page.body.contains("tzdb-outside"));

    // A start under other rules found a slot outside its window: operators see it, until
    // a newer plan is published.
    let finding = forewarn_store::TzdbFinding {
        campaign: CAMPAIGN_ID.into(),
        plan_version: 1,
        target: Some("web01".into()),
        message: "web01: window: the slot <lies> outside every occurrence".into(),
    };
    s.app.store.record_tzdb(s.app.now(), "forewarn", bundled, "bundled", &[finding]).await.unwrap();
    let page = s.get("/admin", &login).await;
    assert!(page.body.contains("1 published slot lies outside its window under these zone rules."), "{}", page.body);
    assert!(page.body.contains("<table class=\"list\" id=\"tzdb-outside\">"));
    assert!(page.body.contains("<td>web01</td><td>web01: window: the slot &lt;lies&gt; outside every occurrence</td>"));
    assert!(page.body.contains("plan version 1"));
    let r = s.post("/admin/campaigns/os-update-2027-03/plan", &login, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = s.post("/admin/campaigns/os-update-2027-03/publish", &login, &[("version", "2")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = s.get("/admin", &login).await;
    assert!(!page.body.contains("tzdb-outside"), "plan version 2 is published now");
}

#[tokio::test]
async fn cancelling_asks_for_the_reason_and_the_id_and_pausing_takes_a_reason() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    actions::publish(&s.app, "test", CAMPAIGN_ID, None).await.unwrap();
    let uri = "/admin/campaigns/os-update-2027-03";

    let r = s.post(&format!("{uri}/pause"), &login, &[("reason", "The mirror is out of sync.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let post = s.app.store.posts_of_campaign(CAMPAIGN_ID).await.unwrap().remove(0);
    let updates = s.app.store.updates(post.id).await.unwrap();
    assert!(updates.last().unwrap().body.ends_with("Reason: The mirror is out of sync."), "{updates:?}");

    // The button leads to a confirmation page; it changes nothing by itself.
    let page = s.get(uri, &login).await;
    assert!(page.body.contains(&format!("<form method=\"get\" action=\"{uri}/cancel\">")), "{}", page.body);
    let confirm = s.get(&format!("{uri}/cancel"), &login).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("id=\"cancel-confirm\"") && confirm.body.contains("cannot be undone"));
    assert!(confirm.body.contains("slots its contacts were told will not take place"), "{}", confirm.body);
    assert_eq!(s.state().await, CampaignState::Paused);

    let before = s.audit_len().await;
    for (form, says) in [
        (vec![("reason", "Postponed."), ("confirm", "")], "type the campaign's id"),
        (vec![("reason", "Postponed."), ("confirm", "os-update")], "`os-update` is not `os-update-2027-03`"),
        (vec![("reason", " "), ("confirm", CAMPAIGN_ID)], "`reason` is missing"),
    ] {
        let r = s.post(&format!("{uri}/cancel"), &login, &form).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(r.body.contains(says), "{form:?}: {}", r.body);
        assert!(r.body.contains("id=\"cancel-confirm\""), "the form again");
        // What was typed stays.
        assert!(r.body.contains(&format!(">{}</textarea>", form[0].1)), "{}", r.body);
    }
    assert_eq!((s.state().await, s.audit_len().await), (CampaignState::Paused, before));

    let why = "The new kernel breaks the storage driver.";
    let r = s.post(&format!("{uri}/cancel"), &login, &[("reason", why), ("confirm", CAMPAIGN_ID)]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, uri));
    assert_eq!(s.state().await, CampaignState::Cancelled);
    let updates = s.app.store.updates(post.id).await.unwrap();
    assert!(updates.last().unwrap().body.ends_with(&format!("Reason: {why}")), "{updates:?}");
    let row = s.app.store.audit(50).await.unwrap().into_iter().find(|a| a.action == "campaign.cancel").unwrap();
    assert_eq!((row.actor.as_str(), row.detail["reason"].as_str()), ("operator:ada", Some(why)));
    // The contacts' cancellation says why.
    let mail = s.app.store.messages(None, 1000, None).await.unwrap();
    let cancellation =
        mail.iter().find(|m| m.cause.ends_with("cancelled") && m.channel == forewarn_store::Channel::Email);
    let full = s.app.message(cancellation.unwrap().id).await.unwrap().unwrap();
    let text: String = forewarn_notify::read::text_parts(&full.payload).into_iter().map(|(_, t)| t).collect();
    assert!(text.contains(why), "{text}");
    let page = s.get(&format!("{uri}/cancel"), &login).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "a cancelled campaign is not cancelled again");
}

#[tokio::test]
async fn a_draft_is_edited_in_a_textarea_and_errors_keep_the_text() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let uri = "/admin/campaigns/os-update-2027-03";
    let page = s.get(uri, &login).await;
    assert!(page.body.contains("id=\"edit\""), "a draft's page has the edit form");
    assert!(page.body.contains("Operating system update, March 2027"));

    let before = s.audit_len().await;
    let broken = CAMPAIGN.replace("strategy = ", "stratgy = ");
    let r = s.post(&format!("{uri}/edit"), &login, &[("text", &broken)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Not saved:") && r.body.contains("stratgy"), "{}", r.body);
    assert!(r.body.contains("stratgy = "), "the text as sent stays in the textarea");
    let renamed = CAMPAIGN.replace("id = \"os-update-2027-03\"", "id = \"other\"");
    let r = s.post(&format!("{uri}/edit"), &login, &[("text", &renamed)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("keep `id = &quot;os-update-2027-03&quot;`"), "{}", r.body);
    assert_eq!(s.audit_len().await, before);

    let retitled = CAMPAIGN.replace("Operating system update, March 2027", "Kernel update, March 2027");
    // Browsers send textareas with CR LF.
    let sent = retitled.replace('\n', "\r\n");
    let r = s.post(&format!("{uri}/edit"), &login, &[("text", &sent)]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, uri));
    let c = s.app.store.campaign(CAMPAIGN_ID).await.unwrap().unwrap();
    assert_eq!((c.title.as_str(), c.text.as_str()), ("Kernel update, March 2027", retitled.as_str()));
    // The plan of the earlier text is not published.
    let r = s.post(&format!("{uri}/publish"), &login, &[("version", "1")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("before its file was edited"), "{}", r.body);

    actions::plan_campaign(&s.app, "test", CAMPAIGN_ID, false).await.unwrap();
    actions::publish(&s.app, "test", CAMPAIGN_ID, None).await.unwrap();
    let page = s.get(uri, &login).await;
    assert!(!page.body.contains("id=\"edit\""), "a published campaign is not edited");
    let r = s.post(&format!("{uri}/edit"), &login, &[("text", CAMPAIGN)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("only a draft is edited"), "{}", r.body);
}

#[tokio::test]
async fn the_slot_table_filters_by_customer_and_links_its_csv() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let uri = "/admin/campaigns/os-update-2027-03";
    assert!(!s.get(uri, &login).await.body.contains("id=\"slots\""), "no table before publication");
    actions::publish(&s.app, "test", CAMPAIGN_ID, None).await.unwrap();
    let page = s.get(uri, &login).await;
    assert!(page.body.contains("<section id=\"slots\" data-plan=\"1\">"), "{}", page.body);
    assert_eq!(page.body.matches("class=\"slot-row\"").count(), 33);
    assert!(page.body.contains("href=\"/api/v1/campaigns/os-update-2027-03/slots?format=csv\""));
    let page = s.get(&format!("{uri}?customer=harbor"), &login).await;
    let rows = page.body.matches("class=\"slot-row\"").count();
    assert!(rows > 0 && rows < 33, "{rows}");
    assert!(page.body.contains("<option value=\"harbor\" selected>"));
    assert!(page.body.contains("href=\"/api/v1/campaigns/os-update-2027-03/slots?format=csv&amp;customer=harbor\""));
    // The link works with the operator's session.
    let csv = s.get("/api/v1/campaigns/os-update-2027-03/slots?format=csv&customer=harbor", &login).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), rows + 1);
    let page = s.get(&format!("{uri}?customer=nobody"), &login).await;
    assert_eq!(page.status, StatusCode::OK, "the page stays; the table says what is wrong");
    assert!(page.body.contains("no customer `nobody`"), "{}", page.body);
}

#[tokio::test]
async fn tokens_are_listed_and_revoked_from_the_admin_pages() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    let id = s.app.store.create_token(s.app.now(), "cli", "deploy", &hash_secret("fw_deploy")).await.unwrap();
    let page = s.get("/admin/tokens", &login).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&format!("<tr class=\"token-row\" data-id=\"{id}\" data-state=\"active\">")));
    assert!(!page.body.contains(&hash_secret("fw_deploy")), "no hash shown");
    // A machine's token is listed with its machine; an API token with none.
    let hash = hash_secret("fw_a");
    let agent = s.app.store.create_machine_token(s.app.now(), "cli", "web01 agent", &hash, "web01").await.unwrap();
    let page = s.get("/admin/tokens", &login).await;
    let row = |id: i64| {
        let at = page.body.find(&format!("data-id=\"{id}\"")).unwrap_or_else(|| panic!("no row {id}: {}", page.body));
        page.body[at..].split("</tr>").next().unwrap().to_owned()
    };
    assert!(row(agent).contains("<td class=\"machine\"><code>web01</code></td>"), "{}", row(agent));
    assert!(row(id).contains("<td class=\"machine\">—</td>"), "{}", row(id));
    let uri = format!("/admin/tokens/{id}/revoke");
    assert_eq!(s.send(Method::POST, &uri, Some(&login.cookie), &[]).await.status, StatusCode::FORBIDDEN);
    let r = s.post(&uri, &login, &[]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/admin/tokens"));
    assert_eq!(s.app.store.token_by_hash(&hash_secret("fw_deploy")).await.unwrap(), None);
    let page = s.get("/admin/tokens", &login).await;
    assert!(page.body.contains(&format!("data-id=\"{id}\" data-state=\"revoked\"")), "{}", page.body);
    assert!(page.body.contains("by operator:ada"), "{}", page.body);
    let r = s.post(&uri, &login, &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("revoked already"), "{}", r.body);
}

#[tokio::test]
async fn a_slot_is_moved_from_the_admin_pages_after_a_review_of_whom_it_tells() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    actions::publish(&s.app, "test", CAMPAIGN_ID, None).await.unwrap();
    let uri = "/admin/campaigns/os-update-2027-03";
    let page = s.get(uri, &login).await;
    assert!(page.body.contains("id=\"slots-move\""), "the move form: {}", page.body);

    // A start outside every window: the review says why, and offers no button.
    let slot = s.app.store.slot_notices(CAMPAIGN_ID).await.unwrap().remove(0);
    let bad = (slot.start + jiff::SignedDuration::from_hours(12)).to_string();
    let review = s.get(&format!("{uri}/move?target={}&start={}", slot.target, bad.replace('+', "%2B")), &login).await;
    assert!(review.body.contains("It cannot move there:"), "{}", review.body);
    assert!(!review.body.contains("</button></form></div>"), "no button to move: {}", review.body);

    // A start that fits: the review lists whom the move tells; the button moves it.
    let (to, review) = {
        let mut found = None;
        for h in 1..=72 {
            let to = (slot.start + jiff::SignedDuration::from_hours(h)).to_string();
            let r = s.get(&format!("{uri}/move?target={}&start={}", slot.target, to.replace('+', "%2B")), &login).await;
            if r.body.contains(&format!(">Move {}</button>", slot.target)) {
                found = Some((to, r));
                break;
            }
        }
        found.unwrap_or_else(|| panic!("{} could not move 1 to 72 hours later", slot.target))
    };
    assert!(review.body.contains("Who will be told") && review.body.contains("message"), "{}", review.body);
    assert_eq!(s.app.store.slot_notices(CAMPAIGN_ID).await.unwrap().remove(0), slot, "a review moves nothing");
    let r = s.post(&format!("{uri}/move"), &login, &[("target", &slot.target), ("start", &to)]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, uri), "{}", r.body);
    let moved = s.app.store.slot_notices(CAMPAIGN_ID).await.unwrap().into_iter().find(|n| n.target == slot.target);
    assert_eq!(
        moved.map(|n| (n.start.to_string(), n.sequence)),
        Some((to.parse::<jiff::Timestamp>().unwrap().to_string(), 1))
    );
    // A start that is no instant comes back on the campaign page, naming the field.
    let r = s.post(&format!("{uri}/move"), &login, &[("target", &slot.target), ("start", "tomorrow")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Not moved:") && r.body.contains("`start`"), "{}", r.body);
}

#[tokio::test]
async fn a_webhooks_url_is_never_shown_only_its_place_in_the_configuration() {
    // Slack-style: the path and the query are the receiver's secret.
    let hook = crate::config::Webhook {
        url: "https://hooks.example.net/services/T0/B0/PATHSECRET?token=QUERYSECRET".into(),
        secret: "signing secret".into(),
    };
    let s = service_with("http://status.test", vec![hook]).await;
    let login = s.login().await;
    let uri = "/admin/campaigns/os-update-2027-03";
    let shown = |page: &Answer, what: &str| {
        assert_eq!(page.status, StatusCode::OK, "{what}: {}", page.body);
        assert!(!page.body.contains("SECRET"), "{what} shows the webhook's URL: {}", page.body);
        assert!(page.body.contains("webhooks[0]"), "{what} names the webhook: {}", page.body);
    };

    // Before publishing: the review lists whom it tells, the webhook too.
    shown(&s.get(&format!("{uri}/review?version=1"), &login).await, "the review");
    let r = s.post(&format!("{uri}/publish"), &login, &[("version", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The mailbox: the list, and the webhook's message itself.
    let hooks: Vec<_> = s
        .app
        .store
        .messages(None, 1000, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.channel == forewarn_store::Channel::Webhook)
        .collect();
    assert!(!hooks.is_empty(), "publishing tells the webhook");
    assert!(hooks.iter().all(|m| m.recipient.contains("SECRET")), "the outbox keeps the URL to deliver to");
    shown(&s.get("/admin/mail", &login).await, "the mailbox");
    shown(&s.get(&format!("/admin/mail/{}", hooks[0].id), &login).await, "the webhook's message");

    // Moving a slot: its review lists the webhook as well.
    let slot = s.app.store.slot_notices(CAMPAIGN_ID).await.unwrap().remove(0);
    let mut reviewed = false;
    for h in 1..=72 {
        let to = (slot.start + jiff::SignedDuration::from_hours(h)).to_string();
        let r = s.get(&format!("{uri}/move?target={}&start={}", slot.target, to.replace('+', "%2B")), &login).await;
        if r.body.contains(&format!(">Move {}</button>", slot.target)) {
            shown(&r, "the review of a move");
            reviewed = true;
            break;
        }
    }
    assert!(reviewed, "{} could not move 1 to 72 hours later", slot.target);
}

#[tokio::test]
async fn locks_are_shown_stuck_past_their_end_and_released_by_an_operator() {
    let s = service("http://status.test").await;
    let login = s.login().await;
    actions::publish(&s.app, "test", CAMPAIGN_ID, None).await.unwrap();
    let now = s.app.now();
    let granted = now - jiff::SignedDuration::from_hours(1);
    let deadline = now - jiff::SignedDuration::from_mins(30);
    let anyone = |_: &forewarn_store::Holding| Ok::<(), ()>(());
    s.app.store.take_lock(granted, CAMPAIGN_ID, "web01", "node-web01", deadline, anyone).await.unwrap();
    let page = s.get(&format!("/admin/campaigns/{CAMPAIGN_ID}"), &login).await;
    assert_eq!(page.status, StatusCode::OK);
    let locks = &page.body[page.body.find("id=\"locks\"").expect("a locks section")..];
    assert!(locks.contains("1 held now, <strong class=\"stuck\">1 stuck past their expected end</strong>"), "{locks}");
    assert!(locks.contains("data-machine=\"web01\" data-state=\"running\" data-stuck=\"true\""), "{locks}");
    assert!(locks.contains("node-web01"), "the id it asked as: {locks}");
    let uri = format!("/admin/campaigns/{CAMPAIGN_ID}/locks/web01/release");
    assert_eq!(s.send(Method::POST, &uri, Some(&login.cookie), &[]).await.status, StatusCode::FORBIDDEN);
    let r = s.post(&uri, &login, &[]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, format!("/admin/campaigns/{CAMPAIGN_ID}").as_str()));
    let runs = s.app.store.runs(CAMPAIGN_ID).await.unwrap();
    assert_eq!(
        (runs[0].state, runs[0].released_by.as_deref()),
        (forewarn_store::RunState::Released, Some("operator:ada"))
    );
    let page = s.get(&format!("/admin/campaigns/{CAMPAIGN_ID}"), &login).await;
    assert!(page.body.contains("data-machine=\"web01\" data-state=\"released\" data-stuck=\"false\""), "{}", page.body);
    assert!(page.body.contains("by operator:ada"), "{}", page.body);
    // Released again: nothing held, said on the page.
    let r = s.post(&uri, &login, &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Not released:") && r.body.contains("held by `web01`"), "{}", r.body);
}
