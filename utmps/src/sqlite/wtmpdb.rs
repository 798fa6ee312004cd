//! wtmpdb: the SQLite login history that `last` reads on Debian 13, Ubuntu 26.04
//! and openSUSE (`/usr/bin/last` is `wtmpdb`).
//!
//! A [`Wtmpdb`] writes exactly the rows libwtmpdb and OpenSSH's `--with-wtmpdb`
//! code write: a login inserts a USER_PROCESS row (times in microseconds, the
//! TTY without `/dev/`) and returns its [`RowId`]; the logout sets that row's
//! `Logout`. The table is created with upstream's schema, byte for byte
//! ([`SCHEMA`]); the journal mode is never touched; nothing is created on disk
//! unless [`Wtmpdb::create`] asks for it.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! use std::time::{Duration, Instant, SystemTime};
//! use utmps::wtmpdb::{Entry, Logout, Wtmpdb};
//!
//! let db = Wtmpdb::new(dir.path().join("wtmp.db")).create(true);
//! let deadline = Instant::now() + Duration::from_secs(2);
//! let row = db.login(&Entry::new("alice", "/dev/pts/3").host("client.example.org"), deadline)?;
//! assert_eq!(db.logout(&row, SystemTime::now(), deadline)?, Logout::Recorded);
//! let newest = db.history(deadline)?.next().unwrap()?;
//! assert_eq!((newest.user.as_str(), newest.tty.as_deref()), ("alice", Some("pts/3")));
//! # Ok(()) }
//! ```
//!
//! # Rotation
//! `wtmpdb rotate` moves old rows, open sessions included, into another file. A
//! logout whose row is gone returns [`Logout::RowGone`]: the session still ended,
//! there is just no row left to close. Ids are not unique over time (a database
//! replaced by a new file, or the newest rows moved away, hands the same ids
//! out again), so a logout ends its row only while the row still has the
//! session's user, TTY and login time: another session's row that took the id
//! is left as it is, and the logout is `RowGone`.
//!
//! # Reading
//! [`Wtmpdb::history`] reads the order first, in one pass (4 bytes of memory
//! per row), then the rows in batches of 256, each in its own read
//! transaction: no lock is held between batches, so a slow reader never
//! blocks logins. A stored value larger than 64 KiB makes that row an error,
//! never a large allocation, and the rows after it are still read. A row
//! removed during the read is left out; one logged out during it is read with
//! its logout.
//!
//! # Errors
//! `InvalidInput`: a user, TTY, host or service that [`Entry`] refuses, or a
//! time before 1970, before any I/O; or a file that is not a database, a
//! directory, or another program's database (tables, none of them `wtmp`, or
//! a `wtmp` table of another shape): "not a wtmpdb database", and the file is
//! left unchanged. `Unavailable`: no database (and, for a login, no
//! [`create`](Wtmpdb::create)), or a relative path whose directory
//! [`new`](Wtmpdb::new) could not read. `TimedOut`: another connection held
//! the database locked past the deadline. `Permission`: the file or its
//! directory may not be written (a read-only mount among them).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::error::{Error, ErrorKind, Result};
use crate::login::check_line;
use crate::paths::Anchored;
pub use crate::sqlite::Entry;
use crate::sqlite::{self, Checked, Owner, Writer};
use crate::sys::sqlite::{code, Connection, Mode, SqliteError, Statement, Value};

/// Where Debian keeps the database (`/var/lib/wtmpdb/wtmp.db` is a symlink to it).
pub const DEBIAN_PATH: &str = "/var/log/wtmp.db";
/// Upstream wtmpdb's default path (openSUSE, and Debian's symlink).
pub const UPSTREAM_PATH: &str = "/var/lib/wtmpdb/wtmp.db";

/// The store's claim on a database: its table, in upstream's shape.
pub(crate) const OWNER: Owner = Owner {
    store: "wtmpdb",
    table: "wtmp",
    schema: SCHEMA,
    columns: &["ID", "Type", "User", "Login", "Logout", "TTY", "RemoteHost", "Service"],
    key: ("ID", true),
};

/// The table, as libwtmpdb creates it (thkukuk/wtmpdb `lib/sqlite.c`).
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT NULL, Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT;";

/// `Type` of a boot row (user `reboot`, TTY `~`, host the kernel release).
pub const BOOT_TIME: i64 = 1;
/// `Type` of a login row.
pub const USER_PROCESS: i64 = 3;

const INSERT: &str = "INSERT INTO wtmp (Type,User,Login,TTY,RemoteHost,Service) VALUES(?,?,?,?,?,?)";
// A row is a session's while it has the session's user, TTY and login time.
const UPDATE: &str = "UPDATE wtmp SET Logout = ?1 WHERE ID = ?2 AND User = ?3 AND TTY IS ?4 AND Login = ?5";
const DELETE: &str = "DELETE FROM wtmp WHERE ID = ?1 AND User = ?2 AND TTY IS ?3 AND Login = ?4";
const STILL_THERE: &str = "SELECT count(*) FROM wtmp WHERE ID = ?1 AND User = ?2 AND TTY IS ?3 AND Login = ?4";
const FIND_LOGIN: &str = "SELECT ID, User, TTY, Login FROM wtmp WHERE Type = ? AND User = ? AND TTY = ? \
                          AND Logout IS NULL AND Login >= ? ORDER BY Login DESC, ID DESC LIMIT 1";
const FIND_OPEN: &str =
    "SELECT ID, User, TTY, Login FROM wtmp WHERE TTY = ? AND Logout IS NULL ORDER BY Login DESC LIMIT 1";
// Newest first like `wtmpdb last`. The order is an expression no index has, so
// it is sorted once: the ids in that order, in one statement, then the rows by
// their ids (the rowid B-tree), a batch per read transaction, so that no
// statement or lock stays open between batches.
const KEYS: &str = "SELECT ID FROM wtmp ORDER BY IFNULL(Login, 0) DESC, ID DESC";
const SCAN: &str = "SELECT ID, Login FROM wtmp ORDER BY ID DESC";
const ROW: &str = "SELECT ID, Type, User, Login, Logout, TTY, RemoteHost, Service FROM wtmp WHERE ID = ?1";
const RUN: &str = "SELECT ID, Type, User, Login, Logout, TTY, RemoteHost, Service FROM wtmp \
                   WHERE ID <= ?1 AND ID >= ?2 ORDER BY ID DESC";
const MICRO: Duration = Duration::from_micros(1);

/// A row's id (the table's `ID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowId(pub i64);

/// A session's row as its logout finds it again: the id, and the user, TTY
/// and login time the row was written with. [`Wtmpdb::login`] and
/// [`Wtmpdb::find_open`] return one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginRow {
    id: RowId,
    user: String,
    tty: Option<String>,
    login: Option<i64>,
}

impl LoginRow {
    /// The row's id.
    pub fn id(&self) -> RowId {
        self.id
    }

    /// The columns that make the row this session's, as statement arguments.
    fn key(&self) -> [sqlite::Value<'_>; 4] {
        [self.id.0.into(), self.user.as_str().into(), self.tty.as_deref().into(), self.login.into()]
    }

    /// The row `FIND_LOGIN` or `FIND_OPEN` read.
    fn read(row: &Statement<'_>) -> Option<LoginRow> {
        Some(LoginRow {
            id: RowId(sqlite::integer(row, 0)?),
            user: sqlite::text(row, 1)?,
            tty: sqlite::text(row, 2),
            login: sqlite::integer(row, 3),
        })
    }
}

/// What a logout did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Logout {
    /// The session's row now has its logout time.
    Recorded,
    /// No row has that id any more (`wtmpdb rotate` moved it away), or no open
    /// row has that TTY: nothing was changed. Not a failure of the session.
    RowGone,
}

/// A wtmpdb database at a path. Each operation opens it, runs its statements
/// and closes it again, as libwtmpdb does, so no lock outlives a call.
#[derive(Clone, Debug)]
pub struct Wtmpdb {
    path: Anchored,
    create: bool,
}

impl Wtmpdb {
    /// The database at `path`; symlinks are followed (Debian's
    /// `/var/lib/wtmpdb/wtmp.db -> ../../log/wtmp.db`). Nothing is created.
    ///
    /// A relative path is resolved against the current directory now, so that
    /// a later `chdir` cannot send a logout to another file. When the current
    /// directory cannot be read, this cannot fail: the store it returns refuses
    /// every operation with that error (`Unavailable` when the directory was
    /// removed).
    pub fn new(path: impl Into<PathBuf>) -> Wtmpdb {
        Wtmpdb { path: Anchored::new(path.into()), create: false }
    }

    /// Whether a login may create the database and its directory (mode 0755)
    /// when they are missing (default: no, a missing database is `Unavailable`).
    /// The file gets SQLite's 0644 less the process umask.
    pub fn create(mut self, create: bool) -> Wtmpdb {
        self.create = create;
        self
    }

    /// The path, made absolute by [`new`](Self::new) (as given when that failed).
    pub fn path(&self) -> &Path {
        self.path.as_path()
    }

    pub(crate) fn creates(&self) -> bool {
        self.create
    }

    fn write(&self, op: &'static str, path: &Path, deadline: Instant) -> Result<Writer> {
        let mode = if self.create { Mode::Create } else { Mode::Write };
        let conn = sqlite::open_writer(op, path, mode, deadline)?
            .ok_or_else(|| Error::invalid(op, "the database could not be opened for writing").at(path))?;
        // What libwtmpdb's `CREATE TABLE IF NOT EXISTS` on every write does
        // (an empty file, logrotate's `create`, becomes a fresh database), but
        // never into another program's database.
        sqlite::claim(&conn, op, path, deadline, OWNER)?;
        Ok(conn)
    }

    /// Records a login and returns its row, for [`logout`](Self::logout). A
    /// database without tables (an empty file, as logrotate's `create` leaves
    /// it) gets [`SCHEMA`] first, as wtmpdb does.
    ///
    /// # Errors
    /// `InvalidInput` for a bad entry, before any I/O, or a file that is not a
    /// wtmpdb database, left unchanged; `Unavailable` without a database unless
    /// [`create`](Self::create) was asked; `TimedOut` past `deadline`;
    /// `Permission`. The [module docs](self#errors) tell each case.
    pub fn login(&self, entry: &Entry, deadline: Instant) -> Result<LoginRow> {
        const OP: &str = "wtmpdb login";
        let Checked { user, tty, host, service, time } = entry.checked(OP)?;
        let login = sqlite::micros(OP, time)?;
        let path = self.path.resolved(OP)?;
        tracing::trace!(path = %path.display(), user, tty, "wtmpdb login");
        let conn = self.write(OP, path, deadline)?;
        sqlite::bound(&conn, OP, path, deadline)?;
        conn.execute(
            INSERT,
            &[USER_PROCESS.into(), user.into(), login.into(), tty.into(), host.into(), service.into()],
        )
        .map_err(|e| sqlite::classify(OP, path, e))?;
        let id = RowId(conn.last_insert_rowid());
        tracing::debug!(path = %path.display(), id = id.0, "wtmpdb session opened");
        Ok(LoginRow { id, user: user.to_owned(), tty: Some(tty.to_owned()), login: Some(login) })
    }

    /// Sets the logout time of `row`, if it is still that session's row.
    ///
    /// # Errors
    /// As [`login`](Self::login); `Io` when the row is there but the update
    /// changed nothing (a trigger dropped it). A row that no longer exists,
    /// or whose id another session's row now has, is not an error: it returns
    /// [`Logout::RowGone`] and nothing is changed.
    pub fn logout(&self, row: &LoginRow, time: SystemTime, deadline: Instant) -> Result<Logout> {
        const OP: &str = "wtmpdb logout";
        let at = sqlite::micros(OP, time)?;
        let path = self.path.resolved(OP)?;
        tracing::trace!(path = %path.display(), id = row.id.0, "wtmpdb logout");
        let conn = self.write(OP, path, deadline)?;
        update(&conn, path, row, at, deadline)
    }

    /// Removes `row`, if it is still that session's: the take-back of a
    /// login whose session failed to open, so that `last` shows nothing of
    /// it. True when a row was removed.
    ///
    /// # Errors
    /// As [`logout`](Self::logout).
    pub(crate) fn delete(&self, row: &LoginRow, deadline: Instant) -> Result<bool> {
        const OP: &str = "wtmpdb take-back";
        let path = self.path.resolved(OP)?;
        let Some(conn) = sqlite::open_writer(OP, path, Mode::Write, deadline)? else {
            return Ok(false);
        };
        sqlite::bound(&conn, OP, path, deadline)?;
        let n = conn.execute(DELETE, &row.key()).map_err(|e| sqlite::classify(OP, path, e))?;
        tracing::debug!(path = %path.display(), id = row.id.0, removed = n, "wtmpdb login taken back");
        Ok(n > 0)
    }

    /// The newest open row of `tty`, the way sshd finds a session whose id it
    /// lost. `None` when there is none.
    ///
    /// # Errors
    /// `InvalidInput` for a bad TTY, a file that is not a database, or another
    /// program's database;
    /// `Unavailable` when there is no database; `TimedOut` past `deadline`.
    pub fn find_open(&self, tty: &str, deadline: Instant) -> Result<Option<LoginRow>> {
        const OP: &str = "wtmpdb find";
        let tty = check_line(tty)?;
        let path = self.path.resolved(OP)?;
        let Some(conn) = sqlite::open(OP, path, Mode::Read, deadline)? else {
            return Ok(None);
        };
        find_open(&conn, path, OP, tty, deadline)
    }

    /// The open row another writer (a PAM stack's pam_wtmpdb) made for the
    /// login `entry`: a user-process row of its user and TTY, logged in at
    /// `since` or later; the newest if several. `None` when there is none.
    ///
    /// # Errors
    /// As [`find_open`](Self::find_open).
    pub(crate) fn find_login(&self, entry: &Entry, since: SystemTime, deadline: Instant) -> Result<Option<LoginRow>> {
        const OP: &str = "wtmpdb find";
        let Checked { user, tty, .. } = entry.checked(OP)?;
        let since = sqlite::micros(OP, since)?;
        let path = self.path.resolved(OP)?;
        let Some(conn) = sqlite::open(OP, path, Mode::Read, deadline)? else {
            return Ok(None);
        };
        sqlite::bound(&conn, OP, path, deadline)?;
        let args = [USER_PROCESS.into(), user.into(), tty.into(), since.into()];
        match conn.query_row(FIND_LOGIN, &args, LoginRow::read) {
            Ok(row) => Ok(row.flatten()),
            Err(e) if sqlite::no_table(&e) => {
                sqlite::no_rows_unless_foreign(&conn, OP, path, deadline, OWNER).map(|()| None)
            }
            Err(e) => Err(sqlite::classify(OP, path, e)),
        }
    }

    /// Logs out the newest open row of `tty`: the logout of a session whose row
    /// id was lost. [`Logout::RowGone`] when no open row has that TTY.
    ///
    /// # Errors
    /// As [`logout`](Self::logout), and `InvalidInput` for a bad TTY.
    pub fn logout_tty(&self, tty: &str, time: SystemTime, deadline: Instant) -> Result<Logout> {
        const OP: &str = "wtmpdb logout";
        let tty = check_line(tty)?;
        let at = sqlite::micros(OP, time)?;
        let path = self.path.resolved(OP)?;
        let conn = self.write(OP, path, deadline)?;
        match find_open(&conn, path, OP, tty, deadline)? {
            Some(row) => update(&conn, path, &row, at, deadline),
            None => Ok(Logout::RowGone),
        }
    }

    /// The rows, newest first (by login time, as `wtmpdb last`), each with how
    /// it ended; an empty file reads as no rows. `deadline` bounds the whole
    /// read, which never blocks logins (how: the [module docs](self#reading)).
    ///
    /// # Errors
    /// `InvalidInput` for a file that is not a wtmpdb database (yielded by the
    /// iterator, first); `Unavailable` when there is none; `TimedOut`, yielded
    /// once past `deadline`, which ends the iteration; per row, `Io` for a row
    /// that cannot be read, a stored value over 64 KiB among them.
    pub fn history(&self, deadline: Instant) -> Result<History> {
        const OP: &str = "wtmpdb read";
        let path = self.path.resolved(OP)?;
        let conn = sqlite::open(OP, path, Mode::Read, deadline)?;
        Ok(History {
            conn,
            path: path.to_path_buf(),
            deadline,
            order: None,
            batch: VecDeque::new(),
            done: false,
            newer_boot: None,
        })
    }
}

fn find_open(
    conn: &Connection,
    path: &Path,
    op: &'static str,
    tty: &str,
    deadline: Instant,
) -> Result<Option<LoginRow>> {
    sqlite::bound(conn, op, path, deadline)?;
    match conn.query_row(FIND_OPEN, &[tty.into()], LoginRow::read) {
        Ok(row) => Ok(row.flatten()),
        // A database without the table has no open row, unless it is another program's.
        Err(e) if sqlite::no_table(&e) => {
            sqlite::no_rows_unless_foreign(conn, op, path, deadline, OWNER).map(|()| None)
        }
        Err(e) => Err(sqlite::classify(op, path, e)),
    }
}

fn update(conn: &Connection, path: &Path, row: &LoginRow, at: i64, deadline: Instant) -> Result<Logout> {
    const OP: &str = "wtmpdb logout";
    let id = row.id;
    let fail = |e| sqlite::classify(OP, path, e);
    sqlite::bound(conn, OP, path, deadline)?;
    let [id_arg, user, tty, login] = row.key();
    let changed = conn.execute(UPDATE, &[at.into(), id_arg, user, tty, login]).map_err(fail)?;
    match changed {
        0 => {
            // The table is upstream's (`write` checked it, triggers
            // included), so an unchanged row should not be there; if it is,
            // the write was lost and saying `RowGone` would hide that.
            let there = conn.query_row(STILL_THERE, &row.key(), |r| sqlite::integer(r, 0)).map_err(fail)?;
            if there.flatten().unwrap_or(0) > 0 {
                return Err(Error::new(
                    ErrorKind::Io,
                    OP,
                    format!("the update of row {} changed nothing, though the row is there", id.0),
                )
                .at(path));
            }
            tracing::debug!(path = %path.display(), id = id.0, "wtmpdb row gone (rotated away, or the id reused)");
            Ok(Logout::RowGone)
        }
        1 => {
            tracing::debug!(path = %path.display(), id = id.0, "wtmpdb session closed");
            Ok(Logout::Recorded)
        }
        n => Err(Error::new(ErrorKind::Io, OP, format!("{n} rows have id {}", id.0)).at(path)),
    }
}

/// How a history row ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistoryEnd {
    /// It has a logout (for a boot row: the shutdown) time.
    LoggedOut(SystemTime),
    /// An open login with no boot after it.
    StillLoggedIn,
    /// An open boot row, the current boot.
    StillRunning,
    /// An open row older than a later boot: the system went down first.
    Crash {
        /// The login time of the next boot row.
        boot: SystemTime,
    },
    /// An open row of another type.
    Open,
}

/// A wtmpdb row as stored, with how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The row id.
    pub id: RowId,
    /// `Type`: [`USER_PROCESS`], [`BOOT_TIME`], ...
    pub kind: i64,
    /// `User` (`reboot` on boot rows).
    pub user: String,
    /// `Login`; `None` when missing or not positive.
    pub login: Option<SystemTime>,
    /// `TTY` as stored (without `/dev/`; `~` on boot rows).
    pub tty: Option<String>,
    /// `RemoteHost` as stored, uncut (boot rows: the kernel release).
    pub host: Option<String>,
    /// `Service`.
    pub service: Option<String>,
    /// How it ended.
    pub end: HistoryEnd,
}

impl HistoryEntry {
    /// Login to logout, for a row that has both.
    pub fn duration(&self) -> Option<Duration> {
        match self.end {
            HistoryEnd::LoggedOut(at) => at.duration_since(self.login?).ok(),
            _ => None,
        }
    }
}

/// The iterator [`Wtmpdb::history`] returns.
#[derive(Debug)]
pub struct History {
    conn: Option<Connection>,
    path: PathBuf,
    deadline: Instant,
    /// The ids still to read, in reading order; `None` before the first batch.
    order: Option<Ids>,
    batch: VecDeque<Result<HistoryEntry>>,
    done: bool,
    newer_boot: Option<SystemTime>,
}

impl History {
    fn fill(&mut self) -> Result<()> {
        const OP: &str = "wtmpdb read";
        let Some(conn) = &self.conn else {
            self.done = true;
            return Ok(());
        };
        sqlite::bound(conn, OP, &self.path, self.deadline)?;
        let fail = |e| sqlite::classify(OP, &self.path, e);
        let order = match &mut self.order {
            Some(order) => order,
            None => {
                // Another program's database, or its table by wtmpdb's name,
                // is not read as wtmpdb's.
                sqlite::no_rows_unless_foreign(conn, OP, &self.path, self.deadline, OWNER)?;
                let ids = match read_order(conn) {
                    Ok(ids) => ids,
                    // A database without the table (nothing logged yet) has no rows.
                    Err(e) if sqlite::no_table(&e) => {
                        self.done = true;
                        return Ok(());
                    }
                    Err(e) => return Err(fail(e)),
                };
                self.order.insert(ids)
            }
        };
        // One read transaction per batch: one lock and one check of the
        // file for the batch's rows, not one per row; none between batches.
        let _batch = sqlite::ReadTransaction::begin(conn).map_err(fail)?;
        let mut one = conn.prepare(ROW).map_err(fail)?;
        let mut run = conn.prepare(RUN).map_err(fail)?;
        let ids: Vec<i64> = order.by_ref().take(sqlite::BATCH).collect();
        let mut rest = &ids[..];
        while let Some(&hi) = rest.first() {
            // The run of consecutive ids from `hi` down (rows written in
            // login order, the common case) is one range scan of the rowid
            // B-tree; an id out of line is one lookup.
            let len = 1 + rest.windows(2).take_while(|w| w[0].checked_sub(1) == Some(w[1])).count();
            let lo = rest[len - 1];
            rest = &rest[len..];
            // The newest id of the run not read yet.
            let mut unread = Some(hi);
            if len > 1 {
                run.reset();
                run.bind(&[hi.into(), lo.into()]).map_err(fail)?;
                loop {
                    match run.step() {
                        Ok(true) => {
                            let id = sqlite::integer(&run, 0).unwrap_or(lo);
                            self.batch.push_back(Ok(entry(&run, id, &mut self.newer_boot)));
                            unread = id.checked_sub(1).filter(|&next| next >= lo);
                        }
                        Ok(false) => {
                            unread = None;
                            break;
                        }
                        // A value over the cap ends the scan: the rest of the
                        // run is read row by row, so that only that row fails.
                        Err(e) if e.primary() == code::TOOBIG => break,
                        Err(e) => return Err(fail(e)),
                    }
                }
            }
            let Some(top) = unread else { continue };
            for id in (lo..=top).rev() {
                one.reset();
                one.bind(&[id.into()]).map_err(fail)?;
                match one.step() {
                    Ok(true) => self.batch.push_back(Ok(entry(&one, id, &mut self.newer_boot))),
                    // Removed since the order was read.
                    Ok(false) => {}
                    // This row only (a value over the cap): the others are still read.
                    Err(e) if e.primary() == code::TOOBIG => {
                        let detail = format!("row {id} holds a value larger than the {}-byte cap", sqlite::MAX_VALUE);
                        self.batch.push_back(Err(fail(e).with_detail(detail)));
                    }
                    Err(e) => return Err(fail(e)),
                }
            }
        }
        if order.is_empty() {
            self.done = true;
        }
        Ok(())
    }
}

/// The ids in reading order. Rows are written in login order, so the rowid
/// B-tree read backwards (no sort) usually is that order already: it is read
/// with the login times, and only when one is out of order are the ids sorted.
fn read_order(conn: &Connection) -> std::result::Result<Ids, SqliteError> {
    {
        let mut scan = conn.prepare(SCAN)?;
        let mut ids = Ids::default();
        let mut newer = i64::MAX;
        let mut in_order = true;
        while scan.step()? {
            // The ID is the table's INTEGER PRIMARY KEY: always an integer.
            ids.push(sqlite::integer(&scan, 0).unwrap_or(0));
            // What `IFNULL(Login, 0)` orders by; any other type compares as
            // SQLite compares it, which the sort below leaves to SQLite.
            let login = match scan.column(1) {
                Value::Null => 0,
                Value::Integer(v) => v,
                _ => i64::MAX,
            };
            if login > newer {
                in_order = false;
                break;
            }
            newer = login;
        }
        if in_order {
            return Ok(ids);
        }
    }
    let mut keys = conn.prepare(KEYS)?;
    let mut ids = Ids::default();
    while keys.step()? {
        ids.push(sqlite::integer(&keys, 0).unwrap_or(0));
    }
    Ok(ids)
}

/// The history entry of the row at `row` (`ROW`'s or `RUN`'s columns), whose
/// id is `id`; `newer_boot` is the login time of the oldest boot row read so
/// far (rows come newest first), which tells a crash from a live session.
fn entry(row: &Statement<'_>, id: i64, newer_boot: &mut Option<SystemTime>) -> HistoryEntry {
    let kind = sqlite::integer(row, 1).unwrap_or(0);
    let login = sqlite::time_from(sqlite::integer(row, 3), MICRO);
    let end = match sqlite::time_from(sqlite::integer(row, 4), MICRO) {
        Some(at) => HistoryEnd::LoggedOut(at),
        None => match *newer_boot {
            Some(boot) => HistoryEnd::Crash { boot },
            None if kind == USER_PROCESS => HistoryEnd::StillLoggedIn,
            None if kind == BOOT_TIME => HistoryEnd::StillRunning,
            None => HistoryEnd::Open,
        },
    };
    if kind == BOOT_TIME {
        // This boot is the next one after every row still to come.
        *newer_boot = login.or(*newer_boot);
    }
    HistoryEntry {
        id: RowId(id),
        kind,
        user: sqlite::text(row, 2).unwrap_or_default(),
        login,
        tty: sqlite::text(row, 5),
        host: sqlite::text(row, 6),
        service: sqlite::text(row, 7),
        end,
    }
}

/// Row ids in reading order, taken from the front: 4 bytes each while every
/// id fits 32 bits (any table short of 4 billion rows), 8 bytes from the first
/// one that does not.
#[derive(Debug)]
enum Ids {
    Narrow(Vec<u32>, usize),
    Wide(Vec<i64>, usize),
}

impl Default for Ids {
    fn default() -> Ids {
        Ids::Narrow(Vec::new(), 0)
    }
}

impl Ids {
    fn push(&mut self, id: i64) {
        match self {
            Ids::Narrow(ids, next) => match u32::try_from(id) {
                Ok(id) => ids.push(id),
                Err(_) => {
                    let wide = ids.iter().map(|&id| i64::from(id)).chain([id]).collect();
                    *self = Ids::Wide(wide, *next);
                }
            },
            Ids::Wide(ids, _) => ids.push(id),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Ids::Narrow(ids, next) => *next >= ids.len(),
            Ids::Wide(ids, next) => *next >= ids.len(),
        }
    }
}

impl Iterator for Ids {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        let id = match self {
            Ids::Narrow(ids, next) => ids.get(*next).map(|&id| i64::from(id)),
            Ids::Wide(ids, next) => ids.get(*next).copied(),
        };
        if id.is_some() {
            match self {
                Ids::Narrow(_, next) | Ids::Wide(_, next) => *next += 1,
            }
        }
        id
    }
}

impl Iterator for History {
    type Item = Result<HistoryEntry>;

    fn next(&mut self) -> Option<Result<HistoryEntry>> {
        while self.batch.is_empty() && !self.done {
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.batch.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_widen_at_the_first_id_past_32_bits_and_keep_their_order() {
        let mut ids = Ids::default();
        for id in [7, 5, i64::from(u32::MAX)] {
            ids.push(id);
        }
        assert!(matches!(ids, Ids::Narrow(..)));
        ids.push(i64::from(u32::MAX) + 1);
        ids.push(-3);
        assert!(matches!(ids, Ids::Wide(..)));
        assert!(!ids.is_empty());
        assert_eq!(ids.by_ref().collect::<Vec<_>>(), [7, 5, i64::from(u32::MAX), i64::from(u32::MAX) + 1, -3]);
        assert!(ids.is_empty());
    }
}
