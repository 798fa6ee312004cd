//! The accounting handle: which backend, which endpoints, which deadline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{Backend, BackendKind};
use crate::error::{Error, ErrorKind, Result};
use crate::login::Login;
use crate::record::{Exit, Record, RecordType};
use crate::session::Session;

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
    #[cfg(any(feature = "xutmp", feature = "native"))]
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
    /// # Errors
    /// `Unsupported` when libxutmp is not the libc flavour or was not compiled in.
    pub fn files(utmp: impl AsRef<Path>, wtmp: impl AsRef<Path>) -> Result<Accounting> {
        #[cfg(feature = "xutmp")]
        {
            let backend = crate::backend::xutmp::XutmpBackend::new(utmp.as_ref(), wtmp.as_ref())?;
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
    /// and wtmpd sockets (utmps).
    ///
    /// # Errors
    /// `Unsupported` when the linked libxutmp has another ABI version;
    /// `InvalidInput` when a path contains a NUL byte.
    #[cfg(feature = "xutmp")]
    pub fn xutmp(utmp: impl AsRef<Path>, wtmp: impl AsRef<Path>) -> Result<Accounting> {
        let backend = crate::backend::xutmp::XutmpBackend::new(utmp.as_ref(), wtmp.as_ref())?;
        Ok(Accounting::with_backend(Arc::new(backend)))
    }

    /// The pure-Rust client of the utmps daemons on the given sockets.
    #[cfg(feature = "native")]
    pub fn native(utmpd: impl AsRef<Path>, wtmpd: impl AsRef<Path>) -> Accounting {
        let backend = crate::backend::native::NativeBackend::new(utmpd.as_ref(), wtmpd.as_ref());
        Accounting::with_backend(Arc::new(backend))
    }

    /// Sets the deadline of each operation (default [`DEFAULT_TIMEOUT`]). All the
    /// steps of a session's open share one deadline (a failed open that has to
    /// take its entry back gets one more); a logout gives its utmp and its wtmp
    /// write one each, so it is bounded by twice this. A timeout too large for
    /// the clock is capped at a century rather than rejected.
    pub fn timeout(mut self, timeout: Duration) -> Accounting {
        self.timeout = timeout;
        self
    }

    /// Sets the lastlog file (default [`LASTLOG_FILE`]).
    pub fn lastlog_path(mut self, path: impl Into<PathBuf>) -> Accounting {
        self.lastlog = path.into();
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

    pub(crate) fn deadline(&self) -> Instant {
        crate::deadline::after(self.timeout)
    }

    pub(crate) fn raw(&self) -> &dyn Backend {
        &*self.backend
    }

    /// Checks, without writing anything, that the endpoints can be used: the daemons
    /// answer, or the files exist and are writable. Run it at start-up.
    ///
    /// # Errors
    /// The reason the answer is no: `Unavailable` (no daemon, no file: a container?),
    /// `Permission`, `TimedOut`.
    pub fn check(&self) -> Result<()> {
        self.backend.probe(self.deadline())
    }

    /// Records a login: the utmp USER_PROCESS entry, the wtmp login record, and
    /// lastlog when the login asks for it. The returned guard logs out when it is
    /// closed or dropped.
    ///
    /// # Errors
    /// `InvalidInput` before any I/O for a bad user, line or host; otherwise the
    /// first failure. A failure after the utmp entry was written takes the entry
    /// back (best effort), so a failed open leaves no live entry behind.
    pub fn open(&self, login: &Login) -> Result<Session> {
        Session::open(self.clone(), login)
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
