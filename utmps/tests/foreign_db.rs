//! The SQLite stores write only into a database of their own: one that holds
//! their table, or none at all (a new file, or the empty file logrotate
//! leaves). Another application's database, or the other store's, is refused
//! and left byte for byte as it was.
#![cfg(feature = "wtmpdb")]

mod support;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rusqlite::Connection;
use support::{scratch_row, soon};
use utmps::lastlog2::{Entry as LastEntry, Lastlog2};
use utmps::wtmpdb::{Entry, Wtmpdb};
use utmps::{Error, ErrorKind};

fn db_with(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let path = dir.join(name);
    Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    path
}

fn tables(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").unwrap();
    let names = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    names
}

fn refused(r: Result<(), Error>, store: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains(&format!("not a {store} database")), "{e}");
}

fn wtmpdb_writes(path: &Path) -> [Result<(), Error>; 3] {
    let store = Wtmpdb::new(path).create(true);
    [
        store.login(&Entry::new("alice", "pts/1"), soon()).map(drop),
        store.logout(&scratch_row(), SystemTime::now(), soon()).map(drop),
        store.logout_tty("pts/1", SystemTime::now(), soon()).map(drop),
    ]
}

#[test]
fn another_applications_database_is_refused_and_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let other = db_with(dir.path(), "other.db", "CREATE TABLE accounts(name TEXT); INSERT INTO accounts VALUES('x');");
    let before = std::fs::read(&other).unwrap();
    for r in wtmpdb_writes(&other) {
        refused(r, "wtmpdb");
    }
    refused(Lastlog2::new(&other).create(true).record(&LastEntry::new("alice", "pts/1"), soon()), "lastlog2");
    assert_eq!(std::fs::read(&other).unwrap(), before, "the file is byte for byte as it was");
    assert_eq!(tables(&other), ["accounts"]);
}

#[test]
fn one_store_never_writes_into_the_others_database() {
    let dir = tempfile::tempdir().unwrap();
    let last = dir.path().join("lastlog2.db");
    Lastlog2::new(&last).create(true).record(&LastEntry::new("alice", "pts/1"), soon()).unwrap();
    let wtmp = dir.path().join("wtmp.db");
    Wtmpdb::new(&wtmp).create(true).login(&Entry::new("alice", "pts/1"), soon()).unwrap();
    let (last_before, wtmp_before) = (std::fs::read(&last).unwrap(), std::fs::read(&wtmp).unwrap());
    for r in wtmpdb_writes(&last) {
        refused(r, "wtmpdb");
    }
    refused(Lastlog2::new(&wtmp).record(&LastEntry::new("bob", "pts/2"), soon()), "lastlog2");
    assert_eq!(std::fs::read(&last).unwrap(), last_before);
    assert_eq!(std::fs::read(&wtmp).unwrap(), wtmp_before);
    assert_eq!(tables(&last), ["Lastlog2"]);
    assert_eq!(tables(&wtmp), ["wtmp"]);
}

#[test]
fn empty_and_own_databases_are_written() {
    let dir = tempfile::tempdir().unwrap();
    // The 0-byte file logrotate's `create` leaves, and a database with no tables yet.
    let rotated = dir.path().join("rotated.db");
    std::fs::write(&rotated, b"").unwrap();
    let blank = db_with(dir.path(), "blank.db", "PRAGMA user_version = 0;");
    for path in [&rotated, &blank] {
        Wtmpdb::new(path).login(&Entry::new("alice", "pts/1"), soon()).unwrap();
        assert_eq!(tables(path), ["wtmp"], "{}", path.display());
    }
    let last = dir.path().join("empty-lastlog2.db");
    std::fs::write(&last, b"").unwrap();
    Lastlog2::new(&last).record(&LastEntry::new("alice", "pts/1"), soon()).unwrap();
    assert_eq!(tables(&last), ["Lastlog2"]);
    // The store's table beside others (an administrator's index or view): still its own.
    let extended =
        db_with(dir.path(), "extended.db", &format!("{} CREATE INDEX by_user ON wtmp(User);", utmps::wtmpdb::SCHEMA));
    Wtmpdb::new(&extended).login(&Entry::new("alice", "pts/1"), soon()).unwrap();
    assert_eq!(Wtmpdb::new(&extended).history(soon()).unwrap().count(), 1);
}

/// A table under the store's name but not in upstream's shape is another
/// program's: a write to it could be dropped (a trigger), land under an id
/// the logout cannot find (no rowid key), or fail row by row. `check()`,
/// writes and reads refuse it, and the file is left as it was.
#[test]
fn the_stores_table_in_another_shape_is_refused_and_unchanged() {
    const COLUMNS: &str =
        "Type INTEGER, User TEXT NOT NULL, Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT";
    let dir = tempfile::tempdir().unwrap();
    let shapes = [
        ("text-id", format!("CREATE TABLE wtmp(ID TEXT PRIMARY KEY, {COLUMNS});"), "primary key"),
        ("no-key", format!("CREATE TABLE wtmp(ID INTEGER, {COLUMNS});"), "primary key"),
        (
            "without-rowid",
            format!("CREATE TABLE wtmp(ID INTEGER PRIMARY KEY, {COLUMNS}) WITHOUT ROWID;"),
            "primary key",
        ),
        ("desc-key", format!("CREATE TABLE wtmp(ID INTEGER PRIMARY KEY DESC, {COLUMNS});"), "primary key"),
        ("columns", "CREATE TABLE wtmp(ID INTEGER PRIMARY KEY, User TEXT, Login INTEGER);".to_owned(), "columns"),
        (
            "trigger",
            format!(
                "{} INSERT INTO wtmp (Type, User, Login, TTY) VALUES (3, 'alice', 1, 'pts/1');
                 CREATE TRIGGER keep BEFORE UPDATE ON wtmp BEGIN SELECT RAISE(IGNORE); END;",
                utmps::wtmpdb::SCHEMA
            ),
            "triggers",
        ),
    ];
    for (name, sql, why) in shapes {
        let path = db_with(dir.path(), &format!("{name}.db"), &sql);
        let before = std::fs::read(&path).unwrap();
        let check = utmps::Accounting::empty().with_wtmpdb(&path).check().map(drop);
        for r in wtmpdb_writes(&path).into_iter().chain([check]) {
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}: {e}");
            let text = e.to_string();
            assert!(
                text.contains("not a wtmpdb database: its `wtmp` table is not wtmpdb's") && text.contains(why),
                "{name}: {text}"
            );
        }
        let first = Wtmpdb::new(&path).history(soon()).unwrap().next().expect("an error, not the end");
        refused(first.map(drop), "wtmpdb");
        assert_eq!(std::fs::read(&path).unwrap(), before, "{name}: the file is byte for byte as it was");
    }
    let last = db_with(
        dir.path(),
        "lastlog2-trigger.db",
        &format!(
            "{} CREATE TRIGGER keep BEFORE INSERT ON Lastlog2 BEGIN SELECT RAISE(IGNORE); END;",
            utmps::lastlog2::SCHEMA
        ),
    );
    let before = std::fs::read(&last).unwrap();
    refused(Lastlog2::new(&last).record(&LastEntry::new("alice", "pts/1"), soon()), "lastlog2");
    assert_eq!(std::fs::read(&last).unwrap(), before);
}

/// Reading another program's database (or the other store's) is an error, not
/// an empty history: the caller learns that the path is wrong. A database
/// with nothing in it yet still reads as no rows.
#[test]
fn reading_another_applications_database_is_an_error_and_an_empty_one_has_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let other = db_with(dir.path(), "other.db", "CREATE TABLE accounts(name TEXT); INSERT INTO accounts VALUES('x');");
    let last = dir.path().join("lastlog2.db");
    Lastlog2::new(&last).create(true).record(&LastEntry::new("alice", "pts/1"), soon()).unwrap();
    let before = (std::fs::read(&other).unwrap(), std::fs::read(&last).unwrap());

    for path in [&other, &last] {
        let first = Wtmpdb::new(path).history(soon()).unwrap().next().expect("an error, not the end");
        refused(first.map(drop), "wtmpdb");
    }
    refused(Wtmpdb::new(&other).find_open("pts/1", soon()).map(drop), "wtmpdb");
    refused(Lastlog2::new(&other).get("alice", soon()).map(drop), "lastlog2");
    let first = Lastlog2::new(&other).all(soon()).unwrap().next().expect("an error, not the end");
    refused(first.map(drop), "lastlog2");
    assert_eq!((std::fs::read(&other).unwrap(), std::fs::read(&last).unwrap()), before, "read only");

    let blank = db_with(dir.path(), "blank.db", "PRAGMA user_version = 0;");
    assert_eq!(Wtmpdb::new(&blank).history(soon()).unwrap().count(), 0);
    assert_eq!(Wtmpdb::new(&blank).find_open("pts/1", soon()).unwrap(), None);
    assert_eq!(Lastlog2::new(&blank).get("alice", soon()).unwrap(), None);
    assert_eq!(Lastlog2::new(&blank).all(soon()).unwrap().count(), 0);
}

/// Upstream's Lastlog2 table is not STRICT: another writer may store names as
/// text that is not UTF-8, as numbers or as blobs. Each row is listed once,
/// in the table's order, however many pages it takes.
#[test]
fn every_lastlog2_row_is_listed_once_whatever_its_name_holds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lastlog2.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(utmps::lastlog2::SCHEMA).unwrap();
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 599)
         INSERT INTO Lastlog2 SELECT CAST(X'61FF' || printf('%04d', i) AS TEXT), 1700000000, 'pts/1', NULL, NULL FROM n;
         INSERT INTO Lastlog2 VALUES (42, 1700000000, 'pts/2', NULL, NULL);
         INSERT INTO Lastlog2 VALUES (X'0001', 1700000000, 'pts/3', NULL, NULL);
         INSERT INTO Lastlog2 VALUES ('alice', 1700000000, 'pts/4', NULL, NULL);",
    )
    .unwrap();
    drop(conn);
    let rows: Vec<_> = Lastlog2::new(&path).all(soon()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 603, "each row once");
    let ttys: std::collections::BTreeMap<_, usize> = rows.iter().fold(Default::default(), |mut m, r| {
        *m.entry(r.tty.clone().unwrap_or_default()).or_default() += 1;
        m
    });
    assert_eq!(ttys.get("pts/1"), Some(&600), "{ttys:?}");
    // Numbers sort before text and text before blobs, as SQLite orders them.
    assert_eq!(rows.first().and_then(|r| r.tty.as_deref()), Some("pts/2"));
    assert_eq!(rows.last().and_then(|r| r.tty.as_deref()), Some("pts/3"));
}
