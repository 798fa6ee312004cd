//! The utmps protocol, point by point (`utmps::notes::protocol`, in
//! `utmps/docs/protocol.md`), checked on the wire.
//!
//! By default every test starts its own in-process peer (`utmps::peer`). With
//! `UTMPS_TEST_UTMPD` and `UTMPS_TEST_WTMPD` naming the sockets of real
//! daemons, the same tests run against those instead, each on lines and ids of
//! its own; tests that need more (the files behind the daemons:
//! `UTMPS_TEST_UTMP_FILE`, `UTMPS_TEST_WTMP_FILE`; utmpd's gid:
//! `UTMPS_TEST_DAEMON_GID`; 30-second waits: `UTMPS_TEST_SLOW=1`) print a
//! SKIPPED line when they cannot run.
//!
//! A test ends every live entry it writes (a guard from `Target::end_on` on
//! its lines, which also ends them when an assertion fails), so that a run
//! against a production utmpd leaves nothing in `who`. On a peer, dropping the
//! `Target` fails the test if a live entry is left: the suite passing on peers
//! shows that every test ends what it writes.

mod support;

use std::time::{Duration, Instant};

use support::fork::{self, as_user};
use support::raw::{self, Got, Raw, EPERM, EPIPE, ESRCH};
use support::{own_user, real_daemons, rec, root_or_skip, unique, Target, NOBODY};
use utmps::layout::{Layout, UTMPS_RECORD_SIZE};
use utmps::{Login, RecordType};

fn other_gid(daemon_gid: u32) -> u32 {
    if daemon_gid == NOBODY {
        NOBODY - 1
    } else {
        NOBODY
    }
}

/// How long a payload may take on this target, when the test can afford it.
fn payload_timeout(t: &Target, test: &str) -> Option<Duration> {
    match &t.peer {
        Some(_) => Some(Duration::from_millis(300)),
        None if std::env::var_os("UTMPS_TEST_SLOW").is_some() => Some(Duration::from_secs(30)),
        None => {
            skipped!("SKIPPED {test} against real daemons: it waits 30 s; set UTMPS_TEST_SLOW=1");
            None
        }
    }
}

#[test]
fn real_daemons_or_skipped() {
    match real_daemons() {
        None => skipped!("SKIPPED against real daemons: UTMPS_TEST_UTMPD/UTMPS_TEST_WTMPD unset"),
        Some((utmpd, wtmpd)) => {
            skipped!("conformance: running against real daemons {} and {}", utmpd.display(), wtmpd.display());
            utmps::Accounting::native(&utmpd, &wtmpd).check().unwrap();
        }
    }
}

// ---- utmpd: status bytes, iteration, cursors ----

#[test]
fn rewind_answers_one_status_byte_each_time() {
    let t = Target::new();
    let mut c = Raw::connect(&t.utmpd);
    c.send(b"rrr");
    assert_eq!([c.status(), c.status(), c.status()], [Some(0); 3]);
    assert!(c.silent_for(Duration::from_millis(50)), "nothing beyond one byte per request");
}

#[test]
fn getent_walks_the_file_in_order_then_esrch_until_rewind() {
    let t = Target::new();
    let ours: Vec<_> = (0..3)
        .map(|_| {
            let (line, id) = unique();
            rec(RecordType::USER_PROCESS, &line, id, "root")
        })
        .collect();
    let _end = t.end_on(ours.iter().map(|r| r.line.as_bytes()));
    for r in &ours {
        assert_eq!(raw::put(&t.utmpd, r), Some(0));
    }
    let mut c = Raw::connect(&t.utmpd);
    let all = c.all();
    let seen: Vec<_> = all.iter().filter(|r| ours.iter().any(|o| o.line == r.line)).copied().collect();
    assert_eq!(seen, ours);
    if t.peer.is_some() {
        assert_eq!(all, ours);
    }
    // At the end every e, i and l answers ESRCH, until a rewind.
    for _ in 0..3 {
        assert_eq!(c.next(), Got::Status(ESRCH));
        assert_eq!(c.find_id(7, &ours[0].id.0), Got::Status(ESRCH));
        assert_eq!(c.find_line(ours[0].line.as_bytes()), Got::Status(ESRCH));
    }
    c.rewind();
    // Line and id: on real daemons another test may have logged its entry out since.
    let first = c.next().record();
    assert_eq!((first.line, first.id), (all[0].line, all[0].id));
}

#[test]
fn each_connection_has_its_own_cursor_from_zero() {
    let t = Target::new();
    let slots: Vec<_> = (0..2).map(|_| unique()).collect();
    let _end = t.end_on(slots.iter().map(|(line, _)| line));
    for (line, id) in &slots {
        assert_eq!(raw::put(&t.utmpd, &rec(RecordType::USER_PROCESS, line, *id, "root")), Some(0));
    }
    let (mut a, mut b) = (Raw::connect(&t.utmpd), Raw::connect(&t.utmpd));
    let a1 = a.next().record();
    let a2 = a.next().record();
    assert_ne!(a1, a2);
    // No rewind on b: a fresh connection starts at offset 0 whatever a did.
    let slot = |r: utmps::Record| (r.line, r.id);
    assert_eq!(slot(b.next().record()), slot(a1));
    assert_eq!(slot(b.next().record()), slot(a2));
}

#[test]
fn records_come_back_byte_for_byte() {
    let t = Target::new();
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    let mut r = rec(RecordType::USER_PROCESS, &line, id, "root");
    r.host.0 = [0xff; 256];
    r.host.0[3] = 0x1b;
    r.tv_sec = -86_400 * 365;
    r.tv_usec = 999_999;
    r.exit = utmps::Exit { termination: -3, status: 300 };
    r.session = -7;
    r.set_addr(Some("2001:db8::42".parse().unwrap()));
    let sent = Layout::Utmps.encode(&r).unwrap();
    assert_eq!(raw::put(&t.utmpd, &r), Some(0));
    let mut c = Raw::connect(&t.utmpd);
    loop {
        match c.next() {
            Got::Record(got, bytes) if got.line == r.line => {
                assert_eq!(bytes, sent);
                assert_eq!(got, r);
                return;
            }
            Got::Record(..) => {}
            other => panic!("record not found: {other:?}"),
        }
    }
}

// ---- utmpd: searches ----

#[test]
fn getid_searches_forward_from_the_cursor() {
    let t = Target::new();
    let (line, id) = unique();
    let (filler_line, filler_id) = unique();
    let _end = t.end_on([&line, &filler_line]);
    let target = rec(RecordType::USER_PROCESS, &line, id, "root");
    assert_eq!(raw::put(&t.utmpd, &target), Some(0));
    assert_eq!(raw::put(&t.utmpd, &rec(RecordType::USER_PROCESS, &filler_line, filler_id, "root")), Some(0));
    let mut c = Raw::connect(&t.utmpd);
    assert_eq!(c.find_id(7, &id).record(), target);
    // The cursor is past it now: the search does not wrap around.
    assert_eq!(c.find_id(7, &id), Got::Status(ESRCH));
    c.rewind();
    assert_eq!(c.find_id(7, &id).record(), target);
    // Walk past it with e: i from there does not find it either.
    c.rewind();
    while c.next().record().line != target.line {}
    assert_eq!(c.find_id(7, &id), Got::Status(ESRCH));
}

#[test]
fn getid_process_types_match_each_other_by_id() {
    let t = Target::new();
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    let login = rec(RecordType::LOGIN_PROCESS, &line, id, "LOGIN");
    assert_eq!(raw::put(&t.utmpd, &login), Some(0));
    // A RUN_LVL record with the same id: never matched by any process type.
    let (line2, _) = unique();
    assert_eq!(raw::put(&t.utmpd, &rec(RecordType::RUN_LVL, &line2, id, "")), Some(0));
    let mut c = Raw::connect(&t.utmpd);
    for wanted in [5u16, 6, 7, 8] {
        c.rewind();
        assert_eq!(c.find_id(wanted, &id).record(), login, "type {wanted}");
        assert_eq!(c.find_id(wanted, &id), Got::Status(ESRCH), "type {wanted}: only one process record has this id");
    }
    for never in [0u16, 1, 9, 10, 0xffff] {
        c.rewind();
        assert_eq!(c.find_id(never, &id), Got::Status(ESRCH), "type {never} never matches");
    }
}

#[test]
fn getid_time_types_match_their_own_type_whatever_the_id() {
    let t = Target::new();
    let mut ours = Vec::new();
    for kind in [RecordType::BOOT_TIME, RecordType::NEW_TIME, RecordType::OLD_TIME] {
        let (line, id) = unique();
        let r = rec(kind, &line, id, "");
        assert_eq!(raw::put(&t.utmpd, &r), Some(0));
        ours.push(r);
    }
    let (_, stranger) = unique();
    let mut c = Raw::connect(&t.utmpd);
    for r in &ours {
        c.rewind();
        let mut found = false;
        loop {
            match c.find_id(r.record_type.0 as u16, &stranger) {
                Got::Record(got, _) => {
                    assert_eq!(got.record_type, r.record_type);
                    found |= got == *r;
                }
                Got::Status(ESRCH) => break,
                other => panic!("{other:?}"),
            }
        }
        assert!(found, "{:?} record found by type alone", r.record_type);
        // A process type with the time record's id does not find it.
        c.rewind();
        assert_eq!(c.find_id(7, &r.id.0), Got::Status(ESRCH));
    }
}

#[test]
fn getline_matches_login_and_user_process_on_an_equal_line() {
    let t = Target::new();
    let (base, _) = unique();
    let line = format!("{base}xyz");
    let _end = t.end_on([&line]);
    let kinds =
        [RecordType::DEAD_PROCESS, RecordType::INIT_PROCESS, RecordType::LOGIN_PROCESS, RecordType::USER_PROCESS];
    let recs: Vec<_> = kinds.iter().map(|&k| rec(k, &line, unique().1, "root")).collect();
    for r in &recs {
        assert_eq!(raw::put(&t.utmpd, r), Some(0));
    }
    let mut c = Raw::connect(&t.utmpd);
    assert_eq!(c.find_line(line.as_bytes()).record(), recs[2]);
    assert_eq!(c.find_line(line.as_bytes()).record(), recs[3]);
    assert_eq!(c.find_line(line.as_bytes()), Got::Status(ESRCH));
    assert_eq!(c.find_line(line.as_bytes()), Got::Status(ESRCH));
    c.rewind();
    // strncmp over 32 bytes: bytes after a NUL do not count, a prefix is not equal.
    let mut with_junk = line.as_bytes().to_vec();
    with_junk.extend(b"\0junk");
    assert_eq!(c.find_line(&with_junk).record(), recs[2]);
    c.rewind();
    assert_eq!(c.find_line(&line.as_bytes()[..line.len() - 1]), Got::Status(ESRCH));
}

// ---- utmpd: where a put goes ----

#[test]
fn logout_with_same_id_and_line_reuses_the_slot() {
    let t = Target::new();
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    assert_eq!(raw::put(&t.utmpd, &rec(RecordType::USER_PROCESS, &line, id, "root")), Some(0));
    let size = t.utmp_file.as_ref().map(|f| std::fs::metadata(f).unwrap().len());
    let dead = rec(RecordType::DEAD_PROCESS, &line, id, "root");
    assert_eq!(raw::put(&t.utmpd, &dead), Some(0));
    assert_eq!(t.on_line(&line), vec![dead]);
    if let (Some(f), Some(size), Some(_)) = (&t.utmp_file, size, &t.peer) {
        assert_eq!(std::fs::metadata(f).unwrap().len(), size, "overwritten in place");
    }
}

#[test]
fn dead_process_on_another_line_appends() {
    let t = Target::new();
    let (line, id) = unique();
    let (other_line, _) = unique();
    let _end = t.end_on([&line, &other_line]);
    let login = rec(RecordType::USER_PROCESS, &line, id, "root");
    assert_eq!(raw::put(&t.utmpd, &login), Some(0));
    let dead = rec(RecordType::DEAD_PROCESS, &other_line, id, "root");
    assert_eq!(raw::put(&t.utmpd, &dead), Some(0));
    assert_eq!(t.on_line(&line), vec![login], "the login's slot is untouched");
    assert_eq!(t.on_line(&other_line), vec![dead]);
}

#[test]
fn put_without_rewind_after_the_slot_appends_a_duplicate() {
    let t = Target::new();
    let (line, id) = unique();
    let (filler_line, filler_id) = unique();
    let _end = t.end_on([&line, &filler_line]);
    let login = rec(RecordType::USER_PROCESS, &line, id, "root");
    assert_eq!(raw::put(&t.utmpd, &login), Some(0));
    assert_eq!(raw::put(&t.utmpd, &rec(RecordType::USER_PROCESS, &filler_line, filler_id, "root")), Some(0));
    let mut c = Raw::connect(&t.utmpd);
    c.all(); // the cursor is at the end, more than one record past the slot
    let dead = rec(RecordType::DEAD_PROCESS, &line, id, "root");
    assert_eq!(c.put_here(&dead), Some(0));
    assert_eq!(t.on_line(&line), vec![login, dead]);
}

#[test]
fn put_right_after_reading_the_slot_steps_back_onto_it() {
    let t = Target::new();
    let (line, id) = unique();
    let (filler_line, filler_id) = unique();
    let _end = t.end_on([&line, &filler_line]);
    assert_eq!(raw::put(&t.utmpd, &rec(RecordType::USER_PROCESS, &line, id, "root")), Some(0));
    assert_eq!(raw::put(&t.utmpd, &rec(RecordType::USER_PROCESS, &filler_line, filler_id, "root")), Some(0));
    let mut c = Raw::connect(&t.utmpd);
    while c.next().record().line.as_bytes() != line.as_bytes() {}
    let dead = rec(RecordType::DEAD_PROCESS, &line, id, "root");
    assert_eq!(c.put_here(&dead), Some(0));
    assert_eq!(t.on_line(&line), vec![dead]);
}

// ---- utmpd: who may write ----

/// In a child with the given ids: a put, then a rewind and a read on the same
/// connection. Exits with the put's status, or 200 when the connection was
/// not usable afterwards.
fn put_as(t: &Target, uid: u32, gid: u32, groups: &[u32], r: &utmps::Record) -> u8 {
    as_user(uid, gid, groups, || {
        let mut c = Raw::connect(&t.utmpd);
        let status = c.put_here(r);
        c.send(b"re");
        let usable = c.status() == Some(0) && matches!(c.answer(), Got::Record(..) | Got::Status(ESRCH));
        match status {
            Some(s) if usable => s,
            _ => 200,
        }
    })
}

#[test]
fn non_root_with_another_egid_gets_eperm_and_keeps_the_connection() {
    if !root_or_skip("non_root_with_another_egid_gets_eperm_and_keeps_the_connection") {
        return;
    }
    let t = Target::new();
    let Some(daemon_gid) = t.daemon_gid_or_skip("non_root_with_another_egid_gets_eperm") else { return };
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    let r = rec(RecordType::USER_PROCESS, &line, id, "nobody");
    assert_eq!(put_as(&t, NOBODY, other_gid(daemon_gid), &[], &r), EPERM);
    assert!(t.on_line(&line).is_empty(), "nothing written");
}

#[test]
fn non_root_with_the_daemons_egid_may_write() {
    if !root_or_skip("non_root_with_the_daemons_egid_may_write") {
        return;
    }
    let t = Target::new();
    let Some(daemon_gid) = t.daemon_gid_or_skip("non_root_with_the_daemons_egid_may_write") else { return };
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    let r = rec(RecordType::USER_PROCESS, &line, id, "nobody");
    assert_eq!(put_as(&t, NOBODY, daemon_gid, &[], &r), 0);
    assert_eq!(t.on_line(&line), vec![r]);
}

#[test]
fn a_supplementary_group_does_not_count() {
    if !root_or_skip("a_supplementary_group_does_not_count") {
        return;
    }
    let t = Target::new();
    let Some(daemon_gid) = t.daemon_gid_or_skip("a_supplementary_group_does_not_count") else { return };
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    let r = rec(RecordType::USER_PROCESS, &line, id, "nobody");
    assert_eq!(put_as(&t, NOBODY, other_gid(daemon_gid), &[daemon_gid], &r), EPERM);
    assert!(t.on_line(&line).is_empty());
}

#[test]
fn root_may_write_with_any_egid() {
    if !root_or_skip("root_may_write_with_any_egid") {
        return;
    }
    let t = Target::new();
    let gid = other_gid(t.daemon_gid.unwrap_or(0));
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    let r = rec(RecordType::USER_PROCESS, &line, id, "root");
    assert_eq!(put_as(&t, 0, gid, &[], &r), 0);
    assert_eq!(t.on_line(&line), vec![r]);
}

#[test]
fn reads_are_open_to_everyone() {
    if !root_or_skip("reads_are_open_to_everyone") {
        return;
    }
    let t = Target::new();
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    assert_eq!(raw::put(&t.utmpd, &rec(RecordType::USER_PROCESS, &line, id, "root")), Some(0));
    let code = as_user(NOBODY, NOBODY, &[], || {
        let all = Raw::connect(&t.utmpd).all();
        u8::from(!all.iter().any(|r| r.line.as_bytes() == line.as_bytes()))
    });
    assert_eq!(code, 0);
}

// ---- utmpd: malformed requests ----

#[test]
fn unknown_command_closes_without_an_answer() {
    let t = Target::new();
    let mut c = Raw::connect(&t.utmpd);
    c.send(b"rx");
    assert_eq!(c.status(), Some(0), "requests before it are answered");
    assert!(c.closes_silently(Duration::from_secs(5)));
}

#[test]
fn eof_in_the_middle_of_a_payload_writes_nothing() {
    let t = Target::new();
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    let r = rec(RecordType::USER_PROCESS, &line, id, "root");
    let bytes = Layout::Utmps.encode(&r).unwrap();
    let mut c = Raw::connect(&t.utmpd);
    c.send(b"E");
    c.send(&bytes[..200]);
    c.shutdown_write();
    assert!(c.closes_silently(Duration::from_secs(5)));
    assert!(t.on_line(&line).is_empty());
    for partial in [&b"i\0\x07ab"[..], &b"lpts"[..]] {
        let mut c = Raw::connect(&t.utmpd);
        c.send(partial);
        c.shutdown_write();
        assert!(c.closes_silently(Duration::from_secs(5)), "{partial:?}");
    }
}

#[test]
fn incomplete_payload_times_out_and_writes_nothing() {
    let t = Target::new();
    let Some(timeout) = payload_timeout(&t, "incomplete_payload_times_out_and_writes_nothing") else { return };
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    let bytes = Layout::Utmps.encode(&rec(RecordType::USER_PROCESS, &line, id, "root")).unwrap();
    let mut c = Raw::connect(&t.utmpd);
    let start = Instant::now();
    c.send(b"E");
    c.send(&bytes[..399]);
    assert!(c.closes_silently(timeout * 3 + Duration::from_secs(2)));
    let took = start.elapsed();
    assert!(took >= timeout - timeout / 10, "closed after {took:?}, before the payload timeout");
    assert!(t.on_line(&line).is_empty());
}

// ---- utmpd: pipelining ----

#[test]
fn pipelined_requests_are_answered_in_order() {
    let t = Target::new();
    let (base, _) = unique();
    let ours: Vec<_> =
        (0..150).map(|n| rec(RecordType::USER_PROCESS, &format!("{base}-{n}"), unique().1, "root")).collect();
    let _end = t.end_on(ours.iter().map(|r| r.line.as_bytes()));
    let mut c = Raw::connect(&t.utmpd);
    let mut burst = b"r".to_vec();
    for r in &ours {
        burst.push(b'E');
        burst.extend(Layout::Utmps.encode(r).unwrap());
    }
    c.send(&burst);
    assert_eq!(c.status(), Some(0));
    for n in 0..ours.len() {
        assert_eq!(c.status(), Some(0), "put {n}");
    }
    let before = Raw::connect(&t.utmpd).all().len();
    let extra = 20;
    let mut burst = b"r".to_vec();
    burst.extend(std::iter::repeat(b'e').take(before + extra));
    burst.push(b'r');
    burst.push(b'i');
    burst.extend(7u16.to_be_bytes());
    burst.extend(ours[100].id.0);
    burst.push(b'l');
    burst.extend(ours[120].line.0);
    c.send(&burst);
    assert_eq!(c.status(), Some(0));
    let mut records = Vec::new();
    let mut esrch = 0;
    for _ in 0..before + extra {
        match c.answer() {
            Got::Record(r, _) if esrch == 0 => records.push(r),
            Got::Record(..) if t.is_real() => {} // another client appended meanwhile
            Got::Status(ESRCH) => esrch += 1,
            other => panic!("{other:?} after {} records", records.len()),
        }
    }
    assert!(esrch >= extra / 2);
    let seen: Vec<_> = records.iter().filter(|r| r.line.as_bytes().starts_with(base.as_bytes())).copied().collect();
    assert_eq!(seen, ours);
    assert_eq!(c.status(), Some(0));
    assert_eq!(c.answer().record(), ours[100]);
    assert_eq!(c.answer().record(), ours[120]);
}

// ---- utmpd: the file ----

#[test]
fn utmp_is_created_with_mode_0644() {
    use std::os::unix::fs::PermissionsExt;
    let t = Target::new();
    let Some(peer) = t.peer_only("utmp_is_created_with_mode_0644") else { return };
    assert!(!peer.utmp_path().exists());
    Raw::connect(&t.utmpd).rewind();
    assert_eq!(std::fs::metadata(peer.utmp_path()).unwrap().permissions().mode() & 0o7777, 0o644);
}

#[test]
fn torn_utmp_is_deleted_on_read_with_epipe() {
    let t = Target::new();
    let Some(peer) = t.peer_only("torn_utmp_is_deleted_on_read_with_epipe") else { return };
    let (line, id) = unique();
    let _end = t.end_on([&line]);
    let r = rec(RecordType::USER_PROCESS, &line, id, "root");
    let mut bytes = Layout::Utmps.encode(&r).unwrap();
    bytes.extend([7u8; 100]);
    std::fs::write(peer.utmp_path(), &bytes).unwrap();
    let mut c = Raw::connect(&t.utmpd);
    assert_eq!(c.next().record(), r);
    assert_eq!(c.next(), Got::Status(EPIPE));
    assert!(c.closes_silently(Duration::from_secs(5)), "the daemon exits after EPIPE");
    assert!(!peer.utmp_path().exists(), "the torn file is deleted");
    let mut c = Raw::connect(&t.utmpd);
    assert_eq!(c.next(), Got::Status(ESRCH), "the next connection starts an empty file");
    assert_eq!(std::fs::metadata(peer.utmp_path()).unwrap().len(), 0);
}

#[test]
fn torn_utmp_is_deleted_by_a_put_that_reaches_the_tail() {
    let t = Target::new();
    let Some(peer) = t.peer_only("torn_utmp_is_deleted_by_a_put") else { return };
    let (line, id) = unique();
    let mut bytes = Layout::Utmps.encode(&rec(RecordType::USER_PROCESS, &line, id, "root")).unwrap();
    bytes.extend([1u8; 10]);
    std::fs::write(peer.utmp_path(), &bytes).unwrap();
    let (line2, id2) = unique();
    let _end = t.end_on([&line, &line2]);
    assert_eq!(raw::put(&t.utmpd, &rec(RecordType::USER_PROCESS, &line2, id2, "root")), Some(EPIPE));
    assert!(!peer.utmp_path().exists());
}

#[test]
fn no_more_connections_are_served_than_the_limit() {
    let t = Target::with(utmps::peer::Peer::builder().max_connections(2));
    let Some(_) = t.peer_only("no_more_connections_are_served_than_the_limit") else { return };
    let mut held: Vec<_> = (0..2).map(|_| Raw::connect(&t.utmpd)).collect();
    for c in &mut held {
        c.rewind();
    }
    let mut third = Raw::connect(&t.utmpd);
    third.send(b"r");
    assert!(third.silent_for(Duration::from_millis(300)), "the third client waits in the backlog");
    drop(held.pop());
    third.stream().set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(third.status(), Some(0), "served once a slot is free");
}

// ---- wtmpd ----

#[test]
fn wtmp_append_grows_the_file_by_exactly_one_record() {
    let t = Target::new();
    let Some(file) = t.wtmp_file_or_skip("wtmp_append_grows_the_file_by_exactly_one_record") else { return };
    for n in 0..3 {
        let (line, id) = unique();
        let r = rec(RecordType::USER_PROCESS, &line, id, &own_user());
        let before = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        assert_eq!(raw::append(&t.wtmpd, &r), Some(0), "append {n}");
        let bytes = std::fs::read(&file).unwrap();
        if t.peer.is_some() {
            assert_eq!(bytes.len() as u64, before + UTMPS_RECORD_SIZE as u64);
        }
        assert!(bytes.len() % UTMPS_RECORD_SIZE == 0);
        let sent = Layout::Utmps.encode(&r).unwrap();
        assert!(bytes.chunks_exact(UTMPS_RECORD_SIZE).any(|c| c == &sent[..]), "stored byte for byte");
    }
    if let Some(peer) = &t.peer {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(peer.wtmp_records().len(), 3);
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777, 0o644);
    }
}

#[test]
fn wtmp_takes_one_record_per_connection() {
    let t = Target::new();
    let Some(file) = t.wtmp_file_or_skip("wtmp_takes_one_record_per_connection") else { return };
    let (l1, i1) = unique();
    let (l2, i2) = unique();
    let me = own_user();
    let (r1, r2) = (rec(RecordType::USER_PROCESS, &l1, i1, &me), rec(RecordType::USER_PROCESS, &l2, i2, &me));
    let mut burst = vec![b'+'];
    burst.extend(Layout::Utmps.encode(&r1).unwrap());
    burst.push(b'+');
    burst.extend(Layout::Utmps.encode(&r2).unwrap());
    let mut c = Raw::connect(&t.wtmpd);
    c.send(&burst);
    // The answer may be lost to a reset, as the daemon exits with unread input.
    assert!(matches!(c.status(), Some(0) | None));
    assert!(c.closes_silently(Duration::from_secs(5)));
    let bytes = std::fs::read(&file).unwrap();
    let count = |r: &utmps::Record| {
        let sent = Layout::Utmps.encode(r).unwrap();
        bytes.chunks_exact(UTMPS_RECORD_SIZE).filter(|c| *c == &sent[..]).count()
    };
    assert_eq!((count(&r1), count(&r2)), (1, 0));
}

#[test]
fn wtmp_user_rule_for_non_root() {
    if !root_or_skip("wtmp_user_rule_for_non_root") {
        return;
    }
    let t = Target::new();
    let (line, id) = unique();
    let mut statuses = Vec::new();
    for user in ["nobody", "root", ""] {
        let r = rec(RecordType::DEAD_PROCESS, &line, id, user);
        statuses.push(as_user(NOBODY, NOBODY, &[], || raw::append(&t.wtmpd, &r).unwrap_or(254)));
    }
    assert_eq!(statuses, vec![0, EPERM, EPERM], "own user, another user, empty user");
    if let Some(peer) = &t.peer {
        let users: Vec<_> = peer.wtmp_records().iter().map(|r| r.user.to_string()).collect();
        assert_eq!(users, vec!["nobody"]);
    }
}

#[test]
fn wtmp_root_may_append_anything() {
    if !root_or_skip("wtmp_root_may_append_anything") {
        return;
    }
    let t = Target::new();
    let (line, id) = unique();
    for user in ["", "no-such-user-here", "nobody"] {
        assert_eq!(raw::append(&t.wtmpd, &rec(RecordType::DEAD_PROCESS, &line, id, user)), Some(0), "{user:?}");
    }
    if let Some(peer) = &t.peer {
        assert_eq!(peer.wtmp_records().len(), 3);
    }
}

#[test]
fn wtmp_closes_on_a_wrong_first_byte_or_a_short_record() {
    let t = Target::new();
    let mut c = Raw::connect(&t.wtmpd);
    // One write: wtmpd exits at the wrong first byte, so a second write could
    // meet the closed socket (EPIPE) before the test looks for the close.
    c.send(&[b"E".as_slice(), &[0u8; UTMPS_RECORD_SIZE]].concat());
    assert!(c.closes_silently(Duration::from_secs(5)));
    let mut c = Raw::connect(&t.wtmpd);
    c.send(b"+");
    c.send(&[0u8; 100]);
    c.shutdown_write();
    assert!(c.closes_silently(Duration::from_secs(5)));
    if let Some(peer) = &t.peer {
        assert!(peer.wtmp_records().is_empty());
        assert!(!peer.wtmp_path().exists());
    }
}

#[test]
fn wtmp_idle_connection_is_closed() {
    let t = Target::new();
    let Some(timeout) = payload_timeout(&t, "wtmp_idle_connection_is_closed") else { return };
    let start = Instant::now();
    let mut c = Raw::connect(&t.wtmpd);
    c.send(b"+");
    c.send(&[0u8; 10]);
    assert!(c.closes_silently(timeout * 3 + Duration::from_secs(2)));
    assert!(start.elapsed() >= timeout - timeout / 10);
    if let Some(peer) = &t.peer {
        assert!(peer.wtmp_records().is_empty());
    }
}

// ---- sessions through the native client ----

#[test]
fn session_open_and_logout_reuse_the_slot_and_log_twice() {
    let t = Target::new();
    let acct = t.acct();
    let (line, _) = unique();
    let _end = t.end_on([&line]);
    let session = acct.open(&Login::new(own_user(), format!("/dev/{line}")).host("client.example")).unwrap();
    let login = *session.record();
    assert!(acct.who(false).unwrap().contains(&login));
    session.logout().unwrap();
    let on_line = t.on_line(&line);
    assert_eq!(on_line.len(), 1, "the logout reused the login's slot");
    assert_eq!(on_line[0].record_type, RecordType::DEAD_PROCESS);
    assert_eq!((on_line[0].id, on_line[0].pid, on_line[0].user), (login.id, login.pid, login.user));
    assert!(!acct.who(false).unwrap().iter().any(|r| r.line == login.line));
    if let Some(peer) = &t.peer {
        let wtmp = peer.wtmp_records();
        assert_eq!(wtmp.len(), 2);
        assert_eq!(wtmp[0], login);
        assert_eq!(wtmp[1].record_type, RecordType::DEAD_PROCESS);
        assert_eq!((wtmp[1].line, wtmp[1].user), (login.line, login.user), "the logout keeps line and user");
    }
}

#[test]
fn repeated_sessions_on_one_line_keep_one_slot() {
    let t = Target::new();
    let acct = t.acct();
    let (line, _) = unique();
    let _end = t.end_on([&line]);
    for _ in 0..5 {
        acct.open(&Login::new(own_user(), line.as_str())).unwrap().logout().unwrap();
    }
    assert_eq!(t.on_line(&line).len(), 1);
}

#[test]
fn lines_sharing_their_last_four_bytes_never_overwrite_each_other() {
    let t = Target::new();
    let acct = t.acct();
    // On real daemons, lines of our own with the same collision.
    let (a, b) = if t.is_real() {
        let (base, _) = unique();
        (format!("{base}/1012"), format!("{base}/11012"))
    } else {
        ("pts/1012".to_string(), "pts/11012".to_string())
    };
    let _end = t.end_on([&a, &b]);
    let me = own_user();
    let sa = acct.open(&Login::new(me.as_str(), a.as_str())).unwrap();
    let sb = acct.open(&Login::new(me.as_str(), b.as_str())).unwrap();
    // utmpd matches a put by id AND line, so the shared default id is kept on both.
    assert_eq!(sa.record().id, sb.record().id);
    let live = |line: &str| acct.who(false).unwrap().iter().filter(|r| r.line.as_bytes() == line.as_bytes()).count();
    assert_eq!((live(&a), live(&b)), (1, 1));
    sb.logout().unwrap();
    assert_eq!((live(&a), live(&b)), (1, 0), "logging out one leaves the other");
    sa.logout().unwrap();
    assert_eq!((live(&a), live(&b)), (0, 0));
    assert_eq!((t.on_line(&a).len(), t.on_line(&b).len()), (1, 1));
}

#[test]
fn native_permission_errors_name_the_rule() {
    if !root_or_skip("native_permission_errors_name_the_rule") {
        return;
    }
    let t = Target::new();
    let Some(daemon_gid) = t.daemon_gid_or_skip("native_permission_errors_name_the_rule") else { return };
    let acct = t.acct();
    let (l1, _) = unique();
    let (l2, _) = unique();
    let (l3, _) = unique();
    let _end = t.end_on([&l1, &l2, &l3]);
    let code =
        as_user(NOBODY, other_gid(daemon_gid), &[], || fork::outcome(acct.open(&Login::new("nobody", l1.as_str()))));
    assert_eq!(code, fork::EPERM_UTMPD_GROUP);
    let code = as_user(NOBODY, daemon_gid, &[], || fork::outcome(acct.open(&Login::new("root", l2.as_str()))));
    assert_eq!(code, fork::EPERM_WTMPD_USER);
    assert!(
        !t.on_line(&l2).iter().any(|r| r.record_type == RecordType::USER_PROCESS),
        "the failed open took its utmp entry back"
    );
    let code = as_user(NOBODY, daemon_gid, &[], || {
        fork::outcome(acct.open(&Login::new("nobody", l3.as_str())).and_then(|s| s.logout()))
    });
    assert_eq!(code, fork::OK, "a non-root daemon in the daemon's group logs its own user in and out");
    if let Some(peer) = &t.peer {
        let users: Vec<_> = peer.wtmp_records().iter().map(|r| (r.record_type, r.user.to_string())).collect();
        assert_eq!(
            users,
            vec![(RecordType::USER_PROCESS, "nobody".into()), (RecordType::DEAD_PROCESS, "nobody".into())]
        );
    }
}

#[test]
fn pipelined_and_one_at_a_time_reads_agree() {
    let t = Target::new();
    let (base, _) = unique();
    let lines: Vec<_> = (0..300).map(|n| format!("{base}-{n}")).collect();
    let _end = t.end_on(&lines);
    let mut c = Raw::connect(&t.utmpd);
    for line in &lines {
        assert_eq!(c.put(&rec(RecordType::USER_PROCESS, line, unique().1, "root")), Some(0));
    }
    let deadline = || Instant::now() + Duration::from_secs(10);
    let pipelined = utmps::__fuzz::read_utmp_windowed(&t.utmpd, utmps::__fuzz::READ_WINDOW, deadline()).unwrap();
    let single = utmps::__fuzz::read_utmp_windowed(&t.utmpd, 1, deadline()).unwrap();
    let odd = utmps::__fuzz::read_utmp_windowed(&t.utmpd, 7, deadline()).unwrap();
    let ours = |v: &[utmps::Record]| v.iter().filter(|r| r.line.as_bytes().starts_with(base.as_bytes())).count();
    assert_eq!((ours(&pipelined), ours(&single), ours(&odd)), (300, 300, 300));
    if t.peer.is_some() {
        assert_eq!(pipelined, single);
        assert_eq!(pipelined, odd);
        assert_eq!(pipelined, t.acct().entries().unwrap());
    }
}

// ---- what a test leaves ----

#[test]
fn the_guard_ends_every_live_entry_on_its_lines_and_the_check_sees_one_left() {
    let t = Target::new();
    let (line, id) = unique();
    let (filler_line, filler_id) = unique();
    {
        let _end = t.end_on([&line, &filler_line]);
        // A dead slot with the same id and line before the live one: a put
        // after a rewind would end the dead slot again, not the live entry.
        assert_eq!(raw::put(&t.utmpd, &rec(RecordType::DEAD_PROCESS, &line, id, "root")), Some(0));
        assert_eq!(raw::put(&t.utmpd, &rec(RecordType::USER_PROCESS, &filler_line, filler_id, "root")), Some(0));
        let mut c = Raw::connect(&t.utmpd);
        c.all();
        assert_eq!(c.put_here(&rec(RecordType::USER_PROCESS, &line, id, "root")), Some(0));
        let kinds: Vec<_> = t.on_line(&line).iter().map(|r| r.record_type).collect();
        assert_eq!(kinds, [RecordType::DEAD_PROCESS, RecordType::USER_PROCESS]);
        if t.peer.is_some() {
            assert_eq!(t.live_left().len(), 2, "the check at the end of a test sees what is left");
        }
    }
    for l in [&line, &filler_line] {
        assert!(t.on_line(l).iter().all(|r| r.record_type == RecordType::DEAD_PROCESS), "{l} ended");
    }
    assert_eq!(t.live_left(), Vec::<String>::new());
}

#[test]
fn check_reports_a_working_pair_of_daemons() {
    let t = Target::new();
    t.acct().check().unwrap();
}
