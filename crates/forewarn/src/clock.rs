//! The one place forewarn reads the clock; everything else takes time as a parameter.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

/// A stopwatch for reporting how long a command took.
pub fn stopwatch() -> Instant {
    Instant::now()
}

/// The current time.
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// The system clock, for the service.
#[derive(Debug)]
pub struct SystemClock {
    started: Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock { started: Instant::now() }
    }
}

impl forewarn_server::Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    fn monotonic(&self) -> Duration {
        self.started.elapsed()
    }
}
