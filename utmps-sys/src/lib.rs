//! Raw declarations for libxutmp, the C library in this repository's `xutmp/`
//! directory. Use the `utmps` crate instead: it wraps these in a safe API.
//!
//! Linking is chosen at build time (see the repository README, "Linking"): by
//! default an installed `libxutmp.so` when pkg-config (or `XUTMP_LIB_DIR`) finds
//! one and the bundled C sources otherwise; feature `static` always compiles the
//! bundled sources, feature `dynamic` always links an installed copy, and
//! `UTMPS_SYS_STATIC=0|1` overrides both. [`linkage()`] tells which happened.
#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_void};
use core::marker::{PhantomData, PhantomPinned};

/// The ABI version this crate was written against.
pub const XUTMP_ABI_VERSION: c_int = 1;

/// Flavour code: glibc's utmp and wtmp files, in glibc's format and with its slot
/// rule, read and written by libxutmp itself (not through glibc's utmpx functions).
pub const XUTMP_FLAVOUR_LIBC: c_int = 1;
/// Flavour code: skarnet's utmps daemons through libutmps, on sockets.
pub const XUTMP_FLAVOUR_UTMPS: c_int = 2;

/// Width of `xutmp_record::line`.
pub const XUTMP_LINE_SIZE: usize = 32;
/// Width of `xutmp_record::id`.
pub const XUTMP_ID_SIZE: usize = 4;
/// Width of `xutmp_record::user`.
pub const XUTMP_USER_SIZE: usize = 32;
/// Width of `xutmp_record::host`.
pub const XUTMP_HOST_SIZE: usize = 256;

/// Record type codes (`ut_type`), as in glibc and utmps.
pub type xutmp_type = c_int;
/// No valid record.
pub const XUTMP_EMPTY: xutmp_type = 0;
/// Change of run level.
pub const XUTMP_RUN_LVL: xutmp_type = 1;
/// System boot.
pub const XUTMP_BOOT_TIME: xutmp_type = 2;
/// Clock change: time after.
pub const XUTMP_NEW_TIME: xutmp_type = 3;
/// Clock change: time before.
pub const XUTMP_OLD_TIME: xutmp_type = 4;
/// Process spawned by init.
pub const XUTMP_INIT_PROCESS: xutmp_type = 5;
/// Session leader of a logged-in user, before login.
pub const XUTMP_LOGIN_PROCESS: xutmp_type = 6;
/// A live user session.
pub const XUTMP_USER_PROCESS: xutmp_type = 7;
/// A terminated session.
pub const XUTMP_DEAD_PROCESS: xutmp_type = 8;
/// Not used.
pub const XUTMP_ACCOUNTING: xutmp_type = 9;

/// [`xutmp_next`], `xutmp_find_*`: there is no further record (`ESRCH`).
pub const XUTMP_ERR_END: c_int = libc::ESRCH;
/// [`xutmp_put`], libc flavour: a live entry on another line holds the id, and
/// nothing was written (`EADDRINUSE`).
pub const XUTMP_ERR_ID_TAKEN: c_int = libc::EADDRINUSE;
/// A write, libc flavour: the path holds something that is not accounting
/// records, and it was left as it was (`EMEDIUMTYPE`).
pub const XUTMP_ERR_NOT_RECORDS: c_int = libc::EMEDIUMTYPE;

/// Field numbers for [`xutmp_field_offset`], in declaration order.
pub type xutmp_field = c_int;
/// `tv_sec`
pub const XUTMP_FIELD_TV_SEC: xutmp_field = 0;
/// `tv_usec`
pub const XUTMP_FIELD_TV_USEC: xutmp_field = 1;
/// `type`
pub const XUTMP_FIELD_TYPE: xutmp_field = 2;
/// `pid`
pub const XUTMP_FIELD_PID: xutmp_field = 3;
/// `session`
pub const XUTMP_FIELD_SESSION: xutmp_field = 4;
/// `exit_termination`
pub const XUTMP_FIELD_EXIT_TERMINATION: xutmp_field = 5;
/// `exit_status`
pub const XUTMP_FIELD_EXIT_STATUS: xutmp_field = 6;
/// `addr_v6`
pub const XUTMP_FIELD_ADDR_V6: xutmp_field = 7;
/// `line`
pub const XUTMP_FIELD_LINE: xutmp_field = 8;
/// `id`
pub const XUTMP_FIELD_ID: xutmp_field = 9;
/// `user`
pub const XUTMP_FIELD_USER: xutmp_field = 10;
/// `host`
pub const XUTMP_FIELD_HOST: xutmp_field = 11;
/// `reserved`
pub const XUTMP_FIELD_RESERVED: xutmp_field = 12;
/// Number of fields.
pub const XUTMP_FIELD_COUNT: xutmp_field = 13;

/// The fixed-width record of xutmp.h. Character fields are not NUL-terminated
/// when full; `reserved` must be zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct xutmp_record {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Microseconds, 0..=999_999.
    pub tv_usec: i64,
    /// One of the `XUTMP_*` type codes.
    pub type_: i32,
    /// Process id.
    pub pid: i32,
    /// Session id.
    pub session: i32,
    /// Termination status of a DEAD_PROCESS.
    pub exit_termination: i16,
    /// Exit status of a DEAD_PROCESS.
    pub exit_status: i16,
    /// Remote address, network byte order; IPv4 in word 0.
    pub addr_v6: [u32; 4],
    /// Device name after `/dev/`.
    pub line: [c_char; XUTMP_LINE_SIZE],
    /// Terminal id (the last bytes of the line).
    pub id: [c_char; XUTMP_ID_SIZE],
    /// User name.
    pub user: [c_char; XUTMP_USER_SIZE],
    /// Remote host name.
    pub host: [c_char; XUTMP_HOST_SIZE],
    /// Must be zero.
    pub reserved: [c_char; 4],
}

/// One entry of [`xutmp_constants`]: a constant of xutmp.h by name.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct xutmp_constant {
    /// The macro or enumerator name, NUL-terminated; NULL in the last entry.
    pub name: *const c_char,
    /// Its value as the library was compiled.
    pub value: i64,
}

/// An open xutmp handle (opaque).
#[repr(C)]
pub struct xutmp_handle {
    _data: [u8; 0],
    _marker: PhantomData<(*mut c_void, PhantomPinned)>,
}

impl core::fmt::Debug for xutmp_handle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("xutmp_handle")
    }
}

extern "C" {
    /// ABI version of the linked library.
    pub fn xutmp_abi_version() -> c_int;
    /// `XUTMP_FLAVOUR_LIBC` or `XUTMP_FLAVOUR_UTMPS`.
    pub fn xutmp_flavour() -> c_int;
    /// `sizeof(struct xutmp_record)` in C.
    pub fn xutmp_record_size() -> usize;
    /// `_Alignof(struct xutmp_record)` in C.
    pub fn xutmp_record_align() -> usize;
    /// `offsetof` of a field, or `usize::MAX` for an unknown field number.
    pub fn xutmp_field_offset(field: xutmp_field) -> usize;
    /// `sizeof(struct utmpx)` of the platform behind the flavour.
    pub fn xutmp_platform_record_size() -> usize;
    /// Every constant of xutmp.h, in a static table ending with a NULL name.
    pub fn xutmp_constants() -> *const xutmp_constant;

    /// Opens a handle; NULL paths select the platform defaults.
    pub fn xutmp_open(out: *mut *mut xutmp_handle, utmp: *const c_char, wtmp: *const c_char, timeout_ms: i64) -> c_int;
    /// Changes the per-operation timeout.
    pub fn xutmp_set_timeout(h: *mut xutmp_handle, timeout_ms: i64) -> c_int;
    /// Closes a handle; NULL is allowed.
    pub fn xutmp_close(h: *mut xutmp_handle);
    /// Moves the utmp cursor to the first record.
    pub fn xutmp_rewind(h: *mut xutmp_handle) -> c_int;
    /// Reads the record at the cursor; [`XUTMP_ERR_END`] at the end.
    pub fn xutmp_next(h: *mut xutmp_handle, out: *mut xutmp_record) -> c_int;
    /// Searches forward for a LOGIN/USER_PROCESS record on a line.
    pub fn xutmp_find_line(h: *mut xutmp_handle, line: *const c_char, out: *mut xutmp_record) -> c_int;
    /// Searches forward with the utmpx id rule.
    pub fn xutmp_find_id(h: *mut xutmp_handle, type_: c_int, id: *const c_char, out: *mut xutmp_record) -> c_int;
    /// Writes a record into utmp: replaces the record the endpoint's slot rule picks
    /// (libc flavour: the first with the same id; utmps: the same id and line) or
    /// appends one. The libc flavour answers [`XUTMP_ERR_ID_TAKEN`], writing nothing, when a
    /// live entry (INIT, LOGIN or USER_PROCESS) on another line holds the id.
    pub fn xutmp_put(h: *mut xutmp_handle, rec: *const xutmp_record) -> c_int;
    /// Appends one record to wtmp.
    pub fn xutmp_append_wtmp(h: *mut xutmp_handle, rec: *const xutmp_record) -> c_int;
}

/// How this crate was linked to libxutmp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkMode {
    /// The bundled sources, compiled by the build script.
    Static,
    /// An installed shared library.
    Dynamic,
}

/// The link mode chosen at build time.
pub const LINK_MODE: LinkMode = if cfg!(xutmp_static) { LinkMode::Static } else { LinkMode::Dynamic };

/// What was linked: the mode chosen at build time and the flavour the library
/// reports about itself at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linkage {
    /// Static or dynamic.
    pub mode: LinkMode,
    /// `XUTMP_FLAVOUR_LIBC` or `XUTMP_FLAVOUR_UTMPS`.
    pub flavour: c_int,
}

/// Reports how libxutmp was linked and which flavour it was built with.
///
/// With no linking feature and no `UTMPS_SYS_STATIC`, the build script picks the
/// mode (an installed copy if found, else the bundled sources); this is how a
/// program learns which it got. Build scripts of dependents read the same answer
/// from `DEP_XUTMP_STATIC` (`1` or `0`), and `cargo build -vv` prints the reason.
pub fn linkage() -> Linkage {
    // SAFETY: xutmp_flavour takes no arguments and only returns a constant.
    let flavour = unsafe { xutmp_flavour() };
    Linkage { mode: LINK_MODE, flavour }
}
