//! Temporary utmp, wtmp and lastlog files for the libc flavour, how to read
//! them back, and FIFOs.

use std::fs::File;
use std::path::{Path, PathBuf};

use utmps::layout::Layout;
use utmps::{Accounting, Record};

/// Empty utmp, wtmp and lastlog files in a temporary directory.
pub struct Files {
    pub dir: tempfile::TempDir,
    pub utmp: PathBuf,
    pub wtmp: PathBuf,
    pub lastlog: PathBuf,
}

impl Files {
    pub fn new() -> Files {
        let dir = tempfile::tempdir().expect("temp dir");
        let utmp = dir.path().join("utmp");
        let wtmp = dir.path().join("wtmp");
        let lastlog = dir.path().join("lastlog");
        for p in [&utmp, &wtmp, &lastlog] {
            File::create(p).expect("create file");
        }
        Files { dir, utmp, wtmp, lastlog }
    }

    /// The libc flavour on these three files.
    pub fn acct(&self) -> Accounting {
        self.acct_default_lastlog().with_lastlog(&self.lastlog)
    }

    /// The libc flavour on utmp and wtmp, with lastlog left at the default
    /// file (which only a login that asks for lastlog writes).
    pub fn acct_default_lastlog(&self) -> Accounting {
        Accounting::files(&self.utmp, &self.wtmp).expect("libc flavour")
    }

    /// The records of utmp, which must be whole glibc records.
    pub fn utmp_records(&self) -> Vec<Record> {
        whole_glibc_records(&self.utmp, "utmp")
    }

    /// The records of wtmp, which must be whole glibc records.
    pub fn wtmp_records(&self) -> Vec<Record> {
        whole_glibc_records(&self.wtmp, "wtmp")
    }
}

/// The records of the glibc file `path` (`what` in messages), which must be
/// whole records.
fn whole_glibc_records(path: &Path, what: &str) -> Vec<Record> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {what}: {e:?}"));
    assert_eq!(bytes.len() % Layout::Glibc.record_size(), 0, "{what} is not whole records");
    utmps::files::parse(&bytes, Some(Layout::Glibc)).records
}

/// The records of the glibc file `path`, a torn tail left out.
pub fn glibc_records(path: &Path) -> Vec<Record> {
    let bytes = std::fs::read(path).unwrap();
    utmps::files::parse(&bytes, Some(Layout::Glibc)).records
}

/// Makes a FIFO at `path` with `mode` (less the umask).
pub fn mkfifo(path: &Path, mode: libc::mode_t) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), mode) }, 0);
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC for seconds since the epoch (Howard Hinnant's civil-from-days).
pub fn iso_utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}
