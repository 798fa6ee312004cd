//! Prints the live sessions of a utmp file, like `who FILE`, in either layout.
//!
//! ```text
//! cargo run --example who -- [FILE] [--layout glibc|utmps]
//! ```

use std::time::Duration;

use utmps::layout::Layout;

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
    let file = utmps::files::read(path, layout, Duration::from_secs(5))?;
    for r in file.records.iter().filter(|r| r.is_user_process()) {
        let addr = r.addr().map(|a| format!(" [{a}]")).unwrap_or_default();
        println!("{:<10} {:<12} {:>7} ({}){addr}", r.user, r.line, r.pid, r.host);
    }
    if file.trailing != 0 {
        eprintln!("{path}: {} stray bytes after the last whole {:?} record", file.trailing, file.layout);
    }
    Ok(())
}
