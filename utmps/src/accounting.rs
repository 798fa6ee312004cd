//! The accounting handle: which stores, by role, and which deadline.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[cfg(any(feature = "xutmp", feature = "native"))]
use crate::backend::Backend;
use crate::backend::{BackendKind, WriteCheck};
use crate::error::{Error, ErrorKind, Result};
use crate::login::Login;
use crate::paths::{Anchored, DEFAULT_TIMEOUT};
use crate::record::Record;
use crate::store::{Btmp, LiveStore, StoreInfo, Stores};
use crate::sys::deadline::Deadline;
use crate::sys::process::pid_alive;

/// Where and how sessions are recorded: a set of stores, each with a role
/// (live sessions, history, last login, failed logins), and a deadline. Cheap
/// to clone; share one per daemon.
///
/// ```no_run
/// # fn main() -> utmps::Result<()> {
/// let acct = utmps::Accounting::system()?; // what this host keeps
/// println!("{:?}", acct.stores());
/// acct.check()?; // at start-up: is the daemon there, are the files writable?
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Accounting {
    pub(crate) stores: Arc<Stores>,
    timeout: Duration,
    /// Set by an infallible constructor whose relative path could not be
    /// resolved: every operation fails with that reason, rather than act on
    /// whatever the path names after the next `chdir`.
    refused: Option<Arc<Anchored>>,
    /// Built by [`Accounting::system`]: a host without stores gets a remedy
    /// that fits it.
    from_system: bool,
}

impl fmt::Debug for Accounting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Accounting");
        d.field("stores", &self.stores).field("timeout", &self.timeout);
        if let Some(r) = &self.refused {
            d.field("unresolved", &r.as_path());
        }
        d.finish()
    }
}

impl Accounting {
    fn with_stores(stores: Stores) -> Accounting {
        Accounting { stores: Arc::new(stores), timeout: DEFAULT_TIMEOUT, refused: None, from_system: false }
    }

    /// utmp and wtmp through `backend`, lastlog at [`LASTLOG_FILE`](crate::LASTLOG_FILE): what the
    /// constructors of one backend give.
    #[cfg(any(feature = "xutmp", feature = "native"))]
    fn with_backend(backend: Arc<dyn Backend>) -> Accounting {
        Accounting::with_stores(Stores::of_backend(backend, PathBuf::from(crate::paths::LASTLOG_FILE)))
    }

    /// The first path that could not be made absolute makes the handle
    /// refuse every operation with that error.
    fn refuse_unless_resolved(&mut self, path: Anchored) {
        if self.refused.is_none() && path.resolved("accounting").is_err() {
            self.refused = Some(Arc::new(path));
        }
    }

    fn stores_mut(&mut self) -> &mut Stores {
        Arc::make_mut(&mut self.stores)
    }

    /// Adds `store` after the live stores the handle has.
    pub(crate) fn with_live(mut self, store: impl LiveStore + 'static) -> Accounting {
        self.stores_mut().live.push(Arc::new(store));
        self
    }

    /// Every store this host keeps, found at run time, all together: the
    /// utmps daemons, else glibc's utmp and wtmp files; wtmpdb and lastlog2;
    /// the lastlog and btmp files. A Debian 12 host gets the glibc files (and
    /// wtmpdb where it was installed), Debian 13, Ubuntu 26.04 and openSUSE
    /// wtmpdb and lastlog2, an Alpine host the daemons; the rules are
    /// [reliability 23](crate::notes::reliability). What was chosen:
    /// [`stores`](Self::stores), and `Debug`.
    ///
    /// # Errors
    /// `Unsupported` when the linked libxutmp has another ABI version.
    pub fn system() -> Result<Accounting> {
        Accounting::system_at(Path::new("/"))
    }

    /// [`system`](Self::system) with every path taken under `root`: for tests
    /// on temporary trees laid out like a host.
    #[doc(hidden)]
    pub fn system_at(root: &Path) -> Result<Accounting> {
        let mut acct = Accounting::with_stores(crate::store::system::detect(root)?);
        acct.from_system = true;
        Ok(acct)
    }

    /// A handle with no store at all, to build on with
    /// [`with_wtmpdb`](Self::with_wtmpdb), [`with_lastlog2`](Self::with_lastlog2),
    /// [`with_lastlog`](Self::with_lastlog) and [`with_btmp`](Self::with_btmp):
    /// a host without utmp, such as Debian 13:
    ///
    /// ```
    /// # fn main() -> utmps::Result<()> {
    /// let acct = utmps::Accounting::empty()
    ///     .with_wtmpdb(utmps::wtmpdb::DEBIAN_PATH)
    ///     .with_lastlog2(utmps::lastlog2::PATH);
    /// assert_eq!(acct.stores().len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn empty() -> Accounting {
        Accounting::with_stores(Stores::default())
    }

    /// Sets the btmp file that [`record_failed_login`](Self::record_failed_login)
    /// appends to. A relative path is resolved now.
    pub fn with_btmp(self, path: impl AsRef<Path>) -> Accounting {
        self.add(path.as_ref(), |stores, p| stores.failed = Some(Btmp::new(p)))
    }

    /// Adds a store at `path`, made absolute now; when that fails, the handle
    /// refuses every operation with that error.
    pub(crate) fn add(mut self, path: &Path, put: impl FnOnce(&mut Stores, PathBuf)) -> Accounting {
        let anchored = Anchored::new(path.to_path_buf());
        put(self.stores_mut(), anchored.as_path().to_path_buf());
        self.refuse_unless_resolved(anchored);
        self
    }

    /// glibc's file-based utmpx on the given utmp and wtmp files (libxutmp, libc
    /// flavour), and the lastlog file [`LASTLOG_FILE`](crate::LASTLOG_FILE). The files must exist:
    /// glibc does not create them.
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
    /// and wtmpd sockets (utmps); lastlog at [`LASTLOG_FILE`](crate::LASTLOG_FILE). Relative paths
    /// are resolved now, as for [`files`](Self::files).
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

    /// The pure-Rust client of the utmps daemons on the given sockets; lastlog
    /// at [`LASTLOG_FILE`](crate::LASTLOG_FILE). Relative paths are resolved now, as for
    /// [`files`](Self::files).
    ///
    /// This constructor cannot fail: when a relative path cannot be resolved
    /// (the current directory cannot be read), the handle it returns refuses
    /// every operation, [`check`](Self::check) included, with that error.
    #[cfg(feature = "native")]
    pub fn native(utmpd: impl AsRef<Path>, wtmpd: impl AsRef<Path>) -> Accounting {
        let utmpd = Anchored::new(utmpd.as_ref().to_path_buf());
        let wtmpd = Anchored::new(wtmpd.as_ref().to_path_buf());
        let backend = crate::backend::native::NativeBackend::new(utmpd.as_path(), wtmpd.as_path());
        let mut acct = Accounting::with_backend(Arc::new(backend));
        acct.refuse_unless_resolved(utmpd);
        acct.refuse_unless_resolved(wtmpd);
        acct
    }

    /// Sets the deadline of each operation (default [`DEFAULT_TIMEOUT`]). All the
    /// steps of a session's open share one deadline (undoing a failed open runs
    /// in the background, see [`open`](Self::open)); a logout's writes share
    /// one too, running side by side where the stores are daemons. A timeout
    /// too large for the clock is capped at a century rather than rejected.
    pub fn with_timeout(mut self, timeout: Duration) -> Accounting {
        self.timeout = timeout;
        self
    }

    /// Sets the lastlog file (default [`LASTLOG_FILE`](crate::LASTLOG_FILE) for the constructors of
    /// one backend): it replaces the handle's lastlog file, or is added as a
    /// last-login store when the handle has none. A relative path is resolved
    /// now, as for [`files`](Self::files); when that fails (the current
    /// directory cannot be read), the handle returned refuses every operation
    /// with that error.
    pub fn with_lastlog(self, path: impl AsRef<Path>) -> Accounting {
        let path = path.as_ref().to_path_buf();
        self.add(&path, Stores::set_lastlog_file)
    }

    /// The operation deadline in force.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Which backend does this handle's utmp and wtmp I/O;
    /// [`BackendKind::None`] when it has neither (wtmpdb and lastlog2 only).
    pub fn backend(&self) -> BackendKind {
        self.stores.backend().map_or(BackendKind::None, |b| b.kind())
    }

    /// Every store of this handle: role, kind and path, in the order a login
    /// writes them.
    pub fn stores(&self) -> Vec<StoreInfo> {
        self.stores.list()
    }

    /// The utmp file or utmpd socket; empty when the handle keeps no utmp.
    pub fn utmp_endpoint(&self) -> &Path {
        self.stores.utmp().map_or(Path::new(""), |b| b.utmp_endpoint())
    }

    /// The wtmp file or wtmpd socket; empty when the handle keeps no wtmp.
    pub fn wtmp_endpoint(&self) -> &Path {
        self.stores.wtmp().map_or(Path::new(""), |b| b.wtmp_endpoint())
    }

    /// The lastlog file; empty when the handle has none.
    pub fn lastlog_path(&self) -> &Path {
        self.stores.lastlog_file().unwrap_or(Path::new(""))
    }

    pub(crate) fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    /// Checks that the handle does not refuse every operation (a relative
    /// path that could not be resolved).
    pub(crate) fn check_usable(&self) -> Result<()> {
        match &self.refused {
            Some(r) => r.resolved("accounting").map(drop),
            None => Ok(()),
        }
    }

    /// Checks that a login is recorded somewhere: a live or a history store.
    pub(crate) fn check_records(&self) -> Result<()> {
        self.check_usable()?;
        if !self.stores.records_nothing() {
            return Ok(());
        }
        let what = match self.stores.last_login.is_empty() {
            true => "no utmp, wtmp, wtmpdb or lastlog2 found: a container?",
            false => "no utmp, wtmp or wtmpdb found, only a last-login store: nothing would record the session",
        };
        let remedy = if !self.from_system {
            "give the handle a store: a constructor of a backend, or `with_wtmpdb`"
        } else if cfg!(target_env = "gnu") {
            "nothing on this host records logins: on Debian 13 and later install wtmpdb (and lastlog2); on older \
             glibc systems create /var/run/utmp and /var/log/wtmp (root:utmp, 0664)"
        } else {
            "nothing on this host records logins: start utmps's utmpd and wtmpd, which listen in /run/utmps"
        };
        Err(Error::new(ErrorKind::Unavailable, "accounting", what).with_remedy(remedy))
    }

    /// Checks, without writing anything, that the stores every login writes
    /// can be used: the daemons answer, the files and databases exist (or may
    /// be created) and are writable. Run it at start-up. Write permission on
    /// the utmps daemons cannot be proven without writing: `Ok` may still mean
    /// "could not be checked"; [`check_writable`](Self::check_writable) says which.
    ///
    /// # Errors
    /// `Unavailable` (no daemon, no file, or no store at all: a container?),
    /// `Permission`, `TimedOut`, `InvalidInput` (a path that holds something
    /// else). What the utmpd socket's group suggests is never an error here:
    /// [`check_writable`](Self::check_writable) reports it as `Likely` or
    /// `Unknown`, with the reason.
    pub fn check(&self) -> Result<()> {
        self.check_writable().map(drop)
    }

    /// As [`check`](Self::check), and what could be told about write
    /// permission: granted (root, or files opened for writing), likely (the
    /// effective gid is the group the utmpd socket shows), wtmpd's per-user
    /// rule (for non-root, only records of the caller's own user name: the user
    /// is known only at login), unknown, with the reason, or no such store;
    /// and the same for each wtmpdb store.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_writable(&self) -> Result<WriteCheck> {
        self.check_records()?;
        if self.from_system {
            self.stores.check_live()?;
        }
        self.stores.check(self.deadline())
    }

    /// Records a failed login (a wrong password, an unknown user) in the
    /// handle's btmp file, under sshd's rules: see
    /// [`btmp::record_failed_login`](crate::btmp::record_failed_login). Build
    /// the login with [`NOTTY_LINE`](crate::btmp::NOTTY_LINE) as its line
    /// unless it was tried on a terminal. Returns within the handle's timeout.
    ///
    /// # Errors
    /// `Unsupported` when the handle keeps no failed-login store: utmps hosts
    /// and wtmpdb-only hosts (Debian 13) have none, and wtmpdb has no such
    /// record; never a silent success. Otherwise those of
    /// [`btmp::record_failed_login`](crate::btmp::record_failed_login).
    pub fn record_failed_login(&self, login: &Login) -> Result<()> {
        self.check_usable()?;
        let Some(btmp) = &self.stores.failed else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "failed login",
                "this handle keeps no failed-login store (btmp): the host keeps none, or none was given",
            )
            .with_remedy("where the host keeps a btmp file, add it with `with_btmp`"));
        };
        btmp.record(login, self.deadline())
    }

    fn live(&self, op: &'static str) -> Result<&dyn LiveStore> {
        self.check_usable()?;
        match self.stores.live.first() {
            Some(store) => Ok(&**store),
            None => Err(Error::new(
                ErrorKind::Unsupported,
                op,
                "this handle keeps no live sessions (no utmp); on logind systems `who` lists logind's sessions",
            )),
        }
    }

    /// Every record in utmp, in file order.
    ///
    /// # Errors
    /// As for any backend read; `Unsupported` when the handle keeps no utmp.
    pub fn entries(&self) -> Result<Vec<Record>> {
        self.live("utmp read")?.records(self.deadline())
    }

    /// The live sessions, like `who`: USER_PROCESS entries with a user name
    /// (`who` skips one without). With `only_alive`, entries whose process is
    /// gone (see [`pid_alive`]) are dropped too.
    ///
    /// # Errors
    /// As for any backend read; `Unsupported` when the handle keeps no utmp.
    pub fn who(&self, only_alive: bool) -> Result<Vec<Record>> {
        let mut live: Vec<Record> =
            self.entries()?.into_iter().filter(|r| r.is_user_process() && !r.user.is_empty()).collect();
        if only_alive {
            live.retain(|r| pid_alive(r.pid) != Some(false));
        }
        Ok(live)
    }

    /// Ends stale sessions: every USER_PROCESS entry whose pid is dead and that
    /// `ours` accepts is marked DEAD_PROCESS in utmp, a logout record is
    /// appended to wtmp, and in each wtmpdb store the newest open row of its
    /// line gets its logout (sshd's rule for a lost row id). Pass a filter that
    /// picks this daemon's own entries (its lines, its users), and sweep at
    /// start-up, before serving logins ([reliability 19](crate::notes::reliability)).
    /// Returns the records written; a handle without utmp has nothing to sweep.
    ///
    /// # Errors
    /// The first failure, `TimedOut` included; entries before it were already
    /// swept, and the one being swept is tried again by a later sweep.
    pub fn sweep(&self, mut ours: impl FnMut(&Record) -> bool) -> Result<Vec<Record>> {
        self.check_usable()?;
        let deadline = self.deadline();
        let mut swept = Vec::new();
        for store in &self.stores.live {
            swept.extend(store.sweep(&mut ours, &self.stores.history, deadline)?);
        }
        Ok(swept)
    }
}

/// `path` made absolute now, or the error of doing so.
#[cfg(feature = "xutmp")]
fn resolve(path: &Path) -> Result<PathBuf> {
    Anchored::new(path.to_path_buf()).resolved("accounting").map(Path::to_path_buf)
}
