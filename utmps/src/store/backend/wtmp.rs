//! The history store of a backend: its wtmp half, the wtmp file or wtmpd.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use crate::backend::{Backend, Landed, WriteAccess};
use crate::error::Result;
use crate::login::Login;
use crate::record::{Exit, Record};
use crate::store::undo::{Order, UndoAction, UndoStep};
use crate::store::{HistoryStore, Mark, SetUp, Store, StoreKind, Unwritten};
use crate::sys::deadline::Deadline;

/// wtmp through a backend.
#[derive(Debug)]
pub(crate) struct Wtmp(Arc<dyn Backend>);

impl Wtmp {
    pub(crate) fn new(backend: Arc<dyn Backend>) -> Wtmp {
        Wtmp(backend)
    }
}

impl Store for Wtmp {
    fn kind(&self) -> StoreKind {
        match self.0.kind().uses_daemons() {
            true => StoreKind::Wtmpd,
            false => StoreKind::WtmpFile,
        }
    }

    fn path(&self) -> &Path {
        self.0.wtmp_endpoint()
    }

    fn backend(&self) -> Option<&Arc<dyn Backend>> {
        Some(&self.0)
    }
}

impl HistoryStore for Wtmp {
    fn access(&self, deadline: Deadline) -> Result<WriteAccess> {
        crate::backend::probe_half(&*self.0, false, deadline)
    }

    /// The wtmpd connection, whose daemon the superserver starts while utmp
    /// is written.
    fn prepare(&self, deadline: Deadline) -> SetUp<'_> {
        SetUp(Some(self.0.wtmp_prepare(deadline)))
    }

    fn login(
        &self,
        set_up: SetUp<'_>,
        record: &Record,
        _: &Login,
        _: &[Box<dyn Mark>],
        deadline: Deadline,
    ) -> Result<Box<dyn Mark>, Unwritten> {
        let appended = match set_up.0 {
            Some(append) => append.append_tracked(record, deadline),
            None => self.0.wtmp_append_tracked(record, deadline),
        };
        match appended {
            Ok(()) => Ok(Box::new(WtmpMark { backend: self.0.clone(), login: *record })),
            Err(failed) => match failed.landed {
                Landed::No => Err(Unwritten::nothing(failed.error)),
                landed => Err(Unwritten { error: failed.error, undo: Some(Box::new(undo(&self.0, record, landed))) }),
            },
        }
    }

    fn sweep(&self, dead: &Record, deadline: Deadline) -> Result<()> {
        self.0.wtmp_append(dead, deadline)
    }
}

/// A wtmp login record; its logout record keeps its line, id, pid and user
/// (utmps's wtmpd refuses a non-root logout record with an empty user).
#[derive(Debug)]
struct WtmpMark {
    backend: Arc<dyn Backend>,
    login: Record,
}

impl Mark for WtmpMark {
    fn logout(&self, exit: Exit, deadline: Deadline) -> Result<()> {
        self.backend.wtmp_append(&self.login.dead(exit), deadline)
    }

    fn undo(&self) -> UndoStep {
        undo(&self.backend, &self.login, Landed::Maybe)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A logout with no login before it is ignored by `last`; one before its
/// login would leave the login dangling: the step waits for the login's answer.
fn undo(backend: &Arc<dyn Backend>, login: &Record, landed: Landed) -> UndoStep {
    let action = CloseLogin { backend: backend.clone(), login: *login };
    UndoStep::new("close the wtmp login of a failed login", Order::Close, landed, action)
}

/// Appends the logout of a failed login's wtmp record, once: a logout that
/// may have been appended is not sent again, which could log the line out twice.
#[derive(Debug)]
struct CloseLogin {
    backend: Arc<dyn Backend>,
    login: Record,
}

impl UndoAction for CloseLogin {
    fn now(&self, deadline: Deadline) -> Result<()> {
        match self.backend.wtmp_append_tracked(&self.login.dead(Exit::default()), deadline) {
            Ok(()) => Ok(()),
            Err(f) if !matches!(f.landed, Landed::No) => Ok(()),
            Err(f) => Err(f.error),
        }
    }

    fn later(&self, deadline: Deadline) -> Result<()> {
        let Err(failed) = self.backend.wtmp_append_tracked(&self.login.dead(Exit::default()), deadline) else {
            return Ok(());
        };
        match failed.landed.settle(deadline) {
            true => {
                tracing::debug!(line = %self.login.line, error = %failed.error, "wtmp logout may have landed; not sent again");
                Ok(())
            }
            false => Err(failed.error),
        }
    }
}
