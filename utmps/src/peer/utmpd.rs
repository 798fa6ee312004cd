//! utmpd: many requests per connection, each connection with its own cursor
//! (the offset of its own descriptor on `utmp`), answers strictly in order.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use super::files;
use super::ids::Creds;
use super::wire::Wire;
use super::Shared;
use crate::protocol::{self, RawRecord, EPERM, ESRCH, OK, RECORD_SIZE};
use crate::sys::deadline::Deadline;

const RECORD: i64 = RECORD_SIZE as i64;

struct Conversation<'a> {
    wire: Wire,
    creds: Creds,
    shared: &'a Shared,
    stop: &'a AtomicBool,
    /// Opened at the first request that needs it, then kept: a connection that
    /// outlives a deletion of the file keeps reading the old one, as the real
    /// daemon process does.
    file: Option<File>,
}

/// Serves one connection until the client closes, breaks the protocol, or the
/// peer stops. Every way out closes the connection without a further answer,
/// as the daemon does when it exits.
pub(super) fn serve(wire: Wire, creds: Creds, shared: &Shared, stop: &AtomicBool) {
    let mut conv = Conversation { wire, creds, shared, stop, file: None };
    let _ = conv.run();
}

impl Conversation<'_> {
    fn run(&mut self) -> io::Result<()> {
        // No idle timeout between requests: utmpd has none.
        while let Some(command) = self.wire.next_byte(None)? {
            let deadline = Deadline::after(self.shared.config.payload_timeout);
            match command {
                protocol::REWIND => self.rewind()?,
                protocol::NEXT => self.find(|_| true)?,
                protocol::FIND_ID => {
                    let mut req = [0u8; protocol::FIND_ID_PAYLOAD];
                    self.wire.read_exact(&mut req, deadline)?;
                    let (wanted, id) = protocol::parse_find_id(&req);
                    self.find(|rec| protocol::id_matches(wanted, &id, rec))?;
                }
                protocol::FIND_LINE => {
                    let mut line = [0u8; protocol::FIND_LINE_PAYLOAD];
                    self.wire.read_exact(&mut line, deadline)?;
                    self.find(|rec| protocol::line_matches(&line, rec))?;
                }
                protocol::PUT => {
                    let mut rec = [0u8; RECORD_SIZE];
                    self.wire.read_exact(&mut rec, deadline)?;
                    self.put(&rec)?;
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// The connection's file, opened (and created) on first use. A failure is
    /// answered with its errno and ends the connection.
    fn file(&mut self) -> io::Result<&File> {
        if self.file.is_none() {
            match files::open_0644(&self.shared.utmp_path, false) {
                Ok(f) => self.file = Some(f),
                Err(e) => {
                    let _ = self.wire.send_errno(&e);
                    return Err(e);
                }
            }
        }
        self.file.as_ref().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn rewind(&mut self) -> io::Result<()> {
        let mut file = self.file()?;
        match file.seek(SeekFrom::Start(0)) {
            Ok(_) => self.wire.send(&[OK]),
            Err(e) => self.wire.send_errno(&e),
        }
    }

    /// A torn file (or a failed read): the daemon deletes it, answers the errno
    /// (EPIPE for a torn tail) and exits.
    fn torn(&self, err: io::Error) -> io::Result<()> {
        let _ = std::fs::remove_file(&self.shared.utmp_path);
        let _ = self.wire.send_errno(&err);
        Err(err)
    }

    /// Searches forward from the cursor for a record that `pred` accepts.
    fn find(&mut self, pred: impl Fn(&RawRecord) -> bool) -> io::Result<()> {
        let shared = self.shared;
        let stop = self.stop;
        let file = self.file()?;
        let found = {
            let _threads = shared.utmp_lock.read().unwrap_or_else(|p| p.into_inner());
            let _locked = files::lock(file, false, stop)?;
            loop {
                match files::read_entry(file) {
                    Ok(Some(rec)) if pred(&rec) => break Ok(Some(rec)),
                    Ok(Some(_)) => {}
                    Ok(None) => break Ok(None),
                    Err(e) => break Err(e),
                }
            }
        };
        match found {
            Ok(Some(rec)) => {
                let mut answer = [OK; 1 + RECORD_SIZE];
                answer[1..].copy_from_slice(&rec[..]);
                self.wire.send(&answer)
            }
            Ok(None) => self.wire.send(&[ESRCH]),
            Err(e) => self.torn(e),
        }
    }

    /// `E`: overwrite the slot the put rule finds from one record before the
    /// cursor, or write at the cursor, which is then the end of the file.
    fn put(&mut self, new: &RawRecord) -> io::Result<()> {
        if self.creds.euid != 0 && self.creds.egid != self.shared.config.daemon_gid {
            // Refused, but the connection stays usable.
            return self.wire.send(&[EPERM]);
        }
        let shared = self.shared;
        match shared.refused_puts.load(Ordering::SeqCst) {
            0 => {}
            errno => return self.wire.send(&[errno]),
        }
        let stop = self.stop;
        let _in_flight = shared.delay(false, stop);
        let mut file = self.file()?;
        let outcome = {
            let _threads = shared.utmp_lock.write().unwrap_or_else(|p| p.into_inner());
            let _locked = files::lock(file, true, stop)?;
            // One step back first (glibc compatibility): a put right after a read
            // of the slot overwrites that slot. At offset 0 the step fails and
            // the cursor stays, as lseek does.
            let pos = file.stream_position()?;
            if pos >= RECORD_SIZE as u64 {
                file.seek(SeekFrom::Start(pos - RECORD_SIZE as u64))?;
            }
            place_and_write(file, new)
        };
        match outcome {
            Ok(()) => {
                let _late = shared.delay_put_answer(stop);
                self.wire.send(&[OK])
            }
            Err(Failure::Torn(e)) => self.torn(e),
            Err(Failure::Answer(e)) => self.wire.send_errno(&e),
            Err(Failure::Fatal(e)) => {
                let _ = self.wire.send_errno(&e);
                Err(e)
            }
        }
    }
}

enum Failure {
    /// Reading met a torn tail or failed: delete the file, answer, close.
    Torn(io::Error),
    /// Answered, and the connection goes on.
    Answer(io::Error),
    /// The write failed: answer and close.
    Fatal(io::Error),
}

fn place_and_write(mut file: &File, new: &RawRecord) -> Result<(), Failure> {
    loop {
        match files::read_entry(file) {
            Ok(Some(rec)) if protocol::slot_matches(new, &rec) => {
                file.seek(SeekFrom::Current(-RECORD)).map_err(Failure::Answer)?;
                break;
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return Err(Failure::Torn(e)),
        }
    }
    file.write_all(new).map_err(Failure::Fatal)?;
    // As the daemon, a failed fsync is not reported.
    let _ = file.sync_all();
    Ok(())
}
