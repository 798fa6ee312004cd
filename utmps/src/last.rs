//! Pairing wtmp records into sessions, the way `last` does.
//!
//! [`Pairing`] walks records newest first (a [`stream`](crate::stream) read
//! backward, or a slice reversed) and yields each session as its login is
//! reached, so that its memory follows the lines still waiting for their
//! login, not the file. [`pair`] is the same walk over a slice.
//!
//! # Rules
//! [`Rules::Last`] follows util-linux `last` (2.38), so that a listing shows the
//! same sessions in the same order as `last -f FILE`:
//! - A record's type is first re-derived from its names, as `last` does for
//!   writers that fill `ut_type` badly: on a line starting with `~`, the users
//!   `shutdown`, `reboot` and `runlevel` (as prefixes) make a shutdown, a boot
//!   and a run-level change; elsewhere a record with a user and a line is a
//!   login unless it is DEAD_PROCESS or its user starts with `LOGIN`, and a
//!   record without a user is a logout, whatever its type.
//! - A login ends at the nearest later record on its line, logout or login
//!   (a line holds one session at a time); lines compare up to their first NUL,
//!   and records without a line are not kept.
//! - A boot ([`End::Crash`]), a shutdown or a change to run level 0 or 6
//!   ([`End::Down`]) ends every session before it that has no such record.
//! - A login with none of these is [`End::StillLoggedIn`] only if it is no older
//!   than the running system's boot, its user exists and owns either the
//!   login's process (its `/proc/PID/loginuid`) or, when there is no such
//!   process, its terminal `/dev/LINE`; otherwise [`End::Gone`].
//!
//! Where this differs from `last`: the records are the whole ones counted from
//! the start of the file, as everywhere in this crate, and a torn tail is
//! reported; `last` counts them from the end, so on a file with a torn tail it
//! decodes misaligned records. Boots are listed only on request
//! ([`Pairing::with_boots`]); run-level, clock-change and shutdown lines
//! (`last -x`) are not listed.
//!
//! [`Rules::Types`], the rules of [`pair`], look at `ut_type` alone: a login is
//! a USER_PROCESS record with a user, its logout the nearest later DEAD_PROCESS
//! record, or USER_PROCESS record without a user, on the same line (compared
//! byte for byte); a BOOT_TIME record ends the sessions before it; a later
//! login does not end an earlier one; an unended login is told apart by its
//! pid alone ([`pid_alive`]).

use std::collections::hash_map::{Entry, HashMap};
use std::convert::Infallible;
use std::time::Duration;

use crate::record::{Exit, Record, RecordType};
use crate::sys::process::pid_alive;

/// How a session from wtmp ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum End {
    /// A logout record on the same line (under [`Rules::Last`], possibly the
    /// next login there).
    LoggedOut {
        /// The logout record.
        logout: Record,
        /// Its exit status.
        exit: Exit,
    },
    /// No logout yet and the session's process (or terminal) is still its user's.
    StillLoggedIn,
    /// No logout and the session is not there any more: the daemon died without
    /// logging out.
    Gone,
    /// The system booted again before any logout.
    Crash {
        /// The boot record.
        boot: Record,
    },
    /// The system was shut down before any logout ([`Rules::Last`] only). For a
    /// boot entry: the shutdown that ended that boot.
    Down {
        /// The shutdown or run-level record.
        shutdown: Record,
    },
    /// A boot entry with no shutdown after it: the system is still running.
    Running,
}

/// A session (or, from [`Pairing::with_boots`], a boot): its login record and
/// how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastEntry {
    /// The USER_PROCESS record (the boot record for a boot).
    pub login: Record,
    /// The end.
    pub end: End,
    /// True for a boot of the system, listed as `last` lists its `reboot` lines.
    pub boot: bool,
}

impl LastEntry {
    /// The session's length, when it has ended after it began.
    pub fn duration(&self) -> Option<Duration> {
        let end = match &self.end {
            End::LoggedOut { logout, .. } => logout,
            End::Crash { boot } => boot,
            End::Down { shutdown } => shutdown,
            End::StillLoggedIn | End::Gone | End::Running => return None,
        };
        end.time()?.duration_since(self.login.time()?).ok()
    }
}

/// Which records start and end sessions; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rules {
    /// util-linux `last`'s.
    Last,
    /// `ut_type` alone: the rules of [`pair`].
    Types,
}

/// What a record is to the pairing, once its type has been re-derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Login,
    Logout,
    Boot,
    Shutdown,
    Other,
}

/// The kind under [`Rules::Last`].
fn last_kind(rec: &Record) -> Kind {
    let (user, line) = (rec.user.as_bytes(), rec.line.as_bytes());
    let mut t = rec.record_type;
    if line.starts_with(b"~") {
        if user.starts_with(b"shutdown") {
            return Kind::Shutdown;
        } else if user.starts_with(b"reboot") {
            t = RecordType::BOOT_TIME;
        } else if user.starts_with(b"runlevel") {
            t = RecordType::RUN_LVL;
        }
    } else {
        if t != RecordType::DEAD_PROCESS && !user.is_empty() && !line.is_empty() && !user.starts_with(b"LOGIN") {
            t = RecordType::USER_PROCESS;
        }
        if user.is_empty() {
            t = RecordType::DEAD_PROCESS;
        }
        // `last` turns users `date` on lines `|` and `{` into clock changes,
        // which end nothing: already Other unless they were logins.
        if user.starts_with(b"date") && matches!(line.first(), Some(b'|' | b'{')) {
            return Kind::Other;
        }
    }
    match t {
        RecordType::BOOT_TIME => Kind::Boot,
        // Run levels 0 and 6 are a halt and a reboot: `last` treats them as shutdowns.
        RecordType::RUN_LVL if matches!(rec.pid & 255, 0x30 | 0x36) => Kind::Shutdown,
        RecordType::USER_PROCESS => Kind::Login,
        RecordType::DEAD_PROCESS => Kind::Logout,
        _ => Kind::Other,
    }
}

/// The kind under [`Rules::Types`].
fn type_kind(rec: &Record) -> Kind {
    match rec.record_type {
        RecordType::BOOT_TIME => Kind::Boot,
        RecordType::USER_PROCESS if !rec.user.is_empty() => Kind::Login,
        RecordType::USER_PROCESS | RecordType::DEAD_PROCESS => Kind::Logout,
        _ => Kind::Other,
    }
}

/// Pairs logins with their ends over records given NEWEST FIRST, yielding each
/// session when its login is reached: newest login first, the order of `last`.
///
/// Memory follows the lines that have a later record and no login yet (under
/// [`Rules::Last`], every line seen since the newest boot or shutdown): one
/// record each. An error from the records is passed on and pairing goes on
/// with the next record.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("wtmp");
/// # std::fs::write(&path, b"")?;
/// use std::time::Duration;
/// use utmps::{last::Pairing, stream};
///
/// let mut records = stream::open(&path, None, Duration::from_secs(5))?;
/// for session in Pairing::new(records.by_ref().rev()) {
///     let session = session?;
///     println!("{} {} {:?}", session.login.user, session.login.line, session.end);
/// }
/// println!("{} stray bytes", records.trailing());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pairing<I> {
    records: I,
    rules: Rules,
    boots: bool,
    /// Per line: the nearest later record that can end a login there.
    later: HashMap<[u8; 32], Record>,
    /// The nearest later boot or shutdown, and which of the two.
    cut: Option<(Record, Kind)>,
    /// The nearest later shutdown: where a boot entry ends.
    down: Option<Record>,
    /// The running system's boot, in seconds, looked up at the first unended login.
    booted: Option<Option<i64>>,
}

impl<I, E> Pairing<I>
where
    I: Iterator<Item = Result<Record, E>>,
{
    /// Pairs `newest_first` under [`Rules::Last`], listing sessions only.
    pub fn new(newest_first: I) -> Pairing<I> {
        Pairing::with_rules(newest_first, Rules::Last)
    }

    /// Pairs `newest_first` under `rules`, listing sessions only.
    pub fn with_rules(newest_first: I, rules: Rules) -> Pairing<I> {
        Pairing {
            records: newest_first,
            rules,
            boots: false,
            later: HashMap::new(),
            cut: None,
            down: None,
            booted: None,
        }
    }

    /// Also lists each boot where it is reached, as `last` lists its `reboot`
    /// lines: [`LastEntry::boot`] set, ended by the nearest later shutdown
    /// ([`End::Down`]) or [`End::Running`].
    pub fn with_boots(mut self) -> Pairing<I> {
        self.boots = true;
        self
    }

    /// The lines currently held: what the pairing's memory follows.
    pub fn held(&self) -> usize {
        self.later.len()
    }

    fn step(&mut self, rec: Record) -> Option<LastEntry> {
        let kind = match self.rules {
            Rules::Last => last_kind(&rec),
            Rules::Types => type_kind(&rec),
        };
        let key = self.key(&rec);
        let listed = match kind {
            Kind::Login => {
                let later = match self.rules {
                    // The login takes its line's place: it ends the login before it.
                    Rules::Last if !rec.line.is_empty() => match self.later.entry(key) {
                        Entry::Occupied(mut held) => Some(std::mem::replace(held.get_mut(), rec)),
                        Entry::Vacant(free) => {
                            free.insert(rec);
                            None
                        }
                    },
                    Rules::Last => None,
                    Rules::Types => self.later.remove(&key),
                };
                let end = match later {
                    Some(logout) => End::LoggedOut { logout, exit: logout.exit },
                    None => self.unended(&rec),
                };
                Some(LastEntry { login: rec, end, boot: false })
            }
            Kind::Logout => {
                if self.rules == Rules::Types || !rec.line.is_empty() {
                    self.later.insert(key, rec);
                }
                None
            }
            Kind::Boot => {
                let end = self.down.map_or(End::Running, |shutdown| End::Down { shutdown });
                self.boots.then_some(LastEntry { login: rec, end, boot: true })
            }
            Kind::Shutdown => {
                self.down = Some(rec);
                None
            }
            Kind::Other => None,
        };
        if matches!(kind, Kind::Boot | Kind::Shutdown) {
            // Records after a boot or shutdown cannot end sessions before it.
            self.later.clear();
            self.cut = Some((rec, kind));
        }
        listed
    }

    fn key(&self, rec: &Record) -> [u8; 32] {
        match self.rules {
            Rules::Types => rec.line.0,
            Rules::Last => {
                let mut key = [0u8; 32];
                let text = rec.line.as_bytes();
                key[..text.len()].copy_from_slice(text);
                key
            }
        }
    }

    /// The end of a login that nothing later on its line ended.
    fn unended(&mut self, login: &Record) -> End {
        // `last` keeps the time of the cut and takes 0 for "none".
        let cut = self.cut.filter(|(r, _)| self.rules == Rules::Types || r.tv_sec != 0);
        match cut {
            Some((boot, Kind::Boot)) => End::Crash { boot },
            Some((shutdown, _)) => End::Down { shutdown },
            None if self.rules == Rules::Types => match pid_alive(login.pid) {
                Some(false) => End::Gone,
                _ => End::StillLoggedIn,
            },
            None => {
                let booted = *self.booted.get_or_insert_with(system_boot);
                if booted.is_some_and(|b| login.tv_sec < b) || !still_owned(login) {
                    End::Gone
                } else {
                    End::StillLoggedIn
                }
            }
        }
    }
}

impl<I, E> Iterator for Pairing<I>
where
    I: Iterator<Item = Result<Record, E>>,
{
    type Item = Result<LastEntry, E>;

    fn next(&mut self) -> Option<Result<LastEntry, E>> {
        loop {
            match self.records.next()? {
                Ok(rec) => {
                    if let Some(entry) = self.step(rec) {
                        return Some(Ok(entry));
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The running system's boot time in seconds: now less the time since boot.
fn system_boot() -> Option<i64> {
    let up = crate::sys::process::since_boot()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    let now_us = i64::try_from(now.as_micros()).ok()?;
    let up_us = i64::try_from(up.as_micros()).ok()?;
    Some((now_us - up_us).div_euclid(1_000_000))
}

/// How long the pairing waits for the user database to name a login's user.
const USER_LOOKUP: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether the login's user exists and still owns its process or, when there
/// is no such process, its terminal.
fn still_owned(login: &Record) -> bool {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    // A user database that does not answer in time: as `last` without the
    // user, the login is not counted as still on.
    let lookup = crate::sys::deadline::Deadline::after(USER_LOOKUP);
    let Ok(Some(uid)) = crate::sys::users::uid_of_by(login.user.as_bytes(), lookup) else {
        return false;
    };
    // `last` prints the pid unsigned: a negative one names no process.
    let pid = u32::from_ne_bytes(login.pid.to_ne_bytes());
    match std::fs::read_to_string(format!("/proc/{pid}/loginuid")) {
        Ok(text) => text.trim().parse::<u32>() == Ok(uid),
        Err(_) => {
            let tty = std::path::Path::new("/dev").join(std::ffi::OsStr::from_bytes(login.line.as_bytes()));
            std::fs::metadata(tty).is_ok_and(|m| m.uid() == uid)
        }
    }
}

/// Pairs logins with logouts under [`Rules::Types`], newest first: the
/// [`Pairing`] walk over a slice given oldest first, as a file holds it.
///
/// A login with neither a logout nor a later boot is told apart by its pid:
/// this calls `kill(pid, 0)` (through [`pid_alive`]) on the pid from the
/// record, so the answer is [`End::Gone`] only when no such process exists
/// now, and [`End::StillLoggedIn`] otherwise (including when an unrelated
/// process has reused the pid).
pub fn pair(records: &[Record]) -> Vec<LastEntry> {
    let newest_first = records.iter().rev().map(|r| Ok::<Record, Infallible>(*r));
    Pairing::with_rules(newest_first, Rules::Types).map(|e| e.unwrap_or_else(|never| match never {})).collect()
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Field;

    fn rec(kind: RecordType, line: &str, user: &str, t: i64, pid: i32) -> Record {
        Record {
            record_type: kind,
            pid,
            line: Field::truncated(line.as_bytes()),
            user: Field::truncated(user.as_bytes()),
            tv_sec: t,
            ..Record::default()
        }
    }

    #[test]
    fn pairs_by_line_with_durations() {
        let me = std::process::id() as i32;
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

    fn last(records: &[Record]) -> Vec<LastEntry> {
        let newest_first = records.iter().rev().map(|r| Ok::<Record, Infallible>(*r));
        Pairing::new(newest_first).with_boots().map(Result::unwrap).collect()
    }

    #[test]
    fn last_rules_end_a_login_at_the_next_record_on_its_line() {
        let records = [
            rec(RecordType::USER_PROCESS, "pts/1", "alice", 100, i32::MAX - 1),
            rec(RecordType::USER_PROCESS, "pts/1", "bob", 130, 0),
            rec(RecordType::DEAD_PROCESS, "pts/1", "", 160, 0),
            rec(RecordType::USER_PROCESS, "", "carol", 170, 0),
            rec(RecordType::DEAD_PROCESS, "", "", 180, 0),
        ];
        let got = last(&records);
        let users: Vec<&[u8]> = got.iter().map(|e| e.login.user.as_bytes()).collect();
        assert_eq!(users, [&b"carol"[..], b"bob", b"alice"]);
        assert_eq!(got[0].end, End::Gone, "a login without a line is never ended by a logout");
        assert!(matches!(got[1].end, End::LoggedOut { logout, .. } if logout.tv_sec == 160));
        assert!(matches!(got[2].end, End::LoggedOut { logout, .. } if logout.tv_sec == 130), "the next login ends it");
        // Under the type rules the later login does not end the earlier one.
        assert_eq!(pair(&records)[2].end, End::Gone);
    }

    #[test]
    fn last_rules_rederive_types_from_names_and_cut_at_shutdowns() {
        let mut runlevel6 = rec(RecordType::RUN_LVL, "~", "runlevel", 150, 0x36);
        runlevel6.pid = 0x36;
        let records = [
            rec(RecordType::USER_PROCESS, "pts/1", "alice", 100, 0),
            rec(RecordType::LOGIN_PROCESS, "pts/2", "bob", 110, 0),
            rec(RecordType::LOGIN_PROCESS, "tty1", "LOGIN", 115, 0),
            runlevel6,
            rec(RecordType::USER_PROCESS, "~", "reboot", 200, 0),
            rec(RecordType::BOOT_TIME, "pts/3", "", 210, 0),
            rec(RecordType::USER_PROCESS, "pts/3", "dave", 190, 0),
            rec(RecordType::USER_PROCESS, "~", "shutdown", 300, 0),
        ];
        let mut newest_first = records.to_vec();
        newest_first.swap(5, 6);
        let got = last(&newest_first);
        let desc: Vec<(&[u8], bool)> = got.iter().map(|e| (e.login.user.as_bytes(), e.boot)).collect();
        assert_eq!(desc, [(&b"dave"[..], false), (b"reboot", true), (b"bob", false), (b"alice", false)]);
        assert!(matches!(got[0].end, End::LoggedOut { logout, .. } if logout.tv_sec == 190 + 20));
        assert!(matches!(got[1].end, End::Down { shutdown } if shutdown.tv_sec == 300), "a boot lasts to its shutdown");
        assert!(matches!(got[2].end, End::Down { shutdown } if shutdown.tv_sec == 150), "run level 6 is a shutdown");
        assert_eq!(got[3].duration(), Some(Duration::from_secs(50)));
    }

    #[test]
    fn last_rules_tell_still_logged_in_from_gone_by_owner() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        // No process has pid -5: the terminal's owner decides, and root owns /dev/null.
        let mut records = vec![rec(RecordType::USER_PROCESS, "null", "root", now, -5)];
        records.push(rec(RecordType::USER_PROCESS, "pts/9", "no-such-user-utmps", now, -5));
        records.push(rec(RecordType::USER_PROCESS, "null2", "root", 1000, -5));
        let got = last(&records);
        assert_eq!(got[0].end, End::Gone, "a login before the running system's boot");
        assert_eq!(got[1].end, End::Gone, "an unknown user");
        assert_eq!(got[2].end, End::StillLoggedIn);
    }

    #[test]
    fn errors_pass_through_and_pairing_goes_on() {
        let items = vec![
            Ok(rec(RecordType::DEAD_PROCESS, "pts/1", "", 160, 0)),
            Err("bad block"),
            Ok(rec(RecordType::USER_PROCESS, "pts/1", "alice", 100, 0)),
        ];
        let got: Vec<_> = Pairing::new(items.into_iter()).collect();
        assert_eq!(got[0], Err("bad block"));
        assert!(matches!(got[1], Ok(LastEntry { end: End::LoggedOut { .. }, .. })));
    }
}
