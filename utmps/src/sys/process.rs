//! Facts about processes, as the kernel tells them.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, Ordering};

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

/// The socket a SIGTERM shuts for reading, or -1.
static SHUT_ON_TERM: AtomicI32 = AtomicI32::new(-1);

extern "C" fn shut_for_reading(_: libc::c_int) {
    let fd = SHUT_ON_TERM.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: shutdown is async-signal-safe and takes no pointer.
        unsafe { libc::shutdown(fd, libc::SHUT_RD) };
    }
}

/// From now on a SIGTERM shuts `sock` for reading instead of ending the
/// process: a blocked or later read of it sees the end of the stream. For a
/// process that lives as long as `sock`; a program it executes gets the
/// default action back (execve resets handled signals).
pub(crate) fn shut_on_sigterm(sock: BorrowedFd<'_>) -> io::Result<()> {
    SHUT_ON_TERM.store(sock.as_raw_fd(), Ordering::Relaxed);
    // SAFETY: an all-zero sigaction is valid (an empty mask, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = shut_for_reading as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // Other calls a SIGTERM interrupts (PAM's, a wait) go on.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: a valid signal number and action; the old action is not asked for.
    cvt(unsafe { libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut()) }).map(drop)
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
