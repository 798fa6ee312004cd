//! lastlog2: the SQLite last-login database of util-linux >= 2.40, which
//! `lastlog2` (and `lastlog` where it is a link to it) reads on Debian 13,
//! Ubuntu 26.04 and openSUSE.
//!
//! One row per user, replaced at each login (`REPLACE INTO`), the time in
//! seconds, the TTY without `/dev/`, as liblastlog2 and pam_lastlog2 write it.
//! The table is created with util-linux's schema, byte for byte ([`SCHEMA`]);
//! the journal mode is never touched (util-linux lets the administrator choose
//! it); nothing is created on disk unless [`Lastlog2::create`] asks for it.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! use std::time::{Duration, Instant};
//! use utmps::lastlog2::{Entry, Lastlog2};
//!
//! let db = Lastlog2::new(dir.path().join("lastlog2.db")).create(true);
//! let deadline = Instant::now() + Duration::from_secs(2);
//! db.record(&Entry::new("alice", "/dev/pts/3").host("client.example.org"), deadline)?;
//! assert_eq!(db.get("alice", deadline)?.unwrap().tty.as_deref(), Some("pts/3"));
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, Result};
use crate::login::check_user;
use crate::paths::Anchored;
pub use crate::sqlite::Entry;
use crate::sqlite::{self, Checked, Owner};
use crate::sys::sqlite::{Connection, Mode, Statement, Value};

/// Where util-linux keeps the database (its directory comes from tmpfiles).
pub const PATH: &str = "/var/lib/lastlog/lastlog2.db";

/// The store's claim on a database: its table, in upstream's shape.
pub(crate) const OWNER: Owner = Owner {
    store: "lastlog2",
    table: "Lastlog2",
    schema: SCHEMA,
    columns: &["Name", "Time", "TTY", "RemoteHost", "Service"],
    key: ("Name", false),
};

/// The table, as liblastlog2 creates it (util-linux `liblastlog2/src/lastlog2.c`).
pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS Lastlog2(Name TEXT PRIMARY KEY, Time INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT);";

const REPLACE: &str = "REPLACE INTO Lastlog2 VALUES(?,?,?,?,?)";
const ONE: &str = "SELECT Name, Time, TTY, RemoteHost, Service FROM Lastlog2 WHERE Name = ?";
// By name like `lastlog2`, paged on the primary key. The table is not STRICT:
// a name may be stored as text that is not UTF-8, a number or a blob, all of
// which order and compare as stored. A NULL name (which such a key allows)
// cannot be paged past, and is left out.
const FIRST_PAGE: &str =
    "SELECT Name, Time, TTY, RemoteHost, Service FROM Lastlog2 WHERE Name IS NOT NULL ORDER BY Name ASC LIMIT ?1";
const PAGE: &str =
    "SELECT Name, Time, TTY, RemoteHost, Service FROM Lastlog2 WHERE Name > ?1 ORDER BY Name ASC LIMIT ?2";
const SECOND: Duration = Duration::from_secs(1);

/// A user's last login as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastLogin2 {
    /// `Name`.
    pub user: String,
    /// `Time`; `None` when missing or not positive.
    pub time: Option<SystemTime>,
    /// `TTY` as stored.
    pub tty: Option<String>,
    /// `RemoteHost` as stored.
    pub host: Option<String>,
    /// `Service`.
    pub service: Option<String>,
}

fn decode(row: &Statement<'_>) -> LastLogin2 {
    LastLogin2 {
        user: sqlite::text(row, 0).unwrap_or_default(),
        time: sqlite::time_from(sqlite::integer(row, 1), SECOND),
        tty: sqlite::text(row, 2),
        host: sqlite::text(row, 3),
        service: sqlite::text(row, 4),
    }
}

/// A lastlog2 database at a path; each operation opens and closes it.
#[derive(Clone, Debug)]
pub struct Lastlog2 {
    path: Anchored,
    create: bool,
}

impl Lastlog2 {
    /// The database at `path` (symlinks followed). Nothing is created.
    ///
    /// A relative path is resolved against the current directory now, so that
    /// a later `chdir` cannot send a last login to another file. When the
    /// current directory cannot be read, this cannot fail: the store it
    /// returns refuses every operation with that error (`Unavailable` when the
    /// directory was removed).
    pub fn new(path: impl Into<PathBuf>) -> Lastlog2 {
        Lastlog2 { path: Anchored::new(path.into()), create: false }
    }

    /// Whether [`record`](Self::record) may create the database and its
    /// directory (0755) when missing (default: no, that is `Unavailable`).
    pub fn create(mut self, create: bool) -> Lastlog2 {
        self.create = create;
        self
    }

    pub(crate) fn creates(&self) -> bool {
        self.create
    }

    /// The path, made absolute by [`new`](Self::new) (as given when that failed).
    pub fn path(&self) -> &Path {
        self.path.as_path()
    }

    /// Records `entry` as its user's last login, replacing the previous one.
    /// A database without tables (an empty file) is initialised with
    /// [`SCHEMA`] first, as liblastlog2 does; one that holds other tables but
    /// no `Lastlog2` table is another program's, and is refused.
    ///
    /// # Errors
    /// `InvalidInput` for a bad user, TTY, host or service or a time before 1970
    /// (before any I/O), or when the file is not a database, is a directory or
    /// is another program's database, "not a lastlog2 database" (left
    /// unchanged); `Unavailable` when there is no database and
    /// [`create`](Self::create) was not asked, or when the path is relative
    /// and [`new`](Self::new) could not read the current directory; `TimedOut`
    /// when another connection holds it locked past `deadline`; `Permission`.
    pub fn record(&self, entry: &Entry, deadline: Instant) -> Result<()> {
        const OP: &str = "lastlog2 write";
        let Checked { user, tty, host, service, time } = entry.checked(OP)?;
        let time = sqlite::seconds(OP, time)?;
        let path = self.path.resolved(OP)?;
        tracing::trace!(path = %path.display(), user, tty, "lastlog2 write");
        let mode = if self.create { Mode::Create } else { Mode::Write };
        let conn = sqlite::open_writer(OP, path, mode, deadline)?
            .ok_or_else(|| Error::invalid(OP, "the database could not be opened for writing").at(path))?;
        let fail = |e| sqlite::classify(OP, path, e);
        sqlite::claim(&conn, OP, path, deadline, OWNER)?;
        sqlite::bound(&conn, OP, path, deadline)?;
        conn.execute(REPLACE, &[user.into(), time.into(), tty.into(), host.into(), service.into()]).map_err(fail)?;
        Ok(())
    }

    /// `user`'s last login; `None` when the user has none (or the file is empty).
    ///
    /// # Errors
    /// `InvalidInput` for a bad user name, a file that is not a database, or
    /// another program's database (tables, none of them `Lastlog2`);
    /// `Unavailable` when there is no database; `TimedOut` past `deadline`.
    pub fn get(&self, user: &str, deadline: Instant) -> Result<Option<LastLogin2>> {
        const OP: &str = "lastlog2 read";
        check_user(user)?;
        let path = self.path.resolved(OP)?;
        let Some(conn) = sqlite::open(OP, path, Mode::Read, deadline)? else {
            return Ok(None);
        };
        match conn.query_row(ONE, &[user.into()], decode) {
            Ok(row) => Ok(row),
            Err(e) if sqlite::no_table(&e) => {
                sqlite::no_rows_unless_foreign(&conn, OP, path, deadline, OWNER).map(|()| None)
            }
            Err(e) => Err(sqlite::classify(OP, path, e)),
        }
    }

    /// Every user's last login, by name as SQLite orders the stored names,
    /// once each (a row whose name is NULL, which only another writer can
    /// leave, is not listed), read in batches with no lock held
    /// between them. Every batch must finish before `deadline`; after it the
    /// iterator yields `TimedOut` and ends.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn all(&self, deadline: Instant) -> Result<AllLogins> {
        const OP: &str = "lastlog2 read";
        let path = self.path.resolved(OP)?;
        let conn = sqlite::open(OP, path, Mode::Read, deadline)?;
        Ok(AllLogins { conn, path: path.to_path_buf(), deadline, batch: VecDeque::new(), after: None, done: false })
    }
}

/// The iterator [`Lastlog2::all`] returns.
#[derive(Debug)]
pub struct AllLogins {
    conn: Option<Connection>,
    path: PathBuf,
    deadline: Instant,
    batch: VecDeque<LastLogin2>,
    /// The last name read, as stored; `None` before the first page.
    after: Option<Name>,
    done: bool,
}

/// A name as the table stores it, to start the next page after: the decoded
/// name (lossy for text that is not UTF-8) would compare differently.
#[derive(Debug)]
enum Name {
    Text(Vec<u8>),
    Blob(Vec<u8>),
    Integer(i64),
    Real(f64),
}

impl Name {
    fn of(value: Value<'_>) -> Option<Name> {
        match value {
            Value::Null => None,
            Value::Integer(i) => Some(Name::Integer(i)),
            Value::Real(r) => Some(Name::Real(r)),
            Value::Text(t) => Some(Name::Text(t.to_vec())),
            Value::Blob(b) => Some(Name::Blob(b.to_vec())),
        }
    }

    fn value(&self) -> Value<'_> {
        match self {
            Name::Text(t) => Value::Text(t),
            Name::Blob(b) => Value::Blob(b),
            Name::Integer(i) => Value::Integer(*i),
            Name::Real(r) => Value::Real(*r),
        }
    }
}

impl AllLogins {
    fn fill(&mut self) -> Result<()> {
        const OP: &str = "lastlog2 read";
        let Some(conn) = &self.conn else {
            self.done = true;
            return Ok(());
        };
        sqlite::bound(conn, OP, &self.path, self.deadline)?;
        let fail = |e| sqlite::classify(OP, &self.path, e);
        let mut stmt = match conn.prepare(if self.after.is_some() { PAGE } else { FIRST_PAGE }) {
            Ok(stmt) => stmt,
            Err(e) if sqlite::no_table(&e) => {
                self.done = true;
                return sqlite::no_rows_unless_foreign(conn, OP, &self.path, self.deadline, OWNER);
            }
            Err(e) => return Err(fail(e)),
        };
        let limit = sqlite::BATCH as i64;
        match &self.after {
            Some(after) => stmt.bind(&[after.value(), limit.into()]),
            None => stmt.bind(&[limit.into()]),
        }
        .map_err(fail)?;
        let mut n = 0;
        while stmt.step().map_err(fail)? {
            n += 1;
            self.batch.push_back(decode(&stmt));
            self.after = Name::of(stmt.column(0));
        }
        if n < sqlite::BATCH {
            self.done = true;
        }
        Ok(())
    }
}

impl Iterator for AllLogins {
    type Item = Result<LastLogin2>;

    fn next(&mut self) -> Option<Result<LastLogin2>> {
        if self.batch.is_empty() && !self.done {
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.batch.pop_front().map(Ok)
    }
}
