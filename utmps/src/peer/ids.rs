//! Who the client is (its effective ids when it connected) and who a user name is.

use std::ffi::CString;
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

/// The uid of user `name`: `Ok(None)` when there is no such user, `Err(errno)`
/// when the user database could not be read. getpwnam_r, because the peer's
/// connections run on many threads.
pub(super) fn uid_of(name: &[u8]) -> Result<Option<u32>, i32> {
    let Ok(name) = CString::new(name) else {
        return Ok(None);
    };
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        // SAFETY: plain C struct, zero is a valid value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: NUL-terminated name, valid out-pointers, `buf` valid for its length.
        let rc = unsafe { libc::getpwnam_r(name.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
        match rc {
            0 if found.is_null() => return Ok(None),
            0 => return Ok(Some(pwd.pw_uid)),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 2, 0),
            // Some C libraries report "no such user" as an error; musl, which
            // the real wtmpd runs on, does not.
            libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => return Ok(None),
            errno => return Err(errno),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_uid_zero_and_strangers_are_nobody() {
        assert_eq!(uid_of(b"root"), Ok(Some(0)));
        assert_eq!(uid_of(b""), Ok(None));
        assert_eq!(uid_of(b"no-such-user-utmps-peer"), Ok(None));
    }

    #[test]
    fn creds_are_the_connecting_process_effective_ids() {
        let (a, _b) = UnixStream::pair().unwrap();
        let creds = peer_creds(&a).unwrap();
        // SAFETY: no preconditions.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        assert_eq!(creds, Creds { euid, egid });
    }
}
