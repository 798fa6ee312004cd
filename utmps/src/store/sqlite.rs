//! The SQLite stores: a wtmpdb database (history) and a lastlog2 database
//! (last login), and the parts of the handle and the session that only they have.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::undo::{Order, UndoAction, UndoStep};
use super::{HistoryStore, LastLoginStore, LastLoginWrite, Mark, SetUp, Store, StoreKind, Unwritten};
use crate::accounting::Accounting;
use crate::backend::{Landed, WriteAccess};
use crate::error::{Error, PermissionRule, Result};
use crate::login::check_service;
use crate::login::Login;
use crate::record::{Exit, Record};
use crate::session::Session;
use crate::sqlite::lastlog2::Lastlog2;
use crate::sqlite::wtmpdb::{LoginRow, Logout, RowId, Wtmpdb};
use crate::sqlite::{usable_by, Entry, Owner};
use crate::sys;
use crate::sys::deadline::Deadline;
use crate::sys::file::Access;

impl Accounting {
    /// Adds a wtmpdb database as a history store, after those the handle has:
    /// each login inserts its row there and the logout sets that row's logout
    /// time. The database is never created: it must exist (an empty file is
    /// made a fresh database at the first login, as wtmpdb does). A relative
    /// path is resolved now, as for [`files`](Self::files); when that fails,
    /// the handle refuses every operation with that error.
    #[cfg_attr(docsrs, doc(cfg(feature = "wtmpdb")))]
    pub fn with_wtmpdb(self, path: impl AsRef<Path>) -> Accounting {
        self.add(path.as_ref(), |stores, p| stores.history.push(wtmpdb(Wtmpdb::new(p))))
    }

    /// Adds a lastlog2 database as a last-login store, written when a login
    /// asks for it ([`Login::lastlog`]). Never created, as for
    /// [`with_wtmpdb`](Self::with_wtmpdb); a relative path is resolved now.
    #[cfg_attr(docsrs, doc(cfg(feature = "wtmpdb")))]
    pub fn with_lastlog2(self, path: impl AsRef<Path>) -> Accounting {
        self.add(path.as_ref(), |stores, p| stores.last_login.push(lastlog2(Lastlog2::new(p))))
    }
}

impl Session {
    /// The wtmpdb row of this session in the handle's first wtmpdb store.
    #[cfg_attr(docsrs, doc(cfg(feature = "wtmpdb")))]
    pub fn wtmpdb_row(&self) -> Option<RowId> {
        self.marks().find_map(|m| m.as_any().downcast_ref::<RowMark>()).map(|m| m.row.id())
    }
}

/// `db` as a history store.
pub(crate) fn wtmpdb(db: Wtmpdb) -> Arc<dyn HistoryStore> {
    Arc::new(WtmpdbStore(db))
}

/// `db` as a last-login store.
pub(crate) fn lastlog2(db: Lastlog2) -> Arc<dyn LastLoginStore> {
    Arc::new(Lastlog2Store(db))
}

/// What the SQLite stores need and the utmp checks do not cover, checked
/// before any I/O: the service name, a time after 1970.
fn check_login(login: &Login, record: &Record) -> Result<()> {
    if let Some(service) = login.service_name() {
        check_service("login", service)?;
    }
    if record.tv_sec < 0 {
        return Err(Error::invalid("login", "wtmpdb and lastlog2 cannot store a login time before 1970"));
    }
    Ok(())
}

/// The row a login writes to wtmpdb or lastlog2: the utmp record's line and
/// time, the login's user, host and service.
fn entry(login: &Login, record: &Record) -> Entry {
    let line = record.line.to_string_lossy();
    let mut entry = Entry::new(login.user_name(), line.as_ref()).host(login.host_name());
    if let Some(t) = record.time() {
        entry = entry.time(t);
    }
    if let Some(service) = login.service_name() {
        entry = entry.service(service);
    }
    entry
}

#[derive(Debug)]
struct WtmpdbStore(Wtmpdb);

impl Store for WtmpdbStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Wtmpdb
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn check_login(&self, login: &Login, record: &Record) -> Result<()> {
        check_login(login, record)
    }
}

impl HistoryStore for WtmpdbStore {
    fn access(&self, deadline: Deadline) -> Result<WriteAccess> {
        access("check", self.0.path(), self.0.creates(), crate::sqlite::wtmpdb::OWNER, deadline)
    }

    /// An insert either committed or did not, so its failure never leaves a row.
    fn login(
        &self,
        _: SetUp<'_>,
        record: &Record,
        login: &Login,
        live: &[Box<dyn Mark>],
        deadline: Deadline,
    ) -> Result<Box<dyn Mark>, Unwritten> {
        let entry = entry(login, record);
        // A PAM session's pam_wtmpdb (Debian 13's common-session) may have
        // written this login's row already: it becomes the session's row,
        // so that `last` shows the session once.
        if let Some(since) = live.iter().filter_map(|m| m.pam_session_since()).min() {
            let since = since.checked_sub(PAM_ROW_SLACK).unwrap_or(since);
            match self.0.find_login(&entry, since, deadline.instant()) {
                Ok(Some(row)) => {
                    tracing::debug!(id = row.id().0, "wtmpdb row written by the PAM stack taken as the session's");
                    return Ok(Box::new(RowMark { db: self.0.clone(), row }));
                }
                Ok(None) => {}
                Err(e) => return Err(Unwritten::nothing(e)),
            }
        }
        match self.0.login(&entry, deadline.instant()) {
            Ok(row) => Ok(Box::new(RowMark { db: self.0.clone(), row })),
            Err(e) => Err(Unwritten::nothing(e)),
        }
    }

    /// wtmpdb stores no pid: the newest open row of the line is closed, as
    /// sshd does for a session whose row id it lost.
    fn sweep(&self, dead: &Record, deadline: Deadline) -> Result<()> {
        let at = dead.time().unwrap_or_else(SystemTime::now);
        self.0.logout_tty(&dead.line.to_string_lossy(), at, deadline.instant()).map(drop)
    }
}

/// How much earlier than the PAM session's start a row the PAM stack wrote
/// for the login may say it began (clock steps).
const PAM_ROW_SLACK: std::time::Duration = std::time::Duration::from_secs(1);

/// A session's wtmpdb row, whose `Logout` its logout sets.
#[derive(Debug)]
struct RowMark {
    db: Wtmpdb,
    row: LoginRow,
}

impl Mark for RowMark {
    /// A row rotated away (`wtmpdb rotate`) is not an error: the session did end.
    fn logout(&self, _: Exit, deadline: Deadline) -> Result<()> {
        if self.db.logout(&self.row, SystemTime::now(), deadline.instant())? == Logout::RowGone {
            let id = self.row.id().0;
            tracing::debug!(path = %self.db.path().display(), id, "wtmpdb row gone at logout (rotated away)");
        }
        Ok(())
    }

    /// The row is deleted, so that `last` shows nothing of the failed login,
    /// where a logout would show it with a zero duration.
    fn undo(&self) -> UndoStep {
        let action = DeleteRow { db: self.db.clone(), row: self.row.clone() };
        UndoStep::new("delete the wtmpdb row of a failed login", Order::Erase, Landed::Maybe, action)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Deletes one wtmpdb login row; a row already gone is no error.
#[derive(Debug)]
struct DeleteRow {
    db: Wtmpdb,
    row: LoginRow,
}

impl UndoAction for DeleteRow {
    fn now(&self, deadline: Deadline) -> Result<()> {
        self.db.delete(&self.row, deadline.instant()).map(drop)
    }
}

#[derive(Debug)]
struct Lastlog2Store(Lastlog2);

impl Store for Lastlog2Store {
    fn kind(&self) -> StoreKind {
        StoreKind::Lastlog2
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn check_login(&self, login: &Login, record: &Record) -> Result<()> {
        check_login(login, record)
    }
}

impl LastLoginStore for Lastlog2Store {
    fn present(&self) -> bool {
        self.0.path().exists() || (self.0.creates() && self.0.path().parent().is_some_and(Path::is_dir))
    }

    fn prepare(&self, login: &Login, record: &Record, _: Deadline) -> Result<Box<dyn LastLoginWrite>> {
        Ok(Box::new(Lastlog2Write { db: self.0.clone(), entry: entry(login, record) }))
    }
}

#[derive(Debug)]
struct Lastlog2Write {
    db: Lastlog2,
    entry: Entry,
}

impl LastLoginWrite for Lastlog2Write {
    fn write(&self, deadline: Deadline) -> Result<()> {
        self.db.record(&self.entry, deadline.instant())
    }
}

const REMEDY_JOURNAL: &str =
    "SQLite needs to write the database and to create its journal in the database's directory: run as root, \
     or give this process both";

/// What can be told, without writing, about writing the SQLite database at
/// `path`: it opens for writing, or (when `create`) it is missing in an
/// existing directory that root may write.
///
/// # Errors
/// `InvalidInput` for a directory or a special file at the path; the open's
/// error (`Permission`, `Unavailable`...) otherwise.
fn access(op: &'static str, path: &Path, create: bool, owner: Owner, deadline: Deadline) -> Result<WriteAccess> {
    match std::fs::metadata(path) {
        // Before the open: a FIFO without a reader fails a write-only open obscurely.
        Ok(m) if !m.is_file() => {
            Err(Error::invalid(op, "the path holds a directory or a special file, not a database").at(path))
        }
        // SQLite writes its journal (or WAL) beside the database: a file this
        // process may write in a directory it may not is no use.
        Ok(_) => sys::file::open(op, path, Access::Write)
            .and_then(|_| sys::file::may_create_in(op, path.parent().unwrap_or(Path::new("/"))))
            .map_err(|e| e.with_remedy(REMEDY_JOURNAL))
            .and_then(|()| usable_by(op, path, deadline.instant(), owner))
            .map(|()| WriteAccess::Granted),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let dir = path.parent().unwrap_or(Path::new("/"));
            match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() && crate::sys::users::is_root() => Ok(WriteAccess::Granted),
                Ok(m) if m.is_dir() => Ok(WriteAccess::Unknown(format!(
                    "the database is created at the first login, in {}",
                    dir.display()
                ))),
                Ok(_) => Err(Error::invalid(op, "the database's directory is not a directory").at(dir)),
                Err(e) => Err(Error::from_io(op, dir, e, PermissionRule::File)),
            }
        }
        Err(e) => Err(Error::from_io(op, path, e, PermissionRule::File)
            .with_remedy("the database is created only when the caller asks for it; not installed means not wanted")),
    }
}
