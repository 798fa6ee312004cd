//! Relative endpoints are resolved when the handle is built: a later `chdir`
//! must not send a logout's DEAD record to another directory. The current
//! directory is process-wide, so this binary holds one test and nothing else
//! runs beside it.
// The files half needs libxutmp's libc flavour.
#![cfg(all(target_os = "linux", target_env = "gnu", feature = "xutmp"))]

mod support;

use std::fs::{self, File};
use std::path::Path;

use support::cwd::{chdir, enter_removed, Dirs};
use support::{glibc_records, USER};
use utmps::{Accounting, ErrorKind, Login, RecordType};

#[test]
fn relative_paths_mean_the_directory_the_handle_was_built_in() {
    let dirs = Dirs::new();
    let Dirs { a, b, gone, start, .. } = &dirs;
    for name in ["utmp", "wtmp", "lastlog"] {
        File::create(a.join(name)).unwrap();
    }

    // Files, both constructors: built in A, the session opened in A, ended in B.
    chdir(a);
    let files = Accounting::files("utmp", "wtmp").unwrap().with_lastlog("lastlog");
    let xutmp = Accounting::xutmp("utmp", "wtmp").unwrap();
    assert_eq!(files.utmp_endpoint(), a.join("utmp"));
    assert_eq!(files.wtmp_endpoint(), a.join("wtmp"));
    assert_eq!(files.lastlog_path(), a.join("lastlog"));
    assert_eq!(xutmp.utmp_endpoint(), a.join("utmp"));
    let s1 = files.open(&Login::new(USER, "pts/50").lastlog(true)).unwrap();
    // A host layout under a relative root: its stores are where the root was
    // when the handle was built.
    fs::create_dir_all(a.join("host/var/run")).unwrap();
    File::create(a.join("host/var/run/utmp")).unwrap();
    let host = Accounting::system_at(Path::new("host")).unwrap();
    chdir(b);
    let stores: Vec<_> = host.stores().into_iter().map(|s| s.path).collect();
    assert_eq!(stores, [a.join("host/var/run/utmp")], "the root was made absolute where it was given");
    s1.logout().unwrap();
    xutmp.open(&Login::new(USER, "pts/51")).unwrap().logout().unwrap();
    let utmp = glibc_records(&a.join("utmp"));
    assert_eq!(utmp.len(), 2, "both sessions' slots are in A/utmp");
    assert!(utmp.iter().all(|r| r.record_type == RecordType::DEAD_PROCESS), "both logouts reached A/utmp");
    assert_eq!(glibc_records(&a.join("wtmp")).len(), 4);
    assert!(utmps::lastlog::read(&a.join("lastlog"), 0).unwrap().is_some(), "A/lastlog has root's login");
    assert_eq!(std::fs::read_dir(b).unwrap().count(), 0, "nothing was created or written in B");

    // The native client: sockets named relative to the peer's directory.
    #[cfg(all(feature = "native", feature = "test-peer"))]
    {
        let peer_dir = dirs.root.path().join("peer");
        std::fs::create_dir(&peer_dir).unwrap();
        let peer = utmps::peer::Peer::start(&peer_dir).unwrap();
        chdir(&peer_dir);
        let rel = |p: &std::path::Path| p.strip_prefix(&peer_dir).unwrap().to_path_buf();
        let native = Accounting::native(rel(peer.utmpd_socket()), rel(peer.wtmpd_socket()));
        assert_eq!(native.utmp_endpoint(), peer.utmpd_socket());
        let s = native.open(&Login::new(USER, "pts/52")).unwrap();
        chdir(b);
        s.logout().unwrap();
        assert_eq!(peer.utmp_records()[0].record_type, RecordType::DEAD_PROCESS);
        assert_eq!(peer.wtmp_records().len(), 2);
    }

    // A current directory that cannot be read: an error at construction, or a
    // handle that refuses everything where the constructor cannot fail.
    enter_removed(gone);
    let e = Accounting::files("utmp", "wtmp").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains("current directory"), "{e}");
    assert!(Accounting::xutmp("utmp", "wtmp").is_err());
    let absolute = Accounting::files(a.join("utmp"), a.join("wtmp")).unwrap();
    let refusing = absolute.clone().with_lastlog("lastlog");
    let e = refusing.open(&Login::new(USER, "pts/53")).unwrap_err();
    assert!(e.to_string().contains("current directory"), "{e}");
    assert!(refusing.check().is_err() && refusing.entries().is_err());
    #[cfg(feature = "native")]
    {
        let e = Accounting::native("utmpd-socket", "/run/utmps/.wtmpd-socket").check().unwrap_err();
        assert!(e.to_string().contains("current directory"), "{e}");
    }
    absolute.open(&Login::new(USER, "pts/54")).unwrap().logout().unwrap();
    assert_eq!(glibc_records(&a.join("utmp")).len(), 3, "absolute paths never needed the current directory");
    chdir(start);
}
