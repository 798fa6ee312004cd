//! logind as a live store: each login becomes a logind session, opened
//! through PAM's session phase by a session leader of its own (see
//! [`leader`](crate::leader)), so that `loginctl`, `who`, `w` and `users` list
//! it on systemd hosts (Debian 13, Ubuntu 26.04, openSUSE keep no utmp).

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::undo::{Order, UndoAction, UndoStep};
use super::{HistoryStore, LiveStore, Mark, Store, StoreKind, Unwritten};
use crate::accounting::Accounting;
use crate::backend::{Landed, WriteAccess};
use crate::error::{Error, ErrorKind, Result};
use crate::leader::{self, Leader, SharedLeader};
use crate::login::Login;
use crate::record::{Exit, Record};
use crate::session::Session;
use crate::sys::deadline::Deadline;
use crate::sys::pam::Request;

/// The PAM service of a login that names none: the stack every distribution
/// has for terminal logins, with `pam_systemd` in its session phase.
pub const DEFAULT_PAM_SERVICE: &str = "login";

/// Present when systemd is the running init (`sd_booted`).
const SYSTEMD_RUNS: &str = "/run/systemd/system";
/// Where logind keeps its seats' state, made when it starts.
const LOGIND_RUNS: &str = "/run/systemd/seats";

impl Accounting {
    /// Adds logind as a live store, after those the handle has: each login
    /// opens a logind session through PAM with `service` (its
    /// `/etc/pam.d` file, else PAM's `other`), unless the login names its own
    /// [`service`](Login::service); the logout closes it. The program's `main`
    /// must call [`leader::serve`] first. [`Accounting::system`] adds it with
    /// [`DEFAULT_PAM_SERVICE`] where logind runs.
    ///
    /// # Errors
    /// `InvalidInput` for a service that is not a plain file name;
    /// `Unsupported` when libpam cannot be loaded or `main` does not call
    /// [`leader::serve`]; `Permission` when not root (pam_systemd registers
    /// root's callers only); `Unavailable` when logind is not running.
    pub fn with_logind(self, service: &str) -> Result<Accounting> {
        let store = Logind::new(service, PathBuf::new())?;
        store.usable()?;
        Ok(self.with_live(store))
    }

    /// [`with_logind`](Self::with_logind) with the service files of `confdir`
    /// instead of `/etc/pam.d` (Linux-PAM 1.4 and later), and no check that
    /// logind runs: for tests of PAM stacks.
    #[doc(hidden)]
    pub fn with_logind_at(self, service: &str, confdir: impl AsRef<Path>) -> Result<Accounting> {
        let store = Logind::new(service, confdir.as_ref().to_path_buf())?;
        Ok(self.with_live(store))
    }
}

impl Session {
    /// logind's id of this session (`XDG_SESSION_ID`, as `loginctl` lists
    /// it), when the handle has a logind store.
    pub fn logind_session(&self) -> Option<&str> {
        self.marks().find_map(|m| m.as_any().downcast_ref::<LogindMark>()).map(|m| m.id.as_str())
    }
}

/// Checks that `service` names a PAM service file: a service name that is a
/// plain file name.
fn check_service(service: &str) -> Result<()> {
    const OP: &str = "logind session";
    crate::login::check_service(OP, service)?;
    match service == "." || service == ".." || service.contains('/') {
        true => Err(Error::invalid(OP, "the PAM service must be a plain file name (no `/`, not `.` or `..`)")),
        false => Ok(()),
    }
}

/// Whether logind runs on this host: systemd booted it, and it made its state.
pub(crate) fn runs() -> bool {
    let dir = |p: &str| std::fs::metadata(p).is_ok_and(|m| m.is_dir());
    dir(SYSTEMD_RUNS) && dir(LOGIND_RUNS)
}

/// The logind store: PAM sessions with a service, held by leaders.
#[derive(Debug)]
pub(crate) struct Logind {
    service: String,
    /// Service files from here instead of `/etc/pam.d` (tests); empty for none.
    confdir: String,
    /// The default service's file, as the store's path.
    path: PathBuf,
}

impl Logind {
    pub(crate) fn new(service: &str, confdir: PathBuf) -> Result<Logind> {
        check_service(service)?;
        let confdir = confdir.into_os_string().into_string().map_err(|_| {
            Error::invalid("logind session", "the PAM directory's name is not UTF-8: PAM takes it as text")
        })?;
        let path = leader::endpoint(service, &confdir);
        Ok(Logind { service: service.to_owned(), confdir, path })
    }

    /// Checks what a session needs of this host and program, before any: libpam,
    /// a `main` that serves leaders, root, logind.
    pub(crate) fn usable(&self) -> Result<()> {
        const OP: &str = "logind";
        if let Err(why) = crate::sys::pam::available() {
            return Err(Error::new(ErrorKind::Unsupported, OP, why).at(&self.path));
        }
        if !leader::serves() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                OP,
                "this program does not start session leaders: its main does not call utmps::leader::serve()",
            )
            .with_remedy("add `utmps::leader::serve();` as the first line of main")
            .at(&self.path));
        }
        if self.confdir.is_empty() && !crate::sys::users::is_root() {
            return Err(Error::new(ErrorKind::Permission, OP, "only root can open logind sessions")
                .with_rule(crate::error::PermissionRule::Pam)
                .with_remedy("run the daemon as root (pam_systemd registers sessions for root callers only)")
                .at(&self.path));
        }
        if self.confdir.is_empty() && !runs() {
            return Err(Error::new(
                ErrorKind::Unavailable,
                OP,
                "logind is not running (no /run/systemd/system and /run/systemd/seats)",
            )
            .with_remedy("logind runs on systemd hosts; elsewhere utmp is the live store")
            .at(&self.path));
        }
        Ok(())
    }
}

impl Store for Logind {
    fn kind(&self) -> StoreKind {
        StoreKind::Logind
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn check_login(&self, login: &Login, _: &Record) -> Result<()> {
        login.service_name().map_or(Ok(()), check_service)
    }
}

impl LiveStore for Logind {
    fn access(&self, _: Deadline) -> Result<WriteAccess> {
        self.usable()?;
        Ok(WriteAccess::Unknown(format!(
            "whether the PAM stack of {} registers sessions with logind (pam_systemd) shows at the first login",
            self.path.display()
        )))
    }

    fn login(
        &self,
        record: &mut Record,
        login: &Login,
        line: &str,
        leader: Option<&SharedLeader>,
        deadline: Deadline,
    ) -> Result<Box<dyn Mark>, Unwritten> {
        let user = login.user_name();
        match crate::sys::users::uid_of_by(user.as_bytes(), deadline) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Unwritten::nothing(Error::invalid(
                    "logind session",
                    format!("the system does not know the user {user:?}"),
                )))
            }
            Err(errno) => {
                return Err(Unwritten::nothing(Error::from_errno(
                    "user lookup",
                    Path::new("/etc/passwd"),
                    errno,
                    crate::error::PermissionRule::File,
                )))
            }
        }
        let service = login.service_name().unwrap_or(&self.service);
        let at = leader::endpoint(service, &self.confdir);
        let tty = format!("/dev/{line}");
        let host = record.host.to_string_lossy();
        let open = Request { service, user, tty: &tty, rhost: &host, confdir: &self.confdir };
        // The spawned program's leader, or one of the session's own.
        let held = match leader {
            Some(shared) => shared.clone(),
            None => Arc::new(Mutex::new(Some(Leader::start(None, &at).map_err(Unwritten::nothing)?))),
        };
        let since = SystemTime::now();
        let id = {
            let mut guard = held.lock().unwrap_or_else(|p| p.into_inner());
            let Some(leader) = guard.as_mut() else {
                let e = Error::new(ErrorKind::Protocol, "logind session", "the session leader is gone").at(&at);
                return Err(Unwritten::nothing(e));
            };
            if let Err(e) = leader.open_pam(&open, deadline) {
                guard.take();
                return Err(Unwritten::nothing(e));
            }
            tracing::debug!(id = leader.session_id(), leader = ?leader.pid(), service, "logind session opened");
            leader.session_id().to_owned()
        };
        Ok(Box::new(LogindMark { id, at, since, leader: held }))
    }

    fn opens_session(&self) -> bool {
        true
    }

    fn records(&self, _: Deadline) -> Result<Vec<Record>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "logind read",
            "logind's sessions are not utmp records: `loginctl list-sessions` lists them",
        )
        .at(&self.path))
    }

    /// logind keeps the host of the login, as wtmp does.
    fn update(&self, _: &Record, _: Deadline) -> Result<()> {
        Ok(())
    }

    /// logind ends a session whose leader is gone by itself.
    fn sweep(
        &self,
        _: &mut dyn FnMut(&Record) -> bool,
        _: &[Arc<dyn HistoryStore>],
        _: Deadline,
    ) -> Result<Vec<Record>> {
        Ok(Vec::new())
    }
}

/// A logind session, held by its leader until the logout.
#[derive(Debug)]
struct LogindMark {
    id: String,
    /// The PAM service file, for errors.
    at: PathBuf,
    /// Just before the PAM session opened.
    #[cfg_attr(not(feature = "wtmpdb"), allow(dead_code))]
    since: SystemTime,
    leader: SharedLeader,
}

/// Closes the session through its leader, taken out so that one close
/// runs, whichever of the logout and the take-back comes first.
fn close(leader: &SharedLeader, at: &Path, deadline: Deadline) -> Result<()> {
    let taken = leader.lock().unwrap_or_else(|p| p.into_inner()).take();
    taken.map_or(Ok(()), |leader| leader.close(at, deadline))
}

impl Mark for LogindMark {
    fn logout(&self, _: Exit, deadline: Deadline) -> Result<()> {
        close(&self.leader, &self.at, deadline)
    }

    fn undo(&self) -> UndoStep {
        let action = CloseSession { at: self.at.clone(), leader: self.leader.clone() };
        UndoStep::new("logind session", Order::Live, Landed::Maybe, action)
    }

    fn pam_session_since(&self) -> Option<SystemTime> {
        Some(self.since)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The take-back of a logind session: its close.
#[derive(Debug)]
struct CloseSession {
    at: PathBuf,
    leader: SharedLeader,
}

impl UndoAction for CloseSession {
    fn now(&self, deadline: Deadline) -> Result<()> {
        close(&self.leader, &self.at, deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_must_be_a_plain_file_name() {
        for bad in ["", ".", "..", "../login", "a/b", "/etc/pam.d/login", "lo\ngin", "lo\u{1b}gin", &"x".repeat(65)] {
            let e = Logind::new(bad, PathBuf::new()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        for good in ["login", "sshd", "my-daemon", "a.b_c"] {
            assert_eq!(Logind::new(good, PathBuf::new()).unwrap().path(), Path::new("/etc/pam.d").join(good));
        }
    }
}
