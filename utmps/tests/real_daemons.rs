//! Sessions against real utmps daemons, through every daemon backend this build
//! has: libxutmp's utmps flavour and the native client. The daemons' sockets come
//! from UTMPS_TEST_UTMPD and UTMPS_TEST_WTMPD. Real utmps cannot be installed on
//! the CI machines, so these tests are `#[ignore]`d (the summary counts them as
//! ignored); run them with `-- --ignored` where the daemons run.

mod support;

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use support::{on_line, real_daemons};
use utmps::{Accounting, Login, RecordType};

const NEEDS_DAEMONS: &str = "needs real utmps daemons: set UTMPS_TEST_UTMPD and UTMPS_TEST_WTMPD, run with --ignored";

fn sockets() -> (PathBuf, PathBuf) {
    real_daemons().unwrap_or_else(|| panic!("{NEEDS_DAEMONS}"))
}

/// Every backend of this build that talks to daemons.
fn backends(utmpd: &PathBuf, wtmpd: &PathBuf) -> Vec<(&'static str, Accounting)> {
    let mut out: Vec<(&'static str, Accounting)> = Vec::with_capacity(2);
    #[cfg(feature = "xutmp")]
    if let Ok(acct) = Accounting::xutmp(utmpd, wtmpd) {
        if acct.backend() == utmps::BackendKind::XutmpUtmps {
            out.push(("xutmp-utmps", acct));
        } else {
            skipped!("note: libxutmp is the libc flavour here; only the native client talks to the daemons");
        }
    }
    #[cfg(feature = "native")]
    out.push(("native", Accounting::native(utmpd, wtmpd)));
    let _ = (utmpd, wtmpd);
    out.into_iter().map(|(n, a)| (n, a.with_timeout(Duration::from_secs(3)))).collect()
}

/// A line no other test run uses at the same time.
fn unique_line(tag: &str) -> String {
    format!("rt/{}{tag}", std::process::id() % 100_000)
}

#[test]
#[ignore = "needs real utmps daemons: set UTMPS_TEST_UTMPD and UTMPS_TEST_WTMPD, run with --ignored"]
fn login_and_logout_reuse_the_slot() {
    let (utmpd, wtmpd) = sockets();
    let backends = backends(&utmpd, &wtmpd);
    assert!(!backends.is_empty(), "this build has no daemon backend: enable `native` or link libutmps");
    for (i, (name, acct)) in backends.into_iter().enumerate() {
        acct.check().unwrap_or_else(|e| panic!("{name}: {e}"));
        let line = unique_line(&format!("s{i}"));
        let session = acct.open(&Login::new(support::own_user(), line.clone()).host("real.example")).unwrap();
        let live = acct.entries().unwrap();
        let mine = on_line(&live, &line);
        assert_eq!(mine.len(), 1, "{name}");
        assert_eq!(mine[0].record_type, RecordType::USER_PROCESS, "{name}");
        session.logout().unwrap_or_else(|e| panic!("{name}: {e}"));
        let after = acct.entries().unwrap();
        let mine = on_line(&after, &line);
        assert_eq!(mine.len(), 1, "{name}: the logout must reuse the login's slot");
        assert_eq!(mine[0].record_type, RecordType::DEAD_PROCESS, "{name}");
        println!("{name}: login and logout on {line} against {}", utmpd.display());
    }
}

#[test]
#[ignore = "needs real utmps daemons, libxutmp's utmps flavour and `native`; run with --ignored"]
fn both_backends_write_identical_records() {
    let (utmpd, wtmpd) = sockets();
    let backends = backends(&utmpd, &wtmpd);
    if backends.len() < 2 {
        skipped!(
            "SKIPPED both_backends_write_identical_records: needs libxutmp's utmps flavour \
             (XUTMP_FLAVOUR=utmps) and feature `native` in one build"
        );
        return;
    }
    let line = unique_line("p");
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let login = Login::new(support::own_user(), line.clone())
        .host("parity.example")
        .addr("2001:db8::77".parse().unwrap())
        .pid(pid)
        .session(4242)
        .time(UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456));
    let mut seen = Vec::new();
    for (name, acct) in &backends {
        let session = acct.open(&login).unwrap_or_else(|e| panic!("{name}: {e}"));
        let entries = acct.entries().unwrap();
        let mine = on_line(&entries, &line);
        assert_eq!(mine.len(), 1, "{name}");
        seen.push((*name, *mine[0]));
        session.logout().unwrap();
    }
    assert_eq!(seen[0].1, seen[1].1, "{} and {} wrote different records", seen[0].0, seen[1].0);
    println!("{} and {} wrote identical records on {line}", seen[0].0, seen[1].0);
}
