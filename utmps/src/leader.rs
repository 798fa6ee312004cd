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
//! session, or dies (its end of the socket closes), or systemd stops the
//! session (a SIGTERM), the leader closes the PAM session (`pam_close_session`,
//! `pam_end`) and exits; logind then ends the session. A leader that does not
//! answer within the handle's deadline is killed.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::record::Exit;
use crate::sys::deadline::Deadline;
use crate::sys::pam::{Pam, PamError, Request};
use crate::sys::{process, pty};

/// Set in the environment of a leader's start, with the standard input a socket.
const ENV: &str = "UTMPS_SESSION_LEADER";
/// The program started as a leader: this one.
const SELF_EXE: &str = "/proc/self/exe";
/// A request or answer larger than this is not one.
const MAX_FRAME: usize = 64 * 1024;
/// PAM's `PAM_USER_UNKNOWN`.
const USER_UNKNOWN: i32 = 10;
/// How long a session program has to exit after SIGHUP at the session's end
/// before its process group gets SIGKILL.
const HANGUP_GRACE: Duration = Duration::from_secs(2);

static SERVES: AtomicBool = AtomicBool::new(false);

/// Runs this process as a session leader, when it was started as one, and
/// exits when the session is over; otherwise returns at once. Call it first
/// in `main`, before any thread or runtime starts: it is what lets
/// [`Accounting`](crate::Accounting) record sessions with logind and start
/// session programs ([`Accounting::spawn`](crate::Accounting::spawn)).
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

/// The leader's side: what it holds while the session lives.
struct Held {
    pam: Option<Pam>,
    env: Vec<String>,
    /// The session program's pid (its process group), and a receiver that
    /// yields once it has exited.
    program: Option<(i32, mpsc::Receiver<()>)>,
}

/// The leader's life: requests (open, spawn) and their answers, then, at
/// `close` or the end of the socket, the end of the session.
fn lead(sock: UnixStream) -> i32 {
    // systemd stops a session's scope with SIGTERM to all its processes
    // (`loginctl terminate-session`, a shutdown): the leader then ends the
    // session as when the daemon is gone, PAM's close included.
    if let Err(e) = process::shut_on_sigterm(sock.as_fd()) {
        tracing::debug!(error = %e, "a SIGTERM will end this session leader without pam_close_session");
    }
    let Ok(writer) = sock.try_clone() else { return 2 };
    let writer = Arc::new(Mutex::new(writer));
    let say = |fields: &[&str]| {
        let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
        send(&mut w, fields).is_ok()
    };
    let mut reader = sock;
    let mut held = Held { pam: None, env: Vec::new(), program: None };
    while let Ok(Some(fields)) = recv(&mut reader) {
        match fields.first().map(String::as_str) {
            Some("open") if fields.len() == 6 && held.pam.is_none() => {
                let request = Request {
                    service: &fields[1],
                    user: &fields[2],
                    tty: &fields[3],
                    rhost: &fields[4],
                    confdir: &fields[5],
                };
                match open_pam(&request) {
                    Ok((pam, env)) => {
                        let mut answer = vec!["open"];
                        answer.extend(env.iter().map(String::as_str));
                        let said = say(&answer);
                        held.pam = Some(pam);
                        held.env = env;
                        if !said {
                            break;
                        }
                    }
                    Err(refusal) => {
                        say(&refusal.iter().map(String::as_str).collect::<Vec<_>>());
                        return 1;
                    }
                }
            }
            Some("spawn") if held.program.is_none() => match start_program(&fields[1..], &held.env, writer.clone()) {
                Ok((pid, done)) => {
                    held.program = Some((pid, done));
                    if !say(&["started", &pid.to_string()]) {
                        break;
                    }
                }
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(0).to_string();
                    if !say(&["spawn-failed", &errno, &e.to_string()]) {
                        break;
                    }
                }
            },
            // `close`, or anything else: the session ends.
            _ => break,
        }
    }
    end_program(held.program.take());
    let closed = held.pam.take().map_or(Ok(()), Pam::close);
    match closed {
        Ok(()) => {
            say(&["closed"]);
            0
        }
        Err(e) => {
            say(&refusal(&e).iter().map(String::as_str).collect::<Vec<_>>());
            1
        }
    }
}

/// Opens the PAM session, and checks that logind registered it.
fn open_pam(request: &Request<'_>) -> std::result::Result<(Pam, Vec<String>), Vec<String>> {
    let pam = Pam::open(request).map_err(|e| refusal(&e))?;
    let env = pam.env();
    if !env.iter().any(|v| v.starts_with("XDG_SESSION_ID=")) {
        let _ = pam.close();
        return Err(vec!["no-session".into()]);
    }
    Ok((pam, env))
}

/// Starts the session program: `fields` are the user, the program, its
/// `argv[0]`, the number of arguments, the arguments, then `NAME=value`
/// pairs; its standard streams are this leader's standard output (the pty's
/// slave). A thread waits for its exit and reports it.
fn start_program(
    fields: &[String],
    pam_env: &[String],
    writer: Arc<Mutex<UnixStream>>,
) -> io::Result<(i32, mpsc::Receiver<()>)> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "malformed spawn request");
    let (user, program, argv0, count) = match fields {
        [user, program, argv0, count, ..] => (user, program, argv0, count.parse::<usize>().map_err(|_| bad())?),
        _ => return Err(bad()),
    };
    let args = fields.get(4..4 + count).ok_or_else(bad)?;
    let extra = &fields[4 + count..];
    let account = pty::account(user)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such user"))?;
    let slave = io::stdout().as_fd().try_clone_to_owned()?;
    // No program: the user's login shell, as login(1) starts it (`-sh`).
    let (program, argv0) = match program.is_empty() {
        true => {
            let shell = match account.shell.as_os_str().is_empty() {
                true => PathBuf::from("/bin/sh"),
                false => account.shell.clone(),
            };
            let name = shell.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "sh".into());
            (shell, format!("-{name}"))
        }
        false => (PathBuf::from(program), argv0.clone()),
    };
    let mut cmd = Command::new(&program);
    cmd.arg0(&argv0).args(args).env_clear();
    cmd.env("HOME", &account.home).env("SHELL", &account.shell);
    cmd.env("USER", user).env("LOGNAME", user).env("PATH", "/usr/local/bin:/usr/bin:/bin");
    for pair in pam_env.iter().chain(extra) {
        if let Some((k, v)) = pair.split_once('=') {
            cmd.env(k, v);
        }
    }
    if account.home.is_dir() {
        cmd.current_dir(&account.home);
    }
    cmd.stdin(Stdio::from(slave.try_clone()?)).stdout(Stdio::from(slave.try_clone()?)).stderr(Stdio::from(slave));
    let mut child = pty::spawn_session(&mut cmd, account)?;
    drop(cmd);
    // Only the program holds the pty's slave now: when it exits, the
    // daemon's reads of the master end.
    pty::release_stdout()?;
    let pid = child.id() as i32;
    let (done, exited) = mpsc::channel();
    std::thread::Builder::new().name("utmps-program-wait".into()).spawn(move || {
        let status = child.wait();
        let (code, signal) = match &status {
            Ok(s) => (s.code().unwrap_or(0), s.signal().unwrap_or(0)),
            Err(_) => (0, 0),
        };
        let _ = done.send(());
        let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
        let _ = send(&mut w, &["exited", &code.to_string(), &signal.to_string()]);
    })?;
    Ok((pid, exited))
}

/// Ends the session program, if it still runs: SIGHUP to its process group,
/// as a terminal's hangup, then SIGKILL after [`HANGUP_GRACE`].
fn end_program(program: Option<(i32, mpsc::Receiver<()>)>) {
    let Some((pid, exited)) = program else { return };
    if exited.try_recv().is_ok() {
        return;
    }
    pty::signal_group(pid, libc::SIGHUP);
    if exited.recv_timeout(HANGUP_GRACE).is_err() {
        pty::signal_group(pid, libc::SIGKILL);
        let _ = exited.recv_timeout(HANGUP_GRACE);
    }
}

fn refusal(e: &PamError) -> Vec<String> {
    let code = match e.code {
        USER_UNKNOWN => "user-unknown",
        _ => "refused",
    };
    vec!["refused".into(), e.call.into(), code.into(), e.text.clone()]
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

/// What a session program is started with.
#[derive(Debug, Clone)]
pub(crate) struct Start<'a> {
    pub(crate) user: &'a str,
    pub(crate) program: &'a str,
    pub(crate) argv0: &'a str,
    pub(crate) args: &'a [String],
    /// `NAME=value`.
    pub(crate) env: &'a [String],
}

/// A leader shared by the stores and the spawned session that use it.
pub(crate) type SharedLeader = Arc<Mutex<Option<Leader>>>;

/// A running leader, seen from the daemon.
#[derive(Debug)]
pub(crate) struct Leader {
    child: Option<Child>,
    sock: UnixStream,
    env: Vec<String>,
}

/// The endpoint errors name: the PAM service file.
pub(crate) fn endpoint(service: &str, confdir: &str) -> PathBuf {
    match confdir.is_empty() {
        true => Path::new("/etc/pam.d").join(service),
        false => Path::new(confdir).join(service),
    }
}

/// The error of a leader that ended before its first answer.
fn exited_early(at: &Path) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        "logind session",
        "the session leader exited without answering: does main call utmps::leader::serve() first, and can the \
         program start again with the daemon's environment?",
    )
    .at(at)
}

fn timed_out(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

impl Leader {
    /// Starts a leader, with `slave` (a pty's) as its standard output for
    /// the session program.
    ///
    /// # Errors
    /// `Unsupported` when this program does not call [`serve`]; the OS error
    /// of starting it.
    pub(crate) fn start(slave: Option<OwnedFd>, at: &Path) -> Result<Leader> {
        const OP: &str = "session leader";
        if !serves() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                OP,
                "this program does not start session leaders: its main does not call utmps::leader::serve()",
            )
            .with_remedy("add `utmps::leader::serve();` as the first line of main")
            .at(at));
        }
        let (ours, theirs) = UnixStream::pair().map_err(|e| Error::from_io(OP, at, e, PermissionRule::File))?;
        let stdout = match slave {
            Some(fd) => Stdio::from(fd),
            None => Stdio::null(),
        };
        let mut command = Command::new(SELF_EXE);
        // The daemon's environment, which the program may need to start at all
        // (LD_LIBRARY_PATH), but none of its own session's XDG_ variables:
        // pam_systemd would take them for the new session's.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("XDG_") {
                command.env_remove(&name);
            }
        }
        let child = command
            .arg0("utmps-session-leader")
            .env(ENV, "1")
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(stdout)
            .stderr(Stdio::null())
            // Out of the daemon's process group: a terminal's ^C is not for it.
            .process_group(0)
            .spawn()
            .map_err(|e| Error::from_io(OP, Path::new(SELF_EXE), e, PermissionRule::File))?;
        Ok(Leader { child: Some(child), sock: ours, env: Vec::new() })
    }

    /// Has the leader open the PAM session, within `deadline`. On failure
    /// the leader is ended (killed at once when it did not answer).
    ///
    /// # Errors
    /// `Permission` (rule [`Pam`](PermissionRule::Pam)) when the PAM stack
    /// refuses; `InvalidInput` for a user PAM does not know; `Unavailable`
    /// when the stack opened no logind session (no `pam_systemd`, not root,
    /// or no logind); `TimedOut` when the leader did not answer in time.
    pub(crate) fn open_pam(&mut self, req: &Request<'_>, deadline: Deadline) -> Result<()> {
        const OP: &str = "logind session";
        let at = endpoint(req.service, req.confdir);
        let answer = self.exchange(&["open", req.service, req.user, req.tty, req.rhost, req.confdir], deadline);
        let opened = match answer {
            Ok(Some(fields)) => match fields.first().map(String::as_str) {
                Some("open") => {
                    self.env = fields[1..].to_vec();
                    Ok(())
                }
                Some("no-session") => Err(Error::new(
                    ErrorKind::Unavailable,
                    OP,
                    "PAM opened the session but logind registered none (the stack has no pam_systemd, the \
                     process is not root, or logind is not running)",
                )
                .at(&at)),
                Some("refused") => Err(refused(&fields, &at)),
                _ => Err(Error::new(ErrorKind::Protocol, OP, "the session leader's answer is not one").at(&at)),
            },
            Ok(None) => Err(exited_early(&at)),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Err(exited_early(&at)),
            Err(e) if timed_out(&e) => {
                Err(Error::new(ErrorKind::TimedOut, OP, "the PAM stack did not open the session in time").at(&at))
            }
            Err(e) => Err(Error::from_io(OP, &at, e, PermissionRule::Pam)),
        };
        if let Err(e) = &opened {
            self.end_now(e.kind() == ErrorKind::TimedOut);
        }
        opened
    }

    /// Has the leader start the session program on its pty; its pid.
    ///
    /// # Errors
    /// The OS error of starting it (no such program: `Unavailable`);
    /// `TimedOut` when the leader did not answer within `deadline`.
    pub(crate) fn spawn(&mut self, start: &Start<'_>, deadline: Deadline) -> Result<i32> {
        const OP: &str = "session program";
        let at = Path::new(start.program);
        let count = start.args.len().to_string();
        let mut fields = vec!["spawn", start.user, start.program, start.argv0, &count];
        fields.extend(start.args.iter().map(String::as_str));
        fields.extend(start.env.iter().map(String::as_str));
        match self.exchange(&fields, deadline) {
            Ok(Some(f)) if f.first().map(String::as_str) == Some("started") => f
                .get(1)
                .and_then(|p| p.parse().ok())
                .filter(|&p: &i32| p > 0)
                .ok_or_else(|| Error::new(ErrorKind::Protocol, OP, "the session leader sent no pid").at(at)),
            Ok(Some(f)) if f.first().map(String::as_str) == Some("spawn-failed") => {
                let errno = f.get(1).and_then(|e| e.parse().ok()).unwrap_or(0);
                let text = f.get(2).cloned().unwrap_or_default();
                Err(match errno {
                    0 => Error::new(ErrorKind::Io, OP, text).at(at),
                    errno => Error::from_errno(OP, at, errno, PermissionRule::File),
                })
            }
            Ok(_) => Err(Error::new(ErrorKind::Protocol, OP, "the session leader did not start the program").at(at)),
            Err(e) if timed_out(&e) => {
                Err(Error::new(ErrorKind::TimedOut, OP, "the session leader did not start the program in time").at(at))
            }
            Err(e) => Err(Error::from_io(OP, at, e, PermissionRule::File)),
        }
    }

    /// Waits, without a deadline, for the session program to exit; its status.
    ///
    /// # Errors
    /// `Protocol` when the leader ended without saying (it was killed).
    pub(crate) fn wait_exit(&mut self) -> Result<Exit> {
        let gone = || Error::new(ErrorKind::Protocol, "session program", "the session leader ended without its exit");
        self.sock.set_read_timeout(None).map_err(|_| gone())?;
        loop {
            match recv(&mut self.sock) {
                Ok(Some(f)) if f.first().map(String::as_str) == Some("exited") => {
                    let n = |i: usize| f.get(i).and_then(|v| v.parse::<i16>().ok()).unwrap_or(0);
                    return Ok(Exit { termination: n(2), status: n(1) });
                }
                Ok(Some(_)) => continue,
                _ => return Err(gone()),
            }
        }
    }

    /// logind's id of the session (`XDG_SESSION_ID`).
    pub(crate) fn session_id(&self) -> &str {
        self.env.iter().find_map(|v| v.strip_prefix("XDG_SESSION_ID=")).unwrap_or("")
    }

    /// The leader's pid.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends `fields` and reads the answer, both within `deadline`.
    fn exchange(&mut self, fields: &[&str], deadline: Deadline) -> io::Result<Option<Vec<String>>> {
        self.sock.set_write_timeout(Some(deadline.time_left()?))?;
        match send(&mut self.sock, fields) {
            // A leader that ended on its own (a SIGTERM) left its last
            // answer behind: read it.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            sent => sent?,
        }
        self.sock.set_read_timeout(Some(deadline.time_left()?))?;
        recv(&mut self.sock)
    }

    /// Ends the session: the leader hangs up the session program if it
    /// still runs, closes the PAM session and exits, within `deadline`.
    ///
    /// # Errors
    /// `Permission` (rule `Pam`) when `pam_close_session` failed (the leader
    /// exits all the same, and logind ends the session with it); `TimedOut`
    /// when the leader did not answer in time (it is killed, which ends the
    /// logind session too).
    pub(crate) fn close(mut self, at: &Path, deadline: Deadline) -> Result<()> {
        const OP: &str = "logind logout";
        let mut answer = self.exchange(&["close"], deadline);
        // The program's exit may come first.
        while let Ok(Some(f)) = &answer {
            if f.first().map(String::as_str) != Some("exited") {
                break;
            }
            answer = match deadline.time_left() {
                Ok(left) => self.sock.set_read_timeout(Some(left)).and_then(|()| recv(&mut self.sock)),
                Err(e) => Err(e),
            };
        }
        let result = match answer {
            Ok(Some(fields)) if fields.first().map(String::as_str) == Some("closed") => Ok(()),
            Ok(Some(fields)) if fields.first().map(String::as_str) == Some("refused") => Err(refused(&fields, at)),
            Ok(_) => Err(Error::new(ErrorKind::Protocol, OP, "the session leader exited without closing").at(at)),
            Err(e) if timed_out(&e) => {
                Err(Error::new(ErrorKind::TimedOut, OP, "the PAM stack did not close the session in time").at(at))
            }
            Err(e) => Err(Error::from_io(OP, at, e, PermissionRule::Pam)),
        };
        if let Some(mut child) = self.child.take() {
            reap(&mut child, deadline);
        }
        result
    }

    /// Ends a leader that failed: killed at once when `now`, else given
    /// [`ANSWERED_GRACE`] to exit.
    fn end_now(&mut self, now: bool) {
        if let Some(mut child) = self.child.take() {
            let grace = if now { Duration::ZERO } else { ANSWERED_GRACE };
            reap(&mut child, Deadline::after(grace));
        }
    }
}

/// How long a leader that refused has to exit before it is killed.
const ANSWERED_GRACE: Duration = Duration::from_millis(500);

/// How long a leader left to itself (its daemon side dropped) has to close
/// its session before it is killed.
const ABANDONED_GRACE: Duration = Duration::from_secs(10);

impl Drop for Leader {
    /// A leader not closed (a failed open, a panic): its socket closes, so it
    /// ends the session and exits; a thread reaps it, and kills it if it
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
