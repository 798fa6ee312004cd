//! Who the client is: its effective ids when it connected.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// The client's effective user and group ids, as the superserver hands them to
/// the daemons (`IPCREMOTEEUID`, `IPCREMOTEEGID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Creds {
    pub(super) euid: u32,
    pub(super) egid: u32,
}

/// The ids the kernel recorded when the client called connect().
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn peer_creds(stream: &UnixStream) -> io::Result<Creds> {
    // SAFETY: plain C struct, zero is a valid value.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: valid socket, out-pointer and length of the right size.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Creds { euid: cred.uid, egid: cred.gid })
}

/// The ids the kernel recorded when the client called connect().
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn peer_creds(stream: &UnixStream) -> io::Result<Creds> {
    let (mut euid, mut egid): (libc::uid_t, libc::gid_t) = (0, 0);
    // SAFETY: valid socket and out-pointers.
    if unsafe { libc::getpeereid(stream.as_raw_fd(), &mut euid, &mut egid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Creds { euid, egid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creds_are_the_connecting_process_effective_ids() {
        let (a, _b) = UnixStream::pair().unwrap();
        let creds = peer_creds(&a).unwrap();
        // SAFETY: no preconditions.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        assert_eq!(creds, Creds { euid, egid });
    }
}
