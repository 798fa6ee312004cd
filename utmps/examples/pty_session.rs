//! A minimal session daemon: runs a shell command on a new pty as a recorded
//! session, prints what it said, and waits for its exit, which the logout
//! carries; the session is logged out BEFORE the pty is released (once the pty
//! is closed its line can be handed to the next login, whose entry a late
//! logout would end). `Accounting::spawn` does all of that: the program runs
//! in a session of its own with the pty as its controlling terminal, started
//! by the session's leader (inside the logind session on systemd hosts).
//!
//! ```text
//! cargo run --example pty_session            # temp files, no root needed
//! cargo run --example pty_session -- --system  # the system's stores (needs permission)
//! ```

use std::fs::File;
use std::io::Read;

use utmps::pty::{Program, Pty};
use utmps::{Accounting, Login};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    utmps::leader::serve(); // first: each session's leader is this program started again
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

    let pty = Pty::open()?;
    let line = pty.line().to_owned();
    let login = Login::new(current_user(), &line).host("pty-example");
    let program = Program::command("/bin/sh").arg("-c").arg("echo \"hello from $(tty)\"; exit 3");
    let session = acct.spawn(&login, pty, &program)?;
    println!(
        "recorded {} on {line} for pid {}; who now shows {} session(s)",
        session.session().record().user,
        session.pid(),
        acct.who(false)?.len()
    );

    let mut out = String::new();
    // Reading the master ends with EIO once the program has exited.
    let _ = File::from(session.master()?).read_to_string(&mut out);
    print!("child said: {out}");

    let exit = session.wait()?; // its exit; logged out, then the pty released
    println!("logged out with exit status {}; who now shows {} session(s)", exit.status, acct.who(false)?.len());
    Ok(())
}

/// The user this example records: the one running it.
fn current_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "root".into())
}
