//! The backend over libxutmp (utmps-sys): glibc's utmpx on files, or libutmps on
//! the daemons' sockets, depending on the flavour the library was built with.

use std::ffi::{c_char, c_int, CString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::Instant;

use super::{Backend, BackendKind, WriteCheck, MAX_UTMP_ENTRIES};
use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::record::{Exit, Field, Record, RecordType};
use crate::sys::deadline::Deadline;

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
    // SAFETY: these take no arguments and return constants.
    let (abi, flavour, size) = unsafe { (ffi::xutmp_abi_version(), ffi::xutmp_flavour(), ffi::xutmp_record_size()) };
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

/// Remaining time in whole milliseconds, at least 1, or a timeout error.
fn remaining_ms(op: &'static str, endpoint: &Path, deadline: Deadline, started: Instant) -> Result<i64> {
    let left = deadline.remaining();
    if left.is_zero() {
        return Err(Error::timed_out(op, endpoint, deadline.instant().saturating_duration_since(started)));
    }
    Ok(i64::try_from(left.as_millis()).unwrap_or(i64::MAX).max(1))
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
        let started = Instant::now();
        let ms = remaining_ms(op, endpoint, deadline, started)?;
        let mut raw = ptr::null_mut();
        // SAFETY: both paths are valid NUL-terminated strings that outlive the call;
        // `raw` is a valid out-pointer.
        let rc = unsafe { ffi::xutmp_open(&mut raw, self.utmp_c.as_ptr(), self.wtmp_c.as_ptr(), ms) };
        if rc != 0 {
            return Err(Error::from_errno(op, endpoint, rc, self.rule(wtmp)));
        }
        let mut handle = Handle { raw, backend: self, op, wtmp, deadline, started };
        f(&mut handle)
    }
}

/// An open xutmp handle, closed on drop.
struct Handle<'a> {
    raw: *mut ffi::xutmp_handle,
    backend: &'a XutmpBackend,
    op: &'static str,
    wtmp: bool,
    deadline: Deadline,
    started: Instant,
}

impl Handle<'_> {
    fn endpoint(&self) -> &Path {
        if self.wtmp {
            &self.backend.wtmp
        } else {
            &self.backend.utmp
        }
    }

    /// Gives the next call what is left of the deadline, then maps its return code.
    fn call(&mut self, f: impl FnOnce(*mut ffi::xutmp_handle) -> c_int) -> Result<c_int> {
        let ms = remaining_ms(self.op, self.endpoint(), self.deadline, self.started)?;
        // SAFETY: `raw` is a live handle owned by this guard.
        let rc = unsafe { ffi::xutmp_set_timeout(self.raw, ms) };
        if rc != 0 {
            return Err(self.error(rc));
        }
        Ok(f(self.raw))
    }

    /// As [`call`](Self::call), for functions whose only success is 0.
    fn check(&mut self, f: impl FnOnce(*mut ffi::xutmp_handle) -> c_int) -> Result<()> {
        match self.call(f)? {
            0 => Ok(()),
            errno => Err(self.error(errno)),
        }
    }

    fn error(&self, errno: c_int) -> Error {
        let e = Error::from_errno(self.op, self.endpoint(), errno, self.backend.rule(self.wtmp));
        if e.kind() == ErrorKind::TimedOut {
            let waited = self.deadline.instant().saturating_duration_since(self.started);
            return e.with_detail(format!("no answer or lock within {waited:?}"));
        }
        e
    }
}

impl Drop for Handle<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` came from xutmp_open and is closed exactly once.
        unsafe { ffi::xutmp_close(self.raw) };
    }
}

fn to_ffi(rec: &Record) -> ffi::xutmp_record {
    fn chars<const N: usize>(f: &Field<N>) -> [c_char; N] {
        f.0.map(|b| b as c_char)
    }
    ffi::xutmp_record {
        tv_sec: rec.tv_sec,
        tv_usec: i64::from(rec.tv_usec),
        type_: i32::from(rec.record_type.0),
        pid: rec.pid,
        session: rec.session,
        exit_termination: rec.exit.termination,
        exit_status: rec.exit.status,
        addr_v6: rec.addr_v6,
        line: chars(&rec.line),
        id: chars(&rec.id),
        user: chars(&rec.user),
        host: chars(&rec.host),
        reserved: [0; 4],
    }
}

fn from_ffi(rec: &ffi::xutmp_record) -> Record {
    fn field<const N: usize>(c: &[c_char; N]) -> Field<N> {
        Field(c.map(|b| b as u8))
    }
    Record {
        record_type: RecordType(i16::try_from(rec.type_).unwrap_or(-1)),
        pid: rec.pid,
        line: field(&rec.line),
        id: field(&rec.id),
        user: field(&rec.user),
        host: field(&rec.host),
        exit: Exit { termination: rec.exit_termination, status: rec.exit_status },
        session: rec.session,
        tv_sec: rec.tv_sec,
        tv_usec: i32::try_from(rec.tv_usec.clamp(0, 999_999)).unwrap_or(0),
        addr_v6: rec.addr_v6,
    }
}

fn empty_record() -> ffi::xutmp_record {
    to_ffi(&Record::default())
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
            // SAFETY: live handle.
            h.check(|raw| unsafe { ffi::xutmp_rewind(raw) })?;
            let mut out = Vec::new();
            loop {
                let mut rec = empty_record();
                // SAFETY: live handle and a valid out-pointer.
                let rc = h.call(|raw| unsafe { ffi::xutmp_next(raw, &mut rec) })?;
                match rc {
                    0 if out.len() == MAX_UTMP_ENTRIES => return Err(super::too_many_entries(h.endpoint())),
                    0 => out.push(from_ffi(&rec)),
                    libc::ESRCH => return Ok(out),
                    errno => return Err(h.error(errno)),
                }
            }
        })
    }

    fn utmp_put(&self, rec: &Record, deadline: Deadline) -> Result<()> {
        let raw_rec = to_ffi(rec);
        self.with_handle("utmp put", false, deadline, |h| {
            // SAFETY: live handle and a valid record.
            h.check(|raw| unsafe { ffi::xutmp_put(raw, &raw_rec) })
        })
    }

    fn wtmp_append(&self, rec: &Record, deadline: Deadline) -> Result<()> {
        let raw_rec = to_ffi(rec);
        let unknown_outcome = self.kind == BackendKind::XutmpUtmps;
        self.with_handle("wtmp append", true, deadline, |h| {
            // SAFETY: live handle and a valid record.
            match h.call(|raw| unsafe { ffi::xutmp_append_wtmp(raw, &raw_rec) })? {
                0 => Ok(()),
                // libutmps does not say whether the record had been sent when the
                // connection broke or the deadline passed: wtmpd may have written it.
                errno if unknown_outcome && !refused_before_sending(errno) => {
                    Err(h.error(errno).with_kind(ErrorKind::OutcomeUnknown))
                }
                errno => Err(h.error(errno)),
            }
        })
    }

    fn probe(&self, deadline: Deadline) -> Result<WriteCheck> {
        match self.kind {
            BackendKind::XutmpLibc => {
                for path in [&self.utmp, &self.wtmp] {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .custom_flags(libc::O_NONBLOCK)
                        .open(path)
                        .map_err(|e| Error::from_io("probe", path, e, PermissionRule::File))?;
                }
                Ok(WriteCheck::granted())
            }
            _ => {
                self.utmp_records(deadline)?;
                crate::backend::probe_socket(&self.wtmp, deadline)?;
                crate::backend::daemon_access(&self.utmp)
            }
        }
    }
}
