//! One session open+close, side by side in one run (numbers in BENCHMARKS.md):
//! - `utmps_libc`: utmps on the libc flavour (glibc's file format on temp files,
//!   read and written by libxutmp itself);
//! - `c_glibc_direct`: the same records written by glibc's own calls from C
//!   (`c_baseline/session_baseline.c`: utmpxname, setutxent, pututxline, endutxent
//!   and updwtmpx), compiled with the system `cc` when the bench starts and loaded
//!   with dlopen, so that one harness times both in one process;
//! - `utmps_native_peer` (features `native,test-peer`): the native backend against
//!   the in-process peer, which, like utmpd and wtmpd, fsyncs after every write;
//! - `libutmps_pattern_peer`: beside it, the requests libutmps makes for one
//!   session when every call has a connection of its own (utmpd `r` then `E`,
//!   wtmpd `+`, for the login and again for the logout), each answer awaited
//!   before the next request, written here with `UnixStream`. An emulation of
//!   libutmps's pattern on the wire, not libutmps;
//! - with UTMPS_TEST_UTMPD/UTMPS_TEST_WTMPD: the native backend, the same
//!   emulation, and libxutmp's utmps flavour (libutmps itself, when the bench
//!   is built with `XUTMP_FLAVOUR=utmps`) against those daemons;
//! - `paired/...` (printed after the criterion rows by `cargo bench`): the
//!   native session and the baselines taken in turn, one session each per
//!   round, and the ratio of their medians.
//!
//! Each sample starts from empty files so that wtmp does not grow without bound.
//! Run: `cargo bench -p utmps --features native,test-peer --bench session`.

use std::ffi::{c_char, c_int, c_void, CString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use utmps::{Accounting, Login};

fn login() -> Login {
    Login::new("root", "pts/1").host("bench.example")
}

/// Opens and closes `iters` sessions after `reset`, timing only the sessions.
fn sessions(acct: &Accounting, iters: u64, reset: impl Fn()) -> Duration {
    reset();
    sessions_as(acct, iters, &login())
}

fn sessions_as(acct: &Accounting, iters: u64, login: &Login) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        acct.open(login).expect("open").logout().expect("logout");
    }
    started.elapsed()
}

/// Empties `paths` (creating them: glibc does not).
fn truncate(paths: &[&Path]) {
    for path in paths {
        File::create(path).expect("truncate");
    }
}

struct TempFiles {
    _dir: tempfile::TempDir,
    utmp: PathBuf,
    wtmp: PathBuf,
}

impl TempFiles {
    fn new() -> TempFiles {
        let dir = tempfile::tempdir().expect("temp dir");
        let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
        truncate(&[&utmp, &wtmp]);
        TempFiles { _dir: dir, utmp, wtmp }
    }
}

type BaselineFn = unsafe extern "C" fn(*const c_char, *const c_char, c_int) -> c_int;

/// The C baseline, compiled into a temp dir and loaded.
struct Baseline {
    _dir: tempfile::TempDir,
    run: BaselineFn,
}

fn c_string(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("path without NUL")
}

fn load_baseline() -> Result<Baseline, String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c_baseline/session_baseline.c");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let object = dir.path().join("libsession_baseline.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let out = Command::new(&cc)
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&object)
        .arg(&source)
        .output()
        .map_err(|e| format!("cannot run `{cc}`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{cc}` failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let object_c = c_string(&object);
    // SAFETY: a NUL-terminated path. The handle is never closed: the function
    // pointer taken from it is used until the process exits.
    let handle = unsafe { libc::dlopen(object_c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err("dlopen failed".to_owned());
    }
    // SAFETY: a live handle and a NUL-terminated symbol name.
    let symbol: *mut c_void = unsafe { libc::dlsym(handle, c"baseline_session".as_ptr()) };
    if symbol.is_null() {
        return Err("no symbol baseline_session".to_owned());
    }
    // SAFETY: session_baseline.c defines baseline_session with exactly this signature.
    let run = unsafe { std::mem::transmute::<*mut c_void, BaselineFn>(symbol) };
    Ok(Baseline { _dir: dir, run })
}

fn libc_rows(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let ours = TempFiles::new();
    let acct = match Accounting::files(&ours.utmp, &ours.wtmp) {
        Ok(acct) => acct,
        Err(e) => {
            println!("SKIPPED session_open_close/utmps_libc and c_glibc_direct: {e}");
            return;
        }
    };
    group.bench_function("utmps_libc", |b| {
        b.iter_custom(|iters| sessions(&acct, iters, || truncate(&[&ours.utmp, &ours.wtmp])))
    });

    match load_baseline() {
        Ok(baseline) => {
            let theirs = TempFiles::new();
            let (utmp, wtmp) = (c_string(&theirs.utmp), c_string(&theirs.wtmp));
            group.bench_function("c_glibc_direct", |b| {
                b.iter_custom(|iters| {
                    truncate(&[&theirs.utmp, &theirs.wtmp]);
                    let n = c_int::try_from(iters).expect("iterations fit an int");
                    let started = Instant::now();
                    // SAFETY: two NUL-terminated paths that outlive the call.
                    let rc = unsafe { (baseline.run)(utmp.as_ptr(), wtmp.as_ptr(), n) };
                    let took = started.elapsed();
                    assert_eq!(rc, 0, "the C baseline failed");
                    took
                })
            });
        }
        Err(reason) => println!("SKIPPED session_open_close/c_glibc_direct: no C baseline ({reason})"),
    }
}

#[cfg(all(feature = "native", feature = "test-peer"))]
fn native_row(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let peer = utmps::peer::Peer::start(dir.path()).expect("peer");
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket());
    let reset = || truncate(&[peer.utmp_path(), peer.wtmp_path()]);
    group.bench_function("utmps_native_peer", |b| b.iter_custom(|iters| sessions(&acct, iters, reset)));
    let pattern = LibutmpsPattern::new(peer.utmpd_socket(), peer.wtmpd_socket(), "root", "pts/1");
    group.bench_function("libutmps_pattern_peer", |b| {
        b.iter_custom(|iters| {
            reset();
            pattern.sessions(iters)
        })
    });
}

#[cfg(not(all(feature = "native", feature = "test-peer")))]
fn native_row(_: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    println!(
        "SKIPPED session_open_close/utmps_native_peer and libutmps_pattern_peer: needs --features native,test-peer"
    );
}

/// libutmps's requests for one session when each call connects anew, as
/// libxutmp's utmps flavour makes them: `utmps_start`, `utmps_rewind`,
/// `utmps_putline`, `utmps_end` for utmp, `utmps_updwtmpx` for wtmp; every
/// answer awaited before the next request. An emulation on the wire, not libutmps.
struct LibutmpsPattern {
    utmpd: PathBuf,
    wtmpd: PathBuf,
    login: Vec<u8>,
    logout: Vec<u8>,
}

impl LibutmpsPattern {
    fn new(utmpd: &Path, wtmpd: &Path, user: &str, line: &str) -> LibutmpsPattern {
        let mut login = utmps::Record {
            record_type: utmps::RecordType::USER_PROCESS,
            pid: std::process::id() as i32,
            line: field(line),
            // The last four bytes of the line, as the native backend's default id.
            id: field(&line[line.len().saturating_sub(4)..]),
            user: field(user),
            host: field("bench.example"),
            ..utmps::Record::default()
        };
        login.set_time(std::time::SystemTime::now());
        let encode = |r: &utmps::Record| utmps::layout::Layout::Utmps.encode(r).expect("encodable");
        let logout = encode(&login.dead(utmps::Exit::default()));
        LibutmpsPattern { utmpd: utmpd.to_path_buf(), wtmpd: wtmpd.to_path_buf(), login: encode(&login), logout }
    }

    fn sessions(&self, iters: u64) -> Duration {
        let started = Instant::now();
        for _ in 0..iters {
            for rec in [&self.login, &self.logout] {
                self.utmp_put(rec);
                self.wtmp_append(rec);
            }
        }
        started.elapsed()
    }

    fn utmp_put(&self, rec: &[u8]) {
        let mut conn = UnixStream::connect(&self.utmpd).expect("connect to utmpd");
        request(&mut conn, b"r", &[]);
        request(&mut conn, b"E", rec);
    }

    fn wtmp_append(&self, rec: &[u8]) {
        let mut conn = UnixStream::connect(&self.wtmpd).expect("connect to wtmpd");
        request(&mut conn, b"+", rec);
    }
}

fn field<const N: usize>(s: &str) -> utmps::Field<N> {
    utmps::Field::new(s.as_bytes()).expect("a field that fits")
}

/// Sends one request and waits for its status, which must be 0.
fn request(conn: &mut UnixStream, command: &[u8], payload: &[u8]) {
    let mut bytes = command.to_vec();
    bytes.extend_from_slice(payload);
    conn.write_all(&bytes).expect("send");
    let mut status = [0xffu8];
    conn.read_exact(&mut status).expect("status");
    assert_eq!(status[0], 0, "the daemon refused {:?}", command[0] as char);
}

/// The name of the user this process runs as.
fn own_user() -> String {
    // SAFETY: getpwuid returns NULL or a pointer into static storage, copied at once.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        assert!(!pw.is_null(), "this user has no passwd entry");
        std::ffi::CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned()
    }
}

/// Rows against real utmps daemons, when UTMPS_TEST_UTMPD/UTMPS_TEST_WTMPD name
/// their sockets: the native client, and libxutmp when it is the utmps flavour.
fn real_daemon_rows(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let (Some(utmpd), Some(wtmpd)) = (std::env::var_os("UTMPS_TEST_UTMPD"), std::env::var_os("UTMPS_TEST_WTMPD"))
    else {
        println!("SKIPPED session_open_close/*_real_daemons: UTMPS_TEST_UTMPD and UTMPS_TEST_WTMPD are unset");
        return;
    };
    // A line of its own, so that no real session's entry is touched; the caller's
    // own user, because wtmpd accepts a non-root caller's record only under that name.
    let line = format!("bench/{}", std::process::id());
    let login = Login::new(own_user(), &line).host("bench.example");
    #[cfg(feature = "native")]
    {
        let acct = Accounting::native(&utmpd, &wtmpd);
        group.bench_function("native_real_daemons", |b| b.iter_custom(|iters| sessions_as(&acct, iters, &login)));
    }
    let pattern = LibutmpsPattern::new(Path::new(&utmpd), Path::new(&wtmpd), &own_user(), &line);
    group.bench_function("libutmps_pattern_real_daemons", |b| b.iter_custom(|iters| pattern.sessions(iters)));
    match Accounting::xutmp(&utmpd, &wtmpd) {
        Ok(acct) if acct.backend() == utmps::BackendKind::XutmpUtmps => {
            group.bench_function("xutmp_utmps_real_daemons", |b| {
                b.iter_custom(|iters| sessions_as(&acct, iters, &login))
            });
        }
        _ => println!("SKIPPED session_open_close/xutmp_utmps_real_daemons: libxutmp is not the utmps flavour"),
    }
}

fn session_open_close(c: &mut Criterion) {
    let mut group = c.benchmark_group("session_open_close");
    libc_rows(&mut group);
    native_row(&mut group);
    real_daemon_rows(&mut group);
    group.finish();
    paired_rows();
}

/// One session, by one of the clients compared.
type OneSession<'a> = (&'a str, Box<dyn Fn() + 'a>);

/// Times `rounds` sessions of each of `rows`, interleaved (each round starts
/// with the next row), so that a disk or CPU that slows down for a while (the
/// fsyncs here vary tenfold on a shared machine) weighs on every row alike;
/// prints each row's median and the first row's median over each other's.
fn paired(label: &str, rows: &[OneSession<'_>], rounds: usize) {
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); rows.len()];
    for round in 0..rounds {
        for k in 0..rows.len() {
            let row = (round + k) % rows.len();
            let started = Instant::now();
            (rows[row].1)();
            times[row].push(started.elapsed());
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect();
    for (row, median) in rows.iter().zip(&medians) {
        println!("paired/{label}/{}: median {median:.2?} over {rounds} sessions", row.0);
    }
    for (row, median) in rows.iter().zip(&medians).skip(1) {
        let ratio = medians[0].as_secs_f64() / median.as_secs_f64();
        println!("paired/{label}: {} / {} = {ratio:.2}", rows[0].0, row.0);
    }
}

/// The interleaved comparisons of the native session with libutmps's pattern
/// (and with libutmps itself where libxutmp is its utmps flavour). Run only
/// by `cargo bench`, not when the bench is run as a test.
fn paired_rows() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds = std::env::var("UTMPS_BENCH_PAIRED_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(500);
    #[cfg(all(feature = "native", feature = "test-peer"))]
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let peer = utmps::peer::Peer::start(dir.path()).expect("peer");
        let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket());
        let pattern = LibutmpsPattern::new(peer.utmpd_socket(), peer.wtmpd_socket(), "root", "pts/1");
        let rows: Vec<OneSession<'_>> = vec![
            (
                "utmps_native",
                Box::new(|| {
                    let _ = sessions_as(&acct, 1, &login());
                }),
            ),
            (
                "libutmps_pattern",
                Box::new(|| {
                    let _ = pattern.sessions(1);
                }),
            ),
        ];
        paired("peer", &rows, rounds);
    }
    let (Some(utmpd), Some(wtmpd)) = (std::env::var_os("UTMPS_TEST_UTMPD"), std::env::var_os("UTMPS_TEST_WTMPD"))
    else {
        return;
    };
    let line = format!("bench/{}", std::process::id());
    let login = Login::new(own_user(), &line).host("bench.example");
    #[cfg(feature = "native")]
    let native = Accounting::native(&utmpd, &wtmpd);
    let pattern = LibutmpsPattern::new(Path::new(&utmpd), Path::new(&wtmpd), &own_user(), &line);
    let xutmp = Accounting::xutmp(&utmpd, &wtmpd).ok().filter(|a| a.backend() == utmps::BackendKind::XutmpUtmps);
    let mut rows: Vec<OneSession<'_>> = Vec::new();
    #[cfg(feature = "native")]
    rows.push((
        "utmps_native",
        Box::new(|| {
            let _ = sessions_as(&native, 1, &login);
        }),
    ));
    rows.push((
        "libutmps_pattern",
        Box::new(|| {
            let _ = pattern.sessions(1);
        }),
    ));
    if let Some(xutmp) = &xutmp {
        rows.push((
            "xutmp_utmps",
            Box::new(|| {
                let _ = sessions_as(xutmp, 1, &login);
            }),
        ));
    }
    paired("real_daemons", &rows, rounds);
}

criterion_group! {
    name = benches;
    // About 4 s per row on a shared 2-core machine; command-line flags override.
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = session_open_close
}
criterion_main!(benches);
