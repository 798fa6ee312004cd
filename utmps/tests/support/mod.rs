//! Shared helpers for the libc-flavour tests: temp utmp/wtmp files.
#![allow(dead_code)]

use std::fs::File;
use std::path::PathBuf;

use utmps::layout::Layout;
use utmps::{Accounting, Record};

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

    pub fn acct(&self) -> Accounting {
        Accounting::files(&self.utmp, &self.wtmp).expect("libc flavour").lastlog_path(&self.lastlog)
    }

    pub fn utmp_records(&self) -> Vec<Record> {
        let bytes = std::fs::read(&self.utmp).expect("read utmp");
        assert_eq!(bytes.len() % Layout::Glibc.record_size(), 0, "utmp is not whole records");
        utmps::files::parse(&bytes, Some(Layout::Glibc)).records
    }

    pub fn wtmp_records(&self) -> Vec<Record> {
        let bytes = std::fs::read(&self.wtmp).expect("read wtmp");
        assert_eq!(bytes.len() % Layout::Glibc.record_size(), 0, "wtmp is not whole records");
        utmps::files::parse(&bytes, Some(Layout::Glibc)).records
    }
}

/// A user that exists on every Linux system, for lastlog lookups.
pub const USER: &str = "root";

/// Says that a check was skipped, and why, where the test log shows it: written
/// to the process's stderr directly, which the test harness does not capture.
#[macro_export]
macro_rules! skipped {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
