//! Session lifecycle on the libc flavour (glibc's file format on temp files).
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::net::IpAddr;
use std::time::Duration;

use support::{dead_pid, Files, USER};
use utmps::{ErrorKind, Exit, Login, RecordType};

#[test]
fn login_and_logout_reuse_the_slot_and_write_two_wtmp_records() {
    let f = Files::new();
    let acct = f.acct();
    let s =
        acct.open(&Login::new(USER, "/dev/pts/7").host("client.example").addr("192.0.2.9".parse().unwrap())).unwrap();
    let live = acct.who(false).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].line.as_bytes(), b"pts/7");
    assert_eq!(live[0].id.as_bytes(), b"ts/7");
    assert_eq!(live[0].host.as_bytes(), b"client.example");
    assert_eq!(live[0].addr(), Some("192.0.2.9".parse::<IpAddr>().unwrap()));
    s.logout_with(Exit { termination: 0, status: 3 }).unwrap();

    let utmp = f.utmp_records();
    assert_eq!(utmp.len(), 1, "the DEAD_PROCESS entry must reuse the login's slot");
    assert_eq!(utmp[0].record_type, RecordType::DEAD_PROCESS);
    let wtmp = f.wtmp_records();
    assert_eq!(wtmp.len(), 2);
    assert_eq!(wtmp[0].record_type, RecordType::USER_PROCESS);
    assert_eq!(wtmp[1].record_type, RecordType::DEAD_PROCESS);
    assert_eq!((wtmp[1].line, wtmp[1].id, wtmp[1].pid), (wtmp[0].line, wtmp[0].id, wtmp[0].pid));
    assert_eq!(wtmp[1].user.as_bytes(), USER.as_bytes(), "the logout keeps the user name");
    assert_eq!(wtmp[1].exit.status, 3);
    let sessions = utmps::last::pair(&wtmp);
    assert!(matches!(sessions[0].end, utmps::last::End::LoggedOut { .. }));
}

#[test]
fn drop_logs_out() {
    let f = Files::new();
    let acct = f.acct();
    {
        let _s = acct.open(&Login::new(USER, "pts/8")).unwrap();
        assert_eq!(acct.who(false).unwrap().len(), 1);
    }
    assert!(acct.who(false).unwrap().is_empty());
    assert_eq!(f.wtmp_records().len(), 2);
}

#[test]
fn colliding_ids_never_overwrite_each_other() {
    let f = Files::new();
    let acct = f.acct();
    let a = acct.open(&Login::new(USER, "pts/1012")).unwrap();
    let b = acct.open(&Login::new(USER, "pts/11012")).unwrap();
    let live = acct.who(false).unwrap();
    assert_eq!(live.len(), 2, "both sessions must be live: {live:?}");
    assert_ne!(a.record().id, b.record().id);
    b.logout().unwrap();
    let live = acct.who(false).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].line.as_bytes(), b"pts/1012");
    a.logout().unwrap();
    assert!(acct.who(false).unwrap().is_empty());
    assert_eq!(f.utmp_records().len(), 2);
}

#[test]
fn update_host_rewrites_in_place_without_wtmp() {
    let f = Files::new();
    let acct = f.acct();
    let mut s = acct.open(&Login::new(USER, "pts/9").host("old.example")).unwrap();
    s.update_host("new.example", Some("2001:db8::5".parse().unwrap())).unwrap();
    let live = acct.who(false).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].host.as_bytes(), b"new.example");
    assert_eq!(live[0].addr(), Some("2001:db8::5".parse().unwrap()));
    assert_eq!(f.wtmp_records().len(), 1, "roaming writes no wtmp record");
    s.logout().unwrap();
}

#[test]
fn bad_input_is_rejected_before_any_io() {
    let f = Files::new();
    let acct = f.acct();
    for login in [
        Login::new("a\0b", "pts/1"),
        Login::new("u".repeat(33), "pts/1"),
        Login::new("", "pts/1"),
        Login::new(USER, "/dev/"),
        Login::new(USER, "pts/../../etc"),
        Login::new(USER, "x".repeat(33)),
        Login::new(USER, "pts/1").host("evil\0host"),
    ] {
        let e = acct.open(&login).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{login:?}: {e}");
    }
    assert!(f.utmp_records().is_empty());
    assert!(f.wtmp_records().is_empty());
}

#[test]
fn long_hosts_are_cut_on_a_character_boundary() {
    let f = Files::new();
    let acct = f.acct();
    let host = format!("x{}", "ü".repeat(200));
    let s = acct.open(&Login::new(USER, "pts/10").host(host.clone())).unwrap();
    let stored = s.record().host.as_bytes().to_vec();
    assert_eq!(stored.len(), 255);
    assert!(host.as_bytes().starts_with(&stored));
    assert!(std::str::from_utf8(&stored).is_ok());
    s.logout().unwrap();
}

/// A login at 0 s would be the last record of wtmp and make the file look
/// like no wtmp to every later write: refused before any I/O, on every store.
#[test]
fn a_login_in_the_first_second_of_1970_is_refused_and_writes_nothing() {
    let f = Files::new();
    let acct = f.acct().with_btmp(f.wtmp.with_file_name("btmp"));
    std::fs::File::create(f.wtmp.with_file_name("btmp")).unwrap();
    for at in [std::time::UNIX_EPOCH, std::time::UNIX_EPOCH + Duration::from_millis(500)] {
        let e = acct.open(&Login::new(USER, "pts/12").time(at)).map(drop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("first second of 1970"), "{e}");
        let e = acct.record_failed_login(&Login::new(USER, "pts/12").time(at)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    assert!(f.utmp_records().is_empty(), "nothing written to utmp");
    assert_eq!(std::fs::metadata(&f.wtmp).unwrap().len(), 0, "nothing written to wtmp");
    assert_eq!(std::fs::metadata(f.wtmp.with_file_name("btmp")).unwrap().len(), 0, "nothing written to btmp");
    // And the handle still works.
    acct.open(&Login::new(USER, "pts/12")).unwrap().logout().unwrap();
}

/// `who` lists a USER_PROCESS entry only when it has a user name; so does
/// `Accounting::who`.
#[test]
fn who_skips_user_process_entries_without_a_user_as_who_does() {
    let f = Files::new();
    let nameless = utmps::Record {
        record_type: utmps::RecordType::USER_PROCESS,
        pid: std::process::id() as i32,
        line: utmps::Field::new(b"pts/13").unwrap(),
        id: utmps::Field::new(b"s/13").unwrap(),
        tv_sec: 1_700_000_000,
        ..utmps::Record::default()
    };
    std::fs::write(&f.utmp, utmps::layout::Layout::Glibc.encode(&nameless).unwrap()).unwrap();
    let acct = f.acct();
    let s = acct.open(&Login::new(USER, "pts/14")).unwrap();
    let who: Vec<String> = acct.who(false).unwrap().iter().map(|r| r.line.to_string()).collect();
    assert_eq!(who, ["pts/14"], "the nameless entry is not a session");
    assert_eq!(acct.entries().unwrap().len(), 2, "entries() still lists it");
    match std::process::Command::new("who").arg(&f.utmp).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("pts/14") && !text.contains("pts/13"), "who itself: {text}");
        }
        Err(e) => println!("SKIPPED the comparison with `who` itself: cannot run it ({e})"),
    }
    s.logout().unwrap();
}

#[test]
fn times_past_2038_are_an_error_on_glibc() {
    let f = Files::new();
    let acct = f.acct();
    let after_2038 = std::time::UNIX_EPOCH + Duration::from_secs(1 << 31);
    let e = acct.open(&Login::new(USER, "pts/11").time(after_2038)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("2038-01-19"), "the error says why: {e}");
    assert!(f.utmp_records().is_empty(), "nothing written");
    let before_1970 = std::time::UNIX_EPOCH - Duration::from_secs(3600);
    let s = acct.open(&Login::new(USER, "pts/11").time(before_1970)).unwrap();
    assert_eq!(f.utmp_records()[0].tv_sec, -3600);
    s.logout().unwrap();
}

#[test]
fn missing_files_are_unavailable() {
    let f = Files::new();
    std::fs::remove_file(&f.wtmp).unwrap();
    let acct = f.acct();
    assert_eq!(acct.check().unwrap_err().kind(), ErrorKind::Unavailable);
    let e = acct.open(&Login::new(USER, "pts/12")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_eq!(e.endpoint(), Some(f.wtmp.as_path()), "{e}");
    assert!(e.to_string().contains(&*f.wtmp.to_string_lossy()), "{e}");
    assert!(acct.who(false).unwrap().is_empty(), "a failed open takes its utmp entry back");
    std::fs::remove_file(&f.utmp).unwrap();
    assert_eq!(acct.who(false).unwrap_err().kind(), ErrorKind::Unavailable);
}

#[test]
fn lastlog_is_written_when_asked() {
    let f = Files::new();
    let acct = f.acct();
    let s = acct.open(&Login::new(USER, "pts/13").host("ll.example").lastlog(true)).unwrap();
    let got = utmps::lastlog::read(&f.lastlog, 0).unwrap().expect("root's lastlog entry");
    assert_eq!(got.line.as_bytes(), b"pts/13");
    assert_eq!(got.host.as_bytes(), b"ll.example");
    s.logout().unwrap();
}

#[test]
fn sweep_ends_entries_of_dead_processes() {
    let f = Files::new();
    let acct = f.acct();
    let stale = acct.open(&Login::new(USER, "pts/14").pid(dead_pid())).unwrap();
    std::mem::forget(stale); // as if the daemon had been killed
    let live = acct.open(&Login::new(USER, "pts/15")).unwrap();
    let swept = acct.sweep(|r| r.line.as_bytes().starts_with(b"pts/1")).unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].line.as_bytes(), b"pts/14");
    let who = acct.who(false).unwrap();
    assert_eq!(who.len(), 1);
    assert_eq!(who[0].line.as_bytes(), b"pts/15");
    live.logout().unwrap();
    assert_eq!(f.wtmp_records().len(), 4);
}

#[test]
fn who_can_drop_entries_of_dead_processes() {
    let f = Files::new();
    let acct = f.acct();
    std::mem::forget(acct.open(&Login::new(USER, "pts/16").pid(dead_pid())).unwrap());
    assert_eq!(acct.who(false).unwrap().len(), 1);
    assert!(acct.who(true).unwrap().is_empty());
}

#[test]
fn panic_through_a_live_guard_logs_out() {
    let f = Files::new();
    let acct = f.acct();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _s = acct.open(&Login::new(USER, "pts/17")).unwrap();
        panic!("handler failed");
    }));
    assert!(result.is_err());
    assert!(acct.who(false).unwrap().is_empty());
    assert_eq!(f.wtmp_records().len(), 2);
}

#[test]
fn a_forked_child_dropping_the_guard_does_not_log_out() {
    let f = Files::new();
    let acct = f.acct();
    let s = acct.open(&Login::new(USER, "pts/18")).unwrap();
    // SAFETY: the child only drops the guard (a getpid check) and exits at once.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        drop(s);
        // SAFETY: _exit skips the parent's atexit handlers and destructors.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert_eq!(acct.who(false).unwrap().len(), 1, "the child must not log the parent's session out");
    assert_eq!(f.wtmp_records().len(), 1);
    s.logout().unwrap();
}

#[test]
fn control_characters_in_a_host_are_refused_or_replaced_never_stored() {
    let f = Files::new();
    let acct = f.acct();
    let e = acct.open(&Login::new(USER, "pts/19").host("evil\u{1b}[2J\u{7}host")).map(drop).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(acct.entries().unwrap().is_empty(), "nothing written");
    let s = acct.open(&Login::new(USER, "pts/19").host_lossy("evil\u{1b}[2J\u{7}host")).unwrap();
    let live = acct.who(false).unwrap();
    assert_eq!(live[0].host.as_bytes(), b"evil?[2J?host");
    s.logout().unwrap();
}

#[test]
fn addresses_of_every_family_round_trip_through_the_file() {
    let f = Files::new();
    let acct = f.acct();
    for (n, text) in ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"].into_iter().enumerate() {
        let addr: IpAddr = text.parse().unwrap();
        let s = acct.open(&Login::new(USER, format!("pts/2{n}")).addr(addr)).unwrap();
        let live = acct.who(false).unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].addr(), Some(addr), "{text}");
        s.logout().unwrap();
    }
}

#[test]
fn lastlog_problems_are_found_before_anything_is_written() {
    let f = Files::new();
    let acct = f.acct();
    let e = acct.open(&Login::new("no-such-user-utmps-test", "pts/30").lastlog(true)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(f.utmp_records().is_empty(), "no utmp entry for a login that failed its lastlog checks");
    assert!(f.wtmp_records().is_empty(), "no wtmp record either");
}
