//! Reading 10,000 utmp entries, side by side in one run (numbers in BENCHMARKS.md):
//! - `read_10k_native`: the native backend against the in-process peer, pipelined
//!   (`Accounting::entries`, READ_WINDOW requests in flight) beside one request at
//!   a time (the same reader with a window of 1);
//! - `read_10k_file`: `utmps::files::read` of a glibc utmp file beside running
//!   `who FILE` on it (a process spawn, glibc's getutxent, one stat of /dev/LINE
//!   per entry and 10,000 lines of output included: what a script would do).
//!
//! Run: `cargo bench -p utmps --features native,test-peer --bench read`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use utmps::layout::Layout;
use utmps::{Accounting, Field, Record, RecordType};

const ENTRIES: usize = 10_000;

fn field<const N: usize>(text: &str) -> Field<N> {
    let mut f = [0u8; N];
    f[..text.len()].copy_from_slice(text.as_bytes());
    Field(f)
}

/// Writes `ENTRIES` live sessions, each on its own line, straight to a file.
fn write_entries(path: &Path, layout: Layout) {
    let mut bytes = Vec::with_capacity(ENTRIES * layout.record_size());
    for n in 0..ENTRIES {
        let line = format!("pts/{n}");
        let record = Record {
            record_type: RecordType::USER_PROCESS,
            pid: 1000 + n as i32,
            id: field(&line[line.len().saturating_sub(4)..]),
            line: field(&line),
            user: field("bench"),
            host: field("client.example.org"),
            tv_sec: 1_700_000_000 + n as i64,
            ..Record::default()
        };
        bytes.extend(layout.encode(&record).expect("encodable record"));
    }
    std::fs::write(path, bytes).expect("write utmp");
}

fn read_native(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    // The peer's utmp is `<dir>/utmp`; written before the peer starts.
    write_entries(&dir.path().join("utmp"), Layout::Utmps);
    let peer = utmps::peer::Peer::start(dir.path()).expect("peer");
    assert_eq!(peer.utmp_path(), dir.path().join("utmp"));
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket());
    assert_eq!(acct.entries().expect("pipelined read").len(), ENTRIES);
    let deadline = || Instant::now() + Duration::from_secs(30);
    let one_at_a_time = utmps::__fuzz::read_utmp_windowed(peer.utmpd_socket(), 1, deadline()).expect("read");
    assert_eq!(one_at_a_time.len(), ENTRIES);

    let mut group = c.benchmark_group("read_10k_native");
    group.sample_size(10);
    group.bench_function("pipelined", |b| b.iter(|| acct.entries().expect("read")));
    group.bench_function("one_request_at_a_time", |b| {
        b.iter(|| utmps::__fuzz::read_utmp_windowed(peer.utmpd_socket(), 1, deadline()).expect("read"))
    });
    group.finish();
}

fn read_file(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let utmp = dir.path().join("utmp");
    write_entries(&utmp, Layout::Glibc);
    let timeout = Duration::from_secs(5);
    assert_eq!(utmps::files::read(&utmp, Some(Layout::Glibc), timeout).expect("read").records.len(), ENTRIES);

    let mut group = c.benchmark_group("read_10k_file");
    group.sample_size(10);
    group.bench_function("utmps_files_read", |b| {
        b.iter(|| utmps::files::read(&utmp, Some(Layout::Glibc), timeout).expect("read"))
    });
    let who = |path: &Path| Command::new("who").arg(path).env("LC_ALL", "C").output();
    match who(&utmp) {
        Ok(out) if out.status.success() => {
            let lines = out.stdout.iter().filter(|&&b| b == b'\n').count();
            assert_eq!(lines, ENTRIES, "who must list every entry");
            group.bench_function("who_process", |b| b.iter(|| who(&utmp).expect("who")));
        }
        Ok(out) => println!("SKIPPED read_10k_file/who_process: who failed ({})", String::from_utf8_lossy(&out.stderr)),
        Err(e) => println!("SKIPPED read_10k_file/who_process: cannot run who ({e})"),
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Each 10k read takes milliseconds; ten samples keep a row near 5 s on a shared 2-core machine.
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = read_native, read_file
}
criterion_main!(benches);
