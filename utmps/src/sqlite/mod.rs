//! What the wtmpdb and lastlog2 stores share: opening a database under the
//! creation rules, busy waits bounded by the caller's deadline, SQLite errors
//! classified into the crate's kinds, and the checks on the text they store.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::record::escaped;
use crate::sys::sqlite::{code, Connection, Mode, SqliteError, Statement, Value, NOT_LOADED};

pub mod lastlog2;
mod turns;
pub mod wtmpdb;

/// Cap on one stored value read back (bytes): a row holding more is an error,
/// never an allocation the size of the file.
pub(crate) const MAX_VALUE: i32 = 64 * 1024;

/// Rows fetched per statement by the readers. Between batches no statement is
/// open, so a slow consumer never holds the read lock that would stall logins.
pub(crate) const BATCH: usize = 256;

/// A read transaction, ended (`COMMIT`: it wrote nothing) when dropped.
/// Statements inside it share one lock and one look at the file, where each
/// statement of its own takes and drops the lock and checks the file again.
pub(crate) struct ReadTransaction<'c>(&'c Connection);

impl<'c> ReadTransaction<'c> {
    pub(crate) fn begin(conn: &'c Connection) -> std::result::Result<ReadTransaction<'c>, SqliteError> {
        // DEFERRED: no lock until the first read, which waits under the busy timeout.
        conn.execute_batch("BEGIN DEFERRED")?;
        Ok(ReadTransaction(conn))
    }
}

impl Drop for ReadTransaction<'_> {
    fn drop(&mut self) {
        // Ending a transaction that wrote nothing waits for no lock; should
        // it fail anyway, ROLLBACK ends it, so that no lock outlives the batch.
        if let Err(e) = self.0.execute_batch("COMMIT").or_else(|_| self.0.execute_batch("ROLLBACK")) {
            tracing::debug!(error = %e, "ending a read transaction failed");
        }
    }
}

const REMEDY_MISSING: &str =
    "the database is created only when the caller asks for it (`create(true)`); not installed means not wanted";
const REMEDY_BUSY: &str =
    "another connection (a `sqlite3` shell, `wtmpdb rotate`, a stuck writer) holds the database locked; raise the deadline or find the holder";
const REMEDY_NOT_DB: &str = "the file is not an SQLite database of this store; it was left unchanged";
const REMEDY_PERMISSION: &str = "run as root: the database and its directory are writable only by root";
const REMEDY_NO_SQLITE: &str =
    "install the host's SQLite (Debian: libsqlite3-0), or build with feature `bundled-sqlite` (static binaries)";

/// What the file at `path` is, checked before SQLite sees it: SQLite would
/// block on a FIFO and cannot tell a directory from a missing file.
fn probe(op: &'static str, path: &Path, mode: Mode) -> Result<Option<u64>> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            Err(Error::invalid(op, "the path is a directory, not a database").at(path).with_remedy(REMEDY_NOT_DB))
        }
        Ok(meta) if !meta.is_file() => {
            Err(Error::invalid(op, "the path is not a regular file (a FIFO, socket or device)")
                .at(path)
                .with_remedy(REMEDY_NOT_DB))
        }
        Ok(meta) => Ok(Some(meta.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound && mode == Mode::Create => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::from_io(op, path, e, PermissionRule::File)
            .with_detail("no database at this path (a dangling symlink counts as none)")
            .with_remedy(REMEDY_MISSING)),
        Err(e) => Err(Error::from_io(op, path, e, PermissionRule::File)),
    }
}

/// Opens `path` under `mode`. `None`: the file is empty and `mode` is `Read`,
/// so there is nothing to read (and nothing is written to find that out).
///
/// Opening runs no statement and takes no lock, so it is bounded by the file
/// system; the busy timeout set here bounds the first statement's lock wait.
pub(crate) fn open(op: &'static str, path: &Path, mode: Mode, deadline: Instant) -> Result<Option<Connection>> {
    remaining(op, path, deadline)?;
    let size = probe(op, path, mode)?;
    if mode == Mode::Read && size == Some(0) {
        return Ok(None);
    }
    if size.is_none() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)
                .map_err(|e| Error::from_io(op, dir, e, PermissionRule::File))?;
        }
    }
    let conn = Connection::open(path, mode).map_err(|e| classify(op, path, e))?;
    conn.set_length_limit(MAX_VALUE);
    tracing::debug!(path = %path.display(), ?mode, "opened SQLite store");
    bound(&conn, op, path, deadline)?;
    Ok(Some(conn))
}

/// A connection that writes, holding this process's turn to write its
/// database ([`turns`]): the connection closes first, then the turn passes.
pub(crate) struct Writer {
    conn: Connection,
    _turn: turns::Turn,
}

impl std::ops::Deref for Writer {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

/// As [`open`], for a write: first waits, within `deadline`, for the turn
/// of this process's earlier writers of the database to pass.
pub(crate) fn open_writer(op: &'static str, path: &Path, mode: Mode, deadline: Instant) -> Result<Option<Writer>> {
    remaining(op, path, deadline)?;
    let waited = Instant::now();
    let Some(turn) = turns::Turn::take(path, deadline) else {
        return Err(Error::timed_out(op, path, waited.elapsed())
            .with_detail("this process's other writers of the database held it past the deadline")
            .with_remedy(REMEDY_BUSY));
    };
    Ok(open(op, path, mode, deadline)?.map(|conn| Writer { conn, _turn: turn }))
}

/// Time left before `deadline`, or `TimedOut` when none is.
fn remaining(op: &'static str, path: &Path, deadline: Instant) -> Result<Duration> {
    crate::sys::deadline::Deadline::from(deadline)
        .time_left()
        .map_err(|_| Error::timed_out(op, path, Duration::ZERO).with_remedy(REMEDY_BUSY))
}

/// Bounds the next statements by `deadline`: the busy timeout (waiting for
/// another connection's lock) is what is left of it, and a progress handler
/// interrupts a statement still running when it passes (a scan of a large
/// table). Call before each statement.
pub(crate) fn bound(conn: &Connection, op: &'static str, path: &Path, deadline: Instant) -> Result<()> {
    let left = remaining(op, path, deadline)?;
    conn.busy_timeout(left).map_err(|e| classify(op, path, e))?;
    conn.interrupt_at(deadline);
    Ok(())
}

/// Classifies an SQLite error into the crate's kinds. The message is in this
/// crate's words; SQLite's own text (which may quote the path) is the source,
/// with its unsafe characters escaped as the message's are.
pub(crate) fn classify(op: &'static str, path: &Path, err: SqliteError) -> Error {
    let (kind, remedy, detail) = match err.primary() {
        NOT_LOADED => (ErrorKind::Unsupported, Some(REMEDY_NO_SQLITE), "no usable SQLite library".to_owned()),
        code::BUSY | code::LOCKED => {
            (ErrorKind::TimedOut, Some(REMEDY_BUSY), "the database stayed locked past the deadline".to_owned())
        }
        code::INTERRUPT => (ErrorKind::TimedOut, None, "the statement was still running at the deadline".to_owned()),
        code::NOTADB => (ErrorKind::InvalidInput, Some(REMEDY_NOT_DB), "the file is not an SQLite database".to_owned()),
        code::CANTOPEN => (ErrorKind::Unavailable, None, "SQLite cannot open the file".to_owned()),
        code::READONLY | code::PERM => {
            (ErrorKind::Permission, Some(REMEDY_PERMISSION), "the database is not writable here".to_owned())
        }
        code::TOOBIG => (ErrorKind::Io, None, format!("a stored value is larger than the {MAX_VALUE}-byte cap")),
        code::CORRUPT => (ErrorKind::Io, None, "SQLite found the database malformed".to_owned()),
        code::IOERR => (ErrorKind::Io, None, "SQLite could not read or write the file".to_owned()),
        code => (ErrorKind::Io, None, format!("SQLite failed (result code {code})")),
    };
    let text = escaped(err.message()).into_owned();
    let err = err.with_message(text);
    let e = Error::new(kind, op, detail).at(path).with_source(io::Error::other(err), PermissionRule::File);
    match remedy {
        Some(r) => e.with_remedy(r),
        None => e,
    }
}

/// A store's claim on a database: its name, its table, the statement that
/// creates the table, and the shape a table must have for the store's rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner {
    pub(crate) store: &'static str,
    pub(crate) table: &'static str,
    pub(crate) schema: &'static str,
    /// Upstream's columns, in order; a table may have more after them.
    pub(crate) columns: &'static [&'static str],
    /// The primary key: its column, and whether it must be the rowid (an
    /// `INTEGER PRIMARY KEY`, whose value a login's insert returns).
    pub(crate) key: (&'static str, bool),
}

/// Makes the database at `conn` one of `owner`'s, or refuses it: a database
/// with no table yet (a new file, or the empty one logrotate leaves) gets the
/// store's schema; one that has the table in upstream's shape is used as it
/// is; one with other tables but not the store's belongs to another program
/// (or to the other store), as does one whose table has another shape, and is
/// left unchanged. Runs before every write, as the stores' upstream writers
/// run their `CREATE TABLE IF NOT EXISTS`.
pub(crate) fn claim(conn: &Connection, op: &'static str, path: &Path, deadline: Instant, owner: Owner) -> Result<()> {
    bound(conn, op, path, deadline)?;
    let fail = |e| classify(op, path, e);
    match holds(conn, owner).map_err(fail)? {
        Holds::Table => Ok(()),
        Holds::Nothing => conn.execute_batch(owner.schema).map_err(fail),
        other => Err(not_ours(op, path, owner, &other, "nothing was written")),
    }
}

/// What a database holds, for the store `owner`.
enum Holds {
    /// The store's table, in upstream's shape.
    Table,
    /// The store's table's name on a table of another shape (why).
    Misshapen(String),
    /// Other tables or views, not the store's: another program's database.
    Other,
    /// Nothing yet.
    Nothing,
}

fn holds(conn: &Connection, owner: Owner) -> std::result::Result<Holds, SqliteError> {
    // SQLite's own objects (sqlite_sequence, sqlite_stat1) say nothing of the owner.
    let counts = conn.query_row(
        "SELECT count(*), count(CASE WHEN type = 'table' AND name = ?1 COLLATE NOCASE THEN 1 END) \
         FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        &[owner.table.into()],
        |row| (integer(row, 0).unwrap_or(0), integer(row, 1).unwrap_or(0)),
    )?;
    Ok(match counts.unwrap_or((0, 0)) {
        (_, 1..) => match misshapen(conn, owner)? {
            Some(why) => Holds::Misshapen(why),
            None => Holds::Table,
        },
        (1.., _) => Holds::Other,
        _ => Holds::Nothing,
    })
}

/// Why the store's table is not in upstream's shape, or `None` when it is:
/// upstream's columns in order, its key (the rowid where the store needs
/// it), and no trigger that could change or drop what the store writes.
fn misshapen(conn: &Connection, owner: Owner) -> std::result::Result<Option<String>, SqliteError> {
    let mut columns = conn.prepare("SELECT name, type, pk FROM pragma_table_info(?1)")?;
    columns.bind(&[owner.table.into()])?;
    let mut names = Vec::new();
    let mut keys = Vec::new();
    while columns.step()? {
        let name = text(&columns, 0).unwrap_or_default();
        if integer(&columns, 2).unwrap_or(0) > 0 {
            keys.push((name.clone(), text(&columns, 1).unwrap_or_default()));
        }
        names.push(name);
    }
    drop(columns);
    let upstream = owner.columns.iter().zip(&names).all(|(want, have)| want.eq_ignore_ascii_case(have));
    if !upstream || names.len() < owner.columns.len() {
        return Ok(Some(format!("its columns are {}, not {}", names.join(", "), owner.columns.join(", "))));
    }
    let (key, rowid) = owner.key;
    let key_ok = match keys.as_slice() {
        [(name, kind)] => name.eq_ignore_ascii_case(key) && (!rowid || kind.eq_ignore_ascii_case("INTEGER")),
        _ => false,
    };
    // An INTEGER PRIMARY KEY is the rowid unless the table is WITHOUT ROWID
    // or the key is DESC; both give the key an index of its own.
    let own_index = || {
        conn.query_row("SELECT count(*) FROM pragma_index_list(?1) WHERE origin = 'pk'", &[owner.table.into()], |r| {
            integer(r, 0).unwrap_or(0)
        })
    };
    if !key_ok || (rowid && own_index()?.unwrap_or(0) > 0) {
        let want = if rowid { "INTEGER PRIMARY KEY (the rowid)" } else { "PRIMARY KEY" };
        return Ok(Some(format!("its primary key is not `{key} {want}`")));
    }
    let triggers = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 COLLATE NOCASE",
        &[owner.table.into()],
        |r| integer(r, 0).unwrap_or(0),
    )?;
    if triggers.unwrap_or(0) > 0 {
        return Ok(Some("it has triggers, which can change or drop what is written".to_owned()));
    }
    Ok(None)
}

fn not_ours(op: &'static str, path: &Path, owner: Owner, holds: &Holds, outcome: &str) -> Error {
    let Owner { store, table, .. } = owner;
    let what = match holds {
        Holds::Misshapen(why) => format!("its `{table}` table is not {store}'s: {why}"),
        _ => format!("it holds other tables or views but no `{table}` table"),
    };
    Error::invalid(op, format!("not a {store} database: {what}; {outcome}")).at(path).with_remedy(REMEDY_NOT_DB)
}

/// For a check, writing nothing: whether the store `owner` may write the
/// database at `path` (an SQLite database with its table, or with nothing
/// yet, or an empty file).
pub(crate) fn usable_by(op: &'static str, path: &Path, deadline: Instant, owner: Owner) -> Result<()> {
    match open(op, path, Mode::Read, deadline)? {
        Some(conn) => refuse_foreign(&conn, op, path, deadline, owner, "a write would be refused"),
        None => Ok(()),
    }
}

/// For a read: a database with nothing in it yet (no login recorded) has no
/// rows; one that holds other tables, or the store's table in another shape,
/// belongs to another program, and reading it as the store's would hide that.
pub(crate) fn no_rows_unless_foreign(
    conn: &Connection,
    op: &'static str,
    path: &Path,
    deadline: Instant,
    owner: Owner,
) -> Result<()> {
    refuse_foreign(conn, op, path, deadline, owner, "nothing was read")
}

/// `Ok` unless the database at `conn` holds tables but not `owner`'s, or
/// `owner`'s table in another shape; `outcome` says what became of the
/// operation that asked.
fn refuse_foreign(
    conn: &Connection,
    op: &'static str,
    path: &Path,
    deadline: Instant,
    owner: Owner,
    outcome: &str,
) -> Result<()> {
    bound(conn, op, path, deadline)?;
    match holds(conn, owner).map_err(|e| classify(op, path, e))? {
        Holds::Table | Holds::Nothing => Ok(()),
        other => Err(not_ours(op, path, owner, &other, outcome)),
    }
}

/// Microseconds since the epoch, as wtmpdb stores times.
pub(crate) fn micros(op: &'static str, time: SystemTime) -> Result<i64> {
    let since = time.duration_since(UNIX_EPOCH).map_err(|_| Error::invalid(op, "the time is before 1970"))?;
    i64::try_from(since.as_micros()).map_err(|_| Error::invalid(op, "the time does not fit 64-bit microseconds"))
}

/// Seconds since the epoch, as lastlog2 stores times.
pub(crate) fn seconds(op: &'static str, time: SystemTime) -> Result<i64> {
    let since = time.duration_since(UNIX_EPOCH).map_err(|_| Error::invalid(op, "the time is before 1970"))?;
    i64::try_from(since.as_secs()).map_err(|_| Error::invalid(op, "the time does not fit 64-bit seconds"))
}

/// The time a stored count of `unit`s since the epoch means; `None` for 0,
/// negative or unrepresentable values.
pub(crate) fn time_from(value: Option<i64>, unit: Duration) -> Option<SystemTime> {
    let v = u32::try_from(unit.as_micros()).ok().and_then(|u| value.filter(|&v| v > 0).map(|v| (v, u)))?;
    let micros = u64::try_from(v.0).ok()?.checked_mul(u64::from(v.1))?;
    UNIX_EPOCH.checked_add(Duration::from_micros(micros))
}

/// A TEXT column as stored; SQLite may hold another type where the table is not
/// STRICT, which reads as its text form.
pub(crate) fn text(row: &Statement<'_>, idx: usize) -> Option<String> {
    match row.column(idx) {
        Value::Null => None,
        Value::Text(t) | Value::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(r) => Some(r.to_string()),
    }
}

/// An INTEGER column; other types read as `None`.
pub(crate) fn integer(row: &Statement<'_>, idx: usize) -> Option<i64> {
    match row.column(idx) {
        Value::Integer(i) => Some(i),
        _ => None,
    }
}

/// True for SQLite's "no such table": a database nobody has written to yet.
pub(crate) fn no_table(err: &SqliteError) -> bool {
    err.message().starts_with("no such table")
}

/// A login to record in wtmpdb ([`Wtmpdb::login`](crate::sqlite::wtmpdb::Wtmpdb::login))
/// or lastlog2 ([`Lastlog2::record`](crate::sqlite::lastlog2::Lastlog2::record)): user,
/// terminal and where from.
///
/// The user and TTY follow the crate's rules (never truncated; one leading
/// `/dev/` stripped, as sshd, pam_wtmpdb and pam_lastlog2 store it); the host
/// is cut at 256 bytes on a character boundary. The service is NULL unless
/// set, as OpenSSH writes it; PAM-based writers store the PAM service name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    user: String,
    tty: String,
    host: Option<String>,
    service: Option<String>,
    time: Option<SystemTime>,
}

impl Entry {
    /// A login of `user` on `tty` (`pts/3` or `/dev/pts/3`).
    pub fn new(user: impl Into<String>, tty: impl Into<String>) -> Entry {
        Entry { user: user.into(), tty: tty.into(), host: None, service: None, time: None }
    }

    /// The remote host (stored in `RemoteHost`; NULL when not given or empty).
    pub fn host(mut self, host: impl Into<String>) -> Entry {
        self.host = Some(host.into()).filter(|h| !h.is_empty());
        self
    }

    /// The service name (`Service`), such as `sshd` (default: NULL).
    pub fn service(mut self, service: impl Into<String>) -> Entry {
        self.service = Some(service.into());
        self
    }

    /// The login time (default: now): microseconds in wtmpdb, whole seconds
    /// in lastlog2.
    pub fn time(mut self, time: SystemTime) -> Entry {
        self.time = Some(time);
        self
    }

    /// The fields as they are stored, checked before any I/O.
    pub(crate) fn checked(&self, op: &'static str) -> Result<Checked<'_>> {
        crate::login::check_user(&self.user)?;
        let tty = crate::login::check_line(&self.tty)?;
        let host = self.host.as_deref().map(crate::login::cut_host).transpose()?;
        if let Some(service) = &self.service {
            crate::login::check_service(op, service)?;
        }
        let time = self.time.unwrap_or_else(SystemTime::now);
        Ok(Checked { user: &self.user, tty, host, service: self.service.as_deref(), time })
    }
}

/// An [`Entry`] that passed its checks.
pub(crate) struct Checked<'a> {
    pub(crate) user: &'a str,
    pub(crate) tty: &'a str,
    pub(crate) host: Option<&'a str>,
    pub(crate) service: Option<&'a str>,
    pub(crate) time: SystemTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn sqlites_text_is_the_source_only_and_escaped() {
        let path = Path::new("/tmp/x.db");
        let sqlite_text = "unable to open database file: /tmp/x\n\x1b[31m.db";
        let cases = [
            (code::CANTOPEN, ErrorKind::Unavailable),
            (code::BUSY, ErrorKind::TimedOut),
            (code::NOTADB, ErrorKind::InvalidInput),
            (code::READONLY, ErrorKind::Permission),
            (code::CORRUPT, ErrorKind::Io),
            // An extended code: SQLITE_IOERR_READ.
            (code::IOERR | (1 << 8), ErrorKind::Io),
            (NOT_LOADED, ErrorKind::Unsupported),
        ];
        for (code, kind) in cases {
            let err = SqliteError::new(code, sqlite_text);
            let e = classify("wtmpdb login", path, err);
            assert_eq!(e.kind(), kind);
            let text = e.to_string();
            assert!(text.starts_with("wtmpdb login on /tmp/x.db: "), "{text}");
            assert!(!text.contains("unable to open"), "SQLite's words are the source's, not repeated: {text}");
            let source = e.source().expect("the SQLite error is the source").to_string();
            assert!(source.contains("unable to open database file"), "{source}");
            assert!(!source.chars().any(crate::record::is_unsafe_char), "the source is escaped too: {source:?}");
            assert!(!text.contains(&source), "{text}");
        }
    }
}
