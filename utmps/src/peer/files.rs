//! The daemons' files: creation mode, locks and whole-record reads.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::layout::Layout;
use crate::protocol::{RawRecord, RECORD_SIZE};
use crate::record::Record;
use crate::sys::filelock::Locked;

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
pub(super) fn read_entry(mut file: &File) -> io::Result<Option<Box<RawRecord>>> {
    let mut rec = Box::new([0u8; RECORD_SIZE]);
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
        RECORD_SIZE => Ok(Some(rec)),
        _ => Err(io::Error::from_raw_os_error(libc::EPIPE)),
    }
}

/// The whole records of a file in the utmps layout; a missing file has none.
pub(super) fn records(path: &Path) -> Vec<Record> {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.chunks_exact(RECORD_SIZE).filter_map(|c| Layout::Utmps.decode(c).ok()).collect()
}
