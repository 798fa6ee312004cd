//! A minimal session daemon: opens a pty, runs a shell command on it, records the
//! session for the child, and logs out when the child exits, BEFORE closing the
//! pty (once the pty is closed its line can be handed to the next login, whose
//! entry a late logout would end).
//!
//! ```text
//! cargo run --example pty_session            # temp files, no root needed
//! cargo run --example pty_session -- --system  # the system's utmp/wtmp (needs permission)
//! ```

use std::ffi::CStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};

use utmps::{Accounting, Exit, Login};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    utmps::leader::serve(); // on logind hosts, each session's leader is this program started again
    let dir = tempfile::tempdir()?;
    let acct = if std::env::args().any(|a| a == "--system") {
        Accounting::system()?
    } else {
        let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
        File::create(&utmp)?;
        File::create(&wtmp)?;
        Accounting::files(utmp, wtmp)?
    };
    acct.check()?;

    let (master, slave, line) = open_pty()?;
    let child = spawn_on_pty(&slave, "echo \"hello from $(tty)\"; exit 3")?;
    drop(slave); // the child holds its own copy

    let user = current_user();
    let session = acct.open(&Login::new(user, line.clone()).pid(child).host("pty-example"))?;
    println!(
        "recorded {} on {line} for pid {child}; who now shows {} session(s)",
        session.record().user,
        acct.who(false)?.len()
    );

    let mut out = String::new();
    let mut master = File::from(master);
    // Reading the master ends with EIO once the child side is closed.
    let _ = master.read_to_string(&mut out);
    print!("child said: {out}");

    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let exit = Exit { termination: libc::WTERMSIG(status) as i16, status: libc::WEXITSTATUS(status) as i16 };
    session.logout_with(exit)?; // first log out ...
    drop(master); // ... then release the pty
    println!("logged out with exit status {}; who now shows {} session(s)", exit.status, acct.who(false)?.len());
    Ok(())
}

/// Opens a pty pair; returns the master, the slave and the slave's line name.
fn open_pty() -> std::io::Result<(OwnedFd, OwnedFd, String)> {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: valid out-pointers; NULL name, termios and winsize are allowed.
    if unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) } != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openpty returned two new descriptors that we now own.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut name = [0 as libc::c_char; 64];
    // SAFETY: the buffer is valid for its length.
    if unsafe { libc::ttyname_r(std::os::fd::AsRawFd::as_raw_fd(&slave), name.as_mut_ptr(), name.len()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: ttyname_r wrote a NUL-terminated string.
    let line = unsafe { CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned();
    Ok((master, slave, line))
}

/// Forks a child that makes the pty its controlling terminal and runs `sh -c cmd`.
fn spawn_on_pty(slave: &OwnedFd, cmd: &str) -> std::io::Result<libc::pid_t> {
    use std::os::fd::AsRawFd;
    let sh = c"/bin/sh";
    let dash_c = c"-c";
    let cmd = std::ffi::CString::new(cmd)?;
    let fd = slave.as_raw_fd();
    // SAFETY: fork has no preconditions; the child branch below is restricted.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        // SAFETY: in the forked child only async-signal-safe calls are made on
        // descriptors and strings prepared before the fork, then it execs or _exits.
        0 => unsafe {
            libc::setsid();
            libc::ioctl(fd, libc::TIOCSCTTY, 0);
            for target in 0..3 {
                libc::dup2(fd, target);
            }
            let argv = [sh.as_ptr(), dash_c.as_ptr(), cmd.as_ptr(), std::ptr::null()];
            libc::execv(sh.as_ptr(), argv.as_ptr());
            libc::_exit(127)
        },
        pid => Ok(pid),
    }
}

fn current_user() -> String {
    // SAFETY: getpwuid returns NULL or a pointer into static storage, read at once.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() {
            "root".to_owned()
        } else {
            CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned()
        }
    }
}
