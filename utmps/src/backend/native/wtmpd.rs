//! wtmpd: one `+` request per connection, never retried.

use std::path::Path;
use std::time::Instant;

use super::Call;
use crate::error::{ErrorKind, PermissionRule, Result};
use crate::layout::{Layout, UTMPS_RECORD_SIZE};
use crate::record::Record;

pub(super) fn append(endpoint: &Path, rec: &Record, deadline: Instant) -> Result<()> {
    let call = Call::new("wtmp append", endpoint, PermissionRule::WtmpdUser, deadline);
    let mut request = [0u8; 1 + UTMPS_RECORD_SIZE];
    request[0] = b'+';
    Layout::Utmps.encode_into(rec, &mut request[1..])?;
    let conn = call.connect()?;
    // A request that was not sent whole is a short record, which wtmpd drops
    // without writing: failing here is an ordinary error.
    conn.send_all(&request, deadline).map_err(|e| call.io(e))?;
    let mut status = [0u8; 1];
    match conn.recv_exact(&mut status, deadline) {
        Ok(()) => call.ok(status[0]),
        Err(e) => {
            let detail = "the record was sent but no status came back; it may have been appended and is not sent again";
            Err(call.io(e).with_kind(ErrorKind::OutcomeUnknown).with_detail(detail))
        }
    }
}
