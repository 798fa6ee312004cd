//! Records written through the libc flavour, read back by the system's own `who`,
//! `last` and `utmpdump` (util-linux and coreutils on glibc). Each tool that is
//! missing is reported as skipped, not passed.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::time::{Duration, SystemTime};

use support::{iso_utc, system_tool, Files};
use utmps::Login;

#[test]
fn who_last_and_utmpdump_read_our_records() {
    let f = Files::new();
    let acct = f.acct();
    let login_time = SystemTime::now() - Duration::from_secs(62 * 60 + 5);
    let alice = acct
        .open(
            &Login::new("root", "/dev/pts/5")
                .host("client.example")
                .addr("192.0.2.9".parse().unwrap())
                .time(login_time),
        )
        .unwrap();
    let live =
        acct.open(&Login::new("daemon", "pts/6").host("v6.example").addr("2001:db8::9".parse().unwrap())).unwrap();
    let mapped = acct.open(&Login::new("daemon", "pts/7").addr("::ffff:192.0.2.77".parse().unwrap())).unwrap();
    let login_record = *alice.record();
    alice.logout().unwrap();
    // `last` prints "still running" for a logout in the current second.
    std::thread::sleep(Duration::from_millis(1100));

    if let Some(who) = system_tool("interop", "who", &[f.utmp.as_os_str()]) {
        let lines: Vec<&str> = who.lines().collect();
        assert_eq!(lines.len(), 2, "who shows only the live sessions:\n{who}");
        assert!(
            lines[0].starts_with("daemon ") && lines[0].contains("pts/6") && lines[0].contains("(v6.example)"),
            "{who}"
        );
    }

    if let Some(last) = system_tool("interop", "last", &["-f".as_ref(), f.wtmp.as_os_str()]) {
        let root = last.lines().find(|l| l.starts_with("root ")).unwrap_or_else(|| panic!("no root line:\n{last}"));
        assert!(root.contains("pts/5") && root.contains("client.example"), "{root}");
        assert!(root.contains("(01:02)"), "last must show the session's duration: {root}");
        let daemon =
            last.lines().find(|l| l.starts_with("daemon ") && l.contains("pts/6")).unwrap_or_else(|| panic!("{last}"));
        assert!(!daemon.contains("(0"), "the live session has no duration: {daemon}");
    }

    if let Some(last_i) = system_tool("interop", "last", &["-i".as_ref(), "-f".as_ref(), f.wtmp.as_os_str()]) {
        assert!(last_i.contains("192.0.2.9"), "{last_i}");
        assert!(last_i.contains("2001:db8::9"), "{last_i}");
        assert!(last_i.contains(" 192.0.2.77 "), "last shows a v4-mapped address as IPv4: {last_i}");
    }

    if let Some(dump) = system_tool("interop", "utmpdump", &[f.wtmp.as_os_str()]) {
        let rows: Vec<&str> = dump.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(rows.len(), 4, "{dump}");
        let when = iso_utc(login_record.tv_sec);
        let expect_login = format!(
            "[7] [{:05}] [ts/5] [root    ] [pts/5       ] [client.example      ] [192.0.2.9      ] [{when},{:06}+00:00]",
            login_record.pid, login_record.tv_usec
        );
        assert_eq!(rows[0], expect_login);
        assert!(
            rows[1].starts_with("[7] ") && rows[1].contains("[daemon  ]") && rows[1].contains("[2001:db8::9    ]"),
            "{}",
            rows[1]
        );
        assert!(rows[2].contains("] [::ffff:192.0.2.77] ["), "{}", rows[2]);
        assert!(
            rows[3].starts_with(&format!("[8] [{:05}] [ts/5] [root    ] [pts/5       ]", login_record.pid)),
            "{}",
            rows[3]
        );
    }

    if let Some(dump) = system_tool("interop", "utmpdump", &[f.utmp.as_os_str()]) {
        let rows: Vec<&str> = dump.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(rows.len(), 3, "three slots, the first reused by the logout: {dump}");
        assert!(rows[0].starts_with("[8] "), "{dump}");
        assert!(rows[1].starts_with("[7] "), "{dump}");
    }
    live.logout().unwrap();
    mapped.logout().unwrap();
}
