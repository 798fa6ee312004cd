//! Deadlines: a point in time every step of one operation ends by.

use std::io;
use std::time::{Duration, Instant};

/// When an operation must be over. Each step asks what is [`remaining`](Self::remaining)
/// rather than carrying a timeout of its own, so that the steps of one operation
/// share one limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Deadline(Instant);

/// The error every deadline in this crate ends with.
pub(crate) fn timed_out() -> io::Error {
    io::Error::from_raw_os_error(libc::ETIMEDOUT)
}

impl Deadline {
    /// `now + timeout`. A timeout too large for the clock (`Duration::MAX`, say)
    /// means "no practical limit": it is capped at a century instead of panicking.
    pub(crate) fn after(timeout: Duration) -> Deadline {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        let now = Instant::now();
        Deadline(now.checked_add(timeout.min(CENTURY)).unwrap_or(now))
    }

    /// The instant itself, for APIs that take one.
    pub(crate) fn instant(self) -> Instant {
        self.0
    }

    /// The time left; zero once the deadline has passed.
    pub(crate) fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// True once the deadline has passed.
    pub(crate) fn expired(self) -> bool {
        self.remaining().is_zero()
    }

    /// The time left, never zero, or ETIMEDOUT once the deadline has passed:
    /// what a step that is about to wait asks.
    pub(crate) fn time_left(self) -> io::Result<Duration> {
        match self.remaining() {
            left if left.is_zero() => Err(timed_out()),
            left => Ok(left),
        }
    }
}

impl From<Instant> for Deadline {
    fn from(at: Instant) -> Deadline {
        Deadline(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_timeouts_do_not_panic() {
        assert!(Deadline::after(Duration::MAX).instant() > Instant::now() + Duration::from_secs(3600));
        let d = Deadline::after(Duration::from_millis(5));
        assert!(d.instant() <= Instant::now() + Duration::from_millis(5));
    }

    #[test]
    fn a_passed_deadline_has_nothing_left() {
        let past = Deadline::from(Instant::now() - Duration::from_millis(1));
        assert!(past.expired());
        assert_eq!(past.remaining(), Duration::ZERO);
        assert_eq!(past.time_left().unwrap_err().raw_os_error(), Some(libc::ETIMEDOUT));
        let later = Deadline::after(Duration::from_secs(60));
        assert!(!later.expired());
        let left = later.time_left().unwrap();
        assert!(left > Duration::from_secs(59) && left <= Duration::from_secs(60), "{left:?}");
    }
}
