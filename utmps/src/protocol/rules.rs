//! The daemons' rules on raw records: which record a search or a put matches
//! (utmpd), and whose record a non-root client may append (wtmpd). Character
//! fields compare as strncmp does: bytes after a NUL do not count.

use super::{fields, RawRecord};
use crate::record::RecordType;

/// `strncmp(a, b, n) == 0`: equal up to the first NUL or the shorter length.
pub fn strncmp_eq(a: &[u8], b: &[u8]) -> bool {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return false;
        }
        if *x == 0 {
            return true;
        }
    }
    true
}

fn type_of(rec: &RawRecord) -> RecordType {
    RecordType(i16::from_ne_bytes([rec[fields::TYPE.start], rec[fields::TYPE.start + 1]]))
}

/// The id rule of `i` (and of `E`): BOOT/NEW/OLD_TIME find their own type;
/// INIT, LOGIN, USER and DEAD_PROCESS find any of those four with the same id;
/// other types nothing.
pub fn id_matches(wanted: u16, id: &[u8], rec: &RawRecord) -> bool {
    let Ok(wanted) = i16::try_from(wanted).map(RecordType) else {
        return false;
    };
    let have = type_of(rec);
    if [RecordType::BOOT_TIME, RecordType::NEW_TIME, RecordType::OLD_TIME].contains(&wanted) {
        return wanted == have;
    }
    wanted.is_process() && have.is_process() && strncmp_eq(id, &rec[fields::ID])
}

/// The line rule of `l`: LOGIN or USER_PROCESS records on an equal line.
pub fn line_matches(line: &[u8], rec: &RawRecord) -> bool {
    [RecordType::LOGIN_PROCESS, RecordType::USER_PROCESS].contains(&type_of(rec))
        && strncmp_eq(line, &rec[fields::LINE])
}

/// The slot rule of `E`: the id rule for the new record's type, and the same line.
pub fn slot_matches(new: &RawRecord, rec: &RawRecord) -> bool {
    // A negative type becomes a u16 that no rule matches, as in utmpd.
    id_matches(type_of(new).0 as u16, &new[fields::ID], rec) && strncmp_eq(&new[fields::LINE], &rec[fields::LINE])
}

/// The user name wtmpd looks up to judge a non-root append: `ut_user` cut to
/// 31 bytes, up to its first NUL.
pub fn wtmpd_user(rec: &RawRecord) -> &[u8] {
    let user = &rec[fields::USER][..fields::USER.len() - 1];
    &user[..user.iter().position(|&b| b == 0).unwrap_or(user.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RECORD_SIZE;

    fn raw(kind: i16, line: &[u8], id: &[u8]) -> RawRecord {
        let mut r = [0u8; RECORD_SIZE];
        r[0..2].copy_from_slice(&kind.to_ne_bytes());
        r[8..8 + line.len()].copy_from_slice(line);
        r[40..40 + id.len()].copy_from_slice(id);
        r
    }

    #[test]
    fn strncmp_stops_at_nul() {
        assert!(strncmp_eq(b"ab\0x", b"ab\0y"));
        assert!(!strncmp_eq(b"ab\0x", b"abcy"));
        assert!(strncmp_eq(b"abcd", b"abcd"));
    }

    #[test]
    fn id_rule_follows_utmpd() {
        let user = raw(7, b"pts/1", b"s/1");
        assert!(id_matches(8, b"s/1\0", &user));
        assert!(id_matches(5, b"s/1\0", &user));
        assert!(!id_matches(7, b"s/2\0", &user));
        assert!(!id_matches(1, b"s/1\0", &user));
        assert!(!id_matches(9, b"s/1\0", &user));
        let boot = raw(2, b"~", b"xx");
        assert!(id_matches(2, b"zzzz", &boot));
        assert!(!id_matches(3, b"xx\0\0", &boot));
        assert!(!id_matches(7, b"xx\0\0", &boot));
        assert!(line_matches(b"pts/1", &user));
        assert!(!line_matches(b"pts/1", &raw(8, b"pts/1", b"s/1")));
        assert!(slot_matches(&raw(8, b"pts/1", b"s/1"), &user));
        assert!(!slot_matches(&raw(8, b"pts/2", b"s/1"), &user));
    }

    #[test]
    fn wtmpd_looks_up_31_bytes_of_the_user() {
        let mut rec = [0u8; RECORD_SIZE];
        rec[44..76].copy_from_slice(&[b'u'; 32]);
        assert_eq!(wtmpd_user(&rec), &[b'u'; 31][..]);
        rec[44..76].copy_from_slice(b"alice\0bob\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(wtmpd_user(&rec), b"alice");
    }
}
