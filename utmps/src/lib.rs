//! Login accounting for daemons that hand out sessions: SSH and mosh-like servers,
//! web terminals, container shells. A [`Session`] guard records a login where
//! `who`, `w` and `last` look (a utmp entry while it lives, wtmp login and logout
//! records, lastlog on request) and logs out when it is closed or dropped.
//!
//! Backends:
//! - **utmps**, the secure utmpx of musl systems such as Alpine: two daemons behind
//!   Unix sockets, reached through libxutmp's utmps flavour (feature `xutmp`) or the
//!   pure-Rust client (feature `native`), with a deadline on every operation;
//! - **glibc**'s file-based utmpx, through libxutmp's libc flavour (feature `xutmp`).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
//! # std::fs::File::create(&utmp)?; std::fs::File::create(&wtmp)?;
//! use utmps::{Accounting, Login};
//!
//! let acct = Accounting::files(&utmp, &wtmp)?; // or Accounting::system()?
//! let session = acct.open(&Login::new("alice", "/dev/pts/3").host("client.example.org"))?;
//! assert_eq!(acct.who(false)?.len(), 1);
//! session.logout()?; // or drop it; log out before releasing the pty
//! assert!(acct.who(false)?.is_empty());
//! # Ok(()) }
//! ```
//!
//! # Permissions
//! - glibc files: root, or a process whose group may write `/var/run/utmp` and
//!   `/var/log/wtmp` (usually setgid `utmp`).
//! - utmps: utmpd writes only for root or a client whose EFFECTIVE gid is the
//!   daemon's (supplementary groups do not count); wtmpd appends for non-root only
//!   records whose user is the caller's own user name.
//! - In containers there is often neither a daemon nor a utmp file;
//!   [`Accounting::check`] says so at start-up instead of failing at the first login.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(rust_2018_idioms)]
// Without a backend only the file readers are usable; the session code stays compiled
// so that the API is the same in every build.
#![cfg_attr(not(any(feature = "xutmp", feature = "native")), allow(dead_code))]

mod accounting;
#[cfg(feature = "tokio")]
mod async_session;
mod backend;
pub mod btmp;
mod error;
pub mod files;
pub mod last;
pub mod lastlog;
#[cfg(feature = "wtmpdb")]
pub mod lastlog2;
pub mod layout;
mod login;
#[cfg(feature = "test-peer")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-peer")))]
pub mod peer;
#[doc(hidden)]
pub mod protocol;
mod record;
mod session;
#[cfg(feature = "wtmpdb")]
mod sqlite;
mod sys;
mod take_back;
#[cfg(feature = "wtmpdb")]
pub mod wtmpdb;

/// Internals exposed for fuzzing, property tests and benchmarks; not a stable API.
#[cfg(feature = "native")]
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::backend::native::{read_utmp_windowed, READ_WINDOW};
    pub use crate::protocol::{decode_answers, Answer, Decoded};
}

pub use accounting::{
    pid_alive, Accounting, DEFAULT_TIMEOUT, LASTLOG_FILE, UTMPD_SOCKET, UTMP_FILE, WTMPD_SOCKET, WTMP_FILE,
};
pub use backend::{BackendKind, WriteAccess, WriteCheck, MAX_UTMP_ENTRIES};
pub use error::{Error, ErrorKind, PermissionRule, Result};
pub use login::Login;
pub use record::{is_unsafe_char, Exit, Field, Record, RecordType};
pub use session::Session;
