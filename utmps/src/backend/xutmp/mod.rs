//! The backend over libxutmp (utmps-sys): glibc's utmpx on files, or libutmps on
//! the daemons' sockets, depending on the flavour the library was built with.

use std::ffi::{c_int, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use self::handle::Handle;
use super::{Backend, BackendKind, Call, MAX_UTMP_ENTRIES};
use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::record::Record;
use crate::sys::deadline::Deadline;

mod handle;

#[derive(Debug)]
pub(crate) struct XutmpBackend {
    kind: BackendKind,
    utmp: PathBuf,
    wtmp: PathBuf,
    utmp_c: CString,
    wtmp_c: CString,
}

/// The flavour libxutmp reports about itself.
pub(crate) fn linked_kind() -> Result<BackendKind> {
    let (abi, flavour, size) = (handle::abi_version(), handle::flavour(), handle::record_size());
    if abi != ffi::XUTMP_ABI_VERSION || size != std::mem::size_of::<ffi::xutmp_record>() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "xutmp",
            format!(
                "linked libxutmp has ABI {abi} and record size {size}; this crate needs ABI {}",
                ffi::XUTMP_ABI_VERSION
            ),
        ));
    }
    match flavour {
        ffi::XUTMP_FLAVOUR_LIBC => Ok(BackendKind::XutmpLibc),
        ffi::XUTMP_FLAVOUR_UTMPS => Ok(BackendKind::XutmpUtmps),
        other => Err(Error::new(ErrorKind::Unsupported, "xutmp", format!("unknown libxutmp flavour {other}"))),
    }
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid("xutmp open", format!("path {} contains a NUL byte", path.display())))
}

impl XutmpBackend {
    pub(crate) fn new(utmp: &Path, wtmp: &Path) -> Result<XutmpBackend> {
        Ok(XutmpBackend {
            kind: linked_kind()?,
            utmp: utmp.to_path_buf(),
            wtmp: wtmp.to_path_buf(),
            utmp_c: c_path(utmp)?,
            wtmp_c: c_path(wtmp)?,
        })
    }

    fn rule(&self, wtmp: bool) -> PermissionRule {
        match (self.kind, wtmp) {
            (BackendKind::XutmpLibc, _) => PermissionRule::File,
            (_, false) => PermissionRule::UtmpdGroup,
            (_, true) => PermissionRule::WtmpdUser,
        }
    }

    /// Runs `f` on a fresh handle; the handle (and any connection) is closed after.
    fn with_handle<T>(
        &self,
        op: &'static str,
        wtmp: bool,
        deadline: Deadline,
        f: impl FnOnce(&mut Handle<'_>) -> Result<T>,
    ) -> Result<T> {
        let endpoint = if wtmp { &self.wtmp } else { &self.utmp };
        let call = Call::new(op, endpoint, self.rule(wtmp), deadline);
        let mut handle = Handle::open(&self.utmp_c, &self.wtmp_c, call)?;
        f(&mut handle)
    }
}

/// Errors after which wtmpd certainly wrote nothing: no socket, no listener, no
/// access, a record refused before sending, or the daemon's own refusal (EPERM
/// answered in the status byte).
fn refused_before_sending(errno: c_int) -> bool {
    matches!(
        errno,
        libc::ENOENT | libc::ECONNREFUSED | libc::EACCES | libc::ENOTDIR | libc::EPERM | libc::EINVAL | libc::EOVERFLOW
    )
}

impl Backend for XutmpBackend {
    fn kind(&self) -> BackendKind {
        self.kind
    }

    fn utmp_endpoint(&self) -> &Path {
        &self.utmp
    }

    fn wtmp_endpoint(&self) -> &Path {
        &self.wtmp
    }

    fn utmp_records(&self, deadline: Deadline) -> Result<Vec<Record>> {
        self.with_handle("utmp read", false, deadline, |h| {
            h.rewind()?;
            let mut out = Vec::new();
            while let Some(rec) = h.next()? {
                if out.len() == MAX_UTMP_ENTRIES {
                    return Err(super::too_many_entries(&self.utmp));
                }
                out.push(rec);
            }
            Ok(out)
        })
    }

    fn utmp_put(&self, rec: &Record, deadline: Deadline) -> Result<()> {
        self.with_handle("utmp put", false, deadline, |h| h.put(rec))
    }

    fn wtmp_append(&self, rec: &Record, deadline: Deadline) -> Result<()> {
        let unknown_outcome = self.kind == BackendKind::XutmpUtmps;
        self.with_handle("wtmp append", true, deadline, |h| {
            h.append_wtmp(rec).map_err(|e| match e.raw_os_error() {
                // libutmps does not say whether the record had been sent when the
                // connection broke or the deadline passed: wtmpd may have written it.
                // Without an errno the deadline had passed before the call: nothing sent.
                Some(errno) if unknown_outcome && !refused_before_sending(errno) => {
                    e.with_kind(ErrorKind::OutcomeUnknown)
                }
                _ => e,
            })
        })
    }
}
