//! One test at a time, for the binaries whose tests must not overlap.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use utmps::Accounting;

static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the binary's one test lock until dropped. A test that failed while
/// holding it poisons it; the others still run, one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// [`serial`], then waits (up to 60 s) until no take-back of an earlier test
/// is left: they belong to the process, and `wait_for_take_backs` waits for
/// them all.
pub fn serial_after_take_backs() -> MutexGuard<'static, ()> {
    let guard = serial();
    assert!(Accounting::wait_for_take_backs(Duration::from_secs(60)), "take-backs of an earlier test still running");
    guard
}
