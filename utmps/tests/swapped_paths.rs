//! Paths swapped or pointed at the wrong file: a lastlog file or a zero-filled
//! file given as utmp, wtmp or btmp, and devices, FIFOs and directories given
//! to the readers. Zero bytes are no login records: every write is refused with
//! `InvalidInput` and changes nothing, and every read refuses what is no
//! regular file at once.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{in_secs, mkfifo, root_or_skip, Files, USER};
use utmps::lastlog::{LastLogin, LASTLOG_RECORD_SIZE};
use utmps::layout::Layout;
use utmps::{btmp, Accounting, ErrorKind, Field, Login};

/// A sparse lastlog file in which only `uid` has logged in.
fn lastlog_of(dir: &Path, name: &str, uid: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path).unwrap();
    let entry =
        LastLogin { time: 1_700_000_000, line: Field::new(b"pts/4").unwrap(), host: Field::new(b"h.example").unwrap() };
    utmps::lastlog::write(&path, uid, &entry, in_secs(2)).unwrap();
    path
}

fn zeros(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, vec![0u8; len]).unwrap();
    path
}

fn assert_refused(e: &utmps::Error, what: &str) {
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
    assert_eq!(e.raw_os_error(), Some(libc::EMEDIUMTYPE), "{what}: {e}");
}

/// Files that are no utmp, wtmp or btmp file: a lastlog file of uid 1000
/// (292,292 bytes: a 68-byte "torn tail"), one of uid 1055 (308,352 bytes:
/// whole records), and zero-filled files with and without a tail.
fn not_records(f: &Files) -> Vec<(PathBuf, &'static str)> {
    let d = f.dir.path();
    vec![
        (lastlog_of(d, "lastlog-1000", 1000), "lastlog of uid 1000"),
        (lastlog_of(d, "lastlog-1055", 1055), "lastlog of whole records"),
        (zeros(d, "zeros-4096", 4096), "4096 zero bytes"),
        (zeros(d, "zeros-10", 10 * Layout::Glibc.record_size()), "ten zero records"),
    ]
}

#[test]
fn a_lastlog_or_zero_file_as_wtmp_is_refused_and_left_alone() {
    let f = Files::new();
    for (path, what) in not_records(&f) {
        let before = std::fs::read(&path).unwrap();
        let acct = Accounting::files(&f.utmp, &path).unwrap();
        let e = acct.open(&Login::new(USER, "pts/1")).map(drop).unwrap_err();
        assert_refused(&e, what);
        assert_eq!(std::fs::read(&path).unwrap(), before, "{what} was changed");
        assert!(acct.who(false).unwrap().is_empty(), "{what}: the utmp entry was taken back");
    }
}

#[test]
fn a_lastlog_or_zero_file_as_utmp_is_refused_and_left_alone() {
    let f = Files::new();
    for (path, what) in not_records(&f) {
        let before = std::fs::read(&path).unwrap();
        let e = Accounting::files(&path, &f.wtmp).unwrap().open(&Login::new(USER, "pts/2")).map(drop).unwrap_err();
        assert_refused(&e, what);
        assert_eq!(std::fs::read(&path).unwrap(), before, "{what} was changed");
        assert!(f.wtmp_records().is_empty(), "{what}: nothing reached wtmp");
    }
}

#[test]
fn empty_and_real_files_still_take_logins() {
    let f = Files::new();
    let acct = f.acct();
    acct.open(&Login::new(USER, "pts/3")).unwrap().logout().unwrap();
    acct.open(&Login::new(USER, "pts/4")).unwrap().logout().unwrap();
    assert_eq!(f.wtmp_records().len(), 4);
    assert_eq!(f.utmp_records().len(), 2);
}

#[test]
fn btmp_of_text_junk_or_zeros_is_refused_and_left_alone() {
    if !root_or_skip("btmp_of_text_junk_or_zeros_is_refused_and_left_alone") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let size = Layout::system().record_size();
    let failed = Login::new("admin", btmp::NOTTY_LINE);
    let good = dir.path().join("good");
    std::fs::File::create(&good).unwrap();
    std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o600)).unwrap();
    btmp::record_failed_login(&good, &failed, in_secs(2)).unwrap();
    let one = std::fs::read(&good).unwrap();
    let mut then_zero = one.clone();
    then_zero.extend(vec![0u8; size]);
    let cases: [(&str, Vec<u8>); 4] = [
        ("768 bytes of x", vec![b'x'; 2 * size]),
        ("384 bytes of 0xff", vec![0xff; size]),
        ("zero records", vec![0; 3 * size]),
        ("a record, then zeros", then_zero),
    ];
    for (what, bytes) in cases {
        let path = dir.path().join("btmp");
        std::fs::write(&path, &bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = btmp::record_failed_login(&path, &failed, in_secs(2)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what} was changed");
    }
    // A file of real records keeps taking them.
    btmp::record_failed_login(&good, &failed, in_secs(2)).unwrap();
    assert_eq!(std::fs::metadata(&good).unwrap().len() as usize, 2 * size);
}

/// Paths that name no regular file: a device read as endless zero records, one
/// read as an empty file, a FIFO and a directory.
fn non_files(dir: &Path) -> Vec<PathBuf> {
    let fifo = dir.join("fifo");
    mkfifo(&fifo, 0o600);
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    vec![PathBuf::from("/dev/zero"), PathBuf::from("/dev/null"), fifo, sub]
}

#[test]
fn utmp_reads_refuse_what_is_no_regular_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for path in non_files(dir.path()) {
        let what = path.display().to_string();
        let acct = Accounting::files(&path, &path).unwrap().with_timeout(Duration::from_secs(2));
        let started = Instant::now();
        assert_refused(&acct.entries().unwrap_err(), &format!("{what}: entries"));
        assert_refused(&acct.who(false).unwrap_err(), &format!("{what}: who"));
        assert_refused(&acct.sweep(|_| true).unwrap_err(), &format!("{what}: sweep"));
        assert!(started.elapsed() < Duration::from_secs(1), "{what}: refusing took {:?}", started.elapsed());
    }
}

#[test]
fn lastlog_reads_refuse_what_is_no_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    for path in non_files(dir.path()) {
        let what = path.display().to_string();
        assert_refused(&utmps::lastlog::read(&path, 0).unwrap_err(), &what);
    }
    // A real lastlog file still reads, holes as "never logged in".
    let f = Files::new();
    let path = lastlog_of(f.dir.path(), "lastlog", 1000);
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, 1001 * LASTLOG_RECORD_SIZE);
    assert_eq!(utmps::lastlog::read(&path, 1000).unwrap().unwrap().host.as_bytes(), b"h.example");
    assert_eq!(utmps::lastlog::read(&path, 3).unwrap(), None);
}
