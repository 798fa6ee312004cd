//! No file-descriptor or memory growth over 10,000 sessions (item 21 of
//! `utmps::notes::reliability`, in `utmps/docs/reliability.md`), on the libc
//! flavour. A test binary of its own: tests running beside it in the same
//! process would open descriptors and allocate while it counts.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use support::{open_fds, Files, USER};
use utmps::{Accounting, Login};

/// Counts the bytes the Rust side holds, exactly; VmRSS covers the C side too.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SESSIONS: usize = 10_000;
/// Allowed VmRSS growth: page-granular noise, far below what leaking one small
/// allocation per session (10,000 x 64 bytes) would add.
const RSS_TOLERANCE_KIB: i64 = 512;

fn rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Sessions as a daemon runs them: open, sometimes a roaming update or a `who`,
/// close; a few through Drop instead of logout.
fn sessions(acct: &Accounting, count: usize) {
    for n in 0..count {
        let mut session = acct.open(&Login::new(USER, format!("pts/{}", n % 8)).host("growth.example")).unwrap();
        if n % 100 == 0 {
            session.update_host("roamed.example", None).unwrap();
            assert_eq!(acct.who(false).unwrap().len(), 1);
        }
        if n % 10 == 0 {
            drop(session);
        } else {
            session.logout().unwrap();
        }
    }
}

#[test]
fn ten_thousand_sessions_leave_no_fd_or_memory_behind() {
    let f = Files::new();
    let acct = f.acct();
    // Warm up: lazily created state (tracing call sites, glibc's utmp buffers,
    // file system caches) is made once, before counting.
    sessions(&acct, 1_000);
    let (fds, rss, heap) = (open_fds(), rss_kib(), LIVE_BYTES.load(Ordering::SeqCst));
    sessions(&acct, SESSIONS);
    let (fds_after, rss_after, heap_after) = (open_fds(), rss_kib(), LIVE_BYTES.load(Ordering::SeqCst));
    println!(
        "growth over {SESSIONS} sessions: fds {fds} -> {fds_after}, VmRSS {rss} -> {rss_after} KiB, Rust heap {heap} -> {heap_after} bytes"
    );
    assert_eq!(fds_after, fds, "file descriptors leaked");
    assert_eq!(heap_after, heap, "Rust heap bytes still held after the sessions closed");
    assert!(rss_after - rss <= RSS_TOLERANCE_KIB, "VmRSS grew by {} KiB", rss_after - rss);
    assert_eq!(f.wtmp_records().len(), 2 * (1_000 + SESSIONS));
    assert!(acct.who(false).unwrap().is_empty());
}
