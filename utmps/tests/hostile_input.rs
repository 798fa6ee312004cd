//! Hostile names, paths and peers (items 4, 4a, 16b and the sweep of item 19 of
//! `utmps::notes::reliability`, in `utmps/docs/reliability.md`): terminal
//! escapes and forged lines never reach utmp, the special `~` line is refused,
//! reads stop at their caps and deadlines, and a sweep of many stale entries is
//! linear and bounded by one deadline.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use support::{field, mkfifo, own_user, Files};
use utmps::layout::{Layout, UTMPS_RECORD_SIZE};
use utmps::peer::Peer;
use utmps::{Accounting, ErrorKind, Login, Record, RecordType, MAX_UTMP_ENTRIES};

/// One character of each class that must never be stored raw.
const UNSAFE: [char; 8] = ['\x07', '\x1b', '\x7f', '\u{85}', '\u{9b}', '\u{2028}', '\u{202e}', '\u{2066}'];

/// A live-looking entry of a process that does not exist.
fn stale(n: usize, user: &str) -> Record {
    let mut r = Record {
        record_type: RecordType::USER_PROCESS,
        // Above any pid_max Linux allows (2^22): no such process can exist.
        pid: 1_000_000_000 + n as i32,
        line: field(format!("pts/{}", 1000 + n)),
        id: field(format!("{n:04}")),
        user: field(user),
        host: field("stale.example"),
        ..Record::default()
    };
    r.set_time(SystemTime::now());
    r
}

fn write_records(path: &Path, layout: Layout, records: &[Record]) {
    let bytes: Vec<u8> = records.iter().flat_map(|r| layout.encode(r).unwrap()).collect();
    std::fs::write(path, bytes).unwrap();
}

// ---- names ----

#[test]
fn forged_lines_and_terminal_escapes_are_refused_before_any_io() {
    // Endpoints that do not exist: an error other than InvalidInput would mean I/O was tried.
    let nowhere = Accounting::native("/nonexistent/utmpd", "/nonexistent/wtmpd");
    let f = Files::new();
    for acct in [&nowhere, &f.acct_default_lastlog()] {
        let mut logins = vec![
            Login::new("root\nfake   pts/9", "pts/2"),
            Login::new("alice", "pts/2").host("\x1b]0;pwned\x07\x1b[2J"),
            Login::new("alice", "pts/\x1b[2J"),
        ];
        for c in UNSAFE {
            logins.push(Login::new(format!("u{c}"), "pts/2"));
            logins.push(Login::new("alice", format!("pts/{c}2")));
            logins.push(Login::new("alice", "pts/2").host(format!("h{c}.example")));
        }
        for login in &logins {
            let e = acct.open(login).map(drop).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{login:?}: {e}");
            assert!(!e.to_string().chars().any(utmps::is_unsafe_char), "the message is safe to print: {e:?}");
        }
    }
    assert_eq!(std::fs::metadata(&f.utmp).unwrap().len(), 0, "nothing written");
    assert_eq!(std::fs::metadata(&f.wtmp).unwrap().len(), 0, "nothing written");
}

#[test]
fn special_lines_and_reserved_users_are_refused_before_any_io() {
    let nowhere = Accounting::native("/nonexistent/utmpd", "/nonexistent/wtmpd");
    for (user, line) in [("reboot", "~"), ("alice", "~"), ("shutdown", "pts/1"), ("runlevel", "pts/1"), ("alice", "~~")]
    {
        let e = nowhere.open(&Login::new(user, line)).map(drop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{user} on {line}: {e}");
    }
}

#[test]
fn a_lossy_host_is_stored_without_unsafe_characters() {
    let f = Files::new();
    let acct = f.acct_default_lastlog();
    let all: String = UNSAFE.iter().collect();
    let s = acct.open(&Login::new(own_user(), "pts/2").host_lossy(format!("\x1b]0;pwned\x07{all}"))).unwrap();
    let stored = acct.who(false).unwrap()[0].host;
    assert_eq!(stored.as_bytes(), format!("?]0;pwned?{}", "?".repeat(UNSAFE.len())).as_bytes());
    s.logout().unwrap();
}

#[test]
fn update_host_refuses_what_the_login_refuses() {
    let f = Files::new();
    let acct = f.acct_default_lastlog();
    let mut s = acct.open(&Login::new(own_user(), "pts/3").host("before.example")).unwrap();
    for c in UNSAFE {
        let e = s.update_host(&format!("after{c}.example"), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{c:?}: {e}");
    }
    assert_eq!(acct.who(false).unwrap()[0].host.as_bytes(), b"before.example", "the old host stays");
    s.update_host("after.example", None).unwrap();
    assert_eq!(acct.who(false).unwrap()[0].host.as_bytes(), b"after.example");
    s.logout().unwrap();
}

#[test]
fn records_that_hold_unsafe_characters_decode_and_display_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let mut hostile = stale(1, "root\nfake   pts/9");
    hostile.line = field("pts/\u{202e}1");
    hostile.host = field("\x1b]0;pwned\x07\x1b[2J\u{2028}\u{2066}\u{85}\u{9b}\x7f");
    let check = |r: &Record| {
        assert_eq!(r.user.as_bytes(), hostile.user.as_bytes(), "raw bytes are kept");
        assert_eq!(r.host.as_bytes(), hostile.host.as_bytes(), "raw bytes are kept");
        for shown in [format!("{} {} {}", r.user, r.line, r.host), format!("{r:?}")] {
            assert!(!shown.chars().any(utmps::is_unsafe_char), "{shown:?}");
        }
    };
    // Files, through the reader and through the libc flavour.
    let utmp = dir.path().join("utmp");
    write_records(&utmp, Layout::Glibc, &[hostile]);
    check(&utmps::files::read(&utmp, Some(Layout::Glibc), Duration::from_secs(2)).unwrap().records[0]);
    let wtmp = dir.path().join("wtmp");
    std::fs::write(&wtmp, b"").unwrap();
    check(&Accounting::files(&utmp, &wtmp).unwrap().entries().unwrap()[0]);
    // A daemon, through the native client.
    let peer = Peer::start(dir.path().join("peer")).unwrap();
    write_records(peer.utmp_path(), Layout::Utmps, &[hostile]);
    check(&Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).entries().unwrap()[0]);
}

// ---- reads that never end ----

#[test]
fn file_reads_refuse_devices_and_fifos_fast() {
    let start = Instant::now();
    let e = utmps::files::read("/dev/zero", None, Duration::from_secs(1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(start.elapsed() < Duration::from_millis(500), "took {:?}", start.elapsed());

    // A FIFO with a writer that never stops.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("utmp");
    mkfifo(&fifo, 0o666);
    let stop = Arc::new(AtomicBool::new(false));
    let (f2, s2) = (fifo.clone(), stop.clone());
    let writer = std::thread::spawn(move || {
        // O_RDWR never blocks on a FIFO, whether a reader is there or not.
        let mut w = std::fs::OpenOptions::new().read(true).write(true).open(&f2).unwrap();
        let chunk = [0u8; 4096];
        while !s2.load(Ordering::SeqCst) {
            if w.write_all(&chunk).is_err() {
                break;
            }
            let mut sink = [0u8; 4096]; // keep the pipe from filling so the writer never blocks
            let _ = w.read(&mut sink);
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    let e = utmps::files::read(&fifo, None, Duration::from_secs(1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("FIFO"), "{e}");
    assert!(start.elapsed() < Duration::from_millis(500), "took {:?}", start.elapsed());
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
}

/// A utmpd that answers `r` with success and then sends records without end,
/// whatever it is asked.
struct Endless {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Endless {
    fn start(path: PathBuf) -> Endless {
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut answer = vec![0u8];
            answer.extend(Layout::Utmps.encode(&stale(1, "root")).unwrap());
            let burst: Vec<u8> = std::iter::repeat(answer).take(64).flatten().collect();
            while !st.load(Ordering::SeqCst) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
                let drain = conn.try_clone().unwrap();
                std::thread::spawn(move || discard(drain));
                if conn.write_all(&[0]).is_err() {
                    continue;
                }
                while !st.load(Ordering::SeqCst) && conn.write_all(&burst).is_ok() {}
            }
        });
        Endless { path, stop, thread: Some(thread) }
    }
}

/// Reads and drops whatever the client sends, so that its requests never block.
fn discard(mut conn: UnixStream) {
    let mut buf = [0u8; 4096];
    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
}

impl Drop for Endless {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_daemon_that_never_ends_its_answer_is_cut_off_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let endless = Endless::start(dir.path().join("utmpd"));
    let deadline = Duration::from_secs(20);
    let acct = Accounting::native(&endless.path, &endless.path).with_timeout(deadline);
    let start = Instant::now();
    let e = acct.entries().unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("MAX_UTMP_ENTRIES"), "{e}");
    assert!(took < deadline, "took {took:?}");
    eprintln!("cut off after {MAX_UTMP_ENTRIES} records in {took:?}");
}

#[test]
fn the_libc_flavour_stops_at_the_same_cap() {
    let f = Files::new();
    let many: Vec<Record> = (0..=MAX_UTMP_ENTRIES).map(|n| stale(n % 10_000, "root")).collect();
    write_records(&f.utmp, Layout::Glibc, &many[..MAX_UTMP_ENTRIES]);
    let acct = f.acct_default_lastlog().with_timeout(Duration::from_secs(60));
    assert_eq!(acct.entries().unwrap().len(), MAX_UTMP_ENTRIES, "a utmp at the cap reads whole");
    write_records(&f.utmp, Layout::Glibc, &many);
    let e = acct.entries().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(e.endpoint(), Some(f.utmp.as_path()));
}

// ---- sweeping many stale entries ----

const STALE: usize = 2_000;

fn check_sweep(acct: &Accounting, what: &str) -> Vec<Record> {
    let start = Instant::now();
    let swept = acct.sweep(|r| r.host.as_bytes() == b"stale.example").unwrap();
    let took = start.elapsed();
    eprintln!("{what}: swept {} stale entries in {took:?}", swept.len());
    assert_eq!(swept.len(), STALE, "{what}");
    assert!(took < acct.timeout(), "{what} took {took:?}");
    assert!(acct.who(false).unwrap().is_empty(), "{what}: every stale entry ended");
    swept
}

#[test]
fn sweeping_thousands_of_stale_entries_is_linear_on_files() {
    let f = Files::new();
    let user = own_user();
    write_records(&f.utmp, Layout::Glibc, &(0..STALE).map(|n| stale(n, &user)).collect::<Vec<_>>());
    // A re-read per entry took 98 s here (debug build); a linear sweep well under 1 s.
    check_sweep(&f.acct_default_lastlog().with_timeout(Duration::from_secs(60)), "glibc files");
    let utmp = utmps::files::read(&f.utmp, Some(Layout::Glibc), Duration::from_secs(5)).unwrap();
    assert_eq!(utmp.records.len(), STALE, "every entry ended in its own slot");
    let wtmp = utmps::files::read(&f.wtmp, Some(Layout::Glibc), Duration::from_secs(5)).unwrap();
    assert_eq!(wtmp.records.len(), STALE, "one logout each");
}

#[test]
fn sweeping_thousands_of_stale_entries_is_linear_on_daemons() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap();
    let user = own_user();
    write_records(peer.utmp_path(), Layout::Utmps, &(0..STALE).map(|n| stale(n, &user)).collect::<Vec<_>>());
    // The peer syncs its file after every write, as utmpd and wtmpd do: 4,000
    // syncs dominate here, hence the wider bound.
    check_sweep(
        &Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(Duration::from_secs(120)),
        "native",
    );
    assert_eq!(peer.utmp_records().len(), STALE, "every entry ended in its own slot");
    assert_eq!(peer.wtmp_records().len(), STALE, "one logout each");
}

/// A wtmpd that takes `delay` to answer each append, and answers success.
fn slow_wtmpd(path: PathBuf, delay: Duration, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    let listener = UnixListener::bind(path).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let Ok((mut conn, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            };
            conn.set_nonblocking(false).unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut request = vec![0u8; 1 + UTMPS_RECORD_SIZE];
            if conn.read_exact(&mut request).is_ok() {
                std::thread::sleep(delay);
                let _ = conn.write_all(&[0]);
            }
        }
    })
}

#[test]
fn a_sweep_is_bounded_by_one_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path().join("peer")).unwrap();
    let user = own_user();
    write_records(peer.utmp_path(), Layout::Utmps, &(0..40).map(|n| stale(n, &user)).collect::<Vec<_>>());
    let stop = Arc::new(AtomicBool::new(false));
    let wtmpd = dir.path().join("wtmpd");
    let server = slow_wtmpd(wtmpd.clone(), Duration::from_millis(50), stop.clone());
    // Each append alone fits the timeout; forty of them (2 s) do not.
    let timeout = Duration::from_millis(500);
    let acct = Accounting::native(peer.utmpd_socket(), &wtmpd).with_timeout(timeout);
    let start = Instant::now();
    let e = acct.sweep(|_| true).unwrap_err();
    let took = start.elapsed();
    assert!(matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::OutcomeUnknown), "{e}");
    assert!(took < timeout + Duration::from_millis(700), "took {took:?} for a {timeout:?} deadline");
    let ended = peer.utmp_records().iter().filter(|r| r.record_type == RecordType::DEAD_PROCESS).count();
    assert!(ended > 0 && ended < 40, "the entries before the deadline were swept, not the rest: {ended}");
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}
