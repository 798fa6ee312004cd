//! The program of the new-project CI step: a dependent of the packaged crates,
//! built with default features and nothing set, records and ends one session on
//! temporary files. Any failure exits non-zero.
//!
//! Usage: `new-project static|dynamic`, the link mode the default rule must pick.

use std::error::Error;
use std::process::ExitCode;

use temp_dir::TempDir;
use utmps::{Accounting, Login};
use utmps_sys::LinkMode;

mod temp_dir;

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("new-project: session recorded and ended");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("new-project: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let expected = match std::env::args().nth(1).as_deref() {
        Some("static") => LinkMode::Static,
        Some("dynamic") => LinkMode::Dynamic,
        _ => return Err("usage: new-project static|dynamic".into()),
    };
    let linkage = utmps_sys::linkage();
    println!("new-project: linked {linkage:?}");
    if linkage.mode != expected {
        return Err(format!("the default build linked {:?}, expected {expected:?}", linkage.mode).into());
    }

    let dir = TempDir::new("utmps-new-project")?;
    let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
    // glibc never creates these files; a system's installer does.
    std::fs::File::create(&utmp)?;
    std::fs::File::create(&wtmp)?;
    let wtmp_len = || std::fs::metadata(&wtmp).map(|m| m.len());

    let acct = Accounting::files(&utmp, &wtmp)?;
    let session = acct.open(&Login::new("alice", "pts/77").host("new-project.example"))?;
    let who = acct.who(true)?;
    let shown: Vec<(String, String)> = who.iter().map(|r| (r.user.to_string(), r.line.to_string())).collect();
    if shown != [("alice".to_string(), "pts/77".to_string())] {
        return Err(format!("who after open: {shown:?}, expected alice on pts/77").into());
    }
    let after_login = wtmp_len()?;
    if after_login == 0 {
        return Err("wtmp is empty after the login".into());
    }

    session.logout()?;
    let who = acct.who(false)?;
    if !who.is_empty() {
        return Err(format!("who after logout still shows {} entries", who.len()).into());
    }
    if wtmp_len()? <= after_login {
        return Err("wtmp has no logout record".into());
    }
    Ok(())
}
