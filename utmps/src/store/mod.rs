//! The stores of a handle, by role: live sessions (utmp), history (wtmp,
//! wtmpdb), last login (lastlog, lastlog2) and failed logins (btmp). Each
//! kind answers behind its role's trait: its check before a login, its
//! write-access probe, its login (a [`Mark`] that ends the session and knows
//! how to take back what it wrote), its sweep. The session, its take-back and
//! the handle run lists of these and never name a kind.

use std::any::Any;
use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::{Backend, PreparedAppend, StartedPut, WriteAccess, WriteCheck};
use crate::error::{Error, ErrorKind, Result};
use crate::leader::SharedLeader;
use crate::login::Login;
use crate::record::{Exit, Record};
pub(crate) use crate::role::{Role, StoreInfo, StoreKind};
use crate::sys::deadline::Deadline;
use undo::UndoStep;

#[cfg(any(feature = "xutmp", feature = "native"))]
mod backend;
mod btmp;
mod lastlog;
mod logind;
#[cfg(feature = "wtmpdb")]
mod sqlite;
pub(crate) mod system;
pub(crate) mod undo;

pub(crate) use btmp::Btmp;
pub(crate) use lastlog::LastlogFile;
pub(crate) use logind::Logind;
pub use logind::DEFAULT_PAM_SERVICE;

/// What every store says about itself.
pub(crate) trait Store: Send + Sync + UnwindSafe + RefUnwindSafe + fmt::Debug {
    fn kind(&self) -> StoreKind;
    /// The file, database or socket.
    fn path(&self) -> &Path;
    /// The backend doing this store's utmp or wtmp I/O, if it has one.
    fn backend(&self) -> Option<&Arc<dyn Backend>> {
        None
    }
    /// Checks, before any I/O, what this store needs of a login beyond what
    /// [`Login`] checks itself.
    fn check_login(&self, login: &Login, record: &Record) -> Result<()> {
        let _ = (login, record);
        Ok(())
    }
}

/// A live store: the sessions open now.
pub(crate) trait LiveStore: Store {
    /// What can be told, without writing, about writing here.
    fn access(&self, deadline: Deadline) -> Result<WriteAccess>;
    /// Records the login `record` on `line`; may choose the record's id.
    /// `leader` is the session's leader when the login starts a program
    /// ([`Accounting::spawn`](crate::Accounting::spawn)).
    fn login(
        &self,
        record: &mut Record,
        login: &Login,
        line: &str,
        leader: Option<&SharedLeader>,
        deadline: Deadline,
    ) -> Result<Box<dyn Mark>, Unwritten>;
    /// True for a store whose login opens what the session's program must
    /// run inside (logind's session): a spawned program starts after it.
    fn opens_session(&self) -> bool {
        false
    }
    /// Every record, in store order.
    fn records(&self, deadline: Deadline) -> Result<Vec<Record>>;
    /// Rewrites the live entry of a session in place (a new host).
    fn update(&self, record: &Record, deadline: Deadline) -> Result<()>;
    /// Ends the stale sessions that `ours` accepts, each in `history` too;
    /// returns the records written.
    fn sweep(
        &self,
        ours: &mut dyn FnMut(&Record) -> bool,
        history: &[Arc<dyn HistoryStore>],
        deadline: Deadline,
    ) -> Result<Vec<Record>>;
}

/// A history store: logins and logouts.
pub(crate) trait HistoryStore: Store {
    fn access(&self, deadline: Deadline) -> Result<WriteAccess>;
    /// Sets up, without writing anything, what [`login`](Self::login) can use
    /// to record the login sooner (a wtmpd connection, whose daemon then
    /// starts while the caller writes utmp).
    fn prepare(&self, deadline: Deadline) -> SetUp<'_> {
        let _ = deadline;
        SetUp(None)
    }
    /// Records the login `record` (built from `login`), on what `set_up`
    /// (from [`prepare`](Self::prepare) on this store) holds, if anything;
    /// `live` is what the live stores returned for it.
    fn login(
        &self,
        set_up: SetUp<'_>,
        record: &Record,
        login: &Login,
        live: &[Box<dyn Mark>],
        deadline: Deadline,
    ) -> Result<Box<dyn Mark>, Unwritten>;
    /// Ends, for a sweep, the login whose logout record is `dead`. (Only a
    /// live store with pids sweeps: none without a backend.)
    #[cfg_attr(not(any(feature = "xutmp", feature = "native")), allow(dead_code))]
    fn sweep(&self, dead: &Record, deadline: Deadline) -> Result<()>;
}

/// A last-login store, written when a login asks for it.
pub(crate) trait LastLoginStore: Store {
    /// True when a write could find what it writes (the file exists, or the
    /// database may be created): a last login the daemon did not ask for is
    /// recorded only where every store is.
    fn present(&self) -> bool {
        true
    }
    /// Checks all that the write of `record` needs, before anything is written.
    fn prepare(&self, login: &Login, record: &Record, deadline: Deadline) -> Result<Box<dyn LastLoginWrite>>;
}

/// A last-login write, checked in full.
pub(crate) trait LastLoginWrite: fmt::Debug {
    fn write(&self, deadline: Deadline) -> Result<()>;
}

/// What [`HistoryStore::prepare`] set up; dropping it unused writes nothing.
#[cfg_attr(not(any(feature = "xutmp", feature = "native")), allow(dead_code))]
pub(crate) struct SetUp<'a>(pub(crate) Option<Box<dyn PreparedAppend + 'a>>);

/// What a store returned at login: its logout, and the undo of its write.
pub(crate) trait Mark: Send + Sync + UnwindSafe + RefUnwindSafe + fmt::Debug {
    /// Ends the session here, with `exit`.
    fn logout(&self, exit: Exit, deadline: Deadline) -> Result<()>;
    /// Starts the logout so that other stores' logouts can run meanwhile.
    fn start_logout(&self, exit: Exit, deadline: Deadline) -> Ending<'_> {
        Ending::Done(self.logout(exit, deadline))
    }
    /// The take-back of the login this mark recorded.
    fn undo(&self) -> UndoStep;
    /// When this mark's store opened a PAM session for the login, whose
    /// modules (pam_wtmpdb, pam_lastlog2) may have written history themselves:
    /// the time just before.
    #[cfg_attr(not(feature = "wtmpdb"), allow(dead_code))]
    fn pam_session_since(&self) -> Option<std::time::SystemTime> {
        None
    }
    /// For the parts of a session only one store kind has (its wtmpdb row).
    #[cfg_attr(not(feature = "wtmpdb"), allow(dead_code))]
    fn as_any(&self) -> &dyn Any;
}

/// How a started logout goes on.
#[cfg_attr(not(any(feature = "xutmp", feature = "native")), allow(dead_code))]
pub(crate) enum Ending<'a> {
    /// Written (or failed) already.
    Done(Result<()>),
    /// Sent; its answer is read by [`StartedPut::finish`].
    Started(Box<dyn StartedPut + 'a>),
    /// Cannot be sent without waiting: run [`Mark::logout`] on a thread of its own.
    Blocking,
    /// Written here, at once (a file): run [`Mark::logout`] after the history
    /// writes, so that a lock it waits on cannot use up their deadline.
    AfterHistory,
}

/// A login a store failed to record, and the undo of what it may still have written.
#[derive(Debug)]
pub(crate) struct Unwritten {
    pub(crate) error: Error,
    pub(crate) undo: Option<Box<UndoStep>>,
}

impl Unwritten {
    /// A failure after which nothing was written.
    #[cfg_attr(not(any(feature = "xutmp", feature = "native", feature = "wtmpdb")), allow(dead_code))]
    pub(crate) fn nothing(error: Error) -> Unwritten {
        Unwritten { error, undo: None }
    }
}

/// Every store of one handle. Shared by the handle's clones and its sessions.
#[derive(Clone, Default)]
pub(crate) struct Stores {
    pub(crate) live: Vec<Arc<dyn LiveStore>>,
    /// In the order a login writes them.
    pub(crate) history: Vec<Arc<dyn HistoryStore>>,
    /// Written when a login asks for it, in this order.
    pub(crate) last_login: Vec<Arc<dyn LastLoginStore>>,
    pub(crate) failed: Option<Btmp>,
    /// logind, found running but not usable by this program (no libpam, no
    /// leader hook): [`check_live`](Self::check_live) says why.
    pub(crate) unused_logind: Option<Arc<Logind>>,
}

impl Stores {
    /// The backend doing utmp or wtmp I/O, if any.
    pub(crate) fn backend(&self) -> Option<&Arc<dyn Backend>> {
        self.utmp().or_else(|| self.wtmp())
    }

    /// The backend whose utmp half is a live store, if any.
    pub(crate) fn utmp(&self) -> Option<&Arc<dyn Backend>> {
        self.live.iter().find_map(|s| s.backend())
    }

    /// The backend whose wtmp half is a history store, if any.
    pub(crate) fn wtmp(&self) -> Option<&Arc<dyn Backend>> {
        self.history.iter().find_map(|s| s.backend())
    }

    /// The lastlog file, if the handle has one.
    pub(crate) fn lastlog_file(&self) -> Option<&Path> {
        self.last_login.iter().find(|s| s.kind() == StoreKind::LastlogFile).map(|s| s.path())
    }

    /// Makes `path` the lastlog file: it replaces the one the handle has, or
    /// comes first among the last-login stores.
    pub(crate) fn set_lastlog_file(&mut self, path: PathBuf) {
        self.last_login.retain(|s| s.kind() != StoreKind::LastlogFile);
        self.last_login.insert(0, Arc::new(LastlogFile::new(path)));
    }

    fn all(&self) -> impl Iterator<Item = (Role, &dyn Store)> {
        let live = self.live.iter().map(|s| (Role::Live, &**s as &dyn Store));
        let history = self.history.iter().map(|s| (Role::History, &**s as &dyn Store));
        let last = self.last_login.iter().map(|s| (Role::LastLogin, &**s as &dyn Store));
        let failed = self.failed.iter().map(|s| (Role::FailedLogins, s as &dyn Store));
        live.chain(history).chain(last).chain(failed)
    }

    pub(crate) fn list(&self) -> Vec<StoreInfo> {
        self.all().map(|(role, s)| StoreInfo { role, kind: s.kind(), path: s.path().to_path_buf() }).collect()
    }

    /// Every store's check of `login`, before any I/O.
    pub(crate) fn check_login(&self, login: &Login, record: &Record) -> Result<()> {
        self.all().try_for_each(|(_, s)| s.check_login(login, record))
    }

    /// Checks that `who` and `w` will list the sessions: a live store, and
    /// logind among them where it runs.
    pub(crate) fn check_live(&self) -> Result<()> {
        if let Some(logind) = &self.unused_logind {
            logind.usable()?;
        }
        if !self.live.is_empty() {
            return Ok(());
        }
        let remedy = match cfg!(target_env = "gnu") {
            true => {
                "on systemd hosts logind is the live store (libpam, and `utmps::leader::serve();` first in main); \
                 on glibc hosts without systemd create /var/run/utmp (root:utmp, 0664)"
            }
            false => "start utmps's utmpd and wtmpd, which listen in /run/utmps",
        };
        Err(Error::new(
            ErrorKind::Unavailable,
            "accounting",
            "no live store (no utmp, no logind): `who` and `w` will not list this handle's sessions",
        )
        .with_remedy(remedy))
    }

    /// True when a login has nowhere to go: no live and no history store.
    pub(crate) fn records_nothing(&self) -> bool {
        self.live.is_empty() && self.history.is_empty()
    }

    /// What can be told, without writing, about writing each store every
    /// login writes (the live and history stores): utmp's answer in
    /// `utmp`, wtmp's in `wtmp`, every other store's in `stores`.
    pub(crate) fn check(&self, deadline: Deadline) -> Result<WriteCheck> {
        let mut check = WriteCheck::of(WriteAccess::NoStore, WriteAccess::NoStore);
        let live = self.live.iter().map(|s| (Role::Live, &**s as &dyn Store, s.access(deadline)));
        let history = self.history.iter().map(|s| (Role::History, &**s as &dyn Store, s.access(deadline)));
        // Lazy: each store is asked in turn, and none after the first error.
        for (role, store, access) in live.chain(history) {
            file_access(&mut check, role, store, access?);
        }
        Ok(check)
    }
}

/// Puts one store's access where [`WriteCheck`] keeps it.
fn file_access(check: &mut WriteCheck, role: Role, store: &dyn Store, access: WriteAccess) {
    match store.kind() {
        StoreKind::UtmpFile | StoreKind::Utmpd => check.utmp = access,
        StoreKind::WtmpFile | StoreKind::Wtmpd => check.wtmp = access,
        kind => check.stores.push((StoreInfo { role, kind, path: store.path().to_path_buf() }, access)),
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
