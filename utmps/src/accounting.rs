//! The accounting handle: which backend, which endpoints, which deadline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::{Backend, BackendKind, WriteCheck};
use crate::error::{Error, ErrorKind, Result};
use crate::login::Login;
use crate::record::{Exit, Record, RecordType};
use crate::session::Session;
use crate::sys::deadline::Deadline;

/// The deadline of each operation unless [`Accounting::timeout`] says otherwise.
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

/// Where and how sessions are recorded. Cheap to clone; share one per daemon.
///
/// ```no_run
/// # fn main() -> utmps::Result<()> {
/// let acct = utmps::Accounting::system()?;
/// acct.check()?; // at start-up: is the daemon there, are the files writable?
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Accounting {
    backend: Arc<dyn Backend>,
    timeout: Duration,
    lastlog: PathBuf,
}

impl Accounting {
    fn with_backend(backend: Arc<dyn Backend>) -> Accounting {
        Accounting { backend, timeout: DEFAULT_TIMEOUT, lastlog: PathBuf::from(LASTLOG_FILE) }
    }

    /// The standard locations of the backend this crate was built with: the utmps
    /// sockets for libxutmp's utmps flavour or the native client, glibc's files for
    /// the libc flavour.
    ///
    /// # Errors
    /// `Unsupported` when no backend was compiled in.
    pub fn system() -> Result<Accounting> {
        #[cfg(feature = "xutmp")]
        {
            match crate::backend::xutmp::linked_kind()? {
                BackendKind::XutmpLibc => Accounting::files(UTMP_FILE, WTMP_FILE),
                _ => Accounting::xutmp(UTMPD_SOCKET, WTMPD_SOCKET),
            }
        }
        #[cfg(all(not(feature = "xutmp"), feature = "native"))]
        {
            Ok(Accounting::native(UTMPD_SOCKET, WTMPD_SOCKET))
        }
        #[cfg(not(any(feature = "xutmp", feature = "native")))]
        {
            Err(Error::new(ErrorKind::Unsupported, "accounting", "built without the `xutmp` and `native` features"))
        }
    }

    /// glibc's file-based utmpx on the given utmp and wtmp files (libxutmp, libc
    /// flavour). The files must exist: glibc does not create them.
    ///
    /// Relative paths are resolved against the current directory now, so that a
    /// later `chdir` cannot send the records elsewhere. They are not
    /// canonicalized: a symlink is followed at each write, as the system's own
    /// tools follow it.
    ///
    /// # Errors
    /// `Unsupported` when libxutmp is not the libc flavour or was not compiled in;
    /// for a relative path, the error of reading the current directory (such as
    /// `Unavailable` when it was removed).
    pub fn files(utmp: impl AsRef<Path>, wtmp: impl AsRef<Path>) -> Result<Accounting> {
        #[cfg(feature = "xutmp")]
        {
            let (utmp, wtmp) = (resolve(utmp.as_ref())?, resolve(wtmp.as_ref())?);
            let backend = crate::backend::xutmp::XutmpBackend::new(&utmp, &wtmp)?;
            if backend.kind() != BackendKind::XutmpLibc {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "accounting",
                    "libxutmp was built with the utmps flavour: its endpoints are sockets, not files",
                ));
            }
            Ok(Accounting::with_backend(Arc::new(backend)))
        }
        #[cfg(not(feature = "xutmp"))]
        {
            let _ = (utmp, wtmp);
            Err(Error::new(ErrorKind::Unsupported, "accounting", "file accounting needs the `xutmp` feature"))
        }
    }

    /// libxutmp on whatever endpoints its flavour uses: files (libc) or the utmpd
    /// and wtmpd sockets (utmps). Relative paths are resolved now, as for
    /// [`files`](Self::files).
    ///
    /// # Errors
    /// `Unsupported` when the linked libxutmp has another ABI version;
    /// `InvalidInput` when a path contains a NUL byte; for a relative path, the
    /// error of reading the current directory.
    #[cfg(feature = "xutmp")]
    pub fn xutmp(utmp: impl AsRef<Path>, wtmp: impl AsRef<Path>) -> Result<Accounting> {
        let (utmp, wtmp) = (resolve(utmp.as_ref())?, resolve(wtmp.as_ref())?);
        let backend = crate::backend::xutmp::XutmpBackend::new(&utmp, &wtmp)?;
        Ok(Accounting::with_backend(Arc::new(backend)))
    }

    /// The pure-Rust client of the utmps daemons on the given sockets. Relative
    /// paths are resolved now, as for [`files`](Self::files).
    ///
    /// This constructor cannot fail: when a relative path cannot be resolved
    /// (the current directory cannot be read), the handle it returns refuses
    /// every operation, [`check`](Self::check) included, with that error.
    #[cfg(feature = "native")]
    pub fn native(utmpd: impl AsRef<Path>, wtmpd: impl AsRef<Path>) -> Accounting {
        let (utmpd, wtmpd) = (utmpd.as_ref(), wtmpd.as_ref());
        let (bad, err) = match (absolute(utmpd), absolute(wtmpd)) {
            (Ok(u), Ok(w)) => {
                return Accounting::with_backend(Arc::new(crate::backend::native::NativeBackend::new(&u, &w)))
            }
            (Err(e), _) => (utmpd, e),
            (_, Err(e)) => (wtmpd, e),
        };
        let inner = crate::backend::native::NativeBackend::new(utmpd, wtmpd);
        Accounting::with_backend(Arc::new(Unresolved { inner: Arc::new(inner), path: bad.to_path_buf(), err }))
    }

    /// Sets the deadline of each operation (default [`DEFAULT_TIMEOUT`]). All the
    /// steps of a session's open share one deadline (undoing a failed open runs
    /// in the background, see [`open`](Self::open)); a logout gives its utmp and its wtmp
    /// write one each, so it is bounded by twice this. A timeout too large for
    /// the clock is capped at a century rather than rejected.
    pub fn timeout(mut self, timeout: Duration) -> Accounting {
        self.timeout = timeout;
        self
    }

    /// Sets the lastlog file (default [`LASTLOG_FILE`]). A relative path is
    /// resolved now, as for [`files`](Self::files); when that fails (the current
    /// directory cannot be read), the handle returned refuses every operation
    /// with that error.
    pub fn lastlog_path(mut self, path: impl Into<PathBuf>) -> Accounting {
        let path = path.into();
        match absolute(&path) {
            Ok(p) => self.lastlog = p,
            Err(e) => {
                self.backend = Arc::new(Unresolved { inner: self.backend, path: path.clone(), err: e });
                self.lastlog = path;
            }
        }
        self
    }

    /// The operation deadline in force.
    pub fn current_timeout(&self) -> Duration {
        self.timeout
    }

    /// Which backend this handle uses.
    pub fn backend(&self) -> BackendKind {
        self.backend.kind()
    }

    /// The utmp file or utmpd socket.
    pub fn utmp_endpoint(&self) -> &Path {
        self.backend.utmp_endpoint()
    }

    /// The wtmp file or wtmpd socket.
    pub fn wtmp_endpoint(&self) -> &Path {
        self.backend.wtmp_endpoint()
    }

    /// The lastlog file.
    pub fn lastlog_file(&self) -> &Path {
        &self.lastlog
    }

    pub(crate) fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    pub(crate) fn raw(&self) -> &dyn Backend {
        &*self.backend
    }

    /// Checks, without writing anything, that the endpoints can be used: the daemons
    /// answer, or the files exist and are writable. Run it at start-up.
    ///
    /// Write permission on the utmps daemons cannot be proven without writing:
    /// `Ok` may still mean "could not be checked". [`check_writable`](Self::check_writable)
    /// says which.
    ///
    /// # Errors
    /// The reason the answer is no: `Unavailable` (no daemon, no file: a container?),
    /// `Permission`, `TimedOut`. For utmpd, `Permission` with rule
    /// [`UtmpdGroup`](crate::PermissionRule::UtmpdGroup) when this process is not
    /// root and its EFFECTIVE gid is not the group that the utmpd socket and its
    /// directory both belong to (the daemon's group, in the service scripts
    /// utmps ships).
    pub fn check(&self) -> Result<()> {
        self.check_writable().map(drop)
    }

    /// As [`check`](Self::check), and what could be told about write
    /// permission: granted (root, or files opened for writing), likely (the
    /// effective gid is the group the utmpd socket shows), wtmpd's per-user
    /// rule (for non-root, only records of the caller's own user name: the user
    /// is known only at login), or unknown, with the reason.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_writable(&self) -> Result<WriteCheck> {
        self.backend.probe(self.deadline())
    }

    /// Records a login: the utmp USER_PROCESS entry, the wtmp login record, and
    /// lastlog when the login asks for it. The returned guard logs out when it is
    /// closed or dropped.
    ///
    /// Returns within the handle's timeout, failed or not (plus scheduling noise).
    ///
    /// # Errors
    /// `InvalidInput` before any I/O for a bad user, line or host; otherwise the
    /// first failure. What a failed open wrote, or may have written, is taken
    /// back: the utmp entry is ended and a wtmp login that landed gets its
    /// logout. That happens before the open returns when it needs no waiting
    /// and fits in the deadline, otherwise in the background after it returned.
    /// A write whose answer had not come by the deadline is undone only once
    /// that answer came (the native backend waits for it on the original
    /// connection, at most 35 s), so that the undo can never be applied before
    /// the write; a write the daemon refused is not undone. Against libxutmp's
    /// utmps flavour, which cannot keep a connection, a write whose outcome is
    /// unknown is undone at once, and a daemon that applies it later than the
    /// undo can still leave it live. Take-backs still pending when the process
    /// exits are lost: see [`wait_for_take_backs`](Self::wait_for_take_backs).
    pub fn open(&self, login: &Login) -> Result<Session> {
        Session::open(self.clone(), login)
    }

    /// Waits until the background take-backs of failed opens (see
    /// [`open`](Self::open)) of this process have finished, or `timeout` has
    /// passed; true when none is left. For an orderly exit, and for tests.
    /// The take-backs belong to the process, not to one handle.
    pub fn wait_for_take_backs(timeout: Duration) -> bool {
        crate::take_back::wait_all(timeout)
    }

    /// Every record in utmp, in file order.
    ///
    /// # Errors
    /// As for any backend read.
    pub fn entries(&self) -> Result<Vec<Record>> {
        self.backend.utmp_records(self.deadline())
    }

    /// The live sessions, like `who`: USER_PROCESS entries. With `only_alive`,
    /// entries whose process is gone (see [`pid_alive`]) are dropped too.
    ///
    /// # Errors
    /// As for any backend read.
    pub fn who(&self, only_alive: bool) -> Result<Vec<Record>> {
        let mut live: Vec<Record> = self.entries()?.into_iter().filter(Record::is_user_process).collect();
        if only_alive {
            live.retain(|r| pid_alive(r.pid) != Some(false));
        }
        Ok(live)
    }

    /// Ends stale sessions: every USER_PROCESS entry whose pid is dead and that
    /// `ours` accepts is marked DEAD_PROCESS in utmp, and a logout record is
    /// appended to wtmp. Entries left by a daemon that was killed (SIGKILL, abort,
    /// `process::exit`, `mem::forget` of a guard) are found this way; pass a
    /// filter that picks this daemon's own entries (its lines, its users).
    ///
    /// Returns the records written. The whole sweep shares one deadline, the
    /// handle's [`timeout`](Self::timeout), and reads utmp at most twice, however
    /// many entries are stale.
    ///
    /// utmp has no conditional write. The entries are read a second time just
    /// before the first one is ended: an entry that changed since the first read
    /// (a new login took its slot) is skipped, and each entry's process is
    /// checked again right before its entry is ended. What remains is a window
    /// from that second read to an entry's own write, which for the k-th entry
    /// spans the k-1 writes before it: a brand-new login on such a line within
    /// it could still be ended. Sweep at start-up, before serving logins.
    ///
    /// # Errors
    /// The first failure, `TimedOut` included; entries before it were already
    /// swept.
    pub fn sweep(&self, mut ours: impl FnMut(&Record) -> bool) -> Result<Vec<Record>> {
        let deadline = self.deadline();
        let stale = |e: &Record| e.is_user_process() && pid_alive(e.pid) == Some(false);
        let found: Vec<Record> =
            self.backend.utmp_records(deadline)?.into_iter().filter(|e| stale(e) && ours(e)).collect();
        if found.is_empty() {
            return Ok(Vec::new());
        }
        // The very same records, login times included, as they are just before
        // the writes start.
        let mut unchanged: HashSet<Record> = self.backend.utmp_records(deadline)?.into_iter().collect();
        let mut swept = Vec::new();
        for entry in found {
            if !unchanged.remove(&entry) || pid_alive(entry.pid) != Some(false) {
                continue;
            }
            let dead = dead_record(&entry, Exit::default());
            self.backend.utmp_put(&dead, deadline)?;
            self.backend.wtmp_append(&dead, deadline)?;
            tracing::debug!(line = %entry.line, pid = entry.pid, "swept a stale session");
            swept.push(dead);
        }
        Ok(swept)
    }
}

/// The logout record of a login: same line, id, pid and user; DEAD_PROCESS, now.
pub(crate) fn dead_record(login: &Record, exit: Exit) -> Record {
    let mut dead = Record { record_type: RecordType::DEAD_PROCESS, exit, ..*login };
    dead.set_time(std::time::SystemTime::now());
    dead
}

/// Whether a process exists: `Some(false)` only when the kernel says there is no
/// such process; `None` when it cannot be told (pid 0 or negative).
pub fn pid_alive(pid: i32) -> Option<bool> {
    if pid <= 0 {
        return None;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return Some(true);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ESRCH) => Some(false),
        _ => Some(true), // EPERM: it exists, owned by someone else
    }
}

/// `path` made absolute against the current directory, so that a later `chdir`
/// does not change what it names. Not canonicalized: symlinks keep meaning what
/// they point to when a write happens. An empty path is kept: it names nothing,
/// and the current directory is not what it means either.
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if path.is_absolute() || path.as_os_str().is_empty() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()?.join(path))
}

fn unresolved_error(path: &Path, err: &std::io::Error) -> Error {
    // io::Error is not Clone: the copy keeps the errno, which is what decides the kind.
    let copy = match err.raw_os_error() {
        Some(errno) => std::io::Error::from_raw_os_error(errno),
        None => std::io::Error::new(err.kind(), err.to_string()),
    };
    Error::from_io("accounting", path, copy, crate::error::PermissionRule::File).with_detail(format!(
        "the relative path could not be made absolute: the current directory cannot be read ({err})"
    ))
}

/// [`absolute`], with the error of this crate.
#[cfg(feature = "xutmp")]
fn resolve(path: &Path) -> Result<PathBuf> {
    absolute(path).map_err(|e| unresolved_error(path, &e))
}

/// The backend of a handle built by an infallible constructor whose relative
/// path could not be resolved: every operation fails with that reason, rather
/// than act on whatever the path names after the next `chdir`.
#[derive(Debug)]
struct Unresolved {
    inner: Arc<dyn Backend>,
    path: PathBuf,
    err: std::io::Error,
}

impl Unresolved {
    fn refuse<T>(&self) -> Result<T> {
        Err(unresolved_error(&self.path, &self.err))
    }
}

impl Backend for Unresolved {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn utmp_endpoint(&self) -> &Path {
        self.inner.utmp_endpoint()
    }

    fn wtmp_endpoint(&self) -> &Path {
        self.inner.wtmp_endpoint()
    }

    fn utmp_records(&self, _: Deadline) -> Result<Vec<Record>> {
        self.refuse()
    }

    fn utmp_put(&self, _: &Record, _: Deadline) -> Result<()> {
        self.refuse()
    }

    fn wtmp_append(&self, _: &Record, _: Deadline) -> Result<()> {
        self.refuse()
    }

    fn probe(&self, _: Deadline) -> Result<crate::backend::WriteCheck> {
        self.refuse()
    }
}
