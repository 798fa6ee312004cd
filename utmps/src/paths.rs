//! Where the stores of a host are, and the default deadline.

use std::time::Duration;

/// The deadline of each operation unless [`Accounting::with_timeout`](crate::Accounting::with_timeout) says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default utmpd socket of utmps.
pub const UTMPD_SOCKET: &str = "/run/utmps/.utmpd-socket";
/// Default wtmpd socket of utmps.
pub const WTMPD_SOCKET: &str = "/run/utmps/.wtmpd-socket";
/// glibc's utmp file.
pub const UTMP_FILE: &str = "/var/run/utmp";
/// glibc's wtmp file.
pub const WTMP_FILE: &str = "/var/log/wtmp";
/// The lastlog file of glibc systems.
pub const LASTLOG_FILE: &str = "/var/log/lastlog";
