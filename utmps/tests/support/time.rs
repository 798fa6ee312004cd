//! Deadlines, and calls timed on another thread.

use std::time::{Duration, Instant};

/// A deadline `secs` seconds from now.
pub fn in_secs(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

/// A deadline ten seconds from now: ample for one call to a store.
pub fn soon() -> Instant {
    in_secs(10)
}

/// Runs `f` on another thread and returns its result and how long it took.
pub fn timed_on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (T, Duration) {
    std::thread::spawn(move || {
        let start = Instant::now();
        let out = f();
        (out, start.elapsed())
    })
    .join()
    .unwrap()
}
