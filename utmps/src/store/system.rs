//! What [`Accounting::system`](crate::Accounting::system) finds on the host,
//! at run time, under a root prefix (`/` outside tests): every store that
//! applies, together.

use std::fs;
#[cfg(any(feature = "xutmp", feature = "native"))]
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[cfg(any(feature = "xutmp", feature = "native"))]
use super::backend::{Utmp, Wtmp};
use super::{Btmp, LastlogFile, Stores};
#[cfg(any(feature = "xutmp", feature = "native"))]
use crate::backend::Backend;
use crate::error::Result;

/// `path` (absolute) under `root`.
fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn exists(path: &Path) -> bool {
    fs::metadata(path).is_ok()
}

#[cfg(feature = "wtmpdb")]
fn is_dir(path: &Path) -> bool {
    fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false)
}

/// A daemon's socket: a socket file that something accepts connections on.
/// One that a daemon bound and then left (it died, or was stopped without
/// removing it) refuses them, and is no store.
#[cfg(any(feature = "xutmp", feature = "native"))]
fn listening(path: &Path) -> bool {
    if !fs::metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        return false;
    }
    let deadline = crate::sys::deadline::Deadline::from(std::time::Instant::now() + LISTENING_WAIT);
    match crate::sys::socket::Conn::connect(path, deadline) {
        Ok(_) => true,
        // Nobody listens: a stale socket.
        Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
            tracing::debug!(path = %path.display(), "a socket nobody listens on: not a daemon");
            false
        }
        // A listener that is busy, or that this process may not reach, is
        // still the daemon: its errors come at the login, where they say so.
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "a socket that did not take a connection");
            true
        }
    }
}

/// How long detection waits for a daemon's socket to take a connection.
#[cfg(any(feature = "xutmp", feature = "native"))]
const LISTENING_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// What the symlink chain at a path comes to.
#[cfg(feature = "wtmpdb")]
enum Link {
    /// The path is no symlink.
    None,
    /// The chain ends here (dangling or not).
    EndsAt(PathBuf),
    /// The chain does not end: a loop, or deeper than the kernel follows.
    Loops,
}

/// Where the symlink chain at `path` ends, absolute targets taken under `root`.
#[cfg(feature = "wtmpdb")]
fn link_target(root: &Path, path: &Path) -> Link {
    let mut at = path.to_path_buf();
    // The kernel's limit on nested links.
    for hop in 0..=40 {
        let Ok(target) = fs::read_link(&at) else {
            return if hop == 0 { Link::None } else { Link::EndsAt(at) };
        };
        at = match target.strip_prefix("/") {
            Ok(rel) => root.join(rel),
            Err(_) => lexical(&at.parent().unwrap_or(Path::new("/")).join(target)),
        };
    }
    Link::Loops
}

/// `path` with `.` and `..` resolved by name: Debian's `../../log/wtmp.db`
/// from `/var/lib/wtmpdb` is `/var/log/wtmp.db`, whose directory is then
/// looked at (the link may dangle, so it cannot be canonicalized).
#[cfg(feature = "wtmpdb")]
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The stores of the host under `root`.
///
/// # Errors
/// Those of reading which libxutmp flavour is linked.
pub(crate) fn detect(root: &Path) -> Result<Stores> {
    // Every store's path is absolute, so that a later `chdir` cannot move it.
    let root = &crate::paths::absolute(root).map_err(|e| {
        crate::error::Error::from_io("system", root, e, crate::error::PermissionRule::File)
            .with_detail("the root is relative and the current directory cannot be read")
    })?;
    let mut stores = Stores::default();
    #[cfg(feature = "wtmpdb")]
    let wtmpdb = wtmpdb(root);
    #[cfg(not(feature = "wtmpdb"))]
    let wtmpdb: Option<PathBuf> = None;
    // Where wtmpdb is installed and there is no utmp (Debian 13: systemd
    // without utmp), the glibc files are leftovers that nothing reads any
    // more (`last` is wtmpdb; there is no `lastb`); debootstrap, and so the
    // installer, still creates them empty.
    let glibc_files = exists(&under(root, crate::paths::UTMP_FILE)) || wtmpdb.is_none();
    daemons_or_files(root, glibc_files, &mut stores)?;
    #[cfg(feature = "wtmpdb")]
    if let Some(path) = wtmpdb {
        // The package is installed: its directory exists, so the database
        // may be created in it at the first login, as libwtmpdb does.
        stores.history.push(super::sqlite::wtmpdb(crate::sqlite::wtmpdb::Wtmpdb::new(path).create(true)));
    }
    let lastlog = under(root, crate::paths::LASTLOG_FILE);
    if glibc_files && exists(&lastlog) {
        stores.last_login.push(Arc::new(LastlogFile::new(lastlog)));
    }
    #[cfg(feature = "wtmpdb")]
    {
        let db = under(root, crate::sqlite::lastlog2::PATH);
        if exists(&db) || db.parent().is_some_and(is_dir) {
            stores.last_login.push(super::sqlite::lastlog2(crate::sqlite::lastlog2::Lastlog2::new(db).create(true)));
        }
    }
    if root == Path::new("/") && super::logind::runs() {
        let logind = super::Logind::new(super::DEFAULT_PAM_SERVICE, PathBuf::new())?;
        match logind.usable() {
            Ok(()) => stores.live.push(Arc::new(logind)),
            Err(e) => {
                tracing::debug!(error = %e, "logind runs, but this program cannot open sessions there");
                stores.unused_logind = Some(Arc::new(logind));
            }
        }
    }
    let btmp = under(root, crate::btmp::BTMP_FILE);
    if glibc_files && exists(&btmp) {
        stores.failed = Some(Btmp::new(btmp));
    }
    tracing::debug!(root = %root.display(), stores = ?stores, "system stores");
    Ok(stores)
}

/// The wtmpdb database: Debian's path where it exists; else upstream's, where
/// it is Debian's symlink (followed, dangling until the first write) into an
/// existing directory, or sits in an existing `/var/lib/wtmpdb`.
#[cfg(feature = "wtmpdb")]
fn wtmpdb(root: &Path) -> Option<PathBuf> {
    let debian = under(root, crate::sqlite::wtmpdb::DEBIAN_PATH);
    if exists(&debian) {
        return Some(debian);
    }
    let upstream = under(root, crate::sqlite::wtmpdb::UPSTREAM_PATH);
    let path = match link_target(root, &upstream) {
        Link::None => upstream,
        Link::EndsAt(path) => path,
        Link::Loops => {
            tracing::debug!(path = %upstream.display(), "a loop of symlinks where wtmpdb would be: no store");
            return None;
        }
    };
    (exists(&path) || path.parent().is_some_and(is_dir)).then_some(path)
}

/// utmps's daemons where both sockets listen; else glibc's files that exist,
/// when libxutmp's libc flavour is linked.
#[cfg(any(feature = "xutmp", feature = "native"))]
fn daemons_or_files(root: &Path, glibc_files: bool, stores: &mut Stores) -> Result<()> {
    let (utmpd, wtmpd) = (under(root, crate::paths::UTMPD_SOCKET), under(root, crate::paths::WTMPD_SOCKET));
    if listening(&utmpd) && listening(&wtmpd) {
        if let Some(backend) = daemon_client(&utmpd, &wtmpd)? {
            stores.live.push(Arc::new(Utmp::new(backend.clone())));
            stores.history.push(Arc::new(Wtmp::new(backend)));
            return Ok(());
        }
    }
    match glibc_files {
        true => files(root, stores),
        false => Ok(()),
    }
}

#[cfg(not(any(feature = "xutmp", feature = "native")))]
fn daemons_or_files(_: &Path, _: bool, _: &mut Stores) -> Result<()> {
    Ok(())
}

#[cfg(any(feature = "xutmp", feature = "native"))]
fn daemon_client(utmpd: &Path, wtmpd: &Path) -> Result<Option<Arc<dyn Backend>>> {
    #[cfg(feature = "native")]
    {
        Ok(Some(Arc::new(crate::backend::native::NativeBackend::new(utmpd, wtmpd))))
    }
    #[cfg(not(feature = "native"))]
    {
        match crate::backend::xutmp::linked_kind()? {
            crate::backend::BackendKind::XutmpUtmps => {
                Ok(Some(Arc::new(crate::backend::xutmp::XutmpBackend::new(utmpd, wtmpd)?)))
            }
            _ => {
                tracing::debug!("utmps sockets found, but libxutmp is the libc flavour and `native` is off");
                Ok(None)
            }
        }
    }
}

#[cfg(any(feature = "xutmp", feature = "native"))]
fn files(root: &Path, stores: &mut Stores) -> Result<()> {
    #[cfg(feature = "xutmp")]
    if crate::backend::xutmp::linked_kind()? == crate::backend::BackendKind::XutmpLibc {
        let (utmp, wtmp) = (under(root, crate::paths::UTMP_FILE), under(root, crate::paths::WTMP_FILE));
        let (live, history) = (exists(&utmp), exists(&wtmp));
        if live || history {
            let backend: Arc<dyn Backend> = Arc::new(crate::backend::xutmp::XutmpBackend::new(&utmp, &wtmp)?);
            if live {
                stores.live.push(Arc::new(Utmp::new(backend.clone())));
            }
            if history {
                stores.history.push(Arc::new(Wtmp::new(backend)));
            }
        }
    }
    #[cfg(not(feature = "xutmp"))]
    let _ = (root, stores);
    Ok(())
}
