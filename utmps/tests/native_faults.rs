//! The native client when things go wrong: hung or missing daemons, full
//! connection slots, locks held by another process, daemons that stop or
//! answer nonsense (items 9-15 of `utmps::notes::reliability`, in
//! `utmps/docs/reliability.md`). Every test here holds one lock for its whole
//! run, so that counting this process's descriptors is exact.

mod support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::fork::{self, as_user, LockHolder};
use support::raw::Raw;
use support::{login, open_fds, root_or_skip, serial_after_take_backs, timed_on_thread, unique, NOBODY};
use utmps::layout::{Layout, UTMPS_RECORD_SIZE};
use utmps::peer::Peer;
use utmps::{Accounting, ErrorKind, Field, PermissionRule, Record, RecordType};

const SHORT: Duration = Duration::from_millis(300);
/// SHORT plus what a loaded machine may add; far below any "hang".
const SHORT_LIMIT: Duration = Duration::from_millis(1500);

fn assert_timed_out(what: &str, err: utmps::Error, took: Duration, endpoint: &Path) {
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{what}: {err}");
    assert_eq!(err.endpoint(), Some(endpoint), "{what}");
    assert!(took >= SHORT - Duration::from_millis(10) && took < SHORT_LIMIT, "{what} took {took:?}");
}

// ---- a daemon that never answers, and full slots ----

#[test]
fn silent_daemon_times_out_within_the_deadline_from_another_thread() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::builder().silent(true).start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(SHORT);
    let utmpd = peer.utmpd_socket().to_path_buf();
    let a = acct.clone();
    let (r, took) = timed_on_thread(move || a.entries());
    assert_timed_out("read", r.unwrap_err(), took, &utmpd);
    let a = acct.clone();
    let (r, took) = timed_on_thread(move || a.open(&login("pts/3")).map(drop));
    assert_timed_out("open", r.unwrap_err(), took, &utmpd);
    let a = acct.clone();
    let (r, took) = timed_on_thread(move || a.check());
    assert_timed_out("check", r.unwrap_err(), took, &utmpd);
    // The take-back of the open is tried again until a daemon serves it.
    drop(peer);
    let restarted = Peer::start(dir.path()).unwrap();
    assert!(Accounting::wait_for_take_backs(Duration::from_secs(20)), "the take-back finished");
    assert!(restarted.utmp_records().iter().all(|r| !r.is_user_process()), "{:?}", restarted.utmp_records());
}

#[test]
fn silent_wtmpd_after_the_request_is_outcome_unknown_within_the_deadline() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let live = Peer::start(dir.path().join("live")).unwrap();
    let silent = Peer::builder().silent(true).start(dir.path().join("silent")).unwrap();
    let acct = Accounting::native(live.utmpd_socket(), silent.wtmpd_socket()).with_timeout(SHORT);
    let (r, took) = timed_on_thread(move || acct.open(&login("pts/4")).map(drop));
    let err = r.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(took < SHORT_LIMIT, "utmp put + wtmp wait took {took:?}; the undo runs after");
    drop(silent); // ends the wtmpd connection the take-back waits on
                  // The logout is tried again while wtmpd is away, and lands once it is back.
    let restarted = Peer::start(dir.path().join("silent")).unwrap();
    assert!(Accounting::wait_for_take_backs(Duration::from_secs(20)), "the take-back finished");
    assert!(live.utmp_records().iter().all(|r| r.record_type == RecordType::DEAD_PROCESS), "open took its entry back");
    let wtmp = restarted.wtmp_records();
    assert_eq!(wtmp.len(), 1, "the logout, once: {wtmp:?}");
    assert_eq!(wtmp[0].record_type, RecordType::DEAD_PROCESS, "{wtmp:?}");
}

#[test]
fn more_than_forty_clients_succeed_below_the_deadline_and_time_out_above_it() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap(); // 40 connections at once, as s6-ipcserverd
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(Duration::from_secs(10));
    let threads: Vec<_> = (0..50)
        .map(|n| {
            let acct = acct.clone();
            std::thread::spawn(move || acct.open(&login(&format!("pts/{}", 100 + n)))?.logout())
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    assert!(acct.who(false).unwrap().is_empty());
    assert_eq!(peer.utmp_records().len(), 50);
    assert_eq!(peer.wtmp_records().len(), 100);

    // 40 idle clients hold every slot: the next one waits in the backlog.
    let mut held: Vec<_> = (0..40).map(|_| Raw::connect(peer.utmpd_socket())).collect();
    for c in &mut held {
        c.rewind(); // served, so they do hold the slots
    }
    let a = acct.clone().with_timeout(SHORT);
    let (r, took) = timed_on_thread(move || a.entries());
    assert_timed_out("read with all slots taken", r.unwrap_err(), took, peer.utmpd_socket());
    held.clear();
    assert_eq!(acct.entries().unwrap().len(), 50, "served again once the slots are free");
}

#[test]
fn a_lock_held_by_another_process_cannot_stall_a_client_past_its_deadline() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(SHORT);
    acct.open(&login("pts/5")).unwrap().logout().unwrap();

    let holder = LockHolder::hold(peer.utmp_path(), true);
    let a = acct.clone();
    let (r, took) = timed_on_thread(move || a.entries());
    assert_timed_out("read under a foreign lock", r.unwrap_err(), took, peer.utmpd_socket());
    let a = acct.clone();
    let (r, took) = timed_on_thread(move || a.open(&login("pts/6")).map(drop));
    assert_timed_out("open under a foreign lock", r.unwrap_err(), took, peer.utmpd_socket());
    drop(holder);
    assert!(acct.entries().is_ok());

    // On wtmp the request was sent before the daemon blocked: outcome unknown.
    let holder = LockHolder::hold(peer.wtmp_path(), true);
    let before = peer.wtmp_records().len();
    let a = acct.clone();
    let (r, took) = timed_on_thread(move || a.open(&login("pts/7")).map(drop));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::OutcomeUnknown);
    assert!(took < SHORT_LIMIT * 2, "{took:?}");
    drop(holder);
    // And indeed the daemon appends it once the lock is gone, with the logout that
    // the failed open sent after it so that `last` shows no dangling session
    // (both requests waited on the lock; which one lands first is not defined).
    let start = Instant::now();
    while peer.wtmp_records().len() < before + 2 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut kinds: Vec<RecordType> = peer.wtmp_records()[before..]
        .iter()
        .inspect(|r| assert_eq!(r.line.as_bytes(), b"pts/7"))
        .map(|r| r.record_type)
        .collect();
    kinds.sort_by_key(|k| k.0);
    assert_eq!(kinds, [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS]);
}

// ---- missing, refused, not permitted ----

#[test]
fn missing_and_refused_sockets_are_unavailable_fast_and_leak_nothing() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let refused = dir.path().join("refused");
    drop(UnixListener::bind(&refused).unwrap()); // the file stays, nobody listens
    let before = open_fds();
    for path in [&missing, &refused] {
        let acct = Accounting::native(path, path).with_timeout(Duration::from_secs(5));
        for _ in 0..20 {
            let start = Instant::now();
            let errs =
                [acct.entries().unwrap_err(), acct.open(&login("pts/8")).unwrap_err(), acct.check().unwrap_err()];
            // Nothing waits here; the bound only has to stay far below the 5 s deadline.
            assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
            for e in errs {
                assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
                assert_eq!(e.endpoint(), Some(path.as_path()));
            }
        }
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}

#[test]
fn a_socket_the_caller_may_not_reach_is_a_permission_error_on_the_file() {
    let _g = serial_after_take_backs();
    if !root_or_skip("a_socket_the_caller_may_not_reach_is_a_permission_error_on_the_file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap();
    // The sockets are mode 0777; the directory keeps other users out.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket());
    let code = as_user(NOBODY, NOBODY, &[], || fork::outcome(acct.entries()));
    assert_eq!(code, fork::EPERM_FILE);
}

#[test]
fn many_sessions_leave_no_descriptor_or_peer_thread_behind() {
    let _g = serial_after_take_backs();
    let before = open_fds();
    {
        let dir = tempfile::tempdir().unwrap();
        let mut peer = Peer::start(dir.path()).unwrap();
        let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket());
        for n in 0..300 {
            acct.open(&login(&format!("pts/{}", n % 7))).unwrap().logout().unwrap();
        }
        assert!(peer_threads() > 0);
        peer.stop();
        assert_eq!(peer_threads(), 0, "every peer thread joined");
    }
    assert_eq!(open_fds(), before);
}

fn peer_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("utmps-peer"))
        .count()
}

// ---- a daemon that stops and comes back ----

#[test]
fn daemon_stopped_between_login_and_logout() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let mut peer = Peer::start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(Duration::from_secs(2));
    let a = acct.open(&login("pts/1")).unwrap();
    let dropped = acct.open(&login("pts/2")).unwrap();
    peer.stop();
    let err = a.logout().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    drop(dropped); // traces the failure, must not panic

    let peer = Peer::start(dir.path()).unwrap();
    let b = acct.open(&login("pts/3")).unwrap();
    b.logout().unwrap();
    let state = |line: &[u8]| peer.utmp_records().iter().find(|r| r.line.as_bytes() == line).map(|r| r.record_type);
    assert_eq!(state(b"pts/1"), Some(RecordType::USER_PROCESS), "the failed logout left its entry");
    assert_eq!(state(b"pts/3"), Some(RecordType::DEAD_PROCESS));
    assert_eq!(peer.wtmp_records().len(), 4, "three logins, one logout");
}

// ---- fake daemons that misbehave ----

/// A one-connection-at-a-time listener that runs `script` on each client.
struct Fake {
    path: PathBuf,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Fake {
    fn start(path: PathBuf, script: impl Fn(UnixStream) + Send + 'static) -> Fake {
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (served.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        s.fetch_add(1, Ordering::SeqCst);
                        script(conn);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Fake { path, served, stop, thread: Some(thread) }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_n(conn: &mut UnixStream, n: usize) -> usize {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match conn.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    got
}

#[test]
fn wtmpd_closing_without_a_status_is_outcome_unknown_and_never_resent() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path().join("peer")).unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let r2 = requests.clone();
    let fake = Fake::start(dir.path().join("wtmpd"), move |mut conn| {
        let mut request = vec![0u8; 1 + UTMPS_RECORD_SIZE];
        if conn.read_exact(&mut request).is_ok() && request[0] == b'+' {
            r2.lock().unwrap().push(Layout::Utmps.decode(&request[1..]).unwrap().record_type);
        }
        // and close without a status
    });
    let acct = Accounting::native(peer.utmpd_socket(), &fake.path).with_timeout(Duration::from_secs(2));
    let err = acct.open(&login("pts/9")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(err.endpoint(), Some(fake.path.as_path()));
    std::thread::sleep(Duration::from_millis(100));
    // The login is never sent again; the failed open follows it with a logout, in
    // case wtmpd did write it.
    assert_eq!(fake.served.load(Ordering::SeqCst), 2, "one connection per request");
    assert_eq!(*requests.lock().unwrap(), [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS]);
}

/// A utmpd that answers `r` with `rewind`, then every other request with `then`, then closes.
fn scripted_utmpd(path: PathBuf, rewind: Arc<AtomicU8>, then: Vec<u8>) -> Fake {
    Fake::start(path, move |mut conn| {
        let mut first = [0u8; 1];
        if conn.read(&mut first).unwrap_or(0) == 0 {
            return;
        }
        let _ = conn.write_all(&[rewind.load(Ordering::SeqCst)]);
        if rewind.load(Ordering::SeqCst) == 0 {
            let mut next = [0u8; 1];
            if conn.read(&mut next).unwrap_or(0) == 1 {
                let _ = conn.write_all(&then);
            }
        }
    })
}

#[test]
fn malformed_utmpd_answers_are_typed_errors() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let status = Arc::new(AtomicU8::new(0));
    let cases: Vec<(&str, Vec<u8>)> =
        vec![("EOF before the status byte", vec![]), ("a short record", [&[0u8][..], &[9u8; 100][..]].concat())];
    for (n, (what, answer)) in cases.into_iter().enumerate() {
        let fake = scripted_utmpd(dir.path().join(format!("u{n}")), status.clone(), answer.clone());
        let acct = Accounting::native(&fake.path, &fake.path).with_timeout(Duration::from_secs(2));
        let e = acct.entries().map(drop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{what}: {e}");
        if answer.is_empty() {
            // A login reads no record: only a missing status byte concerns it.
            // Its wtmpd is not this fake, which serves one connection at a
            // time: the connection an open makes to wtmpd ahead of its utmp
            // put would hold it.
            let acct = Accounting::native(&fake.path, dir.path().join("no-wtmpd")).with_timeout(Duration::from_secs(2));
            let e = acct.open(&login("pts/1")).map(drop).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{what}: {e}");
        }
    }
    // EOF right after connecting, before any status.
    let fake = Fake::start(dir.path().join("mute"), drop);
    let e = Accounting::native(&fake.path, &fake.path).entries().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
}

#[test]
fn every_errno_from_utmpd_is_a_typed_error() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let rewind = Arc::new(AtomicU8::new(0));
    let answer = Arc::new(AtomicU8::new(0));
    let a2 = answer.clone();
    let r2 = rewind.clone();
    // r answered with `rewind`; when that is 0, the next request with `answer`.
    let fake = Fake::start(dir.path().join("u"), move |mut conn| {
        let mut b = [0u8; 1];
        if conn.read(&mut b).unwrap_or(0) == 1 && conn.write_all(&[r2.load(Ordering::SeqCst)]).is_ok() {
            let _ = conn.read(&mut b);
            let _ = conn.write_all(&[a2.load(Ordering::SeqCst)]);
        }
    });
    let acct = Accounting::native(&fake.path, &fake.path).with_timeout(Duration::from_secs(2));
    for errno in 1..=255u8 {
        for (r, a) in [(errno, 0), (0, errno)] {
            rewind.store(r, Ordering::SeqCst);
            answer.store(a, Ordering::SeqCst);
            match acct.entries() {
                Ok(v) => assert!(a == 3 && v.is_empty(), "errno {errno}: ESRCH alone is the end of the file"),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(i32::from(errno)), "{e}");
                    assert_ne!(e.kind(), ErrorKind::OutcomeUnknown);
                    if errno == 1 {
                        assert_eq!(
                            (e.kind(), e.permission_rule()),
                            (ErrorKind::Permission, Some(PermissionRule::UtmpdGroup))
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn every_errno_from_wtmpd_is_a_typed_error() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path().join("peer")).unwrap();
    let status = Arc::new(AtomicU8::new(0));
    let s2 = status.clone();
    let fake = Fake::start(dir.path().join("w"), move |mut conn| {
        if read_n(&mut conn, 1 + UTMPS_RECORD_SIZE) == 1 + UTMPS_RECORD_SIZE {
            let _ = conn.write_all(&[s2.load(Ordering::SeqCst)]);
        }
    });
    let acct = Accounting::native(peer.utmpd_socket(), &fake.path).with_timeout(Duration::from_secs(2));
    for errno in 1..=255u8 {
        status.store(errno, Ordering::SeqCst);
        let e = acct.open(&login("pts/2")).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(i32::from(errno)), "{e}");
        if errno == 1 {
            assert_eq!((e.kind(), e.permission_rule()), (ErrorKind::Permission, Some(PermissionRule::WtmpdUser)));
        }
    }
    assert_eq!(fake.served.load(Ordering::SeqCst), 255, "one request per open, none retried");
    assert!(acct.who(false).unwrap().is_empty(), "every failed open took its entry back");
}

#[test]
fn garbage_records_decode_without_panic() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let mut junk = vec![0u8];
    junk.extend((0..UTMPS_RECORD_SIZE).map(|i| (i * 37 + 11) as u8));
    junk.push(3); // ESRCH
    let fake = scripted_utmpd(dir.path().join("u"), Arc::new(AtomicU8::new(0)), junk);
    let got = Accounting::native(&fake.path, &fake.path).entries().unwrap();
    assert_eq!(got.len(), 1);
    let _ = format!("{} {} {} {:?}", got[0].user, got[0].line, got[0].host, got[0].time());
}

// ---- property tests ----

fn runner() -> TestRunner {
    TestRunner::new(Config { failure_persistence: None, cases: 512, ..Config::default() })
}

fn bytes<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    proptest::collection::vec(any::<u8>(), N).prop_map(|v| {
        let mut a = [0u8; N];
        a.copy_from_slice(&v);
        a
    })
}

fn record() -> impl Strategy<Value = Record> {
    (
        (any::<i16>(), any::<i32>(), bytes::<32>(), bytes::<4>(), bytes::<32>(), bytes::<256>()),
        (any::<(i16, i16)>(), any::<i32>(), any::<i64>(), 0..1_000_000i32, any::<[u32; 4]>()),
    )
        .prop_map(|((t, pid, line, id, user, host), ((term, status), session, tv_sec, tv_usec, addr_v6))| Record {
            record_type: RecordType(t),
            pid,
            line: Field(line),
            id: Field(id),
            user: Field(user),
            host: Field(host),
            exit: utmps::Exit { termination: term, status },
            session,
            tv_sec,
            tv_usec,
            addr_v6,
        })
}

#[test]
fn answer_decoder_accepts_any_bytes() {
    let _g = serial_after_take_backs();
    // Arbitrary bytes, and arbitrary statuses followed by arbitrary bodies.
    let any_bytes = proptest::collection::vec(any::<u8>(), 0..3000);
    let shaped = proptest::collection::vec(
        (prop_oneof![Just(0u8), any::<u8>()], proptest::collection::vec(any::<u8>(), 0..450)),
        0..8,
    )
    .prop_map(|parts| parts.into_iter().flat_map(|(s, body)| std::iter::once(s).chain(body)).collect::<Vec<u8>>());
    for strategy in [any_bytes.boxed(), shaped.boxed()] {
        runner()
            .run(&strategy, |bytes| {
                let d = utmps::__fuzz::decode_answers(&bytes);
                let used: usize = d
                    .answers
                    .iter()
                    .map(|a| match a {
                        utmps::__fuzz::Answer::Record(r) => {
                            let _ = (r.user.to_string(), r.host.to_string_lossy(), r.time(), r.addr());
                            1 + UTMPS_RECORD_SIZE
                        }
                        utmps::__fuzz::Answer::Status(s) => {
                            assert_ne!(*s, 0);
                            1
                        }
                    })
                    .sum();
                prop_assert_eq!(used + d.trailing, bytes.len());
                prop_assert!(d.trailing <= UTMPS_RECORD_SIZE);
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn answer_streams_round_trip() {
    let _g = serial_after_take_backs();
    let answer = prop_oneof![record().prop_map(Some), Just(None)];
    runner()
        .run(&(proptest::collection::vec(answer, 0..12), 1u8..=255), |(answers, errno)| {
            let mut wire = Vec::new();
            let mut expected = Vec::new();
            for a in &answers {
                match a {
                    Some(r) => {
                        wire.push(0);
                        wire.extend(Layout::Utmps.encode(r).unwrap());
                        expected.push(utmps::__fuzz::Answer::Record(*r));
                    }
                    None => {
                        wire.push(errno);
                        expected.push(utmps::__fuzz::Answer::Status(errno));
                    }
                }
            }
            let d = utmps::__fuzz::decode_answers(&wire);
            prop_assert_eq!(d.answers, expected);
            prop_assert_eq!(d.trailing, 0);
            Ok(())
        })
        .unwrap();
}

#[test]
fn layouts_decode_any_bytes_and_round_trip_valid_records() {
    let _g = serial_after_take_backs();
    runner()
        .run(&proptest::collection::vec(any::<u8>(), 0..900), |bytes| {
            for layout in [Layout::Glibc, Layout::Utmps] {
                let size = layout.record_size();
                prop_assert_eq!(layout.decode(&bytes).is_ok(), bytes.len() == size);
                if bytes.len() >= size {
                    let r = layout.decode(&bytes[..size]).unwrap();
                    let _ = (r.line.to_string(), r.user.to_string_lossy(), r.time(), r.addr());
                }
            }
            Ok(())
        })
        .unwrap();
    runner()
        .run(&record(), |r| {
            prop_assert_eq!(Layout::Utmps.decode(&Layout::Utmps.encode(&r).unwrap()).unwrap(), r);
            match Layout::Glibc.encode(&r) {
                Ok(bytes) => prop_assert_eq!(Layout::Glibc.decode(&bytes).unwrap(), r),
                Err(e) => {
                    prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
                    prop_assert!(i32::try_from(r.tv_sec).is_err());
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn records_written_by_the_native_client_are_the_records_sent() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket());
    let (line, _) = unique();
    let s = acct.open(&login(&line).host("h.example").addr("192.0.2.9".parse().unwrap())).unwrap();
    let sent = *s.record();
    assert_eq!(peer.utmp_records(), vec![sent]);
    assert_eq!(peer.wtmp_records(), vec![sent]);
    s.logout().unwrap();
}
