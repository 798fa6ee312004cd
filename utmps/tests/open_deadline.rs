//! A failed open returns within its deadline, and what it may have written is
//! taken back afterwards, never before the write it undoes (RELIABILITY 20b).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use support::{delayed_writes_done, fork, login, on_line, serial_after_take_backs, timed_on_thread, NOBODY};
use utmps::peer::Peer;
use utmps::{Accounting, ErrorKind, RecordType};

const TIMEOUT: Duration = Duration::from_secs(1);
/// The deadline plus a margin for a loaded machine; the take-back's own
/// deadline (another second) would not fit in it.
const LIMIT: Duration = Duration::from_millis(1300);
/// Longer than TIMEOUT: the delayed write lands after the open gave up.
const LATE: Duration = Duration::from_millis(1600);
/// Far more than any take-back here needs (LATE plus a few writes).
const SETTLE: Duration = Duration::from_secs(20);

/// Opens on a new thread; the error and how long the open took.
fn failed_open_on_thread(acct: &Accounting, line: &str) -> (utmps::Error, Duration) {
    let (acct, login) = (acct.clone(), login(line));
    let (r, took) = timed_on_thread(move || acct.open(&login).map(drop));
    (r.expect_err("the open must fail"), took)
}

#[test]
fn open_against_a_silent_daemon_returns_within_its_deadline_from_any_thread() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::builder().silent(true).start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);

    let start = Instant::now();
    let err = acct.open(&login("pts/1")).map(drop).unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(took < LIMIT, "open on the calling thread took {took:?}");

    let (err, took) = failed_open_on_thread(&acct, "pts/2");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(took < LIMIT, "open on a spawned thread took {took:?}");
    drop(peer); // ends the connections the take-backs wait on
                // The undos are tried again until a daemon serves them.
    let restarted = Peer::start(dir.path()).unwrap();
    assert!(Accounting::wait_for_take_backs(SETTLE));
    assert!(restarted.utmp_records().iter().all(|r| !r.is_user_process()), "{:?}", restarted.utmp_records());
}

#[test]
fn open_against_a_silent_wtmpd_returns_within_its_deadline() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let live = Peer::start(dir.path().join("live")).unwrap();
    let silent = Peer::builder().silent(true).start(dir.path().join("silent")).unwrap();
    let acct = Accounting::native(live.utmpd_socket(), silent.wtmpd_socket()).with_timeout(TIMEOUT);
    let (err, took) = failed_open_on_thread(&acct, "pts/3");
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(took < LIMIT, "open took {took:?}");
    drop(silent);
    // The logout is tried again until a wtmpd serves it.
    let restarted = Peer::start(dir.path().join("silent")).unwrap();
    assert!(Accounting::wait_for_take_backs(SETTLE));
    let wtmp = restarted.wtmp_records();
    assert_eq!(wtmp.len(), 1, "the logout, once: {wtmp:?}");
    let entries = live.utmp_records();
    let slot = on_line(&entries, "pts/3");
    assert_eq!(slot.len(), 1, "{entries:?}");
    assert_eq!(slot[0].record_type, RecordType::DEAD_PROCESS, "the entry was taken back");
}

#[test]
fn a_late_utmp_put_is_taken_back_after_it_landed_in_its_slot() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::builder().delay_puts(1, LATE).start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let (err, took) = failed_open_on_thread(&acct, "pts/4");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(took < LIMIT, "open took {took:?}");
    assert!(Accounting::wait_for_take_backs(SETTLE), "the take-back did not finish");
    delayed_writes_done(&peer, SETTLE);

    let entries = peer.utmp_records();
    // An undo sent at once lands first; the late login then takes over its
    // slot and stays live.
    let slot = on_line(&entries, "pts/4");
    assert_eq!(slot.len(), 1, "one slot for the line: {entries:?}");
    assert_eq!(slot[0].record_type, RecordType::DEAD_PROCESS, "the login was ended after it landed: {entries:?}");
    assert!(acct.who(false).unwrap().is_empty(), "no live entry is left");
    assert!(peer.wtmp_records().is_empty(), "the open stopped before wtmp");
}

#[test]
fn a_late_wtmp_login_gets_its_logout_after_it() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::builder().delay_appends(1, LATE).start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let (err, took) = failed_open_on_thread(&acct, "pts/5");
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(took < LIMIT, "open took {took:?}");
    assert!(Accounting::wait_for_take_backs(SETTLE), "the take-back did not finish");
    delayed_writes_done(&peer, SETTLE);

    let wtmp = peer.wtmp_records();
    let types: Vec<RecordType> = wtmp.iter().map(|r| r.record_type).collect();
    assert_eq!(types, [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS], "login, then logout: {wtmp:?}");
    assert_eq!(wtmp[0].line, wtmp[1].line);
    assert_eq!(wtmp[1].user, wtmp[0].user, "the logout keeps the user, as wtmpd wants");
    let entries = peer.utmp_records();
    let slot = on_line(&entries, "pts/5");
    assert_eq!(slot.len(), 1, "{entries:?}");
    assert_eq!(slot[0].record_type, RecordType::DEAD_PROCESS);
}

#[test]
fn a_failed_wtmp_append_ends_the_utmp_entry_in_the_background() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), dir.path().join("no-wtmpd")).with_timeout(TIMEOUT);
    let (err, took) = failed_open_on_thread(&acct, "pts/6");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(took < LIMIT, "open took {took:?}");
    assert!(Accounting::wait_for_take_backs(SETTLE));
    let entries = peer.utmp_records();
    let slot = on_line(&entries, "pts/6");
    assert_eq!(slot.len(), 1, "{entries:?}");
    assert_eq!(slot[0].record_type, RecordType::DEAD_PROCESS);
}

#[test]
fn a_refused_put_is_not_taken_back() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // SAFETY: getegid and geteuid have no preconditions.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let peer = Peer::builder().daemon_gid(egid.wrapping_add(1)).start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let refused = || {
        let code = fork::outcome(acct.open(&login("pts/8")).map(drop));
        match Accounting::wait_for_take_backs(SETTLE) {
            true => code,
            false => fork::OTHER,
        }
    };
    // Root may always write; a non-root client is needed, in a child.
    let code = match euid {
        0 => fork::as_user(NOBODY, NOBODY, &[], refused),
        _ => refused(),
    };
    assert_eq!(code, fork::EPERM_UTMPD_GROUP);
    assert!(peer.utmp_records().is_empty(), "nothing written, nothing undone: {:?}", peer.utmp_records());
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn libc_flavour_a_failed_wtmp_append_ends_the_utmp_entry_in_the_background() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let utmp = dir.path().join("utmp");
    std::fs::File::create(&utmp).unwrap();
    let acct = match Accounting::files(&utmp, dir.path().join("missing-wtmp")) {
        Ok(acct) => acct.with_timeout(TIMEOUT),
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            support::capability_skip(&format!("SKIPPED libc flavour take-back: {e}"));
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let (err, took) = failed_open_on_thread(&acct, "pts/7");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(err.operation(), "wtmp append", "{err}");
    assert!(took < LIMIT, "open took {took:?}");
    assert!(Accounting::wait_for_take_backs(SETTLE));
    let entries = acct.entries().unwrap();
    let slot = on_line(&entries, "pts/7");
    assert_eq!(slot.len(), 1, "{entries:?}");
    assert_eq!(slot[0].record_type, RecordType::DEAD_PROCESS, "the utmp entry was ended");
}
