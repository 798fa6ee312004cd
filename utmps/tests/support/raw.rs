//! A minimal client of the utmps protocol on std sockets, to test the wire
//! format itself rather than this crate's client. The request and status
//! bytes come from the crate's protocol module.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use utmps::layout::Layout;
use utmps::protocol::{self, RECORD_SIZE};
use utmps::Record;

pub use utmps::protocol::{EPERM, EPIPE, ESRCH};

/// One answer to `e`, `i` or `l`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Record(Record, Vec<u8>),
    Status(u8),
    Eof,
}

impl Got {
    pub fn record(self) -> Record {
        match self {
            Got::Record(r, _) => r,
            other => panic!("expected a record, got {other:?}"),
        }
    }
}

pub struct Raw {
    s: UnixStream,
}

impl Raw {
    pub fn connect(path: &Path) -> Raw {
        let s = UnixStream::connect(path).unwrap_or_else(|e| panic!("connect {}: {e}", path.display()));
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw { s }
    }

    pub fn stream(&self) -> &UnixStream {
        &self.s
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    pub fn shutdown_write(&self) {
        self.s.shutdown(Shutdown::Write).unwrap();
    }

    /// One status byte; `None` at the end of the stream (or a reset).
    pub fn status(&mut self) -> Option<u8> {
        let mut b = [0u8; 1];
        match self.s.read(&mut b) {
            Ok(0) => None,
            Ok(_) => Some(b[0]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => None,
            Err(e) => panic!("reading a status: {e}"),
        }
    }

    /// One answer to `e`, `i` or `l`.
    pub fn answer(&mut self) -> Got {
        match self.status() {
            None => Got::Eof,
            Some(protocol::OK) => {
                let mut bytes = vec![0u8; RECORD_SIZE];
                self.s.read_exact(&mut bytes).unwrap();
                Got::Record(Layout::Utmps.decode(&bytes).unwrap(), bytes)
            }
            Some(e) => Got::Status(e),
        }
    }

    pub fn rewind(&mut self) {
        self.send(&[protocol::REWIND]);
        assert_eq!(self.status(), Some(protocol::OK), "rewind");
    }

    pub fn next(&mut self) -> Got {
        self.send(&[protocol::NEXT]);
        self.answer()
    }

    pub fn find_id(&mut self, kind: u16, id: &[u8; 4]) -> Got {
        self.send(&protocol::find_id(kind, id));
        self.answer()
    }

    pub fn find_line(&mut self, line: &[u8]) -> Got {
        self.send(&protocol::find_line(line));
        self.answer()
    }

    /// `E` from wherever the cursor is.
    pub fn put_here(&mut self, rec: &Record) -> Option<u8> {
        let mut req = vec![protocol::PUT];
        req.extend(Layout::Utmps.encode(rec).unwrap());
        self.send(&req);
        self.status()
    }

    /// `r`, then `E`: what a correct client sends.
    pub fn put(&mut self, rec: &Record) -> Option<u8> {
        self.rewind();
        self.put_here(rec)
    }

    /// Every record from the start.
    pub fn all(&mut self) -> Vec<Record> {
        self.rewind();
        let mut out = Vec::new();
        loop {
            match self.next() {
                Got::Record(r, _) => out.push(r),
                Got::Status(ESRCH) => return out,
                other => panic!("reading utmp: {other:?}"),
            }
        }
    }

    /// True when the peer closes without sending anything within `within`.
    pub fn closes_silently(&mut self, within: Duration) -> bool {
        self.s.set_read_timeout(Some(within)).unwrap();
        let mut b = [0u8; 1];
        match self.s.read(&mut b) {
            Ok(0) => true,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
            _ => false,
        }
    }

    /// True when nothing arrives (and the connection stays open) for `d`.
    pub fn silent_for(&mut self, d: Duration) -> bool {
        self.s.set_read_timeout(Some(d)).unwrap();
        let start = Instant::now();
        let mut b = [0u8; 1];
        match self.s.read(&mut b) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => start.elapsed() >= d,
            _ => false,
        }
    }
}

/// Puts one record on a fresh connection (rewinding first); the status.
pub fn put(utmpd: &Path, rec: &Record) -> Option<u8> {
    Raw::connect(utmpd).put(rec)
}

/// One wtmp append on a fresh connection; the status, `None` for no answer.
pub fn append(wtmpd: &Path, rec: &Record) -> Option<u8> {
    let mut c = Raw::connect(wtmpd);
    let mut req = vec![protocol::APPEND];
    req.extend(Layout::Utmps.encode(rec).unwrap());
    c.send(&req);
    c.status()
}
