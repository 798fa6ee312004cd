//! utmpd conversations. Each one starts with `r`: a put whose cursor has passed
//! the slot it should overwrite would append a duplicate instead. The `r` is sent
//! together with the request that follows it; utmpd answers strictly in order.

use std::path::Path;

use super::AwaitStatus;
use crate::backend::Call;
use crate::backend::{too_many_entries, Failed, Landed, MAX_UTMP_ENTRIES};
use crate::error::{ErrorKind, PermissionRule, Result};
use crate::layout::Layout;
use crate::protocol::{parse_record_answer, Answer, ESRCH, NEXT, PUT, RECORD_SIZE, REWIND};
use crate::record::Record;
use crate::sys::deadline::Deadline;
use crate::sys::socket::Conn;

/// Answers as they arrive on one connection, parsed strictly in order.
struct Answers<'c> {
    call: &'c Call<'c>,
    conn: &'c Conn,
    buf: Vec<u8>,
    start: usize,
}

impl<'c> Answers<'c> {
    fn new(call: &'c Call<'c>, conn: &'c Conn) -> Answers<'c> {
        Answers { call, conn, buf: Vec::with_capacity(16 * 1024), start: 0 }
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Receives more bytes; the end of the stream here is a protocol error.
    fn fill(&mut self) -> Result<()> {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + 16 * 1024, 0);
        let got = self.conn.recv_some(&mut self.buf[old..], self.call.deadline);
        let n = *got.as_ref().unwrap_or(&0);
        self.buf.truncate(old + n);
        match got {
            Ok(0) => Err(self.call.io(std::io::ErrorKind::UnexpectedEof.into())),
            Ok(_) => Ok(()),
            Err(e) => Err(self.call.io(e)),
        }
    }

    /// The answer to `r` or `E`: one status byte.
    fn status(&mut self) -> Result<u8> {
        while self.pending().is_empty() {
            self.fill()?;
        }
        let status = self.buf[self.start];
        self.start += 1;
        Ok(status)
    }

    /// The answer to `e`, `i` or `l`.
    fn record(&mut self) -> Result<Answer> {
        loop {
            if let Some((answer, used)) = parse_record_answer(self.pending()) {
                self.start += used;
                return Ok(answer);
            }
            self.fill()?;
        }
    }
}

fn send(call: &Call<'_>, conn: &Conn, bytes: &[u8]) -> Result<()> {
    conn.send_all(bytes, call.deadline).map_err(|e| call.io(e))
}

/// Every record, keeping up to `window` `e` requests in flight; an answer that
/// goes past [`MAX_UTMP_ENTRIES`] records is cut off with an error.
pub(super) fn read_all(endpoint: &Path, window: usize, deadline: Deadline) -> Result<Vec<Record>> {
    let call = Call::new("utmp read", endpoint, PermissionRule::UtmpdGroup, deadline);
    // More in flight than READ_WINDOW could fill the socket buffers both ways.
    let window = window.clamp(1, super::READ_WINDOW);
    let mut requests = vec![NEXT; window + 1];
    requests[0] = REWIND;
    let conn = call.connect()?;
    send(&call, &conn, &requests)?;
    let mut answers = Answers::new(&call, &conn);
    call.ok(answers.status()?)?;
    let mut in_flight = window;
    let mut at_end = false;
    let mut records = Vec::new();
    loop {
        // Top the window up while half of it is still queued, so the daemon
        // always has work and never waits for this client.
        if !at_end && in_flight <= window / 2 {
            send(&call, &conn, &requests[1..=window - in_flight])?;
            in_flight = window;
        }
        if in_flight == 0 {
            return Ok(records);
        }
        let answer = match answers.record() {
            Ok(answer) => answer,
            // The snapshot is complete; draining the rest only spares the
            // daemon a failed write, so a daemon gone by now changes nothing.
            Err(_) if at_end => return Ok(records),
            Err(e) => return Err(e),
        };
        in_flight -= 1;
        match answer {
            // After the end, utmpd answers ESRCH to the requests still queued,
            // unless another client appended meanwhile: such records belong to a
            // later snapshot and are left out.
            Answer::Record(_) if !at_end && records.len() == MAX_UTMP_ENTRIES => {
                return Err(too_many_entries(endpoint));
            }
            Answer::Record(rec) if !at_end => records.push(rec),
            Answer::Record(_) => {}
            Answer::Status(ESRCH) => at_end = true,
            Answer::Status(errno) => return Err(call.status(errno)),
        }
    }
}

/// Rewinds, then puts: utmpd overwrites the slot its matching rule finds. On
/// failure, says whether the record may still land: a put whose status has not
/// come by the deadline keeps its connection, so that the caller can learn the
/// outcome before undoing it (a second connection could be served first).
pub(super) fn put(endpoint: &Path, rec: &Record, deadline: Deadline) -> Result<(), Failed> {
    send_put(endpoint, rec, deadline, Room::WaitForIt)?.answer()
}

/// What a put does when utmpd's listener has no room for a connection yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Room {
    /// Waits for it until the deadline.
    WaitForIt,
    /// Fails at once with `TimedOut`, having sent nothing.
    Now,
}

/// A put sent whole to utmpd, its answer not read yet.
#[derive(Debug)]
pub(super) struct SentPut<'a> {
    call: Call<'a>,
    conn: Conn,
}

/// Connects and sends the `r` and `E` of a put without waiting for utmpd,
/// whose superserver starts a daemon for the connection meanwhile. Failing
/// here, nothing was written.
pub(super) fn send_put<'a>(
    endpoint: &'a Path,
    rec: &Record,
    deadline: Deadline,
    room: Room,
) -> Result<SentPut<'a>, Failed> {
    let call = Call::new("utmp put", endpoint, PermissionRule::UtmpdGroup, deadline);
    let mut request = [0u8; 2 + RECORD_SIZE];
    request[0] = REWIND;
    request[1] = PUT;
    Layout::Utmps.encode_into(rec, &mut request[2..]).map_err(Failed::not_written)?;
    let conn = match room {
        Room::WaitForIt => call.connect(),
        Room::Now => Conn::connect(endpoint, Deadline::after(std::time::Duration::ZERO)).map_err(|e| call.io(e)),
    };
    let conn = conn.map_err(Failed::not_written)?;
    // A request not sent whole is a short payload, which utmpd drops unwritten.
    send(&call, &conn, &request).map_err(Failed::not_written)?;
    Ok(SentPut { call, conn })
}

impl SentPut<'_> {
    /// Reads the statuses of the `r` and the `E`, until the put's deadline.
    pub(super) fn answer(self) -> Result<(), Failed> {
        let SentPut { call, conn } = self;
        // The statuses of `r` and `E`, as far as they came.
        let (rewind, stored) = {
            let mut answers = Answers::new(&call, &conn);
            let rewind = answers.status();
            let stored = match rewind {
                Ok(_) => Some(answers.status()),
                Err(_) => None,
            };
            (rewind, stored)
        };
        let still_to_come = |error: &crate::error::Error, left: usize, conn: Conn| match error.kind() {
            ErrorKind::TimedOut => Landed::Later(Box::new(AwaitStatus::new(conn, left))),
            // The daemon ended the connection: it finished or died, nothing more will come.
            _ => Landed::Maybe,
        };
        match (rewind, stored) {
            (Err(error), _) => {
                let landed = still_to_come(&error, 2, conn);
                Err(Failed { error, landed })
            }
            (Ok(0), Some(Ok(0))) => Ok(()),
            (Ok(0), Some(Ok(errno))) => Err(Failed::not_written(call.status(errno))),
            (Ok(0), Some(Err(error))) => {
                let landed = still_to_come(&error, 1, conn);
                Err(Failed { error, landed })
            }
            (Ok(errno), stored) => {
                let landed = match stored {
                    Some(Ok(0)) => Landed::Maybe,
                    Some(Ok(_)) => Landed::No,
                    Some(Err(e)) => still_to_come(&e, 1, conn),
                    None => Landed::Maybe,
                };
                Err(Failed { error: call.status(errno), landed })
            }
        }
    }
}

/// Proves that utmpd answers and can read its file, without writing.
pub(super) fn probe(endpoint: &Path, deadline: Deadline) -> Result<()> {
    let call = Call::new("probe", endpoint, PermissionRule::UtmpdGroup, deadline);
    let conn = call.connect()?;
    send(&call, &conn, &[REWIND, NEXT])?;
    let mut answers = Answers::new(&call, &conn);
    call.ok(answers.status()?)?;
    match answers.record()? {
        Answer::Record(_) | Answer::Status(ESRCH) => Ok(()),
        Answer::Status(errno) => Err(call.status(errno)),
    }
}
