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

/// What the socket's group suggests is a guess: check() does not refuse on
/// it, check_writable() says what it suggests, and the daemon's own refusal
/// comes at the login.
#[test]
fn another_effective_gid_is_reported_as_a_guess_and_the_login_meets_the_refusal() {
    if !root_or_skip("another_effective_gid_is_reported_as_a_guess_and_the_login_meets_the_refusal") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = peer(dir.path());
    let acct = acct(&peer);
    // The daemon's group as a supplementary group does not count, as with utmpd.
    assert_eq!(as_user(NOBODY, NOBODY, &[DAEMON_GID], || fork::outcome(acct.check())), fork::OK);
    let said = as_user(NOBODY, NOBODY, &[DAEMON_GID], || {
        let likely_refused = |why: &str| why.contains(&format!("group {DAEMON_GID}")) && why.contains("likely refuse");
        match acct.check_writable() {
            Ok(WriteCheck { utmp: WriteAccess::Unknown(why), .. }) if likely_refused(&why) => UNKNOWN_OWN_USER,
            other => writable_code(other).max(SOMETHING_ELSE),
        }
    });
    assert_eq!(said, UNKNOWN_OWN_USER, "check_writable() says the login will likely be refused");
    let login = as_user(NOBODY, NOBODY, &[DAEMON_GID], || fork::outcome(acct.open(&Login::new("nobody", "pts/1"))));
    assert_eq!(login, fork::EPERM_UTMPD_GROUP);
    assert!(peer.utmp_records().is_empty());
}

/// A daemon that binds its sockets as root and then drops to its own group
/// (`s6-ipcserver -U`): socket and directory show root's group, and a client
/// with the daemon's group may write. check() must not refuse it.
#[test]
fn sockets_bound_by_root_for_a_daemon_that_dropped_its_group_pass_the_check() {
    if !root_or_skip("sockets_bound_by_root_for_a_daemon_that_dropped_its_group_pass_the_check") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let peer = peer(dir.path());
    std::os::unix::fs::chown(dir.path(), None, Some(0)).unwrap();
    std::os::unix::fs::chown(peer.utmpd_socket(), None, Some(0)).unwrap();
    let acct = acct(&peer);
    assert_eq!(as_user(NOBODY, DAEMON_GID, &[], || fork::outcome(acct.check())), fork::OK);
    assert_eq!(as_user(NOBODY, DAEMON_GID, &[], || writable_code(acct.check_writable())), UNKNOWN_OWN_USER);
    let login = as_user(NOBODY, DAEMON_GID, &[], || {
        fork::outcome(acct.open(&Login::new("nobody", "pts/3")).and_then(|s| s.logout()))
    });
    assert_eq!(login, fork::OK, "the daemon accepts what the socket's group seemed to forbid");
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

/// SQLite writes a journal beside the database: a database file this process
/// may write, in a directory it may not, fails every write, and check() says
/// so instead of Granted.
#[cfg(feature = "wtmpdb")]
#[test]
fn a_wtmpdb_whose_directory_is_not_writable_fails_the_check() {
    if !root_or_skip("a_wtmpdb_whose_directory_is_not_writable_fails_the_check") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = dir.path().join("wtmp.db");
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o666)).unwrap();
    let acct = Accounting::empty().with_wtmpdb(&db);
    let check = as_user(NOBODY, NOBODY, &[], || fork::outcome(acct.check()));
    assert_eq!(check, fork::EPERM_FILE, "check() says what the login will meet");
    let login = as_user(NOBODY, NOBODY, &[], || fork::outcome(acct.open(&Login::new("nobody", "pts/4"))));
    assert_eq!(login, fork::EPERM_FILE);
    // And for root, who may: Granted.
    acct.check().unwrap();
}

/// A read-only mount: check() is a Permission error that says why, as the
/// login's is.
#[cfg(feature = "wtmpdb")]
#[test]
fn a_wtmpdb_on_a_read_only_mount_fails_the_check_and_says_why() {
    if !root_or_skip("a_wtmpdb_on_a_read_only_mount_fails_the_check_and_says_why") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = |args: &[&str]| std::process::Command::new("mount").args(args).status().is_ok_and(|s| s.success());
    let at = dir.path().to_str().unwrap();
    if !mount(&["-t", "tmpfs", "-o", "size=1m", "tmpfs", at]) {
        support::capability_skip(
            "SKIPPED a_wtmpdb_on_a_read_only_mount_fails_the_check_and_says_why: cannot mount a tmpfs",
        );
        return;
    }
    struct Unmount<'a>(&'a str);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(at);
    let db = dir.path().join("wtmp.db");
    let acct = Accounting::empty().with_wtmpdb(&db);
    std::fs::write(&db, b"").unwrap();
    acct.check().unwrap();
    assert!(mount(&["-o", "remount,ro", at]), "remount read-only");
    let e = acct.check().unwrap_err();
    assert_eq!(e.kind(), utmps::ErrorKind::Permission, "{e}");
    assert!(e.to_string().contains("read-only"), "{e}");
    let e = acct.open(&Login::new("root", "pts/5")).unwrap_err();
    assert_eq!(e.kind(), utmps::ErrorKind::Permission, "{e}");
}
