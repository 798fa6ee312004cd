//! Relative paths of the SQLite stores are resolved when the store is built: a
//! later `chdir` must not send a logout or a last login to another directory
//! (nor create a second database there). The current directory is
//! process-wide, so this binary holds one test and nothing else runs beside it.
#![cfg(feature = "wtmpdb")]

mod support;

use std::path::Path;
use std::time::SystemTime;

use support::cwd::{chdir, enter_removed, Dirs};
use support::soon;

use utmps::lastlog2::{Entry as LastEntry, Lastlog2};
use utmps::wtmpdb::{Entry, Logout, Wtmpdb};
use utmps::ErrorKind;

#[test]
fn sqlite_stores_mean_the_directory_they_were_built_in() {
    let dirs = Dirs::new();
    let Dirs { a, b, gone, start, .. } = &dirs;

    chdir(a);
    let wtmpdb = Wtmpdb::new("wtmp.db").create(true);
    let lastlog2 = Lastlog2::new("lastlog2.db").create(true);
    assert_eq!(wtmpdb.path(), a.join("wtmp.db"));
    assert_eq!(lastlog2.path(), a.join("lastlog2.db"));
    let id = wtmpdb.login(&Entry::new("alice", "pts/1"), soon()).unwrap();
    wtmpdb.login(&Entry::new("bob", "pts/2"), soon()).unwrap();

    chdir(b);
    assert_eq!(wtmpdb.logout(&id, SystemTime::now(), soon()).unwrap(), Logout::Recorded, "the row in A");
    assert!(wtmpdb.find_open("pts/2", soon()).unwrap().is_some());
    assert_eq!(wtmpdb.logout_tty("pts/2", SystemTime::now(), soon()).unwrap(), Logout::Recorded);
    assert_eq!(wtmpdb.history(soon()).unwrap().count(), 2);
    lastlog2.record(&LastEntry::new("alice", "pts/1"), soon()).unwrap();
    assert!(lastlog2.get("alice", soon()).unwrap().is_some());
    assert_eq!(lastlog2.all(soon()).unwrap().count(), 1);
    assert!(a.join("lastlog2.db").exists(), "the last login went to A");
    assert_eq!(std::fs::read_dir(b).unwrap().count(), 0, "nothing was created or written in B");

    // A current directory that cannot be read: every operation of a store
    // built on a relative path refuses with that error; absolute ones work.
    enter_removed(gone);
    let wtmpdb = Wtmpdb::new("wtmp.db").create(true);
    let lastlog2 = Lastlog2::new("lastlog2.db").create(true);
    assert_eq!(wtmpdb.path(), Path::new("wtmp.db"), "unresolved, the path is kept as given");
    let refusals = [
        wtmpdb.login(&Entry::new("alice", "pts/1"), soon()).map(drop),
        wtmpdb.logout(&id, SystemTime::now(), soon()).map(drop),
        wtmpdb.logout_tty("pts/1", SystemTime::now(), soon()).map(drop),
        wtmpdb.find_open("pts/1", soon()).map(drop),
        wtmpdb.history(soon()).map(drop),
        lastlog2.record(&LastEntry::new("alice", "pts/1"), soon()),
        lastlog2.get("alice", soon()).map(drop),
        lastlog2.all(soon()).map(drop),
    ];
    for r in refusals {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.to_string().contains("current directory"), "{e}");
        assert!(e.operation().starts_with("wtmpdb") || e.operation().starts_with("lastlog2"), "{e}");
    }
    let absolute = Wtmpdb::new(a.join("wtmp.db"));
    assert_eq!(absolute.history(soon()).unwrap().count(), 2, "absolute paths never needed the current directory");
    chdir(start);
}
