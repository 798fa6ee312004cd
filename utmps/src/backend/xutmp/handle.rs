//! libxutmp wrapped once: each C call is a safe method of the handle that owns
//! the pointer, or a safe function for the queries that take none, so the
//! backend above has no `unsafe`. The record conversion lives here too, since
//! `ffi::xutmp_record` crosses no other line.

use std::ffi::{c_char, c_int, CStr};
use std::ptr;

use crate::backend::Call;
use crate::error::{Error, ErrorKind, Result};
use crate::record::{Exit, Field, Record, RecordType};

/// The ABI version of the linked library.
pub(super) fn abi_version() -> c_int {
    // SAFETY: takes no arguments and returns a constant.
    unsafe { ffi::xutmp_abi_version() }
}

/// `XUTMP_FLAVOUR_LIBC` or `XUTMP_FLAVOUR_UTMPS`, as the library was built.
pub(super) fn flavour() -> c_int {
    // SAFETY: takes no arguments and returns a constant.
    unsafe { ffi::xutmp_flavour() }
}

/// `sizeof(struct xutmp_record)` in the linked library.
pub(super) fn record_size() -> usize {
    // SAFETY: takes no arguments and returns a constant.
    unsafe { ffi::xutmp_record_size() }
}

/// An open xutmp handle, closed on drop. It is neither `Send` nor `Sync`: the
/// library allows one thread at a time on a handle, and this one lives for a
/// single operation.
pub(super) struct Handle<'a> {
    raw: *mut ffi::xutmp_handle,
    call: Call<'a>,
}

impl<'a> Handle<'a> {
    /// Opens a handle on both endpoints; no I/O happens until the first call.
    pub(super) fn open(utmp: &CStr, wtmp: &CStr, call: Call<'a>) -> Result<Handle<'a>> {
        let ms = remaining_ms(&call)?;
        let mut raw = ptr::null_mut();
        // SAFETY: both paths are NUL-terminated strings that outlive the call (the
        // library copies them); `raw` is a valid out-pointer.
        let rc = unsafe { ffi::xutmp_open(&mut raw, utmp.as_ptr(), wtmp.as_ptr(), ms) };
        if rc != 0 {
            return Err(Error::from_errno(call.op, call.endpoint, rc, call.rule));
        }
        Ok(Handle { raw, call })
    }

    /// Moves the utmp cursor to the first record.
    pub(super) fn rewind(&mut self) -> Result<()> {
        self.set_timeout()?;
        // SAFETY: `raw` is the live handle this guard owns.
        self.check(unsafe { ffi::xutmp_rewind(self.raw) })
    }

    /// The record at the cursor, or `None` after the last.
    pub(super) fn next(&mut self) -> Result<Option<Record>> {
        self.set_timeout()?;
        let mut rec = to_ffi(&Record::default());
        // SAFETY: `raw` is the live handle this guard owns; `rec` is a valid out-pointer.
        match unsafe { ffi::xutmp_next(self.raw, &mut rec) } {
            0 => Ok(Some(from_ffi(&rec))),
            ffi::XUTMP_ERR_END => Ok(None),
            errno => Err(self.error(errno)),
        }
    }

    /// Writes `rec` into utmp, in the slot the endpoint's rule picks.
    pub(super) fn put(&mut self, rec: &Record) -> Result<()> {
        let raw = to_ffi(rec);
        self.set_timeout()?;
        // SAFETY: `raw` is the live handle this guard owns; the record is valid
        // and the library only reads it.
        self.check(unsafe { ffi::xutmp_put(self.raw, &raw) }).map_err(|e| time_too_late(e, rec))
    }

    /// Appends `rec` to wtmp.
    pub(super) fn append_wtmp(&mut self, rec: &Record) -> Result<()> {
        let raw = to_ffi(rec);
        self.set_timeout()?;
        // SAFETY: `raw` is the live handle this guard owns; the record is valid
        // and the library only reads it.
        self.check(unsafe { ffi::xutmp_append_wtmp(self.raw, &raw) }).map_err(|e| time_too_late(e, rec))
    }

    /// Gives the next call what is left of the operation's deadline: the library
    /// counts a handle's timeout from the start of each call.
    fn set_timeout(&mut self) -> Result<()> {
        let ms = remaining_ms(&self.call)?;
        // SAFETY: `raw` is the live handle this guard owns.
        self.check(unsafe { ffi::xutmp_set_timeout(self.raw, ms) })
    }

    fn check(&self, rc: c_int) -> Result<()> {
        match rc {
            0 => Ok(()),
            errno => Err(self.error(errno)),
        }
    }

    fn error(&self, errno: c_int) -> Error {
        let e = Error::from_errno(self.call.op, self.call.endpoint, errno, self.call.rule);
        if e.kind() == ErrorKind::TimedOut {
            let waited = self.call.deadline.instant().saturating_duration_since(self.call.started);
            return e.with_detail(format!("no answer or lock within {waited:?}"));
        }
        e
    }
}

/// libxutmp's EOVERFLOW for a record whose time glibc's 32-bit seconds cannot
/// hold, with the reason.
fn time_too_late(e: Error, rec: &Record) -> Error {
    match e.raw_os_error() == Some(libc::EOVERFLOW) && i32::try_from(rec.tv_sec).is_err() {
        true => e.with_detail(crate::layout::beyond_32_bits(rec.tv_sec)),
        false => e,
    }
}

impl Drop for Handle<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` came from xutmp_open and is closed exactly once, here.
        unsafe { ffi::xutmp_close(self.raw) };
    }
}

/// Remaining time in whole milliseconds, at least 1, or a timeout error.
fn remaining_ms(call: &Call<'_>) -> Result<i64> {
    let left = call.deadline.remaining();
    if left.is_zero() {
        return Err(Error::timed_out(
            call.op,
            call.endpoint,
            call.deadline.instant().saturating_duration_since(call.started),
        ));
    }
    Ok(i64::try_from(left.as_millis()).unwrap_or(i64::MAX).max(1))
}

// Record types cross as plain numbers, so both sides must number them alike
// (the layout test of utmps-sys checks the ffi constants against C).
const _: () = {
    let pairs = [
        (RecordType::EMPTY, ffi::XUTMP_EMPTY),
        (RecordType::RUN_LVL, ffi::XUTMP_RUN_LVL),
        (RecordType::BOOT_TIME, ffi::XUTMP_BOOT_TIME),
        (RecordType::NEW_TIME, ffi::XUTMP_NEW_TIME),
        (RecordType::OLD_TIME, ffi::XUTMP_OLD_TIME),
        (RecordType::INIT_PROCESS, ffi::XUTMP_INIT_PROCESS),
        (RecordType::LOGIN_PROCESS, ffi::XUTMP_LOGIN_PROCESS),
        (RecordType::USER_PROCESS, ffi::XUTMP_USER_PROCESS),
        (RecordType::DEAD_PROCESS, ffi::XUTMP_DEAD_PROCESS),
        (RecordType::ACCOUNTING, ffi::XUTMP_ACCOUNTING),
    ];
    let mut i = 0;
    while i < pairs.len() {
        assert!(pairs[i].0 .0 as c_int == pairs[i].1, "RecordType differs from xutmp.h");
        i += 1;
    }
};

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
