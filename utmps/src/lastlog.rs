//! lastlog: one fixed-size record per uid, at offset `uid * record size`, in the
//! layout of glibc's `struct lastlog` (32-bit time, line, host; 292 bytes). Other
//! C libraries lay it out differently (musl: 64-bit time, 296 bytes), so on them
//! every function here answers `Unsupported` rather than write a foreign layout.
//!
//! A write first checks that the path holds a lastlog file, and changes nothing
//! when it does not (a symlink to a text file, a FIFO, a device, a file of
//! another layout): the path must name a regular file (symlinks are followed,
//! so one to a real lastlog file works) whose size is a whole number of
//! records, and the first, the last and the target record (when the file
//! reaches it) must be [plausible](LastLogin::is_plausible). A file that fails
//! is refused with `InvalidInput`, whose OS error is `EMEDIUMTYPE`.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::record::{Field, Record};
use crate::sys;
use crate::sys::deadline::Deadline;
use crate::sys::file::Access;

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

    /// Whether this looks like a record that lastlog writers leave: in both the
    /// line and the host, nothing but NULs after the first NUL (the writers
    /// zero-fill), and a NUL somewhere in the two (text has none; a host that
    /// fills all 256 bytes next to a full line is refused by [`write()`]).
    /// All-zero records, the holes of the sparse file, are plausible.
    pub fn is_plausible(&self) -> bool {
        fn zero_padded(field: &[u8]) -> bool {
            field.iter().skip_while(|&&b| b != 0).all(|&b| b == 0)
        }
        zero_padded(&self.line.0) && zero_padded(&self.host.0) && (self.line.0.contains(&0) || self.host.0.contains(&0))
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

/// Opens the lastlog file, a regular file, without creating it. A writer
/// reads too: the file is checked before it is written.
fn open(op: &'static str, path: &Path, write: bool) -> Result<File> {
    let access = if write { Access::ReadWrite } else { Access::Read };
    match sys::file::open(op, path, access) {
        Ok((file, _)) => Ok(file),
        // Refused as every other file that is not a lastlog file.
        Err(e) if e.kind() == ErrorKind::InvalidInput => Err(not_lastlog(op, path, "it is not a regular file")),
        Err(e) => Err(e),
    }
}

fn offset(uid: u32) -> u64 {
    u64::from(uid) * LASTLOG_RECORD_SIZE as u64
}

/// Why a file is not taken for a lastlog file.
enum Refusal {
    /// Not a lastlog file: nothing may be written to it.
    NotLastlog(&'static str),
    /// The check itself failed.
    Io(io::Error),
}

impl Refusal {
    fn into_error(self, op: &'static str, path: &Path) -> Error {
        match self {
            Refusal::NotLastlog(why) => not_lastlog(op, path, why),
            Refusal::Io(e) => Error::from_io(op, path, e, PermissionRule::File),
        }
    }
}

fn not_lastlog(op: &'static str, path: &Path, why: &str) -> Error {
    #[cfg(target_os = "linux")]
    let e = Error::from_errno(op, path, crate::error::NOT_ACCOUNTING_FILE, PermissionRule::File);
    #[cfg(not(target_os = "linux"))]
    let e = Error::invalid(op, "the path holds no lastlog file").at(path);
    e.with_detail(format!("the path holds no lastlog file: {why}; nothing was written"))
}

/// The checks of the module docs, on an open file. Not under a lock over the
/// whole file: other writers lock only their own record, if at all.
fn check_file(file: &File, uid: u32) -> std::result::Result<(), Refusal> {
    let meta = file.metadata().map_err(Refusal::Io)?;
    if !meta.is_file() {
        return Err(Refusal::NotLastlog("it is not a regular file"));
    }
    let size = meta.len();
    let record = LASTLOG_RECORD_SIZE as u64;
    if size % record != 0 {
        return Err(Refusal::NotLastlog("its size is not a whole number of 292-byte records"));
    }
    let mut at = vec![0, offset(uid)];
    if size >= record {
        at.push(size - record);
    }
    for at in at.into_iter().filter(|&at| at + record <= size) {
        let mut buf = [0u8; LASTLOG_RECORD_SIZE];
        match file.read_exact_at(&mut buf, at) {
            Ok(()) if LastLogin::decode(&buf).is_plausible() => {}
            Ok(()) => return Err(Refusal::NotLastlog("a record holds bytes no lastlog writer leaves")),
            // Shrunk meanwhile by someone else: nothing there to judge.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(Refusal::Io(e)),
        }
    }
    Ok(())
}

/// Reads the lastlog record of `uid`. A uid past the end of the (sparse) file
/// has never logged in.
///
/// # Errors
/// `Unsupported` off glibc; `Unavailable` when the file does not exist;
/// `Permission` when it may not be read; `InvalidInput` (OS error
/// `EMEDIUMTYPE`) when the path names no regular file (a device such as
/// `/dev/zero` would read as "never logged in", a FIFO would fail obscurely);
/// `Io` otherwise.
pub fn read(path: &Path, uid: u32) -> Result<Option<LastLogin>> {
    let op = "lastlog read";
    check_platform(op)?;
    let file = open(op, path, false)?;
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
/// before `deadline`. The file must exist, and be readable as well: it is
/// checked first (see the [module docs](self)).
///
/// # Errors
/// `Unsupported` off glibc; `Unavailable` when the file does not exist;
/// `Permission` when it may not be read and written; `InvalidInput`, writing
/// nothing, when the path holds something other than a lastlog file or `entry`
/// is not [plausible](LastLogin::is_plausible) itself; `TimedOut` when another
/// process holds the lock past the deadline; `Io` otherwise.
pub fn write(path: &Path, uid: u32, entry: &LastLogin, deadline: Instant) -> Result<()> {
    let op = "lastlog write";
    check_platform(op)?;
    if !entry.is_plausible() {
        return Err(Error::invalid(
            op,
            "the entry would not pass for a lastlog record (a byte after a NUL, or a full line next to a full host)",
        ));
    }
    let file = open(op, path, true)?;
    if let Err(Refusal::NotLastlog(why)) = check_file(&file, uid) {
        // Refused before the lock: a device or a FIFO needs no waiting for.
        return Err(not_lastlog(op, path, why));
    }
    let _locked = sys::file::lock(op, path, &file, true, (offset(uid), LASTLOG_RECORD_SIZE as u64), deadline.into())?;
    // Again under the lock: the target record may have changed while it was awaited.
    check_file(&file, uid).map_err(|r| r.into_error(op, path))?;
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
    pub(crate) fn prepare(path: &Path, user: &str, login: &Record, deadline: Deadline) -> Result<PendingLogin> {
        check_platform("lastlog")?;
        let started = std::time::Instant::now();
        let uid = match crate::sys::users::uid_of_by(user.as_bytes(), deadline) {
            Ok(Some(uid)) => uid,
            Ok(None) => return Err(Error::invalid("lastlog", format!("no user {user:?} in the password database"))),
            Err(libc::ETIMEDOUT) => {
                return Err(Error::timed_out("lastlog user lookup", path, started.elapsed()).with_detail(format!(
                    "the password database did not answer for {user:?} (or an earlier lookup in it still hangs)"
                )))
            }
            Err(errno) => {
                return Err(Error::from_errno("lastlog user lookup", path, errno, PermissionRule::File)
                    .with_detail(format!("the password database could not be read for {user:?}")))
            }
        };
        let time = u32::try_from(login.tv_sec).map_err(|_| {
            Error::invalid("lastlog", format!("time {} s does not fit lastlog's 32-bit seconds", login.tv_sec))
        })?;
        let mut entry = LastLogin { time, line: login.line, host: login.host };
        if !entry.is_plausible() {
            // A full line next to a full host (login checks refuse NULs in both):
            // a record without any NUL could not be told from text, so the host
            // loses its last character.
            let mut end = entry.host.0.len() - 1;
            while end > 0 && entry.host.0[end] & 0xc0 == 0x80 {
                end -= 1;
            }
            entry.host.0[end..].fill(0);
        }
        // The file too, so that a path that holds something else fails the login
        // before utmp is written. The write checks again.
        let file = open("lastlog", path, false)?;
        check_file(&file, uid).map_err(|r| r.into_error("lastlog", path))?;
        Ok(PendingLogin { uid, entry })
    }

    pub(crate) fn write(&self, path: &Path, deadline: Deadline) -> Result<()> {
        write(path, self.uid, &self.entry, deadline.instant())
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
        let entry =
            LastLogin { time: 1_700_000_000, line: Field::truncated(b"pts/4"), host: Field::truncated(b"h.example") };
        write(&path, 1000, &entry, Instant::now() + Duration::from_secs(1)).unwrap();
        assert_eq!(read(&path, 1000).unwrap(), Some(entry));
        assert_eq!(read(&path, 999).unwrap(), None, "a hole reads as never logged in");
        assert_eq!(read(&path, 5000).unwrap(), None, "past the end reads as never logged in");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 1001 * LASTLOG_RECORD_SIZE as u64);
    }

    #[test]
    fn encoded_record_has_no_stray_bytes() {
        let entry = LastLogin { time: 7, line: Field::truncated(b"tty1"), host: Field::EMPTY };
        let bytes = entry.encode();
        assert!(bytes[8..].iter().all(|&b| b == 0));
    }

    #[test]
    fn an_entry_that_would_look_like_text_is_cut_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lastlog");
        File::create(&path).unwrap();
        let full = LastLogin { time: 1, line: Field([b'l'; 32]), host: Field([b'h'; 256]) };
        let e = write(&path, 0, &full, Instant::now() + Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "nothing written");
        let mut junk_after_nul = LastLogin { host: Field::EMPTY, ..full };
        junk_after_nul.line.0[5] = 0;
        assert!(!junk_after_nul.is_plausible());

        // A login with both fields full loses the host's last whole character.
        let two_byte_chars: Vec<u8> = "é".repeat(128).into_bytes();
        let login = Record {
            line: Field([b'l'; 32]),
            host: Field::truncated(&two_byte_chars),
            tv_sec: 1_700_000_000,
            ..Record::default()
        };
        let pending = PendingLogin::prepare(&path, "root", &login, Deadline::after(Duration::from_secs(10))).unwrap();
        assert!(pending.entry.is_plausible());
        assert_eq!(pending.entry.host.as_bytes(), &two_byte_chars[..254]);
        pending.write(&path, Deadline::after(Duration::from_secs(1))).unwrap();
        assert_eq!(read(&path, 0).unwrap(), Some(pending.entry));
    }

    #[test]
    fn missing_file_is_unavailable() {
        let e = read(Path::new("/nonexistent/lastlog"), 0).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Unavailable);
    }
}
