//! Stores by role: what `Accounting::system` finds on trees laid out like
//! real hosts, sessions written to several stores at once, handles without
//! utmp, failed logins, and the take-back of an open that failed half way
//! across stores.

mod support;

use std::fs::{self, File};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use support::{dead_pid, lastb, root_or_skip, Files, USER};
use utmps::{btmp, Accounting, BackendKind, ErrorKind, Login, RecordType, Role, StoreKind};

/// A temporary root holding the given empty files and directories.
fn tree(files: &[&str], dirs: &[&str]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for d in dirs {
        fs::create_dir_all(root.path().join(d)).unwrap();
    }
    for f in files {
        let p = root.path().join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        File::create(p).unwrap();
    }
    root
}

fn chosen(acct: &Accounting) -> Vec<(Role, StoreKind, PathBuf)> {
    acct.stores().into_iter().map(|s| (s.role, s.kind, s.path)).collect()
}

const DEBIAN12: &[&str] = &["var/run/utmp", "var/log/wtmp", "var/log/lastlog", "var/log/btmp"];

#[test]
fn debian12_gets_the_glibc_files() {
    let root = tree(DEBIAN12, &[]);
    let r = root.path();
    let acct = Accounting::system_at(r).unwrap();
    assert_eq!(
        chosen(&acct),
        [
            (Role::Live, StoreKind::UtmpFile, r.join("var/run/utmp")),
            (Role::History, StoreKind::WtmpFile, r.join("var/log/wtmp")),
            (Role::LastLogin, StoreKind::LastlogFile, r.join("var/log/lastlog")),
            (Role::FailedLogins, StoreKind::Btmp, r.join("var/log/btmp")),
        ]
    );
    assert_eq!(acct.backend(), BackendKind::XutmpLibc);
    assert_eq!(acct.utmp_endpoint(), r.join("var/run/utmp"));
    let shown = format!("{acct:?}");
    assert!(shown.contains("Live UtmpFile") && shown.contains("var/log/btmp"), "{shown}");
    acct.check().unwrap();
}

#[test]
fn debian12_with_wtmpdb_installed_gets_both_histories() {
    let root = tree(&[DEBIAN12, &["var/log/wtmp.db"]].concat(), &[]);
    let r = root.path();
    let kinds: Vec<_> = chosen(&Accounting::system_at(r).unwrap()).into_iter().map(|(_, k, _)| k).collect();
    assert_eq!(
        kinds,
        [StoreKind::UtmpFile, StoreKind::WtmpFile, StoreKind::Wtmpdb, StoreKind::LastlogFile, StoreKind::Btmp]
    );
}

/// Debian 13: no utmp, no wtmp; `/var/lib/wtmpdb/wtmp.db -> ../../log/wtmp.db`.
fn debian13(dangling: bool) -> tempfile::TempDir {
    let files: &[&str] = if dangling { &[] } else { &["var/log/wtmp.db"] };
    let root = tree(files, &["var/log", "var/lib/wtmpdb", "var/lib/lastlog"]);
    symlink("../../log/wtmp.db", root.path().join("var/lib/wtmpdb/wtmp.db")).unwrap();
    root
}

#[test]
fn debian13_gets_wtmpdb_and_lastlog2_through_the_symlink_dangling_or_not() {
    for dangling in [true, false] {
        let root = debian13(dangling);
        let r = root.path();
        let acct = Accounting::system_at(r).unwrap();
        assert_eq!(
            chosen(&acct),
            [
                (Role::History, StoreKind::Wtmpdb, r.join("var/log/wtmp.db")),
                (Role::LastLogin, StoreKind::Lastlog2, r.join("var/lib/lastlog/lastlog2.db")),
            ],
            "dangling: {dangling}"
        );
        assert_eq!(acct.backend(), BackendKind::None);
        assert_eq!(acct.utmp_endpoint(), Path::new(""));
        // Sessions are recorded, but `who` and `w` would never list them.
        let e = acct.check_writable().unwrap_err();
        assert_eq!(e.kind(), utmps::ErrorKind::Unavailable, "{e}");
        assert!(e.to_string().contains("no live store") && e.to_string().contains("`w`"), "{e}");
        assert!(e.remedy().unwrap().contains("logind"), "{:?}", e.remedy());
    }
}

#[test]
fn debian13_leaves_the_empty_glibc_files_debootstrap_made_alone() {
    let root = debian13(true);
    let r = root.path();
    for f in ["var/log/wtmp", "var/log/lastlog", "var/log/btmp"] {
        File::create(r.join(f)).unwrap();
    }
    let kinds: Vec<_> = chosen(&Accounting::system_at(r).unwrap()).into_iter().map(|(_, k, _)| k).collect();
    assert_eq!(kinds, [StoreKind::Wtmpdb, StoreKind::Lastlog2]);
    // Without wtmpdb they are what the host has.
    let root = tree(&["var/log/wtmp", "var/log/btmp"], &[]);
    let kinds: Vec<_> = chosen(&Accounting::system_at(root.path()).unwrap()).into_iter().map(|(_, k, _)| k).collect();
    assert_eq!(kinds, [StoreKind::WtmpFile, StoreKind::Btmp]);
}

#[test]
fn upstream_layout_without_symlink_uses_var_lib_wtmpdb() {
    let root = tree(&[], &["var/lib/wtmpdb"]);
    let r = root.path();
    let acct = Accounting::system_at(r).unwrap();
    assert_eq!(chosen(&acct), [(Role::History, StoreKind::Wtmpdb, r.join("var/lib/wtmpdb/wtmp.db"))]);
}

#[cfg(feature = "native")]
#[test]
fn an_utmps_host_gets_the_daemons() {
    let root = tree(&[], &["run/utmps"]);
    let r = root.path();
    let _utmpd = std::os::unix::net::UnixListener::bind(r.join("run/utmps/.utmpd-socket")).unwrap();
    let _wtmpd = std::os::unix::net::UnixListener::bind(r.join("run/utmps/.wtmpd-socket")).unwrap();
    let acct = Accounting::system_at(r).unwrap();
    assert_eq!(
        chosen(&acct),
        [
            (Role::Live, StoreKind::Utmpd, r.join("run/utmps/.utmpd-socket")),
            (Role::History, StoreKind::Wtmpd, r.join("run/utmps/.wtmpd-socket")),
        ]
    );
    assert_eq!(acct.backend(), BackendKind::Native);
    let e = acct.record_failed_login(&Login::new("mallory", btmp::NOTTY_LINE)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

/// Sockets a daemon bound and left (it died, or was stopped without removing
/// them) are no daemon: the glibc files beside them are the host's stores.
#[cfg(all(feature = "native", feature = "xutmp", target_env = "gnu"))]
#[test]
fn stale_utmps_sockets_beside_glibc_files_are_passed_over() {
    let root = tree(DEBIAN12, &["run/utmps"]);
    let r = root.path();
    for socket in ["run/utmps/.utmpd-socket", "run/utmps/.wtmpd-socket"] {
        drop(std::os::unix::net::UnixListener::bind(r.join(socket)).unwrap());
        assert!(r.join(socket).exists(), "the socket file stays");
    }
    let acct = Accounting::system_at(r).unwrap();
    let kinds: Vec<_> = chosen(&acct).into_iter().map(|(_, k, _)| k).collect();
    assert_eq!(kinds, [StoreKind::UtmpFile, StoreKind::WtmpFile, StoreKind::LastlogFile, StoreKind::Btmp]);
    acct.check().unwrap();
}

/// A loop of symlinks where wtmpdb's database would be is no store, and a
/// handle given one says what it is.
#[test]
fn a_symlink_loop_at_the_wtmpdb_path_is_no_store() {
    let root = tree(&[], &["var/lib/wtmpdb"]);
    let r = root.path();
    symlink("loop-b", r.join("var/lib/wtmpdb/wtmp.db")).unwrap();
    symlink("wtmp.db", r.join("var/lib/wtmpdb/loop-b")).unwrap();
    assert!(chosen(&Accounting::system_at(r).unwrap()).is_empty());
    let e = utmps::wtmpdb::Wtmpdb::new(r.join("var/lib/wtmpdb/wtmp.db"))
        .login(&utmps::wtmpdb::Entry::new("alice", "pts/1"), Instant::now() + Duration::from_secs(2))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("loop of symbolic links"), "{e}");
}

#[test]
fn an_empty_container_says_so_with_a_remedy_for_its_host() {
    let root = tree(&[], &["var/log", "var/lib", "run"]);
    let acct = Accounting::system_at(root.path()).unwrap();
    assert!(acct.stores().is_empty());
    for e in [acct.check().unwrap_err(), acct.open(&Login::new(USER, "pts/1")).unwrap_err()] {
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("a container?"), "{shown}");
        if cfg!(target_env = "gnu") {
            assert!(shown.contains("wtmpdb") && !shown.contains("utmpd"), "a glibc remedy: {shown}");
        }
    }
    assert!(fs::read_dir(root.path().join("var/log")).unwrap().next().is_none(), "nothing created");
}

fn sql(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

/// (ID, User, Login, Logout, TTY, RemoteHost, Service) of every wtmpdb row.
type Row = (i64, String, i64, Option<i64>, String, Option<String>, Option<String>);
fn wtmpdb_rows(path: &Path) -> Vec<Row> {
    let conn = sql(path);
    let mut stmt = match conn.prepare("SELECT ID, User, Login, Logout, TTY, RemoteHost, Service FROM wtmp ORDER BY ID")
    {
        Ok(s) => s,
        Err(e) if e.to_string().contains("no such table") => return Vec::new(),
        Err(e) => panic!("{e}"),
    };
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// Files with an empty wtmpdb and lastlog2 database beside them.
fn files_and_databases() -> (Files, PathBuf, PathBuf) {
    let f = Files::new();
    let (db, ll2) = (f.dir.path().join("wtmp.db"), f.dir.path().join("lastlog2.db"));
    File::create(&db).unwrap();
    File::create(&ll2).unwrap();
    (f, db, ll2)
}

#[test]
fn one_session_on_wtmp_wtmpdb_and_lastlog2_at_once() {
    let (f, db, ll2) = files_and_databases();
    let acct = f.acct().with_wtmpdb(&db).with_lastlog2(&ll2);
    let kinds: Vec<_> = acct.stores().into_iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [StoreKind::UtmpFile, StoreKind::WtmpFile, StoreKind::Wtmpdb, StoreKind::LastlogFile, StoreKind::Lastlog2]
    );
    let login = Login::new(USER, "/dev/pts/5").host("client.example").service("sshd").lastlog(true);
    let session = acct.open(&login).unwrap();
    let id = session.wtmpdb_row().expect("a wtmpdb row id").0;
    let login_us = session.record().tv_sec * 1_000_000 + i64::from(session.record().tv_usec);
    let rows = wtmpdb_rows(&db);
    assert_eq!(
        rows,
        [(id, USER.into(), login_us, None, "pts/5".into(), Some("client.example".into()), Some("sshd".into()))]
    );
    assert_eq!(acct.who(false).unwrap().len(), 1);
    assert_eq!(f.wtmp_records().len(), 1);
    let ll: (String, i64, String) = sql(&ll2)
        .query_row("SELECT Name, Time, TTY FROM Lastlog2", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    assert_eq!(ll, (USER.into(), session.record().tv_sec, "pts/5".into()));
    assert_ne!(fs::metadata(&f.lastlog).unwrap().len(), 0, "the lastlog file too");

    session.logout().unwrap();
    let rows = wtmpdb_rows(&db);
    assert_eq!(rows.len(), 1);
    let logout = rows[0].3.expect("the row got its logout");
    assert!(logout >= login_us, "{logout} < {login_us}");
    assert!(acct.who(false).unwrap().is_empty());
    let wtmp = f.wtmp_records();
    assert_eq!(wtmp.len(), 2);
    assert_eq!(wtmp[1].record_type, RecordType::DEAD_PROCESS);
}

#[test]
fn a_handle_without_utmp_writes_the_wtmpdb_row_and_updates_it_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let (db, ll2) = (dir.path().join("wtmp.db"), dir.path().join("lastlog2.db"));
    File::create(&db).unwrap();
    File::create(&ll2).unwrap();
    // Another session's open row on another line, which the logout must not touch.
    let acct = Accounting::empty().with_wtmpdb(&db).with_lastlog2(&ll2);
    let other = acct.open(&Login::new("bob", "pts/8")).unwrap();
    let session = acct.open(&Login::new("alice", "pts/7").host("192.0.2.7").lastlog(true)).unwrap();
    assert_eq!(acct.backend(), BackendKind::None);
    assert_eq!(acct.who(false).unwrap_err().kind(), ErrorKind::Unsupported);
    assert!(acct.sweep(|_| true).unwrap().is_empty(), "no utmp, nothing to sweep");
    let e = acct.record_failed_login(&Login::new("mallory", btmp::NOTTY_LINE)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "never a silent no-op: {e}");
    let id = session.wtmpdb_row().unwrap().0;
    session.logout().unwrap();
    let rows = wtmpdb_rows(&db);
    assert_eq!(rows.len(), 2);
    let alice = rows.iter().find(|r| r.0 == id).unwrap();
    assert_eq!((alice.1.as_str(), alice.4.as_str(), alice.5.as_deref()), ("alice", "pts/7", Some("192.0.2.7")));
    assert!(alice.3.is_some(), "closed by its id");
    assert!(rows.iter().find(|r| r.1 == "bob").unwrap().3.is_none(), "bob's row untouched");
    let ll: String = sql(&ll2).query_row("SELECT TTY FROM Lastlog2 WHERE Name = 'alice'", [], |r| r.get(0)).unwrap();
    assert_eq!(ll, "pts/7");
    drop(other);
    assert!(wtmpdb_rows(&db).iter().all(|r| r.3.is_some()), "the dropped guard closed bob's row");
}

#[test]
fn lastlog_asked_of_a_handle_without_last_login_store_fails_before_any_io() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wtmp.db");
    File::create(&db).unwrap();
    let e = Accounting::empty().with_wtmpdb(&db).open(&Login::new("alice", "pts/7").lastlog(true)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(fs::metadata(&db).unwrap().len(), 0, "nothing written");
}

/// An open that fails at the wtmpdb insert (the database held locked past the
/// deadline), after its utmp put and wtmp append: it returns within its
/// deadline, the utmp entry is ended, wtmp gets the logout, no row is left.
#[test]
fn a_locked_wtmpdb_fails_the_open_in_time_and_the_utmp_entry_is_taken_back() {
    let (f, db, _) = files_and_databases();
    let holder = sql(&db);
    holder.execute_batch(utmps::wtmpdb::SCHEMA).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let timeout = Duration::from_millis(400);
    let acct = f.acct().with_wtmpdb(&db).with_timeout(timeout);
    let start = Instant::now();
    let e = acct.open(&Login::new(USER, "pts/6")).unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(took < timeout + Duration::from_millis(600), "took {took:?}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(Accounting::wait_for_take_backs(Duration::from_secs(10)));
    assert!(acct.who(false).unwrap().is_empty(), "the utmp entry was ended");
    let types: Vec<_> = f.wtmp_records().iter().map(|r| r.record_type).collect();
    assert_eq!(types, [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS]);
    assert!(wtmpdb_rows(&db).is_empty(), "no stray wtmpdb row");
}

/// The last step fails (lastlog2 locked) after the wtmpdb row was inserted:
/// the row is deleted, so that `last` shows nothing of the failed login.
#[test]
fn a_failed_last_login_write_deletes_the_wtmpdb_row() {
    let (f, db, ll2) = files_and_databases();
    let holder = sql(&ll2);
    holder.execute_batch(utmps::lastlog2::SCHEMA).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let acct = f.acct().with_wtmpdb(&db).with_lastlog2(&ll2).with_timeout(Duration::from_millis(400));
    let e = acct.open(&Login::new(USER, "pts/4").lastlog(true)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(Accounting::wait_for_take_backs(Duration::from_secs(10)));
    assert!(wtmpdb_rows(&db).is_empty(), "the row was deleted: {:?}", wtmpdb_rows(&db));
    assert!(acct.who(false).unwrap().is_empty());
    assert_eq!(f.wtmp_records().len(), 2, "wtmp login and its logout");
}

#[test]
fn a_failed_login_goes_to_the_handles_btmp_and_lastb_shows_it() {
    if !root_or_skip("a_failed_login_goes_to_the_handles_btmp_and_lastb_shows_it") {
        return;
    }
    let root = tree(DEBIAN12, &[]);
    let path = root.path().join("var/log/btmp");
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let acct = Accounting::system_at(root.path()).unwrap();
    let failed = Login::new("mallory", btmp::NOTTY_LINE).host("198.51.100.4");
    acct.record_failed_login(&failed).unwrap();
    let records = utmps::files::read(&path, Some(utmps::layout::Layout::system()), Duration::from_secs(1)).unwrap();
    assert_eq!(records.records.len(), 1);
    assert_eq!(records.records[0].user.as_bytes(), b"mallory");
    if let Some(text) = lastb(&["-w", "-f"], &path) {
        let row = text.lines().next().unwrap_or_default();
        assert!(row.starts_with("mallory ") && row.contains("ssh:notty"), "{text}");
    }
}

/// A sweep whose wtmpdb write fails (the database locked by another writer)
/// leaves the stale entry live in utmp, so that the next sweep, once the lock
/// is gone, ends it everywhere, its wtmpdb row included.
#[test]
fn a_sweep_that_fails_at_wtmpdb_is_done_by_the_next_one() {
    let f = Files::new();
    let db = f.dir.path().join("wtmp.db");
    File::create(&db).unwrap(); // an empty database, as the package installs it
    let acct = f.acct().with_wtmpdb(&db).with_timeout(Duration::from_millis(400));
    std::mem::forget(acct.open(&Login::new(USER, "pts/21").pid(dead_pid())).unwrap());

    let holder = Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let e = acct.sweep(|_| true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    let live = acct.who(false).unwrap();
    assert_eq!(live.len(), 1, "the entry stays live for the next sweep: {live:?}");
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);

    let swept = acct.sweep(|_| true).unwrap();
    assert_eq!(swept.len(), 1);
    assert!(acct.who(false).unwrap().is_empty());
    let rows: Vec<_> =
        utmps::wtmpdb::Wtmpdb::new(&db).history(Instant::now() + Duration::from_secs(5)).unwrap().collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = rows[0].as_ref().unwrap();
    assert!(
        matches!(row.end, utmps::wtmpdb::HistoryEnd::LoggedOut(_)),
        "the row was closed by the second sweep: {row:?}"
    );
}
