//! What can be told, without writing, about whether the daemons will accept
//! this process's writes.
//!
//! utmpd writes for root and for a client whose EFFECTIVE gid is the daemon's
//! own egid, which a client cannot see. What it can see is the endpoint: the
//! service scripts shipped with utmps (its s6, s6-rc and OpenRC examples) run
//! the superserver as the `utmp` user from `/run/utmps`, a directory they
//! create and give to `utmp:utmp`; the superserver binds the socket there, so
//! the socket file belongs to the daemon's user and group. When the socket's
//! group and its directory's group agree, that group is taken to be the
//! daemon's, as a likelihood and never a refusal (a daemon that binds as root
//! and then drops to its group shows root's); when they disagree, nothing is
//! concluded.

// Without a backend only the public report types are reachable: nothing probes.
#![cfg_attr(not(any(feature = "xutmp", feature = "native")), allow(dead_code))]

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What [`Accounting::check_writable`](crate::Accounting::check_writable)
/// could tell about one endpoint's write permission.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteAccess {
    /// Writes will be accepted: this process is root, or the file was opened
    /// for writing.
    Granted,
    /// Writes should be accepted: the caller's effective gid is the group the
    /// utmpd socket and its directory show. The daemon's own gid cannot be
    /// seen, so this is what the endpoint shows, not a proof.
    Likely,
    /// wtmpd accepts from non-root only records whose user is the caller's own
    /// user name; the user is known only at login.
    OwnUserOnly,
    /// Write permission could not be checked; the reason says why.
    Unknown(String),
    /// The handle keeps no store of this kind (no utmp on Debian 13, say).
    NoStore,
}

/// Write permission of both endpoints, as far as it can be told without writing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteCheck {
    /// utmp: the utmpd socket or the utmp file.
    pub utmp: WriteAccess,
    /// wtmp: the wtmpd socket or the wtmp file.
    pub wtmp: WriteAccess,
    /// The other history stores (wtmpdb), in the handle's order.
    pub stores: Vec<(crate::role::StoreInfo, WriteAccess)>,
}

impl WriteCheck {
    /// Both endpoints accept writes: the files were opened for writing, or root.
    pub(crate) fn granted() -> WriteCheck {
        WriteCheck::of(WriteAccess::Granted, WriteAccess::Granted)
    }

    pub(crate) fn of(utmp: WriteAccess, wtmp: WriteAccess) -> WriteCheck {
        WriteCheck { utmp, wtmp, stores: Vec::new() }
    }
}

/// Judges write permission on the daemons from the utmpd socket's group: a
/// guess (`Likely` or `Unknown` with the reason), never an error; the
/// daemon's own refusal comes at the first login.
pub(crate) fn daemons(utmpd: &Path) -> WriteCheck {
    let (euid, egid) = crate::sys::users::effective_ids();
    if euid == 0 {
        return WriteCheck::granted();
    }
    WriteCheck::of(utmpd_group(utmpd, egid), WriteAccess::OwnUserOnly)
}

fn utmpd_group(utmpd: &Path, egid: u32) -> WriteAccess {
    let socket = match std::fs::metadata(utmpd) {
        Ok(meta) => meta.gid(),
        Err(e) => return WriteAccess::Unknown(format!("the socket's group cannot be read: {e}")),
    };
    if socket == egid {
        return WriteAccess::Likely;
    }
    let dir = utmpd.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir_group = match std::fs::metadata(dir) {
        Ok(meta) => meta.gid(),
        Err(e) => return WriteAccess::Unknown(format!("the socket directory's group cannot be read: {e}")),
    };
    if dir_group != socket {
        return WriteAccess::Unknown(format!(
            "the socket's group ({socket}) and its directory's group ({dir_group}) differ, so the daemon's group \
             cannot be told; this process's effective gid is {egid}"
        ));
    }
    // A guess, never a refusal: a daemon started as root that binds its
    // sockets before dropping to its own user and group (`s6-ipcserver -U`)
    // leaves them with root's group, and accepts writes the groups here
    // would seem to forbid.
    WriteAccess::Unknown(format!(
        "the socket and its directory belong to group {socket}, which is likely the daemon's; this process's \
         effective gid is {egid}, so utmpd will likely refuse its writes, unless the daemon runs as another group \
         than its socket shows"
    ))
}
