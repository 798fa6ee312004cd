//! Where the stores of a host are, the default deadline, and how a relative
//! path is pinned to the directory it was given in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, PermissionRule, Result};

/// The deadline of each operation unless [`Accounting::with_timeout`](crate::Accounting::with_timeout) says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default utmpd socket of utmps.
pub const UTMPD_SOCKET: &str = "/run/utmps/.utmpd-socket";
/// Default wtmpd socket of utmps.
pub const WTMPD_SOCKET: &str = "/run/utmps/.wtmpd-socket";
/// glibc's utmp file.
pub const UTMP_FILE: &str = "/var/run/utmp";
/// glibc's wtmp file.
pub const WTMP_FILE: &str = "/var/log/wtmp";
/// The lastlog file of glibc systems.
pub const LASTLOG_FILE: &str = "/var/log/lastlog";

/// `path` made absolute against the current directory, so that a later `chdir`
/// does not change what it names. Not canonicalized: symlinks keep meaning what
/// they point to when a write happens. An empty path is kept: it names nothing,
/// and the current directory is not what it means either.
pub(crate) fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if path.is_absolute() || path.as_os_str().is_empty() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()?.join(path))
}

/// Why [`absolute`] could not resolve a path, as plain values: an io::Error
/// is neither Clone nor unwind safe, and the handles that keep this are both.
#[derive(Clone, Debug)]
struct Unresolved {
    errno: Option<i32>,
    kind: std::io::ErrorKind,
    text: String,
}

impl From<&std::io::Error> for Unresolved {
    fn from(err: &std::io::Error) -> Unresolved {
        Unresolved { errno: err.raw_os_error(), kind: err.kind(), text: err.to_string() }
    }
}

/// The error of `op` on a relative `path` that [`absolute`] could not resolve.
fn unresolved_error(op: &'static str, path: &Path, err: &Unresolved) -> Error {
    // The errno is what decides the kind.
    let copy = match err.errno {
        Some(errno) => std::io::Error::from_raw_os_error(errno),
        None => std::io::Error::new(err.kind, err.text.clone()),
    };
    // The OS error is the source: not repeated here.
    Error::from_io(op, path, copy, PermissionRule::File)
        .with_detail("the relative path could not be made absolute: the current directory cannot be read")
}

/// A store's path, made [absolute](absolute) when the store was built; or,
/// when that failed, the path as given and the reason, so that every
/// operation refuses with it rather than write relative to a later directory.
#[derive(Clone, Debug)]
pub(crate) struct Anchored {
    path: PathBuf,
    unresolved: Option<Unresolved>,
}

impl Anchored {
    pub(crate) fn new(path: PathBuf) -> Anchored {
        match absolute(&path) {
            Ok(path) => Anchored { path, unresolved: None },
            Err(e) => Anchored { path, unresolved: Some(Unresolved::from(&e)) },
        }
    }

    /// The absolute path, or the path as given when it could not be resolved.
    pub(crate) fn as_path(&self) -> &Path {
        &self.path
    }

    /// The path `op` works on.
    ///
    /// # Errors
    /// The error of resolving it, when the current directory could not be read.
    pub(crate) fn resolved(&self, op: &'static str) -> Result<&Path> {
        match &self.unresolved {
            None => Ok(&self.path),
            Some(e) => Err(unresolved_error(op, &self.path, e)),
        }
    }
}
