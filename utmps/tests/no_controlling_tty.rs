//! A daemon that has called setsid has no controlling terminal, and opening a
//! terminal without O_NOCTTY would give it one (and a SIGHUP when that
//! terminal's master closes). Every store path is opened with O_NOCTTY: a
//! path that names a terminal is refused, and the process stays without one.
#![cfg(feature = "xutmp")]

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use utmps::{Accounting, Login};

const PROBE: &str = "UTMPS_TEST_CTTY_PROBE";

/// The controlling terminal of this process (`tty_nr` in /proc/self/stat), 0 for none.
fn tty_nr() -> i64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(4).unwrap().parse().unwrap()
}

/// A pty pair: the master (kept open) and the slave's path.
fn pty() -> (std::fs::File, String) {
    use std::os::fd::FromRawFd;
    // SAFETY: posix_openpt returns a new descriptor or -1; the others take it.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "no pty: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(fd)).to_string_lossy().into_owned();
        (std::fs::File::from_raw_fd(fd), name)
    }
}

#[test]
fn store_paths_that_name_a_terminal_never_become_the_controlling_terminal() {
    if !Path::new("/proc/self/stat").exists() {
        println!("SKIPPED: no /proc/self/stat to read the controlling terminal from");
        return;
    }
    let (_master, slave) = pty();
    let mut probe = Command::new(std::env::current_exe().unwrap());
    probe.args(["--exact", "ctty_probe", "--ignored", "--nocapture", "--test-threads=1"]).env(PROBE, &slave);
    // SAFETY: setsid is async-signal-safe; the child starts a session of its
    // own, without a controlling terminal, as a daemon does.
    unsafe {
        probe.pre_exec(|| match libc::setsid() {
            -1 => Err(std::io::Error::last_os_error()),
            _ => Ok(()),
        })
    };
    let out = probe.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the probe failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("probed every store path"), "the probe did not run:\n{text}");
}

/// One API call on the terminal's path, and what it returned.
type Probe<'a> = (&'a str, Box<dyn Fn() -> String + 'a>);

/// Run by the test above in a process of its own (a session leader with no
/// controlling terminal): every API given the terminal's path.
#[test]
#[ignore = "run by store_paths_that_name_a_terminal_never_become_the_controlling_terminal, in a new session"]
fn ctty_probe() {
    let tty = std::env::var(PROBE).expect("the terminal's path, from the parent test");
    let p = Path::new(&tty);
    assert_eq!(tty_nr(), 0, "the probe started with a controlling terminal");
    let limit = Duration::from_millis(300);
    let soon = || Instant::now() + limit;
    let probes: Vec<Probe<'_>> = vec![
        ("stream::open", Box::new(|| format!("{:?}", utmps::stream::open(p, None, limit).map(drop)))),
        ("files::read", Box::new(|| format!("{:?}", utmps::files::read(p, None, limit).map(drop)))),
        ("lastlog::read", Box::new(|| format!("{:?}", utmps::lastlog::read(p, 0).map(drop)))),
        (
            "lastlog::write",
            Box::new(|| {
                let entry = utmps::lastlog::LastLogin { time: 1, line: Default::default(), host: Default::default() };
                format!("{:?}", utmps::lastlog::write(p, 0, &entry, soon()))
            }),
        ),
        (
            "btmp::record_failed_login",
            Box::new(|| format!("{:?}", utmps::btmp::record_failed_login(p, &Login::new("root", "ssh:notty"), soon()))),
        ),
        ("check", Box::new(|| format!("{:?}", Accounting::files(p, p).unwrap().check()))),
        (
            "open",
            Box::new(|| format!("{:?}", Accounting::files(p, p).unwrap().open(&Login::new("root", "pts/1")).map(drop))),
        ),
        ("who", Box::new(|| format!("{:?}", Accounting::files(p, p).unwrap().who(false).map(drop)))),
        (
            "open with lastlog",
            Box::new(|| {
                let acct = Accounting::empty().with_btmp(p).with_lastlog(p);
                format!("{:?}", acct.open(&Login::new("root", "pts/1").lastlog(true)).map(drop))
            }),
        ),
    ];
    for (name, probe) in &probes {
        let outcome = probe();
        assert_eq!(tty_nr(), 0, "{name} made {tty} the controlling terminal ({outcome})");
    }
    println!("probed every store path");
}
