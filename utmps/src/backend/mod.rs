//! The operations every backend provides. Session logic, readers and sweeping are
//! written once on top of this trait, so every backend writes identical records.

use std::fmt;
use std::path::Path;
use std::time::Instant;

use crate::error::Result;
#[cfg(any(feature = "xutmp", feature = "native"))]
use crate::error::{Error, ErrorKind};
use crate::record::Record;

/// The most entries a utmp read takes, on every backend: 65,536, about 25 MB
/// in memory. A real utmp holds one entry per terminal line ever used, far
/// fewer; a read that meets more (a daemon that never says end-of-file, a utmp
/// file grown past any real use) fails with `Unsupported` instead of filling
/// memory until the deadline.
pub const MAX_UTMP_ENTRIES: usize = 65_536;

/// The error of a utmp read that met more than [`MAX_UTMP_ENTRIES`] entries.
#[cfg(any(feature = "xutmp", feature = "native"))]
pub(crate) fn too_many_entries(endpoint: &Path) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        "utmp read",
        format!(
            "utmp has more than {MAX_UTMP_ENTRIES} entries (MAX_UTMP_ENTRIES), the most a read takes; \
             a daemon that never ends its answer, or a file far larger than any real utmp"
        ),
    )
    .at(endpoint)
}

#[cfg(feature = "native")]
pub(crate) mod native;
#[cfg(feature = "xutmp")]
pub(crate) mod xutmp;

/// Which implementation an [`Accounting`](crate::Accounting) handle uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// libxutmp, libc flavour: glibc's utmp file format, read and written by
    /// libxutmp itself with glibc's slot rule (not through glibc's utmpx functions).
    XutmpLibc,
    /// libxutmp, utmps flavour: libutmps on the daemons' sockets.
    XutmpUtmps,
    /// The pure-Rust utmps protocol client.
    Native,
}

impl BackendKind {
    /// True when the endpoints are daemon sockets rather than files.
    pub fn uses_daemons(self) -> bool {
        !matches!(self, BackendKind::XutmpLibc)
    }
}

/// One backend. Each call finishes by `deadline`. Implementations hold no
/// connection between calls.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    fn kind(&self) -> BackendKind;
    fn utmp_endpoint(&self) -> &Path;
    fn wtmp_endpoint(&self) -> &Path;
    /// Every utmp record, in file order; at most [`MAX_UTMP_ENTRIES`] of them.
    fn utmp_records(&self, deadline: Instant) -> Result<Vec<Record>>;
    /// Writes a record into utmp, into the slot the endpoint's matching rule picks.
    fn utmp_put(&self, rec: &Record, deadline: Instant) -> Result<()>;
    /// Appends one record to wtmp. Never retried: a retry could duplicate it.
    fn wtmp_append(&self, rec: &Record, deadline: Instant) -> Result<()>;
    /// Checks that both endpoints can be reached (and written, where that can be
    /// told without writing).
    fn probe(&self, deadline: Instant) -> Result<()>;
}

/// Connects to a daemon socket and closes the connection at once: proves that
/// something listens without sending a request.
#[cfg(any(feature = "xutmp", feature = "native"))]
pub(crate) fn probe_socket(path: &Path, deadline: Instant) -> Result<()> {
    crate::socket::Conn::connect(path, deadline)
        .map(drop)
        .map_err(|e| crate::error::Error::from_io("probe", path, e, crate::error::PermissionRule::File))
}
