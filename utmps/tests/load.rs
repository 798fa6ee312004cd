//! Load: 1,000 sessions opened and closed from 1, 8 and 32 threads at once, on the
//! libc flavour (glibc's file format on temp files) and on the native backend against the
//! in-process peer. Nothing may be lost or written twice; the open+close
//! latencies are printed (run with `--nocapture`) for BENCHMARKS.md. The tests
//! run one at a time (`serial()`): the backends are measured one after the
//! other, not against each other.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use support::{own_user, serial, Files};
use utmps::{Accounting, Login, Record, RecordType};

const SESSIONS: usize = 1000;
const THREADS: [usize; 3] = [1, 8, 32];

/// A distinct line per session. Lines of threads t and t+10 share their last four
/// bytes (`pts/01005`, `pts/11005`), so the same ut_id is wanted by two live
/// sessions at about the same time and one of them takes an alternate id.
fn line(thread: usize, n: usize) -> String {
    format!("pts/{thread:02}{n:03}")
}

/// Opens and closes `SESSIONS` sessions spread over `threads` threads that start
/// together; returns each session's open+close time.
fn run(acct: &Accounting, threads: usize) -> Vec<Duration> {
    let start = Arc::new(Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (acct, start) = (acct.clone(), start.clone());
            let count = SESSIONS / threads + usize::from(t < SESSIONS % threads);
            thread::spawn(move || {
                let user = own_user();
                start.wait();
                let mut latencies = Vec::with_capacity(count);
                for n in 0..count {
                    let line = line(t, n);
                    let began = Instant::now();
                    let session =
                        acct.open(&Login::new(user.as_str(), &line)).unwrap_or_else(|e| panic!("open {line}: {e}"));
                    session.logout().unwrap_or_else(|e| panic!("logout {line}: {e}"));
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(backend: &str, threads: usize, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort();
    println!(
        "load {backend:<12} {threads:>2} threads: {} sessions in {wall:>10.2?} ({:>6.0}/s); open+close p50 {:>10.2?} p99 {:>10.2?} max {:>10.2?}",
        latencies.len(),
        latencies.len() as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
    );
}

/// Checks what the sessions left: wtmp holds exactly one login and one logout per
/// session (by line, pid and type) and nothing else; utmp has no live entry and no
/// slot written twice for one line and id.
fn check(threads: usize, utmp: &[Record], wtmp: &[Record]) {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    let mut seen: HashMap<(Vec<u8>, i32, RecordType), usize> = HashMap::new();
    for r in wtmp {
        *seen.entry((r.line.as_bytes().to_vec(), r.pid, r.record_type)).or_default() += 1;
    }
    assert_eq!(wtmp.len(), 2 * SESSIONS, "{threads} threads: wtmp must hold 2 records per session");
    for t in 0..threads {
        for n in 0..SESSIONS / threads + usize::from(t < SESSIONS % threads) {
            let line = line(t, n).into_bytes();
            for kind in [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS] {
                let got = seen.get(&(line.clone(), me, kind)).copied().unwrap_or(0);
                assert_eq!(got, 1, "{threads} threads: {kind:?} records of {} in wtmp", String::from_utf8_lossy(&line));
            }
        }
    }
    let live: Vec<&Record> = utmp.iter().filter(|r| r.is_user_process()).collect();
    assert!(live.is_empty(), "{threads} threads: live entries left in utmp: {live:?}");
    let mut slots: HashMap<(&[u8], &[u8]), usize> = HashMap::new();
    for r in utmp {
        *slots.entry((r.line.as_bytes(), r.id.as_bytes())).or_default() += 1;
    }
    let doubled: Vec<_> = slots.iter().filter(|(_, &n)| n > 1).collect();
    assert!(doubled.is_empty(), "{threads} threads: one line and id in several utmp slots: {doubled:?}");
    assert!(utmp.len() <= SESSIONS, "{threads} threads: {} utmp slots for {SESSIONS} lines", utmp.len());
}

#[test]
fn libc_1000_sessions_from_1_8_and_32_threads() {
    let _serial = serial();
    for threads in THREADS {
        let f = Files::new();
        let acct = f.acct();
        let began = Instant::now();
        let latencies = run(&acct, threads);
        report("libc", threads, latencies, began.elapsed());
        // Files::utmp_records and wtmp_records also check for whole 384-byte records.
        check(threads, &f.utmp_records(), &f.wtmp_records());
    }
}

/// The two lines share their default ut_id ("1012"). While both are live, each
/// must keep its own utmp entry: glibc's slot rule matches by id whatever the
/// line, so the id must be checked and written under one lock.
#[test]
fn colliding_lines_from_two_threads_keep_their_own_live_entries() {
    let _serial = serial();
    let f = Files::new();
    assert_eq!(collide(&f.acct()), [0, 0], "live entries overwritten by the other line's session, per line");
}

/// Two threads open and close sessions on `pts/1012` and `pts/11012` in a loop;
/// returns, per line, how often its live entry was not found while it was open.
fn collide(acct: &Accounting) -> Vec<usize> {
    let workers: Vec<_> = ["pts/1012", "pts/11012"]
        .into_iter()
        .map(|line| {
            let acct = acct.clone();
            thread::spawn(move || {
                let user = own_user();
                let mut lost = 0;
                for _ in 0..300 {
                    let session = acct.open(&Login::new(user.as_str(), line)).unwrap();
                    let live = acct.who(false).unwrap();
                    if !live.iter().any(|r| r.line.as_bytes() == line.as_bytes() && r.id == session.record().id) {
                        lost += 1;
                    }
                    session.logout().unwrap();
                }
                lost
            })
        })
        .collect();
    workers.into_iter().map(|w| w.join().unwrap()).collect()
}

#[cfg(all(feature = "native", feature = "test-peer"))]
mod native {
    use super::*;
    use utmps::layout::Layout;
    use utmps::peer::Peer;

    /// The native part's per-operation deadline: 32 threads against a peer that
    /// fsyncs every write can queue for seconds on a loaded 2-core machine, and this
    /// test counts lost and doubled records, not latency.
    const NATIVE_TIMEOUT: Duration = Duration::from_secs(30);

    fn whole_records(path: &std::path::Path) {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert_eq!(len % Layout::Utmps.record_size() as u64, 0, "{} is not whole 400-byte records", path.display());
    }

    #[test]
    fn native_1000_sessions_from_1_8_and_32_threads() {
        let _serial = serial();
        for threads in THREADS {
            let dir = tempfile::tempdir().unwrap();
            let peer = Peer::start(dir.path()).unwrap();
            let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(NATIVE_TIMEOUT);
            let began = Instant::now();
            let latencies = run(&acct, threads);
            report("native/peer", threads, latencies, began.elapsed());
            whole_records(peer.utmp_path());
            whole_records(peer.wtmp_path());
            check(threads, &peer.utmp_records(), &peer.wtmp_records());
        }
    }

    /// utmpd matches a put by id AND line, so colliding lines cannot overwrite
    /// each other there; the same check as on the libc flavour.
    #[test]
    fn colliding_lines_from_two_threads_keep_their_own_live_entries_native() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let peer = Peer::start(dir.path()).unwrap();
        let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket());
        assert_eq!(collide(&acct), [0, 0], "live entries overwritten by the other line's session, per line");
    }
}
