//! The pure-Rust client of skarnet's utmps daemons. Each operation opens its own
//! connection and closes it when done: the superserver serves only 40 clients at
//! once and utmpd has no idle timeout, so a held connection could starve others.
//! Every step is bounded by the operation's deadline (see [`crate::sys::socket`]).

mod utmpd;
mod wtmpd;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{Backend, BackendKind, Call, Failed, Pending, PreparedAppend, StartedPut};
use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::record::Record;
use crate::sys::deadline::Deadline;
use crate::sys::socket::Conn;

/// How many `e` requests a utmp read keeps in flight. The answers to them (at
/// most 128 x 401 bytes) fit the socket buffers, so the daemon never blocks on
/// its write while this client is sending.
pub const READ_WINDOW: usize = 128;

#[derive(Debug)]
pub(crate) struct NativeBackend {
    utmpd: PathBuf,
    wtmpd: PathBuf,
}

impl NativeBackend {
    pub(crate) fn new(utmpd: &Path, wtmpd: &Path) -> NativeBackend {
        NativeBackend { utmpd: utmpd.to_path_buf(), wtmpd: wtmpd.to_path_buf() }
    }
}

impl Backend for NativeBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Native
    }

    fn utmp_endpoint(&self) -> &Path {
        &self.utmpd
    }

    fn wtmp_endpoint(&self) -> &Path {
        &self.wtmpd
    }

    fn utmp_records(&self, deadline: Deadline) -> Result<Vec<Record>> {
        utmpd::read_all(&self.utmpd, READ_WINDOW, deadline)
    }

    fn utmp_put(&self, rec: &Record, deadline: Deadline) -> Result<()> {
        utmpd::put(&self.utmpd, rec, deadline).map_err(|f| f.error)
    }

    fn wtmp_append(&self, rec: &Record, deadline: Deadline) -> Result<()> {
        wtmpd::append(&self.wtmpd, rec, deadline).map_err(|f| f.error)
    }

    fn utmp_put_tracked(&self, rec: &Record, deadline: Deadline) -> Result<(), Failed> {
        utmpd::put(&self.utmpd, rec, deadline)
    }

    fn wtmp_append_tracked(&self, rec: &Record, deadline: Deadline) -> Result<(), Failed> {
        wtmpd::append(&self.wtmpd, rec, deadline)
    }

    fn wtmp_prepare(&self, _: Deadline) -> Box<dyn PreparedAppend + '_> {
        Box::new(wtmpd::prepare(&self.wtmpd))
    }

    fn utmp_put_start(&self, rec: &Record, deadline: Deadline) -> Option<Box<dyn StartedPut + '_>> {
        match utmpd::send_put(&self.utmpd, rec, deadline, utmpd::Room::Now) {
            // The listener's backlog is full: waiting for room here would
            // leave the caller's other writes no time, and waiting after them
            // could leave the put none. The caller's fallback waits for room
            // beside the other writes (a thread).
            Err(f) if f.error.kind() == ErrorKind::TimedOut => None,
            started => Some(Box::new(started)),
        }
    }

    fn probe_utmp(&self, deadline: Deadline) -> Result<()> {
        utmpd::probe(&self.utmpd, deadline)
    }
}

/// Reads utmp through utmpd at `utmpd` with up to `window` requests in flight:
/// [`READ_WINDOW`] is what the backend uses, 1 is one request at a time. For
/// benchmarks and tests that compare the two.
///
/// # Errors
/// As any utmp read of the native backend.
pub fn read_utmp_windowed(utmpd: &Path, window: usize, deadline: Instant) -> Result<Vec<Record>> {
    utmpd::read_all(utmpd, window, deadline.into())
}

/// A put sent (or refused before anything was sent), its answer still to read.
impl StartedPut for Result<utmpd::SentPut<'_>, Failed> {
    fn finish(self: Box<Self>) -> Result<()> {
        (*self).and_then(utmpd::SentPut::answer).map_err(|f| f.error)
    }
}

/// A connection whose last `left` status bytes have not come yet; the last one
/// is the answer that says whether the record was written.
#[derive(Debug)]
struct AwaitStatus {
    conn: Conn,
    left: usize,
}

impl AwaitStatus {
    fn new(conn: Conn, left: usize) -> AwaitStatus {
        AwaitStatus { conn, left: left.max(1) }
    }
}

impl Pending for AwaitStatus {
    fn landed(self: Box<Self>, deadline: Deadline) -> bool {
        let mut status = [0u8; 1];
        for _ in 0..self.left {
            // The end of the connection: that daemon process finished or died,
            // and nothing it did can come after this point. No answer by the
            // deadline: nothing more can be learnt. Either way it may be written.
            if let Err(e) = self.conn.recv_exact(&mut status, deadline) {
                tracing::trace!(error = %e, "no late status: counted as written");
                return true;
            }
        }
        tracing::trace!(status = status[0], "late status");
        status[0] == 0
    }
}

/// A call to a daemon: what goes wrong becomes this crate's errors.
impl Call<'_> {
    fn connect(&self) -> Result<Conn> {
        Conn::connect(self.endpoint, self.deadline).map_err(|e| self.io(e))
    }

    /// A socket-level failure. EACCES here comes from the socket file's mode, not
    /// from a daemon rule.
    fn io(&self, err: io::Error) -> Error {
        if err.raw_os_error() == Some(libc::ETIMEDOUT) {
            return Error::timed_out(
                self.op,
                self.endpoint,
                self.deadline.instant().saturating_duration_since(self.started),
            );
        }
        // A daemon that exits with requests unread resets the connection
        // instead of closing it: the same early end as an EOF.
        let early_end = err.kind() == io::ErrorKind::UnexpectedEof
            || matches!(err.raw_os_error(), Some(libc::ECONNRESET | libc::EPIPE));
        let e = Error::from_io(self.op, self.endpoint, err, PermissionRule::File);
        if early_end {
            return e
                .with_kind(ErrorKind::Protocol)
                .with_detail("the daemon closed the connection before its answer was complete");
        }
        e
    }

    /// A non-zero status byte from the daemon.
    fn status(&self, errno: u8) -> Error {
        let e = Error::from_errno(self.op, self.endpoint, i32::from(errno), self.rule);
        if errno == crate::protocol::EPIPE && self.rule == PermissionRule::UtmpdGroup {
            // utmpd answers EPIPE when it meets a utmp file whose size is not a
            // whole number of records, after deleting that file.
            return e.with_detail("utmpd found a torn utmp file (size not a multiple of 400 bytes) and deleted it");
        }
        e
    }

    /// Checks a status byte that must be 0.
    fn ok(&self, status: u8) -> Result<()> {
        match status {
            0 => Ok(()),
            errno => Err(self.status(errno)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::time::Duration;

    use super::*;
    use crate::record::{Field, RecordType};

    /// A listener that takes one connection into its queue and no more.
    fn listener_with_no_room(path: &Path) -> (UnixListener, UnixStream) {
        let listener = UnixListener::bind(path).unwrap();
        // SAFETY: a listening socket this test owns; listen(2) only changes its backlog.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let queued = UnixStream::connect(path).unwrap();
        // The queue is full now: a connect that may not wait fails at once.
        let attempt = Conn::connect(path, Deadline::after(Duration::ZERO));
        assert_eq!(attempt.map(drop).unwrap_err().raw_os_error(), Some(libc::ETIMEDOUT), "the queue has room");
        (listener, queued)
    }

    #[test]
    fn a_put_is_not_started_while_utmpd_has_no_room() {
        let dir = tempfile::tempdir().unwrap();
        let utmpd = dir.path().join("utmpd.sock");
        let (_listener, _queued) = listener_with_no_room(&utmpd);
        let backend = NativeBackend::new(&utmpd, &dir.path().join("wtmpd.sock"));
        let rec =
            Record { record_type: RecordType::DEAD_PROCESS, line: Field::truncated(b"pts/1"), ..Record::default() };
        let limit = Duration::from_millis(300);
        let deadline = Deadline::after(limit);

        let started = Instant::now();
        let put = backend.utmp_put_start(&rec, deadline);
        assert!(put.is_none(), "a put started with no room at the listener");
        assert!(started.elapsed() < limit / 3, "the start waited for room: {:?}", started.elapsed());
    }
}
