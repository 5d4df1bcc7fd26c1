//! What keeps anonymous clients from exhausting the service: password checks (argon2, 19 MiB
//! each) run a few at a time, with a short queue, and login attempts are counted per client
//! address and per operator name in fixed windows of the service's monotonic clock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Login attempts one client address may make per window.
pub const LOGINS_PER_ADDRESS: u32 = 10;
/// Login attempts one operator name may receive per window.
pub const LOGINS_PER_NAME: u32 = 10;
/// The window of both login limits.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// Keys a limiter keeps at most; past it, windows that ended are dropped, then all.
const MAX_KEYS: usize = 10_000;

/// The client's address, as the connection gives it (`serve` adds it); in-process requests
/// (tests) have none and share one key.
pub(crate) fn client_address(connection: Option<&axum::extract::ConnectInfo<SocketAddr>>) -> String {
    connection.map_or_else(|| "local".to_owned(), |c| c.0.ip().to_string())
}

/// Counts hits per key in fixed windows.
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Duration, u32)>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> RateLimiter {
        RateLimiter { max, window, hits: Mutex::new(HashMap::new()) }
    }

    /// Counts a hit of `key` at `now` (a monotonic reading): `Err(wait)` when the key had its
    /// `max` in this window already, with the time until the window ends.
    pub fn hit(&self, key: &str, now: Duration) -> Result<(), Duration> {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() >= MAX_KEYS && !hits.contains_key(key) {
            hits.retain(|_, (began, _)| now.saturating_sub(*began) < self.window);
            if hits.len() >= MAX_KEYS {
                hits.clear();
            }
        }
        let entry = hits.entry(key.to_owned()).or_insert((now, 0));
        if now.saturating_sub(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return Err(self.window.saturating_sub(now.saturating_sub(entry.0)).max(Duration::from_secs(1)));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// The guards of `POST /admin/login`.
#[derive(Debug)]
pub struct Logins {
    /// Password checks running at once: about the number of cores.
    pub checks: tokio::sync::Semaphore,
    /// Password checks waiting for a permit; past [`Logins::queue`], a login is refused with 503.
    pub waiting: AtomicUsize,
    pub queue: usize,
    pub by_address: RateLimiter,
    pub by_name: RateLimiter,
}

impl Default for Logins {
    fn default() -> Logins {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Logins {
            checks: tokio::sync::Semaphore::new(cores),
            waiting: AtomicUsize::new(0),
            queue: cores * 8,
            by_address: RateLimiter::new(LOGINS_PER_ADDRESS, LOGIN_WINDOW),
            by_name: RateLimiter::new(LOGINS_PER_NAME, LOGIN_WINDOW),
        }
    }
}

impl Logins {
    /// A permit to check a password, waiting in the queue; `None` when the queue is full.
    pub async fn check_permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        if let Ok(p) = self.checks.try_acquire() {
            return Some(p);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let permit = self.checks.acquire().await.ok();
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_max_per_window_then_waits_for_the_next() {
        let l = RateLimiter::new(3, Duration::from_secs(60));
        let t = Duration::from_secs(1000);
        for _ in 0..3 {
            assert_eq!(l.hit("a", t), Ok(()));
        }
        assert_eq!(l.hit("a", t + Duration::from_secs(15)), Err(Duration::from_secs(45)));
        assert_eq!(l.hit("b", t), Ok(()), "another key has its own count");
        assert_eq!(l.hit("a", t + Duration::from_secs(60)), Ok(()), "a new window");
    }

    #[test]
    fn keys_stay_bounded() {
        let l = RateLimiter::new(1, Duration::from_secs(60));
        for i in 0..(MAX_KEYS + 10) {
            let _ = l.hit(&i.to_string(), Duration::from_secs(1));
        }
        assert!(l.hits.lock().unwrap().len() <= MAX_KEYS);
    }

    #[tokio::test]
    async fn password_checks_queue_then_are_refused() {
        let l = Logins { checks: tokio::sync::Semaphore::new(1), queue: 0, ..Logins::default() };
        let held = l.check_permit().await.expect("the first gets a permit");
        assert!(l.check_permit().await.is_none(), "no room in the queue");
        drop(held);
        assert!(l.check_permit().await.is_some());
    }
}
