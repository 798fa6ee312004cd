//! Records on lines and ids no other test uses, and the records of one line
//! picked out of a file's.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use utmps::{Field, Record, RecordType};

/// A line and an id that no other test (nor another run on real daemons) uses.
pub fn unique() -> (String, [u8; 4]) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    let seed = std::process::id().wrapping_mul(2_654_435_761) ^ nanos;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=";
    let mut h = seed ^ n.wrapping_mul(0x9e37_79b9);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2c1b_3c6d);
    h ^= h >> 12;
    let id = [0, 6, 12, 18].map(|s| ALPHABET[((h >> s) & 63) as usize]);
    (format!("cf{:08x}/{}", seed, n), id)
}

/// `s` as a NUL-padded field; panics when it does not fit.
pub fn field<const N: usize>(s: impl AsRef<[u8]>) -> Field<N> {
    Field::new(s.as_ref()).expect("the text fits the field")
}

/// A record of `kind` on `line` with `id`, user `user`, now.
pub fn rec(kind: RecordType, line: &str, id: [u8; 4], user: &str) -> Record {
    let mut r = Record {
        record_type: kind,
        pid: std::process::id() as i32,
        line: field(line.as_bytes()),
        id: Field(id),
        user: field(user.as_bytes()),
        host: field(b"conformance.example"),
        ..Record::default()
    };
    r.set_time(SystemTime::now());
    r
}

/// The records on `line`, in their order.
pub fn on_line<'a>(records: &'a [Record], line: &str) -> Vec<&'a Record> {
    records.iter().filter(|r| r.line.as_bytes() == line.as_bytes()).collect()
}

/// The type of each record.
pub fn types(records: &[&Record]) -> Vec<RecordType> {
    records.iter().map(|r| r.record_type).collect()
}
