//! Reading utmp and wtmp files directly, in either layout, from any path.
//!
//! Bad files are read as far as they are whole: a truncated last record or a file
//! whose size is not a multiple of the record size yields every whole record and
//! reports the stray bytes in [`FileRecords::trailing`]; nothing here panics on
//! file contents.
//!
//! [`read`] (with a timeout) and [`read_deadline`] (with a deadline, as the
//! writers such as [`lastlog::write`](crate::lastlog::write) take) read only
//! regular files, and at most [`MAX_FILE_SIZE`] bytes of one, within their limit: a path that names a FIFO, a device such as `/dev/zero`
//! or a directory could otherwise block it or fill memory without end.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::layout::Layout;
use crate::record::Record;
use crate::sys;
use crate::sys::deadline::Deadline;
use crate::sys::file::Access;

/// The records of a file, and what could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecords {
    /// The layout the file was decoded with.
    pub layout: Layout,
    /// Every whole record, in file order.
    pub records: Vec<Record>,
    /// Bytes after the last whole record (a torn write, or the wrong layout).
    pub trailing: usize,
}

/// Decodes `bytes` as records of `layout`, or of the layout [`Layout::detect`]
/// finds when `layout` is `None` (falling back to [`Layout::system`]).
pub fn parse(bytes: &[u8], layout: Option<Layout>) -> FileRecords {
    let layout = layout.or_else(|| Layout::detect(bytes)).unwrap_or(Layout::system());
    let size = layout.record_size();
    let records = bytes.chunks_exact(size).filter_map(|chunk| layout.decode(chunk).ok()).collect();
    FileRecords { layout, records, trailing: bytes.len() % size }
}

/// The largest file [`read`] loads, in bytes: 512 MiB, about 1.4 million
/// glibc records. A wtmp file this large is overdue for rotation; read it with
/// your own bounded reads and [`parse`] the pieces.
pub const MAX_FILE_SIZE: u64 = 512 * 1024 * 1024;

/// How much one `read(2)` asks for: between two of them the deadline is checked.
const CHUNK: usize = 1024 * 1024;

/// Reads a utmp or wtmp file under a shared lock. `timeout` bounds the whole
/// call: waiting for the lock and reading the file. The same as
/// [`read_deadline`] with the deadline `now + timeout`.
///
/// # Errors
/// `Unavailable` when the file does not exist; `InvalidInput` when the path
/// names something other than a regular file (a FIFO, a device, a directory,
/// a socket: symlinks are followed, and the file opened is the one checked);
/// `Unsupported` when the file is larger than [`MAX_FILE_SIZE`]; `TimedOut`
/// when a writer holds its lock too long or the read does not finish in time;
/// `Io` otherwise.
pub fn read(path: impl AsRef<Path>, layout: Option<Layout>, timeout: Duration) -> Result<FileRecords> {
    read_within(path.as_ref(), layout, Deadline::after(timeout), timeout)
}

/// As [`read`], ending by `deadline`: for a caller whose steps share one
/// deadline, as those of the writers in this crate do.
///
/// # Errors
/// As [`read`].
pub fn read_deadline(path: impl AsRef<Path>, layout: Option<Layout>, deadline: Instant) -> Result<FileRecords> {
    read_within(path.as_ref(), layout, deadline.into(), deadline.saturating_duration_since(Instant::now()))
}

/// `timeout` is what the caller allowed, for the error messages.
fn read_within(path: &Path, layout: Option<Layout>, deadline: Deadline, timeout: Duration) -> Result<FileRecords> {
    let op = "file read";
    let (file, meta) = sys::file::open(op, path, Access::Read)?;
    if meta.len() > MAX_FILE_SIZE {
        return Err(too_large(path, meta.len()));
    }
    let _locked = sys::file::lock(op, path, &file, false, (0, 0), deadline)?;
    let bytes = read_bounded(&file, meta.len(), path, deadline, timeout)?;
    Ok(parse(&bytes, layout))
}

/// Reads to the end, or fails once the file passes [`MAX_FILE_SIZE`] (it may
/// have grown since it was measured) or the deadline passes.
fn read_bounded(file: &File, size_hint: u64, path: &Path, deadline: Deadline, timeout: Duration) -> Result<Vec<u8>> {
    let op = "file read";
    let mut bytes = Vec::with_capacity(usize::try_from(size_hint).unwrap_or(0));
    loop {
        if deadline.expired() {
            return Err(Error::timed_out(op, path, timeout)
                .with_detail(format!("the file was not read within {timeout:?} ({} bytes so far)", bytes.len())));
        }
        let old = bytes.len();
        // One byte past the cap, to tell a file at the cap from one beyond it.
        let room = usize::try_from(MAX_FILE_SIZE + 1).unwrap_or(usize::MAX).saturating_sub(old);
        bytes.resize(old + CHUNK.min(room), 0);
        let got = (&*file).read(&mut bytes[old..]);
        bytes.truncate(old + *got.as_ref().unwrap_or(&0));
        match got {
            Ok(0) => return Ok(bytes),
            Ok(_) if bytes.len() as u64 > MAX_FILE_SIZE => return Err(too_large(path, bytes.len() as u64)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::from_io(op, path, e, PermissionRule::File)),
        }
    }
}

fn too_large(path: &Path, size: u64) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        "file read",
        format!("the file holds {size} bytes or more, over the {MAX_FILE_SIZE} bytes (MAX_FILE_SIZE) a read loads"),
    )
    .at(path)
}

/// Why a file of `size` bytes (whole records) holds no accounting records, if
/// it does not: its first record must be [plausible](Layout::is_plausible)
/// and its last an [entry](Layout::is_entry), as writers only append entries.
/// The rule of libxutmp's wtmp writes, of btmp's, and of the stores' checks.
pub(crate) fn not_records(file: &File, layout: Layout, size: u64) -> std::io::Result<Option<&'static str>> {
    let len = layout.record_size() as u64;
    if size == 0 {
        return Ok(None);
    }
    let mut record = vec![0u8; layout.record_size()];
    file.read_exact_at(&mut record, 0)?;
    if !layout.is_plausible(&record) {
        return Ok(Some("the first record holds bytes no login record has"));
    }
    file.read_exact_at(&mut record, size - len)?;
    if !layout.is_entry(&record) {
        return Ok(Some("the last record is no login record (no type, or no time)"));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Field, RecordType};

    fn rec(n: i32) -> Record {
        Record {
            record_type: RecordType::USER_PROCESS,
            pid: n,
            line: Field::truncated(format!("pts/{n}").as_bytes()),
            tv_sec: 1_700_000_000 + i64::from(n),
            ..Record::default()
        }
    }

    #[test]
    fn truncated_tail_is_reported_not_fatal() {
        for layout in [Layout::Glibc, Layout::Utmps] {
            let mut bytes: Vec<u8> = (1..=3).flat_map(|n| layout.encode(&rec(n)).unwrap()).collect();
            bytes.truncate(bytes.len() - 10);
            let got = parse(&bytes, Some(layout));
            assert_eq!(got.records, vec![rec(1), rec(2)]);
            assert_eq!(got.trailing, layout.record_size() - 10);
        }
    }

    #[test]
    fn garbage_decodes_without_panic() {
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for layout in [None, Some(Layout::Glibc), Some(Layout::Utmps)] {
            let got = parse(&bytes, layout);
            assert_eq!(got.records.len() * got.layout.record_size() + got.trailing, bytes.len());
        }
    }

    #[test]
    fn devices_directories_and_fifos_are_refused_fast() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, what) in [(Path::new("/dev/zero"), "character device"), (dir.path(), "directory"), (&fifo, "FIFO")] {
            let start = Instant::now();
            let e = read(path, None, Duration::from_secs(1)).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput, "{e}");
            assert!(e.to_string().contains(what) && e.to_string().contains("not a regular file"), "{e}");
            assert!(start.elapsed() < Duration::from_millis(500), "{path:?} took {:?}", start.elapsed());
        }
    }

    #[test]
    fn files_over_the_cap_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wtmp");
        let file = File::create(&path).unwrap();
        // Sparse: no disk space, and nothing is read before the size check.
        file.set_len(MAX_FILE_SIZE + 1).unwrap();
        let e = read(&path, None, Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Unsupported, "{e}");
        assert!(e.to_string().contains("MAX_FILE_SIZE"), "{e}");
        file.set_len(4 * 384).unwrap();
        assert_eq!(read(&path, Some(Layout::Glibc), Duration::from_secs(1)).unwrap().records.len(), 4);
    }

    #[test]
    fn a_read_past_its_deadline_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wtmp");
        std::fs::write(&path, [0u8; 384]).unwrap();
        let e = read(&path, None, Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::TimedOut, "{e}");
    }

    #[test]
    fn a_deadline_bounds_a_read_as_a_timeout_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wtmp");
        std::fs::write(&path, Layout::Glibc.encode(&rec(1)).unwrap()).unwrap();
        let got = read_deadline(&path, Some(Layout::Glibc), Instant::now() + Duration::from_secs(1)).unwrap();
        assert_eq!(got.records, vec![rec(1)]);
        let e = read_deadline(&path, None, Instant::now()).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::TimedOut, "{e}");
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        let _held = crate::sys::filelock::lock(&file, true, 0, 0, Deadline::after(Duration::from_secs(1))).unwrap();
        let start = Instant::now();
        let e = read_deadline(&path, None, Instant::now() + Duration::from_millis(100)).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::TimedOut, "{e}");
        assert!(e.to_string().contains("another process held a lock"), "{e}");
        assert!(start.elapsed() < Duration::from_millis(600), "{:?}", start.elapsed());
    }

    #[test]
    fn missing_file_is_unavailable() {
        let e = read("/nonexistent/wtmp", None, std::time::Duration::from_millis(100)).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Unavailable);
        assert!(e.to_string().contains("/nonexistent/wtmp"));
    }
}
