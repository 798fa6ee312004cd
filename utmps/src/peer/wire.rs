//! One client connection as a daemon sees it: buffered reads with an optional
//! deadline, and answers that never raise SIGPIPE.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::protocol::status_of;
use crate::sys::deadline::{timed_out, Deadline};
use crate::sys::socket::send_all;

#[derive(Debug)]
pub(super) struct Wire {
    stream: UnixStream,
    write_timeout: Duration,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Wire {
    /// `write_timeout` bounds each answer: the daemons give up on a client that
    /// does not read them.
    pub(super) fn new(stream: UnixStream, write_timeout: Duration) -> io::Result<Wire> {
        stream.set_nonblocking(false)?;
        Ok(Wire { stream, write_timeout, buf: vec![0; 4096].into_boxed_slice(), start: 0, end: 0 })
    }

    /// Reads more bytes; `Ok(0)` at the end of the stream. `None` waits forever
    /// (until the client closes or the peer shuts the socket down).
    fn fill(&mut self, deadline: Option<Deadline>) -> io::Result<usize> {
        let timeout = deadline.map(Deadline::time_left).transpose()?;
        self.stream.set_read_timeout(timeout)?;
        loop {
            match self.stream.read(&mut self.buf) {
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(timed_out())
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The next byte, or `None` at the end of the stream.
    pub(super) fn next_byte(&mut self, deadline: Option<Deadline>) -> io::Result<Option<u8>> {
        if self.start == self.end && self.fill(deadline)? == 0 {
            return Ok(None);
        }
        let b = self.buf[self.start];
        self.start += 1;
        Ok(Some(b))
    }

    /// Fills `out`; the end of the stream first is `UnexpectedEof`.
    pub(super) fn read_exact(&mut self, out: &mut [u8], deadline: Deadline) -> io::Result<()> {
        let mut done = 0;
        while done < out.len() {
            if self.start == self.end && self.fill(Some(deadline))? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let n = (self.end - self.start).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[self.start..self.start + n]);
            self.start += n;
            done += n;
        }
        Ok(())
    }

    /// Reads and drops everything until the client closes.
    pub(super) fn discard_all(&mut self) {
        while let Ok(n) = self.fill(None) {
            if n == 0 {
                return;
            }
        }
    }

    /// Sends an answer, within `write_timeout`. MSG_NOSIGNAL: a client that went
    /// away must not kill the process the peer runs in.
    pub(super) fn send(&self, bytes: &[u8]) -> io::Result<()> {
        send_all(self.stream.as_raw_fd(), bytes, Deadline::after(self.write_timeout))
    }

    /// Sends the status byte of an error, as the daemons do (`(unsigned char)errno`).
    pub(super) fn send_errno(&self, err: &io::Error) -> io::Result<()> {
        self.send(&[status_of(err)])
    }
}
