//! The operating system below the concepts: sockets, file locks, deadlines, user
//! lookups and process facts. Every raw libc call of the safe crate lives here,
//! behind functions that return `io::Result` (the crate's errors for opening
//! an accounting file); the modules above hold no `unsafe`.

pub(crate) mod deadline;
pub(crate) mod file;
pub(crate) mod filelock;
// PAM, loaded at run time, for the logind store's session leaders.
pub(crate) mod pam;
pub(crate) mod process;
// Ptys, accounts and the session program's process, for session leaders.
pub(crate) mod pty;
// Daemon sockets: the backends connect, the test peer sends.
#[cfg(any(feature = "xutmp", feature = "native", feature = "test-peer", test))]
pub(crate) mod socket;
// SQLite, loaded from the host or linked bundled: the wtmpdb and lastlog2 stores.
#[cfg(feature = "wtmpdb")]
pub(crate) mod sqlite;
pub(crate) mod users;

use std::io;

/// Return values of C calls that report failure as -1 with `errno` set.
pub(crate) trait MinusOne: Copy + PartialEq {
    const MINUS_ONE: Self;
}

impl MinusOne for libc::c_int {
    const MINUS_ONE: Self = -1;
}

impl MinusOne for libc::ssize_t {
    const MINUS_ONE: Self = -1;
}

/// The error of a C call that returned -1, read from `errno` at once, before
/// anything else can overwrite it; any other value is passed through.
pub(crate) fn cvt<T: MinusOne>(rc: T) -> io::Result<T> {
    if rc == T::MINUS_ONE {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_one_is_errno_and_anything_else_passes() {
        // SAFETY: closing a descriptor that cannot be open has no effect but EBADF.
        let err = cvt(unsafe { libc::close(-1) }).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
        assert_eq!(cvt(0 as libc::c_int).unwrap(), 0);
        assert_eq!(cvt(7 as libc::ssize_t).unwrap(), 7);
    }
}
