//! SQLite, the C library under the wtmpdb and lastlog2 stores: the few calls
//! they make, each wrapped once as a safe method on the type that owns the
//! handle.
//!
//! By default the host's own `libsqlite3.so.0` is loaded at run time, the
//! first time a store needs it. Where wtmpdb or lastlog2 exists, that library
//! exists too (both link it), so the crate compiles no SQLite and declares no
//! `links = "sqlite3"`: a daemon's own SQLite crate, bundled or not, never
//! conflicts with it. With feature `bundled-sqlite` the calls go instead to
//! the copy that `libsqlite3-sys` compiles and links (for static binaries and
//! hosts without the library).

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[cfg(feature = "bundled-sqlite")]
use libsqlite3_sys as _;

/// The oldest SQLite whose schema support the stores need: wtmpdb's table is
/// `STRICT` (SQLite 3.37.0).
const MIN_VERSION: c_int = 3_037_000;

/// The library loaded at run time, by its soname.
#[cfg(not(feature = "bundled-sqlite"))]
const LIBRARY: &str = "libsqlite3.so.0";

/// A primary or extended SQLite result code (`sqlite3.h`).
pub(crate) mod code {
    use std::ffi::c_int;
    pub(crate) const OK: c_int = 0;
    pub(crate) const PERM: c_int = 3;
    pub(crate) const BUSY: c_int = 5;
    pub(crate) const LOCKED: c_int = 6;
    pub(crate) const READONLY: c_int = 8;
    pub(crate) const INTERRUPT: c_int = 9;
    pub(crate) const IOERR: c_int = 10;
    pub(crate) const CORRUPT: c_int = 11;
    pub(crate) const CANTOPEN: c_int = 14;
    pub(crate) const TOOBIG: c_int = 18;
    pub(crate) const MISUSE: c_int = 21;
    pub(crate) const NOTADB: c_int = 26;
    pub(crate) const ROW: c_int = 100;
    pub(crate) const DONE: c_int = 101;
}

const OPEN_READONLY: c_int = 0x0000_0001;
const OPEN_READWRITE: c_int = 0x0000_0002;
const OPEN_CREATE: c_int = 0x0000_0004;
const OPEN_NOMUTEX: c_int = 0x0000_8000;
const LIMIT_LENGTH: c_int = 0;
/// `SQLITE_TRANSIENT`: SQLite copies a bound value before the call returns.
const TRANSIENT: isize = -1;

const TYPE_INTEGER: c_int = 1;
const TYPE_FLOAT: c_int = 2;
const TYPE_TEXT: c_int = 3;
const TYPE_BLOB: c_int = 4;

/// `sqlite3`, a connection: opaque.
#[repr(C)]
struct RawDb {
    _private: [u8; 0],
}

/// `sqlite3_stmt`, a prepared statement: opaque.
#[repr(C)]
struct RawStmt {
    _private: [u8; 0],
}

type ProgressFn = unsafe extern "C" fn(*mut c_void) -> c_int;

/// Declares the calls once: the table of function pointers, how it is filled
/// from the loaded library (by `dlsym`), and the linked symbols of the bundled
/// copy.
macro_rules! api {
    ($($field:ident = $symbol:ident($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// SQLite's functions, as loaded or linked.
        struct Sqlite3 {
            $($field: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
        }

        #[cfg(feature = "bundled-sqlite")]
        mod linked {
            use super::*;
            extern "C" {
                $(pub(super) fn $symbol($(_: $arg),*) $(-> $ret)?;)*
            }
        }

        impl Sqlite3 {
            #[cfg(feature = "bundled-sqlite")]
            fn linked() -> Sqlite3 {
                Sqlite3 { $($field: linked::$symbol,)* }
            }

            /// Each function from `handle`, a library `dlopen` returned.
            #[cfg(not(feature = "bundled-sqlite"))]
            fn from_library(handle: NonNull<c_void>) -> Result<Sqlite3, String> {
                Ok(Sqlite3 {
                    $($field: {
                        let name = concat!(stringify!($symbol), "\0");
                        // SAFETY: `handle` is a live dlopen handle (never
                        // closed) and `name` is NUL-terminated.
                        let sym = unsafe { libc::dlsym(handle.as_ptr(), name.as_ptr().cast()) };
                        if sym.is_null() {
                            return Err(format!("it has no `{}`", stringify!($symbol)));
                        }
                        // SAFETY: the symbol is SQLite's function of that name,
                        // whose C signature (sqlite3.h) this type spells.
                        unsafe {
                            std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($arg),*) $(-> $ret)?>(sym)
                        }
                    },)*
                })
            }
        }
    };
}

api! {
    libversion_number = sqlite3_libversion_number() -> c_int;
    open_v2 = sqlite3_open_v2(*const c_char, *mut *mut RawDb, c_int, *const c_char) -> c_int;
    close_v2 = sqlite3_close_v2(*mut RawDb) -> c_int;
    extended_errcode = sqlite3_extended_errcode(*mut RawDb) -> c_int;
    errmsg = sqlite3_errmsg(*mut RawDb) -> *const c_char;
    errstr = sqlite3_errstr(c_int) -> *const c_char;
    busy_timeout = sqlite3_busy_timeout(*mut RawDb, c_int) -> c_int;
    progress_handler = sqlite3_progress_handler(*mut RawDb, c_int, Option<ProgressFn>, *mut c_void);
    limit = sqlite3_limit(*mut RawDb, c_int, c_int) -> c_int;
    changes = sqlite3_changes(*mut RawDb) -> c_int;
    last_insert_rowid = sqlite3_last_insert_rowid(*mut RawDb) -> i64;
    prepare_v2 = sqlite3_prepare_v2(*mut RawDb, *const c_char, c_int, *mut *mut RawStmt, *mut *const c_char) -> c_int;
    finalize = sqlite3_finalize(*mut RawStmt) -> c_int;
    reset = sqlite3_reset(*mut RawStmt) -> c_int;
    bind_null = sqlite3_bind_null(*mut RawStmt, c_int) -> c_int;
    bind_int64 = sqlite3_bind_int64(*mut RawStmt, c_int, i64) -> c_int;
    bind_double = sqlite3_bind_double(*mut RawStmt, c_int, f64) -> c_int;
    bind_text = sqlite3_bind_text(*mut RawStmt, c_int, *const c_char, c_int, isize) -> c_int;
    bind_blob = sqlite3_bind_blob(*mut RawStmt, c_int, *const c_void, c_int, isize) -> c_int;
    step = sqlite3_step(*mut RawStmt) -> c_int;
    column_type = sqlite3_column_type(*mut RawStmt, c_int) -> c_int;
    column_int64 = sqlite3_column_int64(*mut RawStmt, c_int) -> i64;
    column_double = sqlite3_column_double(*mut RawStmt, c_int) -> f64;
    column_text = sqlite3_column_text(*mut RawStmt, c_int) -> *const u8;
    column_blob = sqlite3_column_blob(*mut RawStmt, c_int) -> *const c_void;
    column_bytes = sqlite3_column_bytes(*mut RawStmt, c_int) -> c_int;
}

/// The process's SQLite: loaded (or linked) once, at the first use; a failure
/// is kept too, so that every store says the same.
fn api() -> Result<&'static Sqlite3, SqliteError> {
    static API: OnceLock<Result<Sqlite3, String>> = OnceLock::new();
    API.get_or_init(|| {
        #[cfg(feature = "bundled-sqlite")]
        let api = Sqlite3::linked();
        #[cfg(not(feature = "bundled-sqlite"))]
        let api = load(LIBRARY)?;
        checked_version(&api)?;
        Ok(api)
    })
    .as_ref()
    .map_err(|reason| SqliteError { code: NOT_LOADED, message: reason.clone() })
}

/// `dlopen`s `soname` and reads its functions. The handle is never closed:
/// the functions stay valid for the life of the process.
#[cfg(not(feature = "bundled-sqlite"))]
fn load(soname: &str) -> Result<Sqlite3, String> {
    let name = CString::new(soname).map_err(|_| format!("{soname} contains a NUL byte"))?;
    // SAFETY: `name` is NUL-terminated; loading runs the library's
    // initialisers, which for SQLite do nothing but set up its globals.
    let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    let Some(handle) = NonNull::new(handle) else {
        // SAFETY: dlerror returns NULL or a NUL-terminated string, valid until
        // the next dl* call on this thread; it is copied at once.
        let why = unsafe { libc::dlerror() };
        let why = if why.is_null() {
            "no reason given".to_owned()
        } else {
            // SAFETY: as above, non-NULL and NUL-terminated.
            unsafe { CStr::from_ptr(why) }.to_string_lossy().into_owned()
        };
        return Err(format!("{soname} could not be loaded: {why}"));
    };
    Sqlite3::from_library(handle).map_err(|why| format!("{soname} is not SQLite: {why}"))
}

fn checked_version(api: &Sqlite3) -> Result<(), String> {
    // SAFETY: takes no argument and reads a constant.
    let version = unsafe { (api.libversion_number)() };
    if version < MIN_VERSION {
        let (major, minor, patch) = (version / 1_000_000, version / 1_000 % 1_000, version % 1_000);
        return Err(format!("SQLite {major}.{minor}.{patch} is older than 3.37.0, which the stores' tables need"));
    }
    Ok(())
}

/// `code` of an [`SqliteError`] when no SQLite could be loaded.
pub(crate) const NOT_LOADED: c_int = -1;

/// An SQLite failure: its extended result code and its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SqliteError {
    code: c_int,
    message: String,
}

impl SqliteError {
    #[cfg(test)]
    pub(crate) fn new(code: c_int, message: impl Into<String>) -> SqliteError {
        SqliteError { code, message: message.into() }
    }

    /// The primary result code (`code::BUSY`, ...), or [`NOT_LOADED`].
    pub(crate) fn primary(&self) -> c_int {
        if self.code == NOT_LOADED {
            NOT_LOADED
        } else {
            self.code & 0xff
        }
    }

    /// SQLite's message, or why no SQLite could be loaded.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The same failure with its message replaced (escaped, say).
    pub(crate) fn with_message(self, message: String) -> SqliteError {
        SqliteError { message, ..self }
    }
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code == NOT_LOADED {
            f.write_str(&self.message)
        } else {
            write!(f, "{} (SQLite result code {})", self.message, self.code)
        }
    }
}

impl std::error::Error for SqliteError {}

/// How a store opens its database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Read only; an empty file reads as a database without rows.
    Read,
    /// Read and write an existing file (an empty one becomes a fresh database,
    /// as wtmpdb >= 0.75 and liblastlog2 treat it).
    Write,
    /// As `Write`, and create the directory (0755) and the file when missing.
    Create,
}

/// A value bound to a statement or read from a row; text and blobs are
/// borrowed (from the caller, or from the row until the next step).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::Null, Value::Integer)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v.as_bytes())
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Value::Null, Value::from)
    }
}

/// An open connection, used by one thread at a time (it is `Send`, not `Sync`).
pub(crate) struct Connection {
    api: &'static Sqlite3,
    db: NonNull<RawDb>,
    /// When the progress handler interrupts a running statement; boxed so
    /// that its address, which SQLite keeps, stays put when `self` moves.
    deadline: Box<Cell<Option<Instant>>>,
}

// SAFETY: the connection is opened with SQLITE_OPEN_NOMUTEX, which SQLite
// allows to be used from any thread as long as no two use it at once; not
// being Sync (the Cell) keeps every use behind `&self` on one thread.
unsafe impl Send for Connection {}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens the database at `path`. SQLite reads nothing yet: the first
    /// statement does.
    pub(crate) fn open(path: &Path, mode: Mode) -> Result<Connection, SqliteError> {
        let api = api()?;
        let name = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| SqliteError { code: code::CANTOPEN, message: "the path contains a NUL byte".into() })?;
        let flags = OPEN_NOMUTEX
            | match mode {
                Mode::Read => OPEN_READONLY,
                Mode::Write => OPEN_READWRITE,
                Mode::Create => OPEN_READWRITE | OPEN_CREATE,
            };
        let mut db = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated, `db` receives the handle, and a
        // NULL VFS name means the default one.
        let rc = unsafe { (api.open_v2)(name.as_ptr(), &mut db, flags, ptr::null()) };
        let Some(db) = NonNull::new(db) else {
            // Out of memory: SQLite could not even allocate the handle.
            return Err(SqliteError { code: rc, message: errstr(api, rc) });
        };
        let conn = Connection { api, db, deadline: Box::new(Cell::new(None)) };
        if rc != code::OK {
            // Dropping `conn` closes the handle, as SQLite asks even on failure.
            return Err(conn.error());
        }
        Ok(conn)
    }

    /// The connection's last failure, read at once after the failing call.
    fn error(&self) -> SqliteError {
        // SAFETY: `db` is a live connection.
        let code = unsafe { (self.api.extended_errcode)(self.db.as_ptr()) };
        // SAFETY: as above; the message is NUL-terminated and valid until the
        // next call on this connection, and copied before it.
        let text = unsafe { (self.api.errmsg)(self.db.as_ptr()) };
        let message = if text.is_null() {
            errstr(self.api, code)
        } else {
            // SAFETY: non-NULL and NUL-terminated, as above.
            unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
        };
        SqliteError { code, message }
    }

    fn check(&self, rc: c_int) -> Result<(), SqliteError> {
        if rc == code::OK {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// Caps the size of any one value (text, blob) SQLite builds or reads.
    pub(crate) fn set_length_limit(&self, bytes: i32) {
        // SAFETY: `db` is live; LIMIT_LENGTH is a valid limit id.
        unsafe { (self.api.limit)(self.db.as_ptr(), LIMIT_LENGTH, bytes) };
    }

    /// How long a statement waits for another connection's lock.
    pub(crate) fn busy_timeout(&self, wait: Duration) -> Result<(), SqliteError> {
        let ms = c_int::try_from(wait.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: `db` is live.
        self.check(unsafe { (self.api.busy_timeout)(self.db.as_ptr(), ms) })
    }

    /// Interrupts any statement still running at `deadline` (it fails with
    /// `code::INTERRUPT`); asked every 1,000 virtual-machine steps.
    pub(crate) fn interrupt_at(&self, deadline: Instant) {
        self.deadline.set(Some(deadline));
        let arg: *const Cell<Option<Instant>> = &*self.deadline;
        // SAFETY: `db` is live; `arg` points into the Box that lives as long
        // as the connection (the handler goes with the handle when it closes).
        unsafe { (self.api.progress_handler)(self.db.as_ptr(), 1000, Some(past_deadline), arg as *mut c_void) };
    }

    /// Prepares one statement (`sql` holds exactly one).
    pub(crate) fn prepare(&self, sql: &str) -> Result<Statement<'_>, SqliteError> {
        match self.prepare_next(sql)? {
            (Some(stmt), _) => Ok(stmt),
            (None, _) => Err(SqliteError { code: code::MISUSE, message: "no statement in the SQL text".into() }),
        }
    }

    /// Prepares the first statement of `sql` (`None` when only blanks or
    /// comments are left) and returns the rest of the text.
    fn prepare_next<'s>(&self, sql: &'s str) -> Result<(Option<Statement<'_>>, &'s str), SqliteError> {
        let len = c_int::try_from(sql.len())
            .map_err(|_| SqliteError { code: code::TOOBIG, message: "the SQL text is too long".into() })?;
        let mut stmt = ptr::null_mut();
        let mut tail: *const c_char = ptr::null();
        // SAFETY: `sql` is valid for `len` bytes (no NUL terminator needed when
        // the length is given); `stmt` and `tail` receive the results.
        let rc = unsafe { (self.api.prepare_v2)(self.db.as_ptr(), sql.as_ptr().cast(), len, &mut stmt, &mut tail) };
        self.check(rc)?;
        // `tail` points into `sql`, at the end of the statement just read.
        let used = if tail.is_null() { sql.len() } else { (tail as usize).saturating_sub(sql.as_ptr() as usize) };
        let rest = sql.get(used.min(sql.len())..).unwrap_or("");
        Ok((NonNull::new(stmt).map(|stmt| Statement { conn: self, stmt }), rest))
    }

    /// Runs every statement of `sql`, in order; rows are discarded.
    pub(crate) fn execute_batch(&self, mut sql: &str) -> Result<(), SqliteError> {
        loop {
            // No statement: only blanks or comments were left.
            let (Some(mut stmt), rest) = self.prepare_next(sql)? else {
                return Ok(());
            };
            while stmt.step()? {}
            sql = rest;
        }
    }

    /// Runs one statement with `params`; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[Value<'_>]) -> Result<usize, SqliteError> {
        let mut stmt = self.prepare(sql)?;
        stmt.bind(params)?;
        while stmt.step()? {}
        drop(stmt);
        // SAFETY: `db` is live.
        let n = unsafe { (self.api.changes)(self.db.as_ptr()) };
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The first row of one statement, as `read` makes it; `None` when it has none.
    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        params: &[Value<'_>],
        read: impl FnOnce(&Statement<'_>) -> T,
    ) -> Result<Option<T>, SqliteError> {
        let mut stmt = self.prepare(sql)?;
        stmt.bind(params)?;
        Ok(if stmt.step()? { Some(read(&stmt)) } else { None })
    }

    /// The rowid of the last row this connection inserted.
    pub(crate) fn last_insert_rowid(&self) -> i64 {
        // SAFETY: `db` is live.
        unsafe { (self.api.last_insert_rowid)(self.db.as_ptr()) }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: `db` is live and closed once; every Statement borrows the
        // connection, so none is left. close_v2 never fails on a handle
        // without statements.
        unsafe { (self.api.close_v2)(self.db.as_ptr()) };
    }
}

/// The progress handler: non-zero (interrupt) once the deadline has passed.
unsafe extern "C" fn past_deadline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the connection's boxed deadline (`interrupt_at`), alive
    // while SQLite runs a statement on it, and read on that statement's thread.
    let deadline = unsafe { &*(arg as *const Cell<Option<Instant>>) };
    c_int::from(deadline.get().is_some_and(|d| Instant::now() >= d))
}

fn errstr(api: &Sqlite3, rc: c_int) -> String {
    // SAFETY: sqlite3_errstr takes any code and returns a static string.
    let text = unsafe { (api.errstr)(rc) };
    if text.is_null() {
        format!("SQLite result code {rc}")
    } else {
        // SAFETY: non-NULL, static and NUL-terminated.
        unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
    }
}

/// A prepared statement of a [`Connection`].
pub(crate) struct Statement<'c> {
    conn: &'c Connection,
    stmt: NonNull<RawStmt>,
}

impl fmt::Debug for Statement<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Statement").finish_non_exhaustive()
    }
}

impl Statement<'_> {
    /// Binds `params` to `?1`, `?2`, ... in order.
    pub(crate) fn bind(&mut self, params: &[Value<'_>]) -> Result<(), SqliteError> {
        let api = self.conn.api;
        let stmt = self.stmt.as_ptr();
        let too_big = || SqliteError { code: code::TOOBIG, message: "a bound value is too large".into() };
        for (i, value) in params.iter().enumerate() {
            let index = c_int::try_from(i + 1).map_err(|_| too_big())?;
            let len = |bytes: &[u8]| c_int::try_from(bytes.len()).map_err(|_| too_big());
            let rc = match *value {
                Value::Text(t) => {
                    let n = len(t)?;
                    // SAFETY: `stmt` is a live statement of this connection;
                    // `t` is valid for `n` bytes and copied by SQLite before
                    // the call returns (TRANSIENT).
                    unsafe { (api.bind_text)(stmt, index, t.as_ptr().cast(), n, TRANSIENT) }
                }
                Value::Blob(b) => {
                    let n = len(b)?;
                    // SAFETY: as for text.
                    unsafe { (api.bind_blob)(stmt, index, b.as_ptr().cast(), n, TRANSIENT) }
                }
                // SAFETY: `stmt` is a live statement of this connection.
                Value::Null => unsafe { (api.bind_null)(stmt, index) },
                // SAFETY: as above.
                Value::Integer(v) => unsafe { (api.bind_int64)(stmt, index, v) },
                // SAFETY: as above.
                Value::Real(v) => unsafe { (api.bind_double)(stmt, index, v) },
            };
            self.conn.check(rc)?;
        }
        Ok(())
    }

    /// Back to before the first row, to run again (with new bindings): ends
    /// the read transaction a statement in autocommit mode holds.
    pub(crate) fn reset(&mut self) {
        // SAFETY: `stmt` is live. Its result repeats the last step's error,
        // which that step already reported.
        unsafe { (self.conn.api.reset)(self.stmt.as_ptr()) };
    }

    /// Runs to the next row: true when there is one (read it with
    /// [`column`](Self::column)), false when the statement is done.
    pub(crate) fn step(&mut self) -> Result<bool, SqliteError> {
        // SAFETY: `stmt` is a live statement.
        match unsafe { (self.conn.api.step)(self.stmt.as_ptr()) } {
            code::ROW => Ok(true),
            code::DONE => Ok(false),
            _ => Err(self.conn.error()),
        }
    }

    /// Column `index` of the current row (NULL past the last column).
    pub(crate) fn column(&self, index: usize) -> Value<'_> {
        let api = self.conn.api;
        let stmt = self.stmt.as_ptr();
        let Ok(i) = c_int::try_from(index) else {
            return Value::Null;
        };
        // SAFETY: `stmt` is live and on a row (`step` returned true; `&self`
        // keeps it there); a column out of range reads as NULL. The pointers
        // SQLite returns stay valid until the next step, which the returned
        // borrow of `self` rules out; each length is read after its pointer,
        // as SQLite asks.
        unsafe {
            match (api.column_type)(stmt, i) {
                TYPE_INTEGER => Value::Integer((api.column_int64)(stmt, i)),
                TYPE_FLOAT => Value::Real((api.column_double)(stmt, i)),
                TYPE_TEXT => {
                    let p = (api.column_text)(stmt, i);
                    Value::Text(bytes(p, (api.column_bytes)(stmt, i)))
                }
                TYPE_BLOB => {
                    let p = (api.column_blob)(stmt, i);
                    Value::Blob(bytes(p.cast(), (api.column_bytes)(stmt, i)))
                }
                _ => Value::Null,
            }
        }
    }
}

/// `len` bytes at `p` (none when `p` is NULL, as for an empty blob).
///
/// # Safety
/// A non-NULL `p` is valid for `len` bytes for the lifetime `'a`.
unsafe fn bytes<'a>(p: *const u8, len: c_int) -> &'a [u8] {
    match usize::try_from(len) {
        // SAFETY: the caller's promise.
        Ok(len) if !p.is_null() => unsafe { std::slice::from_raw_parts(p, len) },
        _ => &[],
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: `stmt` is live and finalized once; its error, if any, was
        // already reported by the step that made it.
        unsafe { (self.conn.api.finalize)(self.stmt.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Connection {
        Connection::open(Path::new(":memory:"), Mode::Create).expect("SQLite loads and opens a memory database")
    }

    #[test]
    fn values_round_trip_through_a_table() {
        let conn = memory();
        conn.execute_batch("CREATE TABLE t(a, b, c, d, e); -- comment\n").unwrap();
        let n = conn
            .execute(
                "INSERT INTO t VALUES(?, ?, ?, ?, ?)",
                &[Value::Null, 7.into(), Value::Real(0.5), "t\u{e9}xt".into(), Value::Blob(b"\0\xff")],
            )
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(conn.last_insert_rowid(), 1);
        let row = conn
            .query_row("SELECT a, b, c, d, e, 99 FROM t", &[], |row| {
                let owned: Vec<String> = (0..7).map(|i| format!("{:?}", row.column(i))).collect();
                owned
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            row,
            [
                "Null",
                "Integer(7)",
                "Real(0.5)",
                "Text([116, 195, 169, 120, 116])",
                "Blob([0, 255])",
                "Integer(99)",
                "Null"
            ]
        );
        assert_eq!(conn.query_row("SELECT a FROM t WHERE b = 8", &[], |_| ()).unwrap(), None);
        let mut stmt = conn.prepare("SELECT ?1 * 2").unwrap();
        for i in [3, 5] {
            stmt.reset();
            stmt.bind(&[Value::Integer(i)]).unwrap();
            assert!(stmt.step().unwrap());
            assert_eq!(stmt.column(0), Value::Integer(i * 2));
        }
    }

    #[test]
    fn failures_carry_sqlites_code_and_message() {
        let conn = memory();
        let e = conn.prepare("SELECT * FROM missing").unwrap_err();
        assert_eq!(e.primary(), 1);
        assert!(e.message().starts_with("no such table"), "{e}");
        let e = conn.prepare("  -- nothing\n").unwrap_err();
        assert_eq!(e.primary(), code::MISUSE);
        let dir = tempfile::tempdir().unwrap();
        let e = Connection::open(&dir.path().join("absent.db"), Mode::Read)
            .and_then(|c| c.execute_batch("SELECT 1 FROM sqlite_master"))
            .unwrap_err();
        assert_eq!(e.primary(), code::CANTOPEN, "{e}");
    }

    #[test]
    fn the_length_limit_refuses_larger_values() {
        let conn = memory();
        conn.set_length_limit(1000);
        let e = conn.query_row("SELECT zeroblob(2000)", &[], |_| ()).unwrap_err();
        assert_eq!(e.primary(), code::TOOBIG, "{e}");
    }

    #[test]
    fn a_statement_running_past_its_deadline_is_interrupted() {
        let conn = memory();
        conn.interrupt_at(Instant::now() + Duration::from_millis(50));
        let started = Instant::now();
        let e = conn
            .query_row(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
                &[],
                |_| (),
            )
            .unwrap_err();
        assert_eq!(e.primary(), code::INTERRUPT, "{e}");
        assert!(started.elapsed() < Duration::from_secs(2), "interrupted late: {:?}", started.elapsed());
    }

    #[cfg(not(feature = "bundled-sqlite"))]
    #[test]
    fn a_missing_library_is_a_reason_not_a_crash() {
        let why = load("libsqlite3-absent.so.0").err().expect("no such library");
        assert!(why.starts_with("libsqlite3-absent.so.0 could not be loaded: "), "{why}");
        // A library that is not SQLite: libc has none of its functions.
        let why = load("libc.so.6").err().expect("libc is not SQLite");
        assert_eq!(why, "libc.so.6 is not SQLite: it has no `sqlite3_libversion_number`");
    }

    #[test]
    fn the_loaded_sqlite_is_new_enough() {
        let api = api().expect("SQLite is there");
        checked_version(api).unwrap();
        // SAFETY: takes no argument.
        assert!(unsafe { (api.libversion_number)() } >= MIN_VERSION);
    }
}
