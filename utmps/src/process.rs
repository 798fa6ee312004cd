//! Process liveness, as the kernel tells it.

/// Whether a process exists: `Some(false)` only when the kernel says there is no
/// such process; `None` when it cannot be told (pid 0 or negative).
pub fn pid_alive(pid: i32) -> Option<bool> {
    if pid <= 0 {
        return None;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return Some(true);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ESRCH) => Some(false),
        _ => Some(true), // EPERM: it exists, owned by someone else
    }
}
