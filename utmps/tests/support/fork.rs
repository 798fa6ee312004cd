//! Runs a closure in a forked child with other credentials. Tests run as root,
//! and the daemons judge a client by the effective ids it had at connect(), so
//! a non-root client must be a separate process.

use std::time::{Duration, Instant};

use utmps::{ErrorKind, PermissionRule};

/// Exit codes of children that report an `utmps::Result`.
pub const OK: u8 = 0;
pub const EPERM_UTMPD_GROUP: u8 = 10;
pub const EPERM_WTMPD_USER: u8 = 11;
pub const EPERM_FILE: u8 = 12;
pub const UNAVAILABLE: u8 = 13;
pub const OTHER: u8 = 20;

pub fn outcome<T>(r: utmps::Result<T>) -> u8 {
    match r {
        Ok(_) => OK,
        Err(e) => match (e.kind(), e.permission_rule()) {
            (ErrorKind::Permission, Some(PermissionRule::UtmpdGroup)) => EPERM_UTMPD_GROUP,
            (ErrorKind::Permission, Some(PermissionRule::WtmpdUser)) => EPERM_WTMPD_USER,
            (ErrorKind::Permission, Some(PermissionRule::File)) => EPERM_FILE,
            (ErrorKind::Unavailable, _) => UNAVAILABLE,
            _ => OTHER,
        },
    }
}

/// Runs `f` as `uid`, with effective, real and saved gid `gid` and the given
/// supplementary groups, in a forked child; returns its exit code. The child
/// ends with `_exit`, so nothing of the parent (test harness, peers) runs in it.
pub fn as_user(uid: u32, gid: u32, groups: &[u32], f: impl FnOnce() -> u8) -> u8 {
    let groups: Vec<libc::gid_t> = groups.to_vec();
    // SAFETY: the child only calls set*id, then `f`, then _exit; it never
    // returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: valid pointer and length; the ids are plain integers.
            unsafe {
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                    return 250;
                }
                if libc::setresgid(gid, gid, gid) != 0 {
                    return 251;
                }
                if libc::setresuid(uid, uid, uid) != 0 {
                    return 252;
                }
            }
            f()
        }))
        .unwrap_or(249);
        // SAFETY: ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(i32::from(code)) };
    }
    wait(pid, Duration::from_secs(30))
}

fn wait(pid: libc::pid_t, limit: Duration) -> u8 {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: our own child, a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            assert!(libc::WIFEXITED(status), "child ended by a signal: {status:#x}");
            return libc::WEXITSTATUS(status) as u8;
        }
        assert_eq!(rc, 0, "waitpid: {}", std::io::Error::last_os_error());
        if start.elapsed() > limit {
            // SAFETY: our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("child {pid} hung for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Forks a child that holds a POSIX lock on `path` until it is killed.
pub struct LockHolder {
    pid: libc::pid_t,
}

impl LockHolder {
    pub fn hold(path: &std::path::Path, write: bool) -> LockHolder {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
        let mut fds = [0; 2];
        // SAFETY: a valid array of two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let (rd, wr) = (fds[0], fds[1]);
        // SAFETY: the child only calls fcntl, write, pause and _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: zeroed flock is valid; async-signal-safe calls only.
            unsafe {
                let mut fl: libc::flock = std::mem::zeroed();
                fl.l_type = (if write { libc::F_WRLCK } else { libc::F_RDLCK }) as libc::c_short;
                fl.l_whence = libc::SEEK_SET as libc::c_short;
                let ok: u8 = if libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) == 0 { 1 } else { 0 };
                libc::write(wr, (&ok as *const u8).cast(), 1);
                loop {
                    libc::pause();
                }
            }
        }
        let mut ok = 0u8;
        // SAFETY: reading one byte into a valid buffer; closing our pipe ends.
        unsafe {
            libc::close(wr);
            assert_eq!(libc::read(rd, (&mut ok as *mut u8).cast(), 1), 1);
            libc::close(rd);
        }
        assert_eq!(ok, 1, "the child could not take the lock");
        LockHolder { pid }
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let mut status = 0;
        // SAFETY: our own child.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, &mut status, 0);
        }
    }
}
