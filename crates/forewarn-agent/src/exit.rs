//! What an activity's (or the enter hook's) exit status means, as hosting agents use them
//! (`sysexits.h`): 0 done; 75 (`EX_TEMPFAIL`) try again later inside the slot; 69
//! (`EX_UNAVAILABLE`) postpone: the machine asks for another slot; anything else, or death
//! by a signal, failed.

/// `EX_UNAVAILABLE`: postpone the slot.
pub const POSTPONE: i32 = 69;
/// `EX_TEMPFAIL`: try again later inside the slot.
pub const TRY_AGAIN: i32 = 75;

/// What the agent does after a command exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Go on with the next activity.
    Continue,
    /// Run the same command again after a pause, while the slot lasts.
    TryAgain,
    /// Stop; the run is `postponed`.
    Postpone,
    /// Stop; the run is `failed`.
    Fail,
}

/// The meaning of exit status `code` (`None`: killed by a signal).
pub fn next(code: Option<i32>) -> Next {
    match code {
        Some(0) => Next::Continue,
        Some(TRY_AGAIN) => Next::TryAgain,
        Some(POSTPONE) => Next::Postpone,
        _ => Next::Fail,
    }
}

/// At most `max` bytes from the end of `text`, cut at a character boundary.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut from = text.len() - max;
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_mean_what_sysexits_says() {
        assert_eq!(next(Some(0)), Next::Continue);
        assert_eq!(next(Some(75)), Next::TryAgain);
        assert_eq!(next(Some(69)), Next::Postpone);
        for code in [Some(1), Some(2), Some(70), Some(127), Some(-1), None] {
            assert_eq!(next(code), Next::Fail, "{code:?}");
        }
    }

    #[test]
    fn the_tail_is_cut_at_a_character() {
        assert_eq!(tail("abc", 10), "abc");
        assert_eq!(tail("abcdef", 3), "def");
        // "é" is 2 bytes, "€" 3: the last 4 bytes start inside "é".
        assert_eq!(tail("aé€", 4), "€");
        assert_eq!(tail("ééé", 3), "é");
    }
}
