//! Property tests, on the stable toolchain, over the file reader and wtmp pairing:
//! `files::parse` on arbitrary bytes in either layout or with detection, and
//! `last::pair` on arbitrary record sequences. The fuzz targets in `fuzz/` cover
//! the same functions with coverage guidance where a nightly compiler exists.

use proptest::prelude::*;
use utmps::last::{pair, End};
use utmps::layout::Layout;
use utmps::{Field, Record, RecordType};

fn layout() -> impl Strategy<Value = Option<Layout>> {
    prop_oneof![Just(None), Just(Some(Layout::Glibc)), Just(Some(Layout::Utmps))]
}

fn field<const N: usize>(texts: &'static [&'static str]) -> impl Strategy<Value = Field<N>> {
    prop::sample::select(texts).prop_map(|t| {
        let mut f = [0u8; N];
        f[..t.len()].copy_from_slice(t.as_bytes());
        Field(f)
    })
}

/// Records as wtmp holds them: a few lines and users (some empty) so that logins
/// and logouts meet, every type including unknown ones, times in any order.
fn record() -> impl Strategy<Value = Record> {
    (
        prop_oneof![4 => Just(RecordType::USER_PROCESS), 3 => Just(RecordType::DEAD_PROCESS), 1 => Just(RecordType::BOOT_TIME), 1 => any::<i16>().prop_map(RecordType)],
        field::<32>(&["pts/0", "pts/1", "pts/2", "tty1", "~", ""]),
        field::<32>(&["alice", "bob", "reboot", ""]),
        -2i32..40_000,
        -10_000i64..10_000,
        0i32..1_000_000,
    )
        .prop_map(|(record_type, line, user, pid, t, tv_usec)| Record {
            record_type,
            line,
            user,
            // Far-away pids (dead or not) and none at all (0, negative) both occur.
            pid,
            tv_sec: 1_700_000_000 + t,
            tv_usec,
            ..Record::default()
        })
}

fn is_login(r: &Record) -> bool {
    r.record_type == RecordType::USER_PROCESS && !r.user.is_empty()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_accounts_for_every_byte(bytes in prop::collection::vec(any::<u8>(), 0..4000), layout in layout()) {
        let got = utmps::files::parse(&bytes, layout);
        if let Some(layout) = layout {
            prop_assert_eq!(got.layout, layout);
        }
        let size = got.layout.record_size();
        prop_assert_eq!(got.records.len(), bytes.len() / size, "every whole record is decoded");
        prop_assert_eq!(got.records.len() * size + got.trailing, bytes.len());
    }

    #[test]
    fn parse_reads_back_what_was_encoded_and_reports_a_torn_tail(
        records in prop::collection::vec(record(), 0..20),
        torn in 0usize..384,
        glibc in any::<bool>(),
    ) {
        let layout = if glibc { Layout::Glibc } else { Layout::Utmps };
        let mut bytes: Vec<u8> = records.iter().flat_map(|r| layout.encode(r).unwrap()).collect();
        bytes.extend(std::iter::repeat(0x5a).take(torn));
        let got = utmps::files::parse(&bytes, Some(layout));
        prop_assert_eq!(&got.records, &records);
        prop_assert_eq!(got.trailing, torn);
        // Detection never panics and, when it decides, accounts for every byte too.
        let detected = utmps::files::parse(&bytes, None);
        prop_assert_eq!(detected.records.len() * detected.layout.record_size() + detected.trailing, bytes.len());
    }

    #[test]
    fn pair_lists_every_login_once_newest_first(records in prop::collection::vec(record(), 0..60)) {
        let sessions = pair(&records);
        let logins: Vec<Record> = records.iter().rev().filter(|r| is_login(r)).copied().collect();
        let listed: Vec<Record> = sessions.iter().map(|s| s.login).collect();
        prop_assert_eq!(listed, logins);
    }

    #[test]
    fn pair_ends_sessions_with_later_records_and_durations_are_never_negative(
        records in prop::collection::vec(record(), 0..60),
    ) {
        let sessions = pair(&records);
        // Position of each listed login in the input: pair lists them newest first.
        let mut positions: Vec<usize> = records.iter().enumerate().filter(|(_, r)| is_login(r)).map(|(i, _)| i).collect();
        positions.reverse();
        for (session, &at) in sessions.iter().zip(&positions) {
            let end = match session.end {
                End::LoggedOut { logout, exit } => {
                    prop_assert_eq!(logout.line, session.login.line, "a logout ends a session on its own line");
                    prop_assert_eq!(exit, logout.exit);
                    let later = &records[at + 1..];
                    prop_assert!(later.contains(&logout), "the logout comes after the login");
                    Some(logout)
                }
                End::Crash { boot } => {
                    prop_assert!(records[at + 1..].contains(&boot), "the boot comes after the login");
                    Some(boot)
                }
                _ => None,
            };
            match (end, session.duration()) {
                (Some(end), Some(d)) => {
                    let micros = |r: &Record| i128::from(r.tv_sec) * 1_000_000 + i128::from(r.tv_usec);
                    let span = micros(&end) - micros(&session.login);
                    prop_assert!(span >= 0, "a duration for an end before the login");
                    prop_assert_eq!(d.as_micros() as i128, span);
                }
                (Some(end), None) => prop_assert!(end.time() < session.login.time(), "an end after the login has a duration"),
                (None, d) => prop_assert_eq!(d, None, "an open session has no duration"),
            }
        }
    }
}
