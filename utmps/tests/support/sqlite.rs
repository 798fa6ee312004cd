//! SQLite stores' helpers.

use utmps::wtmpdb::{Entry, LoginRow, Wtmpdb};

/// A session's row from a database of its own, since removed: for the tests
/// that try a logout where it must be refused (a locked, foreign or unreadable
/// database) and need a row to ask for.
pub fn scratch_row() -> LoginRow {
    let dir = tempfile::tempdir().expect("a temporary directory");
    Wtmpdb::new(dir.path().join("scratch.db"))
        .create(true)
        .login(&Entry::new("scratch", "pts/99"), super::soon())
        .expect("a login in a fresh database")
}
