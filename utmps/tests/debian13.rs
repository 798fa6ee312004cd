//! Interop with Debian 13's own tools, run INSIDE a Debian 13 tree by
//! ci/debian13.sh (`--ignored`): a build with the crate's default features
//! records sessions through `Accounting::system()`, which must find wtmpdb and
//! lastlog2 there (and no utmp), then Debian's `last` (wtmpdb) and `lastlog2`
//! read them back. Ignored in ordinary runs: it writes the system's
//! databases, so it also refuses to run anywhere but Debian 13.

use std::process::Command;
use std::time::{Duration, SystemTime};

use utmps::{btmp, Accounting, BackendKind, ErrorKind, Login, Role, StoreKind};

fn on_debian13() {
    let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    assert!(
        release.lines().any(|l| l == "VERSION_CODENAME=trixie"),
        "this test writes the system's databases; it runs only inside a Debian 13 tree (ci/debian13.sh)"
    );
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("$ {cmd} {}\n{text}{}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd} failed");
    text
}

#[test]
#[ignore = "writes /var/log/wtmp.db and lastlog2.db; run inside Debian 13 by ci/debian13.sh"]
fn debian13_last_and_lastlog2_show_our_sessions() {
    on_debian13();
    let acct = Accounting::system().unwrap();
    println!("{acct:?}");
    let stores: Vec<_> = acct.stores().into_iter().map(|s| (s.role, s.kind, s.path)).collect();
    assert_eq!(
        stores,
        [
            (Role::History, StoreKind::Wtmpdb, utmps::wtmpdb::DEBIAN_PATH.into()),
            (Role::LastLogin, StoreKind::Lastlog2, utmps::lastlog2::PATH.into()),
        ],
        "wtmpdb and lastlog2, no utmp"
    );
    assert_eq!(acct.backend(), BackendKind::None);
    // A tree without a booted systemd has no logind: nothing live, which
    // check() reports (ci/logind.sh boots one).
    let e = acct.check().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains("no live store"), "{e}");
    let e = acct.record_failed_login(&Login::new("mallory", btmp::NOTTY_LINE)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "Debian 13 keeps no failed logins: {e}");

    // An ended session of 1 h 23 min: logged in 83 minutes ago, out now.
    let start = SystemTime::now() - Duration::from_secs(83 * 60);
    let ended = acct.open(&Login::new("alice", "/dev/pts/1").host("client.example").time(start)).unwrap();
    assert!(ended.wtmpdb_row().is_some());
    ended.logout().unwrap();
    // A live one, and root's last login.
    let live = acct.open(&Login::new("bob", "pts/2").host("192.0.2.7")).unwrap();
    let root = acct.open(&Login::new("root", "/dev/pts/3").host("admin.example").lastlog(true)).unwrap();
    root.logout().unwrap();

    let last = run("/usr/bin/last", &[]);
    let alice = last.lines().find(|l| l.starts_with("alice")).expect("alice's session in `last`");
    assert!(alice.contains("pts/1") && alice.contains("client.example"), "{alice}");
    assert!(alice.contains("(01:23)"), "the ended session's duration: {alice}");
    let bob = last.lines().find(|l| l.starts_with("bob")).expect("bob's session in `last`");
    assert!(bob.contains("pts/2") && bob.contains("192.0.2.7"), "{bob}");
    let words: Vec<&str> = bob.split_whitespace().collect();
    assert!(words.windows(3).any(|w| w == ["still", "logged", "in"]), "the live session: {bob}");

    // The upstream path is Debian's symlink to the same database.
    let via_link = run("/usr/bin/last", &["-f", utmps::wtmpdb::UPSTREAM_PATH]);
    assert!(via_link.lines().any(|l| l.starts_with("alice")), "{via_link}");

    let ll = run("/usr/bin/lastlog2", &["-u", "root"]);
    let root = ll.lines().find(|l| l.starts_with("root")).expect("root's last login in `lastlog2`");
    assert!(root.contains("pts/3") && root.contains("admin.example"), "{root}");
    drop(live);
}
