//! The login record, independent of any C library's `struct utmpx`.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `ut_type` of a record. Unknown values read from a file are kept as they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordType(pub i16);

impl RecordType {
    /// No valid record.
    pub const EMPTY: RecordType = RecordType(0);
    /// Change of run level.
    pub const RUN_LVL: RecordType = RecordType(1);
    /// System boot.
    pub const BOOT_TIME: RecordType = RecordType(2);
    /// Clock change: the time after.
    pub const NEW_TIME: RecordType = RecordType(3);
    /// Clock change: the time before.
    pub const OLD_TIME: RecordType = RecordType(4);
    /// A process spawned by init.
    pub const INIT_PROCESS: RecordType = RecordType(5);
    /// A getty waiting for a login.
    pub const LOGIN_PROCESS: RecordType = RecordType(6);
    /// A live user session.
    pub const USER_PROCESS: RecordType = RecordType(7);
    /// A session that ended.
    pub const DEAD_PROCESS: RecordType = RecordType(8);
    /// Not used.
    pub const ACCOUNTING: RecordType = RecordType(9);

    /// The symbolic name, or `None` for a value outside 0..=9.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 10] = [
            "EMPTY",
            "RUN_LVL",
            "BOOT_TIME",
            "NEW_TIME",
            "OLD_TIME",
            "INIT_PROCESS",
            "LOGIN_PROCESS",
            "USER_PROCESS",
            "DEAD_PROCESS",
            "ACCOUNTING",
        ];
        usize::try_from(self.0).ok().and_then(|i| NAMES.get(i).copied())
    }

    /// True for the types that the utmpx id rule matches by `ut_id`.
    pub fn is_process(self) -> bool {
        matches!(self.0, 5..=8)
    }
}

impl fmt::Debug for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "RecordType({})", self.0),
        }
    }
}

/// A fixed-width character field: `N` raw bytes, NUL-padded, not NUL-terminated
/// when full. Any bytes read from a file are kept, valid UTF-8 or not.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field<const N: usize>(pub [u8; N]);

impl<const N: usize> Field<N> {
    /// An all-zero field.
    pub const EMPTY: Field<N> = Field([0; N]);

    /// The bytes before the first NUL (all `N` when the field is full).
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(N);
        &self.0[..end]
    }

    /// The text, with invalid UTF-8 replaced.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// True when the field holds no text.
    pub fn is_empty(&self) -> bool {
        self.0.first().map_or(true, |&b| b == 0)
    }

    /// A field holding `bytes`, NUL-padded; `None` when they do not fit. Bytes
    /// are taken as they are (a NUL inside ends the text when read back).
    ///
    /// ```
    /// use utmps::Field;
    /// let line = Field::<32>::new(b"pts/7").unwrap();
    /// assert_eq!(line.as_bytes(), b"pts/7");
    /// assert!(Field::<4>::new(b"too long").is_none());
    /// ```
    pub fn new(bytes: &[u8]) -> Option<Field<N>> {
        (bytes.len() <= N).then(|| Field::truncated(bytes))
    }

    /// Copies in as much of `bytes` as fits, NUL-padded: what does not fit is
    /// dropped, so callers check lengths first where truncation would be wrong.
    pub(crate) fn truncated(bytes: &[u8]) -> Field<N> {
        let mut out = [0u8; N];
        let n = bytes.len().min(N);
        out[..n].copy_from_slice(&bytes[..n]);
        Field(out)
    }
}

impl<const N: usize> Default for Field<N> {
    fn default() -> Self {
        Field::EMPTY
    }
}

impl<const N: usize> fmt::Debug for Field<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

/// Displays the text with every [`is_unsafe_char`] escaped (`\n`, `\u{1b}`) and
/// invalid UTF-8 replaced: a field read from a file or a daemon is untrusted,
/// and printed raw it could drive a terminal or forge a line of output. The raw
/// bytes stay available through [`as_bytes`](Field::as_bytes).
///
/// ```
/// use utmps::Field;
/// let host = Field::<16>::new(b"x\x1b[2J\nroot").unwrap();
/// assert_eq!(host.to_string(), "x\\u{1b}[2J\\nroot");
/// ```
impl<const N: usize> fmt::Display for Field<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&escaped(&self.to_string_lossy()))
    }
}

/// `text` with every [`is_unsafe_char`] replaced by its Rust escape
/// (`\n`, `\u{1b}`): the one rule by which every Display of this crate shows
/// untrusted text, fields and error messages alike.
pub(crate) fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// True for a character that never enters a stored field through this crate
/// and that every `Display` of a field or an error escapes: controls, line
/// separators, bidirectional and invisible format characters, blank fillers
/// (the whole set, and why: [reliability item 4b](crate::notes::reliability)).
/// Whitespace is not among them; user names and lines refuse it separately.
///
/// ```
/// assert!(utmps::is_unsafe_char('\x1b'));
/// assert!(utmps::is_unsafe_char('\u{202e}'));
/// assert!(utmps::is_unsafe_char('\u{200b}'));
/// assert!(!utmps::is_unsafe_char('é'));
/// ```
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{061c}' | '\u{2060}'..='\u{206f}')
        || matches!(c, '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{ad}' | '\u{180e}' | '\u{e0000}'..='\u{e007f}')
        || matches!(c, '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}')
}

/// Exit status of a DEAD_PROCESS record (`ut_exit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Exit {
    /// Termination status (`e_termination`).
    pub termination: i16,
    /// Exit status (`e_exit`).
    pub status: i16,
}

/// One utmp/wtmp record, in a layout of its own: the codecs of the `layout`
/// module and the backends convert it to what each endpoint stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Record {
    /// `ut_type`.
    pub record_type: RecordType,
    /// `ut_pid`.
    pub pid: i32,
    /// `ut_line`: the device after `/dev/`.
    pub line: Field<32>,
    /// `ut_id`.
    pub id: Field<4>,
    /// `ut_user`.
    pub user: Field<32>,
    /// `ut_host`.
    pub host: Field<256>,
    /// `ut_exit`.
    pub exit: Exit,
    /// `ut_session`.
    pub session: i32,
    /// `ut_tv.tv_sec`: seconds since the epoch (negative before 1970).
    pub tv_sec: i64,
    /// `ut_tv.tv_usec`.
    pub tv_usec: i32,
    /// `ut_addr_v6`, network byte order; IPv4 in word 0.
    pub addr_v6: [u32; 4],
}

impl Default for RecordType {
    fn default() -> Self {
        RecordType::EMPTY
    }
}

impl Record {
    /// The logout record of this login: same line, id, pid and user;
    /// DEAD_PROCESS, `exit`, now. What a logout, a take-back and a sweep write.
    pub fn dead(&self, exit: Exit) -> Record {
        let mut dead = Record { record_type: RecordType::DEAD_PROCESS, exit, ..*self };
        dead.set_time(SystemTime::now());
        dead
    }

    /// The record's time, or `None` when it cannot be represented.
    pub fn time(&self) -> Option<SystemTime> {
        let usec = Duration::from_micros(u64::try_from(self.tv_usec.clamp(0, 999_999)).unwrap_or(0));
        if self.tv_sec >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(self.tv_sec.unsigned_abs()))?.checked_add(usec)
        } else {
            UNIX_EPOCH.checked_sub(Duration::from_secs(self.tv_sec.unsigned_abs()))?.checked_add(usec)
        }
    }

    /// Sets the time fields from a `SystemTime`.
    pub fn set_time(&mut self, t: SystemTime) {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => {
                self.tv_sec = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                self.tv_usec = i32::try_from(d.subsec_micros()).unwrap_or(0);
            }
            Err(before) => {
                // Before the epoch: floor to whole seconds, keep microseconds positive.
                let d = before.duration();
                let mut sec = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                let mut usec = i32::try_from(d.subsec_micros()).unwrap_or(0);
                if usec > 0 {
                    sec -= 1;
                    usec = 1_000_000 - usec;
                }
                self.tv_sec = sec;
                self.tv_usec = usec;
            }
        }
    }

    /// The remote address, decoded as `last -i` does: all zero is none, only word 0
    /// set is IPv4, anything else IPv6.
    pub fn addr(&self) -> Option<IpAddr> {
        let words = self.addr_v6;
        if words == [0; 4] {
            None
        } else if words[1..] == [0; 3] {
            Some(IpAddr::V4(Ipv4Addr::from(words[0].to_ne_bytes())))
        } else {
            let mut bytes = [0u8; 16];
            for (chunk, w) in bytes.chunks_exact_mut(4).zip(words) {
                chunk.copy_from_slice(&w.to_ne_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
    }

    /// Stores an address in `addr_v6` (network byte order).
    pub fn set_addr(&mut self, addr: Option<IpAddr>) {
        self.addr_v6 = [0; 4];
        match addr {
            None => {}
            Some(IpAddr::V4(v4)) => self.addr_v6[0] = u32::from_ne_bytes(v4.octets()),
            Some(IpAddr::V6(v6)) => {
                for (w, chunk) in self.addr_v6.iter_mut().zip(v6.octets().chunks_exact(4)) {
                    *w = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
            }
        }
    }

    /// True for a USER_PROCESS record: a session that was live when written.
    pub fn is_user_process(&self) -> bool {
        self.record_type == RecordType::USER_PROCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for text in ["192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7", "fe80::1:2:3:4"] {
            let addr: IpAddr = text.parse().unwrap();
            let mut r = Record::default();
            r.set_addr(Some(addr));
            assert_eq!(r.addr(), Some(addr), "{text}");
        }
        let mut r = Record::default();
        r.set_addr(None);
        assert_eq!(r.addr(), None);
    }

    #[test]
    fn ipv4_is_network_order_in_word_zero() {
        let mut r = Record::default();
        r.set_addr(Some("1.2.3.4".parse().unwrap()));
        assert_eq!(r.addr_v6[0].to_ne_bytes(), [1, 2, 3, 4]);
    }

    #[test]
    fn times_before_epoch_round_trip() {
        let t = UNIX_EPOCH - Duration::from_micros(1_500_000);
        let mut r = Record::default();
        r.set_time(t);
        assert_eq!((r.tv_sec, r.tv_usec), (-2, 500_000));
        assert_eq!(r.time(), Some(t));
    }

    #[test]
    fn fields_keep_raw_bytes() {
        let f = Field::<4>([b'a', 0xff, 0x1b, b'z']);
        assert_eq!(f.as_bytes(), &[b'a', 0xff, 0x1b, b'z']);
        assert_eq!(f.to_string(), "a\u{fffd}\\u{1b}z");
    }

    #[test]
    fn display_and_debug_escape_every_unsafe_character() {
        let unsafe_chars = ['\x01', '\x1b', '\n', '\x7f', '\u{85}', '\u{9b}', '\u{2028}', '\u{2029}', '\u{202a}']
            .into_iter()
            .chain(['\u{202e}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}']);
        for c in unsafe_chars {
            assert!(is_unsafe_char(c), "{c:?}");
            let text = format!("x{c}y");
            let f = Field::<16>::new(text.as_bytes()).unwrap();
            for shown in [f.to_string(), format!("{f:?}"), format!("{f:>20}")] {
                assert!(!shown.contains(c), "{c:?} shown raw in {shown:?}");
                assert!(shown.contains('x') && shown.contains('y'), "{shown:?}");
            }
            assert_eq!(f.as_bytes(), text.as_bytes(), "raw bytes stay reachable");
        }
        for c in ['a', ' ', '~', 'é', '\u{fffd}', '\u{a0}', '\u{2010}', '\u{2070}', '가', '\u{e0100}'] {
            assert!(!is_unsafe_char(c), "{c:?}");
        }
        assert_eq!(RecordType(42).name(), None);
        assert_eq!(format!("{:?}", RecordType(7)), "USER_PROCESS");
    }

    #[test]
    fn invisible_and_format_characters_are_unsafe() {
        let classes: [(&str, &[char]); 8] = [
            ("zero-width space and joiners", &['\u{200b}', '\u{200c}', '\u{200d}']),
            ("word joiner and invisible operators", &['\u{2060}', '\u{2061}', '\u{2064}']),
            ("deprecated format characters", &['\u{206a}', '\u{206f}']),
            ("byte order mark", &['\u{feff}']),
            ("interlinear annotation", &['\u{fff9}', '\u{fffa}', '\u{fffb}']),
            ("soft hyphen, Mongolian vowel separator", &['\u{ad}', '\u{180e}']),
            ("Hangul fillers", &['\u{115f}', '\u{1160}', '\u{3164}', '\u{ffa0}']),
            ("tags", &['\u{e0000}', '\u{e0001}', '\u{e0041}', '\u{e007f}']),
        ];
        for (class, chars) in classes {
            for &c in chars {
                assert!(is_unsafe_char(c), "{class}: {c:?}");
                let f = Field::<16>::new(format!("root{c}").as_bytes()).unwrap();
                assert!(!f.to_string().contains(c), "{class}: {c:?} shown raw in {f}");
                assert_eq!(f.to_string(), format!("root\\u{{{:x}}}", u32::from(c)), "{class}");
            }
        }
    }
}
