//! What each store of a handle keeps, and what it is.

use std::fmt;
use std::path::PathBuf;

use crate::record::escaped;

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
        // The path escaped as an error's is: a store's line stays one line
        // of plain text, whatever bytes the path holds.
        write!(f, "{:?} {:?} {}", self.role, self.kind, escaped(&self.path.to_string_lossy()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paths_control_characters_are_escaped() {
        let info =
            StoreInfo { role: Role::History, kind: StoreKind::WtmpFile, path: PathBuf::from("/tmp/a\x1b[31mb\n") };
        let text = info.to_string();
        assert_eq!(text, "History WtmpFile /tmp/a\\u{1b}[31mb\\n");
        assert!(!text.chars().any(crate::record::is_unsafe_char), "{text:?}");
    }
}
