//! Unix-socket I/O in which every step has a deadline: connect, send and receive.
//! The socket stays non-blocking and every wait goes through `poll`, so no call can
//! outlive its deadline; sends use MSG_NOSIGNAL so a vanished daemon cannot kill
//! the process with SIGPIPE.

use std::io;
#[cfg(any(feature = "native", test))]
use std::os::fd::AsRawFd;
use std::os::fd::RawFd;
use std::time::Instant;
#[cfg(any(feature = "xutmp", feature = "native", test))]
use std::{
    os::fd::{FromRawFd, OwnedFd},
    os::unix::ffi::OsStrExt,
    path::Path,
    time::Duration,
};

/// A connected, non-blocking Unix stream socket.
#[cfg(any(feature = "xutmp", feature = "native", test))]
#[derive(Debug)]
pub(crate) struct Conn {
    // With xutmp alone only the probe connects, and it reads nothing: the fd is
    // held to be closed on drop.
    #[cfg_attr(not(any(feature = "native", test)), allow(dead_code))]
    fd: OwnedFd,
}

/// The error every deadline in this crate ends with.
pub(crate) fn timed_out() -> io::Error {
    io::Error::from_raw_os_error(libc::ETIMEDOUT)
}

/// Waits until `fd` is ready for `events` or the deadline passes.
fn wait(fd: RawFd, events: libc::c_short, deadline: Instant) -> io::Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        // Round up so that a sub-millisecond remainder still waits.
        let ms = i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX);
        let mut pfd = libc::pollfd { fd, events, revents: 0 };
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n > 0 {
            return Ok(());
        }
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Sends all of `buf` on the stream socket `fd`, whether it is blocking or not:
/// MSG_DONTWAIT keeps each send(2) from blocking, so only `poll` waits, and only
/// until `deadline`; MSG_NOSIGNAL turns a vanished peer into EPIPE, not SIGPIPE.
#[cfg(any(feature = "native", feature = "test-peer", test))]
pub(crate) fn send_all(fd: RawFd, mut buf: &[u8], deadline: Instant) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for reads of its length.
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
        if n >= 0 {
            buf = &buf[n as usize..];
            continue;
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::WouldBlock => wait(fd, libc::POLLOUT, deadline)?,
            io::ErrorKind::Interrupted => {}
            _ => return Err(err),
        }
    }
    Ok(())
}

#[cfg(any(feature = "xutmp", feature = "native", test))]
impl Conn {
    /// Connects to a Unix socket. A listener whose backlog is full makes a
    /// non-blocking AF_UNIX connect fail with EAGAIN; that is retried until the deadline.
    pub(crate) fn connect(path: &Path, deadline: Instant) -> io::Result<Conn> {
        // SAFETY: plain zero-initialised C struct.
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.as_os_str().as_bytes();
        if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "socket path too long or contains NUL"));
        }
        for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let len = (std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
        let mut pause = Duration::from_micros(200);
        loop {
            // SAFETY: creating a socket has no memory-safety preconditions.
            let raw =
                unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `raw` is a new descriptor that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: `addr` is a valid sockaddr_un and `len` does not exceed it.
            let rc = unsafe { libc::connect(raw, (&addr as *const libc::sockaddr_un).cast(), len) };
            if rc == 0 {
                return Ok(Conn { fd });
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINPROGRESS) => {
                    wait(raw, libc::POLLOUT, deadline)?;
                    let mut so_error: libc::c_int = 0;
                    let mut optlen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                    // SAFETY: valid out-pointers of the right size.
                    let rc = unsafe {
                        libc::getsockopt(
                            raw,
                            libc::SOL_SOCKET,
                            libc::SO_ERROR,
                            (&mut so_error as *mut libc::c_int).cast(),
                            &mut optlen,
                        )
                    };
                    if rc < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    if so_error != 0 {
                        return Err(io::Error::from_raw_os_error(so_error));
                    }
                    return Ok(Conn { fd });
                }
                Some(libc::EAGAIN) | Some(libc::EINTR) => {
                    drop(fd);
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(timed_out());
                    }
                    std::thread::sleep(pause.min(left));
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                _ => return Err(err),
            }
        }
    }

    /// Sends all of `buf`.
    #[cfg(any(feature = "native", test))]
    pub(crate) fn send_all(&self, buf: &[u8], deadline: Instant) -> io::Result<()> {
        send_all(self.fd.as_raw_fd(), buf, deadline)
    }

    /// Receives up to `buf.len()` bytes, waiting for at least one; 0 means end of stream.
    #[cfg(any(feature = "native", test))]
    pub(crate) fn recv_some(&self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        let fd = self.fd.as_raw_fd();
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => wait(fd, libc::POLLIN, deadline)?,
                io::ErrorKind::Interrupted => {}
                _ => return Err(err),
            }
        }
    }

    /// Fills `buf` completely; an early end of stream is `UnexpectedEof`.
    #[cfg(any(feature = "native", test))]
    pub(crate) fn recv_exact(&self, mut buf: &mut [u8], deadline: Instant) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.recv_some(buf, deadline)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the daemon closed the connection"));
            }
            buf = &mut buf[n..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn silent_peer_times_out_within_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let _listener = UnixListener::bind(&path).unwrap();
        let conn = Conn::connect(&path, Instant::now() + Duration::from_secs(1)).unwrap();
        let start = Instant::now();
        let mut b = [0u8; 1];
        let err = conn.recv_exact(&mut b, Instant::now() + Duration::from_millis(200)).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(190) && took < Duration::from_millis(1000), "{took:?}");
    }

    #[test]
    fn missing_socket_is_enoent_and_refused_is_econnrefused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Conn::connect(&dir.path().join("none"), Instant::now() + Duration::from_secs(1)).unwrap_err();
        assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
        let path = dir.path().join("closed");
        drop(UnixListener::bind(&path).unwrap());
        let refused = Conn::connect(&path, Instant::now() + Duration::from_secs(1)).unwrap_err();
        assert_eq!(refused.raw_os_error(), Some(libc::ECONNREFUSED));
    }

    /// Rust ignores SIGPIPE in every binary it starts, tests included, so the
    /// send happens in a child that puts the default action (death) back first.
    #[test]
    fn send_to_closed_peer_is_an_error_not_sigpipe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).unwrap();
        let conn = Conn::connect(&path, Instant::now() + Duration::from_secs(1)).unwrap();
        drop(listener.accept().unwrap());
        // SAFETY: the child calls only signal, clock_gettime, send, poll and _exit,
        // all async-signal-safe, so the other threads of the test harness cannot
        // have left it a lock it needs.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: see above; _exit leaves without running the parent's destructors.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                let deadline = Instant::now() + Duration::from_secs(1);
                let failed = (0..100).any(|_| conn.send_all(&[0u8; 4096], deadline).is_err());
                libc::_exit(if failed { 0 } else { 1 });
            }
        }
        let mut status = 0;
        // SAFETY: reaping our own child into a valid out-pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(!libc::WIFSIGNALED(status), "the send killed the process with signal {}", libc::WTERMSIG(status));
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the send did not fail: {status:#x}");
    }
}
