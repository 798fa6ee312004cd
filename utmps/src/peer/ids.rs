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
pub(super) fn peer_creds(stream: &UnixStream) -> io::Result<Creds> {
    let (euid, egid) = crate::sys::socket::peer_ids(stream.as_raw_fd())?;
    Ok(Creds { euid, egid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creds_are_the_connecting_process_effective_ids() {
        let (a, _b) = UnixStream::pair().unwrap();
        let creds = peer_creds(&a).unwrap();
        let (euid, egid) = crate::sys::users::effective_ids();
        assert_eq!(creds, Creds { euid, egid });
    }
}
