//! The session guard: a login that is logged out when the guard goes away, and
//! the constructor of the guard, [`Accounting::open`].

use std::net::IpAddr;

use crate::accounting::Accounting;
use crate::backend::{Backend, Failed, Landed};
use crate::error::{Error, ErrorKind, Result};
use crate::login::{alternate_id, cut_host, default_id, Login};
use crate::record::{Exit, Field, Record};
use crate::store::{History, Mark};
use crate::sys::deadline::Deadline;
use crate::take_back;

/// How many alternate ids are tried when a line's default id is taken.
const ID_ATTEMPTS: u32 = 16;

impl Accounting {
    /// Records a login in every store of the handle, in this order: the utmp
    /// USER_PROCESS entry (live), the login in each history store (the wtmp
    /// login record; a wtmpdb row, whose id the session keeps), then, when the
    /// login asks for it, each last-login store (lastlog, lastlog2). The
    /// returned guard logs out when it is closed or dropped.
    ///
    /// Returns within the handle's timeout, failed or not (plus scheduling noise).
    ///
    /// # Errors
    /// `InvalidInput` before any I/O for a bad user, line, host or service;
    /// `Unsupported` before any I/O when the login asks for lastlog and the
    /// handle has no last-login store; `Unavailable` when the handle has no
    /// live and no history store (see [`check`](Self::check)); otherwise the
    /// first failure. What a failed open wrote, or may have written, is taken
    /// back, the latest first: a wtmpdb row is deleted (so that `last` shows
    /// nothing of the failed login, where a logout would show it with a
    /// zero duration), the utmp entry is ended and a wtmp login that landed
    /// gets its logout. A last-login write is not undone: lastlog keeps no
    /// previous value. That happens before the open returns when it needs no
    /// waiting and fits in the deadline, otherwise in the background after it
    /// returned.
    /// A write whose answer had not come by the deadline is undone only once
    /// that answer came (the native backend waits for it on the original
    /// connection, at most 35 s), so that the undo can never be applied before
    /// the write; a write the daemon refused is not undone. An undo made after
    /// the open returned ends the utmp entry only while utmp still holds that
    /// login (same line, id, pid and time), so a newer login on the line is
    /// left live (a login landing between that read and the put is not).
    /// Against libxutmp's utmps flavour, which cannot keep a connection, a
    /// write whose outcome is unknown is undone at once, and a daemon that
    /// applies it later than the undo can still leave it live. Take-backs still pending when the process
    /// exits are lost: see [`wait_for_take_backs`](Self::wait_for_take_backs).
    pub fn open(&self, login: &Login) -> Result<Session> {
        Session::open(self.clone(), login)
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
    /// Per history store of `acct`, in its order.
    marks: Vec<Mark>,
    owner: libc::pid_t,
    open: bool,
}

impl Session {
    fn open(acct: Accounting, login: &Login) -> Result<Session> {
        acct.records_something()?;
        let mut record = login.to_record()?;
        let line = login.line_name()?;
        check_for_databases(&acct, login, &record)?;
        // One deadline for every step of the open, undoing a failed one
        // included: what does not fit runs in the background (see `take_back`).
        let deadline = acct.deadline();
        let stores = acct.store_set();
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
        // superserver starts while utmp is written. The wtmp login itself
        // still waits for the utmp put, so that a failed open leaves no
        // session in wtmp for `last` to show.
        let prepared: Vec<_> = stores.history.iter().map(|h| h.prepare(deadline)).collect();
        if let Some(live) = &stores.live {
            if let Err(failed) = put_with_free_id(&**live, &mut record, line, deadline) {
                drop(prepared);
                take_back::undo(&acct, &record, failed.landed, Landed::No, &[], deadline);
                return Err(failed.error);
            }
        }
        let utmp_written = || match stores.live.is_some() {
            true => Landed::Maybe,
            false => Landed::No,
        };
        let mut marks = Vec::with_capacity(stores.history.len());
        for (history, prepared) in stores.history.iter().zip(prepared) {
            match history.login(prepared, &record, login, deadline) {
                Ok(mark) => marks.push(mark),
                Err(failed) => {
                    let wtmp = match history {
                        History::Wtmp(_) => failed.landed,
                        #[cfg(feature = "wtmpdb")]
                        _ => wtmp_written(&marks),
                    };
                    take_back::undo(&acct, &record, utmp_written(), wtmp, &marks, deadline);
                    return Err(failed.error);
                }
            }
        }
        for (store, pending) in stores.last_login.iter().zip(&last_login) {
            if let Err(e) = store.write(pending, deadline) {
                take_back::undo(&acct, &record, utmp_written(), wtmp_written(&marks), &marks, deadline);
                return Err(e);
            }
        }
        tracing::debug!(user = %record.user, line = %record.line, pid = record.pid, stores = ?stores, "session opened");
        Ok(Session { acct, record, marks, owner: std::process::id() as libc::pid_t, open: true })
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

    /// The wtmpdb row of this session in the handle's first wtmpdb store.
    #[cfg(feature = "wtmpdb")]
    #[cfg_attr(docsrs, doc(cfg(feature = "wtmpdb")))]
    pub fn wtmpdb_row(&self) -> Option<crate::wtmpdb::RowId> {
        self.marks.iter().find_map(|m| match m {
            Mark::Wtmpdb(id) => Some(*id),
            _ => None,
        })
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
        let Some(live) = &self.acct.store_set().live else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "update host",
                "this handle keeps no utmp, the only store where a session's host can change",
            ));
        };
        let mut updated = self.record;
        updated.host = Field::truncated(host.as_bytes());
        updated.set_addr(addr);
        live.utmp_put(&updated, self.acct.deadline())?;
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
    /// its put on a thread of its own; a utmp file is written before the
    /// history stores.
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
        let stores = self.acct.store_set();
        let deadline = self.acct.deadline();
        let dead = self.record.dead(exit);
        let live_put = || match &stores.live {
            Some(live) => live.utmp_put(&dead, deadline),
            None => Ok(()),
        };
        let history_logouts = || {
            let mut result = Ok(());
            for (history, mark) in stores.history.iter().zip(&self.marks) {
                let ended = history.logout(mark, exit, deadline);
                result = result.and(ended);
            }
            result
        };
        let result = match &stores.live {
            Some(live) if !stores.history.is_empty() => match live.utmp_put_start(&dead, deadline) {
                // utmpd works on the put while the history stores are written.
                Some(started) => {
                    let history = history_logouts();
                    started.finish().and(history)
                }
                // libutmps waits for each answer (and a native put waits for
                // room at a full listener): the put gets a thread. A thread
                // costs more than a whole logout on files; beside a daemon's
                // fork, exec and fsync it is cheap.
                None if live.kind().uses_daemons() => side_by_side(live_put, history_logouts),
                None => live_put().and(history_logouts()),
            },
            _ => live_put().and(history_logouts()),
        };
        tracing::debug!(line = %self.record.line, ok = result.is_ok(), "session closed");
        result
    }
}

/// Runs `first` on a thread of its own while `second` runs here, and returns
/// the first error in that order. When no thread can be started, runs both
/// here, one after the other.
fn side_by_side(first: impl FnOnce() -> Result<()> + Send, second: impl FnOnce() -> Result<()>) -> Result<()> {
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
                first.and(second)
            }
            Err(e) => {
                tracing::trace!(error = %e, "no thread for the utmp logout; written on this one");
                let first = run_first();
                first.and(second())
            }
        }
    })
}

/// A wtmp login record among `marks` landed, so its take-back needs a logout.
fn wtmp_written(marks: &[Mark]) -> Landed {
    match marks.iter().any(|m| matches!(m, Mark::Wtmp(_))) {
        true => Landed::Maybe,
        false => Landed::No,
    }
}

/// What the SQLite stores need and the utmp checks do not cover, checked
/// before any I/O: the service name, a time after 1970.
fn check_for_databases(acct: &Accounting, login: &Login, record: &Record) -> Result<()> {
    #[cfg(feature = "wtmpdb")]
    {
        use crate::store::LastLoginStore;
        let stores = acct.store_set();
        let sqlite = stores.history.iter().any(|h| matches!(h, History::Wtmpdb(_)))
            || stores.last_login.iter().any(|l| matches!(l, LastLoginStore::Lastlog2(_)));
        if !sqlite {
            return Ok(());
        }
        if let Some(service) = login.service_name() {
            crate::sqlite::check_service("login", service)?;
        }
        if record.tv_sec < 0 {
            return Err(Error::invalid("login", "wtmpdb and lastlog2 cannot store a login time before 1970"));
        }
    }
    #[cfg(not(feature = "wtmpdb"))]
    let _ = (acct, login, record);
    Ok(())
}

impl Session {
    /// Moves the live session out, leaving behind a closed guard whose Drop does nothing.
    #[cfg(feature = "tokio")]
    fn take(&mut self) -> Session {
        let open = std::mem::replace(&mut self.open, false);
        Session {
            acct: self.acct.clone(),
            record: self.record,
            marks: std::mem::take(&mut self.marks),
            owner: self.owner,
            open,
        }
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

/// Writes the login's utmp entry under the line's default ut_id (its last four
/// bytes), or, when a live session on another line holds that id (`pts/1012` and
/// `pts/11012`), under the first derived alternate that is free. The libc flavour
/// refuses such a put with EADDRINUSE under its file lock, so two logins racing
/// for one id cannot both take it. The utmps daemons match by id AND line, so
/// there the default id never collides.
fn put_with_free_id(live: &dyn Backend, record: &mut Record, line: &str, deadline: Deadline) -> Result<(), Failed> {
    let candidates = std::iter::once(default_id(line)).chain((0..ID_ATTEMPTS).map(|n| alternate_id(line, n)));
    for id in candidates {
        record.id = id;
        match live.utmp_put_tracked(record, deadline) {
            Ok(()) => return Ok(()),
            Err(f) if f.error.raw_os_error() == Some(libc::EADDRINUSE) => {
                tracing::trace!(line, id = %id, "ut_id held by a live session on another line");
            }
            Err(f) => return Err(f),
        }
    }
    Err(Failed::not_written(Error::new(
        ErrorKind::IdsExhausted,
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

#[cfg(all(test, feature = "xutmp"))]
mod tests {
    use super::*;
    use crate::layout::Layout;
    use crate::record::RecordType;

    /// A utmp whose live entries, on other lines, hold every id a login on
    /// `pts/1012` may take: the open is refused with its own kind, and nothing
    /// is written.
    #[test]
    fn a_line_whose_every_id_is_taken_is_refused_with_ids_exhausted() {
        let dir = tempfile::tempdir().unwrap();
        let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
        let line = "pts/1012";
        let me = std::process::id() as i32;
        let ids = std::iter::once(default_id(line)).chain((0..ID_ATTEMPTS).map(|n| alternate_id(line, n)));
        let mut bytes = Vec::new();
        for (n, id) in ids.enumerate() {
            let holder = Record {
                record_type: RecordType::USER_PROCESS,
                pid: me,
                line: Field::truncated(format!("pts/{}", 5000 + n).as_bytes()),
                id,
                user: Field::truncated(b"holder"),
                tv_sec: 1_700_000_000,
                ..Record::default()
            };
            bytes.extend(Layout::Glibc.encode(&holder).unwrap());
        }
        std::fs::write(&utmp, &bytes).unwrap();
        std::fs::File::create(&wtmp).unwrap();
        let acct = Accounting::files(&utmp, &wtmp).unwrap();
        let e = acct.open(&Login::new("alice", line)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::IdsExhausted, "{e}");
        assert!(e.remedy().unwrap().contains("sweep"), "{e}");
        assert_eq!(std::fs::read(&utmp).unwrap(), bytes, "utmp changed");
        assert_eq!(std::fs::metadata(&wtmp).unwrap().len(), 0, "wtmp written");
    }
}

// catch_unwind around a daemon's request handler may hold a handle or a session.
const _: () = {
    const fn is_unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    is_unwind_safe::<Accounting>();
    is_unwind_safe::<Session>();
};
