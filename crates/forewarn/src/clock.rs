//! The one place forewarn reads the clock; everything else takes time as a parameter.
#![allow(clippy::disallowed_methods)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A stopwatch for reporting how long a command took.
pub fn stopwatch() -> Instant {
    Instant::now()
}

/// The current time.
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// The service's clock: the system's, or one that starts at a given instant and runs on at
/// the normal pace from there (`--now`, for rehearsals and for tests that must not depend on
/// the day they run). The demo also pins it while it tells its story, so that what happened
/// "yesterday" is stored with yesterday's times.
#[derive(Debug)]
pub struct SystemClock {
    started: Instant,
    /// Where the clock started, when not at the system's time.
    origin: Option<jiff::Timestamp>,
    /// A fixed instant that `now` gives until unpinned.
    pinned: Mutex<Option<jiff::Timestamp>>,
}

impl SystemClock {
    /// The system's clock.
    pub fn new() -> SystemClock {
        SystemClock { started: Instant::now(), origin: None, pinned: Mutex::new(None) }
    }

    /// A clock that reads `origin` now and runs on from there; the system's when `None`.
    pub fn starting_at(origin: Option<jiff::Timestamp>) -> SystemClock {
        SystemClock { origin, ..SystemClock::new() }
    }

    /// Stops the clock at `at` (until `pin(None)`), which may lie in the past.
    pub fn pin(&self, at: Option<jiff::Timestamp>) {
        *self.pinned.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl forewarn_server::Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        if let Some(at) = *self.pinned.lock().unwrap_or_else(|e| e.into_inner()) {
            return at;
        }
        match self.origin {
            Some(origin) => {
                let elapsed =
                    jiff::SignedDuration::try_from(self.started.elapsed()).unwrap_or(jiff::SignedDuration::MAX);
                origin.checked_add(elapsed).unwrap_or(jiff::Timestamp::MAX)
            }
            None => jiff::Timestamp::now(),
        }
    }

    fn monotonic(&self) -> Duration {
        self.started.elapsed()
    }
}
