//! Users: names to uids, for lastlog and for the wtmp user rule, and this
//! process's own effective ids.

use std::ffi::CString;

/// The uid of user `name`: `Ok(None)` when there is no such user, `Err(errno)`
/// when the user database could not be read. getpwnam_r: callers run on
/// many threads. The lookup goes through NSS and has no deadline of ours.
pub(crate) fn uid_of(name: &[u8]) -> Result<Option<u32>, i32> {
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

/// True when the effective uid is root's.
pub(crate) fn is_root() -> bool {
    effective_ids().0 == 0
}

/// This process's effective user and group ids: those the daemons judge it by.
pub(crate) fn effective_ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid have no preconditions.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_uid_zero_and_strangers_are_nobody() {
        assert_eq!(uid_of(b"root"), Ok(Some(0)));
        assert_eq!(uid_of(b""), Ok(None));
        assert_eq!(uid_of(b"no-such-user-utmps"), Ok(None));
    }
}
