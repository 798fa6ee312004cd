//! The stores of a handle, by role: live sessions (utmp), history (wtmp,
//! wtmpdb), last login (lastlog, lastlog2) and failed logins (btmp). The
//! session logic is written once over these roles; a [`Backend`] does the
//! utmp and wtmp I/O and is given its two halves' roles here.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::Backend;
pub use crate::role::{Role, StoreInfo, StoreKind};

mod history;
mod last_login;
pub(crate) mod system;

pub(crate) use history::{History, Mark};
pub(crate) use last_login::LastLoginStore;

/// Every store of one handle. Shared by the handle's clones and its sessions.
#[derive(Clone, Default)]
pub(crate) struct Stores {
    /// utmp: the backend whose utmp half is a store of this handle.
    pub(crate) live: Option<Arc<dyn Backend>>,
    /// In the order a login writes them; a logout ends each with its [`Mark`].
    pub(crate) history: Vec<History>,
    /// Written when a login asks for it, in this order.
    pub(crate) last_login: Vec<LastLoginStore>,
    /// btmp.
    pub(crate) failed: Option<PathBuf>,
}

impl Stores {
    /// The backend doing utmp or wtmp I/O, if any.
    pub(crate) fn backend(&self) -> Option<&Arc<dyn Backend>> {
        self.live.as_ref().or_else(|| self.history.iter().find_map(History::backend))
    }

    /// The backend whose wtmp half is a history store, if any.
    pub(crate) fn wtmp(&self) -> Option<&Arc<dyn Backend>> {
        self.history.iter().find_map(History::backend)
    }

    pub(crate) fn list(&self) -> Vec<StoreInfo> {
        let mut out = Vec::new();
        let info = |role, kind, path: &Path| StoreInfo { role, kind, path: path.to_path_buf() };
        if let Some(b) = &self.live {
            let kind = if b.kind().uses_daemons() { StoreKind::Utmpd } else { StoreKind::UtmpFile };
            out.push(info(Role::Live, kind, b.utmp_endpoint()));
        }
        out.extend(self.history.iter().map(|h| info(Role::History, h.kind(), h.path())));
        out.extend(self.last_login.iter().map(|l| info(Role::LastLogin, l.kind(), l.path())));
        if let Some(p) = &self.failed {
            out.push(info(Role::FailedLogins, StoreKind::Btmp, p));
        }
        out
    }

    /// True when a login has nowhere to go: no live and no history store.
    pub(crate) fn records_nothing(&self) -> bool {
        self.live.is_none() && self.history.is_empty()
    }
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.list().iter().map(Shown)).finish()
    }
}

/// A store in Debug output as its Display: `History Wtmpdb /var/log/wtmp.db`.
struct Shown<'a>(&'a StoreInfo);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

/// What can be told, without writing, about writing the SQLite database at
/// `path`: it opens for writing, or (when `create`) it is missing in an
/// existing directory that root may write.
///
/// # Errors
/// `InvalidInput` for a directory or a special file at the path; the open's
/// error (`Permission`, `Unavailable`...) otherwise.
/// The row a login writes to wtmpdb or lastlog2: the utmp record's line and
/// time, the login's user, host and service.
#[cfg(feature = "wtmpdb")]
pub(crate) fn db_entry(login: &crate::login::Login, record: &crate::record::Record) -> crate::sqlite::Entry {
    let line = record.line.to_string_lossy();
    let mut entry = crate::sqlite::Entry::new(login.user_name(), line.as_ref()).host(login.host_name());
    if let Some(t) = record.time() {
        entry = entry.time(t);
    }
    if let Some(service) = login.service_name() {
        entry = entry.service(service);
    }
    entry
}

#[cfg(feature = "wtmpdb")]
pub(crate) fn sqlite_access(
    op: &'static str,
    path: &Path,
    create: bool,
    owner: (&str, &str),
    deadline: std::time::Instant,
) -> crate::Result<crate::WriteAccess> {
    use crate::error::{Error, PermissionRule};
    use crate::WriteAccess;
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            Err(Error::invalid(op, "the path holds a directory or a special file, not a database").at(path))
        }
        Ok(_) => std::os::unix::fs::OpenOptionsExt::custom_flags(
            std::fs::OpenOptions::new().write(true),
            libc::O_NONBLOCK | libc::O_NOCTTY,
        )
        .open(path)
        .map_err(|e| Error::from_io(op, path, e, PermissionRule::File))
        .and_then(|_| crate::sqlite::usable_by(op, path, deadline, owner))
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
