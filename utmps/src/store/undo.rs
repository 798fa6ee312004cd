//! The steps that take back what a failed open wrote. Each store that wrote
//! (or may have written) something gives one step; [`take_back`](crate::take_back)
//! runs them, in the foreground while the open's deadline lasts and the rest
//! on its worker.

use std::fmt;

use crate::backend::Landed;
use crate::error::Result;
use crate::sys::deadline::Deadline;

/// When a step runs, among the steps of one take-back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Order {
    /// Removes what was written (a wtmpdb row), so that `last` shows nothing
    /// of the failed login. Runs first, the latest written first.
    Erase,
    /// Ends the live entry (utmp's DEAD_PROCESS).
    Live,
    /// Closes a history login (a wtmp logout record), as a logout would:
    /// after the live entry's end, and only once it is done.
    Close,
}

/// How a store takes back one write.
pub(crate) trait UndoAction: Send + fmt::Debug {
    /// The undo on the caller's path: no waiting.
    fn now(&self, deadline: Deadline) -> Result<()>;
    /// The undo on the worker, after the write's answer came: it may first
    /// look whether what it undoes is still there.
    fn later(&self, deadline: Deadline) -> Result<()> {
        self.now(deadline)
    }
}

/// One step of a take-back: what it does (for the log), when it runs,
/// whether the write it undoes landed, and the undo itself.
#[derive(Debug)]
pub(crate) struct UndoStep {
    pub(crate) what: &'static str,
    pub(crate) order: Order,
    pub(crate) landed: Landed,
    pub(crate) action: Box<dyn UndoAction>,
}

impl UndoStep {
    #[cfg_attr(not(any(feature = "xutmp", feature = "native", feature = "wtmpdb")), allow(dead_code))]
    pub(crate) fn new(what: &'static str, order: Order, landed: Landed, action: impl UndoAction + 'static) -> UndoStep {
        UndoStep { what, order, landed, action: Box::new(action) }
    }

    /// True while the answer of the write it undoes may still come.
    pub(crate) fn waits(&self) -> bool {
        matches!(self.landed, Landed::Later(_))
    }
}

/// The steps in the order they run: the erasures latest first, then the live
/// ends, then the history closes, each in the order they were written.
pub(crate) fn in_order(written: Vec<UndoStep>) -> Vec<UndoStep> {
    let (mut erase, mut rest): (Vec<_>, Vec<_>) = written.into_iter().partition(|s| s.order == Order::Erase);
    erase.reverse();
    rest.sort_by_key(|s| s.order);
    erase.extend(rest);
    erase
}
