//! The wire protocol of skarnet's utmps daemons, in one place: request bytes,
//! status bytes, the record as it travels, the answers and their decoding, and
//! the daemons' matching and permission rules. The native client, the test
//! peer and the tests all speak it from here. Not a stable API.
//!
//! The client speaks first. Every answer begins with one status byte, the
//! daemon's errno as an unsigned char (0 for success); an answer to a search
//! carries a 400-byte record after a status of 0. utmpd serves many requests
//! per connection, answered strictly in order; wtmpd serves one.

mod answer;
mod rules;

use std::io;

pub use answer::{decode_answers, parse_record_answer, Answer, Decoded};
pub use rules::{id_matches, line_matches, slot_matches, strncmp_eq, wtmpd_user};

/// Where each field lies in a [`RawRecord`].
pub(crate) use crate::layout::fields;
pub use crate::layout::UTMPS_RECORD_SIZE as RECORD_SIZE;

/// A record as stored by the daemons and sent on the wire (native endian).
pub type RawRecord = [u8; RECORD_SIZE];

/// utmpd: move the connection's cursor to the start of the file. Answer: status.
pub const REWIND: u8 = b'r';
/// utmpd: the record at the cursor. Answer: status, record.
pub const NEXT: u8 = b'e';
/// utmpd: search forward by type and id ([`find_id`]). Answer: status, record.
pub const FIND_ID: u8 = b'i';
/// utmpd: search forward by line ([`find_line`]). Answer: status, record.
pub const FIND_LINE: u8 = b'l';
/// utmpd: write a record into the slot [`slot_matches`] picks. Payload: the
/// record. Answer: status.
pub const PUT: u8 = b'E';
/// wtmpd: append a record, the one request of a connection. Payload: the
/// record. Answer: status.
pub const APPEND: u8 = b'+';

/// The bytes after [`FIND_ID`]: a u16 record type, big-endian, and 4 id bytes.
pub const FIND_ID_PAYLOAD: usize = 6;
/// The bytes after [`FIND_LINE`]: a whole `ut_line`.
pub const FIND_LINE_PAYLOAD: usize = 32;

/// Status: done.
pub const OK: u8 = 0;
/// Status: the client may not write (utmpd's group rule, wtmpd's user rule).
pub const EPERM: u8 = libc::EPERM as u8;
/// Status: no (further) matching record; the end of the file for [`NEXT`].
pub const ESRCH: u8 = libc::ESRCH as u8;
/// Status: utmpd met a torn utmp file (not a whole number of records) and deleted it.
pub const EPIPE: u8 = libc::EPIPE as u8;

/// The status byte the daemons answer for `err`: its errno as an unsigned
/// char, EIO when it has none.
pub fn status_of(err: &io::Error) -> u8 {
    err.raw_os_error().unwrap_or(libc::EIO) as u8
}

/// A whole [`FIND_ID`] request.
pub fn find_id(record_type: u16, id: &[u8; 4]) -> [u8; 1 + FIND_ID_PAYLOAD] {
    let mut req = [0u8; 1 + FIND_ID_PAYLOAD];
    req[0] = FIND_ID;
    req[1..3].copy_from_slice(&record_type.to_be_bytes());
    req[3..].copy_from_slice(id);
    req
}

/// The type and id a [`FIND_ID`] payload asks for.
pub fn parse_find_id(payload: &[u8; FIND_ID_PAYLOAD]) -> (u16, [u8; 4]) {
    (u16::from_be_bytes([payload[0], payload[1]]), [payload[2], payload[3], payload[4], payload[5]])
}

/// A whole [`FIND_LINE`] request; `line` is zero-padded, or cut to 32 bytes.
pub fn find_line(line: &[u8]) -> [u8; 1 + FIND_LINE_PAYLOAD] {
    let mut req = [0u8; 1 + FIND_LINE_PAYLOAD];
    req[0] = FIND_LINE;
    let n = line.len().min(FIND_LINE_PAYLOAD);
    req[1..1 + n].copy_from_slice(&line[..n]);
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_laid_out_as_utmpd_reads_them() {
        let req = find_id(7, b"s/12");
        assert_eq!(req, [b'i', 0, 7, b's', b'/', b'1', b'2']);
        let payload: [u8; FIND_ID_PAYLOAD] = req[1..].try_into().unwrap();
        assert_eq!(parse_find_id(&payload), (7, *b"s/12"));
        assert_eq!(parse_find_id(&[1, 2, 0, 0, 0, 0]).0, 0x0102, "the type is big-endian");
        let req = find_line(b"pts/3");
        assert_eq!((req[0], &req[1..6], req.len()), (b'l', &b"pts/3"[..], 33));
        assert!(req[6..].iter().all(|&b| b == 0));
        assert_eq!(find_line(&[b'x'; 40])[1..], [b'x'; 32]);
        assert_eq!(FIND_LINE_PAYLOAD, fields::LINE.len());
    }

    #[test]
    fn statuses_are_errno_bytes() {
        assert_eq!(status_of(&io::Error::from_raw_os_error(libc::EPERM)), EPERM);
        assert_eq!(status_of(&io::Error::other("no errno")), libc::EIO as u8);
        assert_eq!((OK, EPERM, ESRCH, EPIPE), (0, 1, 3, 32));
    }
}
