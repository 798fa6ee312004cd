//! The live store of a backend: its utmp half, the utmp file or utmpd.

use std::any::Any;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::backend::{Backend, Landed, WriteAccess};
use crate::error::{Error, ErrorKind, Result};
use crate::leader::SharedLeader;
use crate::login::{alternate_id, default_id, Login};
use crate::record::{Exit, Record};
use crate::store::undo::{Order, UndoAction, UndoStep};
use crate::store::{Ending, HistoryStore, LiveStore, Mark, Store, StoreKind, Unwritten};
use crate::sys::deadline::Deadline;
use crate::sys::process::pid_alive;

/// How many alternate ids are tried when a line's default id is taken.
pub(crate) const ID_ATTEMPTS: u32 = 16;

/// utmp through a backend.
#[derive(Debug)]
pub(crate) struct Utmp(Arc<dyn Backend>);

impl Utmp {
    pub(crate) fn new(backend: Arc<dyn Backend>) -> Utmp {
        Utmp(backend)
    }
}

impl Store for Utmp {
    fn kind(&self) -> StoreKind {
        match self.0.kind().uses_daemons() {
            true => StoreKind::Utmpd,
            false => StoreKind::UtmpFile,
        }
    }

    fn path(&self) -> &Path {
        self.0.utmp_endpoint()
    }

    fn backend(&self) -> Option<&Arc<dyn Backend>> {
        Some(&self.0)
    }
}

impl LiveStore for Utmp {
    fn access(&self, deadline: Deadline) -> Result<WriteAccess> {
        crate::backend::probe_half(&*self.0, true, deadline)
    }

    fn login(
        &self,
        record: &mut Record,
        _: &Login,
        line: &str,
        _: Option<&SharedLeader>,
        deadline: Deadline,
    ) -> Result<Box<dyn Mark>, Unwritten> {
        match put_with_free_id(&*self.0, record, line, deadline) {
            Ok(()) => Ok(Box::new(UtmpMark { backend: self.0.clone(), login: *record })),
            Err((error, Landed::No)) => Err(Unwritten::nothing(error)),
            Err((error, landed)) => Err(Unwritten { error, undo: Some(Box::new(undo(&self.0, record, landed))) }),
        }
    }

    fn records(&self, deadline: Deadline) -> Result<Vec<Record>> {
        self.0.utmp_records(deadline)
    }

    fn update(&self, record: &Record, deadline: Deadline) -> Result<()> {
        self.0.utmp_put(record, deadline)
    }

    /// Every USER_PROCESS entry whose pid is dead and that `ours` accepts.
    /// The entries are read a second time just before the first write: one
    /// that changed since (a new login took its slot) is skipped, and each
    /// entry's process is checked again right before it is ended. The history
    /// stores are written first, so that an entry whose history write fails
    /// stays live and a later sweep tries it again.
    fn sweep(
        &self,
        ours: &mut dyn FnMut(&Record) -> bool,
        history: &[Arc<dyn HistoryStore>],
        deadline: Deadline,
    ) -> Result<Vec<Record>> {
        let stale = |e: &Record| e.is_user_process() && pid_alive(e.pid) == Some(false);
        let found: Vec<Record> = self.0.utmp_records(deadline)?.into_iter().filter(|e| stale(e) && ours(e)).collect();
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let mut unchanged: HashSet<Record> = self.0.utmp_records(deadline)?.into_iter().collect();
        let mut swept = Vec::new();
        for entry in found {
            if !unchanged.remove(&entry) || pid_alive(entry.pid) != Some(false) {
                continue;
            }
            let dead = entry.dead(Exit::default());
            for store in history {
                store.sweep(&dead, deadline)?;
            }
            self.0.utmp_put(&dead, deadline)?;
            tracing::debug!(line = %entry.line, pid = entry.pid, "swept a stale session");
            swept.push(dead);
        }
        Ok(swept)
    }
}

/// Writes the login's utmp entry under the line's default ut_id (its last four
/// bytes), or, when a live session on another line holds that id (`pts/1012` and
/// `pts/11012`), under the first derived alternate that is free. The libc flavour
/// refuses such a put with EADDRINUSE under its file lock, so two logins racing
/// for one id cannot both take it. The utmps daemons match by id AND line, so
/// there the default id never collides.
fn put_with_free_id(
    live: &dyn Backend,
    record: &mut Record,
    line: &str,
    deadline: Deadline,
) -> Result<(), (Error, Landed)> {
    let candidates = std::iter::once(default_id(line)).chain((0..ID_ATTEMPTS).map(|n| alternate_id(line, n)));
    for id in candidates {
        record.id = id;
        match live.utmp_put_tracked(record, deadline) {
            Ok(()) => return Ok(()),
            Err(f) if f.error.raw_os_error() == Some(libc::EADDRINUSE) => {
                tracing::trace!(line, id = %id, "ut_id held by a live session on another line");
            }
            Err(f) => return Err((f.error, f.landed)),
        }
    }
    let error = Error::new(
        ErrorKind::IdsExhausted,
        "login",
        format!(
            "every ut_id tried for line {line:?} ({} of them) is held by a live session on another line",
            ID_ATTEMPTS + 1
        ),
    );
    Err((error, Landed::No))
}

/// A login's utmp entry; its logout is the DEAD_PROCESS entry in its slot.
#[derive(Debug)]
struct UtmpMark {
    backend: Arc<dyn Backend>,
    login: Record,
}

impl Mark for UtmpMark {
    fn logout(&self, exit: Exit, deadline: Deadline) -> Result<()> {
        self.backend.utmp_put(&self.login.dead(exit), deadline)
    }

    fn start_logout(&self, exit: Exit, deadline: Deadline) -> Ending<'_> {
        match self.backend.utmp_put_start(&self.login.dead(exit), deadline) {
            // utmpd works on the put while the other stores are written.
            Some(started) => Ending::Started(started),
            // libutmps waits for each answer (and a native put waits for room
            // at a full listener): the put gets a thread. A thread costs more
            // than a whole logout on files; beside a daemon's fork, exec and
            // fsync it is cheap.
            None if self.backend.kind().uses_daemons() => Ending::Blocking,
            None => Ending::AfterHistory,
        }
    }

    fn undo(&self) -> UndoStep {
        undo(&self.backend, &self.login, Landed::Maybe)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn undo(backend: &Arc<dyn Backend>, login: &Record, landed: Landed) -> UndoStep {
    let action = EndEntry { backend: backend.clone(), login: *login };
    UndoStep::new("take back the utmp entry of a failed login", Order::Live, landed, action)
}

/// Ends the utmp entry of a failed login. Ending an entry twice ends it
/// once: a put is safe to repeat.
#[derive(Debug)]
struct EndEntry {
    backend: Arc<dyn Backend>,
    login: Record,
}

impl UndoAction for EndEntry {
    fn now(&self, deadline: Deadline) -> Result<()> {
        self.backend.utmp_put(&self.login.dead(Exit::default()), deadline)
    }

    /// Ends the entry only while utmp still holds this login (its slot with
    /// its pid and time): a newer login on the line, made while the undo
    /// waited, is left alone. The read and the put are two requests, so a
    /// login that lands between them is still ended; a read that fails (a
    /// utmp too large to read, say) does not stop the put.
    fn later(&self, deadline: Deadline) -> Result<()> {
        let login = &self.login;
        let same = |r: &Record| {
            r.is_user_process()
                && (r.line, r.id, r.pid, r.tv_sec, r.tv_usec)
                    == (login.line, login.id, login.pid, login.tv_sec, login.tv_usec)
        };
        match self.backend.utmp_records(deadline) {
            Ok(records) if records.iter().any(same) => {}
            Ok(_) => {
                tracing::debug!(line = %login.line, "utmp no longer holds the failed login; nothing to take back");
                return Ok(());
            }
            Err(error) => {
                tracing::debug!(line = %login.line, %error, "utmp not read before the take-back; ended anyway")
            }
        }
        self.now(deadline)
    }
}

#[cfg(all(test, feature = "xutmp"))]
mod tests {
    use super::*;
    use crate::accounting::Accounting;
    use crate::layout::Layout;
    use crate::login::Login;
    use crate::record::{Field, RecordType};

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
