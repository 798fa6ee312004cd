//! Last-login stores: glibc's lastlog file or a lastlog2 database. Everything
//! a write needs is checked before the login writes anything.

use std::path::{Path, PathBuf};

use super::StoreKind;
use crate::error::Result;
use crate::login::Login;
use crate::record::Record;
use crate::sys::deadline::Deadline;

/// One last-login store.
#[derive(Clone, Debug)]
pub(crate) enum LastLoginStore {
    /// glibc's lastlog file.
    File(PathBuf),
    /// A lastlog2 database.
    #[cfg(feature = "wtmpdb")]
    Lastlog2(crate::lastlog2::Lastlog2),
}

/// A last-login write, checked in full.
#[derive(Debug)]
pub(crate) enum PendingLastLogin {
    File(crate::lastlog::PendingLogin),
    #[cfg(feature = "wtmpdb")]
    Lastlog2(crate::lastlog2::Entry),
}

impl LastLoginStore {
    pub(crate) fn kind(&self) -> StoreKind {
        match self {
            LastLoginStore::File(_) => StoreKind::LastlogFile,
            #[cfg(feature = "wtmpdb")]
            LastLoginStore::Lastlog2(_) => StoreKind::Lastlog2,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        match self {
            LastLoginStore::File(p) => p,
            #[cfg(feature = "wtmpdb")]
            LastLoginStore::Lastlog2(db) => db.path(),
        }
    }

    /// Checks what the write of `record` needs, before any record is written.
    pub(crate) fn prepare(&self, login: &Login, record: &Record, deadline: Deadline) -> Result<PendingLastLogin> {
        match self {
            LastLoginStore::File(p) => crate::lastlog::PendingLogin::prepare(p, login.user_name(), record, deadline)
                .map(PendingLastLogin::File),
            #[cfg(feature = "wtmpdb")]
            LastLoginStore::Lastlog2(_) => Ok(PendingLastLogin::Lastlog2(super::db_entry(login, record))),
        }
    }

    pub(crate) fn write(&self, pending: &PendingLastLogin, deadline: Deadline) -> Result<()> {
        match (self, pending) {
            (LastLoginStore::File(p), PendingLastLogin::File(w)) => w.write(p, deadline),
            #[cfg(feature = "wtmpdb")]
            (LastLoginStore::Lastlog2(db), PendingLastLogin::Lastlog2(e)) => db.record(e, deadline.instant()),
            #[cfg(feature = "wtmpdb")]
            _ => Ok(()), // prepared by the same store
        }
    }
}
