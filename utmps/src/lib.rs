//! Login accounting for daemons that hand out sessions: SSH and mosh-like servers,
//! web terminals, container shells. A [`Session`] guard records a login where
//! `who`, `w` and `last` look (a utmp entry while it lives, wtmp login and logout
//! records, lastlog on request) and logs out when it is closed or dropped.
//!
//! Backends:
//! - **utmps**, the secure utmpx of musl systems such as Alpine: two daemons behind
//!   Unix sockets, reached through libxutmp's utmps flavour (feature `xutmp`) or the
//!   pure-Rust client (feature `native`), with a deadline on every operation;
//! - **glibc**'s file-based utmpx, through libxutmp's libc flavour (feature `xutmp`);
//! - **wtmpdb** and **lastlog2**, the SQLite history and last-login databases of
//!   Debian 13, Ubuntu 26.04 and openSUSE, which keep no utmp (feature `wtmpdb`).
//!
//! A handle combines the stores a host keeps, each with a role (live sessions,
//! history, last login, failed logins); [`Accounting::system`] finds them at
//! run time and [`Accounting::stores`] says which it took.
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
//!
//! # Errors
//! Every failure is an [`Error`]: its [`kind`](Error::kind), the operation and the
//! endpoint, a one-line `Display`, the OS error as its `source()`, and what to do
//! about it as [`Error::remedy`].
//!
//! # Background
//! [`notes::protocol`] is what this crate relies on in the utmps daemons' wire
//! protocol; [`notes::reliability`] lists, by number, the promises the tests check.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(rust_2018_idioms)]

mod accounting;
#[cfg(feature = "tokio")]
mod async_session;
mod backend;
pub mod btmp;
mod error;
pub mod files;
pub mod last;
pub mod lastlog;
pub mod layout;
pub mod leader;
mod login;
pub mod notes;
mod paths;
#[cfg(feature = "test-peer")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-peer")))]
pub mod peer;
#[doc(hidden)]
pub mod protocol;
pub mod pty;
mod record;
mod role;
mod session;
#[cfg(feature = "wtmpdb")]
mod sqlite;
mod store;
pub mod stream;
mod sys;
mod take_back;

/// Internals exposed for fuzzing, property tests and benchmarks; not a stable API.
#[cfg(feature = "native")]
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::backend::native::{read_utmp_windowed, READ_WINDOW};
    pub use crate::protocol::{decode_answers, Answer, Decoded};
}

pub use accounting::Accounting;
pub use backend::{BackendKind, WriteAccess, WriteCheck, MAX_UTMP_ENTRIES};
pub use error::{Error, ErrorKind, PermissionRule, Result};
pub use login::Login;
pub use paths::{DEFAULT_TIMEOUT, LASTLOG_FILE, UTMPD_SOCKET, UTMP_FILE, WTMPD_SOCKET, WTMP_FILE};
pub use record::{is_unsafe_char, Exit, Field, Record, RecordType};
pub use role::{Role, StoreInfo, StoreKind};
pub use session::Session;
#[cfg(feature = "wtmpdb")]
pub use sqlite::{lastlog2, wtmpdb};
pub use store::DEFAULT_PAM_SERVICE;
pub use sys::process::pid_alive;
