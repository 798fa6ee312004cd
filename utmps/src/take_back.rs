//! Taking back a login that failed half way: each store gives the undo step
//! of what it wrote, and one loop runs them, on the caller's path while the
//! open's deadline lasts, the rest on one worker thread per process (the rules:
//! [reliability 22](crate::notes::reliability)).
//!
//! An undo waits for the answer of the write it undoes: the utmps superserver
//! runs one daemon process per connection, and two of them waiting on the same
//! file lock may be served in either order, so an undo sent on a new
//! connection at once could be applied before the write. The worker starts
//! when the first take-back is queued and ends when the queue is empty.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::accounting::Accounting;
use crate::backend::Landed;
use crate::error::ErrorKind;
use crate::record::Record;
use crate::store::undo::{in_order, Order, UndoStep};
use crate::sys::deadline::Deadline;

impl Accounting {
    /// Waits until the background take-backs of failed opens (see
    /// [`open`](Self::open)) of this process have finished, or `timeout` has
    /// passed; true when none is left. For an orderly exit, and for tests.
    /// The take-backs belong to the process, not to one handle. A take-back
    /// counts as left while it still means to undo something: against a
    /// daemon that stays unreachable, one gives up about 40 s after its open.
    pub fn wait_for_take_backs(timeout: Duration) -> bool {
        wait_all(timeout)
    }
}

/// How long a take-back waits for the answer to the write it undoes. utmpd and
/// wtmpd give up on a request whose payload is not complete within 30 s; a
/// daemon stalled longer than this on a lock is taken to be gone. Undos that
/// fail for a reason that may pass are tried again until then.
pub(crate) const WAIT_LIMIT: Duration = Duration::from_secs(35);

/// Take-backs that may keep their connection open while they wait. Beyond
/// this, a new one closes its connections and undoes at once, so that a hung
/// daemon cannot make the process run out of descriptors.
const MAX_WAITING: usize = 64;

/// How long one background undo attempt may take (at least). Long, since
/// nobody waits on it; short enough that a daemon slot freed meanwhile is
/// taken by a later attempt, where a connection left in a full daemon's
/// backlog would stay behind any other client queued there.
const ATTEMPT: Duration = Duration::from_secs(5);

/// The one attempt an undo still gets once its job's limit has passed (after
/// a wait for an answer that never came, say).
const LAST_ATTEMPT: Duration = Duration::from_secs(1);

/// The first pause between attempts of an undo; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Take-backs queued at most; beyond this a new one is dropped (and traced).
const MAX_QUEUED: usize = 4096;

/// Undo of one failed open: its steps, in the order they run.
#[derive(Debug)]
struct Job {
    /// The login record, for the log.
    login: Record,
    steps: Vec<UndoStep>,
    /// The handle's timeout: each attempt gets at least this.
    timeout: Duration,
    /// When waiting for answers and trying undos again ends.
    wait_until: Deadline,
}

impl Job {
    fn waits(&self) -> bool {
        self.steps.iter().any(UndoStep::waits)
    }

    fn run(self) {
        let Job { login, steps, timeout, wait_until } = self;
        let retry = Retry { login: &login, per_attempt: timeout.max(ATTEMPT), until: wait_until };
        for step in steps {
            // An undo never goes before the write it undoes: its answer first.
            if step.landed.settle(wait_until) {
                retry.run(step.what, |deadline| step.action.later(deadline));
            }
        }
        tracing::debug!(line = %login.line, "failed login taken back");
    }
}

/// How the undos of one job are tried. Each attempt gets [`ATTEMPT`] (or the
/// handle's timeout, if longer), not the handle's timeout alone: that was the
/// caller's budget, possibly near zero, and nobody waits on this thread.
struct Retry<'a> {
    login: &'a Record,
    per_attempt: Duration,
    until: Deadline,
}

impl Retry<'_> {
    /// Runs one undo until it is done, refused for good, or `until` has
    /// passed; once it has, an undo still gets one attempt of [`LAST_ATTEMPT`].
    fn run(&self, what: &'static str, mut attempt: impl FnMut(Deadline) -> crate::error::Result<()>) {
        let line = &self.login.line;
        let mut pause = FIRST_PAUSE;
        for tries in 1u32.. {
            let left = self.until.remaining().max(LAST_ATTEMPT);
            let error = match attempt(Deadline::after(self.per_attempt.min(left))) {
                Ok(()) => return,
                Err(e) => e,
            };
            if !may_pass(error.kind()) {
                tracing::warn!(%line, %error, "could not {what}; refused, not tried again");
                return;
            }
            if self.until.remaining() <= pause {
                tracing::warn!(%line, %error, tries, "could not {what}; gave up");
                return;
            }
            tracing::debug!(%line, %error, tries, "could not {what} yet; trying again");
            if error.kind() == ErrorKind::TimedOut {
                settle_queued();
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }
}

/// Whether an undo that failed so may succeed later: a daemon busy, full,
/// restarting or cut off. A refusal (permission, a record or file rejected)
/// would only be repeated.
fn may_pass(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::TimedOut | ErrorKind::Unavailable | ErrorKind::Protocol | ErrorKind::Io | ErrorKind::OutcomeUnknown
    )
}

#[derive(Debug, Default)]
struct Backlog {
    /// The process the queue belongs to: a forked child starts afresh, since
    /// the worker thread did not follow it.
    owner: u32,
    jobs: VecDeque<Job>,
    /// Queued or running.
    unfinished: usize,
    worker: bool,
}

static QUEUE: Mutex<Backlog> = Mutex::new(Backlog { owner: 0, jobs: VecDeque::new(), unfinished: 0, worker: false });
static FINISHED: Condvar = Condvar::new();

fn queue() -> MutexGuard<'static, Backlog> {
    let mut q = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
    let me = std::process::id();
    if q.owner != me {
        // The parent's take-backs are the parent's; our copies of their
        // descriptors are closed.
        *q = Backlog { owner: me, ..Backlog::default() };
    }
    q
}

/// Takes back a failed open of `login`, whose stores gave `written` (one
/// step per write, in the order written): at once, on the caller's path,
/// what needs no waiting and fits before `deadline` (the open's own); the
/// rest is queued for the worker, and this returns by the deadline. Undone
/// here, a process that exits right after the failed open (a forked child,
/// say) loses nothing; only waiting must leave the caller's path. A history
/// close runs here only once every live end is done, as a logout would.
pub(crate) fn undo(login: &Record, written: Vec<UndoStep>, timeout: Duration, deadline: Deadline) {
    let mut left = Vec::new();
    let mut live_done = true;
    for step in in_order(written) {
        let may_run = step.order != Order::Close || live_done;
        let done = match &step.landed {
            Landed::No => true,
            Landed::Later(_) => false,
            Landed::Maybe if deadline.expired() || !may_run => false,
            Landed::Maybe => match step.action.now(deadline) {
                Ok(()) => true,
                Err(e) => {
                    tracing::debug!(line = %login.line, error = %e, "could not {} yet; left to the background", step.what);
                    false
                }
            },
        };
        if step.order == Order::Live {
            live_done &= done;
        }
        if !done {
            left.push(step);
        }
    }
    schedule(login, left, timeout);
}

/// Queues the take-back of a failed open of `login`; returns at once.
fn schedule(login: &Record, steps: Vec<UndoStep>, timeout: Duration) {
    if steps.is_empty() {
        return;
    }
    let mut job = Job { login: *login, steps, timeout, wait_until: Deadline::after(WAIT_LIMIT) };
    let mut q = queue();
    if q.unfinished >= MAX_QUEUED {
        drop(q);
        tracing::warn!(line = %login.line, "too many failed logins waiting to be taken back; this one is left as it is");
        return;
    }
    if job.waits() && q.jobs.iter().filter(|j| j.waits()).count() >= MAX_WAITING {
        tracing::debug!(line = %login.line, "too many take-backs waiting for answers; undoing without waiting");
        for step in &mut job.steps {
            step.landed = give_up_waiting(std::mem::replace(&mut step.landed, Landed::Maybe));
        }
    }
    q.jobs.push_back(job);
    q.unfinished += 1;
    if !q.worker {
        let spawned = std::thread::Builder::new().name("utmps-take-back".into()).spawn(work);
        match spawned {
            Ok(_) => q.worker = true,
            // The next take-back queued tries again.
            Err(e) => tracing::warn!(error = %e, "could not start the take-back thread"),
        }
    }
}

/// Learns the answers the queued take-backs wait for, and so closes their
/// connections. Those connections hold daemon slots (utmpd serves 40 at
/// once): while they are open, the undo of the take-back before them may
/// never be served. Learning an answer early changes nothing else: each undo
/// still follows its own write.
fn settle_queued() {
    // Only the worker takes jobs out of the queue, so the indices hold while
    // the answers are awaited without the lock; jobs queued meanwhile go after.
    let waiting: Vec<(usize, usize, Landed, Deadline)> = queue()
        .jobs
        .iter_mut()
        .enumerate()
        .flat_map(|(i, job)| {
            let until = job.wait_until;
            job.steps
                .iter_mut()
                .enumerate()
                .filter(|(_, step)| step.waits())
                .map(move |(k, step)| (i, k, take_wait(&mut step.landed), until))
        })
        .collect();
    if waiting.is_empty() {
        return;
    }
    tracing::debug!(count = waiting.len(), "learning the answers queued take-backs wait for");
    let settled: Vec<(usize, usize, Landed)> =
        waiting.into_iter().map(|(i, k, landed, until)| (i, k, settled(landed, until))).collect();
    let mut q = queue();
    for (i, k, landed) in settled {
        if let Some(step) = q.jobs.get_mut(i).and_then(|job| job.steps.get_mut(k)) {
            step.landed = landed;
        }
    }
}

/// The wait in `landed`, leaving [`Landed::Maybe`] in its place (the
/// conservative answer) until it is settled.
fn take_wait(landed: &mut Landed) -> Landed {
    std::mem::replace(landed, Landed::Maybe)
}

fn settled(landed: Landed, until: Deadline) -> Landed {
    match landed.settle(until) {
        true => Landed::Maybe,
        false => Landed::No,
    }
}

fn give_up_waiting(landed: Landed) -> Landed {
    match landed {
        Landed::Later(_) => Landed::Maybe,
        other => other,
    }
}

fn work() {
    loop {
        let job = {
            let mut q = queue();
            match q.jobs.pop_front() {
                Some(job) => job,
                None => {
                    q.worker = false;
                    return;
                }
            }
        };
        // A panic in a job must not leave the queue waiting for a worker that
        // is gone: the guard counts the job finished and lets a new worker start.
        let guard = Finished;
        job.run();
        drop(guard);
    }
}

/// Counts one job finished when dropped, also while unwinding.
struct Finished;

impl Drop for Finished {
    fn drop(&mut self) {
        let mut q = queue();
        q.unfinished = q.unfinished.saturating_sub(1);
        if std::thread::panicking() {
            q.worker = false;
        }
        drop(q);
        FINISHED.notify_all();
    }
}

/// Waits until every take-back of this process has finished, or `timeout`
/// passed: true when none is left.
pub(crate) fn wait_all(timeout: Duration) -> bool {
    let deadline = Deadline::after(timeout);
    let mut q = queue();
    while q.unfinished > 0 {
        let left = deadline.remaining();
        if left.is_zero() {
            return false;
        }
        q = FINISHED.wait_timeout(q, left).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
    }
    true
}
