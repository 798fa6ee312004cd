//! What each store of a handle keeps, and what it is.

use std::fmt;
use std::path::PathBuf;

/// What a store keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// The sessions open now (`who`, `w`): utmp, logind.
    Live,
    /// Logins and logouts (`last`): wtmp or wtmpdb.
    History,
    /// Each user's latest login (`lastlog`, `lastlog2`).
    LastLogin,
    /// Failed logins (`lastb`): btmp.
    FailedLogins,
}

/// Which kind of store, and so which tools read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreKind {
    /// glibc's utmp file.
    UtmpFile,
    /// systemd's logind: sessions opened through PAM, which `loginctl`,
    /// `who`, `w` and `users` list on systemd hosts.
    Logind,
    /// utmps's utmpd, on its socket.
    Utmpd,
    /// glibc's wtmp file.
    WtmpFile,
    /// utmps's wtmpd, on its socket.
    Wtmpd,
    /// A wtmpdb database (SQLite).
    Wtmpdb,
    /// glibc's lastlog file.
    LastlogFile,
    /// A lastlog2 database (SQLite).
    Lastlog2,
    /// A btmp file.
    Btmp,
}

/// One store of a handle, as [`Accounting::stores`](crate::Accounting::stores) lists it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StoreInfo {
    /// What it keeps.
    pub role: Role,
    /// What it is.
    pub kind: StoreKind,
    /// The file, database or socket.
    pub path: PathBuf,
}

impl fmt::Display for StoreInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {:?} {}", self.role, self.kind, self.path.display())
    }
}
