//! Byte layouts of utmp/wtmp records as they are stored in files and sent to the
//! utmps daemons. Both are native-endian memory images of a C `struct utmpx`:
//!
//! | field | glibc (384 bytes) | utmps / musl (400 bytes) |
//! |---|---|---|
//! | ut_type (i16) | 0 | 0 |
//! | ut_pid (i32) | 4 | 4 |
//! | ut_line \[32\] | 8 | 8 |
//! | ut_id \[4\] | 40 | 40 |
//! | ut_user \[32\] | 44 | 44 |
//! | ut_host \[256\] | 76 | 76 |
//! | ut_exit (2 x i16) | 332 | 332 |
//! | ut_session (i32) | 336 | 336 |
//! | ut_tv.tv_sec | 340 (i32) | 344 (i64) |
//! | ut_tv.tv_usec | 344 (i32) | 352 (i64) |
//! | ut_addr_v6 \[4 x u32\] | 348 | 360 |
//! | reserved, zero | 364..384 | 340..344, 376..400 |
//!
//! The offsets are those of x86_64 (and other 64-bit Linux targets); the test
//! `layout_matches_libc` checks the glibc column against `libc::utmpx`.

use crate::error::{Error, Result};
use crate::record::{Exit, Field, Record, RecordType};

/// A record layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layout {
    /// glibc's `struct utmpx`: 384 bytes, 32-bit seconds.
    Glibc,
    /// utmps's (musl's) `struct utmpx`: 400 bytes, 64-bit seconds.
    Utmps,
}

/// Size of a glibc record.
pub const GLIBC_RECORD_SIZE: usize = 384;
/// Size of a utmps record.
pub const UTMPS_RECORD_SIZE: usize = 400;

/// Where each field of a utmps record lies: the record the daemons store and
/// send. A glibc record has the same fields at the same places up to
/// [`SESSION`](fields::SESSION); its time and address come earlier (see the
/// table above). The protocol module re-exports these for the client and the peer.
pub(crate) mod fields {
    use std::ops::Range;

    /// `ut_type`, i16.
    pub(crate) const TYPE: Range<usize> = 0..2;
    /// `ut_pid`, i32.
    pub(crate) const PID: Range<usize> = 4..8;
    /// `ut_line`.
    pub(crate) const LINE: Range<usize> = 8..40;
    /// `ut_id`.
    pub(crate) const ID: Range<usize> = 40..44;
    /// `ut_user`.
    pub(crate) const USER: Range<usize> = 44..76;
    /// `ut_host`.
    pub(crate) const HOST: Range<usize> = 76..332;
    /// `ut_exit.e_termination`, i16.
    pub(crate) const EXIT_TERMINATION: Range<usize> = 332..334;
    /// `ut_exit.e_exit`, i16.
    pub(crate) const EXIT_STATUS: Range<usize> = 334..336;
    /// `ut_session`, i32.
    pub(crate) const SESSION: Range<usize> = 336..340;
    /// `ut_tv.tv_sec`, i64.
    pub(crate) const TV_SEC: Range<usize> = 344..352;
    /// `ut_tv.tv_usec`, i64.
    pub(crate) const TV_USEC: Range<usize> = 352..360;
    /// `ut_addr_v6`, four u32.
    pub(crate) const ADDR_V6: Range<usize> = 360..376;
}

// The last field ends inside the record.
const _: () = assert!(fields::ADDR_V6.end <= UTMPS_RECORD_SIZE);

/// The fields whose place depends on the layout.
struct Offsets {
    size: usize,
    tv_sec: usize,
    tv_usec: usize,
    addr: usize,
    wide_time: bool,
}

const GLIBC: Offsets = Offsets { size: GLIBC_RECORD_SIZE, tv_sec: 340, tv_usec: 344, addr: 348, wide_time: false };
const UTMPS: Offsets = Offsets {
    size: UTMPS_RECORD_SIZE,
    tv_sec: fields::TV_SEC.start,
    tv_usec: fields::TV_USEC.start,
    addr: fields::ADDR_V6.start,
    wide_time: true,
};

impl Layout {
    /// The layout of the system's own utmp files: what the system's `who` reads.
    pub const fn system() -> Layout {
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            Layout::Glibc
        } else {
            Layout::Utmps
        }
    }

    fn offsets(self) -> &'static Offsets {
        match self {
            Layout::Glibc => &GLIBC,
            Layout::Utmps => &UTMPS,
        }
    }

    /// Bytes per record.
    pub const fn record_size(self) -> usize {
        match self {
            Layout::Glibc => GLIBC_RECORD_SIZE,
            Layout::Utmps => UTMPS_RECORD_SIZE,
        }
    }

    /// Decodes one record. `bytes` must be exactly [`record_size`](Self::record_size)
    /// long; any content is accepted, so this never fails on the bytes themselves.
    ///
    /// # Errors
    /// `InvalidInput` when `bytes` is not exactly `record_size()` long.
    pub fn decode(self, bytes: &[u8]) -> Result<Record> {
        let o = self.offsets();
        if bytes.len() != o.size {
            return Err(Error::invalid(
                "record decode",
                format!("{:?} records are {} bytes, got {}", self, o.size, bytes.len()),
            ));
        }
        Ok(self.decode_fields(bytes))
    }

    /// Decodes a utmps record; the array's type already guarantees its length.
    pub(crate) fn decode_utmps(bytes: &[u8; UTMPS_RECORD_SIZE]) -> Record {
        Layout::Utmps.decode_fields(bytes)
    }

    /// The fields of a record whose length the caller has checked.
    fn decode_fields(self, bytes: &[u8]) -> Record {
        let o = self.offsets();
        let (tv_sec, tv_usec) = if o.wide_time {
            (i64_at(bytes, o.tv_sec), i64_at(bytes, o.tv_usec))
        } else {
            (i64::from(i32_at(bytes, o.tv_sec)), i64::from(i32_at(bytes, o.tv_usec)))
        };
        let mut addr_v6 = [0u32; 4];
        for (i, w) in addr_v6.iter_mut().enumerate() {
            *w = u32::from_ne_bytes(array_at(bytes, o.addr + 4 * i));
        }
        Record {
            record_type: RecordType(i16::from_ne_bytes(array_at(bytes, fields::TYPE.start))),
            pid: i32_at(bytes, fields::PID.start),
            line: Field(array_at(bytes, fields::LINE.start)),
            id: Field(array_at(bytes, fields::ID.start)),
            user: Field(array_at(bytes, fields::USER.start)),
            host: Field(array_at(bytes, fields::HOST.start)),
            exit: Exit {
                termination: i16::from_ne_bytes(array_at(bytes, fields::EXIT_TERMINATION.start)),
                status: i16::from_ne_bytes(array_at(bytes, fields::EXIT_STATUS.start)),
            },
            session: i32_at(bytes, fields::SESSION.start),
            tv_sec,
            // Out-of-range microseconds in a file are clamped rather than rejected so
            // that the rest of the record stays readable.
            tv_usec: i32::try_from(tv_usec.clamp(0, 999_999)).unwrap_or(0),
            addr_v6,
        }
    }

    /// Encodes a record into `out`, which must be exactly `record_size()` bytes.
    /// Padding and reserved bytes are zeroed.
    ///
    /// # Errors
    /// `InvalidInput` when the time does not fit the layout (glibc stores 32-bit
    /// signed seconds: 1901-12-13 to 2038-01-19) or `out` has the wrong size.
    pub fn encode_into(self, rec: &Record, out: &mut [u8]) -> Result<()> {
        let o = self.offsets();
        if out.len() != o.size {
            return Err(Error::invalid("record encode", format!("buffer of {} bytes, need {}", out.len(), o.size)));
        }
        if !(0..1_000_000).contains(&rec.tv_usec) {
            return Err(Error::invalid("record encode", format!("microseconds {} out of range", rec.tv_usec)));
        }
        out.fill(0);
        out[fields::TYPE].copy_from_slice(&rec.record_type.0.to_ne_bytes());
        out[fields::PID].copy_from_slice(&rec.pid.to_ne_bytes());
        out[fields::LINE].copy_from_slice(&rec.line.0);
        out[fields::ID].copy_from_slice(&rec.id.0);
        out[fields::USER].copy_from_slice(&rec.user.0);
        out[fields::HOST].copy_from_slice(&rec.host.0);
        out[fields::EXIT_TERMINATION].copy_from_slice(&rec.exit.termination.to_ne_bytes());
        out[fields::EXIT_STATUS].copy_from_slice(&rec.exit.status.to_ne_bytes());
        out[fields::SESSION].copy_from_slice(&rec.session.to_ne_bytes());
        if o.wide_time {
            out[o.tv_sec..o.tv_sec + 8].copy_from_slice(&rec.tv_sec.to_ne_bytes());
            out[o.tv_usec..o.tv_usec + 8].copy_from_slice(&i64::from(rec.tv_usec).to_ne_bytes());
        } else {
            let sec =
                i32::try_from(rec.tv_sec).map_err(|_| Error::invalid("record encode", beyond_32_bits(rec.tv_sec)))?;
            out[o.tv_sec..o.tv_sec + 4].copy_from_slice(&sec.to_ne_bytes());
            out[o.tv_usec..o.tv_usec + 4].copy_from_slice(&rec.tv_usec.to_ne_bytes());
        }
        for (i, w) in rec.addr_v6.iter().enumerate() {
            out[o.addr + 4 * i..o.addr + 4 * i + 4].copy_from_slice(&w.to_ne_bytes());
        }
        Ok(())
    }

    /// Encodes a record into a new vector.
    ///
    /// # Errors
    /// As [`encode_into`](Self::encode_into).
    pub fn encode(self, rec: &Record) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.record_size()];
        self.encode_into(rec, &mut out)?;
        Ok(out)
    }

    /// Whether `bytes`, one record of this layout, can be a record that a writer
    /// of utmp, wtmp or btmp leaves: a type of 0..=9 (EMPTY to ACCOUNTING) and
    /// microseconds of 0..=999_999. Text and other layouts fail this at once.
    /// All-zero bytes pass, but they prove nothing: see [`is_entry`](Self::is_entry).
    /// `false` when `bytes` is not exactly [`record_size`](Self::record_size) long.
    pub fn is_plausible(self, bytes: &[u8]) -> bool {
        let o = self.offsets();
        if bytes.len() != o.size {
            return false;
        }
        let usec = if o.wide_time { i64_at(bytes, o.tv_usec) } else { i64::from(i32_at(bytes, o.tv_usec)) };
        (0..=9).contains(&i16::from_ne_bytes(array_at(bytes, fields::TYPE.start))) && (0..1_000_000).contains(&usec)
    }

    /// Whether `bytes` is an entry: [plausible](Self::is_plausible), of a type
    /// other than EMPTY, with non-zero seconds. Writers append nothing else, so
    /// the last record of a wtmp or btmp file is one; zero bytes (the holes of
    /// a sparse lastlog file, a zero-filled file) are plausible but no entry.
    pub fn is_entry(self, bytes: &[u8]) -> bool {
        if !self.is_plausible(bytes) {
            return false;
        }
        let o = self.offsets();
        let sec = if o.wide_time { i64_at(bytes, o.tv_sec) } else { i64::from(i32_at(bytes, o.tv_sec)) };
        i16::from_ne_bytes(array_at(bytes, fields::TYPE.start)) != 0 && sec != 0
    }

    /// Guesses the layout of a file's contents: the one whose first records decode
    /// to plausible types and times. `None` when neither (or both, equally) fit.
    pub fn detect(bytes: &[u8]) -> Option<Layout> {
        let score = |layout: Layout| -> usize {
            let size = layout.record_size();
            let mut good = 0;
            for chunk in bytes.chunks_exact(size).take(16) {
                match layout.decode(chunk) {
                    Ok(r) if r.record_type.name().is_some() && (0..1 << 33).contains(&r.tv_sec) => good += 1,
                    _ => return 0,
                }
            }
            if bytes.len() % size == 0 {
                good += 1;
            }
            good
        };
        let (g, u) = (score(Layout::Glibc), score(Layout::Utmps));
        match g.cmp(&u) {
            std::cmp::Ordering::Greater => Some(Layout::Glibc),
            std::cmp::Ordering::Less => Some(Layout::Utmps),
            std::cmp::Ordering::Equal => None,
        }
    }
}

fn array_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

fn i32_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes(array_at(bytes, at))
}

fn i64_at(bytes: &[u8], at: usize) -> i64 {
    i64::from_ne_bytes(array_at(bytes, at))
}

/// Why a time of `tv_sec` seconds cannot be stored in the glibc layout.
pub(crate) fn beyond_32_bits(tv_sec: i64) -> String {
    format!("time {tv_sec} s does not fit the glibc layout's 32-bit seconds (1901-12-13 to 2038-01-19)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut r = Record {
            record_type: RecordType::USER_PROCESS,
            pid: 4242,
            line: Field::truncated(b"pts/12"),
            id: Field::truncated(b"s/12"),
            user: Field::truncated(b"alice"),
            host: Field::truncated(b"example.org"),
            exit: Exit { termination: 1, status: 2 },
            session: 77,
            tv_sec: 1_700_000_000,
            tv_usec: 123_456,
            addr_v6: [0; 4],
        };
        r.set_addr(Some("2001:db8::7".parse().unwrap()));
        r
    }

    #[test]
    fn both_layouts_round_trip() {
        for layout in [Layout::Glibc, Layout::Utmps] {
            let bytes = layout.encode(&sample()).unwrap();
            assert_eq!(bytes.len(), layout.record_size());
            assert_eq!(layout.decode(&bytes).unwrap(), sample());
        }
    }

    #[test]
    fn utmps_offsets_are_the_documented_ones() {
        let b = Layout::Utmps.encode(&sample()).unwrap();
        assert_eq!(i64_at(&b, 344), 1_700_000_000);
        assert_eq!(i64_at(&b, 352), 123_456);
        assert_eq!(i32_at(&b, 336), 77);
        assert!(b[340..344].iter().chain(&b[376..400]).all(|&x| x == 0), "padding must be zero");
    }

    #[test]
    fn the_utmps_fields_are_in_order_and_apart() {
        use fields::*;
        let all = [TYPE, PID, LINE, ID, USER, HOST, EXIT_TERMINATION, EXIT_STATUS, SESSION, TV_SEC, TV_USEC, ADDR_V6];
        for pair in all.windows(2) {
            assert!(pair[0].end <= pair[1].start, "{:?} overlaps {:?}", pair[0], pair[1]);
        }
        assert_eq!((LINE.len(), ID.len(), USER.len(), HOST.len()), (32, 4, 32, 256));
    }

    #[test]
    fn glibc_rejects_times_past_2038_and_keeps_before_1970() {
        let mut r = sample();
        r.tv_sec = i64::from(i32::MAX) + 1;
        assert!(Layout::Glibc.encode(&r).is_err());
        assert!(Layout::Utmps.encode(&r).is_ok());
        r.tv_sec = 4_294_967_296 + 10; // after 2106
        assert!(Layout::Glibc.encode(&r).is_err());
        assert_eq!(Layout::Utmps.decode(&Layout::Utmps.encode(&r).unwrap()).unwrap().tv_sec, r.tv_sec);
        r.tv_sec = -86_400;
        assert_eq!(Layout::Glibc.decode(&Layout::Glibc.encode(&r).unwrap()).unwrap().tv_sec, -86_400);
    }

    #[test]
    fn wrong_sizes_are_errors_not_panics() {
        assert!(Layout::Glibc.decode(&[0u8; 383]).is_err());
        assert!(Layout::Utmps.encode_into(&sample(), &mut [0u8; 384]).is_err());
    }

    #[test]
    fn detect_tells_the_layouts_apart() {
        for layout in [Layout::Glibc, Layout::Utmps] {
            let mut file = Vec::new();
            for _ in 0..3 {
                file.extend(layout.encode(&sample()).unwrap());
            }
            assert_eq!(Layout::detect(&file), Some(layout));
        }
    }

    #[test]
    fn plausible_records_and_entries() {
        for layout in [Layout::Glibc, Layout::Utmps] {
            let good = layout.encode(&sample()).unwrap();
            assert!(layout.is_plausible(&good) && layout.is_entry(&good), "{layout:?}");
            let zero = vec![0u8; layout.record_size()];
            assert!(layout.is_plausible(&zero) && !layout.is_entry(&zero), "{layout:?}: zeros");
            let empty = layout.encode(&Record { record_type: RecordType::EMPTY, ..sample() }).unwrap();
            assert!(layout.is_plausible(&empty) && !layout.is_entry(&empty), "{layout:?}: EMPTY");
            let timeless = layout.encode(&Record { tv_sec: 0, ..sample() }).unwrap();
            assert!(!layout.is_entry(&timeless), "{layout:?}: no time");
            for junk in [vec![b'x'; layout.record_size()], vec![0xff; layout.record_size()]] {
                assert!(!layout.is_plausible(&junk) && !layout.is_entry(&junk), "{layout:?}: {:?}", junk[0]);
            }
            let mut ten = good.clone();
            ten[..2].copy_from_slice(&10i16.to_ne_bytes());
            assert!(!layout.is_plausible(&ten), "{layout:?}: type 10");
            let mut slow = good.clone();
            let at = layout.offsets().tv_usec;
            slow[at..at + 4].copy_from_slice(&1_000_000i32.to_ne_bytes());
            assert!(!layout.is_plausible(&slow), "{layout:?}: a whole second of microseconds");
            assert!(!layout.is_plausible(&good[1..]), "{layout:?}: short");
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    #[test]
    fn layout_matches_libc() {
        use std::mem::{offset_of, size_of};
        assert_eq!(size_of::<libc::utmpx>(), GLIBC_RECORD_SIZE);
        assert_eq!(offset_of!(libc::utmpx, ut_pid), 4);
        assert_eq!(offset_of!(libc::utmpx, ut_line), 8);
        assert_eq!(offset_of!(libc::utmpx, ut_id), 40);
        assert_eq!(offset_of!(libc::utmpx, ut_user), 44);
        assert_eq!(offset_of!(libc::utmpx, ut_host), 76);
        assert_eq!(offset_of!(libc::utmpx, ut_exit), 332);
        assert_eq!(offset_of!(libc::utmpx, ut_session), 336);
        // The shared fields are where the utmps ranges say, in glibc's record too.
        assert_eq!(offset_of!(libc::utmpx, ut_line), fields::LINE.start);
        assert_eq!(offset_of!(libc::utmpx, ut_id), fields::ID.start);
        assert_eq!(offset_of!(libc::utmpx, ut_user), fields::USER.start);
        assert_eq!(offset_of!(libc::utmpx, ut_host), fields::HOST.start);
        assert_eq!(offset_of!(libc::utmpx, ut_session), fields::SESSION.start);
        assert_eq!(offset_of!(libc::utmpx, ut_tv), GLIBC.tv_sec);
        assert_eq!(offset_of!(libc::utmpx, ut_addr_v6), GLIBC.addr);
    }
}
