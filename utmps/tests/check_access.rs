//! `check()` tells what it can about write permission on the daemons: root,
//! the effective gid against the group the utmpd socket and its directory show,
//! and says so plainly when it cannot tell.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::fork::{self, as_user};
use support::{root_or_skip, NOBODY};
use utmps::peer::Peer;
use utmps::{Accounting, Login, WriteAccess, WriteCheck};

/// A group nobody is in: the daemon's.
const DAEMON_GID: u32 = 23_456;
const OTHER_GID: u32 = 34_567;

/// A peer whose daemon group is DAEMON_GID, in a directory any user may enter.
fn peer(dir: &Path) -> Peer {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let peer = Peer::builder().daemon_gid(DAEMON_GID).start(dir).unwrap();
    // The directory shows the daemon's group too, as the service scripts of utmps set it up.
    std::os::unix::fs::chown(dir, None, Some(DAEMON_GID)).unwrap();
    peer
}

fn acct(peer: &Peer) -> Accounting {
    Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket())
}

/// Exit codes for what check_writable said in a child.
const LIKELY_OWN_USER: u8 = 30;
const UNKNOWN_OWN_USER: u8 = 31;
const SOMETHING_ELSE: u8 = 39;

fn writable_code(r: utmps::Result<WriteCheck>) -> u8 {
    match r {
        Ok(WriteCheck { utmp: WriteAccess::Likely, wtmp: WriteAccess::OwnUserOnly, .. }) => LIKELY_OWN_USER,
        Ok(WriteCheck { utmp: WriteAccess::Unknown(why), wtmp: WriteAccess::OwnUserOnly, .. }) if !why.is_empty() => {
            UNKNOWN_OWN_USER
        }
        Ok(_) => SOMETHING_ELSE,
        Err(e) => fork::outcome(Err::<(), _>(e)),
    }
}

#[test]
fn root_may_write_everything() {
    if !root_or_skip("root_may_write_everything") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = peer(dir.path());
    let check = acct(&peer).check_writable().unwrap();
    assert_eq!(check.utmp, WriteAccess::Granted);
    assert_eq!(check.wtmp, WriteAccess::Granted);
}

#[test]
fn another_effective_gid_fails_the_check_as_the_first_login_would() {
    if !root_or_skip("another_effective_gid_fails_the_check_as_the_first_login_would") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = peer(dir.path());
    let acct = acct(&peer);
    // The daemon's group as a supplementary group does not count, as with utmpd.
    let check = as_user(NOBODY, NOBODY, &[DAEMON_GID], || fork::outcome(acct.check()));
    assert_eq!(check, fork::EPERM_UTMPD_GROUP, "check() says what the login will meet");
    let login = as_user(NOBODY, NOBODY, &[DAEMON_GID], || fork::outcome(acct.open(&Login::new("nobody", "pts/1"))));
    assert_eq!(login, fork::EPERM_UTMPD_GROUP);
    assert!(peer.utmp_records().is_empty());
}

#[test]
fn the_daemons_effective_gid_is_likely_to_write_for_its_own_user() {
    if !root_or_skip("the_daemons_effective_gid_is_likely_to_write_for_its_own_user") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = peer(dir.path());
    let acct = acct(&peer);
    let code = as_user(NOBODY, DAEMON_GID, &[], || writable_code(acct.check_writable()));
    assert_eq!(code, LIKELY_OWN_USER);
    // And the login the check expected does work.
    let code = as_user(NOBODY, DAEMON_GID, &[], || {
        fork::outcome(acct.open(&Login::new("nobody", "pts/2")).and_then(|s| s.logout()))
    });
    assert_eq!(code, fork::OK);
}

#[test]
fn endpoints_that_disagree_say_that_permission_could_not_be_checked() {
    if !root_or_skip("endpoints_that_disagree_say_that_permission_could_not_be_checked") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = peer(dir.path());
    // The directory no longer shows the socket's group: the daemon's group
    // cannot be told, so check() does not refuse, and check_writable() says why.
    std::os::unix::fs::chown(dir.path(), None, Some(OTHER_GID)).unwrap();
    let acct = acct(&peer);
    assert_eq!(as_user(NOBODY, NOBODY, &[], || fork::outcome(acct.check())), fork::OK);
    assert_eq!(as_user(NOBODY, NOBODY, &[], || writable_code(acct.check_writable())), UNKNOWN_OWN_USER);
}
