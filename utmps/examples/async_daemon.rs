//! An async session daemon on tokio: a TCP listener on 127.0.0.1, a pty per
//! connection running a shell, the session recorded while the shell lives and
//! ended BEFORE the pty is released (once it is closed, the kernel may hand the
//! same line to the next login, whose entry a late logout would end).
//!
//! ```text
//! cargo run --example async_daemon --features tokio              # one built-in client, temp files
//! cargo run --example async_daemon --features tokio -- --listen  # serve until killed (nc 127.0.0.1 PORT)
//! cargo run --example async_daemon --features tokio -- --listen --system  # the system's stores
//! ```
//!
//! Every accounting call goes through the `*_async` methods, so a hanging daemon
//! or a held utmp lock never stalls the runtime that relays the other sessions.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use utmps::{Accounting, Exit, Login};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First, before the runtime's threads: on logind hosts each session's
    // leader is this program started again, and this is where it runs.
    utmps::leader::serve();
    tokio::runtime::Runtime::new()?.block_on(daemon())
}

async fn daemon() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir()?;
    let acct = if args.iter().any(|a| a == "--system") {
        Accounting::system()?
    } else {
        let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
        File::create(&utmp)?;
        File::create(&wtmp)?;
        Accounting::files(utmp, wtmp)?
    };
    acct.check()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();

    if args.iter().any(|a| a == "--listen") {
        println!("listening on 127.0.0.1:{port}");
        loop {
            let (stream, peer) = listener.accept().await?;
            let acct = acct.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(&acct, stream, peer).await {
                    eprintln!("{peer}: {e}");
                }
            });
        }
    }

    // Demo: one client that runs two commands, while the daemon serves it.
    let client = tokio::spawn(async move {
        let mut conn = TcpStream::connect(("127.0.0.1", port)).await?;
        conn.write_all(b"echo \"hello from $(tty)\"; exit 3\n").await?;
        let mut out = Vec::new();
        conn.read_to_end(&mut out).await?;
        Ok::<_, io::Error>(String::from_utf8_lossy(&out).into_owned())
    });
    let (stream, peer) = listener.accept().await?;
    let exit = serve(&acct, stream, peer).await?;
    let said = client.await??;
    print!("client saw: {said}");
    println!("shell exited with {}; who now shows {} session(s)", exit.status, acct.who(false)?.len());
    let records = utmps::files::read(acct.wtmp_endpoint(), None, std::time::Duration::from_secs(1))?;
    for entry in utmps::last::pair(&records.records) {
        println!(
            "last: {} {} from {} for {:?}",
            entry.login.user,
            entry.login.line,
            entry.login.host,
            entry.duration()
        );
    }
    Ok(())
}

/// Runs a shell on a new pty for one client, relaying bytes both ways, with the
/// session recorded for as long as the shell lives.
async fn serve(acct: &Accounting, stream: TcpStream, peer: SocketAddr) -> Result<Exit, Box<dyn std::error::Error>> {
    let (master, slave, line) = open_pty()?;
    let shell = spawn_on_pty(&slave, "/bin/sh")?;
    drop(slave); // the shell holds its own copy
    let login = Login::new(current_user(), line.clone()).pid(shell).host(peer.ip().to_string()).addr(peer.ip());
    let session = match acct.open_async(&login).await {
        Ok(session) => session,
        Err(e) => {
            // SAFETY: signalling and reaping our own child.
            unsafe { libc::kill(shell, libc::SIGKILL) };
            tokio::task::spawn_blocking(move || wait_for(shell)).await?;
            return Err(e.into());
        }
    };
    match session.logind_session() {
        Some(id) => {
            println!("{peer}: recorded {} on {line} for pid {shell}, logind session {id}", session.record().user)
        }
        None => println!("{peer}: recorded {} on {line} for pid {shell}", session.record().user),
    }

    let pty = Arc::new(Pty::new(master)?);
    let (mut from_client, mut to_client) = stream.into_split();
    let output = {
        let pty = pty.clone();
        async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pty.read(&mut buf).await {
                if to_client.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    };
    let input = {
        let pty = pty.clone();
        async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                if pty.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            // The client is gone or done: the shell reads end of input.
            let _ = pty.write_all(&[4]).await;
        }
    };
    let relay_input = tokio::spawn(input);
    output.await; // ends when the shell has exited and closed its side
    relay_input.abort();
    let exit = tokio::task::spawn_blocking(move || wait_for(shell)).await?;
    session.logout_with_async(exit).await?; // first log out ...
    drop(pty); // ... then release the pty
    println!("{peer}: logged out of {line}");
    Ok(exit)
}

/// The master side of a pty, non-blocking, driven by tokio's reactor.
struct Pty(AsyncFd<OwnedFd>);

impl Pty {
    fn new(master: OwnedFd) -> io::Result<Pty> {
        // SAFETY: F_GETFL/F_SETFL on a descriptor we own.
        unsafe {
            let flags = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(master.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        // SAFETY: the OwnedFd stays open, and is the same descriptor, for as long
        // as the AsyncFd that owns it lives.
        let registered = unsafe { AsyncFd::register(master) };
        Ok(Pty(registered.map_err(|e| e.into_parts().1)?))
    }

    /// Reads output; 0 once the shell side is closed (Linux reports EIO then).
    async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut ready = self.0.readable().await?;
            // SAFETY: `buf` is valid for writes of its length.
            let got = ready.try_io(|fd| cvt(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) }));
            match got {
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let mut ready = self.0.writable().await?;
            // SAFETY: `buf` is valid for reads of its length.
            match ready.try_io(|fd| cvt(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })) {
                Ok(result) => buf = &buf[result?..],
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }
}

fn cvt(n: isize) -> io::Result<usize> {
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

fn wait_for(pid: libc::pid_t) -> Exit {
    let mut status = 0;
    // SAFETY: waiting for our own child into a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    Exit { termination: libc::WTERMSIG(status) as i16, status: libc::WEXITSTATUS(status) as i16 }
}

/// Opens a pty pair; returns the master, the slave and the slave's line name.
fn open_pty() -> io::Result<(OwnedFd, OwnedFd, String)> {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: valid out-pointers; NULL name, termios and winsize are allowed.
    if unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) } != 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openpty returned two new descriptors that we now own.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut name = [0 as libc::c_char; 64];
    // SAFETY: the buffer is valid for its length.
    if unsafe { libc::ttyname_r(slave.as_raw_fd(), name.as_mut_ptr(), name.len()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: ttyname_r wrote a NUL-terminated string.
    let line = unsafe { CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned();
    Ok((master, slave, line))
}

/// Forks a child that makes the pty its controlling terminal and execs `shell`.
fn spawn_on_pty(slave: &OwnedFd, shell: &str) -> io::Result<libc::pid_t> {
    let shell = CString::new(shell)?;
    let fd = slave.as_raw_fd();
    // SAFETY: fork has no preconditions; the child branch below is restricted.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        // SAFETY: in the forked child only async-signal-safe calls are made on
        // descriptors and strings prepared before the fork, then it execs or _exits.
        0 => unsafe {
            libc::setsid();
            libc::ioctl(fd, libc::TIOCSCTTY, 0);
            for target in 0..3 {
                libc::dup2(fd, target);
            }
            let argv = [shell.as_ptr(), std::ptr::null()];
            libc::execv(shell.as_ptr(), argv.as_ptr());
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
