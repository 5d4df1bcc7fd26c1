//! Throwaway databases for tests (this crate's, and behind the `testing` feature other
//! crates'): a temporary directory for SQLite files, and a PostgreSQL cluster made with
//! the system's `initdb` and `postgres` in one, listening on a free loopback port, stopped
//! and removed on drop. PostgreSQL refuses to run as root, so as root both run as the
//! `postgres` user (Debian's postgresql package creates it) through `runuser`.
//!
//! Without the binaries, [`TestPostgres::start`] says the test was skipped and gives
//! `None`, unless the environment variable `CI` is `true`: then it fails the test.

use std::fs::File;
use std::io::{self, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

/// A new directory under the system's temporary directory (`PREFIX-` and a random name, by
/// the tempfile crate), removed with all it holds on drop.
#[derive(Debug)]
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(prefix: &str) -> io::Result<TempDir> {
        tempfile::Builder::new().prefix(&format!("{prefix}-")).tempdir().map(TempDir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// `sqlite://DIR/NAME`: a database file in this directory (created on open).
    pub fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.path().join(name).display())
    }
}

/// The directory holding `initdb` and `postgres`: the first in `PATH` that has both, else
/// the newest `/usr/lib/postgresql/*/bin` (where Debian puts them).
pub fn postgres_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_both(dir)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A running throwaway PostgreSQL cluster with a database `forewarn`; stopped and removed
/// on drop.
#[derive(Debug)]
pub struct TestPostgres {
    server: Child,
    port: u16,
    url: String,
    data: PathBuf,
    /// Where `postgres` is, and whether it runs as the `postgres` user: to start it again.
    bin: PathBuf,
    as_postgres: bool,
    // Last, so that the directory goes after the server has stopped.
    _dir: TempDir,
}

const SKIPPED: &str = "skipped: PostgreSQL binaries (initdb, postgres) not found";

impl TestPostgres {
    /// Starts a cluster. `None` after printing "skipped: ..." when the binaries are not
    /// there; panics, saying why, when they are not there and `CI` is `true`, or when the
    /// cluster does not start.
    pub async fn start() -> Option<TestPostgres> {
        let Some(bin) = postgres_binaries() else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "PostgreSQL binaries (initdb, postgres) not found in PATH nor in /usr/lib/postgresql/*/bin, \
                     and CI is true, so the PostgreSQL tests must run: install them (Debian: \
                     `apt-get install postgresql`, as .ci/test does)"
                );
            }
            // Straight to stderr, past the test harness's capture, so the skip is seen.
            let _ = writeln!(io::stderr(), "{SKIPPED}");
            return None;
        };
        match Self::start_with(&bin).await {
            Ok(pg) => Some(pg),
            Err(e) => panic!("cannot start a throwaway PostgreSQL cluster with {}: {e}", bin.display()),
        }
    }

    async fn start_with(bin: &Path) -> Result<TestPostgres, String> {
        let as_postgres = euid()? == 0;
        let dir = TempDir::new("forewarn-pg").map_err(|e| format!("cannot make a temporary directory: {e}"))?;
        if as_postgres {
            run(Command::new("chown").arg("postgres").arg(dir.path()), "chown")
                .map_err(|e| format!("{e} (running as root, PostgreSQL runs as the `postgres` user)"))?;
        }
        let data = dir.path().join("data");
        let initdb = bin.join("initdb");
        let mut init = command(as_postgres, &initdb);
        init.arg("-D").arg(&data).args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        run(&mut init, "initdb")?;

        // A free port is only free until someone takes it: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let log_path = dir.path().join(format!("postgres-{port}.log"));
            let mut server = spawn_server(bin, as_postgres, &data, dir.path(), port)?;
            let admin = database_url(port, "postgres");
            match wait_until_ready(&mut server, &admin).await {
                Ok(()) => {
                    let url = database_url(port, "forewarn");
                    let bin = bin.to_owned();
                    let pg = TestPostgres { server, port, url, data, bin, as_postgres, _dir: dir };
                    pg.create_database("forewarn").await?;
                    return Ok(pg);
                }
                Err(e) => {
                    stop(&mut server, &data);
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    last = format!("{e}; its log:\n{log}");
                    if !(log.contains("could not bind") || log.contains("in use")) {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    /// Stops the server as `pg_ctl stop -m fast` does (SIGINT: sessions are ended, the
    /// database shut down cleanly) and waits until it has: clients find it gone.
    pub fn stop(&mut self) {
        // The postmaster's own id: as root, the child is `runuser`.
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next().map(str::to_owned))
            .unwrap_or_else(|| self.server.id().to_string());
        let _ = Command::new("kill").args(["-INT", &pid]).stderr(Stdio::null()).status();
        for _ in 0..1200 {
            if let Ok(Some(_)) = self.server.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("postgres did not stop within 30 s of SIGINT");
    }

    /// Starts the server again after [`TestPostgres::stop`], on the same port and data, and
    /// waits until it accepts connections.
    pub async fn start_again(&mut self) -> Result<(), String> {
        let dir = self.data.parent().ok_or("the data directory has no parent")?.to_owned();
        self.server = spawn_server(&self.bin, self.as_postgres, &self.data, &dir, self.port)?;
        let admin = self.database_url("postgres");
        wait_until_ready(&mut self.server, &admin).await
    }

    /// The URL of the database `forewarn`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates another (empty) database and gives its URL.
    pub async fn create_database(&self, name: &str) -> Result<String, String> {
        let admin = self.database_url("postgres");
        let mut conn = PgConnection::connect(&admin).await.map_err(|e| format!("cannot connect to {admin}: {e}"))?;
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .map_err(|e| format!("cannot create database {name}: {e}"))?;
        let _ = conn.close().await;
        Ok(self.database_url(name))
    }

    /// Creates a schema in the database `forewarn` and gives a URL whose connections
    /// work in it (`search_path`): a fresh, empty place, much quicker to make than a
    /// database.
    pub async fn create_schema(&self, name: &str) -> Result<String, String> {
        let mut conn =
            PgConnection::connect(&self.url).await.map_err(|e| format!("cannot connect to {}: {e}", self.url))?;
        conn.execute(format!("CREATE SCHEMA \"{name}\"").as_str())
            .await
            .map_err(|e| format!("cannot create schema {name}: {e}"))?;
        let _ = conn.close().await;
        Ok(format!("{}?options=-c%20search_path%3D{name}", self.url))
    }

    fn database_url(&self, name: &str) -> String {
        database_url(self.port, name)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        stop(&mut self.server, &self.data);
    }
}

/// Runs `postgres` on `data` at 127.0.0.1:`port` (its socket and log in `dir`), tuned for
/// tests: nothing is synced.
fn spawn_server(bin: &Path, as_postgres: bool, data: &Path, dir: &Path, port: u16) -> Result<Child, String> {
    let log_path = dir.join(format!("postgres-{port}.log"));
    let log = File::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let mut postgres = command(as_postgres, &bin.join("postgres"));
    postgres
        .arg("-D")
        .arg(data)
        .arg("-k")
        .arg(dir)
        .args(["-p", &port.to_string(), "-h", "127.0.0.1"])
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    postgres.spawn().map_err(|e| format!("cannot run postgres: {e}"))
}

fn database_url(port: u16, name: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{name}")
}

async fn wait_until_ready(server: &mut Child, url: &str) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..300 {
        if let Ok(Some(status)) = server.try_wait() {
            return Err(format!("postgres exited ({status})"));
        }
        match PgConnection::connect(url).await {
            Ok(conn) => {
                let _ = conn.close().await;
                return Ok(());
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("postgres did not accept connections within 15 s: {last}"))
}

/// Immediate shutdown (SIGQUIT to the postmaster), then waits for the server to exit.
fn stop(server: &mut Child, data: &Path) {
    let pid = std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| server.id().to_string());
    let _ = Command::new("kill").args(["-QUIT", &pid]).stderr(Stdio::null()).status();
    for _ in 0..200 {
        if let Ok(Some(_)) = server.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// `program`, as the `postgres` user when `as_postgres`.
fn command(as_postgres: bool, program: &Path) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

fn euid() -> Result<u32, String> {
    let out = Command::new("id").arg("-u").output().map_err(|e| format!("cannot run `id -u`: {e}"))?;
    String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|e| format!("`id -u` said no number: {e}"))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
