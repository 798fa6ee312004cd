//! File locks taken with a deadline: a non-blocking request retried with a
//! growing pause, never a blocking wait, which would last as long as another
//! process (any local user, for a read lock) cares to hold its lock.
//!
//! They are open-file-description locks (F_OFD_SETLK) on Linux: classic fcntl
//! locks belong to the process, so closing this file would also drop the locks
//! that libxutmp holds on it from another thread. OFD locks still conflict with
//! the classic locks of other processes (glibc's, utmpd's).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::cvt;
use super::deadline::Deadline;

#[cfg(any(target_os = "linux", target_os = "android"))]
const SETLK: libc::c_int = libc::F_OFD_SETLK;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SETLK: libc::c_int = libc::F_SETLK;

/// A held lock, released explicitly when dropped: closing the file is not
/// enough, since a child forked meanwhile shares the open file description and,
/// with it, the lock.
#[derive(Debug)]
pub(crate) struct Locked<'f> {
    file: &'f File,
    fl: libc::flock,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.fl.l_type = libc::F_UNLCK as libc::c_short;
        // SAFETY: an unlock request with a valid flock on an open descriptor.
        unsafe { libc::fcntl(self.file.as_raw_fd(), SETLK, &self.fl) };
    }
}

/// Locks `len` bytes from `start` (`len` 0: to the end of the file, growing with it)
/// until the returned guard is dropped, or gives up with ETIMEDOUT at `deadline`.
pub(crate) fn lock(file: &File, write: bool, start: u64, len: u64, deadline: Deadline) -> io::Result<Locked<'_>> {
    lock_while(file, write, start, len, |pause| Ok(pause.min(deadline.time_left()?)))
}

/// The retry loop under [`lock`]: while the lock is busy, `wait` is asked how
/// long to pause (it is offered the next pause and may shorten it) or answers
/// the error to give up with.
pub(crate) fn lock_while(
    file: &File,
    write: bool,
    start: u64,
    len: u64,
    mut wait: impl FnMut(Duration) -> io::Result<Duration>,
) -> io::Result<Locked<'_>> {
    // SAFETY: zero-initialised plain C struct.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = (if write { libc::F_WRLCK } else { libc::F_RDLCK }) as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = i64::try_from(start).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
    fl.l_len = i64::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
    let mut pause = Duration::from_millis(1);
    loop {
        // SAFETY: a non-blocking lock request with a valid flock on an open descriptor.
        match cvt(unsafe { libc::fcntl(file.as_raw_fd(), SETLK, &fl) }) {
            Ok(_) => return Ok(Locked { file, fl }),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES | libc::EINTR)) => {}
            Err(e) => return Err(e),
        }
        std::thread::sleep(wait(pause)?);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
