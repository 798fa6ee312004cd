//! Helpers shared by the integration tests. Each test binary includes this
//! module (`mod support;`) and uses its own part of it:
//!
//! - [`skip`]: reporting a skipped check (`skipped!`, [`capability_skip`]) and
//!   the root check;
//! - [`user`]: the users the tests log in or run as;
//! - [`files`]: temporary utmp, wtmp and lastlog files for the libc flavour;
//! - [`daemons`]: what a test talks to, a fresh in-process peer or the real
//!   daemons the environment names;
//! - [`records`]: records on lines and ids no other test uses;
//! - [`raw`]: a minimal client of the utmps protocol on std sockets;
//! - [`fork`]: code run as another user in a forked child, and a lock held by
//!   another process;
//! - [`process`]: what this process holds.
//!
//! Every test binary compiles the whole module and uses only part of it, hence
//! `dead_code` and `unused_imports` are allowed here.
#![allow(dead_code, unused_imports)]

pub mod daemons;
pub mod files;
pub mod fork;
pub mod process;
pub mod raw;
pub mod records;
pub mod skip;
pub mod user;

pub use daemons::real_daemons;
#[cfg(all(feature = "native", feature = "test-peer"))]
pub use daemons::Target;
pub use files::{iso_utc, Files};
pub use process::open_fds;
pub use records::{field, rec, unique};
pub use skip::{capability_skip, root_or_skip};
pub use user::{own_user, USER};
