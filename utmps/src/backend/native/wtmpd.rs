//! wtmpd: one `+` request per connection, never retried.

use std::path::Path;
use std::time::{Duration, Instant};

use super::AwaitStatus;
use crate::backend::Call;
use crate::backend::{Failed, Landed, PreparedAppend};
use crate::error::{ErrorKind, PermissionRule, Result};
use crate::layout::Layout;
use crate::protocol::{APPEND, RECORD_SIZE};
use crate::record::Record;
use crate::sys::deadline::Deadline;
use crate::sys::socket::Conn;

/// How old a connection set up ahead may be when its request goes out. wtmpd
/// gives a connection 30 s from its start for the whole request, then exits.
const PREPARED_MAX_AGE: Duration = Duration::from_secs(20);

/// Appends one record. On failure, says whether it may still land: a request
/// whose status has not come by the deadline keeps its connection, so that the
/// caller can learn the outcome before appending anything that must follow it.
pub(super) fn append(endpoint: &Path, rec: &Record, deadline: Deadline) -> Result<(), Failed> {
    let call = Call::new("wtmp append", endpoint, PermissionRule::WtmpdUser, deadline);
    let request = request(rec)?;
    let conn = call.connect().map_err(Failed::not_written)?;
    send(&call, conn, &request)
}

fn request(rec: &Record) -> Result<[u8; 1 + RECORD_SIZE], Failed> {
    let mut request = [0u8; 1 + RECORD_SIZE];
    request[0] = APPEND;
    Layout::Utmps.encode_into(rec, &mut request[1..]).map_err(Failed::not_written)?;
    Ok(request)
}

/// Sends the request on `conn` and reads its status.
fn send(call: &Call<'_>, conn: Conn, request: &[u8]) -> Result<(), Failed> {
    // A request that was not sent whole is a short record, which wtmpd drops
    // without writing: failing here is an ordinary error.
    conn.send_all(request, call.deadline).map_err(|e| Failed::not_written(call.io(e)))?;
    let mut status = [0u8; 1];
    let got = conn.recv_exact(&mut status, call.deadline);
    match got {
        Ok(()) => call.ok(status[0]).map_err(Failed::not_written),
        Err(e) => {
            let detail = "the record was sent but no status came back; it may have been appended and is not sent again";
            let landed = match e.raw_os_error() == Some(libc::ETIMEDOUT) {
                true => Landed::Later(Box::new(AwaitStatus::new(conn, 1))),
                false => Landed::Maybe,
            };
            Err(Failed { error: call.io(e).with_kind(ErrorKind::OutcomeUnknown).with_detail(detail), landed })
        }
    }
}

/// A wtmpd connection made ahead of its request, or, when that connect did not
/// succeed at once, none: the append then connects itself, within its own
/// deadline, and reports what goes wrong there.
#[derive(Debug)]
pub(super) struct Prepared<'a> {
    endpoint: &'a Path,
    conn: Option<(Conn, Instant)>,
}

/// Connects to wtmpd without waiting: a listener with a full backlog is not
/// waited for here, since that wait would come before the caller's own work.
pub(super) fn prepare(endpoint: &Path) -> Prepared<'_> {
    let conn = match Conn::connect(endpoint, Deadline::after(Duration::ZERO)) {
        Ok(conn) => Some((conn, Instant::now())),
        Err(e) => {
            tracing::trace!(endpoint = %endpoint.display(), error = %e, "wtmpd not connected ahead");
            None
        }
    };
    Prepared { endpoint, conn }
}

/// True while the daemon behind `conn` is still waiting for its request: it
/// has neither closed the connection (an idle limit) nor sent anything.
fn still_waiting(conn: &Conn) -> bool {
    let mut byte = [0u8; 1];
    let waiting = conn.recv_some(&mut byte, Deadline::after(Duration::ZERO));
    matches!(waiting, Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT))
}

impl PreparedAppend for Prepared<'_> {
    fn append_tracked(self: Box<Self>, rec: &Record, deadline: Deadline) -> Result<(), Failed> {
        let fresh = self.conn.filter(|(conn, at)| at.elapsed() < PREPARED_MAX_AGE && still_waiting(conn));
        match fresh {
            Some((conn, _)) => {
                let call = Call::new("wtmp append", self.endpoint, PermissionRule::WtmpdUser, deadline);
                send(&call, conn, &request(rec)?)
            }
            None => append(self.endpoint, rec, deadline),
        }
    }
}
