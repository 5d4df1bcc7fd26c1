//! No anonymous client can exhaust the service (issue 11, section 1), over real TCP against a
//! spawned `forewarn serve` on loopback: concurrent logins stay within a memory bound and are
//! rate-limited, random paths do not grow the page cache past its bound, invented methods add
//! no metric series (and `/metrics` can ask for a token), and silent clients are cut after the
//! header timeout while `/healthz` keeps answering.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{Serve, TempDir, http, poll_until};

/// The peak resident memory of a process, in KiB (`VmHWM` of /proc/PID/status).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("a VmHWM line");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM in kB")
}

/// The value of a metric line that starts with `prefix`, if any.
fn metric(text: &str, prefix: &str) -> Option<i64> {
    text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

/// 100 concurrent logins (argon2 needs 19 MiB each; unbounded, they took the server past
/// 1.9 GiB) keep the peak RSS under 400 MiB, and past ten attempts per address a minute the
/// answer is 429 with `Retry-After`.
#[test]
fn concurrent_logins_are_capped_and_rate_limited() {
    const BOUND_KIB: u64 = 400 * 1024;
    let tmp = TempDir::new("forewarn-guard-login");
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &[], &[]);
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let addr = serve.addr.clone();
            std::thread::spawn(move || {
                let body = format!("name=nobody{}&password=not-the-password", i % 7);
                let headers = [("Content-Type", "application/x-www-form-urlencoded")];
                http(&addr, "POST", "/admin/login", &headers, body.as_bytes()).expect("an answer")
            })
        })
        .collect();
    let answers: Vec<_> = threads.into_iter().map(|t| t.join().expect("the login thread")).collect();
    let peak = peak_rss_kib(serve.pid());
    assert!(peak < BOUND_KIB, "100 concurrent logins took the server to {peak} KiB (bound {BOUND_KIB} KiB)");
    let wrong = answers.iter().filter(|r| r.status == 401).count();
    let limited: Vec<_> = answers.iter().filter(|r| r.status == 429).collect();
    assert!(wrong <= 10, "at most ten attempts per address per minute are checked, {wrong} were");
    assert!(limited.len() >= 90, "{} of 100 got 429", limited.len());
    for r in &limited {
        let wait: u64 = r.header("retry-after").expect("429 says when to come back").parse().expect("seconds");
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
    }
    assert!(answers.iter().all(|r| matches!(r.status, 401 | 429 | 503)), "only refusals");
    assert!(serve.log().contains("failed login") && serve.log().contains("address=127.0.0.1"), "{}", serve.log());
}

/// Two thousand random paths (far past the cache's bound of 256 pages) leave the cache at
/// most at its bound; `/posts/0001` and `/posts/1` are one entry; 404s are never kept.
#[test]
fn random_paths_do_not_grow_the_page_cache() {
    let tmp = TempDir::new("forewarn-guard-cache");
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &[], &[]);
    let entries = || {
        let m = http(&serve.addr, "GET", "/metrics", &[], b"").expect("/metrics").text();
        metric(&m, "forewarn_page_cache_entries ").expect("the forewarn_page_cache_entries gauge")
    };
    for i in 0..20 {
        assert_eq!(http(&serve.addr, "GET", &format!("/posts/{i}x"), &[], b"").unwrap().status, 404);
    }
    assert_eq!(entries(), 0, "404s are not kept");
    for i in 0..2000u32 {
        let path = if i % 2 == 0 { format!("/posts/{:0>width$}", i, width = 5) } else { format!("/history?page={i}") };
        let r = http(&serve.addr, "GET", &path, &[], b"").expect("an answer");
        assert!(matches!(r.status, 200 | 404), "{path}: {}", r.status);
    }
    let n = entries();
    assert!((1..=256).contains(&n), "the page cache holds {n} pages, bound 256");
}

/// Invented methods share one label; `/metrics` with `metrics_token` set answers only the token.
#[test]
fn invented_methods_add_no_series_and_metrics_can_need_a_token() {
    let tmp = TempDir::new("forewarn-guard-metrics");
    let token = "metrics-secret-123";
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--metrics-token", token], &[]);
    for i in 0..200 {
        let _ = http(&serve.addr, &format!("INVENT{i}"), "/", &[], b"");
        let _ = http(&serve.addr, "GET", &format!("/nowhere/{i}"), &[], b"");
    }
    let refused = http(&serve.addr, "GET", "/metrics", &[], b"").unwrap();
    assert_eq!(refused.status, 401);
    assert!(refused.text().contains("metrics_token"), "{}", refused.text());
    let wrong = http(&serve.addr, "GET", "/metrics", &[("Authorization", "Bearer nope-nope-nope")], b"").unwrap();
    assert_eq!(wrong.status, 401);
    let bearer = format!("Bearer {token}");
    let m = http(&serve.addr, "GET", "/metrics", &[("Authorization", &bearer)], b"").unwrap();
    assert_eq!(m.status, 200);
    let text = m.text();
    assert!(!text.contains("INVENT"), "invented methods became labels:\n{text}");
    let series = text.lines().filter(|l| l.starts_with("forewarn_http_requests_total{")).count();
    assert!(series <= 8, "{series} request series after 400 odd requests:\n{text}");
    assert!(text.contains("method=\"other\",route=\"/\""), "{text}");
    assert!(text.contains("method=\"GET\",route=\"unmatched\",status=\"404\"} 200"), "{text}");
}

/// Whether the server closed `stream` (a read gives the end, or an error).
fn closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return true,
            // An answer (408, or 400) before the close is fine: read on.
            Ok(_) => {}
        }
    }
}

/// Silent clients (and one sending half a header) are cut after the header timeout (1 s
/// here), while `/healthz` keeps answering beside them; more connections than the cap wait.
#[test]
fn silent_clients_are_cut_and_healthz_answers() {
    let tmp = TempDir::new("forewarn-guard-slow");
    let serve = Serve::start(
        &tmp.path().join("forewarn.db"),
        &["--header-timeout", "1s", "--body-timeout", "1s", "--max-connections", "64"],
        &[],
    );
    let mut silent: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(&serve.addr).expect("connect")).collect();
    let mut half = TcpStream::connect(&serve.addr).unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut slow_body = TcpStream::connect(&serve.addr).unwrap();
    slow_body.write_all(b"POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nname=a").unwrap();
    assert_eq!(http(&serve.addr, "GET", "/healthz", &[], b"").unwrap().status, 200);
    for s in silent.iter_mut().chain([&mut half, &mut slow_body]) {
        // Generous: the server cuts after 1 s; a read waits at most 30 s.
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    }
    for s in &mut silent {
        assert!(closed(s), "a silent connection stayed open");
    }
    assert!(closed(&mut half), "a connection with half a header stayed open");
    assert!(closed(&mut slow_body), "a connection with a body cut short stayed open");
    // Past the cap of 64: every connection is served in turn as others are cut.
    let more: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(&serve.addr).expect("connect")).collect();
    let status = poll_until("/healthz answers beside 100 silent connections", Duration::from_secs(60), || {
        http(&serve.addr, "GET", "/healthz", &[], b"").map(|r| r.status).map_err(|e| e.to_string())
    });
    assert_eq!(status, 200);
    drop(more);
}
