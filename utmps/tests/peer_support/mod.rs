//! Shared by the conformance and fault suites: where the daemons are (a fresh
//! in-process peer, or real daemons named by the environment), records with
//! names no other test uses, a raw protocol client, and running code as
//! another user in a forked child.
// Each test binary uses its own part of these helpers.
#![allow(dead_code, unused_imports)]

pub mod fork;
pub mod raw;
#[path = "../support/shared.rs"]
mod shared;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use utmps::peer::{Peer, PeerBuilder};
use utmps::{Accounting, Field, Record, RecordType};

pub use shared::{capability_skip, own_user, root_or_skip};

pub const UTMPD_ENV: &str = "UTMPS_TEST_UTMPD";
pub const WTMPD_ENV: &str = "UTMPS_TEST_WTMPD";

/// The real daemons' sockets, when the environment names both.
pub fn real_daemons() -> Option<(PathBuf, PathBuf)> {
    let u = std::env::var_os(UTMPD_ENV)?;
    let w = std::env::var_os(WTMPD_ENV)?;
    Some((u.into(), w.into()))
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).map(PathBuf::from)
}

/// What a test talks to.
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

impl Target {
    /// A fresh peer with short timeouts, or the real daemons.
    pub fn new() -> Target {
        Target::with(
            Peer::builder().payload_timeout(Duration::from_millis(300)).wtmpd_idle_timeout(Duration::from_millis(300)),
        )
    }

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

    pub fn is_real(&self) -> bool {
        self.peer.is_none()
    }

    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(|d| d.path())
    }

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
        raw::Raw::connect(&self.utmpd).all().into_iter().filter(|r| r.line.as_bytes() == line.as_bytes()).collect()
    }
}

/// A line and an id that no other test (nor another run on real daemons) uses.
pub fn unique() -> (String, [u8; 4]) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    let seed = std::process::id().wrapping_mul(2_654_435_761) ^ nanos;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=";
    let mut h = seed ^ n.wrapping_mul(0x9e37_79b9);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2c1b_3c6d);
    h ^= h >> 12;
    let id = [0, 6, 12, 18].map(|s| ALPHABET[((h >> s) & 63) as usize]);
    (format!("cf{:08x}/{}", seed, n), id)
}

pub fn field<const N: usize>(s: &[u8]) -> Field<N> {
    let mut f = [0u8; N];
    f[..s.len()].copy_from_slice(s);
    Field(f)
}

/// A record of `kind` on `line` with `id`, user `user`, now.
pub fn rec(kind: RecordType, line: &str, id: [u8; 4], user: &str) -> Record {
    let mut r = Record {
        record_type: kind,
        pid: std::process::id() as i32,
        line: field(line.as_bytes()),
        id: Field(id),
        user: field(user.as_bytes()),
        host: field(b"conformance.example"),
        ..Record::default()
    };
    r.set_time(SystemTime::now());
    r
}

/// Number of open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}
