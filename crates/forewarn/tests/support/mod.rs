//! What the end-to-end tests of the service share: `forewarn demo` as a child process (killed
//! when dropped, even on panic), a tiny HTTP/1.1 client over `std::net::TcpStream` (loopback
//! only), and the skip-or-fail rule for tools a machine may lack.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
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

/// A fresh directory under the system's temporary directory, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
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
    /// Starts `forewarn demo --listen 127.0.0.1:0` and reads its stdout up to the token line.
    pub fn start() -> Demo {
        let tmp = TempDir::new("forewarn-demo-test");
        let mut child = Command::new(BIN)
            .args(["demo", "--listen", "127.0.0.1:0"])
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
