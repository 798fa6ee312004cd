//! Interop with Debian 13's own tools, run INSIDE a Debian 13 tree by
//! ci/debian13.sh (`--ignored`): sessions recorded through the wtmpdb and
//! lastlog2 stores into the system paths, then read back with Debian's `last`
//! (wtmpdb) and `lastlog2`. Ignored in ordinary runs: it writes the system's
//! databases, so it also refuses to run anywhere but Debian 13.

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use utmps::lastlog2::{self, Lastlog2};
use utmps::wtmpdb::{self, Logout, Wtmpdb};

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

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
    let now = SystemTime::now();
    // Debian's path, reached through the upstream path's symlink where it exists.
    let db = Wtmpdb::new(wtmpdb::DEBIAN_PATH).create(true);
    let start = now - Duration::from_secs(3 * 3600);
    let ended =
        db.login(&wtmpdb::Entry::new("alice", "/dev/pts/1").host("client.example").time(start), deadline()).unwrap();
    let end = start + Duration::from_secs(3600 + 23 * 60);
    assert_eq!(db.logout(ended, end, deadline()).unwrap(), Logout::Recorded);
    db.login(&wtmpdb::Entry::new("bob", "pts/2").host("192.0.2.7").time(now - Duration::from_secs(600)), deadline())
        .unwrap();
    Lastlog2::new(lastlog2::PATH)
        .create(true)
        .record(
            &lastlog2::Entry::new("root", "/dev/pts/3").host("admin.example").time(now - Duration::from_secs(300)),
            deadline(),
        )
        .unwrap();

    let last = run("/usr/bin/last", &[]);
    let alice = last.lines().find(|l| l.starts_with("alice")).expect("alice's session in `last`");
    assert!(alice.contains("pts/1") && alice.contains("client.example"), "{alice}");
    assert!(alice.contains("(01:23)"), "the ended session's duration: {alice}");
    let bob = last.lines().find(|l| l.starts_with("bob")).expect("bob's session in `last`");
    assert!(bob.contains("pts/2") && bob.contains("192.0.2.7"), "{bob}");
    let words: Vec<&str> = bob.split_whitespace().collect();
    assert!(words.windows(3).any(|w| w == ["still", "logged", "in"]), "the live session: {bob}");

    // The upstream path is Debian's symlink to the same database.
    let via_link = run("/usr/bin/last", &["-f", wtmpdb::UPSTREAM_PATH]);
    assert!(via_link.lines().any(|l| l.starts_with("alice")), "{via_link}");

    let ll = run("/usr/bin/lastlog2", &["-u", "root"]);
    let root = ll.lines().find(|l| l.starts_with("root")).expect("root's last login in `lastlog2`");
    assert!(root.contains("pts/3") && root.contains("admin.example"), "{root}");
}
