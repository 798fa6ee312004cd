//! Paths that hold something other than the expected file (a symlink to a
//! text file, a FIFO, a directory, a device): every write is refused with a
//! clear error and changes nothing. Symlinks to real files keep working, and a
//! torn last record is still accepted as glibc accepts it.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{in_secs, mkfifo, Files, USER};
use utmps::lastlog::{LastLogin, LASTLOG_RECORD_SIZE};
use utmps::layout::Layout;
use utmps::{Accounting, ErrorKind, Field, Login, Record, RecordType};

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
    daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
    bin:x:2:2:bin:/bin:/usr/sbin/nologin\n\
    sys:x:3:3:sys:/dev:/usr/sbin/nologin\n\
    alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n\
    bob:x:1001:1001:Bob,,,:/home/bob:/bin/bash\n";

/// A copy of a passwd file of exactly `len` bytes, and a symlink to it.
fn passwd_behind_symlink(f: &Files, len: usize) -> (PathBuf, PathBuf) {
    let text: Vec<u8> = PASSWD.bytes().cycle().take(len).collect();
    let copy = f.dir.path().join("passwd-copy");
    let link = f.dir.path().join("link");
    std::fs::write(&copy, text).unwrap();
    std::os::unix::fs::symlink(&copy, &link).unwrap();
    (copy, link)
}

fn assert_not_accounting_file(e: &utmps::Error, what: &str) {
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
    assert_eq!(e.raw_os_error(), Some(libc::EMEDIUMTYPE), "{what}: {e}");
    assert!(e.to_string().contains("nothing was written"), "{what}: {e}");
}

fn login() -> Login {
    Login::new(USER, "pts/40").host("mallory.example")
}

#[test]
fn a_utmp_symlink_to_text_is_refused_and_left_byte_identical() {
    // Shorter than one record, a torn tail only, and whole "records" only.
    for len in [200, PASSWD.len(), 3 * Layout::Glibc.record_size()] {
        let f = Files::new();
        let (copy, link) = passwd_behind_symlink(&f, len);
        let before = std::fs::read(&copy).unwrap();
        let acct = Accounting::files(&link, &f.wtmp).unwrap();
        let e = acct.open(&login()).unwrap_err();
        assert_not_accounting_file(&e, "utmp");
        assert!(e.to_string().contains("holds no utmp file"), "{e}");
        assert_eq!(std::fs::read(&copy).unwrap(), before, "{len} bytes of text were changed");
        assert!(f.wtmp_records().is_empty(), "nothing reached wtmp either");
    }
}

#[test]
fn a_wtmp_symlink_to_text_is_refused_and_the_login_taken_back() {
    for len in [200, PASSWD.len(), 3 * Layout::Glibc.record_size()] {
        let f = Files::new();
        let (copy, link) = passwd_behind_symlink(&f, len);
        let before = std::fs::read(&copy).unwrap();
        let acct = Accounting::files(&f.utmp, &link).unwrap();
        let e = acct.open(&login()).unwrap_err();
        assert_not_accounting_file(&e, "wtmp");
        assert!(e.to_string().contains("holds no wtmp file"), "{e}");
        assert_eq!(std::fs::read(&copy).unwrap(), before, "{len} bytes of text were changed");
        assert!(acct.who(false).unwrap().is_empty(), "the utmp entry was taken back");
    }
}

#[test]
fn a_wtmp_whose_last_record_is_text_is_refused() {
    let f = Files::new();
    let acct = f.acct();
    acct.open(&login()).unwrap().logout().unwrap();
    let mut bytes = std::fs::read(&f.wtmp).unwrap();
    bytes.extend(PASSWD.bytes().cycle().take(Layout::Glibc.record_size()));
    std::fs::write(&f.wtmp, &bytes).unwrap();
    let e = acct.open(&login()).unwrap_err();
    assert_not_accounting_file(&e, "wtmp");
    assert_eq!(std::fs::read(&f.wtmp).unwrap(), bytes);
}

#[test]
fn a_lastlog_symlink_to_text_is_refused_before_anything_is_written() {
    // Not a whole number of records; then whole records of text, with the
    // target inside the file (uid 0) and past it (a big uid).
    for len in [PASSWD.len(), 3 * LASTLOG_RECORD_SIZE] {
        let f = Files::new();
        let (copy, link) = passwd_behind_symlink(&f, len);
        let before = std::fs::read(&copy).unwrap();
        let acct = f.acct().with_lastlog(&link);
        let e = acct.open(&login().lastlog(true)).unwrap_err();
        assert_not_accounting_file(&e, "lastlog");
        assert!(e.to_string().contains("holds no lastlog file"), "{e}");
        assert!(f.utmp_records().is_empty() && f.wtmp_records().is_empty(), "found before utmp and wtmp");
        for uid in [0, 1, 60_000] {
            let e = utmps::lastlog::write(&link, uid, &entry(), in_secs(5)).unwrap_err();
            assert_not_accounting_file(&e, "lastlog write");
        }
        assert_eq!(std::fs::read(&copy).unwrap(), before, "{len} bytes of text were changed");
    }
}

fn entry() -> LastLogin {
    let mut line = [0u8; 32];
    line[..6].copy_from_slice(b"pts/40");
    LastLogin { time: 1_700_000_000, line: Field(line), host: Field([0; 256]) }
}

/// Every write through `path` (as utmp, as wtmp, as lastlog) is refused with
/// `kind`, and well before the 5 s deadline: nothing waits on a FIFO or a lock.
fn refused_everywhere(path: &Path, kind: ErrorKind, what: &str) {
    let f = Files::new();
    let started = Instant::now();
    let as_utmp = Accounting::files(path, &f.wtmp).unwrap().open(&login()).unwrap_err();
    let as_wtmp = Accounting::files(&f.utmp, path).unwrap().open(&login()).unwrap_err();
    let as_lastlog = f.acct().with_lastlog(path).open(&login().lastlog(true)).unwrap_err();
    let direct = utmps::lastlog::write(path, 0, &entry(), in_secs(5)).unwrap_err();
    for (e, role) in [(as_utmp, "utmp"), (as_wtmp, "wtmp"), (as_lastlog, "lastlog"), (direct, "lastlog write")] {
        assert_eq!(e.kind(), kind, "{what} as {role}: {e}");
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{what}: refusing took {:?}", started.elapsed());
    assert!(f.utmp_records().iter().all(|r| !r.is_user_process()), "{what}: a live entry stayed behind");
}

#[test]
fn a_fifo_a_directory_and_a_device_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo, 0o644);
    refused_everywhere(&fifo, ErrorKind::InvalidInput, "a FIFO");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    refused_everywhere(&sub, ErrorKind::InvalidInput, "a directory");
    assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0, "the directory stays empty");
    refused_everywhere(Path::new("/dev/null"), ErrorKind::InvalidInput, "/dev/null");
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
}

#[test]
fn symlinks_to_real_files_still_work() {
    let f = Files::new();
    let link = |name: &str, to: &Path| {
        let p = f.dir.path().join(name);
        std::os::unix::fs::symlink(to, &p).unwrap();
        p
    };
    let (utmp, wtmp, lastlog) = (link("u", &f.utmp), link("w", &f.wtmp), link("l", &f.lastlog));
    let acct = Accounting::files(&utmp, &wtmp).unwrap().with_lastlog(&lastlog);
    acct.open(&login().lastlog(true)).unwrap().logout().unwrap();
    assert_eq!(f.utmp_records().len(), 1);
    assert_eq!(f.utmp_records()[0].record_type, RecordType::DEAD_PROCESS);
    assert_eq!(f.wtmp_records().len(), 2);
    let last = utmps::lastlog::read(&f.lastlog, 0).unwrap().expect("root's lastlog entry");
    assert_eq!(last.host.as_bytes(), b"mallory.example");
}

fn torn(rec: &Record, len: usize) -> Vec<u8> {
    Layout::Glibc.encode(rec).unwrap()[..len].to_vec()
}

#[test]
fn a_torn_last_record_is_still_accepted_and_junk_is_not() {
    let f = Files::new();
    let acct = f.acct();
    acct.open(&Login::new(USER, "pts/41")).unwrap().logout().unwrap();
    let good = f.wtmp_records()[0];
    let size = Layout::Glibc.record_size();
    for path in [&f.utmp, &f.wtmp] {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(torn(&good, 100));
        std::fs::write(path, bytes).unwrap();
    }
    acct.open(&Login::new(USER, "pts/42")).unwrap().logout().unwrap();
    // utmp: appended after cutting the tail; wtmp: the same, two records more.
    assert_eq!(std::fs::metadata(&f.utmp).unwrap().len() as usize, 2 * size);
    assert_eq!(std::fs::metadata(&f.wtmp).unwrap().len() as usize, 4 * size);

    for path in [&f.utmp, &f.wtmp] {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(b"JUNKJUNKJU");
        std::fs::write(path, &bytes).unwrap();
        let e = acct.open(&Login::new(USER, "pts/43")).unwrap_err();
        assert_not_accounting_file(&e, "junk tail");
        assert_eq!(std::fs::read(path).unwrap(), bytes, "a junk tail is not cut");
        std::fs::write(path, &bytes[..bytes.len() - 10]).unwrap();
    }
}

#[test]
fn lastlog_of_records_is_written_in_place_and_at_its_end() {
    let f = Files::new();
    utmps::lastlog::write(&f.lastlog, 3, &entry(), in_secs(5)).unwrap();
    utmps::lastlog::write(&f.lastlog, 1, &entry(), in_secs(5)).unwrap();
    utmps::lastlog::write(&f.lastlog, 9, &entry(), in_secs(5)).unwrap();
    assert_eq!(std::fs::metadata(&f.lastlog).unwrap().len() as usize, 10 * LASTLOG_RECORD_SIZE);
    assert_eq!(utmps::lastlog::read(&f.lastlog, 1).unwrap(), Some(entry()));
    // One stray byte at the end: no longer whole records.
    let mut bytes = std::fs::read(&f.lastlog).unwrap();
    bytes.push(0);
    std::fs::write(&f.lastlog, &bytes).unwrap();
    assert_not_accounting_file(&utmps::lastlog::write(&f.lastlog, 2, &entry(), in_secs(5)).unwrap_err(), "stray byte");
    assert_eq!(std::fs::read(&f.lastlog).unwrap(), bytes);
}

/// `check()` refuses, with `InvalidInput` and writing nothing, the paths every
/// write refuses: text, a device, another program's or the other store's
/// database. Files of records, an empty one included, pass.
#[test]
fn check_refuses_what_every_write_would_refuse() {
    let f = Files::new();
    let (copy, _) = passwd_behind_symlink(&f, 4000);
    let before = std::fs::read(&copy).unwrap();
    for (utmp, wtmp) in [(copy.as_path(), f.wtmp.as_path()), (f.utmp.as_path(), copy.as_path())] {
        let e = Accounting::files(utmp, wtmp).unwrap().check().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("not an accounting file"), "{e}");
    }
    let e = Accounting::files("/dev/null", &f.wtmp).unwrap().check().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(std::fs::read(&copy).unwrap(), before, "the check wrote nothing");
    // Files of records pass: empty, and after a session.
    f.acct().check().expect("empty files");
    f.acct().open(&Login::new(USER, "pts/1")).unwrap().logout().unwrap();
    f.acct().check().expect("files of records");
}

#[cfg(feature = "wtmpdb")]
#[test]
fn check_refuses_a_wtmpdb_path_that_holds_something_else() {
    let f = Files::new();
    let (copy, _) = passwd_behind_symlink(&f, 4000);
    let other = f.dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE accounts(name TEXT);").unwrap();
    for path in [&copy, &other] {
        let before = std::fs::read(path).unwrap();
        let e = Accounting::empty().with_wtmpdb(path).check().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}: {e}", path.display());
        assert_eq!(std::fs::read(path).unwrap(), before, "the check wrote nothing");
    }
    let own = f.dir.path().join("wtmp.db");
    std::fs::write(&own, b"").unwrap();
    Accounting::empty().with_wtmpdb(&own).check().expect("an empty file is a database to be");
}
