//! The users the tests log in or run as.

use utmps::Login;

/// A user that exists on every Linux system, for lastlog lookups.
pub const USER: &str = "root";

/// The uid, and gid, of nobody: a caller that is not root.
pub const NOBODY: u32 = 65534;

/// The name of the caller's own user: the one user a non-root caller may log in
/// through wtmpd, and root's name when the tests run as root.
pub fn own_user() -> String {
    // SAFETY: getpwuid returns NULL or a pointer into static storage, copied at once.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        assert!(!pw.is_null(), "the test user has no passwd entry");
        std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned()
    }
}

/// A login on `line` as the caller's own user, whom wtmpd lets any caller log.
pub fn login(line: &str) -> Login {
    static OWN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    Login::new(OWN.get_or_init(own_user).as_str(), line)
}
