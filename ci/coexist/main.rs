//! The program of the coexist CI step: a daemon with its own SQLite crate
//! (rusqlite or sqlx, each with its bundled SQLite) that also depends on the
//! packaged utmps. It does its own SQLite work, records and ends a wtmpdb
//! session through utmps, and reads that row back through its own SQLite: both
//! run in one binary. Any failure exits non-zero.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use temp_dir::TempDir;
use utmps::wtmpdb::{HistoryEnd, Wtmpdb};
use utmps::{Accounting, Login};

mod temp_dir;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coexist: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let dir = TempDir::new("utmps-coexist")?;

    let (jobs, version) = own::work(&dir.path().join("daemon.db"))?;
    if jobs != 2 {
        return Err(format!("the daemon's own database counts {jobs} jobs, expected 2").into());
    }

    // wtmpdb creates its database at the first login; an empty file is one.
    let db = dir.path().join("wtmp.db");
    std::fs::File::create(&db)?;
    let acct = Accounting::empty().with_wtmpdb(&db);
    acct.check()?;
    let session = acct.open(&Login::new("alice", "pts/5").host("coexist.example"))?;
    let deadline = || Instant::now() + Duration::from_secs(5);
    let newest = Wtmpdb::new(&db).history(deadline())?.next().ok_or("no wtmpdb row after the login")??;
    if (newest.user.as_str(), newest.end) != ("alice", HistoryEnd::StillLoggedIn) {
        return Err(format!("after the login utmps reads {newest:?}").into());
    }
    session.logout()?;

    let rows = own::wtmp_rows(&db)?;
    if rows != [("alice".to_string(), 1)] {
        return Err(format!("the daemon's own SQLite reads {rows:?} in wtmp, expected alice logged out").into());
    }
    println!("coexist: {} (SQLite {version}) and utmps share one binary: its own work and a wtmpdb session", own::NAME);
    Ok(())
}

#[cfg(feature = "rusqlite")]
mod own {
    use super::{Path, Result};

    pub const NAME: &str = "rusqlite";

    /// The daemon's own SQLite work: a table, two rows, a count.
    pub fn work(path: &Path) -> Result<(i64, String)> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(
            "CREATE TABLE jobs(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO jobs(name) VALUES('a'), ('b');",
        )?;
        let n = conn.query_row("SELECT count(*) FROM jobs", [], |row| row.get(0))?;
        let version = conn.query_row("SELECT sqlite_version()", [], |row| row.get(0))?;
        Ok((n, version))
    }

    /// What the wtmp table holds: user, and 1 when the row has its logout.
    pub fn wtmp_rows(path: &Path) -> Result<Vec<(String, i64)>> {
        let conn = rusqlite::Connection::open(path)?;
        let mut stmt = conn.prepare("SELECT User, Logout IS NOT NULL FROM wtmp ORDER BY ID")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

#[cfg(feature = "sqlx")]
mod own {
    use super::{Path, Result};
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
    use sqlx::Connection;

    pub const NAME: &str = "sqlx";

    fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(f)
    }

    async fn connect(path: &Path) -> Result<SqliteConnection> {
        Ok(SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path).create_if_missing(true)).await?)
    }

    /// The daemon's own SQLite work: a table, two rows, a count.
    pub fn work(path: &Path) -> Result<(i64, String)> {
        block_on(async {
            let mut conn = connect(path).await?;
            sqlx::query("CREATE TABLE jobs(id INTEGER PRIMARY KEY, name TEXT)").execute(&mut conn).await?;
            sqlx::query("INSERT INTO jobs(name) VALUES('a'), ('b')").execute(&mut conn).await?;
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&mut conn).await?;
            let version: String = sqlx::query_scalar("SELECT sqlite_version()").fetch_one(&mut conn).await?;
            Ok((n, version))
        })
    }

    /// What the wtmp table holds: user, and 1 when the row has its logout.
    pub fn wtmp_rows(path: &Path) -> Result<Vec<(String, i64)>> {
        block_on(async {
            let mut conn = connect(path).await?;
            let rows =
                sqlx::query_as("SELECT User, Logout IS NOT NULL FROM wtmp ORDER BY ID").fetch_all(&mut conn).await?;
            Ok(rows)
        })
    }
}
