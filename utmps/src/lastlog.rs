//! lastlog: one fixed-size record per uid, at offset `uid * record size`, in the
//! layout of glibc's `struct lastlog` (32-bit time, line, host; 292 bytes). Other
//! C libraries lay it out differently (musl: 64-bit time, 296 bytes), so on them
//! every function here answers `Unsupported` rather than write a foreign layout.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind, PermissionRule, Result};
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

fn check_platform(op: &'static str) -> Result<()> {
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::Unsupported, op, "lastlog's layout is known here for glibc only"))
    }
}

/// Opens without creating; O_NONBLOCK so that a FIFO at the path cannot block.
fn open(path: &Path, write: bool) -> std::io::Result<File> {
    OpenOptions::new().read(!write).write(write).custom_flags(libc::O_NONBLOCK).open(path)
}

fn offset(uid: u32) -> u64 {
    u64::from(uid) * LASTLOG_RECORD_SIZE as u64
}

/// Reads the lastlog record of `uid`. A uid past the end of the (sparse) file
/// has never logged in.
///
/// # Errors
/// `Unsupported` off glibc; `Unavailable` when the file does not exist;
/// `Permission` when it may not be read; `Io` otherwise.
pub fn read(path: &Path, uid: u32) -> Result<Option<LastLogin>> {
    check_platform("lastlog read")?;
    let file = open(path, false).map_err(|e| Error::from_io("lastlog read", path, e, PermissionRule::File))?;
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
/// `Unsupported` off glibc; `Unavailable` when the file does not exist;
/// `Permission` when it may not be written; `TimedOut` when another process
/// holds the lock past the deadline; `Io` otherwise.
pub fn write(path: &Path, uid: u32, entry: &LastLogin, deadline: Instant) -> Result<()> {
    let op = "lastlog write";
    check_platform(op)?;
    let file = open(path, true).map_err(|e| Error::from_io(op, path, e, PermissionRule::File))?;
    let _locked = crate::filelock::lock(&file, true, offset(uid), LASTLOG_RECORD_SIZE as u64, deadline)
        .map_err(|e| Error::from_io(op, path, e, PermissionRule::File))?;
    file.write_all_at(&entry.encode(), offset(uid)).map_err(|e| Error::from_io(op, path, e, PermissionRule::File))
}

/// A lastlog write checked in full before any record of a login is written:
/// platform, user and time. Only the write itself is left for after utmp and wtmp.
#[derive(Debug)]
pub(crate) struct PendingLogin {
    uid: u32,
    entry: LastLogin,
}

impl PendingLogin {
    pub(crate) fn prepare(path: &Path, user: &str, login: &Record) -> Result<PendingLogin> {
        check_platform("lastlog")?;
        let uid = match crate::users::uid_of(user.as_bytes()) {
            Ok(Some(uid)) => uid,
            Ok(None) => return Err(Error::invalid("lastlog", format!("no user {user:?} in the password database"))),
            Err(errno) => {
                return Err(Error::from_errno("lastlog user lookup", path, errno, PermissionRule::File)
                    .with_detail(format!("the password database could not be read for {user:?}")))
            }
        };
        let time = u32::try_from(login.tv_sec).map_err(|_| {
            Error::invalid("lastlog", format!("time {} s does not fit lastlog's 32-bit seconds", login.tv_sec))
        })?;
        Ok(PendingLogin { uid, entry: LastLogin { time, line: login.line, host: login.host } })
    }

    pub(crate) fn write(&self, path: &Path, deadline: Instant) -> Result<()> {
        write(path, self.uid, &self.entry, deadline)
    }
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
