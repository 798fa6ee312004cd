//! Deadlines from timeouts.

use std::time::{Duration, Instant};

/// `now + timeout`. A timeout too large for the clock (`Duration::MAX`, say)
/// means "no practical limit": it is capped at a century instead of panicking.
pub(crate) fn after(timeout: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    let now = Instant::now();
    now.checked_add(timeout.min(CENTURY)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_timeouts_do_not_panic() {
        assert!(after(Duration::MAX) > Instant::now() + Duration::from_secs(3600));
        let d = after(Duration::from_millis(5));
        assert!(d <= Instant::now() + Duration::from_millis(5));
    }
}
