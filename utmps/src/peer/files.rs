//! The daemons' files: creation mode, locks, whole-record reads and the
//! matching rules of utmpd.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::layout::{Layout, UTMPS_RECORD_SIZE};
use crate::record::Record;
use crate::sys::filelock::Locked;

/// One record as stored.
pub(super) type Raw = [u8; UTMPS_RECORD_SIZE];

/// Opens `path` for reading and writing (or appending), creating it with mode
/// 0644 whatever the umask, as the daemons do.
pub(super) fn open_0644(path: &Path, append: bool) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    if append {
        opts.append(true);
    } else {
        opts.read(true).write(true);
    }
    let mut last = io::Error::from(io::ErrorKind::NotFound);
    // The file may be deleted between the two opens (utmpd deletes a torn file).
    for _ in 0..3 {
        match opts.clone().create_new(true).mode(0o644).open(path) {
            Ok(f) => {
                f.set_permissions(Permissions::from_mode(0o644))?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        match opts.open(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => last = e,
            other => return other,
        }
    }
    Err(last)
}

/// Takes a whole-file shared or exclusive lock, waiting with no time limit as
/// the daemons do (they use F_SETLKW), except that a stopping peer gives up.
/// Open-file-description locks (see [`crate::sys::filelock`]) keep the peer's own
/// connection threads apart, which classic per-process locks would not.
pub(super) fn lock<'f>(file: &'f File, write: bool, stop: &AtomicBool) -> io::Result<Locked<'f>> {
    crate::sys::filelock::lock_while(file, write, 0, 0, |pause| {
        if stop.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "the peer is stopping"));
        }
        Ok(pause.min(Duration::from_millis(10)))
    })
}

/// Reads the record at the file offset: `None` at the end, EPIPE for a torn
/// tail (fewer than 400 bytes left), which is what utmpd reports for it.
pub(super) fn read_entry(mut file: &File) -> io::Result<Option<Box<Raw>>> {
    let mut rec = Box::new([0u8; UTMPS_RECORD_SIZE]);
    let mut got = 0;
    while got < rec.len() {
        match file.read(&mut rec[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    match got {
        0 => Ok(None),
        UTMPS_RECORD_SIZE => Ok(Some(rec)),
        _ => Err(io::Error::from_raw_os_error(libc::EPIPE)),
    }
}

/// `strncmp(a, b, n) == 0`: equal up to the first NUL or `n` bytes.
pub(super) fn strncmp_eq(a: &[u8], b: &[u8]) -> bool {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return false;
        }
        if *x == 0 {
            return true;
        }
    }
    true
}

fn type_of(rec: &Raw) -> i16 {
    i16::from_ne_bytes([rec[0], rec[1]])
}

fn line_of(rec: &Raw) -> &[u8] {
    &rec[8..40]
}

fn id_of(rec: &Raw) -> &[u8] {
    &rec[40..44]
}

/// utmpd's id rule: BOOT/NEW/OLD_TIME find their own type; INIT, LOGIN, USER and
/// DEAD_PROCESS find any of those four with the same id; other types nothing.
pub(super) fn id_matches(wanted: u16, id: &[u8], rec: &Raw) -> bool {
    let have = type_of(rec);
    match wanted {
        2..=4 => wanted == have as u16,
        5..=8 => (5..=8).contains(&have) && strncmp_eq(id, id_of(rec)),
        _ => false,
    }
}

/// utmpd's line rule: LOGIN or USER_PROCESS records on an equal line.
pub(super) fn line_matches(line: &[u8], rec: &Raw) -> bool {
    matches!(type_of(rec), 6 | 7) && strncmp_eq(line, line_of(rec))
}

/// The put rule: the id rule for the new record's type, and the same line.
pub(super) fn slot_matches(new: &Raw, rec: &Raw) -> bool {
    id_matches(type_of(new) as u16, id_of(new), rec) && strncmp_eq(line_of(new), line_of(rec))
}

/// The whole records of a file in the utmps layout; a missing file has none.
pub(super) fn records(path: &Path) -> Vec<Record> {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.chunks_exact(UTMPS_RECORD_SIZE).filter_map(|c| Layout::Utmps.decode(c).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kind: i16, line: &[u8], id: &[u8]) -> Raw {
        let mut r = [0u8; UTMPS_RECORD_SIZE];
        r[0..2].copy_from_slice(&kind.to_ne_bytes());
        r[8..8 + line.len()].copy_from_slice(line);
        r[40..40 + id.len()].copy_from_slice(id);
        r
    }

    #[test]
    fn strncmp_stops_at_nul() {
        assert!(strncmp_eq(b"ab\0x", b"ab\0y"));
        assert!(!strncmp_eq(b"ab\0x", b"abcy"));
        assert!(strncmp_eq(b"abcd", b"abcd"));
    }

    #[test]
    fn id_rule_follows_utmpd() {
        let user = raw(7, b"pts/1", b"s/1");
        assert!(id_matches(8, b"s/1\0", &user));
        assert!(id_matches(5, b"s/1\0", &user));
        assert!(!id_matches(7, b"s/2\0", &user));
        assert!(!id_matches(1, b"s/1\0", &user));
        assert!(!id_matches(9, b"s/1\0", &user));
        let boot = raw(2, b"~", b"xx");
        assert!(id_matches(2, b"zzzz", &boot));
        assert!(!id_matches(3, b"xx\0\0", &boot));
        assert!(!id_matches(7, b"xx\0\0", &boot));
        assert!(line_matches(b"pts/1", &user));
        assert!(!line_matches(b"pts/1", &raw(8, b"pts/1", b"s/1")));
        assert!(slot_matches(&raw(8, b"pts/1", b"s/1"), &user));
        assert!(!slot_matches(&raw(8, b"pts/2", b"s/1"), &user));
    }
}
