//! Failed logins in btmp, under the rules sshd keeps for that file (read by
//! `lastb`): only root writes it; the file must already exist (it is never
//! created: no btmp means the system keeps no failed-login record), be a regular
//! file owned by root, and have no group-execute and no "other" permission bits,
//! since failed logins hold passwords typed into the user name field.
//!
//! The record is what sshd appends: LOGIN_PROCESS, the attempted user, the line
//! (`ssh:notty` unless the login names one), the remote host and address, the
//! pid of the caller, the time, and an empty ut_id. It is appended in the
//! system's own layout ([`Layout::system`]) under an exclusive lock taken
//! before the deadline; a short write is cut back, so the file stays whole
//! records.
//!
//! Before the append the file is checked as libxutmp checks wtmp, so that a
//! path holding something else is never changed: its size must be a whole
//! number of records, the first record [plausible](Layout::is_plausible) and
//! the last an [entry](Layout::is_entry) (zero bytes are no failed login).
//!
//! [`record_failed_login`] fails with `InvalidInput` for a bad user, line or
//! host, or a file that fails that check; with `Permission` when the caller
//! is not root, or the file is not root's or has group-execute or other bits
//! (rule [`PermissionRule::File`]); with `Unavailable` when the file does not
//! exist; with `TimedOut` when another process holds its lock past the
//! deadline.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::layout::Layout;
use crate::login::Login;
use crate::record::{Field, RecordType};
use crate::sys;
use crate::sys::file::Access;

/// The btmp file of glibc systems.
pub const BTMP_FILE: &str = "/var/log/btmp";

/// The line sshd records for a failed login, which has no terminal yet.
pub const NOTTY_LINE: &str = "ssh:notty";

/// Appends a failed login to the btmp file at `path`:
/// [`Login::new`]`(user, `[`NOTTY_LINE`]`)` (or the terminal tried) with its
/// `host` and `addr`. The user is checked like any login's: a name with
/// control characters or over 32 bytes is refused, not stored.
///
/// ```no_run
/// # fn main() -> utmps::Result<()> {
/// use utmps::{btmp, Login};
/// let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
/// let failed = Login::new("admin", btmp::NOTTY_LINE).host("198.51.100.4").addr("198.51.100.4".parse().unwrap());
/// btmp::record_failed_login(btmp::BTMP_FILE, &failed, deadline)?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// `InvalidInput` for a bad login or a file that is not btmp's (left
/// unchanged); `Permission`, under the [module docs](self)' rules;
/// `Unavailable` without a file; `TimedOut` past `deadline`; `Io`.
pub fn record_failed_login(path: impl AsRef<Path>, login: &Login, deadline: Instant) -> Result<()> {
    let path = path.as_ref();
    let op = "btmp append";
    let mut record = login.to_record()?;
    record.record_type = RecordType::LOGIN_PROCESS;
    record.id = Field::EMPTY;
    let layout = Layout::system();
    let bytes = layout.encode(&record)?;
    if !crate::sys::users::is_root() {
        return Err(Error::new(ErrorKind::Permission, op, "only root records failed logins").at(path));
    }
    let io = |e| Error::from_io(op, path, e, PermissionRule::File);
    // Never created: a system without btmp does not want one.
    let (file, meta) = sys::file::open(op, path, Access::ReadAppend)?;
    if meta.uid() != 0 || meta.mode() & (libc::S_IXGRP | libc::S_IRWXO) != 0 {
        return Err(Error::new(
            ErrorKind::Permission,
            op,
            format!(
                "refused: owner uid {} and mode {:o}; btmp must be root's, without group-execute or other bits",
                meta.uid(),
                meta.mode() & 0o7777
            ),
        )
        .at(path)
        .with_rule(PermissionRule::File));
    }
    let _locked = sys::file::lock(op, path, &file, true, (0, 0), deadline.into())?;
    // Under the lock, so that the size seen is the one appended to.
    let size = file.metadata().map_err(io)?.len();
    if size % layout.record_size() as u64 != 0 {
        return Err(Error::invalid(
            op,
            format!(
                "{size} bytes is not a whole number of {}-byte records: not a btmp file of this system",
                layout.record_size()
            ),
        )
        .at(path));
    }
    if let Some(why) = crate::files::not_records(&file, layout, size).map_err(io)? {
        return Err(Error::invalid(op, format!("{why}: not a btmp file of this system; nothing was written")).at(path));
    }
    append_whole(&file, &bytes, size).map_err(io)
}

/// Appends `bytes` in one write; a short or failed write is cut back to `size`.
fn append_whole(mut file: &File, bytes: &[u8], size: u64) -> std::io::Result<()> {
    let written = file.write(bytes);
    match written {
        Ok(n) if n == bytes.len() => Ok(()),
        other => {
            let _ = file.set_len(size);
            match other {
                Err(e) => Err(e),
                Ok(_) => Err(std::io::Error::from_raw_os_error(libc::ENOSPC)),
            }
        }
    }
}
