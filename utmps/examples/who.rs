//! Prints the live sessions of a utmp file, in either layout, as `who FILE`
//! prints them in a UTF-8 locale: user, line, login time, (host). The file is
//! streamed, so memory does not grow with it.
//!
//! ```text
//! cargo run --example who -- [FILE] [--layout glibc|utmps]
//! ```

use std::io::Write;
use std::time::Duration;

use utmps::layout::Layout;
use utmps::stream;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let layout = match args.iter().position(|a| a == "--layout") {
        Some(i) => match args.get(i + 1).map(String::as_str) {
            Some("glibc") => Some(Layout::Glibc),
            Some("utmps") => Some(Layout::Utmps),
            other => return Err(format!("--layout takes glibc or utmps, not {other:?}").into()),
        },
        None => None,
    };
    let path = args.iter().find(|a| !a.starts_with("--") && !matches!(a.as_str(), "glibc" | "utmps"));
    let path = path.map(String::as_str).unwrap_or(utmps::UTMP_FILE);
    let mut records = stream::open(path, layout, Duration::from_secs(5))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for r in records.by_ref() {
        let r = r?;
        // As `who`: a session needs a user name.
        if !r.is_user_process() || r.user.is_empty() {
            continue;
        }
        let host = if r.host.is_empty() { String::new() } else { format!(" ({})", r.host) };
        writeln!(out, "{:<8} {:<12} {}{host}", r.user.to_string(), r.line.to_string(), minute(r.tv_sec))?;
    }
    out.flush()?;
    if records.trailing() != 0 {
        eprintln!("{path}: {} stray bytes after the last whole {:?} record", records.trailing(), records.layout());
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM` in local time, as `who` prints it.
fn minute(secs: i64) -> String {
    let t = secs as libc::time_t;
    // SAFETY: plain C struct, zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to a time and an out-struct; localtime_r is thread-safe.
    unsafe { libc::localtime_r(&t, &mut tm) };
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        1900 + i64::from(tm.tm_year),
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min
    )
}
