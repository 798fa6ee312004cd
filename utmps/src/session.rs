//! The session guard: a login that is logged out when the guard goes away.

use std::net::IpAddr;

use crate::accounting::{dead_record, Accounting};
use crate::backend::{Failed, Landed};
use crate::error::{Error, ErrorKind, Result};
use crate::login::{alternate_id, cut_host, default_id, Login};
use crate::record::{Exit, Field, Record};
use crate::sys::deadline::Deadline;
use crate::take_back;

/// How many alternate ids are tried when a line's default id is taken.
const ID_ATTEMPTS: u32 = 16;

/// A recorded login. Dropping it logs out (best effort, failures traced);
/// [`logout`](Session::logout) does the same and returns the error.
///
/// The logout writes the utmp DEAD_PROCESS entry into the login's slot (same line,
/// id and pid) and a wtmp logout record that keeps the user name, because utmps's
/// wtmpd refuses a non-root logout record with an empty user.
///
/// Log out BEFORE releasing the pty: once the pty is closed the kernel may hand
/// the same line to another login, whose entry this logout would then end.
///
/// The guard belongs to the process that opened it: a copy inherited by a forked
/// child does nothing when dropped there. Entries of a process that dies without
/// running the guard's teardown (SIGKILL, abort, `process::exit`, `mem::forget`)
/// stay in utmp; [`Accounting::sweep`] ends them.
#[derive(Debug)]
#[must_use = "dropping the session logs it out at once"]
pub struct Session {
    acct: Accounting,
    record: Record,
    owner: u32,
    open: bool,
}

impl Session {
    pub(crate) fn open(acct: Accounting, login: &Login) -> Result<Session> {
        let mut record = login.to_record()?;
        let line = login.line_name()?;
        // One deadline for every step of the open, undoing a failed one
        // included: what does not fit runs in the background (see `take_back`).
        let deadline = acct.deadline();
        // Everything lastlog needs is checked before anything is written.
        let lastlog = match login.wants_lastlog() {
            true => Some(crate::lastlog::PendingLogin::prepare(acct.lastlog_file(), login.user_name(), &record)?),
            false => None,
        };
        if let Err(failed) = put_with_free_id(&acct, &mut record, line, deadline) {
            take_back::undo(&acct, &record, failed.landed, Landed::No, deadline);
            return Err(failed.error);
        }
        if let Err(failed) = acct.raw().wtmp_append_tracked(&record, deadline) {
            take_back::undo(&acct, &record, Landed::Maybe, failed.landed, deadline);
            return Err(failed.error);
        }
        if let Some(lastlog) = lastlog {
            if let Err(e) = lastlog.write(acct.lastlog_file(), deadline) {
                take_back::undo(&acct, &record, Landed::Maybe, Landed::Maybe, deadline);
                return Err(e);
            }
        }
        tracing::debug!(user = %record.user, line = %record.line, pid = record.pid, backend = ?acct.backend(), "session opened");
        let owner = std::process::id();
        Ok(Session { acct, record, owner, open: true })
    }

    /// The USER_PROCESS record that was written at login.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The line (`pts/3`).
    pub fn line(&self) -> &Field<32> {
        &self.record.line
    }

    /// Changes the remote host and address of the live session (a roaming
    /// client) by rewriting its utmp entry in place. Nothing is written to wtmp.
    ///
    /// The host is checked as [`Login::host`] checks it: one with an
    /// [unsafe character](crate::is_unsafe_char) is refused, never stored.
    ///
    /// # Errors
    /// `InvalidInput`, before any I/O, for a host with an unsafe character (NUL
    /// included); otherwise the utmp write's error, in which case the session
    /// keeps its old host.
    pub fn update_host(&mut self, host: &str, addr: Option<IpAddr>) -> Result<()> {
        let host = cut_host(host)?;
        let mut updated = self.record;
        updated.host = Field::from_slice_unchecked(host.as_bytes());
        updated.set_addr(addr);
        self.acct.raw().utmp_put(&updated, self.acct.deadline())?;
        self.record = updated;
        Ok(())
    }

    /// Logs out with a zero exit status. See [`logout_with`](Self::logout_with).
    ///
    /// # Errors
    /// As [`logout_with`](Self::logout_with).
    pub fn logout(self) -> Result<()> {
        self.logout_with(Exit::default())
    }

    /// Logs out: the utmp DEAD_PROCESS entry in the login's slot, then the wtmp
    /// logout record. Both are attempted even when the first fails.
    ///
    /// # Errors
    /// The first failure. `Unsupported` in a forked child, which does not own the session.
    pub fn logout_with(mut self, exit: Exit) -> Result<()> {
        self.teardown(exit)
    }

    fn teardown(&mut self, exit: Exit) -> Result<()> {
        if !self.open {
            return Ok(());
        }
        self.open = false;
        if std::process::id() != self.owner {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "logout",
                format!("the session belongs to process {}, not to this forked child", self.owner),
            ));
        }
        let dead = dead_record(&self.record, exit);
        let utmp = self.acct.raw().utmp_put(&dead, self.acct.deadline());
        let wtmp = self.acct.raw().wtmp_append(&dead, self.acct.deadline());
        tracing::debug!(line = %self.record.line, ok = utmp.is_ok() && wtmp.is_ok(), "session closed");
        utmp.and(wtmp)
    }
}

impl Session {
    /// Moves the live session out, leaving behind a closed guard whose Drop does nothing.
    #[cfg(feature = "tokio")]
    pub(crate) fn take(&mut self) -> Session {
        let open = std::mem::replace(&mut self.open, false);
        Session { acct: self.acct.clone(), record: self.record, owner: self.owner, open }
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn is_open(&self) -> bool {
        self.open
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.open && std::process::id() != self.owner {
            return; // a forked child's copy: the parent still owns the session
        }
        #[cfg(feature = "tokio")]
        if crate::async_session::hand_off(self) {
            return; // a blocking thread of the runtime logs it out
        }
        if let Err(e) = self.teardown(Exit::default()) {
            tracing::warn!(line = %self.record.line, error = %e, "logout in drop failed");
        }
    }
}

/// Writes the login's utmp entry under the line's default ut_id (its last four
/// bytes), or, when a live session on another line holds that id (`pts/1012` and
/// `pts/11012`), under the first derived alternate that is free. The libc flavour
/// refuses such a put with EADDRINUSE under its file lock, so two logins racing
/// for one id cannot both take it. The utmps daemons match by id AND line, so
/// there the default id never collides.
fn put_with_free_id(acct: &Accounting, record: &mut Record, line: &str, deadline: Deadline) -> Result<(), Failed> {
    let candidates = std::iter::once(default_id(line)).chain((0..ID_ATTEMPTS).map(|n| alternate_id(line, n)));
    for id in candidates {
        record.id = id;
        match acct.raw().utmp_put_tracked(record, deadline) {
            Ok(()) => return Ok(()),
            Err(f) if f.error.raw_os_error() == Some(libc::EADDRINUSE) => {
                tracing::trace!(line, id = %id, "ut_id held by a live session on another line");
            }
            Err(f) => return Err(f),
        }
    }
    Err(Failed::not_written(Error::new(
        ErrorKind::Io,
        "login",
        format!(
            "every ut_id tried for line {line:?} ({} of them) is held by a live session on another line",
            ID_ATTEMPTS + 1
        ),
    )))
}

// A daemon opens a session in one task and ends it in another.
const _: () = {
    const fn is_send<T: Send>() {}
    is_send::<Session>();
};
