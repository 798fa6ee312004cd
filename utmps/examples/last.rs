//! Pairs the logins and logouts of a wtmp file, like `last -f FILE`, in either layout.
//!
//! ```text
//! cargo run --example last -- [FILE]
//! ```

use std::time::Duration;

use utmps::last::{pair, End};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| utmps::WTMP_FILE.to_owned());
    let file = utmps::files::read(&path, None, Duration::from_secs(5))?;
    for s in pair(&file.records) {
        let end = match s.end {
            End::LoggedOut { .. } | End::Crash { .. } => {
                let secs = s.duration().map_or(0, |d| d.as_secs());
                format!(
                    "{}({:02}:{:02})",
                    if matches!(s.end, End::Crash { .. }) { "crash " } else { "" },
                    secs / 3600,
                    secs % 3600 / 60
                )
            }
            End::StillLoggedIn => "still logged in".to_owned(),
            End::Gone => "gone - no logout".to_owned(),
            _ => "?".to_owned(),
        };
        let from = s.login.addr().map(|a| a.to_string()).unwrap_or_else(|| s.login.host.to_string());
        println!("{:<10} {:<12} {:<24} {:>12} {end}", s.login.user, s.login.line, from, s.login.tv_sec);
    }
    println!("\n{} records ({:?} layout), {} stray bytes", file.records.len(), file.layout, file.trailing);
    Ok(())
}
