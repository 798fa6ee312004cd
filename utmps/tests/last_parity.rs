//! `last::Pairing` over a backward `stream` against the system's util-linux
//! `last -f FILE`: the same sessions and boots (user, line, login time, end)
//! in the same order, on generated histories, on random records that exercise
//! every rule, and on records written through the libc flavour. Skipped, not
//! passed, where `last` is not installed.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

#[path = "../examples/gen_wtmp.rs"]
#[allow(dead_code)]
mod gen_wtmp;

use std::path::Path;
use std::time::Duration;

use support::{iso_utc, system_tool, Files};
use utmps::last::{End, LastEntry, Pairing};
use utmps::layout::Layout;
use utmps::{stream, Field, Login, Record, RecordType};

/// `last`'s listing, one (user, line, login, end) per line, or `None` when it is missing.
fn system_last(path: &Path) -> Option<Vec<[String; 4]>> {
    let args =
        ["-w".as_ref(), "-R".as_ref(), "--time-format".as_ref(), "iso".as_ref(), "-f".as_ref(), path.as_os_str()];
    let text = system_tool("last_parity", "last", &args)?;
    let listing = text.split("\n\n").next().unwrap_or("");
    // Columns of `last -w -R --time-format iso`: user (8 or more), line (12), login (25), end.
    Some(
        listing
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                let user = l.split(' ').next().unwrap().to_owned();
                let at = user.len().max(8) + 1;
                let rest = l.get(at..).unwrap_or("");
                let line = rest.get(..12).unwrap_or(rest).trim_end().to_owned();
                let login = rest.get(13..38).unwrap_or("").to_owned();
                let end = rest.get(39..).unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
                [user, line, login, end]
            })
            .collect(),
    )
}

/// Seconds since the epoch as `last --time-format iso` prints them in UTC.
fn iso(secs: i64) -> String {
    format!("{}+00:00", iso_utc(secs))
}

/// A length as `last` prints it (negative ones included), blanks dropped.
fn length(secs: i64) -> String {
    let (mins, hours, days) = ((secs / 60) % 60, (secs / 3600) % 24, secs / 86_400);
    if days != 0 {
        format!("({days}+{:02}:{:02})", hours.abs(), mins.abs())
    } else if hours != 0 || secs >= 0 {
        format!("({hours:02}:{:02})", mins.abs())
    } else {
        format!("(-00:{:02})", mins.abs())
    }
}

fn describe(e: &LastEntry) -> [String; 4] {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut line = e.login.line.as_bytes();
    line = &line[..line.len().min(12)];
    // `last` prints ftpNNN and uucpNNN lines without their numbers.
    for prefix in [&b"ftp"[..], b"uucp"] {
        if line.starts_with(prefix) && line.get(prefix.len()).is_some_and(u8::is_ascii_digit) {
            line = prefix;
        }
    }
    let line = if e.boot { "system boot".to_owned() } else { text(line) };
    let t = e.login.tv_sec;
    let end = match (e.end, e.boot) {
        (End::LoggedOut { logout: r, .. }, _) | (End::Down { shutdown: r }, true) => {
            format!("- {} {}", iso(r.tv_sec), length(r.tv_sec - t))
        }
        (End::Crash { boot }, _) => format!("- crash {}", length(boot.tv_sec - t)),
        (End::Down { shutdown }, false) => format!("- down {}", length(shutdown.tv_sec - t)),
        (End::Running, _) => "still running".to_owned(),
        (End::StillLoggedIn, _) => "still logged in".to_owned(),
        (End::Gone, _) => "gone - no logout".to_owned(),
        (other, _) => format!("{other:?}"),
    };
    [text(e.login.user.as_bytes()), line, iso(t), end]
}

/// Our listing of `path`, and the most lines the pairing held at once.
fn ours(path: &Path) -> (Vec<[String; 4]>, usize) {
    let mut records = stream::open(path, Some(Layout::Glibc), Duration::from_secs(5)).unwrap();
    let mut pairing = Pairing::new(records.by_ref().rev()).with_boots();
    let (mut listed, mut held) = (Vec::new(), 0);
    while let Some(entry) = pairing.next() {
        listed.push(describe(&entry.unwrap()));
        held = held.max(pairing.held());
    }
    (listed, held)
}

fn compare(path: &Path, what: &str) -> Option<(usize, Vec<[String; 4]>)> {
    let theirs = system_last(path)?;
    let (mine, held) = ours(path);
    for (i, (a, b)) in mine.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "{what}: entry {i} differs (ours, last's)");
    }
    assert_eq!(mine.len(), theirs.len(), "{what}: as many entries");
    assert!(!mine.is_empty(), "{what}: something to compare");
    Some((held, mine))
}

#[test]
fn generated_histories_list_as_last_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    for (n, seed) in [(20_000, 1), (5_000, 42)] {
        let path = dir.path().join(format!("wtmp-{seed}"));
        gen_wtmp::generate(&path, n, seed, Layout::Glibc, false).unwrap();
        let Some((held, _)) = compare(&path, &format!("generated {n} seed {seed}")) else { return };
        // The generator uses 48 lines: memory follows them, not the file.
        assert!(held <= 48, "held {held} lines");
    }
}

/// xorshift64*, for reproducible random records.
struct Rng(u64);

impl Rng {
    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        &from[((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize) % from.len()]
    }
}

#[test]
fn every_rule_lists_as_last_lists_it() {
    const TYPES: [i16; 12] = [7, 7, 7, 8, 8, 2, 1, 5, 6, 0, 3, 77];
    const LINES: [&str; 7] = ["pts/0", "pts/1", "pts/2", "~", "", "|", "ftp123"];
    const USERS: [&str; 9] = ["alice", "root", "", "", "reboot", "shutdown", "runlevel", "LOGIN", "date"];
    const PIDS: [i32; 5] = [0x30, 0x36, 0x33, -1, i32::MAX - 1];
    const STEPS: [i64; 6] = [0, 1, 59, 3_600, 90_000, -120];
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x1234_5678);
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..40 {
        let mut t = 1_600_000_000;
        let bytes: Vec<u8> = (0..150)
            .flat_map(|_| {
                t += rng.pick(&STEPS);
                let rec = Record {
                    record_type: RecordType(*rng.pick(&TYPES)),
                    line: Field::new(rng.pick(&LINES).as_bytes()).unwrap(),
                    user: Field::new(rng.pick(&USERS).as_bytes()).unwrap(),
                    pid: *rng.pick(&PIDS),
                    tv_sec: t,
                    ..Record::default()
                };
                Layout::Glibc.encode(&rec).unwrap()
            })
            .collect();
        let path = dir.path().join(format!("wtmp-{round}"));
        std::fs::write(&path, bytes).unwrap();
        let Some((_, listed)) = compare(&path, &format!("round {round}")) else { return };
        for [user, line, _, end] in listed {
            let kind = end.split(" (").next().unwrap_or("").split(" 20").next().unwrap_or("").to_owned();
            seen.insert(if line == "system boot" { format!("boot {kind}") } else { format!("{user} {kind}") });
        }
    }
    for kind in [
        "alice -",
        "alice - crash",
        "alice - down",
        "alice gone - no logout",
        "boot -",
        "boot still running",
        "LOGIN -",
        "date -",
    ] {
        assert!(seen.contains(kind), "no {kind:?} among {seen:?}");
    }
}

#[test]
fn sessions_written_through_the_libc_flavour_list_as_last_lists_them() {
    let f = Files::new();
    let acct = f.acct();
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3_600);
    acct.open(&Login::new("root", "pts/5").host("a.example").time(an_hour_ago)).unwrap().logout().unwrap();
    let kept = acct.open(&Login::new("root", "pts/6").host("b.example")).unwrap();
    drop(acct.open(&Login::new("daemon", "pts/7")).unwrap());
    let open = acct.open(&Login::new("root", "pts/8")).unwrap();
    std::mem::forget(open);
    // `last` shows an end in the very second it started as "still running".
    let settle = || std::thread::sleep(Duration::from_millis(1_100));
    settle();
    compare(&f.wtmp, "libc flavour");
    kept.logout().unwrap();
    settle();
    compare(&f.wtmp, "libc flavour, all logged out but one");
}
