//! The lastlog2 store on temporary databases: util-linux's schema and rows,
//! seconds, one row per user, locks and deadlines, and files that are empty,
//! not databases, or directories.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use support::{soon, sqlite3_cli};
use utmps::lastlog2::{Entry, LastLogin2, Lastlog2, SCHEMA};
use utmps::ErrorKind;

/// util-linux liblastlog2/src/lastlog2.c, write_entry().
const UPSTREAM_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS Lastlog2(Name TEXT PRIMARY KEY, Time INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT);";

fn secs(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lastlog2.db");
    (dir, path)
}

#[allow(clippy::type_complexity)]
fn rows(path: &Path) -> Vec<(String, i64, Option<String>, Option<String>, Option<String>)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT * FROM Lastlog2 ORDER BY Name").unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn schema_is_util_linuxs_and_one_row_per_user_in_seconds() {
    assert_eq!(SCHEMA, UPSTREAM_SCHEMA);
    let (_dir, path) = temp();
    let db = Lastlog2::new(&path).create(true);
    db.record(&Entry::new("root", "/dev/pts/1").host("old.example.org").time(secs(1_700_000_000)), soon()).unwrap();
    db.record(&Entry::new("alice", "tty2").service("login").time(secs(1_700_000_100)), soon()).unwrap();
    db.record(
        &Entry::new("root", "pts/2")
            .host("new.example.org")
            .time(UNIX_EPOCH + Duration::from_millis(1_700_000_200_999)),
        soon(),
    )
    .unwrap();
    assert_eq!(
        rows(&path),
        vec![
            ("alice".into(), 1_700_000_100, Some("tty2".into()), None, Some("login".into())),
            ("root".into(), 1_700_000_200, Some("pts/2".into()), Some("new.example.org".into()), None),
        ]
    );
    let conn = Connection::open(&path).unwrap();
    let sql: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(sql, vec![UPSTREAM_SCHEMA.replace("IF NOT EXISTS ", "").trim_end_matches(';').to_owned()]);
    let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(journal, "delete");
}

#[test]
fn reads_one_user_and_all_users() {
    let (_dir, path) = temp();
    let db = Lastlog2::new(&path).create(true);
    assert!(Lastlog2::new(&path).get("root", soon()).is_err(), "no database yet");
    db.record(&Entry::new("root", "pts/1").host("h.example.org").time(secs(1_000)), soon()).unwrap();
    let root = db.get("root", soon()).unwrap().unwrap();
    assert_eq!(
        root,
        LastLogin2 {
            user: "root".into(),
            time: Some(secs(1_000)),
            tty: Some("pts/1".into()),
            host: Some("h.example.org".into()),
            service: None
        }
    );
    assert_eq!(db.get("nobody", soon()).unwrap(), None);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    for i in 0..600 {
        conn.execute("REPLACE INTO Lastlog2 VALUES(?,?,'pts/0',NULL,NULL)", rusqlite::params![format!("u{i:04}"), i])
            .unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    let all: Vec<_> = db.all(soon()).unwrap().map(Result::unwrap).collect();
    assert_eq!(all.len(), 601);
    assert!(all.windows(2).all(|w| w[0].user < w[1].user), "by name, each once");
    assert_eq!(
        (all[0].user.as_str(), all[1].user.as_str(), all[1].time),
        ("root", "u0000", None),
        "a zero time reads as none"
    );
}

#[test]
fn a_locked_database_times_out_within_the_deadline() {
    let (_dir, path) = temp();
    let db = Lastlog2::new(&path).create(true);
    db.record(&Entry::new("root", "pts/1"), soon()).unwrap();
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let wait = Duration::from_millis(300);
    for name in ["record", "get", "all"] {
        let start = Instant::now();
        let d = start + wait;
        let err = match name {
            "record" => db.record(&Entry::new("alice", "pts/2"), d).unwrap_err(),
            "get" => db.get("root", d).unwrap_err(),
            _ => db.all(d).unwrap().next().unwrap().unwrap_err(),
        };
        let took = start.elapsed();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{name}: {err}");
        assert!(took >= wait / 2 && took < wait + Duration::from_millis(700), "{name} took {took:?}");
    }
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(rows(&path).len(), 1);
}

#[test]
fn empty_non_database_directory_and_missing_files() {
    let (dir, path) = temp();
    fs::File::create(&path).unwrap();
    let db = Lastlog2::new(&path);
    assert_eq!(db.get("root", soon()).unwrap(), None);
    assert_eq!(db.all(soon()).unwrap().count(), 0);
    assert_eq!(fs::metadata(&path).unwrap().len(), 0, "reading wrote nothing");
    db.record(&Entry::new("root", "pts/1").time(secs(5)), soon()).unwrap();
    assert_eq!(rows(&path).len(), 1, "an empty file becomes a fresh database");

    let junk = b"\x7fELF not a database".repeat(100);
    let bad = dir.path().join("junk.db");
    fs::write(&bad, &junk).unwrap();
    let db = Lastlog2::new(&bad).create(true);
    for e in [
        db.record(&Entry::new("root", "pts/1"), soon()).unwrap_err(),
        db.get("root", soon()).unwrap_err(),
        db.all(soon()).unwrap().next().unwrap().unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    assert_eq!(fs::read(&bad).unwrap(), junk);

    let sub = dir.path().join("adir");
    fs::create_dir(&sub).unwrap();
    let e = Lastlog2::new(&sub).create(true).record(&Entry::new("root", "pts/1"), soon()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(fs::read_dir(&sub).unwrap().count(), 0);

    let missing = dir.path().join("lastlog/lastlog2.db");
    let e = Lastlog2::new(&missing).record(&Entry::new("root", "pts/1"), soon()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(!dir.path().join("lastlog").exists(), "nothing created unless asked");
    for entry in [Entry::new("", "pts/1"), Entry::new("root", "../x"), Entry::new("root", "pts/1").host("a\0")] {
        let e = Lastlog2::new(&missing).create(true).record(&entry, soon()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{entry:?}");
    }
    assert!(!dir.path().join("lastlog").exists(), "rejected input created nothing");
    Lastlog2::new(&missing).create(true).record(&Entry::new("root", "pts/1"), soon()).unwrap();
    assert!(missing.is_file());
}

#[test]
fn debians_sqlite3_reads_what_was_written() {
    let Some(cli) = sqlite3_cli("debians_sqlite3_reads_what_was_written") else { return };
    let (_dir, path) = temp();
    Lastlog2::new(&path)
        .create(true)
        .record(&Entry::new("root", "/dev/pts/9").host("192.0.2.1").service("sshd").time(secs(1_700_000_000)), soon())
        .unwrap();
    let out = Command::new(cli).arg("-readonly").arg(&path).arg("SELECT * FROM Lastlog2").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "root|1700000000|pts/9|192.0.2.1|sshd\n");
}
