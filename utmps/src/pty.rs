//! Sessions that run their program on a pty of their own:
//! [`Accounting::spawn`] starts the program (a login shell, or a command)
//! as the user, in a session of its own with the pty as its controlling
//! terminal, from the session's leader, so that on logind hosts it runs
//! inside the logind session with PAM's environment (`XDG_SESSION_ID`,
//! `XDG_RUNTIME_DIR`). Every store records the program's pid and session; the
//! logout carries its exit status and is written before the pty is released.
//!
//! ```no_run
//! # fn main() -> utmps::Result<()> {
//! use utmps::pty::{Program, Pty};
//! use utmps::{Accounting, Login};
//!
//! utmps::leader::serve(); // first in main: the leader is this program started again
//! let acct = Accounting::system()?;
//! let pty = Pty::open()?;
//! let login = Login::new("alice", pty.line()).host("client.example.org");
//! let session = acct.spawn(&login, pty, &Program::shell().env("TERM", "xterm-256color"))?;
//! let master = session.master()?; // relay the client's bytes to and from this
//! let exit = session.wait()?; // the shell's end; logged out, then the pty released
//! # drop(master); let _ = exit; Ok(()) }
//! ```

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::accounting::Accounting;
use crate::error::{Error, ErrorKind, PermissionRule, Result};
use crate::leader::{Leader, SharedLeader, Start};
use crate::login::Login;
use crate::record::Exit;
use crate::session::{Session, Spawn};

/// A new pty pair: the master for the daemon, the slave for the session program.
#[derive(Debug)]
pub struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
    line: String,
}

impl Pty {
    /// Opens a new pty pair.
    ///
    /// # Errors
    /// The OS error (`Unavailable` when no pty is left, or `/dev/pts` is missing).
    pub fn open() -> Result<Pty> {
        let (master, slave, path) = crate::sys::pty::open_pty()
            .map_err(|e| Error::from_io("pty", Path::new("/dev/ptmx"), e, PermissionRule::File))?;
        let line =
            path.to_str().ok_or_else(|| Error::new(ErrorKind::Io, "pty", "the pty's name is not UTF-8"))?.to_owned();
        Ok(Pty { master, slave, line })
    }

    /// The slave's path (`/dev/pts/3`): the login's line.
    pub fn line(&self) -> &str {
        &self.line
    }
}

/// What a spawned session runs: the user's login shell, or a command.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// Empty: the user's login shell.
    program: String,
    argv0: String,
    args: Vec<String>,
    /// `NAME=value`.
    env: Vec<String>,
}

impl Program {
    /// The user's login shell (their passwd entry's, else `/bin/sh`), started
    /// as login(1) starts it (`argv[0]` `-bash`), in their home directory.
    pub fn shell() -> Program {
        Program::default()
    }

    /// `program` (a path) with no argument, in the user's home directory.
    pub fn command(program: impl Into<String>) -> Program {
        let program = program.into();
        Program { argv0: program.clone(), program, ..Program::default() }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Program {
        self.args.push(arg.into());
        self
    }

    /// Sets a variable of the program's environment, beside `HOME`, `SHELL`,
    /// `USER`, `LOGNAME`, `PATH` and what PAM's modules set.
    pub fn env(mut self, name: &str, value: &str) -> Program {
        self.env.push(format!("{name}={value}"));
        self
    }

    fn check(&self) -> Result<()> {
        let nul = |s: &String| s.contains('\0');
        if nul(&self.program) || self.args.iter().any(nul) || self.env.iter().any(nul) {
            return Err(Error::invalid("session program", "the program, an argument or a variable has a NUL byte"));
        }
        if self.env.iter().any(|v| v.starts_with('=') || v.split('=').next().is_some_and(str::is_empty)) {
            return Err(Error::invalid("session program", "a variable has an empty name"));
        }
        if !self.program.is_empty() && !self.program.starts_with('/') {
            return Err(Error::invalid("session program", "the program must be an absolute path"));
        }
        Ok(())
    }
}

impl Accounting {
    /// Records a login whose program runs on `pty`: starts `program` as the
    /// login's user from the session's leader (on logind hosts, inside the
    /// logind session it opens), records the login in every store with the
    /// program's pid and session, and returns the running session. The
    /// login's line must be `pty`'s. Unless the login says otherwise, its
    /// last login is recorded where the handle keeps one (and its files
    /// exist), as sshd does for a tty login. `main` must call [`leader::serve`](crate::leader::serve).
    ///
    /// # Errors
    /// `InvalidInput` for a line other than the pty's, or a bad program;
    /// `Unsupported` when `main` does not call `leader::serve`; the program's
    /// start error (`Unavailable` for no such program); otherwise those of
    /// [`open`](Self::open), after which the program is ended.
    pub fn spawn(&self, login: &Login, pty: Pty, program: &Program) -> Result<PtySession> {
        program.check()?;
        let line = login.line_name()?;
        if Some(line) != pty.line.strip_prefix("/dev/") {
            return Err(Error::invalid(
                "session program",
                format!("the login's line is {line:?}, not the pty's {:?}", pty.line),
            ));
        }
        let mut login = login.clone();
        let last_login = &self.stores.last_login;
        if !login.lastlog_chosen() && !last_login.is_empty() && last_login.iter().all(|s| s.present()) {
            login = login.lastlog(true);
        }
        let Pty { master, slave, .. } = pty;
        let at = Path::new(match program.program.is_empty() {
            true => "login shell",
            false => &program.program,
        });
        let leader: SharedLeader = Arc::new(Mutex::new(Some(Leader::start(Some(slave), at)?)));
        let start = Start {
            user: login.user_name(),
            program: &program.program,
            argv0: &program.argv0,
            args: &program.args,
            env: &program.env,
        };
        let spawn = Spawn { leader: leader.clone(), start };
        let session = Session::open(self.clone(), &login, Some(&spawn))?;
        let pid = session.record().pid;
        Ok(PtySession { session, leader, master: Some(master), pid, timeout: self.timeout() })
    }
}

/// A session whose program runs on its pty. Dropping it without
/// [`wait`](Self::wait) hangs up the program (SIGHUP to its process group,
/// SIGKILL 2 s later), logs out, then releases the pty (inside a tokio
/// runtime, on a blocking thread).
#[derive(Debug)]
#[must_use = "dropping the session hangs up its program and logs it out at once"]
pub struct PtySession {
    session: Session,
    leader: SharedLeader,
    /// Held until the logout is written: a pty released earlier could be
    /// handed to another login, whose entry a late logout would end.
    master: Option<OwnedFd>,
    pid: i32,
    /// The handle's, for the leader's close.
    timeout: Duration,
}

impl PtySession {
    /// A copy of the pty's master, to relay the client's bytes through. The
    /// session keeps its own until the logout is written, whenever the copy
    /// is closed.
    ///
    /// # Errors
    /// The OS error of duplicating it.
    pub fn master(&self) -> Result<OwnedFd> {
        let master = self.master.as_ref().ok_or_else(|| Error::new(ErrorKind::Io, "pty", "the pty is released"))?;
        let copy = master.as_fd().try_clone_to_owned();
        copy.map_err(|e| Error::from_io("pty", Path::new("/dev/ptmx"), e, PermissionRule::File))
    }

    /// The program's pid (its session and process group too).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The recorded session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Waits for the program to exit, then logs out with its exit status,
    /// ends the leader, and releases the pty. Blocks for as long as the
    /// program runs (`wait_async` under tokio).
    ///
    /// # Errors
    /// `Protocol` when the leader ended without reporting the exit (it was
    /// killed: the session is logged out as after a hangup); otherwise the
    /// logout's errors, as [`Session::logout_with`].
    pub fn wait(mut self) -> Result<Exit> {
        let exit = {
            let mut guard = self.leader.lock().unwrap_or_else(|p| p.into_inner());
            match guard.as_mut() {
                Some(leader) => leader.wait_exit(),
                None => Err(Error::new(ErrorKind::Protocol, "session program", "the session leader is gone")),
            }
        };
        let (session, master) = (self.session.take(), self.master.take());
        match exit {
            Ok(exit) => finish(session, &self.leader, master, exit, self.timeout).map(|()| exit),
            Err(e) => {
                let _ = finish(session, &self.leader, master, HUNG_UP, self.timeout);
                Err(e)
            }
        }
    }
}

/// How a session whose program's end is unknown is logged out.
const HUNG_UP: Exit = Exit { termination: libc::SIGHUP as i16, status: 0 };

/// Logs `session` out with `exit`, ends the leader (hanging up the program if
/// it still runs), then releases the pty.
fn finish(
    session: Session,
    leader: &SharedLeader,
    master: Option<OwnedFd>,
    exit: Exit,
    timeout: Duration,
) -> Result<()> {
    let logout = session.logout_with(exit);
    let leader = leader.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(leader) = leader {
        // A leader without PAM (no logind store): its close ends the program.
        let deadline = crate::sys::deadline::Deadline::after(timeout);
        if let Err(e) = leader.close(Path::new("session leader"), deadline) {
            tracing::debug!(error = %e, "session leader close");
        }
    }
    drop(master);
    logout
}

impl Drop for PtySession {
    fn drop(&mut self) {
        if !self.session.is_open() {
            return;
        }
        let (session, leader, master, timeout) =
            (self.session.take(), self.leader.clone(), self.master.take(), self.timeout);
        let end = move || {
            if let Err(e) = finish(session, &leader, master, HUNG_UP, timeout) {
                tracing::warn!(error = %e, "logout of a dropped pty session failed");
            }
        };
        #[cfg(feature = "tokio")]
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            drop(runtime.spawn_blocking(end));
            return;
        }
        end();
    }
}

#[cfg(feature = "tokio")]
impl Accounting {
    /// [`spawn`](Self::spawn) on tokio's blocking pool. A cancelled call
    /// leaves nothing running: the session it made is dropped (its program
    /// hung up, logged out).
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn).
    pub async fn spawn_async(&self, login: &Login, pty: Pty, program: &Program) -> Result<PtySession> {
        let (acct, login, program) = (self.clone(), login.clone(), program.clone());
        match tokio::task::spawn_blocking(move || acct.spawn(&login, pty, &program)).await {
            Ok(result) => result,
            Err(e) => Err(Error::new(ErrorKind::Io, "session program", format!("the spawn did not finish: {e}"))),
        }
    }
}

#[cfg(feature = "tokio")]
impl PtySession {
    /// [`wait`](Self::wait) on tokio's blocking pool.
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    pub async fn wait_async(self) -> Result<Exit> {
        match tokio::task::spawn_blocking(move || self.wait()).await {
            Ok(result) => result,
            Err(e) => Err(Error::new(ErrorKind::Io, "session program", format!("the wait did not finish: {e}"))),
        }
    }
}
