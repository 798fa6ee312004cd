//! Failed logins in btmp under sshd's rules, read back by the system's `lastb -f`.

mod support;

use std::fs::{File, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{in_secs, lastb, mkfifo, root_or_skip};
use utmps::layout::Layout;
use utmps::{btmp, ErrorKind, Login, RecordType};

fn btmp_file(dir: &Path, mode: u32) -> std::path::PathBuf {
    let path = dir.join("btmp");
    File::create(&path).unwrap();
    std::fs::set_permissions(&path, Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn a_failed_login_is_what_sshd_writes_and_lastb_shows_it() {
    if !root_or_skip("a_failed_login_is_what_sshd_writes_and_lastb_shows_it") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = btmp_file(dir.path(), 0o600);
    let failed = Login::new("mallory", btmp::NOTTY_LINE).host("attacker.example").addr("198.51.100.4".parse().unwrap());
    btmp::record_failed_login(&path, &failed, in_secs(2)).unwrap();
    let records = utmps::files::read(&path, Some(Layout::system()), Duration::from_secs(1)).unwrap();
    assert_eq!(records.trailing, 0);
    let [rec] = records.records[..] else { panic!("{} records, not 1", records.records.len()) };
    assert_eq!(rec.record_type, RecordType::LOGIN_PROCESS);
    assert_eq!(rec.line.as_bytes(), b"ssh:notty");
    assert_eq!(rec.user.as_bytes(), b"mallory");
    assert!(rec.id.is_empty(), "sshd leaves ut_id empty");
    assert_eq!(rec.pid, std::process::id() as i32);

    if let Some(text) = lastb(&["-w", "-i", "-f"], &path) {
        let row = text.lines().next().unwrap_or_default();
        assert!(row.starts_with("mallory "), "{text}");
        assert!(row.contains("ssh:notty") && row.contains("198.51.100.4"), "{text}");
    }
}

#[test]
fn loose_modes_missing_files_and_non_files_are_refused_and_left_alone() {
    if !root_or_skip("loose_modes_missing_files_and_non_files_are_refused_and_left_alone") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let failed = Login::new("mallory", btmp::NOTTY_LINE);
    for mode in [0o644, 0o604, 0o610, 0o601] {
        let path = btmp_file(dir.path(), mode);
        let e = btmp::record_failed_login(&path, &failed, in_secs(2)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permission, "mode {mode:o}: {e}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "mode {mode:o}: written to");
    }
    // Group read and write are what distributions use (root:utmp 0660): allowed.
    let path = btmp_file(dir.path(), 0o660);
    btmp::record_failed_login(&path, &failed, in_secs(2)).unwrap();

    let missing = dir.path().join("none");
    let e = btmp::record_failed_login(&missing, &failed, in_secs(2)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(!missing.exists(), "btmp must never be created");

    let fifo = dir.path().join("fifo");
    mkfifo(&fifo, 0o600);
    let start = Instant::now();
    let e = btmp::record_failed_login(&fifo, &failed, in_secs(2)).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1), "a FIFO blocked the call");
    assert!(matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Unavailable), "{e}");

    let torn = btmp_file(dir.path(), 0o600);
    std::fs::write(&torn, b"root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let e = btmp::record_failed_login(&torn, &failed, in_secs(2)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(std::fs::read(&torn).unwrap(), b"root:x:0:0:root:/root:/bin/bash\n");
}

#[test]
fn hostile_user_names_are_refused_before_any_io() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("btmp");
    for user in ["root\nfake", "x".repeat(33).as_str(), "\u{1b}[2J", ""] {
        let e = btmp::record_failed_login(&path, &Login::new(user, btmp::NOTTY_LINE), in_secs(2)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{user:?}: {e}");
    }
    assert!(!path.exists());
}
