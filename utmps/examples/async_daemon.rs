//! An async session daemon on tokio: a TCP listener on 127.0.0.1, a shell per
//! connection on a pty of its own, the session recorded while the shell lives
//! and logged out with its exit BEFORE the pty is released (once it is closed,
//! the kernel may hand the same line to the next login, whose entry a late
//! logout would end). `Accounting::spawn_async` starts the shell from the
//! session's leader: inside the logind session on systemd hosts.
//!
//! ```text
//! cargo run --example async_daemon --features tokio              # one built-in client, temp files
//! cargo run --example async_daemon --features tokio -- --listen  # serve until killed (nc 127.0.0.1 PORT)
//! cargo run --example async_daemon --features tokio -- --listen --system  # the system's stores
//! ```
//!
//! Every accounting call goes through the `*_async` methods, so a hanging daemon
//! or a held utmp lock never stalls the runtime that relays the other sessions.

use std::fs::File;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use utmps::pty::{Program, Pty};
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

/// Runs the user's shell on a new pty for one client, relaying bytes both
/// ways, with the session recorded for as long as the shell lives.
async fn serve(acct: &Accounting, stream: TcpStream, peer: SocketAddr) -> Result<Exit, Box<dyn std::error::Error>> {
    let pty = Pty::open()?;
    let line = pty.line().to_owned();
    let login = Login::new(current_user(), &line).host(peer.ip().to_string()).addr(peer.ip());
    let session = acct.spawn_async(&login, pty, &Program::shell().env("TERM", "xterm")).await?;
    match session.session().logind_session() {
        Some(id) => println!(
            "{peer}: recorded {} on {line} for pid {}, logind session {id}",
            login_user(&session),
            session.pid()
        ),
        None => println!("{peer}: recorded {} on {line} for pid {}", login_user(&session), session.pid()),
    }
    // One copy of the master to read from, one to write to: each a file of
    // its own on tokio's blocking pool.
    let mut from_pty = tokio::fs::File::from_std(File::from(session.master()?));
    let mut to_pty = tokio::fs::File::from_std(File::from(session.master()?));
    let (mut from_client, mut to_client) = stream.into_split();
    let input = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut to_pty).await;
        // The client is gone or done: the shell reads end of input.
        let _ = to_pty.write_all(&[4]).await;
        let _ = to_pty.flush().await;
    });
    // Ends when the shell has exited and closed its side (Linux reports EIO then).
    let _ = tokio::io::copy(&mut from_pty, &mut to_client).await;
    input.abort();
    let exit = session.wait_async().await?; // logged out, then the pty released
    println!("{peer}: logged out of {line}");
    Ok(exit)
}

fn login_user(session: &utmps::pty::PtySession) -> String {
    session.session().record().user.to_string_lossy().into_owned()
}

/// The user this example records: the one running it.
fn current_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "root".into())
}
