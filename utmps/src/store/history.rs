//! History stores: the wtmp half of a backend (wtmp file, wtmpd) or a wtmpdb
//! database. A login returns a [`Mark`] that its logout ends the entry with.

use std::path::Path;
use std::sync::Arc;

use super::StoreKind;
use crate::backend::{Backend, Failed, PreparedAppend};
use crate::error::Result;
use crate::login::Login;
use crate::record::{Exit, Record};
use crate::sys::deadline::Deadline;

/// One history store.
#[derive(Clone, Debug)]
pub(crate) enum History {
    /// wtmp through the backend: the wtmp file or wtmpd. Without a backend
    /// compiled in there is none.
    #[cfg_attr(not(any(feature = "xutmp", feature = "native")), allow(dead_code))]
    Wtmp(Arc<dyn Backend>),
    /// A wtmpdb database.
    #[cfg(feature = "wtmpdb")]
    Wtmpdb(crate::wtmpdb::Wtmpdb),
}

/// What [`History::prepare`] set up for one store's login; nothing is written
/// until [`History::login`] uses it, and dropping it unused writes nothing.
pub(crate) struct Prepared<'a>(Option<Box<dyn PreparedAppend + 'a>>);

/// What a history store returned at login, which its logout needs.
#[derive(Clone, Debug)]
pub(crate) enum Mark {
    /// wtmp: the login record, whose logout record keeps its line, id, pid and user.
    Wtmp(Box<Record>),
    /// wtmpdb: the row, whose `Logout` is set.
    #[cfg(feature = "wtmpdb")]
    Wtmpdb(crate::wtmpdb::RowId),
}

impl History {
    pub(crate) fn kind(&self) -> StoreKind {
        match self {
            History::Wtmp(b) if b.kind().uses_daemons() => StoreKind::Wtmpd,
            History::Wtmp(_) => StoreKind::WtmpFile,
            #[cfg(feature = "wtmpdb")]
            History::Wtmpdb(_) => StoreKind::Wtmpdb,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        match self {
            History::Wtmp(b) => b.wtmp_endpoint(),
            #[cfg(feature = "wtmpdb")]
            History::Wtmpdb(db) => db.path(),
        }
    }

    pub(crate) fn backend(&self) -> Option<&Arc<dyn Backend>> {
        match self {
            History::Wtmp(b) => Some(b),
            #[cfg(feature = "wtmpdb")]
            History::Wtmpdb(_) => None,
        }
    }

    /// Sets up, without writing anything, what [`login`](Self::login) can use
    /// to record the login sooner: a wtmpd connection, whose daemon then
    /// starts while the caller writes utmp. Nothing for the other stores.
    pub(crate) fn prepare(&self, deadline: Deadline) -> Prepared<'_> {
        match self {
            History::Wtmp(b) => Prepared(Some(b.wtmp_prepare(deadline))),
            #[cfg(feature = "wtmpdb")]
            History::Wtmpdb(_) => Prepared(None),
        }
    }

    /// Records the login `record` (built from `login`), on what `prepared`
    /// (from [`prepare`](Self::prepare) on this store) set up, if anything. A
    /// wtmpdb insert either committed or did not, so its failure never leaves
    /// a row behind.
    pub(crate) fn login(
        &self,
        prepared: Prepared<'_>,
        record: &Record,
        login: &Login,
        deadline: Deadline,
    ) -> Result<Mark, Failed> {
        #[cfg(not(feature = "wtmpdb"))]
        let _ = login;
        match self {
            History::Wtmp(b) => {
                let appended = match prepared.0 {
                    Some(append) => append.append_tracked(record, deadline),
                    None => b.wtmp_append_tracked(record, deadline),
                };
                appended.map(|()| Mark::Wtmp(Box::new(*record)))
            }
            #[cfg(feature = "wtmpdb")]
            History::Wtmpdb(db) => db
                .login(&super::db_entry(login, record), deadline.instant())
                .map(Mark::Wtmpdb)
                .map_err(Failed::not_written),
        }
    }

    /// Ends the login marked `mark`, with `exit`, now: wtmp gets the logout
    /// record of the login record; wtmpdb sets the row's logout time. A wtmpdb
    /// row rotated away (`wtmpdb rotate`) is not an error: the session did end.
    pub(crate) fn logout(&self, mark: &Mark, exit: Exit, deadline: Deadline) -> Result<()> {
        match (self, mark) {
            (History::Wtmp(b), Mark::Wtmp(login)) => b.wtmp_append(&login.dead(exit), deadline),
            #[cfg(feature = "wtmpdb")]
            (History::Wtmpdb(db), Mark::Wtmpdb(id)) => {
                if db.logout(*id, std::time::SystemTime::now(), deadline.instant())? == crate::wtmpdb::Logout::RowGone {
                    tracing::debug!(path = %db.path().display(), id = id.0, "wtmpdb row gone at logout (rotated away)");
                }
                Ok(())
            }
            #[cfg(feature = "wtmpdb")]
            _ => Ok(()), // a mark always comes from its own store
        }
    }

    /// Ends, for [`Accounting::sweep`](crate::Accounting::sweep), the login
    /// whose logout record is `dead`: wtmp gets that record; wtmpdb, which
    /// stores no pid, closes the newest open row of the line, as sshd does
    /// for a session whose row id it lost.
    pub(crate) fn sweep(&self, dead: &Record, deadline: Deadline) -> Result<()> {
        match self {
            History::Wtmp(b) => b.wtmp_append(dead, deadline),
            #[cfg(feature = "wtmpdb")]
            History::Wtmpdb(db) => {
                let at = dead.time().unwrap_or_else(std::time::SystemTime::now);
                db.logout_tty(&dead.line.to_string_lossy(), at, deadline.instant()).map(drop)
            }
        }
    }
}
