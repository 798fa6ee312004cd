//! Skips: one way to report a check that did not run (`skipped!`), the skips
//! that `UTMPS_TEST_NO_SKIP=1` turns into failures, and the root check.

/// Says that a check was skipped, and why, where the test log shows it: written
/// to the process's stderr directly, which the test harness does not capture
/// (`println!` and `eprintln!` output is captured, and a skip would read as a pass).
#[macro_export]
macro_rules! skipped {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Reports that a check needing a capability of the machine (root, mounting)
/// was skipped. Where the machine is known to have it, `UTMPS_TEST_NO_SKIP=1`
/// (set by ci/test.sh) turns the skip into a failure, so that a CI machine that
/// lost the capability cannot pass those checks silently.
pub fn capability_skip(message: &str) {
    if std::env::var_os("UTMPS_TEST_NO_SKIP").is_some_and(|v| v == "1") {
        panic!("{message} (and UTMPS_TEST_NO_SKIP=1 says this machine must run it)");
    }
    crate::skipped!("{message}");
}

/// True when this process runs as root; otherwise reports `test` as skipped.
/// For tests that switch credentials (setresuid/setresgid/setgroups) or act on
/// other users' behalf, which only root may do.
pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        capability_skip(&format!("SKIPPED {test}: needs root to switch credentials"));
    }
    root
}
