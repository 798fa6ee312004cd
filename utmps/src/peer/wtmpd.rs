//! wtmpd: one `+` request per connection, then the connection closes.

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::AtomicBool;

use super::files;
use super::ids::Creds;
use super::wire::Wire;
use super::Shared;
use crate::protocol::{status_of, wtmpd_user, RawRecord, APPEND, EPERM, OK, RECORD_SIZE};
use crate::sys::deadline::Deadline;
use crate::sys::users::uid_of;

/// Serves the one request of a connection. A first byte other than `+`, a short
/// record, or nothing within the idle timeout: closed without an answer.
pub(super) fn serve(mut wire: Wire, creds: Creds, shared: &Shared, stop: &AtomicBool) {
    let deadline = Deadline::after(shared.config.wtmpd_idle_timeout);
    if !matches!(wire.next_byte(Some(deadline)), Ok(Some(APPEND))) {
        return;
    }
    let mut rec = [0u8; RECORD_SIZE];
    if wire.read_exact(&mut rec, deadline).is_err() {
        return;
    }
    let mut in_flight = None;
    let status = match permitted(&rec, creds) {
        Ok(()) => {
            in_flight = shared.delay(true, stop);
            append(shared, &rec, stop)
        }
        Err(status) => status,
    };
    // Anything sent after the record is left unread: dropping the connection
    // then may reset it, as with the real daemon.
    let _ = wire.send(&[status]);
    drop(in_flight);
}

/// Root may append anything; anyone else only records whose user (cut to 31
/// bytes, as wtmpd cuts it for the lookup) is a user with the caller's uid.
fn permitted(rec: &RawRecord, creds: Creds) -> Result<(), u8> {
    if creds.euid == 0 {
        return Ok(());
    }
    match uid_of(wtmpd_user(rec)) {
        Ok(Some(uid)) if uid == creds.euid => Ok(()),
        Ok(_) => Err(EPERM),
        Err(errno) => Err(errno as u8),
    }
}

/// Appends under an exclusive lock; a short write is truncated back so that the
/// file only ever holds whole records.
fn append(shared: &Shared, rec: &RawRecord, stop: &AtomicBool) -> u8 {
    let _threads = shared.wtmp_lock.lock().unwrap_or_else(|p| p.into_inner());
    let file = match files::open_0644(&shared.wtmp_path, true) {
        Ok(f) => f,
        Err(e) => return status_of(&e),
    };
    let _locked = match files::lock(&file, true, stop) {
        Ok(l) => l,
        Err(e) => return status_of(&e),
    };
    match write_record(&file, rec) {
        Ok(()) => {
            let _ = file.sync_all();
            OK
        }
        Err(e) => status_of(&e),
    }
}

fn write_record(mut file: &File, rec: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < rec.len() {
        match file.write(&rec[written..]) {
            Ok(0) => return undo(file, written, io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return undo(file, written, e),
        }
    }
    Ok(())
}

fn undo(file: &File, written: usize, err: io::Error) -> io::Result<()> {
    if written > 0 {
        if let Ok(meta) = file.metadata() {
            let _ = file.set_len(meta.len().saturating_sub(written as u64));
        }
    }
    Err(err)
}
