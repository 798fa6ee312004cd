//! Helpers shared by the integration tests. Each test binary includes this
//! module (`mod support;`) and uses its own part of it:
//!
//! - [`skip`]: reporting a skipped check (`skipped!`, [`capability_skip`]) and
//!   the root check;
//! - [`user`]: the users the tests log in or run as;
//! - [`files`]: temporary utmp, wtmp and lastlog files for the libc flavour,
//!   and FIFOs;
//! - [`daemons`]: what a test talks to, a fresh in-process peer or the real
//!   daemons the environment names;
//! - [`records`]: records on lines and ids no other test uses;
//! - [`raw`]: a minimal client of the utmps protocol on std sockets;
//! - [`live`]: the live entries in utmp, and the guard that ends a test's;
//! - [`fork`]: code run as another user in a forked child, and a lock held by
//!   another process;
//! - [`process`]: this process's descriptors, and a pid that is gone;
//! - [`serial`]: one test at a time;
//! - [`time`]: deadlines, and calls timed on another thread;
//! - [`cwd`]: the current directory, for the tests of relative paths;
//! - [`tools`]: the system's own tools, skipped where missing;
//! - [`sqlite`]: a wtmpdb row to ask for where a logout must be refused.
//!
//! Every test binary compiles the whole module and uses only part of it, hence
//! `dead_code` and `unused_imports` are allowed here.
#![allow(dead_code, unused_imports)]

pub mod cwd;
pub mod daemons;
pub mod files;
pub mod fork;
pub mod live;
pub mod process;
pub mod raw;
pub mod records;
pub mod serial;
pub mod skip;
#[cfg(feature = "wtmpdb")]
pub mod sqlite;
pub mod time;
pub mod tools;
pub mod user;

pub use daemons::real_daemons;
#[cfg(all(feature = "native", feature = "test-peer"))]
pub use daemons::{delayed_writes_done, Target};
pub use files::{glibc_records, iso_utc, mkfifo, Files};
pub use process::{dead_pid, open_fds};
pub use records::{field, on_line, rec, types, unique};
pub use serial::{serial, serial_after_take_backs};
pub use skip::{capability_skip, root_or_skip};
#[cfg(feature = "wtmpdb")]
pub use sqlite::scratch_row;
pub use time::{in_secs, soon, timed_on_thread};
pub use tools::{lastb, sqlite3_cli, system_tool};
pub use user::{login, own_user, NOBODY, USER};
