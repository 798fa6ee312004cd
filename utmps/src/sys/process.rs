//! Facts about processes, as the kernel tells them.

use super::cvt;

/// Whether a process exists: `Some(false)` only when the kernel says there is no
/// such process; `None` when it cannot be told (pid 0 or negative).
pub fn pid_alive(pid: i32) -> Option<bool> {
    if pid <= 0 {
        return None;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    match cvt(unsafe { libc::kill(pid, 0) }) {
        Ok(_) => Some(true),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Some(false),
        Err(_) => Some(true), // EPERM: it exists, owned by someone else
    }
}

/// The session id of process `pid`; 0 when it cannot be told (no such process,
/// or one in another session that the system does not disclose).
pub(crate) fn session_of(pid: i32) -> i32 {
    // SAFETY: getsid has no memory-safety preconditions; -1 means unknown.
    unsafe { libc::getsid(pid) }.max(0)
}

/// How long the system has been up, suspended time included (CLOCK_BOOTTIME).
pub(crate) fn since_boot() -> Option<std::time::Duration> {
    // SAFETY: plain C struct, zero is a valid value.
    let mut up: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and out-pointer.
    cvt(unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut up) }).ok()?;
    let secs = u64::try_from(up.tv_sec).ok()?;
    let nanos = u32::try_from(up.tv_nsec).ok()?;
    Some(std::time::Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_session_and_none_has_no_pid() {
        let me = i32::try_from(std::process::id()).unwrap();
        // SAFETY: getsid(0) asks about the calling process.
        assert_eq!(session_of(me), unsafe { libc::getsid(0) }.max(0));
        assert_eq!(session_of(-1), 0);
    }
}
