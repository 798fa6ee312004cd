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
//!   emulation, `c_libutmps_direct` (libutmps's own calls from C,
//!   `c_baseline/libutmps_baseline.c`, compiled when pkg-config finds
//!   `libutmps`) and this crate on libxutmp's utmps flavour (when the bench is
//!   built with `XUTMP_FLAVOUR=utmps`) against those daemons;
//! - `paired/...` (printed after the criterion rows by `cargo bench`): the
//!   native session and the baselines taken in turn, one session each per
//!   round, and the ratio of their medians; and `paired/fsync/...`, what one
//!   sync and two syncs (in turn, side by side) cost where the peer's files are.
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
type LibutmpsFn = unsafe extern "C" fn(*const c_char, *const c_char, *const c_char, *const c_char, c_int) -> c_int;

/// A C baseline, compiled into a temp dir and loaded; `run` is its entry point.
struct Baseline<F> {
    _dir: tempfile::TempDir,
    run: F,
}

fn c_string(path: impl AsRef<std::ffi::OsStr>) -> CString {
    CString::new(path.as_ref().as_bytes()).expect("path without NUL")
}

/// Compiles `c_baseline/<source>` with the system `cc` (and `flags`) into a
/// shared object and returns the address of `symbol` in it.
fn compile_and_load(
    source: &str,
    symbol: &std::ffi::CStr,
    flags: &[String],
) -> Result<(tempfile::TempDir, *mut c_void), String> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c_baseline").join(source);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let object = dir.path().join("libbaseline.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let out = Command::new(&cc)
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&object)
        .arg(&source)
        .args(flags)
        .output()
        .map_err(|e| format!("cannot run `{cc}`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{cc}` failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let object_c = c_string(&object);
    // SAFETY: a NUL-terminated path. The handle is never closed: the function
    // pointer taken from it is used until the process exits. RTLD_LOCAL keeps
    // its symbols (skalibs' too, for the libutmps baseline) out of the way of
    // the bench's own.
    let handle = unsafe { libc::dlopen(object_c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err("dlopen failed".to_owned());
    }
    // SAFETY: a live handle and a NUL-terminated symbol name.
    let address: *mut c_void = unsafe { libc::dlsym(handle, symbol.as_ptr()) };
    if address.is_null() {
        return Err(format!("no symbol {symbol:?}"));
    }
    Ok((dir, address))
}

fn load_baseline() -> Result<Baseline<BaselineFn>, String> {
    let (dir, address) = compile_and_load("session_baseline.c", c"baseline_session", &[])?;
    // SAFETY: session_baseline.c defines baseline_session with exactly this signature.
    let run = unsafe { std::mem::transmute::<*mut c_void, BaselineFn>(address) };
    Ok(Baseline { _dir: dir, run })
}

/// libutmps itself, called from C (`c_baseline/libutmps_baseline.c`), linked
/// statically from what pkg-config's module `libutmps` names.
fn load_libutmps_baseline() -> Result<Baseline<LibutmpsFn>, String> {
    let out = Command::new("pkg-config")
        .args(["--static", "--cflags", "--libs", "libutmps"])
        .output()
        .map_err(|e| format!("cannot run pkg-config: {e}"))?;
    if !out.status.success() {
        return Err(format!("pkg-config finds no libutmps: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let mut flags: Vec<String> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect();
    flags.push("-Wl,--exclude-libs,ALL".to_owned());
    let (dir, address) = compile_and_load("libutmps_baseline.c", c"libutmps_session", &flags)?;
    // SAFETY: libutmps_baseline.c defines libutmps_session with exactly this signature.
    let run = unsafe { std::mem::transmute::<*mut c_void, LibutmpsFn>(address) };
    Ok(Baseline { _dir: dir, run })
}

/// One session of `user` on `line` through the C libutmps baseline.
struct LibutmpsDirect {
    baseline: Baseline<LibutmpsFn>,
    utmpd: CString,
    wtmpd: CString,
    user: CString,
    line: CString,
}

impl LibutmpsDirect {
    fn sessions(&self, iters: u64) -> Duration {
        let n = c_int::try_from(iters).expect("iterations fit an int");
        let started = Instant::now();
        // SAFETY: four NUL-terminated strings that outlive the call.
        let rc = unsafe {
            (self.baseline.run)(self.utmpd.as_ptr(), self.wtmpd.as_ptr(), self.user.as_ptr(), self.line.as_ptr(), n)
        };
        let took = started.elapsed();
        assert_eq!(rc, 0, "the libutmps baseline failed");
        took
    }
}

fn libutmps_direct(utmpd: &std::ffi::OsStr, wtmpd: &std::ffi::OsStr, user: &str, line: &str) -> Option<LibutmpsDirect> {
    match load_libutmps_baseline() {
        Ok(baseline) => Some(LibutmpsDirect {
            baseline,
            utmpd: c_string(utmpd),
            wtmpd: c_string(wtmpd),
            user: c_string(user),
            line: c_string(line),
        }),
        Err(reason) => {
            println!("SKIPPED c_libutmps_direct rows: no libutmps baseline ({reason})");
            None
        }
    }
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
    if let Some(direct) = libutmps_direct(&utmpd, &wtmpd, &own_user(), &line) {
        group.bench_function("c_libutmps_direct_real_daemons", |b| b.iter_custom(|iters| direct.sessions(iters)));
    }
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
    fsync_rows(rounds);
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
    let direct = libutmps_direct(&utmpd, &wtmpd, &own_user(), &line);
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
    if let Some(direct) = &direct {
        rows.push((
            "c_libutmps_direct",
            Box::new(|| {
                let _ = direct.sessions(1);
            }),
        ));
    }
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

/// What two fsyncs cost on the file system of the temp dir (where the peer's
/// files are): one record appended and synced to one file, to two files one
/// after the other, and to two files by two threads at once. The peer's
/// daemons sync after every write as the real ones do, so these rows bound
/// what a client can save there by overlapping a logout's two writes.
fn fsync_rows(rounds: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let open = |name: &str| {
        std::fs::OpenOptions::new().create(true).append(true).open(dir.path().join(name)).expect("temp file")
    };
    let (a, b) = (open("a"), open("b"));
    let record = [0u8; 400];
    let write_sync = |mut file: &File| {
        file.write_all(&record).expect("write");
        file.sync_all().expect("fsync");
    };
    // The second file's writer waits on `go` for each round and reports on `done`.
    let go = std::sync::Barrier::new(2);
    let done = std::sync::Barrier::new(2);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| loop {
            go.wait();
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            write_sync(&b);
            done.wait();
        });
        let rows: Vec<OneSession<'_>> = vec![
            ("one_file", Box::new(|| write_sync(&a))),
            (
                "two_files_in_turn",
                Box::new(|| {
                    write_sync(&a);
                    write_sync(&b);
                }),
            ),
            (
                "two_files_side_by_side",
                Box::new(|| {
                    go.wait();
                    write_sync(&a);
                    done.wait();
                }),
            ),
        ];
        // The writer must be released even when a row panics, or the scope
        // would wait for it for ever.
        let measured = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| paired("fsync", &rows, rounds)));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        go.wait();
        if let Err(panic) = measured {
            std::panic::resume_unwind(panic);
        }
    });
}

criterion_group! {
    name = benches;
    // About 4 s per row on a shared 2-core machine; command-line flags override.
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = session_open_close
}
criterion_main!(benches);
