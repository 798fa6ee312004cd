//! Records two sessions in a temporary utmp/wtmp pair, shows them the way `who`
//! and `last` would, logs one out and shows them again. Needs no root and touches
//! no system file:
//!
//! ```text
//! cargo run --example demo
//! ```

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use utmps::last::{self, End};
use utmps::layout::Layout;
use utmps::{Accounting, Login, Record};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
    // glibc never creates these files; a system's installer does.
    std::fs::File::create(&utmp)?;
    std::fs::File::create(&wtmp)?;
    let acct = Accounting::files(&utmp, &wtmp)?;
    println!("backend {:?}; files in {}\n", acct.backend(), dir.path().display());

    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let first = acct.open(
        &Login::new("alice", "/dev/pts/41").host("laptop.example.org").addr("192.0.2.10".parse()?).time(an_hour_ago),
    )?;
    let second = acct.open(&Login::new("bob", "pts/42").host("2001:db8::42").addr("2001:db8::42".parse()?))?;

    println!("== who, while both are logged in");
    print_who(&acct.who(false)?);
    println!("\n== last");
    print_last(&utmps::files::read(&wtmp, Some(Layout::Glibc), acct.timeout())?.records);

    first.logout()?;
    std::thread::sleep(Duration::from_millis(1100)); // `last` calls a logout this second "still running"
    println!("\n== who, after alice logged out");
    print_who(&acct.who(false)?);
    println!("\n== last");
    print_last(&utmps::files::read(&wtmp, Some(Layout::Glibc), acct.timeout())?.records);

    if Layout::system() == Layout::Glibc {
        system_tool("who", &[utmp.as_path()]);
        system_tool("last", &[Path::new("-f"), wtmp.as_path()]);
    }
    second.logout()?;
    Ok(())
}

fn print_who(entries: &[Record]) {
    if entries.is_empty() {
        println!("(nobody)");
    }
    for r in entries {
        println!("{:<8} {:<12} {} ({})", r.user, r.line, clock(r.tv_sec), r.host);
    }
}

fn print_last(records: &[Record]) {
    for s in last::pair(records) {
        let end = match s.end {
            End::LoggedOut { logout, .. } => {
                let d = s.duration().unwrap_or_default().as_secs();
                format!("- {}  ({:02}:{:02})", clock(logout.tv_sec), d / 3600, d % 3600 / 60)
            }
            End::StillLoggedIn => "  still logged in".into(),
            End::Gone => "- gone, no logout".into(),
            _ => "- down".into(),
        };
        let addr = s.login.addr().map(|a| a.to_string()).unwrap_or_default();
        println!("{:<8} {:<12} {:<16} {} {}", s.login.user, s.login.line, addr, clock(s.login.tv_sec), end);
    }
}

/// HH:MM in UTC, to keep the example free of time-zone dependencies.
fn clock(secs: i64) -> String {
    let day = secs.rem_euclid(86_400);
    format!("{:02}:{:02} UTC", day / 3600, day % 3600 / 60)
}

fn system_tool(name: &str, args: &[&Path]) {
    println!("\n== the system's own `{name}` on the same file");
    match Command::new(name).args(args).env("TZ", "UTC").output() {
        Ok(out) => print!("{}", String::from_utf8_lossy(&out.stdout)),
        Err(e) => println!("(not run: {e})"),
    }
}
