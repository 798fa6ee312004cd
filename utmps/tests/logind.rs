//! The logind store's leader and PAM handling, on PAM stacks of the tests'
//! own (a service directory per test, `pam_start_confdir`): refusals, hangs,
//! unknown users, the close after a logout, a drop and the daemon's death.
//! A stack without logind stands in for `pam_systemd` with `pam_env`, which
//! sets `XDG_SESSION_ID` as pam_systemd does; `pam_exec` writes down each
//! phase PAM ran. The real logind is ci/logind.sh's, under systemd-nspawn.
//!
//! Its own `main` (no libtest harness): a leader is this program started
//! again, so `main` calls `utmps::leader::serve()` first, as a daemon's does.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use utmps::pty::{Program, Pty};
use utmps::{Accounting, ErrorKind, Login, PermissionRule};

const MODULES: &str = "/lib/x86_64-linux-gnu/security";

fn main() {
    utmps::leader::serve();
    if let Some(dir) = std::env::var_os("UTMPS_TEST_DAEMON") {
        // The daemon of `a_daemon_killed_leaves_its_leader_to_close_the_session`.
        daemon(Path::new(&dir));
    }
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let tests: &[(&str, Test)] = &[
        ("a_session_opens_and_its_logout_closes_it_in_pam", a_session_opens_and_its_logout_closes_it_in_pam),
        ("a_dropped_session_is_closed_in_pam_too", a_dropped_session_is_closed_in_pam_too),
        ("a_refusing_stack_is_a_clear_error_and_leaves_nothing", a_refusing_stack_is_a_clear_error_and_leaves_nothing),
        ("a_stack_without_logind_is_unavailable_not_success", a_stack_without_logind_is_unavailable_not_success),
        ("a_hanging_module_is_bounded_by_the_deadline", a_hanging_module_is_bounded_by_the_deadline),
        ("an_unknown_user_and_a_bad_service_are_invalid_input", an_unknown_user_and_a_bad_service_are_invalid_input),
        (
            "a_daemon_killed_leaves_its_leader_to_close_the_session",
            a_daemon_killed_leaves_its_leader_to_close_the_session,
        ),
        ("a_sigterm_to_the_leader_closes_the_session_in_pam", a_sigterm_to_the_leader_closes_the_session_in_pam),
        ("without_logind_the_store_is_unavailable", without_logind_the_store_is_unavailable),
        ("a_row_the_pam_stack_wrote_is_the_sessions_one_row", a_row_the_pam_stack_wrote_is_the_sessions_one_row),
        (
            "a_spawned_program_runs_on_its_pty_and_its_exit_is_the_logout",
            a_spawned_program_runs_on_its_pty_and_its_exit_is_the_logout,
        ),
        ("a_spawned_program_runs_inside_the_pam_session", a_spawned_program_runs_inside_the_pam_session),
        ("a_dropped_pty_session_hangs_up_its_program", a_dropped_pty_session_hangs_up_its_program),
        (
            "a_spawn_with_bad_input_starts_nothing_and_records_nothing",
            a_spawn_with_bad_input_starts_nothing_and_records_nothing,
        ),
    ];
    let mut failed = 0;
    for (name, test) in tests {
        if !args.is_empty() && !args.iter().any(|a| name.contains(a.as_str())) {
            continue;
        }
        match std::panic::catch_unwind(test) {
            Ok(Outcome::Passed) => println!("test {name} ... ok"),
            Ok(Outcome::Skipped(why)) => println!("test {name} ... SKIPPED: {why}"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} failed");
        std::process::exit(1);
    }
}

type Test = fn() -> Outcome;

enum Outcome {
    Passed,
    Skipped(String),
}

/// The phases PAM ran on a logging stack, as written so far.
fn phases(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("phases")).unwrap_or_default().lines().map(str::to_owned).collect()
}

/// A stack whose pam_exec log is in `dir` itself.
fn logging_in(dir: &Path, service: &str, session_id: Option<&str>, extra: &[&str]) -> Result<(), String> {
    if !Path::new(MODULES).join("pam_exec.so").exists() {
        return Err(format!("no PAM modules in {MODULES} (Debian's libpam-modules)"));
    }
    // PAM's configuration has no quoting for a shell command: a script.
    let script = dir.join("log-phase");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$PAM_TYPE\" >> {}\n", dir.join("phases").display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut lines = vec![format!("session required {MODULES}/pam_exec.so {}", script.display())];
    if let Some(id) = session_id {
        let env = dir.join("env");
        std::fs::write(&env, format!("XDG_SESSION_ID={id}\n")).unwrap();
        lines.push(format!(
            "session required {MODULES}/pam_env.so readenv=1 envfile={} conffile=/dev/null user_readenv=0",
            env.display()
        ));
    }
    lines.extend(extra.iter().map(|l| l.to_string()));
    std::fs::write(dir.join(service), lines.join("\n") + "\n").unwrap();
    Ok(())
}

fn wait_for(what: impl Fn() -> bool, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    what()
}

/// This process's children that are session leaders (their `comm`).
fn leaders() -> Vec<String> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for pid in children.split_whitespace() {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline.starts_with(b"utmps-session-leader\0") {
                found.push(format!("{pid} {}", comm.trim()));
            }
        }
    }
    found
}

fn me() -> String {
    // The user running the tests: PAM's modules here run as that user.
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

macro_rules! skip_unless {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(why) => return Outcome::Skipped(why),
        }
    };
}

fn a_session_opens_and_its_logout_closes_it_in_pam() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(dir.path(), "svc", Some("fake-7"), &[]));
    let acct = Accounting::empty().with_logind_at("svc", dir.path()).unwrap();
    let session = acct.open(&Login::new(me(), "pts/7").host("client.example")).unwrap();
    assert_eq!(session.logind_session(), Some("fake-7"));
    assert_eq!(phases(dir.path()), ["open_session"]);
    assert_eq!(leaders().len(), 1, "one leader holds the session: {:?}", leaders());
    session.logout().unwrap();
    assert_eq!(phases(dir.path()), ["open_session", "close_session"], "closed before the logout returned");
    assert!(leaders().is_empty(), "the leader exited and was reaped: {:?}", leaders());
    Outcome::Passed
}

fn a_dropped_session_is_closed_in_pam_too() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(dir.path(), "svc", Some("fake-8"), &[]));
    let acct = Accounting::empty().with_logind_at("svc", dir.path()).unwrap();
    drop(acct.open(&Login::new(me(), "pts/8")).unwrap());
    assert_eq!(phases(dir.path()), ["open_session", "close_session"]);
    Outcome::Passed
}

fn a_refusing_stack_is_a_clear_error_and_leaves_nothing() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(dir.path(), "svc", Some("fake-9"), &[&format!("session required {MODULES}/pam_deny.so")]));
    let files = tempfile::tempdir().unwrap();
    let (utmp, wtmp) = (files.path().join("utmp"), files.path().join("wtmp"));
    std::fs::File::create(&utmp).unwrap();
    std::fs::File::create(&wtmp).unwrap();
    // utmp first, then logind: the refusal takes back the utmp entry.
    let acct = Accounting::files(&utmp, &wtmp).unwrap().with_logind_at("svc", dir.path()).unwrap();
    let e = acct.open(&Login::new(me(), "pts/9")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
    assert_eq!(e.permission_rule(), Some(PermissionRule::Pam));
    assert!(e.to_string().contains("pam_open_session"), "{e}");
    assert!(acct.who(false).unwrap().is_empty(), "nothing live in utmp");
    // PAM closes what the stack's first modules opened.
    assert_eq!(phases(dir.path()), ["open_session", "close_session"]);
    Outcome::Passed
}

fn a_stack_without_logind_is_unavailable_not_success() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(dir.path(), "svc", None, &[]));
    let acct = Accounting::empty().with_logind_at("svc", dir.path()).unwrap();
    let e = acct.open(&Login::new(me(), "pts/1")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains("pam_systemd"), "{e}");
    assert_eq!(phases(dir.path()), ["open_session", "close_session"], "the PAM session was closed again");
    Outcome::Passed
}

fn a_hanging_module_is_bounded_by_the_deadline() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(
        dir.path(),
        "svc",
        Some("fake-3"),
        &[&format!("session required {MODULES}/pam_exec.so /bin/sleep 30")]
    ));
    let acct = Accounting::empty().with_logind_at("svc", dir.path()).unwrap().with_timeout(Duration::from_millis(500));
    let start = Instant::now();
    let e = acct.open(&Login::new(me(), "pts/3")).unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(took < Duration::from_millis(500 + 400), "returned after {took:?}");
    assert!(leaders().is_empty(), "the hanging leader was killed: {:?}", leaders());
    Outcome::Passed
}

fn an_unknown_user_and_a_bad_service_are_invalid_input() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(dir.path(), "svc", Some("fake-4"), &[]));
    let acct = Accounting::empty().with_logind_at("svc", dir.path()).unwrap();
    let e = acct.open(&Login::new("no-such-user-utmps", "pts/4")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    for service in ["../svc", "a/b", ".."] {
        let e = acct.open(&Login::new(me(), "pts/4").service(service)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{service}: {e}");
        let e = Accounting::empty().with_logind_at(service, dir.path()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{service}: {e}");
    }
    assert!(phases(dir.path()).is_empty(), "PAM never ran");
    Outcome::Passed
}

/// The daemon of the SIGKILL test: opens a session, says so, and waits to be killed.
fn daemon(dir: &Path) -> ! {
    let acct = Accounting::empty().with_logind_at("svc", dir).unwrap();
    let session = acct.open(&Login::new(me(), "pts/5")).unwrap();
    std::fs::write(dir.join("opened"), session.logind_session().unwrap()).unwrap();
    std::thread::sleep(Duration::from_secs(60));
    std::process::exit(0);
}

fn a_daemon_killed_leaves_its_leader_to_close_the_session() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(dir.path(), "svc", Some("fake-5"), &[]));
    let mut child =
        Command::new(std::env::current_exe().unwrap()).env("UTMPS_TEST_DAEMON", dir.path()).spawn().unwrap();
    assert!(wait_for(|| dir.path().join("opened").exists(), Duration::from_secs(10)), "the daemon opened its session");
    assert_eq!(phases(dir.path()), ["open_session"]);
    child.kill().unwrap(); // SIGKILL: no Drop runs
    child.wait().unwrap();
    assert!(
        wait_for(|| phases(dir.path()).len() == 2, Duration::from_secs(2)),
        "the leader closed the session within 2 s of its daemon's death: {:?}",
        phases(dir.path())
    );
    assert_eq!(phases(dir.path()), ["open_session", "close_session"]);
    Outcome::Passed
}

/// systemd stops a session (`loginctl terminate-session`) with SIGTERM to
/// every process of its scope, the leader among them.
fn a_sigterm_to_the_leader_closes_the_session_in_pam() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(dir.path(), "svc", Some("fake-6"), &[]));
    let acct = Accounting::empty().with_logind_at("svc", dir.path()).unwrap();
    let session = acct.open(&Login::new(me(), "pts/6")).unwrap();
    let found = leaders();
    assert_eq!(found.len(), 1, "one leader: {found:?}");
    let pid = found[0].split_whitespace().next().unwrap().to_owned();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(
        wait_for(|| phases(dir.path()).len() == 2, Duration::from_secs(2)),
        "the leader closed the session within 2 s of its SIGTERM: {:?}",
        phases(dir.path())
    );
    assert_eq!(phases(dir.path()), ["open_session", "close_session"]);
    session.logout().expect("the logout of a session its leader closed");
    assert!(leaders().is_empty(), "the leader exited and was reaped: {:?}", leaders());
    Outcome::Passed
}

fn without_logind_the_store_is_unavailable() -> Outcome {
    if Path::new("/run/systemd/system").exists() && Path::new("/run/systemd/seats").exists() {
        return Outcome::Skipped("logind runs here".into());
    }
    let e = Accounting::empty().with_logind("login").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    let acct = Accounting::system().unwrap();
    assert!(acct.stores().iter().all(|s| s.kind != utmps::StoreKind::Logind), "{acct:?}");
    Outcome::Passed
}

/// The rows of `db`'s wtmp table for `tty`: (id, has a logout).
fn rows(db: &Path, tty: &str) -> Vec<(i64, bool)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut q = c.prepare("SELECT ID, Logout IS NOT NULL FROM wtmp WHERE TTY = ? ORDER BY ID").unwrap();
    let rows = q.query_map([tty], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

fn a_row_the_pam_stack_wrote_is_the_sessions_one_row() -> Outcome {
    if Command::new("sqlite3").arg("-version").output().is_err() {
        return Outcome::Skipped("no sqlite3 command (Debian's sqlite3) to play pam_wtmpdb".into());
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wtmp.db");
    std::fs::File::create(&db).unwrap();
    // The table, as the crate creates it: one session without PAM.
    let plain = Accounting::empty().with_wtmpdb(&db);
    plain.open(&Login::new(me(), "pts/5")).unwrap().logout().unwrap();
    // A stack that writes the login's row as pam_wtmpdb does (user, tty
    // without /dev/, host, service, µs) at open, and its logout at close.
    let script = dir.path().join("wtmpdb-like");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nnow=$(date +%s%6N)\ntty=${{PAM_TTY#/dev/}}\ncase $PAM_TYPE in\n\
             open_session) sqlite3 {db} \"INSERT INTO wtmp (Type, User, Login, TTY, RemoteHost, Service) \
             VALUES (3, '$PAM_USER', $now, '$tty', '$PAM_RHOST', '$PAM_SERVICE')\" ;;\n\
             close_session) sqlite3 {db} \"UPDATE wtmp SET Logout = $now WHERE TTY = '$tty' AND Logout IS NULL\" ;;\n\
             esac\n",
            db = db.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let exec = format!("session required {MODULES}/pam_exec.so {}", script.display());
    skip_unless!(logging_in(dir.path(), "svc", Some("fake-6"), &[&exec]));
    let acct = Accounting::empty().with_logind_at("svc", dir.path()).unwrap().with_wtmpdb(&db);
    let session = acct.open(&Login::new(me(), "pts/6").host("client.example")).unwrap();
    let written = rows(&db, "pts/6");
    assert_eq!(written.len(), 1, "one row for the session: {written:?}");
    assert_eq!(session.wtmpdb_row().map(|r| r.0), Some(written[0].0), "the PAM stack's row is the session's");
    assert!(!written[0].1, "open while the session lives");
    session.logout().unwrap();
    assert_eq!(rows(&db, "pts/6"), [(written[0].0, true)], "one row, ended");
    // A stack that writes no row: the crate writes its own.
    let quiet = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(quiet.path(), "svc", Some("fake-7"), &[]));
    let acct = Accounting::empty().with_logind_at("svc", quiet.path()).unwrap().with_wtmpdb(&db);
    acct.open(&Login::new(me(), "pts/7")).unwrap().logout().unwrap();
    assert_eq!(rows(&db, "pts/7").len(), 1);
    Outcome::Passed
}

/// A handle on temporary utmp and wtmp files.
fn files() -> (tempfile::TempDir, Accounting) {
    let dir = tempfile::tempdir().unwrap();
    let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
    std::fs::File::create(&utmp).unwrap();
    std::fs::File::create(&wtmp).unwrap();
    let acct = Accounting::files(&utmp, &wtmp).unwrap();
    (dir, acct)
}

/// Everything the program writes to the pty, until it has exited (EIO).
fn output(master: std::os::fd::OwnedFd) -> String {
    use std::io::Read;
    let mut out = Vec::new();
    let mut file = std::fs::File::from(master);
    let mut buf = [0; 4096];
    loop {
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn a_spawned_program_runs_on_its_pty_and_its_exit_is_the_logout() -> Outcome {
    let (dir, acct) = files();
    let pty = Pty::open().unwrap();
    let line = pty.line().to_owned();
    let login = Login::new(me(), &line).host("client.example");
    let program = Program::command("/bin/sh").arg("-c").arg("tty; echo user=$USER; exit 7");
    let session = acct.spawn(&login, pty, &program).unwrap();
    let pid = session.pid();
    let live = acct.who(false).unwrap();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].pid, pid, "utmp has the program's pid");
    assert_eq!(live[0].session, pid, "and its session: the program leads one of its own");
    let said = output(session.master().unwrap());
    assert!(said.contains(&line), "the program's terminal is the pty: {said:?}");
    assert!(said.contains(&format!("user={}", me())), "{said:?}");
    let exit = session.wait().unwrap();
    assert_eq!((exit.status, exit.termination), (7, 0));
    assert!(acct.who(false).unwrap().is_empty(), "logged out");
    let wtmp = utmps::files::read(dir.path().join("wtmp"), None, Duration::from_secs(1)).unwrap();
    let logout = wtmp.records.iter().rfind(|r| !r.is_user_process()).expect("a logout record");
    assert_eq!(logout.exit.status, 7, "the logout carries the program's exit status: {logout:?}");
    Outcome::Passed
}

fn a_spawned_program_runs_inside_the_pam_session() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    skip_unless!(logging_in(dir.path(), "svc", Some("fake-11"), &[]));
    // utmp comes first in the handle: the PAM session still opens before the
    // program starts, and utmp records the program.
    let (_files, acct) = files();
    let acct = acct.with_logind_at("svc", dir.path()).unwrap();
    let pty = Pty::open().unwrap();
    let login = Login::new(me(), pty.line());
    let program = Program::command("/bin/sh").arg("-c").arg("echo id=$XDG_SESSION_ID term=$TERM");
    let session = acct.spawn(&login, pty, &program.env("TERM", "vt100")).unwrap();
    assert_eq!(session.session().logind_session(), Some("fake-11"));
    assert_eq!(acct.who(false).unwrap()[0].pid, session.pid(), "utmp has the program's pid");
    let said = output(session.master().unwrap());
    assert!(said.contains("id=fake-11 term=vt100"), "PAM's environment and the daemon's: {said:?}");
    session.wait().unwrap();
    assert_eq!(phases(dir.path()), ["open_session", "close_session"]);
    assert!(leaders().is_empty(), "{:?}", leaders());
    Outcome::Passed
}

fn a_dropped_pty_session_hangs_up_its_program() -> Outcome {
    let (_dir, acct) = files();
    let pty = Pty::open().unwrap();
    let login = Login::new(me(), pty.line());
    let session = acct.spawn(&login, pty, &Program::command("/bin/sleep").arg("60")).unwrap();
    let pid = session.pid();
    assert_eq!(utmps::pid_alive(pid), Some(true));
    let start = Instant::now();
    drop(session);
    assert!(acct.who(false).unwrap().is_empty(), "logged out");
    assert!(wait_for(|| utmps::pid_alive(pid) == Some(false), Duration::from_secs(3)), "the program was hung up");
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    assert!(leaders().is_empty(), "{:?}", leaders());
    Outcome::Passed
}

fn a_spawn_with_bad_input_starts_nothing_and_records_nothing() -> Outcome {
    let (_dir, acct) = files();
    let pty = Pty::open().unwrap();
    let e = acct.spawn(&Login::new(me(), "pts/999"), pty, &Program::shell()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "another line than the pty's: {e}");
    let pty = Pty::open().unwrap();
    let login = Login::new(me(), pty.line());
    let e = acct.spawn(&login, pty, &Program::command("sh")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "a relative program: {e}");
    let pty = Pty::open().unwrap();
    let login = Login::new(me(), pty.line());
    let e = acct.spawn(&login, pty, &Program::command("/no/such/program")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(acct.who(false).unwrap().is_empty(), "nothing recorded");
    assert!(wait_for(|| leaders().is_empty(), Duration::from_secs(1)), "{:?}", leaders());
    Outcome::Passed
}
