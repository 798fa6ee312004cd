//! Opening and locking an accounting file, the one way every reader and
//! writer does it: never created, never blocking on a FIFO, never taken as
//! the controlling terminal, and refused unless it is a regular file. The
//! errors are the crate's, naming the operation and the path.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use super::deadline::Deadline;
use super::filelock::{self, Locked};
use crate::error::{Error, PermissionRule, Result};

/// What an opened file is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    /// Read too, so that the file can be checked before it is written.
    ReadWrite,
    /// Read too; every write goes to the end.
    ReadAppend,
    /// Write only, to prove that writing is allowed (a database's check).
    #[cfg_attr(not(feature = "wtmpdb"), allow(dead_code))]
    Write,
}

/// Opens the accounting file at `path` for `access`, and its metadata, from
/// the descriptor (the path may change meanwhile).
///
/// # Errors
/// `InvalidInput` when the path holds something other than a regular file
/// (left as it was); the open's error otherwise (`Unavailable` when missing,
/// `Permission`...).
pub(crate) fn open(op: &'static str, path: &Path, access: Access) -> Result<(File, Metadata)> {
    let io = |e| Error::from_io(op, path, e, PermissionRule::File);
    let mut options = OpenOptions::new();
    match access {
        Access::Read => options.read(true),
        Access::ReadWrite => options.read(true).write(true),
        Access::ReadAppend => options.read(true).append(true),
        Access::Write => options.write(true),
    };
    // O_NONBLOCK: a FIFO at the path must not block the open; O_NOCTTY: a
    // terminal there must not become this process's controlling terminal.
    let file = options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        let what = describe(meta.file_type());
        return Err(Error::invalid(op, format!("the path is {what}, not a regular file")).at(path));
    }
    Ok((file, meta))
}

/// What a file that is not a regular file is, for an error message.
/// Whether this process (its effective ids) may create files in `dir`: the
/// kernel's own answer, which also says a read-only mount (`EROFS`) or an
/// immutable directory (`EPERM`), for root too.
///
/// # Errors
/// `Permission` (with the detail of why), `Unavailable` for a missing directory.
#[cfg(feature = "wtmpdb")]
pub(crate) fn may_create_in(op: &'static str, dir: &Path) -> Result<()> {
    let c_dir = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(dir.as_os_str()))
        .map_err(|_| Error::invalid(op, "the directory's path holds a NUL byte").at(dir))?;
    // SAFETY: `c_dir` is a valid NUL-terminated string; faccessat only reads it.
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c_dir.as_ptr(), libc::W_OK | libc::X_OK, libc::AT_EACCESS) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    let detail = match err.raw_os_error() {
        // `from_io` says it of every read-only mount.
        Some(libc::EROFS) => return Err(Error::from_io(op, dir, err, PermissionRule::File)),
        Some(libc::EPERM) => "the directory is immutable (chattr +i) or a security module forbids writing there",
        _ => "this process may not create files in the directory",
    };
    Err(Error::from_io(op, dir, err, PermissionRule::File).with_detail(detail))
}

pub(crate) fn describe(t: FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Locks `len` bytes of `file` from `start` (0: to the end), for writing or
/// for reading, waiting until `deadline` at most.
///
/// # Errors
/// `TimedOut` (saying that the lock was awaited) when another process holds
/// it past the deadline; the lock call's error otherwise.
pub(crate) fn lock<'f>(
    op: &'static str,
    path: &Path,
    file: &'f File,
    write: bool,
    (start, len): (u64, u64),
    deadline: Deadline,
) -> Result<Locked<'f>> {
    filelock::lock(file, write, start, len, deadline)
        .map_err(|e| Error::from_io(op, path, e, PermissionRule::File).waiting_for_lock())
}
