//! The operations every backend provides. Session logic, readers and sweeping are
//! written once on top of this trait, so every backend writes identical records.
// Without a backend compiled in, nothing implements the trait.
#![cfg_attr(not(any(feature = "xutmp", feature = "native")), allow(dead_code))]

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::path::Path;

use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::record::Record;
use crate::sys::deadline::Deadline;

#[cfg(any(feature = "native", feature = "xutmp"))]
pub(crate) use access::daemons as daemon_access;
pub use access::{WriteAccess, WriteCheck};

mod access;

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

/// One operation on one endpoint: what its errors name, and the deadline
/// all its steps share.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) op: &'static str,
    pub(crate) endpoint: &'a Path,
    /// The rule behind a permission error from this endpoint.
    pub(crate) rule: PermissionRule,
    pub(crate) started: std::time::Instant,
    pub(crate) deadline: Deadline,
}

impl<'a> Call<'a> {
    pub(crate) fn new(op: &'static str, endpoint: &'a Path, rule: PermissionRule, deadline: Deadline) -> Call<'a> {
        tracing::trace!(op, endpoint = %endpoint.display(), "backend call");
        Call { op, endpoint, rule, started: std::time::Instant::now(), deadline }
    }
}

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
    /// No utmp or wtmp backend: the handle's stores are wtmpdb, lastlog2,
    /// lastlog or btmp only (Debian 13 and later keep no utmp).
    None,
}

impl BackendKind {
    /// True when the endpoints are daemon sockets rather than files.
    pub fn uses_daemons(self) -> bool {
        matches!(self, BackendKind::XutmpUtmps | BackendKind::Native)
    }
}

/// One backend. Each call finishes by `deadline`. Implementations hold no
/// connection between calls; what a call returns may (a [`StartedPut`], a
/// [`PreparedAppend`]) until it is finished or dropped.
pub(crate) trait Backend: Send + Sync + UnwindSafe + RefUnwindSafe + fmt::Debug {
    fn kind(&self) -> BackendKind;
    fn utmp_endpoint(&self) -> &Path;
    fn wtmp_endpoint(&self) -> &Path;
    /// Every utmp record, in file order; at most [`MAX_UTMP_ENTRIES`] of them.
    fn utmp_records(&self, deadline: Deadline) -> Result<Vec<Record>>;
    /// Writes a record into utmp, into the slot the endpoint's matching rule picks.
    fn utmp_put(&self, rec: &Record, deadline: Deadline) -> Result<()>;
    /// Appends one record to wtmp. Never retried: a retry could duplicate it.
    fn wtmp_append(&self, rec: &Record, deadline: Deadline) -> Result<()>;
    /// Proves that utmp can be read, without writing: the default reads it whole.
    fn probe_utmp(&self, deadline: Deadline) -> Result<()> {
        self.utmp_records(deadline).map(drop)
    }
    /// As [`utmp_put`](Backend::utmp_put), and on failure whether the record may
    /// still land. The default judges from the error alone.
    fn utmp_put_tracked(&self, rec: &Record, deadline: Deadline) -> Result<(), Failed> {
        self.utmp_put(rec, deadline).map_err(|error| {
            // libxutmp's libc flavour writes under its lock or not at all; a
            // timed-out put never got the lock. libutmps may have sent the record.
            let landed = match self.kind().uses_daemons() && put_may_have_landed(&error) {
                true => Landed::Maybe,
                false => Landed::No,
            };
            Failed { error, landed }
        })
    }
    /// As [`wtmp_append`](Backend::wtmp_append), and on failure whether the
    /// record may still land.
    fn wtmp_append_tracked(&self, rec: &Record, deadline: Deadline) -> Result<(), Failed> {
        self.wtmp_append(rec, deadline).map_err(|error| {
            let landed = match error.kind() == ErrorKind::OutcomeUnknown {
                true => Landed::Maybe,
                false => Landed::No,
            };
            Failed { error, landed }
        })
    }
    /// Sets up a wtmp append without writing anything, so that the setup
    /// overlaps with what the caller does before it appends (the utmp put of
    /// an open). The native backend connects to wtmpd here: the superserver
    /// starts a daemon for the connection meanwhile, and a connection closed
    /// without a whole `+` request leaves nothing in wtmp. The default sets
    /// up nothing and does the whole append later.
    fn wtmp_prepare(&self, deadline: Deadline) -> Box<dyn PreparedAppend + '_> {
        let _ = deadline;
        Box::new(LazyAppend(self))
    }
    /// Starts a utmp put whose answer [`StartedPut::finish`] waits for, so that
    /// the caller can do other writes meanwhile (a logout's history writes).
    /// The native backend connects and sends the request here; the daemon
    /// works while the caller goes on, and nothing needs a thread. None from a
    /// backend that cannot send a request without waiting (for its answer, or
    /// for room at a full listener): the caller then calls
    /// [`utmp_put`](Backend::utmp_put).
    fn utmp_put_start(&self, rec: &Record, deadline: Deadline) -> Option<Box<dyn StartedPut + '_>> {
        let _ = (rec, deadline);
        None
    }
}

/// A utmp put started by [`Backend::utmp_put_start`]. Dropped unfinished, the
/// put may still land.
pub(crate) trait StartedPut {
    /// Waits, until the deadline given at the start, for the put's answer.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// A wtmp append set up by [`Backend::wtmp_prepare`]. Dropped unused, it
/// writes nothing.
pub(crate) trait PreparedAppend {
    /// As [`Backend::wtmp_append_tracked`], on what was set up.
    fn append_tracked(self: Box<Self>, rec: &Record, deadline: Deadline) -> Result<(), Failed>;
}

/// An append with nothing set up ahead: all of it happens in `append_tracked`.
struct LazyAppend<'a, B: ?Sized>(&'a B);

impl<B: Backend + ?Sized> PreparedAppend for LazyAppend<'_, B> {
    fn append_tracked(self: Box<Self>, rec: &Record, deadline: Deadline) -> Result<(), Failed> {
        self.0.wtmp_append_tracked(rec, deadline)
    }
}

/// Whether a failed utmp put may still be applied by the daemon.
fn put_may_have_landed(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Protocol | ErrorKind::OutcomeUnknown | ErrorKind::Io)
}

/// A write that failed, and what may still become of it.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: Error,
    pub(crate) landed: Landed,
}

impl Failed {
    /// A failure after which nothing was written.
    #[cfg(feature = "native")]
    pub(crate) fn not_written(error: Error) -> Failed {
        Failed { error, landed: Landed::No }
    }
}

/// Whether a failed write may have been (or may yet be) applied.
#[derive(Debug)]
pub(crate) enum Landed {
    /// Certainly not written, now or later.
    No,
    /// Written, or perhaps written with nothing more to learn: undo it now.
    Maybe,
    /// The answer may still come: learn it before undoing anything, so that
    /// the undo cannot overtake the write. Only the native client can keep the
    /// connection whose answer is awaited.
    #[cfg_attr(not(feature = "native"), allow(dead_code))]
    Later(Box<dyn Pending>),
}

impl Landed {
    /// Waits (until `deadline` at most) for what can still be learnt: true
    /// when the write happened or may have happened.
    pub(crate) fn settle(self, deadline: Deadline) -> bool {
        match self {
            Landed::No => false,
            Landed::Maybe => true,
            Landed::Later(pending) => pending.landed(deadline),
        }
    }
}

/// A request whose answer had not come by its deadline, kept open to wait for it.
pub(crate) trait Pending: Send + fmt::Debug {
    /// Waits until `deadline` for the answer: false only when it says that
    /// nothing was written. No answer by then counts as written.
    fn landed(self: Box<Self>, deadline: Deadline) -> bool;
}

/// Checks that one half of `backend` (utmp when `live`, else wtmp) can be
/// reached, and tells what can be told about writing it without writing.
#[cfg(any(feature = "native", feature = "xutmp"))]
pub(crate) fn probe_half(backend: &dyn Backend, live: bool, deadline: Deadline) -> Result<WriteAccess> {
    let endpoint = match live {
        true => backend.utmp_endpoint(),
        false => backend.wtmp_endpoint(),
    };
    if !backend.kind().uses_daemons() {
        probe_file("probe", endpoint)?;
        Ok(WriteAccess::Granted)
    } else if live {
        backend.probe_utmp(deadline)?;
        Ok(daemon_access(endpoint).utmp)
    } else {
        probe_socket(endpoint, deadline)?;
        Ok(match crate::sys::users::is_root() {
            true => WriteAccess::Granted,
            false => WriteAccess::OwnUserOnly,
        })
    }
}

/// Opens a utmp or wtmp file for writing and judges what it holds, writing
/// nothing: a regular file of records by [`files::not_records`]'s rule (the
/// one libxutmp's writes apply), so that a check refuses what every write
/// would refuse. Unlocked: a check answers for now, not for the next write.
///
/// [`files::not_records`]: crate::files::not_records
#[cfg(any(feature = "native", feature = "xutmp"))]
pub(crate) fn probe_file(op: &'static str, path: &Path) -> Result<()> {
    let io = |e| Error::from_io(op, path, e, crate::error::PermissionRule::File);
    let (file, meta) = crate::sys::file::open(op, path, crate::sys::file::Access::ReadWrite)?;
    let layout = crate::layout::Layout::system();
    let whole = meta.len() - meta.len() % layout.record_size() as u64;
    let why = match (whole, meta.len()) {
        (0, 0) => None,
        (0, _) => Some("shorter than one record"),
        _ => crate::files::not_records(&file, layout, whole).map_err(io)?,
    };
    match why {
        Some(why) => {
            Err(Error::invalid(op, format!("{why}: not an accounting file of this system; writes would be refused"))
                .at(path))
        }
        None => Ok(()),
    }
}

/// Connects to a daemon socket and closes the connection at once: proves that
/// something listens without sending a request.
#[cfg(any(feature = "xutmp", feature = "native"))]
pub(crate) fn probe_socket(path: &Path, deadline: Deadline) -> Result<()> {
    crate::sys::socket::Conn::connect(path, deadline)
        .map(drop)
        .map_err(|e| crate::error::Error::from_io("probe", path, e, crate::error::PermissionRule::File))
}
