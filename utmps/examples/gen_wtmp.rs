//! Writes a reproducible wtmp file of N records for benchmarks and parity
//! checks: sessions on a few dozen lines, logged out with DEAD_PROCESS records
//! as glibc's `logout` writes them, some never logged out, boots with and
//! without a shutdown before them.
//!
//! With `--utmp`, writes a utmp file instead: N live sessions, one per line,
//! as `who` lists them. With `--odd-text`, a short wtmp whose users and hosts
//! hold every ASCII control, DEL, bytes above ASCII and fields filled to the
//! last byte, to check how a listing escapes and cuts them (N is ignored).
//!
//! ```text
//! cargo run --release --example gen_wtmp -- N FILE [SEED] [--layout glibc|utmps] [--utmp | --odd-text]
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
        return Err("usage: gen_wtmp N FILE [SEED] [--layout glibc|utmps] [--utmp | --odd-text]".into());
    };
    if args.iter().any(|a| a == "--odd-text") {
        return odd_text(std::path::Path::new(path.as_str()), layout);
    }
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

/// Sessions whose user and host hold odd bytes, each logged out a minute later.
fn odd_text(path: &std::path::Path, layout: Layout) -> Result<(), Box<dyn std::error::Error>> {
    let mut w = Writer {
        out: std::io::BufWriter::new(std::fs::File::create(path)?),
        buf: vec![0u8; layout.record_size()],
        layout,
        written: 0,
    };
    let controls: Vec<u8> = (0x01..0x20).chain([0x7f]).collect();
    let high: Vec<u8> = (0x80..=0xff).step_by(7).collect();
    let texts: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (controls[..16].to_vec(), controls[16..].to_vec()),
        ([b"u".as_slice(), &high].concat(), [b"h".as_slice(), &high].concat()),
        (vec![b'U'; 32], vec![b'H'; 256]),
        (b"esc\x1b[31m".to_vec(), b"bell\x07cr\rtab\tend".to_vec()),
    ];
    let mut t = 1_600_000_000;
    for (i, (user, host)) in texts.iter().enumerate() {
        let line = format!("pts/{i}");
        let login = Record {
            record_type: RecordType::USER_PROCESS,
            pid: 2000 + i as i32,
            line: field(&line),
            id: field(&format!("ts/{i}")),
            user: Field::new(user).ok_or("a user of at most 32 bytes")?,
            host: Field::new(host).ok_or("a host of at most 256 bytes")?,
            tv_sec: t,
            ..Record::default()
        };
        w.put(&login)?;
        t += 60;
        w.put(&Record {
            record_type: RecordType::DEAD_PROCESS,
            user: Field::EMPTY,
            host: Field::EMPTY,
            tv_sec: t,
            ..login
        })?;
        t += 60;
    }
    w.out.flush()?;
    Ok(())
}
