//! Unix-socket I/O in which every step has a deadline: connect, send and receive.
//! The socket stays non-blocking and every wait goes through `poll`, so no call can
//! outlive its deadline; sends use MSG_NOSIGNAL so a vanished daemon cannot kill
//! the process with SIGPIPE.
// The client side (`Conn`) serves the backends; the test peer uses only the
// waits, `send_all` and `peer_ids`.
#![cfg_attr(not(any(feature = "xutmp", feature = "native", test)), allow(dead_code))]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use super::cvt;
use super::deadline::Deadline;

/// A connected, non-blocking Unix stream socket.
#[derive(Debug)]
pub(crate) struct Conn {
    // With libxutmp alone a Conn only proves that a daemon listens: the
    // descriptor is held to be closed on drop, never read.
    #[cfg_attr(not(any(feature = "native", test)), allow(dead_code))]
    fd: OwnedFd,
}

/// Waits until `fd` is ready for `events` or the deadline passes (ETIMEDOUT).
pub(crate) fn wait(fd: RawFd, events: libc::c_short, deadline: Deadline) -> io::Result<()> {
    loop {
        let left = deadline.time_left()?;
        // Round up so that a sub-millisecond remainder still waits.
        let ms = i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX);
        let mut pfd = libc::pollfd { fd, events, revents: 0 };
        // SAFETY: one valid pollfd for the duration of the call.
        match cvt(unsafe { libc::poll(&mut pfd, 1, ms) }) {
            Ok(0) => {}
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Sends all of `buf` on the stream socket `fd`, whether it is blocking or not:
/// MSG_DONTWAIT keeps each send(2) from blocking, so only `poll` waits, and only
/// until `deadline`; MSG_NOSIGNAL turns a vanished peer into EPIPE, not SIGPIPE.
#[cfg(any(feature = "native", feature = "test-peer", test))]
pub(crate) fn send_all(fd: RawFd, mut buf: &[u8], deadline: Deadline) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for reads of its length.
        let sent =
            cvt(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) });
        match sent {
            Ok(n) => buf = &buf[n as usize..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(fd, libc::POLLOUT, deadline)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The address of the socket file at `path`, and its length: the offset of
/// `sun_path` plus the path and its NUL. The offset is not
/// `size_of::<sa_family_t>()` where the struct begins with `sun_len` (the BSDs,
/// macOS), and those platforms want `sun_len` set as well.
fn unix_addr(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: plain C struct, zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "socket path too long or contains NUL"));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = std::mem::offset_of!(libc::sockaddr_un, sun_path) + bytes.len() + 1;
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "openbsd",
        target_os = "netbsd"
    ))]
    {
        // At most 1 + 104 here: it fits.
        addr.sun_len = len as u8;
    }
    Ok((addr, len as libc::socklen_t))
}

/// A new non-blocking, close-on-exec stream socket.
fn stream_socket() -> io::Result<OwnedFd> {
    // SAFETY: creating a socket has no memory-safety preconditions.
    let raw =
        cvt(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// What one connect(2) on a non-blocking socket came to.
enum Started {
    Connected,
    /// The connection completes in the background: wait for it.
    InProgress,
    /// The listener's backlog is full (EAGAIN), or a signal came: try again
    /// on a new socket.
    Busy,
}

fn start_connect(fd: &OwnedFd, addr: &libc::sockaddr_un, len: libc::socklen_t) -> io::Result<Started> {
    // SAFETY: `addr` is a valid sockaddr_un and `len` does not exceed it.
    match cvt(unsafe { libc::connect(fd.as_raw_fd(), (addr as *const libc::sockaddr_un).cast(), len) }) {
        Ok(_) => Ok(Started::Connected),
        Err(e) => match e.raw_os_error() {
            Some(libc::EINPROGRESS) => Ok(Started::InProgress),
            Some(libc::EAGAIN | libc::EINTR) => Ok(Started::Busy),
            _ => Err(e),
        },
    }
}

/// Waits for a connect in progress, then reads how it ended (SO_ERROR).
fn finish_connect(fd: &OwnedFd, deadline: Deadline) -> io::Result<()> {
    wait(fd.as_raw_fd(), libc::POLLOUT, deadline)?;
    let mut so_error: libc::c_int = 0;
    let mut optlen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid out-pointers of the right size.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut so_error as *mut libc::c_int).cast(),
            &mut optlen,
        )
    })?;
    match so_error {
        0 => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

impl Conn {
    /// Connects to a Unix socket. A listener whose backlog is full makes a
    /// non-blocking AF_UNIX connect fail with EAGAIN; that is retried, with a
    /// growing pause, until the deadline.
    pub(crate) fn connect(path: &Path, deadline: Deadline) -> io::Result<Conn> {
        let (addr, len) = unix_addr(path)?;
        let mut pause = Duration::from_micros(200);
        loop {
            let fd = stream_socket()?;
            match start_connect(&fd, &addr, len)? {
                Started::Connected => return Ok(Conn { fd }),
                Started::InProgress => {
                    finish_connect(&fd, deadline)?;
                    return Ok(Conn { fd });
                }
                Started::Busy => {
                    drop(fd);
                    std::thread::sleep(pause.min(deadline.time_left()?));
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
            }
        }
    }

    /// Sends all of `buf`.
    #[cfg(any(feature = "native", test))]
    pub(crate) fn send_all(&self, buf: &[u8], deadline: Deadline) -> io::Result<()> {
        send_all(self.fd.as_raw_fd(), buf, deadline)
    }

    /// Receives up to `buf.len()` bytes, waiting for at least one; 0 means end of stream.
    #[cfg(any(feature = "native", test))]
    pub(crate) fn recv_some(&self, buf: &mut [u8], deadline: Deadline) -> io::Result<usize> {
        let fd = self.fd.as_raw_fd();
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            match cvt(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) }) {
                Ok(n) => return Ok(n as usize),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(fd, libc::POLLIN, deadline)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Fills `buf` completely; an early end of stream is `UnexpectedEof`.
    #[cfg(any(feature = "native", test))]
    pub(crate) fn recv_exact(&self, mut buf: &mut [u8], deadline: Deadline) -> io::Result<()> {
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

/// The effective user and group ids that the kernel recorded for the other
/// end of a Unix stream socket when it called connect().
#[cfg(all(feature = "test-peer", any(target_os = "linux", target_os = "android")))]
pub(crate) fn peer_ids(fd: RawFd) -> io::Result<(u32, u32)> {
    // SAFETY: plain C struct, zero is a valid value.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: valid socket, out-pointer and length of the right size.
    cvt(unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_PEERCRED, (&mut cred as *mut libc::ucred).cast(), &mut len)
    })?;
    Ok((cred.uid, cred.gid))
}

/// The effective user and group ids that the kernel recorded for the other
/// end of a Unix stream socket when it called connect().
#[cfg(all(feature = "test-peer", not(any(target_os = "linux", target_os = "android"))))]
pub(crate) fn peer_ids(fd: RawFd) -> io::Result<(u32, u32)> {
    let (mut euid, mut egid): (libc::uid_t, libc::gid_t) = (0, 0);
    // SAFETY: valid socket and out-pointers.
    cvt(unsafe { libc::getpeereid(fd, &mut euid, &mut egid) })?;
    Ok((euid, egid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;
    use std::time::Instant;

    #[test]
    fn silent_peer_times_out_within_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let _listener = UnixListener::bind(&path).unwrap();
        let conn = Conn::connect(&path, Deadline::after(Duration::from_secs(1))).unwrap();
        let start = Instant::now();
        let mut b = [0u8; 1];
        let err = conn.recv_exact(&mut b, Deadline::after(Duration::from_millis(200))).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(190) && took < Duration::from_millis(1000), "{took:?}");
    }

    #[test]
    fn missing_socket_is_enoent_and_refused_is_econnrefused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Conn::connect(&dir.path().join("none"), Deadline::after(Duration::from_secs(1))).unwrap_err();
        assert_eq!(missing.raw_os_error(), Some(libc::ENOENT));
        let path = dir.path().join("closed");
        drop(UnixListener::bind(&path).unwrap());
        let refused = Conn::connect(&path, Deadline::after(Duration::from_secs(1))).unwrap_err();
        assert_eq!(refused.raw_os_error(), Some(libc::ECONNREFUSED));
    }

    #[test]
    fn the_address_length_counts_from_sun_path() {
        let (_, len) = unix_addr(Path::new("/run/x")).unwrap();
        assert_eq!(len as usize, std::mem::offset_of!(libc::sockaddr_un, sun_path) + "/run/x".len() + 1);
        // SAFETY: plain C struct, zero is a valid value.
        let room = unsafe { std::mem::zeroed::<libc::sockaddr_un>() }.sun_path.len();
        let too_long = "/".repeat(room);
        assert_eq!(unix_addr(Path::new(&too_long)).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(unix_addr(Path::new("/a\0b")).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    /// The kernel takes the computed length at its longest: a path that fills
    /// `sun_path` but for its NUL.
    #[test]
    fn the_longest_path_connects() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: plain C struct, zero is a valid value.
        let room = unsafe { std::mem::zeroed::<libc::sockaddr_un>() }.sun_path.len();
        let base = dir.path().as_os_str().len() + 1;
        assert!(base < room - 1, "temporary directory path too long for this test: {}", dir.path().display());
        let path = dir.path().join("s".repeat(room - 1 - base));
        assert_eq!(path.as_os_str().len(), room - 1);
        let listener = UnixListener::bind(&path).unwrap();
        let _conn = Conn::connect(&path, Deadline::after(Duration::from_secs(1))).unwrap();
        listener.accept().unwrap();
    }

    /// Rust ignores SIGPIPE in every binary it starts, tests included, so the
    /// send happens in a child that puts the default action (death) back first.
    #[test]
    fn send_to_closed_peer_is_an_error_not_sigpipe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).unwrap();
        let conn = Conn::connect(&path, Deadline::after(Duration::from_secs(1))).unwrap();
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
                let deadline = Deadline::after(Duration::from_secs(1));
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
