//! The one place forewarn reads the clock; everything else takes time as a parameter.
#![allow(clippy::disallowed_methods)]

/// A stopwatch for reporting how long a command took.
pub fn stopwatch() -> std::time::Instant {
    std::time::Instant::now()
}
