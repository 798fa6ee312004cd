//! The wtmpdb store on temporary databases: upstream's schema and rows, time
//! units, logout by id and by TTY, rotated-away rows, locks and deadlines, and
//! what it does with files that are empty, not databases, or directories.

mod support;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use support::{mkfifo, scratch_row, soon, sqlite3_cli};
use utmps::wtmpdb::{Entry, HistoryEnd, Logout, RowId, Wtmpdb, BOOT_TIME, SCHEMA, USER_PROCESS};
use utmps::ErrorKind;

/// thkukuk/wtmpdb lib/sqlite.c, create_table().
const UPSTREAM_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT NULL, Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT;";

fn at(micros: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(micros)
}

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wtmp.db");
        Db { _dir: dir, path }
    }

    /// A database with upstream's table, filled by `sql`.
    fn with_rows(sql: &str) -> Db {
        let db = Db::new();
        let conn = db.sql();
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute_batch(sql).unwrap();
        db
    }

    fn store(&self) -> Wtmpdb {
        Wtmpdb::new(&self.path).create(true)
    }

    fn sql(&self) -> Connection {
        Connection::open(&self.path).unwrap()
    }

    #[allow(clippy::type_complexity)]
    fn rows(
        &self,
    ) -> Vec<(i64, i64, String, Option<i64>, Option<i64>, Option<String>, Option<String>, Option<String>)> {
        let conn = self.sql();
        let mut stmt = conn.prepare("SELECT * FROM wtmp ORDER BY ID").unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }
}

#[test]
fn schema_is_upstreams_byte_for_byte_and_nothing_else_is_set() {
    assert_eq!(SCHEMA, UPSTREAM_SCHEMA);
    let db = Db::new();
    db.store().login(&Entry::new("alice", "pts/0"), soon()).unwrap();
    let conn = db.sql();
    let objects: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT type, name, sql FROM sqlite_master")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // SQLite keeps the statement as written, less `IF NOT EXISTS` and the `;`.
    let stored = UPSTREAM_SCHEMA.replace("IF NOT EXISTS ", "").trim_end_matches(';').to_owned();
    assert_eq!(objects, vec![("table".to_owned(), "wtmp".to_owned(), Some(stored))]);
    let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(journal, "delete", "the journal mode is SQLite's default");
}

#[test]
fn login_writes_sshds_row_in_microseconds() {
    let db = Db::new();
    let login = at(1_700_000_000_123_456);
    let id =
        db.store().login(&Entry::new("alice", "/dev/pts/3").host("client.example.org").time(login), soon()).unwrap();
    assert_eq!(id.id(), RowId(1));
    let logout = at(1_700_003_600_654_321);
    assert_eq!(db.store().logout(&id, logout, soon()).unwrap(), Logout::Recorded);
    assert_eq!(
        db.rows(),
        vec![(
            1,
            USER_PROCESS,
            "alice".into(),
            Some(1_700_000_000_123_456),
            Some(1_700_003_600_654_321),
            Some("pts/3".into()),
            Some("client.example.org".into()),
            None
        )]
    );
    let id = db.store().login(&Entry::new("bob", "tty1").service("login"), soon()).unwrap();
    let row = db.rows().pop().unwrap();
    assert_eq!(
        (row.0, row.5.as_deref(), row.6.as_deref(), row.7.as_deref()),
        (id.id().0, Some("tty1"), None, Some("login"))
    );
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as i64;
    assert!((now - row.3.unwrap()).abs() < 60_000_000, "default time is now, in microseconds: {row:?}");
}

#[test]
fn logout_by_id_changes_that_row_only() {
    let db = Db::new();
    let store = db.store();
    let a = store.login(&Entry::new("alice", "pts/1").time(at(1_000_000)), soon()).unwrap();
    let b = store.login(&Entry::new("bob", "pts/2").time(at(2_000_000)), soon()).unwrap();
    assert_ne!(a, b);
    assert_eq!(store.logout(&a, at(5_000_000), soon()).unwrap(), Logout::Recorded);
    let rows = db.rows();
    assert_eq!((rows[0].4, rows[1].4), (Some(5_000_000), None));
}

#[test]
fn a_lost_id_is_found_as_sshd_finds_it() {
    let db = Db::new();
    let store = db.store();
    let old = store.login(&Entry::new("alice", "pts/4").time(at(1_000_000)), soon()).unwrap();
    store.logout(&old, at(2_000_000), soon()).unwrap();
    let older_open = store.login(&Entry::new("carol", "pts/4").time(at(2_500_000)), soon()).unwrap();
    let newest = store.login(&Entry::new("bob", "/dev/pts/4").time(at(3_000_000)), soon()).unwrap();
    store.login(&Entry::new("dave", "pts/5").time(at(4_000_000)), soon()).unwrap();
    assert_eq!(store.find_open("/dev/pts/4", soon()).unwrap(), Some(newest));
    assert_eq!(store.find_open("pts/9", soon()).unwrap(), None);
    assert_eq!(store.logout_tty("pts/4", at(9_000_000), soon()).unwrap(), Logout::Recorded);
    let rows = db.rows();
    assert_eq!(rows[2].4, Some(9_000_000));
    assert_eq!((rows[0].4, rows[1].4, rows[3].4), (Some(2_000_000), None, None));
    assert_eq!(store.find_open("pts/4", soon()).unwrap(), Some(older_open));
    store.logout_tty("pts/4", at(9_500_000), soon()).unwrap();
    assert_eq!(store.logout_tty("pts/4", at(9_900_000), soon()).unwrap(), Logout::RowGone);
}

#[test]
fn a_rotated_away_row_is_row_gone_and_nothing_else_changes() {
    let db = Db::new();
    let store = db.store();
    let gone = store.login(&Entry::new("alice", "pts/1").time(at(1_000_000)), soon()).unwrap();
    store.login(&Entry::new("bob", "pts/2").time(at(2_000_000)), soon()).unwrap();
    // What `wtmpdb rotate` does to an old row, open or not.
    db.sql().execute("DELETE FROM wtmp WHERE ID = ?", [gone.id().0]).unwrap();
    let before = db.rows();
    assert_eq!(store.logout(&gone, at(3_000_000), soon()).unwrap(), Logout::RowGone);
    assert_eq!(db.rows(), before);
}

/// Ids come back: a database replaced by a new file starts at 1 again, and
/// SQLite gives the newest ids out again once those rows were moved away.
/// A logout ends the row only while it is still its session's.
#[test]
fn a_logout_never_ends_another_sessions_row_that_took_its_id() {
    let db = Db::new();
    let store = db.store();
    // Replaced: renamed away and a new database made at the path, as a rotation tool does.
    let alice = store.login(&Entry::new("alice", "pts/1").time(at(1_000_000)), soon()).unwrap();
    fs::rename(&db.path, db.path.with_extension("old")).unwrap();
    let bob = store.login(&Entry::new("bob", "pts/2").time(at(2_000_000)), soon()).unwrap();
    assert_eq!(alice.id(), bob.id(), "the new file hands out the same id");
    assert_eq!(store.logout(&alice, at(3_000_000), soon()).unwrap(), Logout::RowGone);
    assert_eq!(db.rows()[0].4, None, "bob's row is still open");
    // The same user on the same line, logged in at another time, is another session.
    let again = store.login(&Entry::new("alice", "pts/1").time(at(4_000_000)), soon()).unwrap();
    db.sql().execute("DELETE FROM wtmp WHERE ID = ?", [again.id().0]).unwrap();
    let later = store.login(&Entry::new("alice", "pts/1").time(at(5_000_000)), soon()).unwrap();
    assert_eq!(again.id(), later.id(), "SQLite reuses the top id");
    assert_eq!(store.logout(&again, at(6_000_000), soon()).unwrap(), Logout::RowGone);
    assert_eq!(db.rows().iter().map(|r| r.4).collect::<Vec<_>>(), vec![None, None], "no row was ended");
    assert_eq!(store.logout(&later, at(7_000_000), soon()).unwrap(), Logout::Recorded);
    assert_eq!(db.rows()[1].4, Some(7_000_000));
}

#[test]
fn a_locked_database_times_out_within_the_deadline() {
    let db = Db::new();
    let row = db.store().login(&Entry::new("alice", "pts/1"), soon()).unwrap();
    let holder = db.sql();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let wait = Duration::from_millis(300);
    let margin = Duration::from_millis(700);
    let store = db.store();
    type Check<'a> = (&'static str, Box<dyn Fn(Instant) -> utmps::Result<()> + 'a>);
    let checks: [Check<'_>; 4] = [
        ("login", Box::new(|d| store.login(&Entry::new("bob", "pts/2"), d).map(drop))),
        ("logout", Box::new(|d| store.logout(&row, SystemTime::now(), d).map(drop))),
        ("find", Box::new(|d| store.find_open("pts/1", d).map(drop))),
        ("history", Box::new(|d| store.history(d)?.next().unwrap().map(drop))),
    ];
    for (name, op) in checks {
        let start = Instant::now();
        let err = op(start + wait).unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{name}: {err}");
        assert!(took >= wait / 2 && took < wait + margin, "{name} took {took:?}");
    }
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(db.rows().len(), 1, "nothing was written while locked");
    let err = store.login(&Entry::new("bob", "pts/2"), Instant::now()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "an expired deadline is refused before any I/O");
}

#[test]
fn an_empty_file_reads_as_no_rows_and_a_login_initialises_it() {
    let db = Db::new();
    fs::File::create(&db.path).unwrap();
    let store = Wtmpdb::new(&db.path);
    assert_eq!(store.history(soon()).unwrap().count(), 0);
    assert_eq!(store.find_open("pts/1", soon()).unwrap(), None);
    assert_eq!(fs::metadata(&db.path).unwrap().len(), 0, "reading wrote nothing");
    // Logrotate's `create` made it: a fresh database, as wtmpdb >= 0.75 treats it.
    let id = store.login(&Entry::new("alice", "pts/1"), soon()).unwrap();
    assert_eq!(id.id(), RowId(1));
    let sql: String = db.sql().query_row("SELECT sql FROM sqlite_master", [], |r| r.get(0)).unwrap();
    assert!(sql.starts_with("CREATE TABLE wtmp(ID INTEGER PRIMARY KEY"), "{sql}");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_unchanged() {
    let db = Db::new();
    let junk: Vec<u8> = b"not a database, just text\n".repeat(200);
    fs::write(&db.path, &junk).unwrap();
    let store = db.store();
    let errs = [
        store.login(&Entry::new("alice", "pts/1"), soon()).unwrap_err(),
        store.logout(&scratch_row(), SystemTime::now(), soon()).unwrap_err(),
        store.logout_tty("pts/1", SystemTime::now(), soon()).unwrap_err(),
        store.find_open("pts/1", soon()).unwrap_err(),
        store.history(soon()).unwrap().next().unwrap().unwrap_err(),
    ];
    for e in errs {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert_eq!(e.endpoint(), Some(db.path.as_path()));
    }
    assert_eq!(fs::read(&db.path).unwrap(), junk);
    let names: Vec<_> = fs::read_dir(db.path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("wtmp.db")], "no journal left behind");
}

#[test]
fn a_directory_or_fifo_is_refused_and_left_unchanged() {
    let db = Db::new();
    fs::create_dir(&db.path).unwrap();
    let e = db.store().login(&Entry::new("alice", "pts/1"), soon()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(db.store().history(soon()).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(fs::read_dir(&db.path).unwrap().count(), 0);

    let fifo = db.path.with_file_name("fifo.db");
    mkfifo(&fifo, 0o600);
    let start = Instant::now();
    let e = Wtmpdb::new(&fifo).login(&Entry::new("alice", "pts/1"), soon()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(start.elapsed() < Duration::from_secs(2), "a FIFO must not block");
}

#[test]
fn nothing_is_created_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib/wtmpdb/wtmp.db");
    let e = Wtmpdb::new(&path).login(&Entry::new("alice", "pts/1"), soon()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_eq!(Wtmpdb::new(&path).history(soon()).unwrap_err().kind(), ErrorKind::Unavailable);
    assert!(!dir.path().join("lib").exists(), "no directory was created");

    // Debian's layout: /var/lib/wtmpdb/wtmp.db -> ../../log/wtmp.db, dangling
    // until the first write.
    fs::create_dir_all(dir.path().join("lib/wtmpdb")).unwrap();
    fs::create_dir_all(dir.path().join("log")).unwrap();
    std::os::unix::fs::symlink("../../log/wtmp.db", &path).unwrap();
    let e = Wtmpdb::new(&path).login(&Entry::new("alice", "pts/1"), soon()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(!dir.path().join("log/wtmp.db").exists());

    let id = Wtmpdb::new(&path).create(true).login(&Entry::new("alice", "pts/1"), soon()).unwrap();
    assert!(dir.path().join("log/wtmp.db").is_file(), "written through the symlink");
    assert!(fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
    assert_eq!(Wtmpdb::new(&path).logout(&id, SystemTime::now(), soon()).unwrap(), Logout::Recorded);
}

#[test]
fn bad_input_is_refused_before_any_io() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/wtmp.db");
    let store = Wtmpdb::new(&path).create(true);
    for entry in [
        Entry::new("", "pts/1"),
        Entry::new("a\0b", "pts/1"),
        Entry::new("u".repeat(33), "pts/1"),
        Entry::new("alice", "pts/../x"),
        Entry::new("alice", "/etc/passwd"),
        Entry::new("alice", "pts/1").host("a\0b"),
        Entry::new("alice", "pts/1").service("ss\nhd"),
        Entry::new("alice", "pts/1").time(UNIX_EPOCH - Duration::from_secs(1)),
    ] {
        let e = store.login(&entry, soon()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{entry:?}: {e}");
    }
    assert_eq!(store.find_open("../x", soon()).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert!(!dir.path().join("sub").exists(), "nothing was created for rejected input");
}

#[test]
fn history_is_newest_first_with_how_each_row_ended() {
    let db = Db::new();
    let store = db.store();
    let conn = db.sql();
    conn.execute_batch(SCHEMA).unwrap();
    let boot = |login: i64, logout: Option<i64>| {
        conn.execute(
            "INSERT INTO wtmp (Type,User,Login,Logout,TTY,RemoteHost) VALUES(?,'reboot',?,?,'~','6.12.48+deb13-amd64')",
            rusqlite::params![BOOT_TIME, login, logout],
        )
        .unwrap();
    };
    boot(1_000_000, Some(5_000_000));
    let crashed = store.login(&Entry::new("alice", "pts/0").time(at(2_000_000)), soon()).unwrap();
    let ended = store.login(&Entry::new("bob", "pts/1").host("192.0.2.7").time(at(3_000_000)), soon()).unwrap();
    store.logout(&ended, at(3_000_000 + 3_723_000_000), soon()).unwrap();
    boot(10_000_000, None);
    let live = store.login(&Entry::new("carol", "pts/2").host("h".repeat(40)).time(at(11_000_000)), soon()).unwrap();

    let rows: Vec<_> = store.history(soon()).unwrap().map(Result::unwrap).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.id.0).collect();
    assert_eq!(ids, vec![live.id().0, 4, ended.id().0, crashed.id().0, 1]);
    assert_eq!(rows[0].end, HistoryEnd::StillLoggedIn);
    assert_eq!(rows[0].host.as_deref(), Some("h".repeat(40).as_str()), "hosts are given uncut");
    assert_eq!(rows[1].end, HistoryEnd::StillRunning);
    assert_eq!((rows[1].user.as_str(), rows[1].tty.as_deref()), ("reboot", Some("~")));
    assert_eq!(rows[2].duration(), Some(Duration::from_secs(3723)));
    assert_eq!(rows[2].host.as_deref(), Some("192.0.2.7"));
    assert_eq!(rows[3].end, HistoryEnd::Crash { boot: at(10_000_000) });
    assert_eq!(rows[3].duration(), None);
    assert_eq!(rows[4].end, HistoryEnd::LoggedOut(at(5_000_000)));
}

#[test]
fn history_pages_through_more_rows_than_one_batch() {
    let db = Db::new();
    let store = db.store();
    store.login(&Entry::new("alice", "pts/0"), soon()).unwrap();
    let conn = db.sql();
    conn.execute_batch("BEGIN").unwrap();
    for i in 0..700i64 {
        // Equal login times across batch borders too.
        conn.execute(
            "INSERT INTO wtmp (Type,User,Login,TTY) VALUES(3,'u',?,'pts/1')",
            [1_000_000 + (i / 3) * 1_000_000],
        )
        .unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    let rows: Vec<_> = store.history(soon()).unwrap().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 701);
    assert!(rows.windows(2).all(|w| (w[0].login, w[0].id) > (w[1].login, w[1].id)), "strictly newest first");
}

/// Each page used to scan and sort the whole table (the order is an
/// expression no index has): 50,000 rows took 8.4 s, past the default 5 s
/// deadline. Sorted once, they are read whole well within it.
#[test]
fn a_large_history_is_read_whole_within_the_default_deadline() {
    let db = Db::with_rows(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
         INSERT INTO wtmp (Type, User, Login, Logout, TTY) SELECT 3, 'u', i * 1000000, i * 1000000 + 1, 'pts/' || (i % 50) FROM n;",
    );
    let deadline = Instant::now() + utmps::DEFAULT_TIMEOUT;
    let mut n = 0;
    let mut previous = i64::MAX;
    for row in db.store().history(deadline).unwrap() {
        let row = row.unwrap_or_else(|e| panic!("after {n} rows: {e}"));
        assert!(row.id.0 < previous, "newest first");
        previous = row.id.0;
        n += 1;
    }
    assert_eq!(n, 50_000);
}

/// A value over the 64 KiB cap is that row's error: the rows around it are
/// still read, in order.
#[test]
fn one_oversized_value_is_one_rows_error() {
    let db = Db::with_rows(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
         INSERT INTO wtmp (Type, User, Login, TTY, RemoteHost) SELECT 3, 'u', i * 1000000, 'pts/1', 'h' FROM n;
         UPDATE wtmp SET RemoteHost = printf('%.*c', 100000, 'x') WHERE ID = 500;",
    );
    let rows: Vec<_> = db.store().history(soon()).unwrap().collect();
    assert_eq!(rows.len(), 1000);
    for (i, row) in rows.iter().enumerate() {
        let id = 1000 - i as i64;
        match row {
            Ok(row) => assert_eq!(row.id.0, id),
            Err(e) => {
                assert_eq!(id, 500, "only row 500 is over the cap: {e}");
                assert_eq!(e.kind(), ErrorKind::Io, "{e}");
                assert!(e.to_string().contains("row 500"), "{e}");
            }
        }
    }
    assert_eq!(rows.iter().filter(|r| r.is_err()).count(), 1);
}

#[test]
fn debians_sqlite3_reads_what_was_written() {
    let Some(cli) = sqlite3_cli("debians_sqlite3_reads_what_was_written") else { return };
    let db = Db::new();
    let store = db.store();
    let id = store
        .login(&Entry::new("alice", "/dev/pts/7").host("client.example.org").time(at(1_700_000_000_000_001)), soon())
        .unwrap();
    store.logout(&id, at(1_700_000_060_000_002), soon()).unwrap();
    let out = Command::new(cli)
        .arg("-readonly")
        .arg(&db.path)
        .arg("SELECT ID,Type,User,Login,Logout,TTY,RemoteHost,quote(Service) FROM wtmp; SELECT sql FROM sqlite_master;")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1|3|alice|1700000000000001|1700000060000002|pts/7|client.example.org|NULL\n\
         CREATE TABLE wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT NULL, Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT\n"
    );
}

/// A statement still running at the deadline (a scan of a large table for
/// the lost-id lookup, which has no index) is interrupted: the call returns
/// `TimedOut` near its deadline, not when the scan ends.
#[test]
fn a_long_scan_stops_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wtmp.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(SCHEMA).unwrap();
    let db = Wtmpdb::new(&path);
    // The table doubles until the lookup, with nothing to stop it (no open
    // row, so a full scan), takes long enough to be cut short measurably;
    // a fast machine gets a larger table, not a skip.
    let mut rows = 0_u64;
    let full = loop {
        let more = rows.max(200_000);
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
             INSERT INTO wtmp (Type, User, Login, Logout, TTY) SELECT 3, 'u', i, i + 1, 'pts/' || (i % 50) FROM n;",
            [rows + 1, rows + more],
        )
        .unwrap();
        rows += more;
        let start = Instant::now();
        assert_eq!(db.find_open("pts/none", Instant::now() + Duration::from_secs(60)).unwrap(), None);
        let full = start.elapsed();
        if full >= Duration::from_millis(160) || rows >= 25_600_000 {
            break full;
        }
    };
    assert!(full >= Duration::from_millis(80), "a scan of {rows} rows took only {full:?}");
    let budget = full / 8;
    let start = Instant::now();
    let e = db.find_open("pts/none", Instant::now() + budget).unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(
        took < budget + Duration::from_millis(100),
        "took {took:?} with a budget of {budget:?} (full scan of {rows} rows {full:?})"
    );
}
