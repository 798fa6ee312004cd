//! Live entries in utmp (INIT, LOGIN and USER_PROCESS: what `who` and `w`
//! show), and the guard that ends the ones a test wrote, so that a run leaves
//! nothing live in the daemons it tested.

use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

use utmps::{Record, RecordType};

use super::raw::{Got, Raw, ESRCH};

/// True for an entry that stays live until a DEAD_PROCESS takes its slot.
pub fn is_live(r: &Record) -> bool {
    [RecordType::INIT_PROCESS, RecordType::LOGIN_PROCESS, RecordType::USER_PROCESS].contains(&r.record_type)
}

/// The live entries among `records`, as `type line id` for a message.
pub fn describe_live(records: &[Record]) -> Vec<String> {
    records.iter().filter(|r| is_live(r)).map(|r| format!("{:?} {} {}", r.record_type, r.line, r.id)).collect()
}

/// Ends, when dropped, every live entry left on its lines, whoever wrote it
/// (the test, a child it forked, a session that failed to log out), also
/// when the test fails midway. Each one is read and at once overwritten by a
/// DEAD_PROCESS with its id and line: a put right after reading a slot steps
/// back onto that slot (`utmps::notes::protocol`), so even an entry behind a
/// dead duplicate of itself is ended. Entries on other lines are left alone,
/// as a real daemon holds other users' sessions.
pub struct EndOnDrop<'a> {
    utmpd: &'a Path,
    lines: Vec<Vec<u8>>,
}

impl<'a> EndOnDrop<'a> {
    pub fn new<L: AsRef<[u8]>>(utmpd: &'a Path, lines: impl IntoIterator<Item = L>) -> EndOnDrop<'a> {
        EndOnDrop { utmpd, lines: lines.into_iter().map(|l| l.as_ref().to_vec()).collect() }
    }

    fn end_all(&self) -> io::Result<()> {
        let mut c = Raw::try_connect(self.utmpd)?;
        if c.try_rewind()? != Some(0) {
            return Err(io::Error::other("the rewind was refused"));
        }
        loop {
            match c.try_next()? {
                Got::Record(r, _) if is_live(&r) && self.lines.iter().any(|l| l == r.line.as_bytes()) => {
                    let mut dead = r;
                    dead.record_type = RecordType::DEAD_PROCESS;
                    dead.set_time(SystemTime::now());
                    match c.try_put_here(&dead)? {
                        Some(0) => {}
                        other => return Err(io::Error::other(format!("ending {}: status {other:?}", r.line))),
                    }
                }
                Got::Record(..) => {}
                Got::Status(ESRCH) => return Ok(()),
                other => return Err(io::Error::other(format!("reading utmp: {other:?}"))),
            }
        }
    }
}

impl Drop for EndOnDrop<'_> {
    /// Never panics: it also runs while a failed assertion unwinds. A failure
    /// goes to stderr directly, where the harness does not hide it.
    fn drop(&mut self) {
        if let Err(e) = self.end_all() {
            let (n, utmpd) = (self.lines.len(), self.utmpd.display());
            let _ = writeln!(io::stderr(), "could not end the live entries on {n} line(s) through {utmpd}: {e}");
        }
    }
}
