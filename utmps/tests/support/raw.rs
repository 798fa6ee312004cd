//! A minimal client of the utmps protocol on std sockets, to test the wire
//! format itself rather than this crate's client. The request and status
//! bytes come from the crate's protocol module.

use std::io::{self, ErrorKind, Read, Write};
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
        Raw::try_connect(path).unwrap_or_else(|e| panic!("connect {}: {e}", path.display()))
    }

    /// As [`Raw::connect`], and the fallible calls below, for code that must
    /// not panic (a guard's Drop while a failed assertion unwinds).
    pub fn try_connect(path: &Path) -> io::Result<Raw> {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(Raw { s })
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
        self.try_status().unwrap_or_else(|e| panic!("reading a status: {e}"))
    }

    pub fn try_status(&mut self) -> io::Result<Option<u8>> {
        let mut b = [0u8; 1];
        match self.s.read(&mut b) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(b[0])),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One answer to `e`, `i` or `l`.
    pub fn answer(&mut self) -> Got {
        self.try_answer().unwrap_or_else(|e| panic!("reading an answer: {e}"))
    }

    pub fn try_answer(&mut self) -> io::Result<Got> {
        Ok(match self.try_status()? {
            None => Got::Eof,
            Some(protocol::OK) => {
                let mut bytes = vec![0u8; RECORD_SIZE];
                self.s.read_exact(&mut bytes)?;
                Got::Record(Layout::Utmps.decode(&bytes)?, bytes)
            }
            Some(e) => Got::Status(e),
        })
    }

    pub fn rewind(&mut self) {
        assert_eq!(self.try_rewind().unwrap_or_else(|e| panic!("rewind: {e}")), Some(protocol::OK), "rewind");
    }

    /// `r`; its status.
    pub fn try_rewind(&mut self) -> io::Result<Option<u8>> {
        self.s.write_all(&[protocol::REWIND])?;
        self.try_status()
    }

    pub fn next(&mut self) -> Got {
        self.send(&[protocol::NEXT]);
        self.answer()
    }

    pub fn try_next(&mut self) -> io::Result<Got> {
        self.s.write_all(&[protocol::NEXT])?;
        self.try_answer()
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
        self.try_put_here(rec).unwrap_or_else(|e| panic!("put: {e}"))
    }

    pub fn try_put_here(&mut self, rec: &Record) -> io::Result<Option<u8>> {
        let mut req = vec![protocol::PUT];
        req.extend(Layout::Utmps.encode(rec)?);
        self.s.write_all(&req)?;
        self.try_status()
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
