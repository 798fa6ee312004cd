//! The async API never blocks a tokio runtime: a ticker task keeps ticking while
//! an open times out against a silent daemon and while a dropped session waits
//! for a held file lock; a cancelled open leaves no live entry. Each test runs on
//! a current-thread runtime and on a multi-thread runtime with one worker.

mod support;

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::Files;
use utmps::peer::Peer;
use utmps::{Accounting, ErrorKind, Login};

fn runtimes() -> Vec<(&'static str, tokio::runtime::Runtime)> {
    let current = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_time().build().unwrap();
    vec![("current-thread", current), ("multi-thread", multi)]
}

/// A task that counts 50 ms ticks: it only advances while the runtime's worker is free.
fn ticker() -> Arc<AtomicU32> {
    let ticks = Arc::new(AtomicU32::new(0));
    let counter = ticks.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(50));
        loop {
            interval.tick().await;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    ticks
}

/// An open-file-description write lock on the whole file, held until dropped:
/// libxutmp's puts wait for it (up to their deadline) as for any other writer's.
struct HeldLock(File);

impl HeldLock {
    fn on(path: &Path) -> HeldLock {
        let file = OpenOptions::new().read(true).write(true).open(path).unwrap();
        // SAFETY: zero is a valid flock; the fields set below describe a whole-file write lock.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: a non-blocking lock request with a valid flock on an open descriptor.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
        assert_eq!(rc, 0, "lock: {}", std::io::Error::last_os_error());
        HeldLock(file)
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        // SAFETY: zero is a valid flock; an unlock request on an open descriptor.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_UNLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: as above.
        unsafe { libc::fcntl(self.0.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    }
}

fn wtmp_count(acct: &Accounting) -> usize {
    utmps::files::read(acct.wtmp_endpoint(), None, Duration::from_secs(1)).unwrap().records.len()
}

/// Live entries read from the file without taking its lock (the test holds it).
fn live_unlocked(acct: &Accounting) -> usize {
    let bytes = std::fs::read(acct.utmp_endpoint()).unwrap();
    utmps::files::parse(&bytes, None).records.iter().filter(|r| r.is_user_process()).count()
}

/// Polls `done` every 20 ms on the runtime, for at most `limit`.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

#[test]
fn open_async_timing_out_leaves_the_runtime_running() {
    for (flavour, rt) in runtimes() {
        let dir = tempfile::tempdir().unwrap();
        let peer = Peer::builder().silent(true).start(dir.path()).unwrap();
        let acct =
            Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(Duration::from_millis(600));
        rt.block_on(async {
            let ticks = ticker();
            let start = Instant::now();
            let err = acct.open_async(&Login::new("alice", "pts/7")).await.unwrap_err();
            let took = start.elapsed();
            assert_eq!(err.kind(), ErrorKind::TimedOut, "{flavour}: {err}");
            // Ticks every 50 ms for as long as the open took; a blocked worker gets none.
            let expected = (took.as_millis() / 50) as u32;
            let got = ticks.load(Ordering::Relaxed);
            assert!(got * 2 >= expected && got >= 5, "{flavour}: {got} ticks in {took:?}");
        });
    }
}

#[test]
fn session_dropped_in_a_runtime_returns_at_once_and_logs_out_later() {
    for (flavour, rt) in runtimes() {
        let files = Files::new();
        let acct = files.acct_default_lastlog().with_timeout(Duration::from_secs(5));
        rt.block_on(async {
            let session = acct.open_async(&Login::new("alice", "pts/8")).await.unwrap();
            let lock = HeldLock::on(acct.utmp_endpoint());
            let ticks = ticker();
            let start = Instant::now();
            drop(session);
            let took = start.elapsed();
            assert!(took < Duration::from_millis(100), "{flavour}: drop blocked for {took:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
            let got = ticks.load(Ordering::Relaxed);
            assert!(got >= 5, "{flavour}: only {got} ticks in 500 ms while the logout waited");
            assert_eq!(live_unlocked(&acct), 1, "{flavour}: the logout cannot have passed the lock");
            drop(lock);
            let ended = eventually(Duration::from_secs(5), || acct.who(false).unwrap().is_empty()).await;
            assert!(ended, "{flavour}: the handed-off logout never ran");
            assert!(eventually(Duration::from_secs(5), || wtmp_count(&acct) == 2).await, "{flavour}: no wtmp logout");
        });
    }
}

#[test]
fn cancelled_open_async_leaves_no_live_entry() {
    for (flavour, rt) in runtimes() {
        let files = Files::new();
        let acct = files.acct_default_lastlog().with_timeout(Duration::from_secs(5));
        rt.block_on(async {
            let lock = HeldLock::on(acct.utmp_endpoint());
            let open = acct.open_async(&Login::new("alice", "pts/9"));
            let cancelled = tokio::time::timeout(Duration::from_millis(200), open).await;
            assert!(cancelled.is_err(), "{flavour}: the open finished through a held lock");
            drop(lock);
            // The open completes in the background; its session is then dropped,
            // which logs it out: login and logout in wtmp, nothing live in utmp.
            let both = eventually(Duration::from_secs(5), || wtmp_count(&acct) == 2).await;
            assert!(both, "{flavour}: wtmp holds {} records, not login and logout", wtmp_count(&acct));
            assert!(acct.who(false).unwrap().is_empty(), "{flavour}: a cancelled open left a live entry");
        });
    }
}

#[test]
fn logout_async_returns_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket());
    for (flavour, rt) in runtimes() {
        rt.block_on(async {
            let session = acct.open_async(&Login::new("alice", "pts/10")).await.unwrap();
            assert_eq!(acct.who(false).unwrap().len(), 1, "{flavour}");
            session.logout_with_async(utmps::Exit { termination: 0, status: 3 }).await.unwrap();
            assert!(acct.who(false).unwrap().is_empty(), "{flavour}");
        });
    }
    let records = peer.wtmp_records();
    assert_eq!(records.len(), 4);
    assert_eq!(records[3].exit.status, 3);
}
