//! Taking back a login that failed half way, off the caller's path.
//!
//! Undone, latest first: the wtmpdb rows of the login are deleted (an
//! insert either committed or did not, so there is nothing to wait for);
//! then the utmp entry is ended and the wtmp login gets its logout, as below.
//!
//! A failed open must return within its deadline, yet what it may have written
//! must still be undone, and never before it lands. What can be undone at once
//! is undone on the caller's path while the open's deadline lasts; the rest
//! runs in the background: the utmps superserver runs
//! one daemon process per connection, and two of them waiting on the same file
//! lock may be served in either order, so an undo sent on a new connection at
//! once could be applied before the write it undoes. A take-back therefore
//! first waits (on the original connection, for at most [`WAIT_LIMIT`]) for the
//! answer that says whether the write happened, and only then undoes it.
//! The undo itself is not bound by the failed open's deadline (which may have
//! been near zero): it is tried again, with pauses, while the daemon is busy,
//! full or away, until it is done or [`WAIT_LIMIT`] has passed. Undone in the
//! background, the utmp entry is ended only while utmp still holds that login:
//! a newer login on the same line, made while the undo waited, stays live.
//!
//! One worker thread per process runs the queued take-backs in order; it starts
//! when the first one is queued and ends when the queue is empty. Take-backs
//! still queued when the process exits are lost: see
//! [`Accounting::wait_for_take_backs`].

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::accounting::Accounting;
use crate::backend::{Backend, Landed};
use crate::error::ErrorKind;
use crate::record::{Exit, Record};
use crate::store::Mark;
use crate::sys::deadline::Deadline;

/// A wtmpdb login row to delete.
#[cfg(feature = "wtmpdb")]
type Row = (crate::wtmpdb::Wtmpdb, crate::wtmpdb::RowId);
#[cfg(not(feature = "wtmpdb"))]
type Row = std::convert::Infallible;

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

/// Undo of one failed open: its wtmpdb rows are deleted, the utmp entry
/// becomes DEAD_PROCESS and, where the wtmp login record landed, a logout
/// follows it.
#[derive(Debug)]
struct Job {
    acct: Accounting,
    login: Record,
    rows: Vec<Row>,
    utmp: Landed,
    wtmp: Landed,
    /// When waiting for answers and trying undos again ends.
    wait_until: Deadline,
}

impl Job {
    fn waits(&self) -> bool {
        matches!(self.utmp, Landed::Later(_)) || matches!(self.wtmp, Landed::Later(_))
    }

    fn run(self) {
        let Job { acct, login, rows, utmp, wtmp, wait_until } = self;
        let retry = Retry { login: &login, per_attempt: acct.timeout().max(ATTEMPT), until: wait_until };
        for row in &rows {
            retry.run("delete the wtmpdb row of a failed login", |deadline| delete(row, deadline));
        }
        let undo = login.dead(Exit::default());
        let stores = acct.store_set();
        if utmp.settle(wait_until) {
            if let Some(live) = &stores.live {
                // Ending an entry twice ends it once: a put is safe to repeat.
                retry.run("take back the utmp entry of a failed login", |deadline| {
                    match still_holds(&**live, &login, deadline) {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::debug!(line = %login.line, "utmp no longer holds the failed login; nothing to take back");
                            return Ok(());
                        }
                        // The put does not depend on the read: a utmp too large
                        // to read, say, is still written.
                        Err(error) => {
                            tracing::debug!(line = %login.line, %error, "utmp not read before the take-back; ended anyway");
                        }
                    }
                    live.utmp_put(&undo, deadline)
                });
            }
        }
        // A logout with no login before it is ignored by `last`; one before
        // its login would leave the login dangling, hence the wait.
        if wtmp.settle(wait_until) {
            if let Some(backend) = stores.wtmp() {
                retry.run("close the wtmp login of a failed login", |deadline| {
                    let Err(failed) = backend.wtmp_append_tracked(&undo, deadline) else {
                        return Ok(());
                    };
                    // Sent, and perhaps appended: sending it again could log
                    // the line out twice.
                    match failed.landed.settle(deadline) {
                        true => {
                            tracing::debug!(line = %login.line, error = %failed.error, "wtmp logout may have landed; not sent again");
                            Ok(())
                        }
                        false => Err(failed.error),
                    }
                });
            }
        }
        tracing::debug!(line = %login.line, "failed login taken back");
    }
}

/// Whether utmp still holds `login` live: its slot (line and id) with its pid
/// and time. A late undo ends only that entry: a newer login on the line,
/// made while the undo waited, is left alone. The read and the put are two
/// requests, so a login that lands between them is still ended; a read that
/// fails does not stop the put.
fn still_holds(live: &dyn Backend, login: &Record, deadline: Deadline) -> crate::Result<bool> {
    let same = |r: &Record| {
        r.is_user_process()
            && (r.line, r.id, r.pid, r.tv_sec, r.tv_usec)
                == (login.line, login.id, login.pid, login.tv_sec, login.tv_usec)
    };
    Ok(live.utmp_records(deadline)?.iter().any(same))
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
    fn run(&self, what: &'static str, mut attempt: impl FnMut(Deadline) -> crate::Result<()>) {
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
struct Queue {
    /// The process the queue belongs to: a forked child starts afresh, since
    /// the worker thread did not follow it.
    owner: u32,
    jobs: VecDeque<Job>,
    /// Queued or running.
    unfinished: usize,
    worker: bool,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue { owner: 0, jobs: VecDeque::new(), unfinished: 0, worker: false });
static FINISHED: Condvar = Condvar::new();

fn queue() -> MutexGuard<'static, Queue> {
    let mut q = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
    let me = std::process::id();
    if q.owner != me {
        // The parent's take-backs are the parent's; our copies of their
        // descriptors are closed.
        *q = Queue { owner: me, ..Queue::default() };
    }
    q
}

/// Deletes one wtmpdb login row; a row already gone is no error.
#[cfg(feature = "wtmpdb")]
fn delete(row: &Row, deadline: Deadline) -> crate::Result<()> {
    row.0.delete(row.1, deadline.instant()).map(drop)
}

#[cfg(not(feature = "wtmpdb"))]
fn delete(row: &Row, _: Deadline) -> crate::Result<()> {
    match *row {}
}

/// The wtmpdb rows among `marks` (per history store of `acct`), latest first.
fn rows(acct: &Accounting, marks: &[Mark]) -> Vec<Row> {
    #[cfg(feature = "wtmpdb")]
    {
        use crate::store::History;
        let history = &acct.store_set().history;
        let mut rows: Vec<Row> = history
            .iter()
            .zip(marks)
            .filter_map(|pair| match pair {
                (History::Wtmpdb(db), Mark::Wtmpdb(id)) => Some((db.clone(), *id)),
                _ => None,
            })
            .collect();
        rows.reverse();
        rows
    }
    #[cfg(not(feature = "wtmpdb"))]
    {
        let _ = (acct, marks);
        Vec::new()
    }
}

/// Takes back a failed open of `login`, whose history stores returned
/// `marks` so far: at once, on the caller's path, what needs no waiting and
/// fits before `deadline` (the open's own); the rest is queued for the
/// worker, and this returns by the deadline.
pub(crate) fn undo(
    acct: &Accounting,
    login: &Record,
    mut utmp: Landed,
    mut wtmp: Landed,
    marks: &[Mark],
    deadline: Deadline,
) {
    let mut left = Vec::new();
    for row in rows(acct, marks) {
        let done = !deadline.expired() && delete(&row, deadline).is_ok();
        if !done {
            tracing::debug!(line = %login.line, "wtmpdb take-back left to the background");
            left.push(row);
        }
    }
    let stores = acct.store_set();
    // Undone here, a process that exits right after the failed open (a forked
    // child, say) loses nothing; only waiting must leave the caller's path.
    if let (Some(live), Landed::Maybe) = (&stores.live, &utmp) {
        if !deadline.expired() {
            match live.utmp_put(&login.dead(Exit::default()), deadline) {
                Ok(()) => utmp = Landed::No,
                Err(e) => tracing::debug!(line = %login.line, error = %e, "take-back left to the background"),
            }
        }
    }
    if let (Some(backend), Landed::No, Landed::Maybe) = (stores.wtmp(), &utmp, &wtmp) {
        if !deadline.expired() {
            match backend.wtmp_append_tracked(&login.dead(Exit::default()), deadline) {
                Ok(()) => wtmp = Landed::No,
                // A logout that may have been appended is not sent twice.
                Err(f) if !matches!(f.landed, Landed::No) => wtmp = Landed::No,
                Err(f) => tracing::debug!(line = %login.line, error = %f.error, "wtmp logout left to the background"),
            }
        }
    }
    schedule(acct, login, left, utmp, wtmp);
}

/// Queues the take-back of a failed open of `login`; returns at once.
fn schedule(acct: &Accounting, login: &Record, rows: Vec<Row>, utmp: Landed, wtmp: Landed) {
    if rows.is_empty() && matches!((&utmp, &wtmp), (Landed::No, Landed::No)) {
        return;
    }
    let mut job = Job { acct: acct.clone(), login: *login, rows, utmp, wtmp, wait_until: Deadline::after(WAIT_LIMIT) };
    let mut q = queue();
    if q.unfinished >= MAX_QUEUED {
        drop(q);
        tracing::warn!(line = %login.line, "too many failed logins waiting to be taken back; this one is left as it is");
        return;
    }
    if job.waits() && q.jobs.iter().filter(|j| j.waits()).count() >= MAX_WAITING {
        tracing::debug!(line = %login.line, "too many take-backs waiting for answers; undoing without waiting");
        job.utmp = give_up_waiting(job.utmp);
        job.wtmp = give_up_waiting(job.wtmp);
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
    let waiting: Vec<(usize, Landed, Landed, Deadline)> = queue()
        .jobs
        .iter_mut()
        .enumerate()
        .filter(|(_, job)| job.waits())
        .map(|(i, job)| (i, take_wait(&mut job.utmp), take_wait(&mut job.wtmp), job.wait_until))
        .collect();
    if waiting.is_empty() {
        return;
    }
    tracing::debug!(count = waiting.len(), "learning the answers queued take-backs wait for");
    let settled: Vec<(usize, Landed, Landed)> =
        waiting.into_iter().map(|(i, utmp, wtmp, until)| (i, settled(utmp, until), settled(wtmp, until))).collect();
    let mut q = queue();
    for (i, utmp, wtmp) in settled {
        if let Some(job) = q.jobs.get_mut(i) {
            job.utmp = utmp;
            job.wtmp = wtmp;
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
