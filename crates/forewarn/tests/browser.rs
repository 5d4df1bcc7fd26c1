//! The status pages in headless Chromium: what a reader sees on `forewarn demo`'s pages, read
//! from the rendered page (element text, computed style, layout), not from the HTML source.
//! Chromium is driven through chromedriver with the W3C WebDriver protocol: JSON over HTTP/1.1
//! on loopback, through the tiny client of `support`.
//!
//! Without `chromedriver` or `/usr/bin/chromium` the tests say they were skipped, unless
//! `CI=true`: then they fail (`.ci/test` installs Debian's `chromium` and `chromium-driver`).

mod support;

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use support::{Demo, POLL, STARTUP_POLLS, Serve, TempDir, cannot_run, find_program, http};

const CHROMIUM: &str = "/usr/bin/chromium";
/// The key of an element reference in W3C WebDriver.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

const SWITCH: &str = "Replacement of switch sw1 in rack r1";
const SWITCH_AGAIN: &str = "Replacement of switch sw1 in rack r1 (new date)";
const INCIDENT: &str = "Slow disks on host kvm03";

// ---------------------------------------------------------------------------
// A small WebDriver client.

/// A running chromedriver on a free loopback port; killed when dropped.
#[derive(Debug)]
struct Driver {
    child: Child,
    addr: String,
    dir: TempDir,
}

impl Driver {
    /// Starts chromedriver, or says why the test cannot run (`None`).
    fn start(test: &str) -> Option<Driver> {
        let Some(chromedriver) = find_program("chromedriver") else {
            cannot_run(test, "`chromedriver` is not in PATH (Debian: apt-get install chromium-driver)");
            return None;
        };
        if !Path::new(CHROMIUM).is_file() {
            cannot_run(test, &format!("{CHROMIUM} is missing (Debian: apt-get install chromium)"));
            return None;
        }
        let dir = TempDir::new("forewarn-browser");
        // A free port is free until someone takes it: try a few.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let log = File::create(dir.path().join(format!("chromedriver-{port}.log"))).unwrap();
            let mut child = Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromedriver.display()));
            let addr = format!("127.0.0.1:{port}");
            if wait_until_ready(&mut child, &addr) {
                return Some(Driver { child, addr, dir });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("chromedriver did not start; its logs are in {}", dir.path().display());
    }

    /// A new headless Chromium session with a fresh profile.
    fn session(&self) -> Session<'_> {
        let profile = self.dir.path().join(format!("profile-{}", self.dir.path().read_dir().unwrap().count()));
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--disable-dev-shm-usage",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                },
            }},
        });
        let v = self.command("POST", "/session", Some(&caps));
        let id = v["sessionId"].as_str().unwrap_or_else(|| panic!("no session id in {v}")).to_owned();
        Session { driver: self, id }
    }

    /// One WebDriver command; its `value`, or a panic with the driver's error.
    #[track_caller]
    fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.try_command(method, path, body).unwrap_or_else(|e| panic!("{e}"))
    }

    /// One WebDriver command; its `value`, or the driver's error in words.
    fn try_command(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let headers = [("Content-Type", "application/json; charset=utf-8")];
        let r = http(&self.addr, method, path, &headers, body.as_bytes())
            .map_err(|e| format!("WebDriver {method} {path}: {e}"))?;
        let v: Value = serde_json::from_slice(&r.body)
            .map_err(|e| format!("WebDriver {method} {path}: not JSON ({e}): {}", String::from_utf8_lossy(&r.body)))?;
        if r.status != 200 {
            return Err(format!(
                "WebDriver {method} {path} {body}: {} {}: {}",
                r.status,
                v["value"]["error"],
                v["value"]["message"].as_str().unwrap_or_default()
            ));
        }
        Ok(v["value"].clone())
    }
}

/// Polls chromedriver's `/status` until it is ready (true) or has exited (false).
fn wait_until_ready(child: &mut Child, addr: &str) -> bool {
    for _ in 0..STARTUP_POLLS {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if let Ok(r) = http(addr, "GET", "/status", &[], b"") {
            if serde_json::from_slice::<Value>(&r.body).is_ok_and(|v| v["value"]["ready"] == true) {
                return true;
            }
        }
        std::thread::sleep(POLL);
    }
    panic!("chromedriver was not ready within a minute");
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session; closed (the browser with it) when dropped.
#[derive(Debug)]
struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

/// An element of the page, by its WebDriver reference.
#[derive(Clone, Debug)]
struct El(String);

impl Session<'_> {
    #[track_caller]
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver.command(method, &format!("/session/{}{path}", self.id), body.as_ref())
    }

    #[track_caller]
    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    #[track_caller]
    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_owned()
    }

    #[track_caller]
    fn title(&self) -> String {
        self.cmd("GET", "/title", None).as_str().unwrap().to_owned()
    }

    fn element(v: &Value) -> El {
        El(v[ELEMENT].as_str().unwrap_or_else(|| panic!("not an element: {v}")).to_owned())
    }

    /// The first element matching `css`; fails the test when there is none.
    #[track_caller]
    fn find(&self, css: &str) -> El {
        Self::element(&self.cmd("POST", "/element", Some(json!({ "using": "css selector", "value": css }))))
    }

    #[track_caller]
    fn find_all(&self, css: &str) -> Vec<El> {
        let v = self.cmd("POST", "/elements", Some(json!({ "using": "css selector", "value": css })));
        v.as_array().unwrap().iter().map(Self::element).collect()
    }

    #[track_caller]
    fn find_in(&self, el: &El, css: &str) -> El {
        let body = json!({ "using": "css selector", "value": css });
        Self::element(&self.cmd("POST", &format!("/element/{}/element", el.0), Some(body)))
    }

    /// The element's rendered, visible text.
    #[track_caller]
    fn text(&self, el: &El) -> String {
        self.cmd("GET", &format!("/element/{}/text", el.0), None).as_str().unwrap().to_owned()
    }

    #[track_caller]
    fn attr(&self, el: &El, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{}/attribute/{name}", el.0), None).as_str().map(str::to_owned)
    }

    #[track_caller]
    fn displayed(&self, el: &El) -> bool {
        self.cmd("GET", &format!("/element/{}/displayed", el.0), None) == true
    }

    #[track_caller]
    fn click(&self, el: &El) {
        self.cmd("POST", &format!("/element/{}/click", el.0), Some(json!({})));
    }

    #[track_caller]
    fn execute(&self, script: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// Clicks what leads to another page (a link, a form's button) and waits, polling with a
    /// generous cap, until that page has loaded: the old document is marked before the click
    /// and must be gone after it.
    #[track_caller]
    fn click_to_page(&self, el: &El) {
        self.execute("window.forewarnOldPage = true;", json!([]));
        self.click(el);
        let loaded = "return document.readyState === 'complete' && window.forewarnOldPage === undefined;";
        let body = json!({ "script": loaded, "args": [] });
        for _ in 0..STARTUP_POLLS {
            // While the page changes, a script may find no document: try again.
            if self.driver.try_command("POST", &format!("/session/{}/execute/sync", self.id), Some(&body))
                == Ok(json!(true))
            {
                return;
            }
            std::thread::sleep(POLL);
        }
        panic!("no new page loaded within a minute of the click; still at {}", self.url());
    }

    /// A CSS property of an element as the browser computed it.
    #[track_caller]
    fn css(&self, el: &El, property: &str) -> String {
        self.cmd("GET", &format!("/element/{}/css/{property}", el.0), None).as_str().unwrap_or_default().to_owned()
    }

    #[track_caller]
    fn resize(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({ "width": width, "height": height })));
    }

    /// Empties a form field.
    #[track_caller]
    fn clear(&self, el: &El) {
        self.cmd("POST", &format!("/element/{}/clear", el.0), Some(json!({})));
    }

    /// Types into an element (a form field).
    #[track_caller]
    fn type_into(&self, el: &El, text: &str) {
        self.cmd("POST", &format!("/element/{}/value", el.0), Some(json!({ "text": text })));
    }

    /// The labels of the buttons in `css`, as shown.
    #[track_caller]
    fn buttons(&self, css: &str) -> Vec<String> {
        self.find_all(&format!("{css} button")).iter().map(|b| self.text(b)).collect()
    }

    /// The button labelled `label` in `css`.
    #[track_caller]
    fn button(&self, css: &str, label: &str) -> El {
        self.find_all(&format!("{css} button"))
            .into_iter()
            .find(|b| self.text(b) == label)
            .unwrap_or_else(|| panic!("no button `{label}` in {css}: {:?}", self.buttons(css)))
    }

    /// A screenshot of the window, written as a PNG file to `path`.
    #[track_caller]
    fn screenshot(&self, path: &Path) {
        let v = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(v.as_str().expect("a screenshot in base64"));
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// The post cards of a section: (title as shown, data-state, the card).
    #[track_caller]
    fn cards(&self, section: &str) -> Vec<(String, String, El)> {
        self.find_all(&format!("{section} article.post"))
            .into_iter()
            .map(|card| {
                let title = self.text(&self.find_in(&card, "h3 a"));
                let state = self.attr(&card, "data-state").unwrap_or_default();
                (title, state, card)
            })
            .collect()
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.id);
        let _ = http(&self.driver.addr, "DELETE", &path, &[], b"");
    }
}

/// Standard base64 (with padding) to bytes; what WebDriver sends screenshots in.
fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    let digits: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(digits).unwrap_or_else(|e| panic!("not base64: {e}"))
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn browser_front_page_shows_the_story_and_a_post_its_timeline() {
    let Some(driver) = Driver::start("browser_front_page_shows_the_story_and_a_post_its_timeline") else { return };
    let demo = Demo::start();
    let browser = driver.session();
    browser.goto(&demo.url("/"));
    assert!(browser.title().contains("Demo Hosting"), "{}", browser.title());
    let overall = browser.find("#overall h1");
    assert_eq!(browser.text(&overall), "All systems operational");

    // Upcoming: the OS update and the switch replacement's new date, which names the cancelled
    // one it replaces; the cancelled one is in the history.
    let upcoming = browser.find("#upcoming");
    assert!(browser.displayed(&upcoming));
    let text = browser.text(&upcoming);
    for words in
        ["Upcoming maintenance", "Operating system update", SWITCH_AGAIN, &format!("Replaces {SWITCH} (cancelled)")]
    {
        assert!(text.contains(words), "#upcoming does not show `{words}`:\n{text}");
    }
    assert!(text.contains(" CET") || text.contains(" CEST"), "times name their zone:\n{text}");
    let cards = browser.cards("#upcoming");
    let titles: Vec<&str> = cards.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(cards.len(), 2, "{titles:?}");
    let os = cards.iter().find(|(t, _, _)| t.starts_with("Operating system update")).expect("the OS update");
    assert_eq!(os.1, "scheduled");
    let year = os.0.rsplit(' ').next().unwrap_or("");
    assert!(year.len() == 4 && year.parse::<u32>().is_ok(), "the title carries the plan's dates: {}", os.0);
    let (_, state, card) = cards.iter().find(|(t, _, _)| t == SWITCH_AGAIN).expect("the new date");
    assert_eq!(state, "scheduled");
    assert!(browser.text(card).contains("Switch sw1"), "it names what it affects: {}", browser.text(card));

    // In the history, the cancelled one, struck through, links to its replacement.
    browser.goto(&demo.url("/history"));
    let cancelled = browser
        .find_all("#history article.post")
        .into_iter()
        .find(|c| browser.text(&browser.find_in(c, "h3 a")) == SWITCH);
    let card = cancelled.expect("the cancelled switch replacement in the history");
    assert_eq!(browser.attr(&card, "data-state").as_deref(), Some("cancelled"));
    let link = browser.find_in(&card, "h3 a");
    assert!(browser.css(&link, "text-decoration-line").contains("line-through"), "the cancelled title is struck");
    let replaced_by = browser.find_in(&card, ".replaced-by a");
    assert_eq!(browser.text(&replaced_by), SWITCH_AGAIN);
    browser.click_to_page(&replaced_by);
    assert_eq!(browser.text(&browser.find("#post h1")), SWITCH_AGAIN);
    browser.goto(&demo.url("/"));

    // The components, each with its status as shown.
    let rows = browser.find_all("#components li.component");
    let shown: Vec<(String, String, String)> = rows
        .iter()
        .map(|row| {
            (
                browser.text(&browser.find_in(row, ".name")),
                browser.text(&browser.find_in(row, ".status")),
                browser.attr(row, "data-status").unwrap_or_default(),
            )
        })
        .collect();
    let mut names: Vec<&str> = shown.iter().map(|(n, _, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Lindenau Hosting", "Rack r1", "Rack r2", "Router core1", "Switch sw1", "Switch sw2"]);
    for (name, status, data) in &shown {
        assert_eq!((status.as_str(), data.as_str()), ("operational", "operational"), "{name}");
    }
    assert!(browser.displayed(&rows[0]));

    // The incident of yesterday, resolved.
    let incidents = browser.cards("#incidents");
    assert_eq!(incidents.len(), 1);
    assert_eq!((incidents[0].0.as_str(), incidents[0].1.as_str()), (INCIDENT, "resolved"));
    assert!(browser.text(&incidents[0].2).contains("resolved"));
    assert!(browser.text(&browser.find("#ongoing")).contains("No maintenance or incident is under way."));

    // Follow the incident's link: its page shows the timeline, newest first.
    browser.click_to_page(&browser.find_in(&incidents[0].2, "h3 a"));
    let url = browser.url();
    assert!(url.starts_with(&demo.url("/posts/")), "the link leads to the post: {url}");
    assert_eq!(browser.text(&browser.find("#post h1")), INCIDENT);
    let updates = browser.find_all("#timeline li.update");
    let seen: Vec<(String, String)> = updates
        .iter()
        .map(|u| (browser.text(&browser.find_in(u, ".badge.state")), browser.text(&browser.find_in(u, ".body"))))
        .collect();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    let expected = [
        ("resolved", "Latency has been normal for an hour."),
        ("monitoring", "The disk is replaced and the array rebuilt"),
        ("identified", "A failing disk in kvm03's storage array"),
    ];
    for ((badge, body), (state, words)) in seen.iter().zip(expected) {
        assert_eq!(badge, state, "{seen:#?}");
        assert!(body.contains(words), "`{body}` should say `{words}`");
    }
    assert!(browser.text(&browser.find("#body")).contains("slow disk access"));

    // Back on the front page, the OS update's page: its window from the plan, zone named.
    browser.goto(&demo.url("/"));
    let os = browser.cards("#upcoming").into_iter().find(|(t, _, _)| t.starts_with("Operating system")).unwrap();
    browser.click_to_page(&browser.find_in(&os.2, "h3 a"));
    assert!(browser.text(&browser.find("#post h1")).starts_with("Operating system update"));
    let when = browser.text(&browser.find("#when"));
    assert!(when.contains(" 20") && (when.contains("CET") || when.contains("CEST")), "{when}");
    let body = browser.text(&browser.find("#body"));
    assert!(body.contains("33 machines"), "the announcement counts the machines: {body}");
}

#[test]
fn browser_pages_fit_a_phone_without_horizontal_scroll() {
    let Some(driver) = Driver::start("browser_pages_fit_a_phone_without_horizontal_scroll") else { return };
    let demo = Demo::start();
    let browser = driver.session();
    browser.resize(390, 844);
    browser.goto(&demo.url("/"));
    let mut pages = vec![demo.url("/"), demo.url("/history")];
    for list in ["/", "/history"] {
        browser.goto(&demo.url(list));
        for card in browser.find_all("article.post h3 a") {
            let href = browser.attr(&card, "href").expect("a link");
            if !pages.contains(&href) {
                pages.push(href);
            }
        }
    }
    assert!(pages.len() >= 6, "{pages:?}");
    for page in pages {
        let url = if page.starts_with("http") { page } else { demo.url(&page) };
        browser.goto(&url);
        let sizes = browser.execute(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth, window.innerWidth];",
            json!([]),
        );
        let [scroll, client, inner] = [0, 1, 2].map(|i| sizes[i].as_u64().expect("a width"));
        assert!(inner <= 390, "the window is as narrow as a phone: {sizes}");
        assert!(scroll <= 390, "{url} is wider than a 390 px phone: {sizes}");
        assert!(scroll <= client, "{url} scrolls sideways: {sizes}");
    }
}

const CAMPAIGN: &str = "os-update";

#[test]
fn browser_admin_logs_in_and_drives_the_campaign_page() {
    let Some(driver) = Driver::start("browser_admin_logs_in_and_drives_the_campaign_page") else { return };
    let demo = Demo::start();
    let (user, password) = demo.admin_login().unwrap_or_else(|| {
        panic!("forewarn demo prints no `admin login: USER / PASSWORD` line:\n{}", demo.lines.join("\n"))
    });
    let browser = driver.session();
    let page = demo.url(&format!("/admin/campaigns/{CAMPAIGN}"));

    // Not logged in: the admin page sends the browser to the login form.
    browser.goto(&page);
    assert!(browser.url().starts_with(&demo.url("/admin/login")), "{}", browser.url());

    // A wrong password: the form again, saying so, and no way in.
    browser.type_into(&browser.find("#login input[name=name]"), &user);
    browser.type_into(&browser.find("#login input[name=password]"), "not-the-password");
    browser.click_to_page(&browser.find("#login button[type=submit]"));
    assert!(browser.text(&browser.find("#error")).contains("wrong name or password"));
    browser.goto(&page);
    assert!(browser.url().starts_with(&demo.url("/admin/login")), "still not logged in: {}", browser.url());

    // The right one, through the form.
    let name = browser.find("#login input[name=name]");
    browser.clear(&name);
    browser.type_into(&name, &user);
    browser.type_into(&browser.find("#login input[name=password]"), &password);
    browser.click_to_page(&browser.find("#login button[type=submit]"));
    assert!(!browser.url().contains("/admin/login"), "logged in: {}", browser.url());

    // The campaign page: published, its plan drawn, the controls a published campaign has.
    browser.goto(&page);
    assert_eq!(browser.url(), page);
    let campaign = browser.find("#campaign");
    assert_eq!(browser.attr(&campaign, "data-state").as_deref(), Some("published"));
    let title = browser.text(&browser.find("#campaign h1"));
    assert!(title.starts_with("Operating system update, "), "{title}");
    let svg = browser.find("#plan svg");
    assert!(browser.displayed(&svg), "the plan is drawn");
    let size = browser.execute(
        "const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];",
        json!([{ ELEMENT: svg.0 }]),
    );
    assert!(size[0].as_f64().unwrap() > 100.0 && size[1].as_f64().unwrap() > 100.0, "the plan has a size: {size}");
    let plan = demo.admin("GET", &format!("/api/v1/campaigns/{CAMPAIGN}/plan"), "application/json", b"").json();
    let machine = plan["slots"][0]["machine"].as_str().expect("a planned machine");
    let drawn = browser.execute("return arguments[0].textContent;", json!([{ ELEMENT: svg.0 }]));
    assert!(drawn.as_str().unwrap().contains(machine), "the drawing names the planned machines, {machine} among them");

    let buttons = browser.buttons("#actions");
    assert!(buttons.iter().any(|b| b == "Pause"), "{buttons:?}");
    assert!(buttons.iter().any(|b| b.starts_with("Cancel")), "{buttons:?}");
    assert!(!buttons.iter().any(|b| b.starts_with("Publish") || b == "Resume"), "published, running: {buttons:?}");

    // Pause through its button: the campaign is paused, and Resume replaces Pause.
    browser.click_to_page(&browser.button("#actions", "Pause"));
    assert_eq!(browser.attr(&browser.find("#campaign"), "data-state").as_deref(), Some("paused"), "{}", browser.url());
    let buttons = browser.buttons("#actions");
    assert!(buttons.iter().any(|b| b == "Resume") && !buttons.iter().any(|b| b == "Pause"), "{buttons:?}");
    let state = demo.admin("GET", &format!("/api/v1/campaigns/{CAMPAIGN}"), "application/json", b"").json();
    assert_eq!(state["state"], "paused", "the API sees what the page did");

    browser.click_to_page(&browser.button("#actions", "Resume"));
    assert_eq!(browser.attr(&browser.find("#campaign"), "data-state").as_deref(), Some("published"));
    let buttons = browser.buttons("#actions");
    assert!(buttons.iter().any(|b| b == "Pause") && !buttons.iter().any(|b| b == "Resume"), "{buttons:?}");

    // The public post of the campaign tells both moves.
    let posts = demo.get("/api/v1/posts").json();
    let post = posts.as_array().unwrap().iter().find(|p| p["campaign"] == CAMPAIGN).expect("the campaign's post");
    browser.goto(&demo.url(&format!("/posts/{}", post["id"])));
    let timeline = browser.text(&browser.find("#timeline"));
    let (resumed, paused) = (timeline.find("Resumed"), timeline.find("Paused"));
    assert!(resumed.is_some() && paused.is_some() && resumed < paused, "newest first: {timeline}");
}

/// Where the status tests' screenshots go, to be looked at.
fn shots() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("forewarn-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn browser_front_page_during_an_incident_and_during_maintenance() {
    const TEST: &str = "browser_front_page_during_an_incident_and_during_maintenance";
    let Some(driver) = Driver::start(TEST) else { return };
    let tmp = TempDir::new("forewarn-browser-status");
    // The service's clock starts on a Monday, 11:00 in Berlin, and runs on.
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--now", "2027-03-01T10:00:00Z"], &[]);
    let inventory = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/inventory.toml")).unwrap();
    serve.admin_ok("POST", "/api/v1/inventory", "application/toml", &inventory);
    let post = |body: Value| serve.admin_ok("POST", "/api/v1/posts", "application/json", body.to_string().as_bytes());
    let incident = post(json!({
        "kind": "incident", "impact": "major", "title": "Packet loss in rack r1",
        "body": "Machines in rack r1 lose up to a third of their packets. We are looking into it.",
        "starts": "2027-03-01T09:40:00Z", "components": ["rack-r1", "sw1"],
    }));
    let browser = driver.session();
    browser.resize(1100, 1300);
    let status_of = |id: &str| {
        let row = browser.find(&format!("#component-{id}"));
        (browser.text(&browser.find_in(&row, ".status")), browser.attr(&row, "data-status").unwrap_or_default())
    };

    // During the incident: the banner is not green, it says what is wrong; its components say so.
    browser.goto(&serve.url("/"));
    let overall = browser.find("#overall");
    assert_eq!(browser.text(&browser.find("#overall h1")), "Partial outage");
    assert!(browser.text(&overall).contains("1 open incident"), "{}", browser.text(&overall));
    assert_eq!(browser.css(&overall, "background-color"), "rgba(188, 76, 0, 1)", "the partial outage colour");
    for id in ["rack-r1", "sw1"] {
        assert_eq!(status_of(id), ("partial outage".to_owned(), "partial_outage".to_owned()), "{id}");
    }
    assert_eq!(status_of("rack-r2"), ("operational".to_owned(), "operational".to_owned()));
    let row = browser.find("#component-rack-r1 .status");
    assert_eq!(browser.css(&row, "color"), "rgba(188, 76, 0, 1)");
    let ongoing = browser.cards("#ongoing");
    assert_eq!(ongoing.len(), 1);
    assert!(browser.text(&ongoing[0].2).contains("major impact"), "{}", browser.text(&ongoing[0].2));
    browser.screenshot(&shots().join("front-page-incident.png"));

    // Resolved; a maintenance whose window holds now: its components under maintenance.
    let resolved = json!({ "state": "resolved", "body": "A faulty cable was replaced." }).to_string();
    serve.admin_ok(
        "POST",
        &format!("/api/v1/posts/{}/updates", incident["id"]),
        "application/json",
        resolved.as_bytes(),
    );
    post(json!({
        "kind": "maintenance", "title": "Firmware of switch sw2",
        "body": "The switch of rack r2 gets new firmware. Machines in rack r2 may lose their network for a minute.",
        "starts": "2027-03-01T09:30:00Z", "ends": "2027-03-01T12:00:00Z", "components": ["sw2", "rack-r2"],
    }));
    // Another URL: the page may be cached for 5 s (`max-age=5`), by the browser too.
    browser.goto(&serve.url("/?later"));
    let overall = browser.find("#overall");
    assert_eq!(browser.text(&browser.find("#overall h1")), "Maintenance in progress");
    assert!(browser.text(&overall).contains("1 maintenance in progress"), "{}", browser.text(&overall));
    assert_eq!(browser.css(&overall, "background-color"), "rgba(10, 88, 202, 1)", "the maintenance colour");
    for id in ["rack-r2", "sw2"] {
        assert_eq!(status_of(id), ("under maintenance".to_owned(), "maintenance".to_owned()), "{id}");
    }
    for id in ["rack-r1", "sw1"] {
        assert_eq!(status_of(id), ("operational".to_owned(), "operational".to_owned()), "{id}: resolved");
    }
    let ongoing = browser.cards("#ongoing");
    assert_eq!(ongoing.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["Firmware of switch sw2"]);
    let incidents = browser.cards("#incidents");
    assert_eq!(
        incidents.iter().map(|c| (c.0.as_str(), c.1.as_str())).collect::<Vec<_>>(),
        [("Packet loss in rack r1", "resolved")]
    );
    browser.screenshot(&shots().join("front-page-maintenance.png"));
    // On a phone too.
    browser.resize(390, 844);
    browser.goto(&serve.url("/?phone"));
    browser.screenshot(&shots().join("front-page-maintenance-phone.png"));
}
