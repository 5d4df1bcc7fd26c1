//! Sample data shared by the renderers' tests: a small platform's month of posts, and real
//! parsers run through Python.

use forewarn_model::{Campaign, Inventory, Zone, parse_campaign, parse_inventory};
use forewarn_planner::Plan;
use jiff::Timestamp;

use crate::post::{Component, ComponentKind, ComponentStatus, Impact, Post, PostKind, PostState, Revision, Update};
use crate::site::Site;

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

pub fn site() -> Site {
    Site::new("Lindenau Hosting", "https://status.lindenau.example/", Zone::get("Europe/Berlin").unwrap())
}

/// "Now" in the sample story: Tuesday 5 March 2013, 13:00 in Berlin.
pub fn now() -> Timestamp {
    ts("2013-03-05T12:00:00Z")
}

#[allow(clippy::too_many_arguments)]
fn post(
    id: i64,
    kind: PostKind,
    state: PostState,
    title: &str,
    body: &str,
    window: (Option<&str>, Option<&str>),
    components: &[&str],
    created: &str,
    updated: &str,
    revision: u32,
) -> Post {
    Post {
        id,
        kind,
        state,
        title: title.into(),
        body: body.into(),
        starts: window.0.map(ts),
        ends: window.1.map(ts),
        components: components.iter().map(|c| c.to_string()).collect(),
        campaign: None,
        impact: Impact::default_for(kind),
        replaces: None,
        created: ts(created),
        updated: ts(updated),
        revision,
    }
}

/// The sample's posts: the object storage incident (6) has a major impact, and the new date
/// of the switch replacement (5) replaces the cancelled one (4).
pub fn posts() -> Vec<Post> {
    let mut posts = sample_posts();
    posts[4].replaces = Some(4);
    posts[5].impact = Impact::Major;
    posts
}

fn sample_posts() -> Vec<Post> {
    use PostKind::*;
    use PostState::*;
    vec![
        post(
            1,
            Maintenance,
            InProgress,
            "Operating system update 4–9 March 2013",
            "Every virtual machine gets one slot in its maintenance window between **4 and 9 March 2013**. \
             Testing and staging machines go first, production at least 24 hours later.\n\n\
             - each machine is down once, for at most 30 minutes\n- you receive an email with your machines' slots\n\n\
             Details are in the [change log](https://lindenau.example/changes).",
            (Some("2013-03-04T21:00:00Z"), Some("2013-03-09T04:00:00Z")),
            &["vm-hosting"],
            "2013-02-13T10:00:00Z",
            "2013-03-04T21:00:00Z",
            1,
        ),
        post(
            2,
            Maintenance,
            Scheduled,
            "Hypervisor reboots",
            "All KVM hosts restart one after another to load a new kernel. Each machine is down for **less than \
             30 minutes**; no separate email is sent for this restart.",
            (Some("2013-03-09T09:00:00Z"), Some("2013-03-09T13:00:00Z")),
            &["vm-hosting", "rack-a1", "rack-a2"],
            "2013-02-13T10:05:00Z",
            "2013-03-04T08:12:00Z",
            2,
        ),
        post(
            3,
            Incident,
            Resolved,
            "Slow responses from some hosted web sites",
            "Some visitors see slow pages or time-outs on sites behind our front ends.",
            (Some("2013-02-18T07:30:00Z"), Some("2013-02-19T16:00:00Z")),
            &["web-frontends"],
            "2013-02-18T08:00:00Z",
            "2013-02-19T16:10:00Z",
            1,
        ),
        post(
            4,
            Maintenance,
            Cancelled,
            "Core switch replacement",
            "The core switch with failing ports is replaced. Connections may hang for a minute or two.",
            (Some("2013-03-15T21:00:00Z"), Some("2013-03-15T23:00:00Z")),
            &["sw-core-1"],
            "2013-03-01T09:00:00Z",
            "2013-03-02T10:00:00Z",
            1,
        ),
        post(
            5,
            Maintenance,
            Scheduled,
            "Core switch replacement, new date",
            "The replacement of the core switch takes place on its new date. Connections may hang for a minute or two.",
            (Some("2013-03-19T21:00:00Z"), Some("2013-03-19T23:00:00Z")),
            &["sw-core-1"],
            "2013-03-02T10:05:00Z",
            "2013-03-02T10:05:00Z",
            1,
        ),
        post(
            6,
            Incident,
            Investigating,
            "Object storage returns errors",
            "Uploads to object storage fail for some buckets. We are looking into it.",
            (Some("2013-03-05T11:20:00Z"), None),
            &["object-storage"],
            "2013-03-05T11:30:00Z",
            "2013-03-05T11:45:00Z",
            1,
        ),
        post(
            7,
            Notice,
            Published,
            "Python 2.4 is being retired",
            "New machines no longer get Python 2.4. A road map for removing it follows.",
            (None, None),
            &[],
            "2013-03-01T09:00:00Z",
            "2013-03-01T09:00:00Z",
            1,
        ),
        post(
            8,
            Incident,
            Resolved,
            "Storage network outage",
            "A storage switch failed; machines on rack A2 paused for 12 minutes.",
            (Some("2012-12-11T14:02:00Z"), Some("2012-12-11T14:14:00Z")),
            &["rack-a2"],
            "2012-12-11T14:10:00Z",
            "2012-12-11T15:00:00Z",
            1,
        ),
    ]
}

/// A post whose every text tries to inject markup.
pub fn hostile() -> Post {
    post(
        9,
        PostKind::Notice,
        PostState::Published,
        "<script>alert(1)</script> & more",
        "Raw <b onclick=\"x()\">HTML</b>, <script>alert(2)</script> and [a link](javascript:alert(3))",
        (None, None),
        &["<img src=x onerror=alert(4)>"],
        "2013-03-03T09:00:00Z",
        "2013-03-03T09:00:00Z",
        1,
    )
}

pub fn components() -> Vec<Component> {
    use ComponentKind::*;
    use ComponentStatus::*;
    let c = |id: &str, name: &str, kind, status| Component { id: id.into(), name: name.into(), kind, status };
    vec![
        c("vm-hosting", "Virtual machines", Service, Maintenance),
        c("object-storage", "Object storage", Service, PartialOutage),
        c("web-frontends", "Web front ends", Service, Operational),
        c("dns", "DNS", Service, Operational),
        c("rack-a1", "Rack A1", Rack, Operational),
        c("rack-a2", "Rack A2", Rack, Operational),
        c("sw-core-1", "Core switch 1", Device, Operational),
    ]
}

pub fn updates(post: i64) -> Vec<Update> {
    let u = |id, at: &str, state: Option<PostState>, body: &str| Update {
        id,
        post,
        at: ts(at),
        state,
        body: body.into(),
        author: "ops".into(),
    };
    match post {
        2 => vec![u(1, "2013-02-20T09:00:00Z", None, "Technical contacts have received the times for their machines.")],
        3 => vec![
            u(2, "2013-02-18T09:15:00Z", Some(PostState::Identified), "A front end drops connections under load."),
            u(3, "2013-02-19T10:00:00Z", Some(PostState::Monitoring), "The front end is replaced; we are watching."),
            u(4, "2013-02-19T16:10:00Z", Some(PostState::Resolved), "Response times are back to normal."),
        ],
        4 => vec![u(
            5,
            "2013-03-02T10:00:00Z",
            Some(PostState::Cancelled),
            "Cancelled for organisational reasons. \
                 The [new date](/posts/5) is announced separately.",
        )],
        _ => vec![],
    }
}

/// The updates of every sample post.
pub fn all_updates() -> Vec<Update> {
    (1..=9).flat_map(updates).collect()
}

pub fn revisions(post: i64) -> Vec<Revision> {
    match post {
        2 => vec![Revision {
            post: 2,
            revision: 2,
            at: ts("2013-03-04T08:12:00Z"),
            note: "the date of the host reboot was wrong".into(),
            author: "ops".into(),
            title: "Hypervisor reboots".into(),
            body: "All KVM hosts restart one after another to load a new kernel. Each machine is down for **less \
                   than 30 minutes**."
                .into(),
            starts: Some(ts("2013-02-09T09:00:00Z")),
            ends: Some(ts("2013-02-09T13:00:00Z")),
        }],
        _ => vec![],
    }
}

/// Runs `script` with `python3`, `input` on its standard input, when `module` can be imported;
/// its standard output. Without the module: `None` and a line saying the test was skipped, or a
/// failure when `CI=true`, where every parser must be present.
pub fn python(module: &str, script: &str, input: &str) -> Option<String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let probe = Command::new("python3").args(["-c", &format!("import {module}")]).output();
    let missing = match probe {
        Err(e) => Some(format!("python3 cannot run ({e})")),
        Ok(o) if !o.status.success() => Some(format!(
            "python3 cannot import {module} (python3 -m pip install {module}): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    };
    if let Some(why) = missing {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}; CI=true, so this fails instead of skipping");
        println!("skipped: {why}");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write to python3");
    let out = child.wait_with_output().expect("python3 runs");
    assert!(out.status.success(), "python3 failed: {}\ninput:\n{input}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).expect("python3 prints UTF-8"))
}

/// With `FOREWARN_STATUS_KEEP=DIR` set, keeps a rendering as `DIR/name` to look at (in a browser).
pub fn keep(name: &str, text: &str) {
    if let Some(dir) = std::env::var_os("FOREWARN_STATUS_KEEP") {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// A file of the repository's `examples/`.
pub fn example(name: &str) -> String {
    let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The example inventory, one of the example campaigns, and its plan.
pub fn planned(campaign: &str) -> (Inventory, Campaign, Plan) {
    let inv = parse_inventory("inventory.toml", &example("inventory.toml")).unwrap();
    let campaign = parse_campaign(campaign, &example(campaign), &inv).unwrap();
    let plan = forewarn_planner::plan(&inv, &campaign);
    (inv, campaign, plan)
}
