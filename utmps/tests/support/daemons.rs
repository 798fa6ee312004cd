//! What a test talks to: a fresh in-process peer, or the real daemons whose
//! sockets (and files, and group) the environment names.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[cfg(all(feature = "native", feature = "test-peer"))]
use utmps::peer::{Peer, PeerBuilder};
use utmps::{Accounting, Record};

use super::live::{self, EndOnDrop};
use super::{raw, records};

/// The variables that name the real daemons' sockets.
pub const UTMPD_ENV: &str = "UTMPS_TEST_UTMPD";
pub const WTMPD_ENV: &str = "UTMPS_TEST_WTMPD";

/// The real daemons' sockets, when the environment names both.
pub fn real_daemons() -> Option<(PathBuf, PathBuf)> {
    let u = std::env::var_os(UTMPD_ENV)?;
    let w = std::env::var_os(WTMPD_ENV)?;
    Some((u.into(), w.into()))
}

/// The path the variable `name` holds, if set.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).map(PathBuf::from)
}

/// What a test talks to. A test ends every live entry it writes (see
/// [`Target::end_on`]); on a peer, dropping the target checks that none is
/// left, so each test that passes shows it ended what it wrote.
#[cfg(all(feature = "native", feature = "test-peer"))]
pub struct Target {
    pub peer: Option<Peer>,
    dir: Option<tempfile::TempDir>,
    pub utmpd: PathBuf,
    pub wtmpd: PathBuf,
    /// The files behind the daemons, when known (always for the peer).
    pub utmp_file: Option<PathBuf>,
    pub wtmp_file: Option<PathBuf>,
    /// utmpd's effective gid, when known (always for the peer).
    pub daemon_gid: Option<u32>,
}

#[cfg(all(feature = "native", feature = "test-peer"))]
impl Target {
    /// A fresh peer with short timeouts, or the real daemons.
    pub fn new() -> Target {
        Target::with(
            Peer::builder().payload_timeout(Duration::from_millis(300)).wtmpd_idle_timeout(Duration::from_millis(300)),
        )
    }

    /// A peer started from `builder`, or the real daemons.
    pub fn with(builder: PeerBuilder) -> Target {
        if let Some((utmpd, wtmpd)) = real_daemons() {
            return Target {
                peer: None,
                dir: None,
                utmpd,
                wtmpd,
                utmp_file: env_path("UTMPS_TEST_UTMP_FILE"),
                wtmp_file: env_path("UTMPS_TEST_WTMP_FILE"),
                daemon_gid: std::env::var("UTMPS_TEST_DAEMON_GID").ok().and_then(|g| g.parse().ok()),
            };
        }
        let dir = tempfile::tempdir().unwrap();
        // Children running as other users must reach the sockets.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let peer = builder.start(dir.path()).unwrap();
        Target {
            utmpd: peer.utmpd_socket().to_path_buf(),
            wtmpd: peer.wtmpd_socket().to_path_buf(),
            utmp_file: Some(peer.utmp_path().to_path_buf()),
            wtmp_file: Some(peer.wtmp_path().to_path_buf()),
            daemon_gid: Some(peer.daemon_gid()),
            peer: Some(peer),
            dir: Some(dir),
        }
    }

    /// True on real daemons.
    pub fn is_real(&self) -> bool {
        self.peer.is_none()
    }

    /// The peer's directory (none on real daemons).
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(|d| d.path())
    }

    /// The native client on the target's sockets.
    pub fn acct(&self) -> Accounting {
        Accounting::native(&self.utmpd, &self.wtmpd)
    }

    /// The peer, or a printed SKIPPED line on real daemons.
    pub fn peer_only(&self, test: &str) -> Option<&Peer> {
        if self.peer.is_none() {
            crate::skipped!("SKIPPED {test} against real daemons: it needs the in-process peer");
        }
        self.peer.as_ref()
    }

    /// The wtmp file, or a printed SKIPPED line.
    pub fn wtmp_file_or_skip(&self, test: &str) -> Option<PathBuf> {
        if self.wtmp_file.is_none() {
            crate::skipped!("SKIPPED {test}: UTMPS_TEST_WTMP_FILE unset");
        }
        self.wtmp_file.clone()
    }

    /// utmpd's gid, or a printed SKIPPED line.
    pub fn daemon_gid_or_skip(&self, test: &str) -> Option<u32> {
        if self.daemon_gid.is_none() {
            crate::skipped!("SKIPPED {test}: UTMPS_TEST_DAEMON_GID unset");
        }
        self.daemon_gid
    }

    /// The records of utmp on `line`, read through utmpd.
    pub fn on_line(&self, line: &str) -> Vec<Record> {
        records::on_line(&raw::Raw::connect(&self.utmpd).all(), line).into_iter().cloned().collect()
    }

    /// A guard that ends, when dropped, every live entry on `lines`: the lines
    /// the test writes live entries on, or tries to.
    pub fn end_on<L: AsRef<[u8]>>(&self, lines: impl IntoIterator<Item = L>) -> EndOnDrop<'_> {
        EndOnDrop::new(&self.utmpd, lines)
    }

    /// The live entries in the peer's utmp, as `type line id` (none on real daemons).
    pub fn live_left(&self) -> Vec<String> {
        self.peer.as_ref().map(|p| live::describe_live(&p.utmp_records())).unwrap_or_default()
    }
}

#[cfg(all(feature = "native", feature = "test-peer"))]
impl Drop for Target {
    /// Fails the test that left a live entry in its peer, unless it already
    /// failed. A test's guards borrow the target, so they have ended their
    /// entries by now.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let left = self.live_left();
        let first = &left[..left.len().min(3)];
        assert!(left.is_empty(), "the test left {} live entries in utmp, among them {first:?}", left.len());
    }
}

/// Waits (at most `limit`) until the peer has answered every write it
/// delayed: only then is its file in its final state.
#[cfg(all(feature = "native", feature = "test-peer"))]
pub fn delayed_writes_done(peer: &Peer, limit: Duration) {
    let deadline = Instant::now() + limit;
    while peer.delayed_writes_in_flight() > 0 {
        assert!(Instant::now() < deadline, "the peer's delayed write never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
}
