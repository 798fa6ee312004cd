//! The writes of a native session that overlap: a logout's utmp put beside
//! its wtmp logout, within one deadline; an open's wtmpd connection made
//! ahead of its utmp put, which must leave nothing in wtmp when the put fails.

mod support;

use std::time::{Duration, Instant};

use support::{login, on_line, types};
use utmps::peer::Peer;
use utmps::{Accounting, ErrorKind, RecordType};

const TIMEOUT: Duration = Duration::from_secs(1);
/// One deadline plus a margin for a loaded machine; a second deadline (or a
/// delayed put before a whole deadline) does not fit in it.
const LIMIT: Duration = Duration::from_millis(1400);
/// Most of a deadline: a put this slow and a silent wtmpd, one after the
/// other, need far more than LIMIT.
const SLOW_PUT: Duration = Duration::from_millis(700);
const EIO: u8 = 5;

/// Waits (bounded) until the peer has begun serving `n` wtmpd connections.
fn wtmpd_connections_reach(peer: &Peer, n: usize) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while peer.wtmpd_connections() < n {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

#[test]
fn a_logout_with_a_silent_wtmpd_and_a_slow_utmpd_returns_within_one_deadline() {
    let dir = tempfile::tempdir().unwrap();
    // The login's put and the logout's put are both slow, and still fit.
    let peer = Peer::builder().delay_puts(2, SLOW_PUT).start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let session = acct.open(&login("pts/1")).expect("open");
    peer.set_wtmpd_silent(true);

    let start = Instant::now();
    let err = session.logout().expect_err("wtmpd never answers");
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "the wtmp logout's error: {err}");
    assert!(took < LIMIT, "the logout took {took:?}, more than one deadline");
    assert!(took >= SLOW_PUT, "the logout waited for the slow put: {took:?}");

    let entries = peer.utmp_records();
    let slot = on_line(&entries, "pts/1");
    assert_eq!(types(&slot), [RecordType::DEAD_PROCESS], "the utmp entry was ended: {entries:?}");
}

#[test]
fn a_logout_whose_utmp_put_fails_still_writes_the_wtmp_logout() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let session = acct.open(&login("pts/2")).expect("open");
    peer.refuse_puts(EIO);

    let err = session.logout().expect_err("utmpd refuses the put");
    assert_eq!(err.raw_os_error(), Some(i32::from(EIO)), "the utmp put's error: {err}");
    let wtmp = peer.wtmp_records();
    let on_line = on_line(&wtmp, "pts/2");
    assert_eq!(types(&on_line), [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS], "{wtmp:?}");
    let entries = peer.utmp_records();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].record_type, RecordType::USER_PROCESS, "the refused put changed nothing");
}

#[test]
fn when_both_logout_writes_fail_the_utmp_error_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path()).unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let session = acct.open(&login("pts/3")).expect("open");
    // utmp fails at once, wtmp only at the deadline: the order is the
    // stores', not the order in which the failures came.
    peer.refuse_puts(EIO);
    peer.set_wtmpd_silent(true);

    let start = Instant::now();
    let err = session.logout().expect_err("both fail");
    let took = start.elapsed();
    assert_eq!(err.raw_os_error(), Some(i32::from(EIO)), "the utmp put's error: {err}");
    assert!(took >= TIMEOUT.mul_f32(0.9), "the wtmp logout was attempted and waited for: {took:?}");
    assert!(took < LIMIT, "the logout took {took:?}");
}

#[test]
fn an_open_whose_utmp_put_fails_leaves_wtmp_empty_though_wtmpd_was_connected() {
    let dir = tempfile::tempdir().unwrap();
    let mut peer = Peer::start(dir.path()).unwrap();
    peer.refuse_puts(EIO);
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);

    let err = acct.open(&login("pts/4")).map(drop).expect_err("utmpd refuses the put");
    assert_eq!(err.raw_os_error(), Some(i32::from(EIO)), "{err}");
    assert!(wtmpd_connections_reach(&peer, 1), "the open connected to wtmpd ahead of its utmp put");
    assert!(Accounting::wait_for_take_backs(Duration::from_secs(20)));
    peer.stop(); // joins the wtmpd connection's thread: its file is final
    assert!(peer.wtmp_records().is_empty(), "{:?}", peer.wtmp_records());
    assert!(peer.utmp_records().is_empty(), "{:?}", peer.utmp_records());
}

#[test]
fn a_wtmpd_connection_closed_while_utmp_was_written_is_made_again() {
    let dir = tempfile::tempdir().unwrap();
    // wtmpd gives up on the connection made ahead before the slow put ends.
    let peer = Peer::builder()
        .wtmpd_idle_timeout(Duration::from_millis(100))
        .delay_puts(1, Duration::from_millis(400))
        .start(dir.path())
        .unwrap();
    let acct = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let session = acct.open(&login("pts/5")).expect("the open connects to wtmpd again");
    assert_eq!(peer.wtmpd_connections(), 2, "one connection ahead, closed idle; one for the login");
    session.logout().expect("logout");
    let wtmp = peer.wtmp_records();
    assert_eq!(types(&on_line(&wtmp, "pts/5")), [RecordType::USER_PROCESS, RecordType::DEAD_PROCESS], "{wtmp:?}");
}

#[test]
fn sessions_on_files_and_daemons_write_every_record() {
    // Many sessions back to back, logged out both ways, on a handle whose
    // logout overlaps its writes and on one whose logout does not: nothing lost.
    let dir = tempfile::tempdir().unwrap();
    let peer = Peer::start(dir.path().join("peer")).unwrap();
    let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
    for path in [&utmp, &wtmp] {
        std::fs::File::create(path).unwrap();
    }
    let files = Accounting::files(&utmp, &wtmp).expect("a utmp file backend");
    let native = Accounting::native(peer.utmpd_socket(), peer.wtmpd_socket()).with_timeout(TIMEOUT);
    let peer_wtmp = || peer.wtmp_records().len();
    let file_wtmp = || utmps::files::read(&wtmp, None, TIMEOUT).expect("wtmp file").records.len();
    let handles: [(&Accounting, &dyn Fn() -> usize); 2] = [(&native, &peer_wtmp), (&files, &file_wtmp)];
    for (acct, wtmp_len) in handles {
        for n in 0..20 {
            let session = acct.open(&login(&format!("pts/{}", 100 + n))).expect("open");
            match n % 2 {
                0 => session.logout().expect("logout"),
                _ => drop(session),
            }
        }
        assert_eq!(wtmp_len(), 40, "{:?}: a login and a logout per session", acct.backend());
        assert!(acct.who(false).unwrap().is_empty(), "{:?}: no live entry left", acct.backend());
    }
}
