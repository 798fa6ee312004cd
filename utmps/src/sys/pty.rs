//! Terminals and the session program's process: a new pty pair, a user's
//! account, and what the program's child process does between fork and exec
//! (a session of its own with the pty as controlling terminal, the user's
//! groups and ids). That last part runs only in a session leader, which has
//! one thread when it forks.

use std::ffi::{CStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use super::cvt;
pub(crate) use super::users::Account;

/// A new pty pair: the master, the slave, and the slave's path (`/dev/pts/3`).
pub(crate) fn open_pty() -> io::Result<(OwnedFd, OwnedFd, PathBuf)> {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: valid out-pointers; a NULL name, termios and window size are allowed.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    cvt(rc)?;
    // SAFETY: openpty returned two new descriptors, owned from here on.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&master, &slave] {
        // SAFETY: F_SETFD on a descriptor we own.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
    }
    let mut name = vec![0 as libc::c_char; 128];
    // SAFETY: `name` is valid for its length; the result is NUL-terminated on success.
    let rc = unsafe { libc::ttyname_r(slave.as_raw_fd(), name.as_mut_ptr(), name.len()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: NUL-terminated by ttyname_r.
    let path = unsafe { CStr::from_ptr(name.as_ptr()) }.to_bytes().to_vec();
    Ok((master, slave, PathBuf::from(OsString::from_vec(path))))
}

/// The account of user `name`; `Ok(None)` when there is none.
pub(crate) fn account(name: &str) -> io::Result<Option<Account>> {
    super::users::account(name.as_bytes()).map_err(io::Error::from_raw_os_error)
}

/// Between fork and exec of the session program, whose standard input is
/// the pty's slave: a session of its own with the pty as its controlling
/// terminal, then `account`'s groups, gid and uid (when this process may
/// change them; a leader that is not root runs the program as itself).
///
/// # Safety
/// To be called only in the child of a fork made by a process with a single
/// thread (a session leader), before exec: it calls `initgroups`, which is not
/// async-signal-safe.
pub(crate) unsafe fn become_session(account: &Account) -> io::Result<()> {
    // SAFETY: no preconditions; the child is not a process group leader.
    cvt(unsafe { libc::setsid() })?;
    // SAFETY: fd 0 is the pty slave; TIOCSCTTY with 0 takes a terminal no
    // other session holds.
    cvt(unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) })?;
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // SAFETY: a NUL-terminated name; the caller's promise of one thread.
        cvt(unsafe { libc::initgroups(account.name.as_ptr(), account.gid) })?;
        // SAFETY: no memory preconditions.
        cvt(unsafe { libc::setgid(account.gid) })?;
        // SAFETY: no memory preconditions.
        cvt(unsafe { libc::setuid(account.uid) })?;
    }
    Ok(())
}

/// Starts `cmd` as a session program running as `account` (see
/// [`become_session`]); its standard input must be the pty's slave.
///
/// Only for a session leader, which has a single thread when it calls this.
pub(crate) fn spawn_session(cmd: &mut std::process::Command, account: Account) -> io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec; the leader
    // that forks has one thread (its waiter threads start after), which is
    // what `become_session` needs.
    unsafe { cmd.pre_exec(move || become_session(&account)) };
    cmd.spawn()
}

/// Points this process's standard output at `/dev/null`, letting go of
/// what it was (a leader's pty slave).
pub(crate) fn release_stdout() -> io::Result<()> {
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    // SAFETY: dup2 onto fd 1 of an open descriptor; `null` is closed after.
    cvt(unsafe { libc::dup2(null.as_raw_fd(), 1) })?;
    Ok(())
}

/// Sends `signal` to the process group `pgid` (a session program and its children).
pub(crate) fn signal_group(pgid: i32, signal: i32) {
    if pgid > 1 {
        // SAFETY: kill has no memory preconditions; a negative pid names a group.
        unsafe { libc::kill(-pgid, signal) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pty_has_a_dev_pts_name_and_root_has_an_account() {
        let (_m, _s, path) = open_pty().unwrap();
        assert!(path.starts_with("/dev/pts/"), "{path:?}");
        let root = account("root").unwrap().unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(account("no-such-user-utmps").unwrap().is_none());
        assert!(account("nul\0inside").unwrap().is_none());
    }
}
