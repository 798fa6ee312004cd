//! lastlog: one fixed-size record per uid, at offset `uid * record size`, in the
//! layout of glibc's `struct lastlog` (32-bit time, line, host; 292 bytes).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, PermissionRule, Result};
use crate::record::{Field, Record};

/// Bytes per lastlog record.
pub const LASTLOG_RECORD_SIZE: usize = 292;

/// One user's last login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastLogin {
    /// Seconds since the epoch (0: never logged in).
    pub time: u32,
    /// The line.
    pub line: Field<32>,
    /// The remote host.
    pub host: Field<256>,
}

impl LastLogin {
    /// The login time, or `None` when the user never logged in.
    pub fn time(&self) -> Option<SystemTime> {
        (self.time != 0).then(|| UNIX_EPOCH + Duration::from_secs(u64::from(self.time)))
    }

    fn encode(&self) -> [u8; LASTLOG_RECORD_SIZE] {
        // Every byte is set here: nothing uninitialised reaches the file.
        let mut out = [0u8; LASTLOG_RECORD_SIZE];
        out[0..4].copy_from_slice(&self.time.to_ne_bytes());
        out[4..36].copy_from_slice(&self.line.0);
        out[36..292].copy_from_slice(&self.host.0);
        out
    }

    fn decode(bytes: &[u8; LASTLOG_RECORD_SIZE]) -> LastLogin {
        let mut time = [0u8; 4];
        time.copy_from_slice(&bytes[0..4]);
        let mut line = [0u8; 32];
        line.copy_from_slice(&bytes[4..36]);
        let mut host = [0u8; 256];
        host.copy_from_slice(&bytes[36..292]);
        LastLogin { time: u32::from_ne_bytes(time), line: Field(line), host: Field(host) }
    }
}

fn offset(uid: u32) -> u64 {
    u64::from(uid) * LASTLOG_RECORD_SIZE as u64
}

/// Reads the lastlog record of `uid`. A uid past the end of the (sparse) file
/// has never logged in.
///
/// # Errors
/// `Unavailable` when the file does not exist; `Io` otherwise.
pub fn read(path: &Path, uid: u32) -> Result<Option<LastLogin>> {
    let file = File::open(path).map_err(|e| Error::from_io("lastlog read", path, e, PermissionRule::File))?;
    let mut buf = [0u8; LASTLOG_RECORD_SIZE];
    match file.read_exact_at(&mut buf, offset(uid)) {
        Ok(()) => {
            let rec = LastLogin::decode(&buf);
            Ok((rec.time != 0).then_some(rec))
        }
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(Error::from_io("lastlog read", path, e, PermissionRule::File)),
    }
}

/// Writes the lastlog record of `uid` under a write lock on its byte range, taken
/// before `deadline`. The file must exist.
///
/// # Errors
/// `InvalidInput` for a time outside lastlog's unsigned 32-bit seconds;
/// `TimedOut` when another process holds the lock past the deadline.
pub fn write(path: &Path, uid: u32, entry: &LastLogin, deadline: Instant) -> Result<()> {
    let op = "lastlog write";
    let file =
        OpenOptions::new().write(true).open(path).map_err(|e| Error::from_io(op, path, e, PermissionRule::File))?;
    crate::filelock::lock(&file, true, offset(uid), LASTLOG_RECORD_SIZE as u64, deadline)
        .map_err(|e| Error::from_io(op, path, e, PermissionRule::File))?;
    file.write_all_at(&entry.encode(), offset(uid)).map_err(|e| Error::from_io(op, path, e, PermissionRule::File))
    // Closing the file releases the lock.
}

/// Records a login in lastlog for `user`, looked up in the password database.
pub(crate) fn record_login(path: &Path, user: &str, login: &Record, deadline: Instant) -> Result<()> {
    let uid =
        uid_of(user).ok_or_else(|| Error::invalid("lastlog", format!("no user {user:?} in the password database")))?;
    let time = u32::try_from(login.tv_sec).map_err(|_| {
        Error::invalid("lastlog", format!("time {} s does not fit lastlog's 32-bit seconds", login.tv_sec))
    })?;
    write(path, uid, &LastLogin { time, line: login.line, host: login.host }, deadline)
}

/// The uid of a user name, from the password database.
pub fn uid_of(user: &str) -> Option<u32> {
    let name = CString::new(user).ok()?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: zero-initialised plain C struct used as an out-parameter.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; buf outlives it.
    let rc = unsafe { libc::getpwnam_r(name.as_ptr(), &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
    (rc == 0 && !result.is_null()).then_some(pwd.pw_uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_and_sparse_users() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lastlog");
        File::create(&path).unwrap();
        let entry = LastLogin {
            time: 1_700_000_000,
            line: Field::from_slice_unchecked(b"pts/4"),
            host: Field::from_slice_unchecked(b"h.example"),
        };
        write(&path, 1000, &entry, Instant::now() + Duration::from_secs(1)).unwrap();
        assert_eq!(read(&path, 1000).unwrap(), Some(entry));
        assert_eq!(read(&path, 999).unwrap(), None, "a hole reads as never logged in");
        assert_eq!(read(&path, 5000).unwrap(), None, "past the end reads as never logged in");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1001 * LASTLOG_RECORD_SIZE as u64);
    }

    #[test]
    fn encoded_record_has_no_stray_bytes() {
        let entry = LastLogin { time: 7, line: Field::from_slice_unchecked(b"tty1"), host: Field::EMPTY };
        let bytes = entry.encode();
        assert!(bytes[8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn missing_file_is_unavailable() {
        let e = read(Path::new("/nonexistent/lastlog"), 0).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unavailable);
    }
}
