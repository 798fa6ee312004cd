//! Session leaders for logind: one small process per session, which opens the
//! session through PAM (so that `pam_systemd` registers it with logind) and
//! holds it until the session ends. The daemon itself never calls PAM and
//! never becomes a session's leader: its own cgroup stays where systemd put it.
//!
//! A leader is the daemon's own program, started again (`/proc/self/exe`) with
//! a socket to the daemon on its standard input. For that to work, the first
//! line of the daemon's `main` hands such a start over to this module:
//!
//! ```no_run
//! // The first line of the daemon's `main`, before any thread or runtime starts:
//! utmps::leader::serve(); // returns at once, unless started as a leader
//! ```
//!
//! A program that does not call [`serve`] gets no logind store from
//! [`Accounting::system`](crate::Accounting::system), and its
//! [`check`](crate::Accounting::check) says why `who` and `w` will not show
//! its sessions on a logind host.
//!
//! The leader reads one request (service, user, tty, host), answers with the
//! session's environment or PAM's refusal, then waits. When the daemon ends the
//! session, or dies (its end of the socket closes: no signal is involved), the
//! leader closes the PAM session (`pam_close_session`, `pam_end`) and exits;
//! logind then ends the session. A leader that does not answer within the
//! handle's deadline is killed.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::sys::deadline::Deadline;
use crate::sys::pam::{Pam, PamError, Request};

/// Set in the environment of a leader's start, with the standard input a socket.
const ENV: &str = "UTMPS_SESSION_LEADER";
/// The program started as a leader: this one.
const SELF_EXE: &str = "/proc/self/exe";
/// A request or answer larger than this is not one.
const MAX_FRAME: usize = 64 * 1024;
/// PAM's `PAM_USER_UNKNOWN`.
const USER_UNKNOWN: i32 = 10;

static SERVES: AtomicBool = AtomicBool::new(false);

/// Runs this process as a session leader, when it was started as one, and
/// exits when the session is over; otherwise returns at once. Call it first
/// in `main`, before any thread or runtime starts: it is what lets
/// [`Accounting`](crate::Accounting) record sessions with logind.
pub fn serve() {
    SERVES.store(true, Ordering::SeqCst);
    if std::env::var_os(ENV).is_none() {
        return;
    }
    // A leader's standard input is the daemon's socket; anything else means
    // the variable was inherited by accident: run as the program it is.
    let Ok(stdin) = io::stdin().as_fd().try_clone_to_owned() else { return };
    let sock = UnixStream::from(stdin);
    if sock.local_addr().is_err() {
        return;
    }
    std::process::exit(lead(sock));
}

/// Whether [`serve`] ran in this process: only then can a leader be started.
pub(crate) fn serves() -> bool {
    SERVES.load(Ordering::SeqCst)
}

/// The leader's life: one request, its answer, then the wait for the end.
fn lead(mut sock: UnixStream) -> i32 {
    let req = match recv(&mut sock) {
        Ok(Some(fields)) if fields.len() == 6 && fields[0] == "open" => fields,
        _ => return 2,
    };
    let request = Request { service: &req[1], user: &req[2], tty: &req[3], rhost: &req[4], confdir: &req[5] };
    let pam = match Pam::open(&request) {
        Ok(pam) => pam,
        Err(e) => {
            let _ = send(&mut sock, &refusal(&e));
            return 1;
        }
    };
    let env = pam.env();
    if !env.iter().any(|v| v.starts_with("XDG_SESSION_ID=")) {
        let _ = pam.close();
        let _ = send(&mut sock, &["no-session"]);
        return 1;
    }
    let mut answer = vec!["open"];
    answer.extend(env.iter().map(String::as_str));
    if send(&mut sock, &answer).is_err() {
        return 1;
    }
    // Until the daemon asks, or its end closes.
    while let Ok(Some(fields)) = recv(&mut sock) {
        if fields.first().map(String::as_str) == Some("close") {
            break;
        }
    }
    match pam.close() {
        Ok(()) => {
            let _ = send(&mut sock, &["closed"]);
            0
        }
        Err(e) => {
            let _ = send(&mut sock, &refusal(&e));
            1
        }
    }
}

fn refusal(e: &PamError) -> [&str; 4] {
    let code = match e.code {
        USER_UNKNOWN => "user-unknown",
        _ => "refused",
    };
    ["refused", e.call, code, &e.text]
}

/// Writes one frame: its length (4 bytes, little-endian), then the fields,
/// each ended by a NUL.
fn send(sock: &mut UnixStream, fields: &[&str]) -> io::Result<()> {
    let mut frame = vec![0; 4];
    for f in fields {
        frame.extend_from_slice(f.as_bytes());
        frame.push(0);
    }
    let len = frame.len() - 4;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "frame too large"));
    }
    frame[..4].copy_from_slice(&(len as u32).to_le_bytes());
    sock.write_all(&frame)
}

/// Reads one frame; `None` at an end of stream before it.
fn recv(sock: &mut UnixStream) -> io::Result<Option<Vec<String>>> {
    let mut len = [0; 4];
    match sock.read(&mut len[..1])? {
        0 => return Ok(None),
        _ => sock.read_exact(&mut len[1..])?,
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too large"));
    }
    let mut body = vec![0; len];
    sock.read_exact(&mut body)?;
    if body.last().is_some_and(|&b| b != 0) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame not NUL-terminated"));
    }
    body.pop();
    Ok(Some(body.split(|&b| b == 0).map(|f| String::from_utf8_lossy(f).into_owned()).collect()))
}

/// What a logind session is opened with.
#[derive(Debug, Clone)]
pub(crate) struct Open<'a> {
    pub(crate) service: &'a str,
    pub(crate) user: &'a str,
    /// `/dev/pts/3`.
    pub(crate) tty: &'a str,
    pub(crate) rhost: &'a str,
    pub(crate) confdir: &'a Path,
}

/// A running leader holding an open session, seen from the daemon.
#[derive(Debug)]
pub(crate) struct Leader {
    child: Option<Child>,
    sock: UnixStream,
    env: Vec<String>,
}

/// The endpoint errors name: the PAM service file.
fn endpoint(service: &str, confdir: &Path) -> std::path::PathBuf {
    match confdir.as_os_str().is_empty() {
        true => Path::new("/etc/pam.d").join(service),
        false => confdir.join(service),
    }
}

impl Leader {
    /// Starts a leader and has it open the session, within `deadline`.
    ///
    /// # Errors
    /// `Unsupported` when this program does not call [`serve`]; `Permission`
    /// (rule [`Pam`](PermissionRule::Pam)) when the PAM stack refuses;
    /// `InvalidInput` for a user PAM does not know; `Unavailable` when the
    /// stack opened no logind session (no `pam_systemd`, not root, or no
    /// logind); `TimedOut` when the leader did not answer in time (it is killed).
    pub(crate) fn open(req: &Open<'_>, deadline: Deadline) -> Result<Leader> {
        const OP: &str = "logind session";
        let at = endpoint(req.service, req.confdir);
        if !serves() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                OP,
                "this program does not start session leaders: its main does not call utmps::leader::serve()",
            )
            .at(&at));
        }
        let confdir = req.confdir.to_str().ok_or_else(|| Error::invalid(OP, "the PAM directory is not UTF-8"))?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| Error::from_io(OP, &at, e, PermissionRule::File))?;
        let child = Command::new(SELF_EXE)
            .arg0("utmps-session-leader")
            .env_clear()
            .env(ENV, "1")
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Out of the daemon's process group: a terminal's ^C is not for it.
            .process_group(0)
            .spawn()
            .map_err(|e| Error::from_io(OP, Path::new(SELF_EXE), e, PermissionRule::File))?;
        let mut leader = Leader { child: Some(child), sock: ours, env: Vec::new() };
        let answer = leader.exchange(&["open", req.service, req.user, req.tty, req.rhost, confdir], deadline);
        let opened = leader.opened(answer, &at);
        if opened.is_err() {
            // A leader that answered anything but `open` exits at once; one
            // that did not answer in time is killed now, whatever it waits for.
            if let Some(mut child) = leader.child.take() {
                let grace = match opened.as_ref().map_err(Error::kind) {
                    Err(ErrorKind::TimedOut) => Duration::ZERO,
                    _ => ANSWERED_GRACE,
                };
                reap(&mut child, Deadline::after(grace));
            }
        }
        opened.map(|()| leader)
    }

    /// Reads the leader's answer to `open`.
    fn opened(&mut self, answer: io::Result<Option<Vec<String>>>, at: &Path) -> Result<()> {
        const OP: &str = "logind session";
        let fields = match answer {
            Ok(Some(fields)) => fields,
            Ok(None) => {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    OP,
                    "the session leader exited without answering: does main call utmps::leader::serve() first?",
                )
                .at(at))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
                return Err(Error::new(ErrorKind::TimedOut, OP, "the PAM stack did not open the session in time").at(at))
            }
            Err(e) => return Err(Error::from_io(OP, at, e, PermissionRule::Pam)),
        };
        match fields.first().map(String::as_str) {
            Some("open") => {
                self.env = fields[1..].to_vec();
                Ok(())
            }
            Some("no-session") => Err(Error::new(
                ErrorKind::Unavailable,
                OP,
                "PAM opened the session but logind registered none (the stack has no pam_systemd, the process \
                 is not root, or logind is not running)",
            )
            .at(at)),
            Some("refused") => Err(refused(&fields, at)),
            _ => Err(Error::new(ErrorKind::Protocol, OP, "the session leader's answer is not one").at(at)),
        }
    }

    /// logind's id of the session (`XDG_SESSION_ID`).
    pub(crate) fn session_id(&self) -> &str {
        self.env.iter().find_map(|v| v.strip_prefix("XDG_SESSION_ID=")).unwrap_or("")
    }

    /// The session's environment, as PAM's modules set it.
    #[allow(dead_code)]
    pub(crate) fn env(&self) -> &[String] {
        &self.env
    }

    /// The leader's pid.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends `fields` and reads the answer, both within `deadline`.
    fn exchange(&mut self, fields: &[&str], deadline: Deadline) -> io::Result<Option<Vec<String>>> {
        self.sock.set_write_timeout(Some(deadline.time_left()?))?;
        send(&mut self.sock, fields)?;
        self.sock.set_read_timeout(Some(deadline.time_left()?))?;
        recv(&mut self.sock)
    }

    /// Ends the session: the leader closes it in PAM and exits, within `deadline`.
    ///
    /// # Errors
    /// `Permission` (rule `Pam`) when `pam_close_session` failed (the leader
    /// exits all the same, and logind ends the session with it); `TimedOut`
    /// when the leader did not answer in time (it is killed, which ends the
    /// logind session too).
    pub(crate) fn close(mut self, service: &str, deadline: Deadline) -> Result<()> {
        const OP: &str = "logind logout";
        let at = endpoint(service, Path::new(""));
        let answer = self.exchange(&["close"], deadline);
        let result = match answer {
            Ok(Some(fields)) if fields.first().map(String::as_str) == Some("closed") => Ok(()),
            Ok(Some(fields)) if fields.first().map(String::as_str) == Some("refused") => Err(refused(&fields, &at)),
            Ok(_) => Err(Error::new(ErrorKind::Protocol, OP, "the session leader exited without closing").at(&at)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
                Err(Error::new(ErrorKind::TimedOut, OP, "the PAM stack did not close the session in time").at(&at))
            }
            Err(e) => Err(Error::from_io(OP, &at, e, PermissionRule::Pam)),
        };
        if let Some(mut child) = self.child.take() {
            reap(&mut child, deadline);
        }
        result
    }
}

/// How long a leader that refused has to exit before it is killed.
const ANSWERED_GRACE: Duration = Duration::from_millis(500);

/// How long a leader left to itself (its daemon side dropped) has to close
/// its session before it is killed.
const ABANDONED_GRACE: Duration = Duration::from_secs(10);

impl Drop for Leader {
    /// A leader not closed (a failed open, a panic): its socket closes, so it
    /// closes the session and exits; a thread reaps it, and kills it if it
    /// has not exited after [`ABANDONED_GRACE`].
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        let reaper = std::thread::Builder::new()
            .name("utmps-leader-reap".into())
            .spawn(move || reap(&mut child, Deadline::after(ABANDONED_GRACE)));
        if reaper.is_err() {
            tracing::warn!("could not start a thread to reap a session leader; it exits on its own");
        }
    }
}

/// Waits for a leader's exit until `deadline`, then kills it.
fn reap(child: &mut Child, deadline: Deadline) {
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if deadline.expired() => break,
            Ok(None) => std::thread::sleep(Duration::from_millis(2).min(deadline.remaining())),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The error of a `refused` answer.
fn refused(fields: &[String], at: &Path) -> Error {
    let call = fields.get(1).map_or("PAM", String::as_str);
    let text = fields.get(3).map_or("", String::as_str);
    match fields.get(2).map(String::as_str) {
        Some("user-unknown") => {
            Error::invalid("logind session", format!("PAM does not know the user ({call}: {text})"))
        }
        _ => Error::new(ErrorKind::Permission, "logind session", format!("PAM refused the session ({call}: {text})"))
            .with_rule(PermissionRule::Pam),
    }
    .at(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_fields_and_an_end_of_stream_is_none() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        send(&mut a, &["open", "login", "", "pts/1"]).unwrap();
        assert_eq!(recv(&mut b).unwrap().unwrap(), vec!["open", "login", "", "pts/1"]);
        drop(a);
        assert!(recv(&mut b).unwrap().is_none());
    }

    #[test]
    fn an_oversized_or_unterminated_frame_is_an_error() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(&(MAX_FRAME as u32 + 1).to_le_bytes()).unwrap();
        assert_eq!(recv(&mut b).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(&3u32.to_le_bytes()).unwrap();
        a.write_all(b"abc").unwrap();
        assert_eq!(recv(&mut b).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_refusal_names_the_call_and_an_unknown_user_is_invalid_input() {
        let at = Path::new("/etc/pam.d/login");
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = refused(&f(&["refused", "pam_open_session", "refused", "Permission denied"]), at);
        assert_eq!(e.kind(), ErrorKind::Permission);
        assert_eq!(e.permission_rule(), Some(PermissionRule::Pam));
        assert!(e.to_string().contains("pam_open_session"), "{e}");
        let e = refused(&f(&["refused", "pam_open_session", "user-unknown", "User not known"]), at);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
}
