//! Shared helpers for the libc-flavour tests: temp utmp/wtmp files, and (from
//! `shared.rs`) skips, the root check and the caller's user name.
// Each test binary uses its own part of these helpers.
#![allow(dead_code, unused_imports)]

mod shared;

use std::fs::File;
use std::path::PathBuf;

use utmps::layout::Layout;
use utmps::{Accounting, Record};

pub use shared::{capability_skip, own_user, root_or_skip};

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
        Accounting::files(&self.utmp, &self.wtmp).expect("libc flavour").with_lastlog(&self.lastlog)
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
