//! What the end-to-end tests of the service share: `forewarn demo` as a child process (killed
//! when dropped, even on panic), a tiny HTTP/1.1 client over `std::net::TcpStream` (loopback
//! only), and the skip-or-fail rule for tools a machine may lack.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_forewarn");

/// How long a server or driver may take to come up: a cap for polling, not a test limit.
pub const STARTUP_POLLS: u32 = 600;
pub const POLL: Duration = Duration::from_millis(100);

/// Whether this is CI (`CI=true`), where every test must run rather than skip.
pub fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// A test that cannot run here: under CI that fails it; elsewhere it says so and is skipped.
pub fn cannot_run(test: &str, why: &str) {
    if ci() {
        panic!("{test}: {why}; CI=true, so this test must run (.ci/test installs what it needs)");
    }
    // Past the harness's capture, so the skip is seen.
    let _ = writeln!(io::stderr(), "skipped: {test}: {why}");
}

/// A program by name in `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// Whether `python3 -c probe` runs.
pub fn python_can(probe: &str) -> Result<(), String> {
    match Command::new("python3").args(["-c", probe]).output() {
        Err(e) => Err(format!("python3 cannot run: {e}")),
        Ok(out) if !out.status.success() => {
            Err(format!("python3 -c {probe:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
        }
        Ok(_) => Ok(()),
    }
}

/// Runs `python3 -c script` with `input` on stdin and gives its stdout as JSON.
#[track_caller]
pub fn python_json(script: &str, input: &[u8]) -> serde_json::Value {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("python3 finishes");
    writer.join().unwrap().expect("write to python3");
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("python3 did not print JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// A new directory under the system's temporary directory (`PREFIX-` and a random name, by
/// the tempfile crate), removed when dropped.
#[derive(Debug)]
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        TempDir(tempfile::Builder::new().prefix(&format!("{prefix}-")).tempdir().expect("create a temporary directory"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

// ---------------------------------------------------------------------------
// HTTP/1.1, one request per connection.

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("the body is UTF-8")
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}), status {}: {}", self.status, String::from_utf8_lossy(&self.body))
        })
    }
}

/// Sends one request to `addr` (`127.0.0.1:PORT`) with `Connection: close` and reads the
/// answer: to its Content-Length, its last chunk, or else to the end of the connection
/// (chromedriver keeps connections open whatever the request says).
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> io::Result<HttpResponse> {
    assert!(addr.starts_with("127.0.0.1:"), "tests talk to loopback only, not {addr}");
    let mut stream = TcpStream::connect(addr)?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH" | "DELETE") {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    read_response(&mut stream).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{method} {path}: {e}")))
}

/// Reads more of `stream` into `raw`; an error at the end of the connection.
fn fill(stream: &mut TcpStream, raw: &mut Vec<u8>) -> Result<(), String> {
    let mut buf = [0u8; 16 * 1024];
    match stream.read(&mut buf) {
        Ok(0) => Err(format!("the connection ended after {} bytes", raw.len())),
        Ok(n) => {
            raw.extend_from_slice(&buf[..n]);
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn read_response(stream: &mut TcpStream) -> Result<HttpResponse, String> {
    let mut raw = Vec::new();
    let end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        fill(stream, &mut raw)?;
    };
    let head = std::str::from_utf8(&raw[..end]).map_err(|e| format!("header is not UTF-8: {e}"))?.to_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line `{status_line}`"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut rest = raw.split_off(end + 4);
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let length = headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.clone());
    let body = if chunked {
        loop {
            if let Some(body) = dechunk(&rest)? {
                break body;
            }
            fill(stream, &mut rest)?;
        }
    } else if let Some(len) = length {
        let len: usize = len.parse().map_err(|_| format!("bad Content-Length `{len}`"))?;
        while rest.len() < len {
            fill(stream, &mut rest)?;
        }
        rest.truncate(len);
        rest
    } else {
        stream.read_to_end(&mut rest).map_err(|e| e.to_string())?;
        rest
    };
    Ok(HttpResponse { status, headers, body })
}

/// The body of a chunked message, or `None` while its last chunk has not arrived.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
        let size_text = std::str::from_utf8(&rest[..eol]).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size `{size_text}`"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(Some(body));
        }
        let Some(chunk) = rest.get(..size) else { return Ok(None) };
        body.extend_from_slice(chunk);
        let Some(after) = rest.get(size + 2..) else { return Ok(None) };
        rest = after;
    }
}

// ---------------------------------------------------------------------------
// `forewarn demo`.

/// Where `forewarn serve`'s clock starts in the tests ([`Serve::start`] without `--now`): a
/// week before the sample OS update (`examples/os-update.toml`, March 2027) starts, when
/// it is published, and before the generated fleet's campaign too.
pub const SERVE_NOW: &str = "2027-02-22T09:00:00+01:00";

/// Where `forewarn demo`'s clock starts in the tests ([`Demo::start`]): mid-December, with
/// the sample's year-end freeze ahead. `tests/demo_dates.rs` runs the story on other days.
pub const DEMO_NOW: &str = "2026-12-15T10:00:00+01:00";

/// A running `forewarn demo`: killed when dropped. Its stderr (the request log) is kept
/// and shown if a test fails while it runs.
#[derive(Debug)]
pub struct Demo {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `http://127.0.0.1:PORT/`, as printed.
    pub status_page: String,
    pub token: String,
    /// Everything it printed on stdout up to and with the token.
    pub lines: Vec<String>,
    stderr: Arc<Mutex<String>>,
    // Last: the demo's database lives in it, removed after the process is gone.
    _tmp: TempDir,
}

impl Demo {
    /// Starts `forewarn demo --listen 127.0.0.1:0 --now DEMO_NOW` and reads its stdout up to
    /// the token line.
    pub fn start() -> Demo {
        Demo::start_at(DEMO_NOW)
    }

    /// [`Demo::start`] with the clock starting at `now` (RFC 3339).
    pub fn start_at(now: &str) -> Demo {
        Demo::start_with(now, &[])
    }

    /// [`Demo::start_at`] with more arguments (`--database URL`).
    pub fn start_with(now: &str, args: &[&str]) -> Demo {
        let tmp = TempDir::new("forewarn-demo-test");
        let mut child = Command::new(BIN)
            .args(["demo", "--listen", "127.0.0.1:0", "--now", now])
            .args(args)
            .env_remove("FOREWARN_NOW")
            // The demo's database goes under the temporary directory: here, ours.
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start forewarn demo");
        let stderr = Arc::new(Mutex::new(String::new()));
        let err_pipe = child.stderr.take().unwrap();
        let err_buf = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                let mut buf = err_buf.lock().unwrap_or_else(|e| e.into_inner());
                buf.push_str(&line);
                buf.push('\n');
            }
        });
        let lines_rx = line_reader(child.stdout.take().unwrap());

        let mut lines = Vec::new();
        let mut polls = 0;
        let token = loop {
            match lines_rx.recv_timeout(POLL) {
                Ok(line) => {
                    let is_token = is_token(&line);
                    lines.push(line.clone());
                    if is_token {
                        break line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    polls += 1;
                    if polls >= STARTUP_POLLS {
                        let _ = child.kill();
                        let _ = child.wait();
                        panic!(
                            "forewarn demo printed no token within {} s\nstdout:\n{}\nstderr:\n{}",
                            STARTUP_POLLS as u64 * POLL.as_millis() as u64 / 1000,
                            lines.join("\n"),
                            stderr.lock().unwrap()
                        );
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait();
                    std::thread::sleep(POLL);
                    panic!(
                        "forewarn demo ended ({status:?}) before printing its token\nstdout:\n{}\nstderr:\n{}",
                        lines.join("\n"),
                        stderr.lock().unwrap()
                    );
                }
            }
        };
        let status_page = lines
            .iter()
            .find_map(|l| l.strip_prefix("  status page"))
            .map(|rest| rest.trim().to_owned())
            .unwrap_or_else(|| panic!("no `  status page` line in:\n{}", lines.join("\n")));
        let addr = status_page
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("the status page is not an http:// URL: {status_page}"))
            .to_owned();
        Demo { child, addr, status_page, token, lines, stderr, _tmp: tmp }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    #[track_caller]
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
        http(&self.addr, method, path, headers, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A public GET; asserts 200.
    #[track_caller]
    pub fn get(&self, path: &str) -> HttpResponse {
        let r = self.request("GET", path, &[], b"");
        assert_eq!(r.status, 200, "GET {path}: {}", String::from_utf8_lossy(&r.body));
        r
    }

    /// A request with the admin token.
    #[track_caller]
    pub fn admin(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> HttpResponse {
        let auth = format!("Bearer {}", self.token);
        self.request(method, path, &[("Authorization", &auth), ("Content-Type", content_type)], body)
    }

    /// The line `admin login: admin / PASSWORD`, if the demo printed one.
    pub fn admin_login(&self) -> Option<(String, String)> {
        let rest = self.lines.iter().find_map(|l| l.trim().strip_prefix("admin login:"))?;
        let (user, password) = rest.split_once(" / ")?;
        Some((user.trim().to_owned(), password.trim().to_owned()))
    }

    /// SIGTERM, then waits (polling, with a generous cap) for the process to end; gives
    /// whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        for _ in 0..STARTUP_POLLS {
            if let Some(status) = self.child.try_wait().expect("wait for the demo") {
                return status.success();
            }
            std::thread::sleep(POLL);
        }
        panic!("forewarn demo did not stop within a minute of SIGTERM\nstderr:\n{}", self.stderr());
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.stderr();
            let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
            eprintln!("forewarn demo's last log lines:\n{}", tail.join("\n"));
        }
    }
}

/// `fw_` and 64 hex digits.
fn is_token(line: &str) -> bool {
    line.strip_prefix("fw_").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The lines a pipe gives, through a channel (so the reader can wait with a cap).
fn line_reader(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

// ---------------------------------------------------------------------------
// Pages.

/// A post card of a list (`<article class="post" ...>`): its id, kind, state and title.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub title: String,
}

/// The text of `<section id="ID">` of a page, up to its end.
#[track_caller]
pub fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section id=\"{id}\">")).unwrap_or_else(|| panic!("no section #{id} in:\n{html}"));
    let end = html[start..].find("</section>").expect("the section ends") + start;
    &html[start..end]
}

/// The post cards in a piece of a page, in order.
pub fn cards(html: &str) -> Vec<Card> {
    let attr = |tag: &str, name: &str| -> String {
        let key = format!("{name}=\"");
        tag.find(&key).map_or(String::new(), |i| {
            let rest = &tag[i + key.len()..];
            rest[..rest.find('"').unwrap_or(rest.len())].to_owned()
        })
    };
    html.match_indices("<article class=\"post\"")
        .map(|(i, _)| {
            let rest = &html[i..];
            let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
            let after_link = rest.find("<h3><a href=\"").map(|j| &rest[j..]).unwrap_or("");
            let title = after_link
                .find("\">")
                .map(|k| {
                    let t = &after_link[k + 2..];
                    &t[..t.find("</a>").unwrap_or(t.len())]
                })
                .unwrap_or("");
            Card {
                id: attr(tag, "id").trim_start_matches("post-").parse().unwrap_or(-1),
                kind: attr(tag, "data-kind"),
                state: attr(tag, "data-state"),
                title: title.to_owned(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Notifications: `forewarn serve` as a child process that can be killed and started again on
// its database, and the sinks that stand for a mail relay (`smtp_sink.py`) and a webhook
// receiver (`webhook_sink.py`), each killed when dropped. Everything stays on 127.0.0.1.

/// The Python sinks beside this file.
pub const SMTP_SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
pub const WEBHOOK_SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/webhook_sink.py");

/// How long something may take to arrive (mail, a state in the outbox): a cap for polling,
/// generous, not a limit on the test's speed.
pub const ARRIVAL: Duration = Duration::from_secs(120);

/// Polls `check` every [`POLL`] until it gives `Ok`, for about `deadline` (counted in polls:
/// the tests do not read the clock). Then fails with `what` and the last `Err`, which should
/// say what was there instead.
#[track_caller]
pub fn poll_until<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let polls = (deadline.as_millis() / POLL.as_millis()).max(1);
    for _ in 0..polls {
        if let Ok(value) = check() {
            return value;
        }
        std::thread::sleep(POLL);
    }
    match check() {
        Ok(value) => value,
        Err(seen) => panic!("waited {} s for {what}; instead:\n{seen}", deadline.as_secs()),
    }
}

/// A port on 127.0.0.1 that was free a moment ago (bound, then let go for a child to take).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("the bound address").port()
}

/// Appends what a pipe gives, line by line, to `log`.
fn keep_log(pipe: impl Read + Send + 'static, log: Arc<Mutex<String>>, prefix: &'static str) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut buf = log.lock().unwrap_or_else(|e| e.into_inner());
            buf.push_str(prefix);
            buf.push_str(&line);
            buf.push('\n');
        }
    });
}

fn log_text(log: &Arc<Mutex<String>>) -> String {
    log.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The last `n` lines of a log.
pub fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A file of JSON lines that another process appends to, read as it grows: only complete
/// lines are taken, each once.
#[derive(Debug)]
pub struct JsonLines {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    records: Vec<serde_json::Value>,
}

impl JsonLines {
    pub fn new(path: PathBuf) -> JsonLines {
        JsonLines { path, offset: 0, partial: Vec::new(), records: Vec::new() }
    }

    /// Every record so far (the file not existing yet is no record).
    #[track_caller]
    pub fn read(&mut self) -> &[serde_json::Value] {
        use std::io::{Seek, SeekFrom};
        if let Ok(mut file) = std::fs::File::open(&self.path) {
            file.seek(SeekFrom::Start(self.offset)).expect("seek in a sink's file");
            let mut more = Vec::new();
            file.read_to_end(&mut more).expect("read a sink's file");
            self.offset += more.len() as u64;
            self.partial.extend_from_slice(&more);
            while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.partial.drain(..=end).collect();
                let line = &line[..line.len() - 1];
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let value = serde_json::from_slice(line).unwrap_or_else(|e| {
                    panic!("{}: a line that is not JSON ({e}): {}", self.path.display(), String::from_utf8_lossy(line))
                });
                self.records.push(value);
            }
        }
        &self.records
    }
}

/// A Python sink as a child process: started with a port file, stopped with SIGKILL.
#[derive(Debug)]
struct PySink {
    script: &'static str,
    name: String,
    child: Option<Child>,
    /// Where it listens, once started (kept across stops).
    port: u16,
    port_file: PathBuf,
    out_file: PathBuf,
    /// Arguments after PORT_FILE OUT_FILE (and before `--port`).
    args: Vec<String>,
    log: Arc<Mutex<String>>,
}

impl PySink {
    fn new(script: &'static str, dir: &Path, name: &str, args: &[&str]) -> PySink {
        PySink {
            script,
            name: name.to_owned(),
            child: None,
            port: 0,
            port_file: dir.join(format!("{name}.port")),
            out_file: dir.join(format!("{name}.jsonl")),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            log: Arc::new(Mutex::new(String::new())),
        }
    }

    /// Starts it on `port` (0: a free one) and waits until it wrote its port file.
    #[track_caller]
    fn start(&mut self, port: u16) {
        assert!(self.child.is_none(), "{} is running already", self.name);
        let _ = std::fs::remove_file(&self.port_file);
        let mut child = Command::new("python3")
            .arg(self.script)
            .arg(&self.port_file)
            .arg(&self.out_file)
            .args(&self.args)
            .args(["--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.script));
        keep_log(child.stdout.take().unwrap(), self.log.clone(), "");
        keep_log(child.stderr.take().unwrap(), self.log.clone(), "");
        let mut polls = 0;
        let chosen = loop {
            if let Some(port) = std::fs::read_to_string(&self.port_file).ok().and_then(|t| t.trim().parse().ok()) {
                break port;
            }
            if let Some(status) = child.try_wait().expect("wait for a sink") {
                std::thread::sleep(POLL);
                panic!("{} ({}) ended ({status}) before listening:\n{}", self.name, self.script, log_text(&self.log));
            }
            polls += 1;
            if polls >= STARTUP_POLLS {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} wrote no port file within a minute:\n{}", self.name, log_text(&self.log));
            }
            std::thread::sleep(POLL);
        };
        assert!(port == 0 || chosen == port, "{} listens on {chosen}, not {port}", self.name);
        self.port = chosen;
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PySink {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("{}'s last log lines:\n{}", self.name, tail(&log_text(&self.log), 20));
        }
    }
}

/// `smtp_sink.py`: a mail relay on 127.0.0.1 that records every message it accepts, one JSON
/// line per recipient (see the script for the fields).
#[derive(Debug)]
pub struct SmtpSink {
    sink: PySink,
    lines: std::cell::RefCell<JsonLines>,
}

impl SmtpSink {
    /// Starts one on a free port; `options` as the script takes them (`--reject ADDR`,
    /// `--delay SECONDS`, `--brief`). Its files go in `dir`, named after `name`.
    #[track_caller]
    pub fn start(dir: &Path, name: &str, options: &[&str]) -> SmtpSink {
        let mut sink = PySink::new(SMTP_SINK, dir, name, options);
        sink.start(0);
        let lines = std::cell::RefCell::new(JsonLines::new(sink.out_file.clone()));
        SmtpSink { sink, lines }
    }

    pub fn port(&self) -> u16 {
        self.sink.port
    }

    /// `smtp://127.0.0.1:PORT`, for `forewarn serve --smtp`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.sink.port)
    }

    /// Kills it: the relay is down (connections to its port are refused).
    pub fn stop(&mut self) {
        self.sink.stop();
    }

    /// Starts it again on the same port, appending to the same file, with new options.
    #[track_caller]
    pub fn start_again(&mut self, options: &[&str]) {
        self.sink.args = options.iter().map(|a| (*a).to_owned()).collect();
        self.sink.start(self.sink.port);
    }

    /// Everything received so far, in order.
    pub fn records(&self) -> std::cell::Ref<'_, Vec<serde_json::Value>> {
        self.lines.borrow_mut().read();
        std::cell::Ref::map(self.lines.borrow(), |l| &l.records)
    }

    /// The records for one recipient (compared without regard to case).
    pub fn to(&self, recipient: &str) -> Vec<serde_json::Value> {
        self.records()
            .iter()
            .filter(|r| r["rcpt_to"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(recipient)))
            .cloned()
            .collect()
    }

    pub fn log(&self) -> String {
        log_text(&self.sink.log)
    }
}

/// `webhook_sink.py`: an HTTP server on 127.0.0.1 that records every POST with whether its
/// `X-Forewarn-Signature` is right for `secret`.
#[derive(Debug)]
pub struct WebhookSink {
    sink: PySink,
    lines: std::cell::RefCell<JsonLines>,
}

impl WebhookSink {
    #[track_caller]
    pub fn start(dir: &Path, name: &str, secret: &str) -> WebhookSink {
        let mut sink = PySink::new(WEBHOOK_SINK, dir, name, &[secret]);
        sink.start(0);
        let lines = std::cell::RefCell::new(JsonLines::new(sink.out_file.clone()));
        WebhookSink { sink, lines }
    }

    pub fn port(&self) -> u16 {
        self.sink.port
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.sink.port)
    }

    pub fn records(&self) -> std::cell::Ref<'_, Vec<serde_json::Value>> {
        self.lines.borrow_mut().read();
        std::cell::Ref::map(self.lines.borrow(), |l| &l.records)
    }

    pub fn log(&self) -> String {
        log_text(&self.sink.log)
    }
}

/// `forewarn token create` on a database: the token it printed as its last line.
#[track_caller]
pub fn create_token(database: &str, name: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "create", "--name", name, "--database", database])
        .env_remove("FOREWARN_DATABASE")
        .stdin(Stdio::null())
        .output()
        .expect("run forewarn token create");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "forewarn token create failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let token = stdout.lines().last().unwrap_or_default().trim().to_owned();
    assert!(is_token(&token), "the last line of `forewarn token create` is not a token: {stdout}");
    token
}

/// A running `forewarn serve` on a database (a SQLite file, or PostgreSQL that several share)
/// and a port of its own, with an admin token: killed when dropped, and it can be killed with
/// SIGKILL and started again on the same database and port. Its log (stdout and stderr of every start) is kept and its tail shown
/// if a test fails while it runs.
#[derive(Debug)]
pub struct Serve {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `http://127.0.0.1:PORT`: its `--base-url`, what links in mail start with.
    pub base_url: String,
    pub token: String,
    /// `sqlite://PATH` or `postgres://...`.
    pub database: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: Arc<Mutex<String>>,
    /// How often it was started.
    pub starts: u32,
}

impl Serve {
    /// Creates a token on the SQLite file `database` (made if missing), then starts
    /// `forewarn serve --database sqlite://PATH --listen 127.0.0.1:PORT --base-url
    /// http://127.0.0.1:PORT` on a free port, with `args` after those and `env` as its only
    /// `FOREWARN_*` variables (any in the test's own environment are left out); waits until
    /// `/healthz` answers 200.
    #[track_caller]
    pub fn start(database: &Path, args: &[&str], env: &[(&str, &str)]) -> Serve {
        Serve::start_on(&format!("sqlite://{}", database.display()), args, env)
    }

    /// [`Serve::start`] on the database at `url` (`postgres://...`: several may share it).
    #[track_caller]
    pub fn start_on(database: &str, args: &[&str], env: &[(&str, &str)]) -> Serve {
        let database = database.to_owned();
        // The service's clock starts at a fixed time unless the test gives one: no test
        // depends on the day it runs.
        let mut args: Vec<&str> = args.to_vec();
        if !args.contains(&"--now") {
            args.extend(["--now", SERVE_NOW]);
        }
        let token = create_token(&database, "notify tests");
        let mut serve = Serve {
            child: None,
            addr: String::new(),
            base_url: String::new(),
            token,
            database,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            log: Arc::new(Mutex::new(String::new())),
            starts: 0,
        };
        // The port was free a moment ago; another process may take it in between: then again.
        for attempt in 1..=5 {
            let port = free_port();
            serve.addr = format!("127.0.0.1:{port}");
            serve.base_url = format!("http://{}", serve.addr);
            match serve.spawn() {
                Ok(()) => return serve,
                Err(e) if attempt < 5 && e.contains("cannot listen") => continue,
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!()
    }

    /// Starts the process and waits for `/healthz`; the error holds its log.
    fn spawn(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "forewarn serve is running already");
        self.starts += 1;
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(&format!("--- forewarn serve, start {} on {} ---\n", self.starts, self.addr));
        let mut command = Command::new(BIN);
        command.arg("serve").args(["--database", &self.database, "--listen", &self.addr]);
        // Its own address, unless the test gives the one several instances share.
        if !self.args.iter().any(|a| a == "--base-url") {
            command.args(["--base-url", &self.base_url]);
        }
        command.args(&self.args);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("FOREWARN_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("start forewarn serve: {e}"))?;
        keep_log(child.stdout.take().unwrap(), self.log.clone(), "");
        keep_log(child.stderr.take().unwrap(), self.log.clone(), "");
        for _ in 0..STARTUP_POLLS {
            if let Ok(r) = http(&self.addr, "GET", "/healthz", &[], b"")
                && r.status == 200
            {
                self.child = Some(child);
                return Ok(());
            }
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                std::thread::sleep(POLL);
                return Err(format!("forewarn serve ended ({status}) before it was ready:\n{}", tail(&self.log(), 60)));
            }
            std::thread::sleep(POLL);
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("forewarn serve did not answer /healthz within a minute:\n{}", tail(&self.log(), 60)))
    }

    /// The process id of the running service.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("forewarn serve is running").id()
    }

    /// SIGKILL: no shutdown, no cleanup, whatever it was doing.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // std's kill is SIGKILL on Unix.
            child.kill().expect("SIGKILL forewarn serve");
            let status = child.wait().expect("wait for forewarn serve");
            self.log.lock().unwrap_or_else(|e| e.into_inner()).push_str(&format!("--- killed: {status} ---\n"));
        }
    }

    /// The instant its clock starts at (`--now`) from its next start on.
    pub fn set_now(&mut self, now: &str) {
        match self.args.iter().position(|a| a == "--now") {
            Some(i) => self.args[i + 1] = now.to_owned(),
            None => self.args.extend(["--now".to_owned(), now.to_owned()]),
        }
    }

    /// Starts it again on the same database and port (the port may take a moment to be free).
    #[track_caller]
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart: kill it first");
        let mut last = String::new();
        for _ in 0..20 {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if e.contains("cannot listen") => {
                    last = e;
                    std::thread::sleep(POLL * 5);
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("forewarn serve could not listen on {} again:\n{last}", self.addr);
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    #[track_caller]
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
        http(&self.addr, method, path, headers, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A public GET; asserts 200.
    #[track_caller]
    pub fn get(&self, path: &str) -> HttpResponse {
        let r = self.request("GET", path, &[], b"");
        assert_eq!(r.status, 200, "GET {path}: {}", String::from_utf8_lossy(&r.body));
        r
    }

    /// A request with the admin token.
    #[track_caller]
    pub fn admin(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> HttpResponse {
        let auth = format!("Bearer {}", self.token);
        self.request(method, path, &[("Authorization", &auth), ("Content-Type", content_type)], body)
    }

    /// A request with the admin token that must succeed (200 or 201); gives its JSON.
    #[track_caller]
    pub fn admin_ok(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> serde_json::Value {
        let r = self.admin(method, path, content_type, body);
        assert!(
            matches!(r.status, 200 | 201),
            "{method} {path} answered {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        if r.body.is_empty() { serde_json::Value::Null } else { r.json() }
    }

    /// The outbox's messages in a state (`pending`, `sent`, `dead`), as the API lists them:
    /// every page (`limit`, and `before` the smallest id of the page before, newest first).
    #[track_caller]
    pub fn outbox(&self, state: &str) -> Vec<serde_json::Value> {
        const PAGE: usize = 1000;
        let mut all: Vec<serde_json::Value> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut before: Option<i64> = None;
        loop {
            let mut path = format!("/api/v1/outbox?state={state}&limit={PAGE}");
            if let Some(id) = before {
                path.push_str(&format!("&before={id}"));
            }
            let v = self.admin_ok("GET", &path, "application/json", b"");
            let page = v["messages"].as_array().unwrap_or_else(|| panic!("GET {path}: no `messages` list in {v}"));
            let fresh: Vec<&serde_json::Value> = page.iter().filter(|m| seen.insert(m["id"].to_string())).collect();
            all.extend(fresh.iter().map(|m| (*m).clone()));
            if page.len() < PAGE || fresh.is_empty() {
                return all;
            }
            before = page.iter().filter_map(|m| m["id"].as_i64()).min();
            if before.is_none() {
                return all;
            }
        }
    }

    /// A value of `/metrics` by its name with labels, as written there
    /// (`forewarn_outbox_messages{state="pending"}`).
    #[track_caller]
    pub fn metric(&self, series: &str) -> Option<f64> {
        let text = self.get("/metrics").text();
        text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// How many messages of the outbox are in a state, by `/metrics`.
    #[track_caller]
    pub fn outbox_count(&self, state: &str) -> u64 {
        let series = format!("forewarn_outbox_messages{{state=\"{state}\"}}");
        let value = self.metric(&series).unwrap_or_else(|| panic!("no `{series}` in /metrics"));
        value as u64
    }

    pub fn log(&self) -> String {
        log_text(&self.log)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("forewarn serve's last log lines:\n{}", tail(&self.log(), 60));
        }
    }
}

/// An inventory in TOML without the `[[machines]]` element of `id` (up to the next table).
#[track_caller]
pub fn without_machine(inventory: &str, id: &str) -> String {
    let block = format!("[[machines]]\nid = \"{id}\"\n");
    let at = inventory.find(&block).unwrap_or_else(|| panic!("the inventory has no machine {id}"));
    let end = inventory[at + block.len()..].find("[[").map_or(inventory.len(), |i| at + block.len() + i);
    format!("{}{}", &inventory[..at], &inventory[end..])
}
