//! Reading utmp and wtmp files directly, in either layout, from any path.
//!
//! Bad files are read as far as they are whole: a truncated last record or a file
//! whose size is not a multiple of the record size yields every whole record and
//! reports the stray bytes in [`FileRecords::trailing`]; nothing here panics on
//! file contents.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, PermissionRule, Result};
use crate::layout::Layout;
use crate::record::Record;

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

/// Reads a utmp or wtmp file under a shared lock taken before `timeout` runs out.
///
/// # Errors
/// `Unavailable` when the file does not exist, `TimedOut` when a writer holds
/// its lock too long, `Io` otherwise.
pub fn read(path: impl AsRef<Path>, layout: Option<Layout>, timeout: std::time::Duration) -> Result<FileRecords> {
    let path = path.as_ref();
    let op = "file read";
    // O_NONBLOCK: a FIFO at the path must not block the open.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::from_io(op, path, e, PermissionRule::File))?;
    let _locked = crate::filelock::lock(&file, false, 0, 0, crate::deadline::after(timeout))
        .map_err(|e| Error::from_io(op, path, e, PermissionRule::File))?;
    let mut bytes = Vec::new();
    (&file).read_to_end(&mut bytes).map_err(|e| Error::from_io(op, path, e, PermissionRule::File))?;
    Ok(parse(&bytes, layout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Field, RecordType};

    fn rec(n: i32) -> Record {
        Record {
            record_type: RecordType::USER_PROCESS,
            pid: n,
            line: Field::from_slice_unchecked(format!("pts/{n}").as_bytes()),
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
    fn missing_file_is_unavailable() {
        let e = read("/nonexistent/wtmp", None, std::time::Duration::from_millis(100)).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unavailable);
        assert!(e.to_string().contains("/nonexistent/wtmp"));
    }
}
