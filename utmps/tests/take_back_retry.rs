//! The background undo of a failed open is not bound by the open's deadline:
//! it is tried again while the daemon is busy or full, and
//! `wait_for_take_backs` says true only once nothing is left to undo
//! (RELIABILITY 11).

mod support;

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use support::{delayed_writes_done, login, on_line, serial_after_take_backs, types};
use utmps::peer::Peer;
use utmps::{Accounting, ErrorKind, Record, RecordType};

const TIMEOUT: Duration = Duration::from_secs(1);
/// Longer than TIMEOUT: the delayed write lands after the open gave up.
const LATE: Duration = Duration::from_millis(1500);
/// How long a blocked daemon is kept blocked: more than the open's deadline
/// plus the time its write takes to land, so that an undo bound by the open's
/// deadline would have given up.
const BLOCKED: Duration = Duration::from_secs(3);
/// Far more than any take-back here needs once the daemon serves again.
const SETTLE: Duration = Duration::from_secs(30);

fn live(records: &[Record]) -> Vec<&Record> {
    records.iter().filter(|r| r.is_user_process()).collect()
}

/// Waits (bounded) until `line` has a live entry in the peer's file.
fn entry_landed(peer: &Peer, line: &str) {
    let deadline = Instant::now() + SETTLE;
    while !on_line(&peer.utmp_records(), line).iter().any(|r| r.is_user_process()) {
        assert!(Instant::now() < deadline, "the login never landed");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_late_put_is_taken_back_once_a_full_daemon_serves_again() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::builder().max_connections(2).delay_puts(1, LATE).start(dir.path()).unwrap();
    // Any local user can hold a connection slot.
    let idle_a = UnixStream::connect(peer.utmpd_socket()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let err = acct.open(&login("pts/1")).map(drop).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    // Queued now, it takes the slot the late put frees, ahead of the undo.
    let idle_c = UnixStream::connect(peer.utmpd_socket()).unwrap();

    assert!(!Accounting::wait_for_take_backs(BLOCKED), "finished while the undo could not be sent");
    delayed_writes_done(&peer, SETTLE);
    assert_eq!(live(&peer.utmp_records()).len(), 1, "the late login landed: {:?}", peer.utmp_records());

    drop((idle_a, idle_c));
    assert!(Accounting::wait_for_take_backs(SETTLE), "the take-back did not finish once the daemon served again");
    let entries = peer.utmp_records();
    assert!(live(&entries).is_empty(), "a live entry was left: {entries:?}");
    let slot = on_line(&entries, "pts/1");
    assert_eq!(slot.len(), 1, "{entries:?}");
    assert_eq!(slot[0].record_type, RecordType::DEAD_PROCESS);
}

#[test]
fn wait_for_take_backs_says_false_while_a_utmp_undo_is_blocked() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::builder().max_connections(1).delay_appends(1, LATE).start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let open = {
        let acct = acct.clone();
        std::thread::spawn(move || acct.open(&login("pts/2")).map(drop))
    };
    // The put is done and the open waits on wtmpd, its deadline spent there:
    // the utmp undo is left to the background, where utmpd's one slot is taken.
    entry_landed(&peer, "pts/2");
    let idle = UnixStream::connect(peer.utmpd_socket()).unwrap();
    let err = open.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");

    assert!(!Accounting::wait_for_take_backs(BLOCKED), "finished while utmpd could not take the undo");
    assert_eq!(live(&peer.utmp_records()).len(), 1, "nothing undone yet");
    drop(idle);
    assert!(Accounting::wait_for_take_backs(SETTLE), "the take-back did not finish once utmpd served again");
    delayed_writes_done(&peer, SETTLE);

    let entries = peer.utmp_records();
    assert!(live(&entries).is_empty(), "a live entry was left: {entries:?}");
    let wtmp = peer.wtmp_records();
    let types: Vec<RecordType> = wtmp.iter().map(|r| r.record_type).collect();
    assert_eq!(types, [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS], "login, then logout: {wtmp:?}");
}

#[test]
fn failed_opens_with_tiny_timeouts_leave_nothing_live() {
    let _g = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap();
    let mut failed = Vec::new();
    for i in 0..200u64 {
        let line = format!("pts/{i}");
        let timeout = Duration::from_micros(i * 5);
        let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(timeout);
        // A session that did open is logged out by a handle that can wait:
        // its logout is not what this test is about.
        match acct.open(&login(&line)) {
            Ok(session) => drop(session),
            Err(_) => failed.push(line),
        }
    }
    assert!(failed.len() >= 100, "most of these opens should fail; {} did", failed.len());
    assert!(Accounting::wait_for_take_backs(SETTLE), "the take-backs did not finish");

    let entries = peer.utmp_records();
    let wtmp = peer.wtmp_records();
    for line in &failed {
        let slot = on_line(&entries, line);
        assert!(slot.iter().all(|r| !r.is_user_process()), "{line} is still live: {slot:?}");
        let history = on_line(&wtmp, line);
        let logins = history.iter().filter(|r| r.is_user_process()).count();
        assert_eq!(logins * 2, history.len(), "{line}: every login has one logout: {history:?}");
        if let Some(first) = history.first() {
            assert!(first.is_user_process(), "{line}: the logout came before its login: {history:?}");
        }
    }
}

/// A failed open whose utmp entry landed, but whose answer came only after a
/// second login had taken the same line: the late undo leaves the second
/// login's entry live (it ends only the entry of the login it takes back).
#[test]
fn a_late_take_back_does_not_end_a_newer_login_on_the_same_line() {
    let _serial = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    // The first put is written at once and answered well after the open gave
    // up, leaving time for a second open on a loaded machine.
    let peer = Peer::builder().delay_put_answers(1, TIMEOUT * 3).start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let err = acct.open(&login("pts/30")).map(drop).expect_err("no answer by the deadline");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    // The first login's answer is still held back; the line is free again.
    assert_eq!(peer.delayed_writes_in_flight(), 1, "the first put's answer came already");
    let second = acct.open(&login("pts/30")).expect("a new login on the line");
    assert_eq!(peer.delayed_writes_in_flight(), 1, "the second login was made while the first was unanswered");

    assert!(Accounting::wait_for_take_backs(SETTLE), "the take-back never finished");
    let entries = peer.utmp_records();
    let slot = on_line(&entries, "pts/30");
    assert_eq!(slot.len(), 1, "{entries:?}");
    assert!(slot[0].is_user_process(), "the newer login was ended: {entries:?}");
    assert_eq!(slot[0].time(), second.record().time(), "the slot holds the newer login: {entries:?}");
    second.logout().expect("logout");
}

/// The read before a late take-back only guards a newer login: when it fails
/// (here utmp has grown past what a read takes), the entry is ended anyway.
#[test]
fn a_take_back_that_cannot_read_utmp_still_ends_the_entry() {
    use std::io::Write;

    let _serial = serial_after_take_backs();
    let dir = tempfile::tempdir().unwrap();
    // The open's put lands well after the open gave up.
    let peer = Peer::builder().delay_puts(1, TIMEOUT * 3).start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let err = acct.open(&login("pts/31")).map(drop).expect_err("no answer by the deadline");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");

    let filler = Record {
        record_type: RecordType::DEAD_PROCESS,
        line: utmps::Field::new(b"filler").unwrap(),
        id: utmps::Field::new(b"fill").unwrap(),
        ..Record::default()
    };
    let one = utmps::layout::Layout::Utmps.encode(&filler).unwrap();
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(peer.utmp_path()).unwrap();
    file.write_all(&one.repeat(utmps::MAX_UTMP_ENTRIES + 10)).unwrap();
    drop(file);
    assert_eq!(peer.delayed_writes_in_flight(), 1, "utmp was filled after the put landed");

    assert!(Accounting::wait_for_take_backs(SETTLE), "the take-back never finished");
    let entries = peer.utmp_records();
    let slot = on_line(&entries, "pts/31");
    assert_eq!(types(&slot), [RecordType::DEAD_PROCESS], "the failed login was ended");
}
