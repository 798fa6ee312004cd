//! Load on one wtmpdb from one process: 100 threads × 20 sessions and
//! 32 threads × 100, each open and each logout under the default timeout.
//! This process's writers take turns in order, so its own load never fails a
//! session: no call fails, every row gets its logout, and no call takes
//! longer than its deadline and 100 ms. The counts and the slowest call are
//! printed (run with `--nocapture`) for BENCHMARKS.md.

mod support;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use support::serial;
use utmps::{Accounting, Login, DEFAULT_TIMEOUT};

/// What a run saw.
#[derive(Default)]
struct Outcome {
    failed: Vec<String>,
    slowest: Duration,
}

fn run(db: &Path, threads: usize, per_thread: usize) -> Outcome {
    let acct = Accounting::empty().with_wtmpdb(db);
    let start = Arc::new(Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (acct, start) = (acct.clone(), start.clone());
            thread::spawn(move || {
                let mut seen = Outcome::default();
                start.wait();
                for n in 0..per_thread {
                    let line = format!("pts/{t}-{n}");
                    let began = Instant::now();
                    let opened = acct.open(&Login::new("loaduser", &line).host("192.0.2.1"));
                    seen.slowest = seen.slowest.max(began.elapsed());
                    let session = match opened {
                        Ok(s) => s,
                        Err(e) => {
                            seen.failed.push(format!("open {line}: {e}"));
                            continue;
                        }
                    };
                    let began = Instant::now();
                    let closed = session.logout();
                    seen.slowest = seen.slowest.max(began.elapsed());
                    if let Err(e) = closed {
                        seen.failed.push(format!("logout {line}: {e}"));
                    }
                }
                seen
            })
        })
        .collect();
    let mut all = Outcome::default();
    for w in workers {
        let seen = w.join().unwrap();
        all.failed.extend(seen.failed);
        all.slowest = all.slowest.max(seen.slowest);
    }
    all
}

fn load(threads: usize, per_thread: usize) {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wtmp.db");
    std::fs::write(&db, b"").unwrap();
    let began = Instant::now();
    let seen = run(&db, threads, per_thread);
    let wall = began.elapsed();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let (rows, open) = (count("SELECT count(*) FROM wtmp"), count("SELECT count(*) FROM wtmp WHERE Logout IS NULL"));
    println!(
        "wtmpdb load {threads:>3} threads x {per_thread:>3}: {} failed, {open} rows left open of {rows}, slowest call {:.3?}, {wall:.2?} in all",
        seen.failed.len(),
        seen.slowest
    );
    assert!(seen.failed.is_empty(), "{} calls failed, the first: {:?}", seen.failed.len(), seen.failed.first());
    assert_eq!((rows, open), ((threads * per_thread) as i64, 0), "every session's row, each with its logout");
    let bound = DEFAULT_TIMEOUT + Duration::from_millis(100);
    assert!(seen.slowest <= bound, "the slowest call took {:?}, over {bound:?}", seen.slowest);
}

#[test]
fn a_hundred_threads_of_twenty_sessions_lose_nothing() {
    load(100, 20);
}

#[test]
fn thirty_two_threads_of_a_hundred_sessions_lose_nothing() {
    load(32, 100);
}
