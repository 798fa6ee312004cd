//! utmp and wtmp files read record by record, forward or newest first, in a
//! fixed buffer: memory does not follow the file's size.
//!
//! A [`Records`] stream is a double-ended iterator over the whole records the
//! file held when it was opened: `next` walks forward, `next_back` (or
//! [`Iterator::rev`]) walks from the end in blocks of about 64 KiB, as `last`
//! reads wtmp. Bad files behave as in [`files::parse`](crate::files::parse):
//! every whole record is yielded, in file order, and the bytes after the last
//! whole one are reported by [`Records::trailing`]; nothing panics on file
//! contents.
//!
//! # Locking
//! util-linux `last` reads without any lock. A stream takes the shared lock
//! (the one glibc's and utmps's writers respect) twice over: once at open,
//! around the size it will read up to, so that a record being appended is
//! either whole or not counted; then around each block read, so that a utmp
//! slot rewritten in place is never read half old and half new. Each lock is
//! taken within the stream's timeout and released before the block is handed
//! out: a consumer that stops halfway never keeps a login from being recorded.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("wtmp");
//! use std::time::Duration;
//! use utmps::{layout::Layout, stream, Record, RecordType};
//!
//! let boot = Record { record_type: RecordType::BOOT_TIME, tv_sec: 1_700_000_000, ..Record::default() };
//! let mut bytes = Layout::Glibc.encode(&boot)?;
//! bytes.extend_from_slice(b"torn");
//! std::fs::write(&path, bytes)?;
//!
//! let mut records = stream::open(&path, Some(Layout::Glibc), Duration::from_secs(5))?;
//! for record in records.by_ref().rev() {
//!     assert_eq!(record?.record_type, RecordType::BOOT_TIME);
//! }
//! assert_eq!(records.trailing(), 4);
//! # Ok(()) }
//! ```

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::layout::{Layout, UTMPS_RECORD_SIZE};
use crate::record::Record;
use crate::sys;
use crate::sys::deadline::Deadline;
use crate::sys::file::Access;

/// Bytes read at once, at most: a whole number of records of either layout fits.
const BLOCK: usize = 64 * 1024;

/// Bytes that [`Layout::detect`] needs to decide as it would on the whole file:
/// it looks at the first 16 records and at whether the length is a multiple of
/// the record size, so a prefix of this length or more, congruent to the file's
/// length modulo both sizes (their lcm is 9,600), decides the same.
const DETECT_SPAN: u64 = 9_600;

const OP: &str = "file stream";

/// Opens a utmp or wtmp file for streaming, in `layout` or, when `None`, the
/// layout that [`Layout::detect`] finds in the file (falling back to
/// [`Layout::system`]), exactly as [`files::parse`](crate::files::parse) would
/// decide on the whole file. `timeout` bounds each lock the stream takes.
///
/// The path is opened with `O_NONBLOCK`, so that a FIFO cannot block the open,
/// and anything that is not a regular file is refused.
///
/// # Errors
/// `Unavailable` when the file does not exist, `InvalidInput` when it is a
/// FIFO, a device, a directory or a socket, `TimedOut` when a writer holds its
/// lock longer than `timeout`, `Permission` or `Io` otherwise.
pub fn open(path: impl AsRef<Path>, layout: Option<Layout>, timeout: Duration) -> Result<Records> {
    let path = path.as_ref();
    let io_err = |e| Error::from_io(OP, path, e, PermissionRule::File);
    let (file, _) = sys::file::open(OP, path, Access::Read)?;
    let (len, layout) = {
        let _locked = sys::file::lock(OP, path, &file, false, (0, 0), Deadline::after(timeout))?;
        let len = file.metadata().map_err(io_err)?.len();
        let layout = match layout {
            Some(layout) => layout,
            None => detect(&file, len).map_err(io_err)?,
        };
        (len, layout)
    };
    let size = layout.record_size() as u64;
    let count = len / size;
    tracing::debug!(path = %path.display(), ?layout, records = count, "stream open");
    Ok(Records {
        file,
        path: path.to_path_buf(),
        layout,
        timeout,
        count,
        trailing: (len % size) as usize,
        front: 0,
        back: count,
        buf: Vec::with_capacity(BLOCK),
        buf_first: 0,
        failed: false,
    })
}

/// Reads the prefix that decides the layout; see [`DETECT_SPAN`].
fn detect(file: &File, len: u64) -> io::Result<Layout> {
    let span = if len < 2 * DETECT_SPAN { len } else { DETECT_SPAN + len % DETECT_SPAN };
    let mut head = vec![0u8; span as usize];
    file.read_exact_at(&mut head, 0)?;
    Ok(Layout::detect(&head).unwrap_or(Layout::system()))
}

/// The whole records of a file, read a block at a time; see the [module docs](self).
///
/// Forward with `next`, newest first with `next_back` or `rev()`. An I/O error
/// is yielded once, and ends the stream.
#[derive(Debug)]
pub struct Records {
    file: File,
    path: PathBuf,
    layout: Layout,
    timeout: Duration,
    count: u64,
    trailing: usize,
    /// Index of the next record `next` yields.
    front: u64,
    /// One past the index of the next record `next_back` yields.
    back: u64,
    /// Whole records `buf_first..` of the file; never longer than [`BLOCK`].
    buf: Vec<u8>,
    buf_first: u64,
    failed: bool,
}

impl Records {
    /// The layout the stream decodes with.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The whole records the file held when it was opened: what the stream yields.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// True when the file held no whole record.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes after the last whole record (a torn write, or the wrong layout),
    /// as the file was when opened. Known from the start; usually read after
    /// the iteration, as [`files::FileRecords::trailing`](crate::files::FileRecords::trailing).
    pub fn trailing(&self) -> usize {
        self.trailing
    }

    /// The path the stream was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record `i` of the file (counting whole records from the start), without
    /// moving either end of the iteration; `None` past [`len`](Self::len).
    ///
    /// # Errors
    /// As a block read: `TimedOut` when a writer holds its lock too long, `Io`
    /// when the file shrank or could not be read.
    pub fn get(&mut self, i: u64) -> Option<Result<Record>> {
        (i < self.count).then(|| self.record(i, false))
    }

    /// Record `i` from the buffer, refilled with the block that ends at (when
    /// reading backward) or starts from (forward) `i` if it is not there.
    fn record(&mut self, i: u64, backward: bool) -> Result<Record> {
        let size = self.layout.record_size();
        let per_block = (BLOCK / size) as u64;
        let held = (self.buf.len() / size) as u64;
        if !(self.buf_first..self.buf_first + held).contains(&i) {
            let (first, end) = if backward {
                // Records below the front end were yielded already.
                (i.saturating_sub(per_block - 1).max(self.front.min(i)), i + 1)
            } else {
                (i, (i + per_block).min(self.count))
            };
            self.fill(first, end)?;
        }
        let at = ((i - self.buf_first) as usize) * size;
        self.layout.decode(&self.buf[at..at + size])
    }

    /// Ends the iteration after an error, so that it is yielded once.
    fn checked(&mut self, got: Result<Record>) -> Result<Record> {
        self.failed = got.is_err();
        got
    }

    /// Reads records `first..end` into the buffer under the shared lock.
    fn fill(&mut self, first: u64, end: u64) -> Result<()> {
        let size = self.layout.record_size();
        self.buf.clear();
        self.buf.resize(((end - first) as usize) * size, 0);
        let io_err = |e| Error::from_io(OP, &self.path, e, PermissionRule::File);
        let read = {
            let _locked = sys::file::lock(OP, &self.path, &self.file, false, (0, 0), Deadline::after(self.timeout))?;
            self.file.read_exact_at(&mut self.buf, first * size as u64)
        };
        if let Err(e) = read {
            self.buf.clear();
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                Error::new(ErrorKind::Io, OP, "the file shrank while it was read").at(&self.path)
            } else {
                io_err(e)
            });
        }
        tracing::trace!(path = %self.path.display(), first, end, "stream block");
        self.buf_first = first;
        Ok(())
    }
}

impl Iterator for Records {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        if self.failed || self.front >= self.back {
            return None;
        }
        let i = self.front;
        self.front += 1;
        let got = self.record(i, false);
        Some(self.checked(got))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.failed { 0 } else { self.back - self.front };
        (0, usize::try_from(left).ok())
    }
}

impl DoubleEndedIterator for Records {
    fn next_back(&mut self) -> Option<Result<Record>> {
        if self.failed || self.front >= self.back {
            return None;
        }
        self.back -= 1;
        let i = self.back;
        let got = self.record(i, true);
        Some(self.checked(got))
    }
}

// Both layouts' records divide the block into whole records with little left over.
const _: () = assert!(BLOCK / UTMPS_RECORD_SIZE >= 128);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Field, RecordType};

    fn rec(n: u32) -> Record {
        Record {
            record_type: RecordType::USER_PROCESS,
            pid: n as i32,
            line: Field::truncated(format!("pts/{}", n % 50).as_bytes()),
            user: Field::truncated(b"alice"),
            tv_sec: 1_700_000_000 + i64::from(n),
            ..Record::default()
        }
    }

    fn file_of(layout: Layout, n: u32, torn: usize) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wtmp");
        let mut bytes: Vec<u8> = (0..n).flat_map(|i| layout.encode(&rec(i)).unwrap()).collect();
        bytes.extend(std::iter::repeat(0x5a).take(torn));
        std::fs::write(&path, &bytes).unwrap();
        (dir, path, bytes)
    }

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn both_directions_match_parse_across_blocks_with_a_torn_tail() {
        for layout in [Layout::Glibc, Layout::Utmps] {
            for (n, torn) in [(0, 0), (1, 0), (170, 7), (171, 0), (1000, layout.record_size() - 1)] {
                let (_dir, path, bytes) = file_of(layout, n, torn);
                let want = crate::files::parse(&bytes, None);
                let mut s = open(&path, None, T).unwrap();
                assert_eq!(s.layout(), want.layout);
                assert_eq!(s.len(), want.records.len() as u64);
                let fwd: Vec<Record> = s.by_ref().map(Result::unwrap).collect();
                assert_eq!(fwd, want.records);
                assert_eq!(s.trailing(), want.trailing);
                let mut s = open(&path, None, T).unwrap();
                let mut back: Vec<Record> = s.by_ref().rev().map(Result::unwrap).collect();
                assert_eq!(s.get(0).map(Result::unwrap), want.records.first().copied(), "get after the iteration");
                assert!(s.get(s.len()).is_none());
                back.reverse();
                assert_eq!(back, want.records, "{layout:?} {n} {torn}");
            }
        }
    }

    #[test]
    fn both_ends_meet_without_repeating_a_record() {
        let (_dir, path, _) = file_of(Layout::Glibc, 500, 0);
        let mut s = open(&path, Some(Layout::Glibc), T).unwrap();
        let mut seen = Vec::new();
        while let (Some(a), b) = (s.next(), s.next_back()) {
            seen.push(a.unwrap().pid);
            if let Some(b) = b {
                seen.push(b.unwrap().pid);
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..500).collect::<Vec<_>>());
    }

    #[test]
    fn detection_on_the_prefix_matches_detection_on_the_whole_file() {
        // Lengths around the detection span, where the prefix rule changes.
        for layout in [Layout::Glibc, Layout::Utmps] {
            for n in [40, 47, 48, 49, 50, 51, 60, 100] {
                for torn in [0, 16, 384, 399] {
                    let (_dir, path, bytes) = file_of(layout, n, torn);
                    let want = crate::files::parse(&bytes, None);
                    let s = open(&path, None, T).unwrap();
                    assert_eq!((s.layout(), s.trailing()), (want.layout, want.trailing), "{layout:?} {n} {torn}");
                }
            }
        }
    }

    #[test]
    fn garbage_streams_without_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        for layout in [None, Some(Layout::Glibc), Some(Layout::Utmps)] {
            let mut s = open(&path, layout, T).unwrap();
            let n = s.by_ref().rev().filter(Result::is_ok).count();
            assert_eq!(n * s.layout().record_size() + s.trailing(), bytes.len());
        }
    }

    #[test]
    fn non_regular_files_are_refused_and_missing_ones_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; mkfifo has no other preconditions.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, what) in [(fifo.as_path(), "FIFO"), (dir.path(), "directory"), (Path::new("/dev/zero"), "device")] {
            let e = open(path, None, T).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput, "{path:?}");
            assert!(e.to_string().contains(what), "{e}");
        }
        let e = open(dir.path().join("none"), None, T).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Unavailable);
    }

    #[test]
    fn a_held_write_lock_times_out_within_the_deadline() {
        let (_dir, path, _) = file_of(Layout::Glibc, 3, 0);
        let writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let held = crate::sys::filelock::lock(&writer, true, 0, 0, crate::sys::deadline::Deadline::after(T)).unwrap();
        let started = std::time::Instant::now();
        let e = open(&path, None, Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::TimedOut);
        assert!(e.to_string().contains("another process held a lock"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        drop(held);
        assert_eq!(open(&path, None, T).unwrap().count(), 3);
    }

    #[test]
    fn a_file_cut_short_while_read_is_an_error_then_the_end() {
        let (_dir, path, _) = file_of(Layout::Glibc, 1000, 0);
        let mut s = open(&path, Some(Layout::Glibc), T).unwrap();
        assert!(s.next().unwrap().is_ok());
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(10).unwrap();
        let e = s.next_back().unwrap().unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Io);
        assert!(s.next().is_none() && s.next_back().is_none());
        assert!(s.get(0).unwrap().is_err(), "no whole record is left");
        assert!(s.get(1000).is_none());
    }
}
