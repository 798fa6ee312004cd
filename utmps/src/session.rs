//! The session guard: a login that is logged out when the guard goes away, and
//! the constructor of the guard, [`Accounting::open`].

use std::net::IpAddr;

use crate::accounting::Accounting;
use crate::error::{Error, ErrorKind, Result};
use crate::leader::{SharedLeader, Start};
use crate::login::{cut_host, Login};
use crate::record::{Exit, Field, Record};
use crate::store::undo::UndoStep;
use crate::store::{Ending, Mark, Unwritten};
use crate::sys::deadline::Deadline;
use crate::take_back;

impl Accounting {
    /// Records a login in every store of the handle, in this order: the live
    /// stores (a logind session first, then the utmp entry), each history store (the wtmp login record; a wtmpdb row),
    /// then, when the login asks for it, each last-login store. The returned
    /// guard logs out when it is closed or dropped. Returns within the
    /// handle's timeout, failed or not.
    ///
    /// # Errors
    /// `InvalidInput` before any I/O for a bad user, line, host or service;
    /// `Unsupported` when the login asks for lastlog and the handle has no
    /// last-login store; `Unavailable` when it has no live and no history store
    /// (see [`check`](Self::check)); otherwise the first failure, after which
    /// what was written is taken back ([reliability 22](crate::notes::reliability)).
    pub fn open(&self, login: &Login) -> Result<Session> {
        Session::open(self.clone(), login, None)
    }
}

/// A program to start on the session's pty, by its leader.
pub(crate) struct Spawn<'a> {
    pub(crate) leader: SharedLeader,
    pub(crate) start: Start<'a>,
}

impl Spawn<'_> {
    /// Starts the program; the record gets its pid and session (its own).
    fn start(&self, record: &mut Record, deadline: Deadline) -> Result<()> {
        let mut guard = self.leader.lock().unwrap_or_else(|p| p.into_inner());
        let Some(leader) = guard.as_mut() else {
            return Err(Error::new(ErrorKind::Protocol, "session program", "the session leader is gone"));
        };
        let pid = leader.spawn(&self.start, deadline)?;
        record.pid = pid;
        record.session = pid;
        Ok(())
    }
}

/// A recorded login. Dropping it logs out (best effort, failures traced);
/// [`logout`](Session::logout) does the same and returns the error.
///
/// The guard keeps what each store returned at login, and the logout ends
/// each with it: the utmp DEAD_PROCESS entry goes into the login's slot (same
/// line, id and pid); wtmp gets a logout record that keeps the user name,
/// because utmps's wtmpd refuses a non-root logout record with an empty user;
/// the session's wtmpdb row gets its logout time (a row that `wtmpdb rotate`
/// moved away meanwhile is not an error: nothing is left to close).
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
    /// What each live store returned at login, in the handle's order.
    live: Vec<Box<dyn Mark>>,
    /// What each history store returned at login, in the handle's order.
    history: Vec<Box<dyn Mark>>,
    owner: libc::pid_t,
    open: bool,
}

impl Session {
    /// Opens the session; with `spawn`, starts its program once the live
    /// stores that open what it runs in (logind's session) have, and before
    /// the others, so that they record the program's pid.
    pub(crate) fn open(acct: Accounting, login: &Login, spawn: Option<&Spawn<'_>>) -> Result<Session> {
        acct.check_records()?;
        let mut record = login.to_record()?;
        let line = login.line_name()?;
        let stores = &*acct.stores;
        stores.check_login(login, &record)?;
        // One deadline for every step of the open, undoing a failed one
        // included: what does not fit runs in the background (see `take_back`).
        let deadline = acct.deadline();
        // Everything the last-login stores need is checked before anything is written.
        let last_login = match login.wants_lastlog() {
            true if stores.last_login.is_empty() => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "login",
                    "the login asks for lastlog, but this handle has no last-login store (lastlog, lastlog2)",
                ))
            }
            true => {
                stores.last_login.iter().map(|s| s.prepare(login, &record, deadline)).collect::<Result<Vec<_>>>()?
            }
            false => Vec::new(),
        };
        // Set up ahead, writing nothing: the wtmpd connection, whose daemon the
        // superserver starts while utmp is written. The history logins still
        // wait for the live ones, so that a failed open leaves no session in
        // wtmp for `last` to show.
        let set_up: Vec<_> = stores.history.iter().map(|h| h.prepare(deadline)).collect();
        let mut session =
            Session { acct: acct.clone(), record, live: Vec::new(), history: Vec::new(), owner: 0, open: false };
        let failed = |session: &Session, record: &Record, undo: Option<Box<UndoStep>>, error: Error| {
            let mut steps: Vec<UndoStep> = session.marks().map(|m| m.undo()).collect();
            steps.extend(undo.map(|step| *step));
            take_back::undo(record, steps, acct.timeout(), deadline);
            Err(error)
        };
        // The stores that open what a spawned program runs in (logind's
        // session) come first, whatever the handle's order; the program
        // starts after them, and the others record its pid.
        let leader = spawn.map(|s| &s.leader);
        let (opening, others): (Vec<_>, Vec<_>) = stores.live.iter().partition(|s| s.opens_session());
        // `None` is where the program starts.
        let steps = opening.into_iter().map(Some).chain([None]).chain(others.into_iter().map(Some));
        for step in steps {
            let written = match (step, spawn) {
                (Some(store), _) => store.login(&mut record, login, line, leader, deadline).map(Some),
                (None, Some(spawn)) => spawn.start(&mut record, deadline).map(|()| None).map_err(Unwritten::nothing),
                (None, None) => Ok(None),
            };
            match written {
                Ok(mark) => session.live.extend(mark),
                Err(Unwritten { error, undo }) => {
                    drop(set_up);
                    return failed(&session, &record, undo, error);
                }
            }
        }
        for (store, set_up) in stores.history.iter().zip(set_up) {
            match store.login(set_up, &record, login, &session.live, deadline) {
                Ok(mark) => session.history.push(mark),
                Err(Unwritten { error, undo }) => return failed(&session, &record, undo, error),
            }
        }
        for write in &last_login {
            if let Err(e) = write.write(deadline) {
                return failed(&session, &record, None, e);
            }
        }
        tracing::debug!(user = %record.user, line = %record.line, pid = record.pid, stores = ?stores, "session opened");
        session.record = record;
        session.owner = std::process::id() as libc::pid_t;
        session.open = true;
        Ok(session)
    }

    /// What every store returned at login: the live stores', then the history stores'.
    pub(crate) fn marks(&self) -> impl Iterator<Item = &dyn Mark> {
        self.live.iter().chain(&self.history).map(|m| &**m)
    }

    /// The USER_PROCESS record of the login: the one written to utmp and
    /// wtmp, or, on a handle without them, the one they would have got.
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The line (`pts/3`).
    pub fn line(&self) -> &Field<32> {
        &self.record.line
    }

    /// Changes the remote host and address of the live session (a roaming
    /// client) by rewriting its utmp entry in place. Nothing is written to
    /// wtmp or wtmpdb, which keep the host of the login.
    ///
    /// The host is checked as [`Login::host`] checks it: one with an
    /// [unsafe character](crate::is_unsafe_char) is refused, never stored.
    ///
    /// # Errors
    /// `InvalidInput`, before any I/O, for a host with an unsafe character (NUL
    /// included); `Unsupported` when the handle keeps no utmp (nothing is
    /// changed); otherwise the utmp write's error, in which case the session
    /// keeps its old host.
    pub fn update_host(&mut self, host: &str, addr: Option<IpAddr>) -> Result<()> {
        let host = cut_host(host)?;
        let stores = &self.acct.stores;
        if stores.live.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "update host",
                "this handle keeps no utmp, the only store where a session's host can change",
            ));
        }
        let mut updated = self.record;
        updated.host = Field::truncated(host.as_bytes());
        updated.set_addr(addr);
        let deadline = self.acct.deadline();
        for store in &stores.live {
            store.update(&updated, deadline)?;
        }
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

    /// Logs out: the utmp DEAD_PROCESS entry in the login's slot, and each
    /// history store's logout (the wtmp logout record; the wtmpdb row's
    /// logout time). Each is attempted even when another fails, all within
    /// one deadline (the handle's timeout). When utmp is kept by utmpd, its
    /// write overlaps with the history writes, which go to other daemons or
    /// files: the native backend sends the utmp request first and reads its
    /// answer after them (when utmpd's listener has no room yet, the put
    /// waits for it on a thread of its own), libxutmp's utmps flavour makes
    /// its put on a thread of its own; a utmp file is written after the
    /// history stores, so that a lock it waits on cannot use up their time.
    ///
    /// # Errors
    /// The first failure in store order: the utmp write's, then each history
    /// store's. `Unsupported` in a forked child, which does not own the session.
    pub fn logout_with(mut self, exit: Exit) -> Result<()> {
        self.teardown(exit)
    }

    fn teardown(&mut self, exit: Exit) -> Result<()> {
        if !self.open {
            return Ok(());
        }
        self.open = false;
        if std::process::id() as libc::pid_t != self.owner {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "logout",
                format!("the session belongs to process {}, not to this forked child", self.owner),
            ));
        }
        let deadline = self.acct.deadline();
        let logout = |m: &dyn Mark| m.logout(exit, deadline);
        let history = || every(self.history.iter().map(|m| &**m), logout);
        let result = if self.history.is_empty() {
            every(self.live.iter().map(|m| &**m), logout)
        } else {
            // The live writes overlap with the history writes, which go to
            // other daemons or files.
            let mut live = Ok(());
            let (mut started, mut blocking, mut after) = (Vec::new(), Vec::new(), Vec::new());
            for mark in &self.live {
                match mark.start_logout(exit, deadline) {
                    Ending::Done(r) => live = live.and(r),
                    Ending::Started(s) => started.push(s),
                    Ending::Blocking => blocking.push(&**mark),
                    Ending::AfterHistory => after.push(&**mark),
                }
            }
            let history = match blocking.is_empty() {
                true => history(),
                false => {
                    let blocking = || every(blocking.iter().copied(), logout);
                    let (first, second) = side_by_side(blocking, history);
                    live = live.and(first);
                    second
                }
            };
            for s in started {
                live = live.and(s.finish());
            }
            live = live.and(every(after.into_iter(), logout));
            live.and(history)
        };
        tracing::debug!(line = %self.record.line, ok = result.is_ok(), "session closed");
        result
    }
}

/// Runs `f` on every mark, each even when one before it failed, and returns
/// the first error.
fn every<'a>(marks: impl Iterator<Item = &'a dyn Mark>, f: impl Fn(&dyn Mark) -> Result<()>) -> Result<()> {
    let mut result = Ok(());
    for mark in marks {
        let done = f(mark);
        result = result.and(done);
    }
    result
}

/// Runs `first` on a thread of its own while `second` runs here, and returns
/// both results. When no thread can be started, runs both here, one after
/// the other.
fn side_by_side(
    first: impl FnOnce() -> Result<()> + Send,
    second: impl FnOnce() -> Result<()>,
) -> (Result<()>, Result<()>) {
    // A closure handed to a spawn that fails is gone: keep it where the
    // fallback can still take it.
    let first = std::sync::Mutex::new(Some(first));
    let run_first = || {
        let first = first.lock().unwrap_or_else(|p| p.into_inner()).take();
        first.map_or(Ok(()), |f| f())
    };
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new().name("utmps-logout".into()).spawn_scoped(scope, run_first);
        match spawned {
            Ok(thread) => {
                let second = second();
                let first = thread
                    .join()
                    .unwrap_or_else(|_| Err(Error::new(ErrorKind::Io, "logout", "the thread writing utmp panicked")));
                (first, second)
            }
            Err(e) => {
                tracing::trace!(error = %e, "no thread for the utmp logout; written on this one");
                let first = run_first();
                (first, second())
            }
        }
    })
}

impl Session {
    /// Moves the live session out, leaving behind a closed guard whose Drop does nothing.
    pub(crate) fn take(&mut self) -> Session {
        let open = std::mem::replace(&mut self.open, false);
        Session {
            acct: self.acct.clone(),
            record: self.record,
            live: std::mem::take(&mut self.live),
            history: std::mem::take(&mut self.history),
            owner: self.owner,
            open,
        }
    }
}

impl Session {
    /// True until the session is logged out (or moved out by [`take`](Self::take)).
    pub(crate) fn is_open(&self) -> bool {
        self.open
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.open && std::process::id() as libc::pid_t != self.owner {
            return; // a forked child's copy: the parent still owns the session
        }
        #[cfg(feature = "tokio")]
        if hand_off(self) {
            return; // a blocking thread of the runtime logs it out
        }
        if let Err(e) = self.teardown(Exit::default()) {
            tracing::warn!(line = %self.record.line, error = %e, "logout in drop failed");
        }
    }
}

#[cfg(feature = "tokio")]
thread_local! {
    /// Set while a session's teardown must run where it is, not be handed off
    /// again: inside the blocking task, and while spawning it (a runtime that is
    /// shutting down drops the task, and with it the session, on the spot).
    static INLINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Called by a session's Drop: inside a tokio runtime, moves the session to a
/// blocking task that logs it out, and answers true; outside one (or when the
/// teardown must run here) answers false and the caller tears down in place.
#[cfg(feature = "tokio")]
fn hand_off(session: &mut Session) -> bool {
    if !session.open || INLINE.with(std::cell::Cell::get) {
        return false;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return false;
    };
    let moved = session.take();
    INLINE.with(|inline| inline.set(true));
    drop(runtime.spawn_blocking(move || {
        INLINE.with(|inline| inline.set(true));
        drop(moved);
        INLINE.with(|inline| inline.set(false));
    }));
    INLINE.with(|inline| inline.set(false));
    true
}

// A daemon opens a session in one task and ends it in another.
const _: () = {
    const fn is_send<T: Send>() {}
    is_send::<Session>();
};

// catch_unwind around a daemon's request handler may hold a handle or a session.
const _: () = {
    const fn is_unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    is_unwind_safe::<Accounting>();
    is_unwind_safe::<Session>();
};
