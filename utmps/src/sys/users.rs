//! Users: names to uids, for lastlog and for the wtmp user rule, and this
//! process's own effective ids.

use std::ffi::{CStr, CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use super::deadline::Deadline;

/// The uid of user `name`: `Ok(None)` when there is no such user, `Err(errno)`
/// when the user database could not be read. getpwnam_r: callers run on
/// many threads. The lookup goes through NSS and has no deadline of ours:
/// [`uid_of_by`] gives it one.
pub(crate) fn uid_of(name: &[u8]) -> Result<Option<u32>, i32> {
    account(name).map(|a| a.map(|a| a.uid))
}

/// What a user's passwd entry says: what a session program runs as.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) name: CString,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) home: PathBuf,
    pub(crate) shell: PathBuf,
}

/// The account of user `name`, as [`uid_of`] looks it up.
pub(crate) fn account(name: &[u8]) -> Result<Option<Account>, i32> {
    let Ok(name) = CString::new(name) else {
        return Ok(None);
    };
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        // SAFETY: plain C struct, zero is a valid value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: NUL-terminated name, valid out-pointers, `buf` valid for its length.
        let rc = unsafe { libc::getpwnam_r(name.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
        match rc {
            0 if found.is_null() => return Ok(None),
            0 => {
                let text = |p: *const libc::c_char| match p.is_null() {
                    true => PathBuf::new(),
                    // SAFETY: a NUL-terminated string inside `buf`.
                    false => PathBuf::from(OsString::from_vec(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())),
                };
                let (home, shell) = (text(pwd.pw_dir), text(pwd.pw_shell));
                return Ok(Some(Account { name, uid: pwd.pw_uid, gid: pwd.pw_gid, home, shell }));
            }
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 2, 0),
            // Some C libraries report "no such user" as an error; musl, which
            // the real wtmpd runs on, does not.
            libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => return Ok(None),
            errno => return Err(errno),
        }
    }
}

/// Lookups whose callers gave up on them and that still run.
static STRANDED_LOOKUPS: AtomicUsize = AtomicUsize::new(0);

/// As [`uid_of`], within `deadline`: the lookup runs on a thread of its own,
/// so that a user database that hangs (an NSS module waiting for a directory
/// server) cannot hold the caller past its deadline; a lookup given up on is
/// left to finish on its thread. `ETIMEDOUT` at the deadline, and at once
/// while an earlier lookup given up on is still running: the database is
/// hanging, and each caller would only wait out its own deadline.
pub(crate) fn uid_of_by(name: &[u8], deadline: Deadline) -> Result<Option<u32>, i32> {
    let name = name.to_vec();
    within(&STRANDED_LOOKUPS, deadline, move || uid_of(&name)).unwrap_or(Err(libc::ETIMEDOUT))
}

/// Runs `lookup` on a thread of its own and waits for it until `deadline`:
/// `None` when it did not finish by then, or when a lookup counted in
/// `stranded` (one given up on earlier) has not finished yet. With no thread
/// to be had, runs it here.
fn within<T: Send + 'static>(
    stranded: &'static AtomicUsize,
    deadline: Deadline,
    lookup: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    if stranded.load(Ordering::SeqCst) > 0 {
        return None;
    }
    let (tx, rx) = mpsc::sync_channel(1);
    // Whether the caller gave up; the answer is sent, or the lookup counted
    // as stranded, under this lock, so that neither side misses the other.
    let given_up = Arc::new(Mutex::new(false));
    let thread_given_up = Arc::clone(&given_up);
    let lookup = Arc::new(Mutex::new(Some(lookup)));
    let thread_lookup = Arc::clone(&lookup);
    let spawned = std::thread::Builder::new().name("utmps-user-lookup".into()).spawn(move || {
        let Some(lookup) = thread_lookup.lock().unwrap_or_else(|p| p.into_inner()).take() else { return };
        // A lookup that panics still gets its bookkeeping done; its caller
        // sees the channel close without an answer.
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(lookup));
        let given_up = thread_given_up.lock().unwrap_or_else(|p| p.into_inner());
        match (*given_up, found) {
            (true, _) => {
                stranded.fetch_sub(1, Ordering::SeqCst);
            }
            (false, Ok(found)) => drop(tx.send(found)),
            (false, Err(_)) => {}
        }
    });
    if spawned.is_err() {
        // A closure handed to a spawn that failed is still here.
        let lookup = lookup.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        return Some(lookup());
    }
    match rx.recv_timeout(deadline.remaining()) {
        Ok(found) => return Some(found),
        // The lookup ended without an answer (it panicked): nothing runs on.
        Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        Err(mpsc::RecvTimeoutError::Timeout) => {}
    }
    let mut given_up = given_up.lock().unwrap_or_else(|p| p.into_inner());
    // The lookup may have ended just now.
    match rx.try_recv() {
        Ok(found) => return Some(found),
        Err(mpsc::TryRecvError::Disconnected) => return None,
        Err(mpsc::TryRecvError::Empty) => {}
    }
    *given_up = true;
    stranded.fetch_add(1, Ordering::SeqCst);
    None
}

/// True when the effective uid is root's.
pub(crate) fn is_root() -> bool {
    effective_ids().0 == 0
}

/// This process's effective user and group ids: those the daemons judge it by.
pub(crate) fn effective_ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid have no preconditions.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::{Duration, Instant};

    #[test]
    fn root_is_uid_zero_and_strangers_are_nobody() {
        assert_eq!(uid_of(b"root"), Ok(Some(0)));
        assert_eq!(uid_of(b""), Ok(None));
        assert_eq!(uid_of(b"no-such-user-utmps"), Ok(None));
        let soon = || Deadline::after(Duration::from_secs(10));
        assert_eq!(uid_of_by(b"root", soon()), Ok(Some(0)));
        assert_eq!(uid_of_by(b"no-such-user-utmps", soon()), Ok(None));
    }

    /// A lookup that panics: `None` for its caller, and nothing counted as
    /// still running.
    #[test]
    fn a_panicking_lookup_leaves_nothing_stranded() {
        static STRANDED: AtomicUsize = AtomicUsize::new(0);
        let soon = || Deadline::after(Duration::from_secs(10));
        assert_eq!(within(&STRANDED, soon(), || -> u8 { panic!("a lookup that fails") }), None);
        assert_eq!(STRANDED.load(Ordering::SeqCst), 0);
        assert_eq!(within(&STRANDED, soon(), || 7), Some(7));
    }

    /// A lookup that hangs: its caller gets `None` at the deadline; later
    /// callers get `None` at once while it still runs, and answers again once
    /// it has finished.
    #[test]
    fn a_hanging_lookup_is_given_up_at_the_deadline_and_holds_up_no_one_after() {
        static STRANDED: AtomicUsize = AtomicUsize::new(0);
        let (release, hold) = mpsc::channel::<()>();
        let (finished, done) = mpsc::channel::<()>();
        let started = Instant::now();
        let hung = within(&STRANDED, Deadline::after(Duration::from_millis(200)), move || {
            let _ = hold.recv();
            let _ = finished.send(());
        });
        let took = started.elapsed();
        assert!(hung.is_none());
        assert!(took >= Duration::from_millis(190) && took < Duration::from_secs(2), "gave up after {took:?}");

        let started = Instant::now();
        assert_eq!(within(&STRANDED, Deadline::after(Duration::from_secs(10)), || 7), None);
        assert!(started.elapsed() < Duration::from_millis(100), "waited though a lookup hangs");

        release.send(()).unwrap();
        done.recv_timeout(Duration::from_secs(10)).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while STRANDED.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(within(&STRANDED, Deadline::after(Duration::from_secs(10)), || 7), Some(7));
    }
}
