//! Pairing wtmp records into sessions, the way `last` does.

use std::collections::HashMap;
use std::time::Duration;

use crate::process::pid_alive;
use crate::record::{Exit, Field, Record, RecordType};

/// How a session from wtmp ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum End {
    /// A logout record on the same line.
    LoggedOut {
        /// The logout record.
        logout: Record,
        /// Its exit status.
        exit: Exit,
    },
    /// No logout yet and the session's process is alive.
    StillLoggedIn,
    /// No logout and the process is gone: the daemon died without logging out.
    Gone,
    /// The system booted again before any logout.
    Crash {
        /// The boot record.
        boot: Record,
    },
}

/// A session: its login record and how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastEntry {
    /// The USER_PROCESS record.
    pub login: Record,
    /// The end.
    pub end: End,
}

impl LastEntry {
    /// The session's length, when it has ended.
    pub fn duration(&self) -> Option<Duration> {
        let end = match &self.end {
            End::LoggedOut { logout, .. } => logout,
            End::Crash { boot } => boot,
            End::StillLoggedIn | End::Gone => return None,
        };
        end.time()?.duration_since(self.login.time()?).ok()
    }
}

/// Pairs logins with logouts, newest first. A login is a USER_PROCESS record with
/// a user name; its logout is the first DEAD_PROCESS record, or USER_PROCESS
/// record with an empty user, on the same line after it. Records of other types
/// are skipped; a BOOT_TIME record ends the sessions before it.
///
/// A login with neither a logout nor a later boot is told apart by its pid:
/// this calls `kill(pid, 0)` (through [`pid_alive`]) on the
/// pid from the record, so the answer is [`End::Gone`] only when no such
/// process exists now, and [`End::StillLoggedIn`] otherwise (including when an
/// unrelated process has reused the pid).
pub fn pair(records: &[Record]) -> Vec<LastEntry> {
    let mut logouts: HashMap<Field<32>, Record> = HashMap::new();
    let mut boot: Option<Record> = None;
    let mut out = Vec::new();
    for rec in records.iter().rev() {
        match rec.record_type {
            RecordType::BOOT_TIME => {
                // Logouts after a boot cannot belong to sessions before it.
                logouts.clear();
                boot = Some(*rec);
            }
            RecordType::USER_PROCESS if !rec.user.is_empty() => {
                let end = match logouts.remove(&rec.line) {
                    Some(logout) => End::LoggedOut { logout, exit: logout.exit },
                    None => match boot {
                        Some(boot) => End::Crash { boot },
                        None if pid_alive(rec.pid) == Some(false) => End::Gone,
                        None => End::StillLoggedIn,
                    },
                };
                out.push(LastEntry { login: *rec, end });
            }
            RecordType::DEAD_PROCESS | RecordType::USER_PROCESS => {
                logouts.insert(rec.line, *rec);
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: RecordType, line: &str, user: &str, t: i64, pid: i32) -> Record {
        Record {
            record_type: kind,
            pid,
            line: Field::from_slice_unchecked(line.as_bytes()),
            user: Field::from_slice_unchecked(user.as_bytes()),
            tv_sec: t,
            ..Record::default()
        }
    }

    #[test]
    fn pairs_by_line_with_durations() {
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        let records = [
            rec(RecordType::USER_PROCESS, "pts/1", "alice", 100, me),
            rec(RecordType::USER_PROCESS, "pts/2", "bob", 110, me),
            rec(RecordType::DEAD_PROCESS, "pts/1", "alice", 160, me),
            rec(RecordType::USER_PROCESS, "pts/1", "carol", 200, me),
        ];
        let got = pair(&records);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].login.user.as_bytes(), b"carol");
        assert_eq!(got[0].end, End::StillLoggedIn);
        assert_eq!(got[1].login.user.as_bytes(), b"bob");
        assert_eq!(got[2].duration(), Some(Duration::from_secs(60)));
    }

    #[test]
    fn dead_pid_without_logout_is_gone_and_boot_is_crash() {
        let records = [
            rec(RecordType::USER_PROCESS, "pts/1", "alice", 100, i32::MAX - 1),
            rec(RecordType::USER_PROCESS, "pts/2", "bob", 100, i32::MAX - 1),
            rec(RecordType::BOOT_TIME, "~", "reboot", 150, 0),
            rec(RecordType::DEAD_PROCESS, "pts/2", "bob", 170, 0),
            rec(RecordType::USER_PROCESS, "pts/3", "carol", 200, i32::MAX - 1),
        ];
        let got = pair(&records);
        assert_eq!(got[0].end, End::Gone);
        assert!(matches!(got[1].end, End::Crash { .. }), "a logout after the boot does not end bob's earlier session");
        assert_eq!(got[1].duration(), Some(Duration::from_secs(50)));
        assert!(matches!(got[2].end, End::Crash { .. }));
    }
}
