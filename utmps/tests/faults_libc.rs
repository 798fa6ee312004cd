//! Faults on the libc flavour (glibc's file format on temp files): another process holding
//! a lock on utmp or wtmp, the caller's own SIGALRM, a client killed by SIGKILL in
//! the middle of a session, and a full disk.
//!
//! The tests here fork, take fcntl locks (which belong to the whole process) and
//! look at process-wide signal state, so they run one at a time under `serial()`.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::ffi::{c_int, CString};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{serial, Files, USER};
use utmps::layout::Layout;
use utmps::{Accounting, ErrorKind, Login, Record, RecordType};

/// The deadline the lock tests give each operation.
const DEADLINE: Duration = Duration::from_millis(300);
/// What a call may take under a held lock. A session open is a few
/// operations, each bounded by DEADLINE, and only the blocked one waits; the
/// others write and sync files, which a busy disk can slow by seconds (2 s was
/// once too little in a full run). The holder keeps its lock until it is
/// killed, after `on_worker`'s 10 s, so a call that ignored its deadline would
/// take those 10 s: the bound sits between the two.
const BOUND: Duration = Duration::from_secs(5);

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

/// Waits up to 10 s for one byte on `fd` (the child's "ready" or "failed").
fn read_byte(fd: c_int) -> Option<u8> {
    let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    if unsafe { libc::poll(&mut pfd, 1, 10_000) } != 1 {
        return None;
    }
    let mut byte = 0u8;
    // SAFETY: reading one byte into a local.
    let n = unsafe { libc::read(fd, (&mut byte as *mut u8).cast(), 1) };
    (n == 1).then_some(byte)
}

fn pipe() -> (c_int, c_int) {
    let mut fds = [0; 2];
    // SAFETY: a valid two-element array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    (fds[0], fds[1])
}

/// A forked child, SIGKILLed and reaped when dropped.
struct Child {
    pid: libc::pid_t,
}

impl Child {
    /// Forks; the child runs `body`, which should not return, after arranging to
    /// die with the test process. The parent waits for the byte the child writes.
    fn spawn(body: impl FnOnce(c_int)) -> Child {
        let (rd, wr) = pipe();
        // SAFETY: the test holds `serial()`, so no other test thread of this binary
        // is inside the C library or holds a lock the child could need.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: prctl with an integer signal number; close of our own fd.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                libc::close(rd);
            }
            body(wr);
            // SAFETY: _exit skips the destructors and atexit handlers of the parent's copy.
            unsafe { libc::_exit(127) };
        }
        // SAFETY: closing the parent's copy of the write end.
        unsafe { libc::close(wr) };
        let child = Child { pid };
        let ready = read_byte(rd);
        // SAFETY: closing our read end.
        unsafe { libc::close(rd) };
        assert_eq!(ready, Some(b'1'), "the child did not get ready");
        child
    }

    /// Kills the child with SIGKILL and checks that this is how it ended.
    fn kill(mut self) {
        let status = self.reap();
        assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL, "status {status:#x}");
    }

    fn reap(&mut self) -> c_int {
        let mut status = 0;
        if self.pid > 0 {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, &mut status, 0);
            }
            self.pid = 0;
        }
        status
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.reap();
    }
}

/// Writes `ok` as the ready byte, then sleeps until killed.
fn report_and_wait(fd: c_int, ok: bool) -> ! {
    let byte = if ok { b'1' } else { b'0' };
    // SAFETY: write and pause are async-signal-safe; `byte` is a local.
    unsafe {
        libc::write(fd, (&byte as *const u8).cast(), 1);
        loop {
            libc::pause();
        }
    }
}

/// Another process holding an fcntl lock on the whole of `path` (any local user
/// can take a read lock on a file it can open).
fn lock_holder(path: &Path, write: bool) -> Child {
    let path = c_path(path);
    Child::spawn(move |ready| {
        // Only async-signal-safe calls from here: this is a fork of a threaded process.
        // SAFETY: a NUL-terminated path; a zeroed flock is a valid value.
        unsafe {
            let fd = libc::open(path.as_ptr(), if write { libc::O_RDWR } else { libc::O_RDONLY });
            let mut fl: libc::flock = std::mem::zeroed();
            fl.l_type = (if write { libc::F_WRLCK } else { libc::F_RDLCK }) as libc::c_short;
            fl.l_whence = libc::SEEK_SET as libc::c_short;
            report_and_wait(ready, fd >= 0 && libc::fcntl(fd, libc::F_SETLK, &fl) == 0)
        }
    })
}

/// Runs `f` on a new thread (never the main thread) and times it. Gives up after
/// 10 s, so that a call that ignores its deadline fails the test instead of hanging
/// it (the lock holder is then killed, which lets the stuck thread finish).
fn on_worker<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (T, Duration) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let started = Instant::now();
        let out = f();
        let _ = tx.send((out, started.elapsed()));
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("the call did not return within 10 s")
}

fn assert_timed_out<T: std::fmt::Debug>(result: utmps::Result<T>, took: Duration, what: &str) -> utmps::Error {
    let e = result.expect_err(what);
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{what}: {e}");
    assert!(took < BOUND, "{what} took {took:?} with a {DEADLINE:?} deadline");
    e
}

#[test]
fn a_read_lock_on_utmp_times_out_an_open_from_a_worker_thread() {
    let _serial = serial();
    let f = Files::new();
    let acct = f.acct().with_timeout(DEADLINE);
    let holder = lock_holder(&f.utmp, false);
    let worker_acct = acct.clone();
    let (result, took) = on_worker(move || worker_acct.open(&Login::new(USER, "pts/20")).map(drop));
    let e = assert_timed_out(result, took, "open under a read lock on utmp");
    assert_eq!(e.endpoint(), Some(f.utmp.as_path()), "{e}");
    // Reads share the lock, so they still work while it is held.
    assert!(acct.who(false).unwrap().is_empty());
    drop(holder);
    assert!(f.utmp_records().is_empty(), "nothing was written");
    assert!(f.wtmp_records().is_empty(), "no wtmp record without a utmp entry");
    acct.open(&Login::new(USER, "pts/20")).unwrap().logout().unwrap();
}

#[test]
fn a_read_lock_on_wtmp_times_out_an_open_and_takes_the_utmp_entry_back() {
    let _serial = serial();
    let f = Files::new();
    let acct = f.acct().with_timeout(DEADLINE);
    let holder = lock_holder(&f.wtmp, false);
    let worker_acct = acct.clone();
    let (result, took) = on_worker(move || worker_acct.open(&Login::new(USER, "pts/21")).map(drop));
    let e = assert_timed_out(result, took, "open under a read lock on wtmp");
    assert_eq!(e.endpoint(), Some(f.wtmp.as_path()), "{e}");
    drop(holder);
    assert!(acct.who(false).unwrap().is_empty(), "the failed open must take its utmp entry back");
    let utmp = f.utmp_records();
    assert_eq!(utmp.len(), 1);
    assert_eq!((utmp[0].record_type, utmp[0].line.as_bytes()), (RecordType::DEAD_PROCESS, &b"pts/21"[..]));
    assert!(f.wtmp_records().is_empty());
}

#[test]
fn a_read_lock_on_utmp_times_out_a_logout() {
    let _serial = serial();
    let f = Files::new();
    let acct = f.acct().with_timeout(DEADLINE);
    let session = acct.open(&Login::new(USER, "pts/22")).unwrap();
    let holder = lock_holder(&f.utmp, false);
    let (result, took) = on_worker(move || session.logout());
    assert_timed_out(result, took, "logout under a read lock on utmp");
    drop(holder);
    // Both halves of a logout are attempted: wtmp has it, the utmp entry stays live.
    let wtmp = f.wtmp_records();
    assert_eq!(
        wtmp.iter().map(|r| r.record_type).collect::<Vec<_>>(),
        [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS]
    );
    assert_eq!(acct.who(false).unwrap().len(), 1);
}

#[test]
fn a_write_lock_on_utmp_times_out_a_read() {
    let _serial = serial();
    let f = Files::new();
    let acct = f.acct().with_timeout(DEADLINE);
    let holder = lock_holder(&f.utmp, true);
    let worker_acct = acct.clone();
    let (result, took) = on_worker(move || worker_acct.who(false));
    assert_timed_out(result, took, "who under a write lock on utmp");
    drop(holder);
    assert!(acct.who(false).unwrap().is_empty());
}

static ALARMS: AtomicUsize = AtomicUsize::new(0);
/// CLOCK_MONOTONIC in nanoseconds when the first SIGALRM arrived; 0 before.
static FIRST_ALARM_NS: AtomicU64 = AtomicU64::new(0);

/// CLOCK_MONOTONIC in nanoseconds (clock_gettime is async-signal-safe).
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

extern "C" fn count_alarm(_: c_int) {
    if ALARMS.fetch_add(1, Ordering::SeqCst) == 0 {
        FIRST_ALARM_NS.store(monotonic_ns(), Ordering::SeqCst);
    }
}

fn sigalrm_handler() -> libc::sighandler_t {
    // SAFETY: a zeroed sigaction is a valid out-value; a NULL new action only queries.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(libc::SIGALRM, std::ptr::null(), &mut now), 0);
        now.sa_sigaction
    }
}

/// The caller's SIGALRM disposition and pending alarm, put back when dropped.
struct AlarmRestore {
    old: libc::sigaction,
}

impl AlarmRestore {
    fn install(handler: extern "C" fn(c_int)) -> AlarmRestore {
        // SAFETY: zeroed sigactions are valid; sa_mask is initialised by sigemptyset.
        unsafe {
            let mut new: libc::sigaction = std::mem::zeroed();
            let mut old: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = handler as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut new.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGALRM, &new, &mut old), 0);
            AlarmRestore { old }
        }
    }
}

impl Drop for AlarmRestore {
    fn drop(&mut self) {
        // SAFETY: cancel our alarm, then restore the disposition saved at install.
        unsafe {
            libc::alarm(0);
            libc::sigaction(libc::SIGALRM, &self.old, std::ptr::null_mut());
        }
    }
}

#[test]
fn the_callers_sigalrm_handler_and_pending_alarm_survive_sessions() {
    let _serial = serial();
    let f = Files::new();
    let acct = f.acct();
    ALARMS.store(0, Ordering::SeqCst);
    let _restore = AlarmRestore::install(count_alarm);
    // SAFETY: alarm has no preconditions.
    unsafe { libc::alarm(100) };
    acct.open(&Login::new(USER, "pts/23")).unwrap().logout().unwrap();
    let worker_acct = acct.clone();
    on_worker(move || worker_acct.open(&Login::new(USER, "pts/24")).unwrap().logout().unwrap());
    assert_eq!(sigalrm_handler(), count_alarm as *const () as libc::sighandler_t, "our SIGALRM handler was replaced");
    // SAFETY: alarm has no preconditions.
    let left = unsafe { libc::alarm(0) };
    assert!((90..=100).contains(&left), "the pending alarm was lost or moved: {left} s left of 100");
    assert_eq!(ALARMS.load(Ordering::SeqCst), 0, "no SIGALRM may be raised by a session");
}

/// A daemon's own one-second alarm must still go off while it logs users in and
/// out. glibc's pututxline bounds its lock wait with alarm(): it cancels the
/// caller's alarm and re-arms it in whole seconds, so a pending alarm less than
/// a second away would be pushed back by every utmp write; libxutmp does not
/// call it.
#[test]
fn a_pending_alarm_still_fires_while_sessions_open_and_close() {
    let _serial = serial();
    let f = Files::new();
    let acct = f.acct();
    ALARMS.store(0, Ordering::SeqCst);
    FIRST_ALARM_NS.store(0, Ordering::SeqCst);
    let _restore = AlarmRestore::install(count_alarm);
    let started = Instant::now();
    let started_ns = monotonic_ns();
    // SAFETY: alarm has no preconditions.
    unsafe { libc::alarm(1) };
    while ALARMS.load(Ordering::SeqCst) == 0 && started.elapsed() < Duration::from_secs(3) {
        acct.open(&Login::new(USER, "pts/25")).unwrap().logout().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let fired = ALARMS.load(Ordering::SeqCst);
    assert_eq!(fired, 1, "alarm(1) fired {fired} times in {:?} of sessions every 100 ms", started.elapsed());
    // Timed in the handler, so a slow last session on a loaded machine does not
    // count: only a re-armed alarm fires this late.
    let after = Duration::from_nanos(FIRST_ALARM_NS.load(Ordering::SeqCst) - started_ns);
    assert!(after < Duration::from_millis(1500), "alarm(1) fired only after {after:?}");
}

#[test]
fn a_sigkilled_client_leaves_its_entry_and_sweep_ends_it_in_the_same_slot() {
    let _serial = serial();
    let f = Files::new();
    let acct = f.acct();
    let before = acct.open(&Login::new(USER, "pts/31")).unwrap(); // a neighbour that stays live
    let child_acct = acct.clone();
    let child = Child::spawn(move |ready| {
        let opened = child_acct.open(&Login::new(USER, "pts/30"));
        let ok = opened.is_ok();
        std::mem::forget(opened); // the guard must not run: this process dies by SIGKILL
        report_and_wait(ready, ok)
    });
    let child_pid = child.pid;
    child.kill();

    let utmp = f.utmp_records();
    let slot = utmp.iter().position(|r| r.line.as_bytes() == b"pts/30").expect("the child's entry");
    assert_eq!((utmp[slot].record_type, utmp[slot].pid), (RecordType::USER_PROCESS, child_pid), "the entry stays live");
    assert_eq!(utmps::pid_alive(child_pid), Some(false));

    let swept = acct.sweep(|r| r.line.as_bytes().starts_with(b"pts/3")).unwrap();
    assert_eq!(swept.len(), 1, "only the dead client's entry: {swept:?}");
    assert_eq!((swept[0].line.as_bytes(), swept[0].pid), (&b"pts/30"[..], child_pid));

    let after = f.utmp_records();
    assert_eq!(after.len(), utmp.len(), "the sweep reuses the slot");
    assert_eq!(after[slot].record_type, RecordType::DEAD_PROCESS);
    assert_eq!((after[slot].line, after[slot].id, after[slot].pid), (utmp[slot].line, utmp[slot].id, child_pid));
    let live = acct.who(false).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].line.as_bytes(), b"pts/31");

    let wtmp: Vec<Record> = f.wtmp_records().into_iter().filter(|r| r.line.as_bytes() == b"pts/30").collect();
    assert_eq!(
        wtmp.iter().map(|r| r.record_type).collect::<Vec<_>>(),
        [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS]
    );
    assert_eq!((wtmp[1].id, wtmp[1].pid, wtmp[1].user), (wtmp[0].id, child_pid, wtmp[0].user));
    let sessions = utmps::last::pair(&wtmp);
    assert!(matches!(sessions[0].end, utmps::last::End::LoggedOut { .. }), "{:?}", sessions[0].end);
    before.logout().unwrap();
}

/// A small tmpfs mounted on a temp dir, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let target = c_path(dir.path());
        let options = CString::new(format!("size={size},mode=0755")).unwrap();
        // SAFETY: NUL-terminated strings that outlive the call.
        let rc =
            unsafe { libc::mount(c"tmpfs".as_ptr(), target.as_ptr(), c"tmpfs".as_ptr(), 0, options.as_ptr().cast()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = c_path(self.dir.path());
        // SAFETY: a NUL-terminated path; a lazy unmount if something still holds it.
        unsafe {
            if libc::umount2(target.as_ptr(), 0) != 0 {
                libc::umount2(target.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Writes until the file system says ENOSPC; returns the filler's path.
fn fill_disk(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = File::create(&path).unwrap();
    let chunk = [0xa5u8; 4096];
    for _ in 0..1024 {
        match file.write(&chunk) {
            Ok(n) if n == chunk.len() => continue,
            Ok(_) => break,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // The last page may have room for a few bytes still: use it up too.
    while let Ok(1) = file.write(&[0]) {}
    assert_eq!(
        File::create(dir.join("probe")).and_then(|mut p| p.write_all(&[0; 4096])).unwrap_err().raw_os_error(),
        Some(libc::ENOSPC),
        "the disk is not full"
    );
    path
}

#[test]
fn a_full_disk_fails_the_open_without_leaving_half_a_record() {
    let _serial = serial();
    let fs = match Tmpfs::mount("64k") {
        Ok(fs) => fs,
        Err(reason) => {
            support::capability_skip(&format!(
                "SKIPPED a_full_disk_fails_the_open_without_leaving_half_a_record: cannot mount tmpfs ({reason})"
            ));
            return;
        }
    };
    let (utmp, wtmp) = (fs.path().join("utmp"), fs.path().join("wtmp"));
    File::create(&utmp).unwrap();
    File::create(&wtmp).unwrap();
    let acct = Accounting::files(&utmp, &wtmp).unwrap();
    for n in 1..=10 {
        acct.open(&Login::new(USER, format!("pts/{n}"))).unwrap().logout().unwrap();
    }
    // Put the end of wtmp 3968 bytes into a 4 KiB page, so that the next record
    // straddles the page that a full tmpfs cannot give: a short write.
    let boot = Record { record_type: RecordType::BOOT_TIME, tv_sec: 1_700_000_000, ..Record::default() };
    OpenOptions::new().append(true).open(&wtmp).unwrap().write_all(&Layout::Glibc.encode(&boot).unwrap()).unwrap();
    let record = Layout::Glibc.record_size() as u64;
    let (utmp_len, wtmp_len) = (file_len(&utmp), file_len(&wtmp));
    assert_eq!((utmp_len, wtmp_len), (10 * record, 21 * record));
    let filler = fill_disk(fs.path());

    // pts/1 reuses its dead slot in utmp (no new space), then wtmp cannot grow.
    let e = acct.open(&Login::new(USER, "pts/1")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
    assert_eq!(e.endpoint(), Some(wtmp.as_path()), "{e}");
    assert_eq!(file_len(&wtmp), wtmp_len, "wtmp must keep whole records only");
    assert!(acct.who(false).unwrap().is_empty(), "the failed open takes its utmp entry back");

    // pts/11 needs a new utmp slot, which straddles the page boundary at 4096.
    let e = acct.open(&Login::new(USER, "pts/11")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert_eq!(e.endpoint(), Some(utmp.as_path()), "{e}");
    assert_eq!(file_len(&utmp), utmp_len, "utmp must keep whole records only");
    assert_eq!(file_len(&wtmp), wtmp_len);

    std::fs::remove_file(filler).unwrap();
    let _ = std::fs::remove_file(fs.path().join("probe"));
    acct.open(&Login::new(USER, "pts/11")).unwrap().logout().unwrap();
    assert_eq!(file_len(&utmp), 11 * record);
    assert_eq!(file_len(&wtmp), 23 * record);
}
