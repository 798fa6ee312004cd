//! Lists the sessions of a wtmp file, in either layout, as `last -f FILE`
//! prints them: the same sessions and boots in the same order and format.
//! The file is streamed newest first, so memory does not grow with it.
//!
//! Given a wtmpdb database (Debian 13, Ubuntu 26.04, openSUSE:
//! `/var/log/wtmp.db`), it lists its rows newest first in the same columns,
//! with "still logged in" and "crash" told from the boot rows as `wtmpdb last`
//! does.
//!
//! ```text
//! cargo run --example last -- [-w] [-R] [--time-format short|iso] [[-f] FILE]
//! ```

use std::io::Write;
use std::time::Duration;

use utmps::last::{End, LastEntry, Pairing};
use utmps::{stream, Record};

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Short,
    Iso,
}

struct Options {
    /// Widest user and host printed: 8 and 16, or (nearly) whole with `-w`.
    user_max: usize,
    host_max: usize,
    host: bool,
    format: Format,
    /// `wtmpdb last`'s listing: its words for rows without a logout, and no
    /// end in the second a row started shown as running (util-linux `last`
    /// shows one so).
    wtmpdb: bool,
}

const USAGE: &str = "usage: last [-w] [-R] [--time-format short|iso] [[-f] FILE]

Lists the sessions of a wtmp file or a wtmpdb database, newest first, as
`last -f FILE` (or `wtmpdb last -f FILE`) prints them. FILE defaults to
/var/log/wtmp.

  -w                      print whole user and host names
  -R                      leave the host column out
  --time-format FORMAT    short (default) or iso
  -f FILE                 the file to read
  -h, --help              print this and exit";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("last: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut opts = Options { user_max: 8, host_max: 16, host: true, format: Format::Short, wtmpdb: false };
    let mut path = utmps::WTMP_FILE.to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // `last -w` prints a full 256-byte host as 255 bytes (its copy
            // keeps a NUL), a full 32-byte user whole.
            "-w" => (opts.user_max, opts.host_max) = (32, 255),
            "-R" => opts.host = false,
            "-f" => path = args.next().ok_or("-f takes a file")?,
            "--time-format" => {
                opts.format = match args.next().as_deref() {
                    Some("short") => Format::Short,
                    Some("iso") => Format::Iso,
                    other => return Err(format!("--time-format takes short or iso, not {other:?}").into()),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--" => path = args.next().ok_or("-- takes a file")?,
            _ if a.starts_with('-') => return Err(format!("unknown option {a:?}\n{USAGE}").into()),
            _ => path = a,
        }
    }
    #[cfg(feature = "wtmpdb")]
    if is_sqlite(&path) {
        return wtmpdb_listing(&path, &Options { wtmpdb: true, ..opts });
    }
    let mut records = stream::open(&path, None, Duration::from_secs(5))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut clock = Clock::new(now);
    let mut text = Vec::with_capacity(512);
    for entry in Pairing::new(records.by_ref().rev()).with_boots() {
        line(&mut text, &entry?, &opts, &mut clock);
        careful(&mut out, &text)?;
    }
    let begins = match records.get(0) {
        Some(first) => first?.tv_sec,
        None => std::os::unix::fs::MetadataExt::ctime(&std::fs::metadata(&path)?),
    };
    let name = std::path::Path::new(&path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    text.clear();
    match opts.format {
        Format::Short => clock.ctime(&mut text, begins),
        Format::Iso => clock.iso(&mut text, begins),
    }
    writeln!(out, "\n{name} begins {}", String::from_utf8_lossy(&text))?;
    out.flush()?;
    if records.trailing() != 0 {
        eprintln!("{path}: {} stray bytes after the last whole {:?} record", records.trailing(), records.layout());
    }
    Ok(())
}

/// Whether `path` starts with SQLite's file header.
#[cfg(feature = "wtmpdb")]
fn is_sqlite(path: &str) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
        && &head == b"SQLite format 3\0"
}

/// The rows of a wtmpdb database, newest first, in the listing's columns.
#[cfg(feature = "wtmpdb")]
fn wtmpdb_listing(path: &str, opts: &Options) -> Result<(), Box<dyn std::error::Error>> {
    use std::time::{SystemTime, UNIX_EPOCH};
    use utmps::wtmpdb::{self, Wtmpdb};
    use utmps::RecordType;

    let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let at = |t: SystemTime| Record { tv_sec: secs(t), ..Record::default() };
    let now = secs(SystemTime::now());
    let mut clock = Clock::new(now);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut text = Vec::with_capacity(512);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut oldest = None;
    for row in Wtmpdb::new(path).history(deadline)? {
        let row = row?;
        let boot = row.kind == wtmpdb::BOOT_TIME;
        // Fields hold what fits; the listing cuts them further anyway.
        let login = Record {
            record_type: if boot { RecordType::BOOT_TIME } else { RecordType::USER_PROCESS },
            user: fit(&row.user),
            line: fit(row.tty.as_deref().unwrap_or("")),
            host: fit(row.host.as_deref().unwrap_or("")),
            tv_sec: row.login.map_or(0, secs),
            ..Record::default()
        };
        oldest = Some(login.tv_sec);
        let end = match row.end {
            wtmpdb::HistoryEnd::LoggedOut(t) => End::LoggedOut { logout: at(t), exit: Default::default() },
            wtmpdb::HistoryEnd::Crash { boot } => End::Crash { boot: at(boot) },
            wtmpdb::HistoryEnd::StillRunning => End::Running,
            _ => End::StillLoggedIn,
        };
        line(&mut text, &LastEntry { login, end, boot }, opts, &mut clock);
        careful(&mut out, &text)?;
    }
    text.clear();
    clock.ctime(&mut text, oldest.unwrap_or(now));
    // `wtmpdb last` names the database as it was given.
    writeln!(out, "\n{path} begins {}", String::from_utf8_lossy(&text))?;
    out.flush()?;
    Ok(())
}

/// As much of `text` as fits a field, cut on a character boundary.
#[cfg(feature = "wtmpdb")]
fn fit<const N: usize>(text: &str) -> utmps::Field<N> {
    let mut end = text.len().min(N);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    utmps::Field::new(&text.as_bytes()[..end]).unwrap_or_default()
}

/// One line of the listing, in `last`'s columns, trailing blanks trimmed,
/// written into `text` (reused: the listing is hundreds of thousands of lines).
fn line(text: &mut Vec<u8>, entry: &LastEntry, opts: &Options, clock: &mut Clock) {
    let login: &Record = &entry.login;
    let mut tty = login.line.as_bytes();
    if entry.boot {
        tty = b"system boot";
    } else {
        // `last` shows ftpNNN and uucpNNN lines without their numbers.
        for prefix in [&b"ftp"[..], b"uucp"] {
            if tty.starts_with(prefix) && tty.get(prefix.len()).is_some_and(u8::is_ascii_digit) {
                tty = prefix;
            }
        }
    }
    let end_time = match entry.end {
        End::LoggedOut { logout, .. } => logout.tv_sec,
        End::Crash { boot } => boot.tv_sec,
        End::Down { shutdown } => shutdown.tv_sec,
        End::Running => clock.now,
        _ => 0,
    };
    let iso = opts.format == Format::Iso;
    let (in_width, out_width) = if iso { (25, 27) } else { (16, 7) };
    text.clear();
    column(text, login.user.as_bytes(), 8, opts.user_max);
    column(text, tty, 12, 12);
    if opts.host {
        column(text, login.host.as_bytes(), 16, opts.host_max);
    }
    let at = text.len();
    if iso {
        clock.iso(text, login.tv_sec);
    } else {
        clock.ctime(text, login.tv_sec);
        text.truncate(at + 16);
    }
    pad(text, at, in_width);
    if opts.wtmpdb {
        // `wtmpdb last` gives an open row no length, and keeps the blank after "crash".
        let open = match entry.end {
            End::StillLoggedIn => Some("- still logged in"),
            End::Running => Some("- still running"),
            End::Crash { .. } => Some("- crash "),
            _ => None,
        };
        if let Some(open) = open {
            text.extend_from_slice(open.as_bytes());
            text.push(b'\n');
            return;
        }
    }
    // `last` also shows an end in the second it started as running.
    let running = matches!(entry.end, End::Running)
        || (!opts.wtmpdb && end_time == clock.now && matches!(entry.end, End::LoggedOut { .. }))
        || (!opts.wtmpdb && entry.boot && end_time == clock.now);
    let (logout, length): (&str, &str) = match (entry.end, iso) {
        (_, true) if running => ("  still running", ""),
        (_, false) if running => ("  still", "running"),
        (End::Crash { .. }, _) if !entry.boot => ("- crash", "="),
        (End::Down { .. }, _) if !entry.boot => ("- down ", "="),
        (End::StillLoggedIn, true) => ("  still logged in", ""),
        (End::StillLoggedIn, false) => ("  still", "logged in"),
        (End::Gone, true) => ("  gone - no logout", ""),
        (End::Gone, false) => ("   gone", "- no logout"),
        _ => ("", "="),
    };
    let at = text.len();
    if logout.is_empty() {
        text.extend_from_slice(b"- ");
        if iso {
            clock.iso(text, end_time);
        } else {
            clock.hh_mm(text, end_time);
        }
    } else {
        text.extend_from_slice(logout.as_bytes());
    }
    text.truncate(at + out_width);
    pad(text, at, out_width);
    if length == "=" {
        self::length(text, end_time - login.tv_sec);
    } else {
        text.extend_from_slice(length.as_bytes());
    }
    while text.last().is_some_and(u8::is_ascii_whitespace) {
        text.pop();
    }
    text.push(b'\n');
}

/// Pads what was written since `at` to `width`, then a blank.
fn pad(text: &mut Vec<u8>, at: usize, width: usize) {
    text.resize(at + width.max(text.len() - at), b' ');
    text.push(b' ');
}

/// `bytes` cut to `max` and padded to `width`, then a blank.
fn column(text: &mut Vec<u8>, bytes: &[u8], width: usize, max: usize) {
    let at = text.len();
    text.extend_from_slice(&bytes[..bytes.len().min(max)]);
    pad(text, at, width);
}

/// Writes the line as `last` does, so that a stored name cannot drive the
/// terminal: printable ASCII, bell, tab, carriage return and newline as they
/// are, bytes above ASCII as octal escapes, other ASCII controls as `*`
/// followed by the control's caret letter (ESC as `*[`, DEL as `*?`).
fn careful(out: &mut impl Write, text: &[u8]) -> std::io::Result<()> {
    let as_is = |b: u8| matches!(b, b' '..=b'~' | 0x07 | b'\t' | b'\r' | b'\n');
    if text.iter().all(|&b| as_is(b)) {
        return out.write_all(text);
    }
    for &b in text {
        match b {
            _ if as_is(b) => out.write_all(&[b])?,
            0x80.. => write!(out, "\\{b:3o}")?,
            _ => out.write_all(&[b'*', b ^ 0x40])?,
        }
    }
    Ok(())
}

/// A session's length as `last` prints it, negative ones included.
fn length(text: &mut Vec<u8>, secs: i64) {
    let (mins, hours, days) = ((secs / 60) % 60, (secs / 3600) % 24, secs / 86_400);
    // Formatting into a Vec cannot fail.
    let _ = if days != 0 {
        write!(text, "({days}+{:02}:{:02})", hours.abs(), mins.abs())
    } else if hours != 0 {
        write!(text, " ({hours:02}:{:02})", mins.abs())
    } else if secs >= 0 {
        write!(text, " ({hours:02}:{mins:02})")
    } else {
        write!(text, " (-00:{:02})", mins.abs())
    };
}

/// Local time, looked up once per minute: a zone's offset changes only at
/// minute boundaries, and a listing's times come in runs.
struct Clock {
    now: i64,
    minute: i64,
    tm: libc::tm,
}

impl Clock {
    fn new(now: i64) -> Clock {
        // SAFETY: plain C struct, zero is a valid value.
        Clock { now, minute: i64::MIN, tm: unsafe { std::mem::zeroed() } }
    }

    fn local(&mut self, secs: i64) -> libc::tm {
        let minute = secs.div_euclid(60);
        if minute != self.minute {
            let t = (minute * 60) as libc::time_t;
            // SAFETY: valid pointers to a time and an out-struct; localtime_r is thread-safe.
            unsafe { libc::localtime_r(&t, &mut self.tm) };
            self.minute = minute;
        }
        let mut tm = self.tm;
        tm.tm_sec = secs.rem_euclid(60) as libc::c_int;
        tm
    }

    /// `Www Mmm dd hh:mm:ss yyyy`, as ctime(3).
    fn ctime(&mut self, text: &mut Vec<u8>, secs: i64) {
        let tm = self.local(secs);
        text.extend_from_slice(DAYS.get(tm.tm_wday as usize).unwrap_or(&"???").as_bytes());
        text.push(b' ');
        text.extend_from_slice(MONTHS.get(tm.tm_mon as usize).unwrap_or(&"???").as_bytes());
        text.push(b' ');
        if tm.tm_mday < 10 {
            text.push(b' ');
        }
        num(text, tm.tm_mday.into(), 1);
        text.push(b' ');
        self.clock(text, &tm);
        text.push(b' ');
        num(text, 1900 + i64::from(tm.tm_year), 1);
    }

    fn hh_mm(&mut self, text: &mut Vec<u8>, secs: i64) {
        let tm = self.local(secs);
        num(text, tm.tm_hour.into(), 2);
        text.push(b':');
        num(text, tm.tm_min.into(), 2);
    }

    fn clock(&self, text: &mut Vec<u8>, tm: &libc::tm) {
        num(text, tm.tm_hour.into(), 2);
        text.push(b':');
        num(text, tm.tm_min.into(), 2);
        text.push(b':');
        num(text, tm.tm_sec.into(), 2);
    }

    /// ISO 8601 with the local offset, as `last --time-format iso`.
    fn iso(&mut self, text: &mut Vec<u8>, secs: i64) {
        let tm = self.local(secs);
        num(text, 1900 + i64::from(tm.tm_year), 4);
        text.push(b'-');
        num(text, (tm.tm_mon + 1).into(), 2);
        text.push(b'-');
        num(text, tm.tm_mday.into(), 2);
        text.push(b'T');
        self.clock(text, &tm);
        // c_long is 32 bits wide on some targets.
        #[allow(clippy::useless_conversion)]
        let off = i64::from(tm.tm_gmtoff) / 60;
        text.push(if off < 0 { b'-' } else { b'+' });
        num(text, off.abs() / 60, 2);
        text.push(b':');
        num(text, off.abs() % 60, 2);
    }
}

/// `n` in decimal, zero-padded to `digits`.
fn num(text: &mut Vec<u8>, n: i64, digits: usize) {
    if n < 0 {
        text.push(b'-');
    }
    let mut buf = [b'0'; 20];
    let mut m = n.unsigned_abs();
    let mut i = buf.len();
    while m > 0 || i == buf.len() {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
    }
    let start = i.min(buf.len() - digits.min(buf.len()));
    text.extend_from_slice(&buf[start..]);
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
