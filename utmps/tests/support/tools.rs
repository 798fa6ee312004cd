//! The system's own tools (who, last, lastb, utmpdump, sqlite3), each reported
//! as a capability skip where it is missing.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::capability_skip;

/// Runs a system tool in UTC and the C locale; its output, which it must
/// succeed in writing. `None` (a capability skip, in the name of `what` is
/// tested) when it is not installed.
pub fn system_tool(what: &str, name: &str, args: &[&OsStr]) -> Option<String> {
    match Command::new(name).args(args).env("TZ", "UTC").env("LC_ALL", "C").output() {
        Ok(out) => {
            assert!(out.status.success(), "{name} failed: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            capability_skip(&format!("SKIPPED {what}: `{name}` is not installed on this machine"));
            None
        }
        Err(e) => panic!("running {name}: {e}"),
    }
}

/// util-linux `lastb ARGS PATH`'s output, which it must succeed in writing;
/// `None` (a capability skip) when lastb cannot be run.
pub fn lastb(args: &[&str], path: &Path) -> Option<String> {
    match Command::new("lastb").args(args).arg(path).output() {
        Ok(out) => {
            assert!(out.status.success(), "lastb failed: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Err(e) => {
            capability_skip(&format!("SKIPPED lastb check: cannot run lastb ({e})"));
            None
        }
    }
}

/// Debian's sqlite3 CLI; `None` (a capability skip, in `test`'s name) when it
/// is not installed.
pub fn sqlite3_cli(test: &str) -> Option<PathBuf> {
    let found = ["/usr/bin/sqlite3", "/bin/sqlite3"].iter().map(Path::new).find(|p| p.exists());
    if found.is_none() {
        capability_skip(&format!("SKIPPED {test}: Debian's sqlite3 CLI is not installed (apt-get install sqlite3)"));
    }
    found.map(Path::to_path_buf)
}
