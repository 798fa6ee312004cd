//! libxutmp's utmps flavour (libutmps) and the native client must put the same
//! bytes on disk. Both talk to an in-process peer here, so the files can be
//! compared byte for byte. libutmps cannot be installed on the CI machines, so
//! the test is `#[ignore]`d there; run it with `--ignored` in a build made with
//! `XUTMP_FLAVOUR=utmps` and libutmps on pkg-config's path.
#![cfg(all(feature = "xutmp", feature = "native", feature = "test-peer"))]

use std::time::{Duration, UNIX_EPOCH};

use utmps::layout::UTMPS_RECORD_SIZE;
use utmps::peer::Peer;
use utmps::{Accounting, BackendKind, Login};

/// One session with fixed inputs; returns the peer's utmp and wtmp bytes.
fn session_bytes(acct: &Accounting, peer: &Peer) -> (Vec<u8>, Vec<u8>) {
    let login = Login::new("root", "pts/77")
        .host("parity.example")
        .addr("2001:db8::77".parse().unwrap())
        .pid(4242)
        .session(4243)
        .time(UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456));
    let session = acct.open(&login).unwrap();
    session.logout().unwrap();
    let utmp = std::fs::read(peer.utmp_path()).unwrap();
    let wtmp = std::fs::read(peer.wtmp_path()).unwrap();
    (utmp, wtmp)
}

/// The logout's time is "now": blank the time fields of every record.
fn without_times(mut bytes: Vec<u8>) -> Vec<u8> {
    for record in bytes.chunks_exact_mut(UTMPS_RECORD_SIZE) {
        record[344..360].fill(0);
    }
    bytes
}

#[test]
#[ignore = "needs libxutmp built with XUTMP_FLAVOUR=utmps against libutmps; run with --ignored"]
fn xutmp_utmps_and_native_write_identical_bytes() {
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let peers = (Peer::start(dirs.0.path()).unwrap(), Peer::start(dirs.1.path()).unwrap());
    let xutmp = Accounting::xutmp(peers.0.utmpd_socket(), peers.0.wtmpd_socket()).unwrap();
    assert_eq!(xutmp.backend(), BackendKind::XutmpUtmps, "this build's libxutmp is not the utmps flavour");
    let native = Accounting::native(peers.1.utmpd_socket(), peers.1.wtmpd_socket());

    let (x_utmp, x_wtmp) = session_bytes(&xutmp, &peers.0);
    let (n_utmp, n_wtmp) = session_bytes(&native, &peers.1);
    assert_eq!(x_wtmp.len(), 2 * UTMPS_RECORD_SIZE);
    assert_eq!(x_wtmp[..UTMPS_RECORD_SIZE], n_wtmp[..UTMPS_RECORD_SIZE], "the login records differ");
    assert_eq!(without_times(x_wtmp), without_times(n_wtmp), "the logout records differ");
    assert_eq!(without_times(x_utmp), without_times(n_utmp), "the utmp files differ");
}
