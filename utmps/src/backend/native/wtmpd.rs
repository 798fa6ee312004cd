//! wtmpd: one `+` request per connection, never retried.

use std::path::Path;

use super::{AwaitStatus, Call};
use crate::backend::{Failed, Landed};
use crate::error::{ErrorKind, PermissionRule, Result};
use crate::layout::Layout;
use crate::protocol::{APPEND, RECORD_SIZE};
use crate::record::Record;
use crate::sys::deadline::Deadline;

/// Appends one record. On failure, says whether it may still land: a request
/// whose status has not come by the deadline keeps its connection, so that the
/// caller can learn the outcome before appending anything that must follow it.
pub(super) fn append(endpoint: &Path, rec: &Record, deadline: Deadline) -> Result<(), Failed> {
    let call = Call::new("wtmp append", endpoint, PermissionRule::WtmpdUser, deadline);
    let mut request = [0u8; 1 + RECORD_SIZE];
    request[0] = APPEND;
    Layout::Utmps.encode_into(rec, &mut request[1..]).map_err(Failed::not_written)?;
    let conn = call.connect().map_err(Failed::not_written)?;
    // A request that was not sent whole is a short record, which wtmpd drops
    // without writing: failing here is an ordinary error.
    conn.send_all(&request, call.deadline).map_err(|e| Failed::not_written(call.io(e)))?;
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
