//! Writes a reproducible wtmp file of N records for benchmarks and parity
//! checks: sessions on a few dozen lines, logged out with DEAD_PROCESS records
//! as glibc's `logout` writes them, some never logged out, boots with and
//! without a shutdown before them.
//!
//! With `--utmp`, writes a utmp file instead: N live sessions, one per line,
//! as `who` lists them.
//!
//! ```text
//! cargo run --release --example gen_wtmp -- N FILE [SEED] [--layout glibc|utmps] [--utmp]
//! ```

use std::io::Write;

use utmps::layout::Layout;
use utmps::{Field, Record, RecordType};

/// xorshift64*: the same file for the same seed on every machine.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % n
    }
}

const USERS: [&str; 6] = ["root", "alice", "bob", "carol", "deploy", "www-data"];
const LINES: u64 = 48;

fn field<const N: usize>(text: &str) -> Field<N> {
    Field::new(text.as_bytes()).unwrap_or(Field::EMPTY)
}

struct Writer {
    out: std::io::BufWriter<std::fs::File>,
    buf: Vec<u8>,
    layout: Layout,
    written: u64,
}

impl Writer {
    fn put(&mut self, rec: &Record) -> Result<(), Box<dyn std::error::Error>> {
        self.layout.encode_into(rec, &mut self.buf)?;
        self.out.write_all(&self.buf)?;
        self.written += 1;
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let layout = match args.iter().position(|a| a == "--layout").map(|i| args.get(i + 1).map(String::as_str)) {
        None | Some(Some("glibc")) => Layout::Glibc,
        Some(Some("utmps")) => Layout::Utmps,
        Some(other) => return Err(format!("--layout takes glibc or utmps, not {other:?}").into()),
    };
    let plain: Vec<&String> =
        args.iter().filter(|a| !a.starts_with("--") && !matches!(a.as_str(), "glibc" | "utmps")).collect();
    let (Some(n), Some(path)) = (plain.first(), plain.get(1)) else {
        return Err("usage: gen_wtmp N FILE [SEED] [--layout glibc|utmps] [--utmp]".into());
    };
    let n: u64 = n.parse()?;
    let seed = plain.get(2).map_or(Ok(0x5eed), |s| s.parse())?;
    generate(std::path::Path::new(path.as_str()), n, seed, layout, args.iter().any(|a| a == "--utmp"))
}

/// Writes `n` records to `path`: a wtmp history, or with `utmp` a utmp file of
/// live sessions. The same `seed` gives the same file.
pub fn generate(
    path: &std::path::Path,
    n: u64,
    seed: u64,
    layout: Layout,
    utmp: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng(seed | 1);
    let mut w = Writer {
        out: std::io::BufWriter::new(std::fs::File::create(path)?),
        buf: vec![0u8; layout.record_size()],
        layout,
        written: 0,
    };
    let mut t: i64 = 1_600_000_000;
    if utmp {
        for i in 0..n {
            let rec = Record {
                record_type: RecordType::USER_PROCESS,
                pid: 1000 + i as i32,
                line: field(&format!("pts/{i}")),
                id: field(&format!("{:04x}", i % 0x10000)),
                user: field(USERS[rng.below(USERS.len() as u64) as usize]),
                host: field(&format!("10.0.{}.{}", rng.below(256), rng.below(256))),
                tv_sec: t + rng.below(86_400) as i64,
                ..Record::default()
            };
            w.put(&rec)?;
        }
        w.out.flush()?;
        return Ok(());
    }
    let mut open: Vec<Option<i32>> = vec![None; LINES as usize];
    let mut pid = 1000;
    let system = |user: &str, kind: RecordType, t: i64| Record {
        record_type: kind,
        line: field("~"),
        user: field(user),
        host: field("6.1.0-utmps"),
        tv_sec: t,
        ..Record::default()
    };
    w.put(&system("reboot", RecordType::BOOT_TIME, t))?;
    while w.written < n {
        t += 1 + rng.below(600) as i64;
        let line = rng.below(LINES) as usize;
        if rng.below(4000) == 0 {
            // A reboot, mostly clean; the open sessions end in it either way.
            if rng.below(5) != 0 {
                w.put(&system("shutdown", RecordType::RUN_LVL, t))?;
                t += 30;
            }
            w.put(&system("reboot", RecordType::BOOT_TIME, t))?;
            open.iter_mut().for_each(|s| *s = None);
            continue;
        }
        let name = format!("pts/{line}");
        match open[line] {
            None => {
                pid += 1 + rng.below(50) as i32;
                let user = USERS[rng.below(USERS.len() as u64) as usize];
                let mut rec = Record {
                    record_type: RecordType::USER_PROCESS,
                    pid,
                    line: field(&name),
                    id: field(&format!("ts/{line}")),
                    user: field(user),
                    host: field(&format!("10.0.{}.{}", rng.below(256), rng.below(256))),
                    tv_sec: t,
                    tv_usec: rng.below(1_000_000) as i32,
                    ..Record::default()
                };
                rec.set_addr(rec.host.to_string_lossy().parse().ok());
                w.put(&rec)?;
                open[line] = Some(pid);
            }
            // One session in fifty never logs out: its daemon died.
            Some(_) if rng.below(50) == 0 => open[line] = None,
            Some(pid) => {
                let rec = Record {
                    record_type: RecordType::DEAD_PROCESS,
                    pid,
                    line: field(&name),
                    id: field(&format!("ts/{line}")),
                    tv_sec: t,
                    ..Record::default()
                };
                w.put(&rec)?;
                open[line] = None;
            }
        }
    }
    w.out.flush()?;
    Ok(())
}
