//! What a session is opened with, and the checks that run before any I/O.

use std::net::IpAddr;
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::record::{is_unsafe_char, Field, Record, RecordType};

/// User names that util-linux `last` reads as system events on the `~` line.
const RESERVED_USERS: [&str; 3] = ["reboot", "shutdown", "runlevel"];

/// The description of a login: who, on which terminal, from where.
///
/// Identity fields are never silently truncated: a user or line that does not fit
/// is an error. An over-long host is cut at the last whole UTF-8 character that
/// fits 256 bytes.
///
/// No field may hold a character of [`is_unsafe_char`](crate::is_unsafe_char)
/// (controls, line separators, bidirectional and other format characters,
/// invisible fillers): `who` prints fields raw, so one would let a name drive
/// the reader's terminal, forge a line or pass for another name. The user and
/// the line hold no whitespace either (Unix user names and terminal names never
/// do, and `who` would show `root fake pts/9` as columns); the host may hold
/// ASCII spaces (mosh writes `mosh [1234]`), no other whitespace. For a host
/// the client chose (reverse DNS, a label it sent), use
/// [`host_lossy`](Self::host_lossy), which replaces what a host may not hold.
///
/// ```
/// use utmps::Login;
/// let login = Login::new("alice", "/dev/pts/3").host("client.example.org").addr("192.0.2.7".parse().unwrap());
/// assert_eq!(login.line_name().unwrap(), "pts/3");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    user: String,
    line: String,
    host: String,
    addr: Option<IpAddr>,
    pid: Option<i32>,
    session: Option<i32>,
    /// Unset: off, but on for a login that starts its program on a pty.
    lastlog: Option<bool>,
    time: Option<SystemTime>,
    service: Option<String>,
}

impl Login {
    /// A login of `user` on `line`, given as `pts/3`, `/dev/pts/3` or a pty's device path.
    pub fn new(user: impl Into<String>, line: impl Into<String>) -> Login {
        Login {
            user: user.into(),
            line: line.into(),
            host: String::new(),
            addr: None,
            pid: None,
            session: None,
            lastlog: None,
            time: None,
            service: None,
        }
    }

    /// The remote host name (cut to 256 bytes on a character boundary). A host
    /// with an [unsafe character](crate::is_unsafe_char) or whitespace other
    /// than the ASCII space makes the open fail with `InvalidInput`; see
    /// [`host_lossy`](Self::host_lossy) for names the caller does not control.
    pub fn host(mut self, host: impl Into<String>) -> Login {
        self.host = host.into();
        self
    }

    /// The remote host name with every [unsafe character](crate::is_unsafe_char)
    /// and every whitespace character but the ASCII space replaced by `?`: for names that come from the network (reverse DNS, a name
    /// the client sent), where refusing the login would be wrong but storing the
    /// name raw would let the client drive the terminals of those who run `who`.
    ///
    /// ```
    /// use utmps::Login;
    /// let login = Login::new("alice", "pts/3").host_lossy("evil\x1b]0;pwned\x07.example");
    /// assert_eq!(login.host_name(), "evil?]0;pwned?.example");
    /// ```
    pub fn host_lossy(mut self, host: impl AsRef<str>) -> Login {
        self.host = host.as_ref().chars().map(|c| if refused_in_host(c) { '?' } else { c }).collect();
        self
    }

    /// The host as given, before it is checked and cut.
    pub fn host_name(&self) -> &str {
        &self.host
    }

    /// The remote address, IPv4 or IPv6.
    pub fn addr(mut self, addr: IpAddr) -> Login {
        self.addr = Some(addr);
        self
    }

    /// The session's process (default: the calling process). Use the pid of the
    /// session leader, such as the shell started on the pty.
    pub fn pid(mut self, pid: i32) -> Login {
        self.pid = Some(pid);
        self
    }

    /// The session id (default: the session of the process given by [`pid`](Self::pid)).
    pub fn session(mut self, session: i32) -> Login {
        self.session = Some(session);
        self
    }

    /// Also record the login in every last-login store of the handle: the
    /// lastlog file, lastlog2. Off by default for
    /// [`Accounting::open`](crate::Accounting::open); on, as sshd does for a
    /// tty login, for [`Accounting::spawn`](crate::Accounting::spawn) when the
    /// handle has a last-login store.
    pub fn lastlog(mut self, on: bool) -> Login {
        self.lastlog = Some(on);
        self
    }

    /// The login time (default: now). A time in the first second of 1970
    /// is refused when the login is recorded (`InvalidInput`): utmp, wtmp and
    /// btmp readers take a record with zero seconds for no entry.
    pub fn time(mut self, time: SystemTime) -> Login {
        self.time = Some(time);
        self
    }

    /// The service name stored by wtmpdb and lastlog2 (their `Service`
    /// column), such as `sshd`, and the PAM service of the logind store
    /// (default [`DEFAULT_PAM_SERVICE`](crate::DEFAULT_PAM_SERVICE)); utmp and
    /// wtmp have no place for it. Default: none, stored as NULL, as OpenSSH
    /// writes it. 1 to 64 bytes without an [unsafe
    /// character](crate::is_unsafe_char) (for logind, a plain file name), or
    /// the open fails with `InvalidInput` before any I/O.
    pub fn service(mut self, service: impl Into<String>) -> Login {
        self.service = Some(service.into());
        self
    }

    pub(crate) fn service_name(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// Whether the daemon set [`lastlog`](Self::lastlog) either way.
    pub(crate) fn lastlog_chosen(&self) -> bool {
        self.lastlog.is_some()
    }

    pub(crate) fn wants_lastlog(&self) -> bool {
        self.lastlog.unwrap_or(false)
    }

    pub(crate) fn user_name(&self) -> &str {
        &self.user
    }

    /// The line as it is stored: without one leading `/dev/`.
    ///
    /// # Errors
    /// `InvalidInput` when the line is empty, too long, has an
    /// [unsafe character](crate::is_unsafe_char) (NUL included), whitespace or a `..` part,
    /// is a path outside `/dev`, or starts with `~` (the line of reboot, shutdown
    /// and run-level records, which `last` would read as such) or with `|` or
    /// `{` (the lines of clock-change records).
    pub fn line_name(&self) -> Result<&str> {
        check_line(&self.line)
    }

    /// Builds the USER_PROCESS record. Everything is checked here, before any I/O.
    pub(crate) fn to_record(&self) -> Result<Record> {
        check_user(&self.user)?;
        let line = check_line(&self.line)?;
        let host = cut_host(&self.host)?;
        let pid = match self.pid {
            Some(p) if p <= 0 => return Err(Error::invalid("login", format!("pid {p} is not a process id"))),
            Some(p) => p,
            // Process ids are positive ints; the u32 is std's choice.
            None => std::process::id() as i32,
        };
        let session = match self.session {
            Some(s) => s,
            None => crate::sys::process::session_of(pid),
        };
        let mut rec = Record {
            record_type: RecordType::USER_PROCESS,
            pid,
            line: Field::truncated(line.as_bytes()),
            id: default_id(line),
            user: Field::truncated(self.user.as_bytes()),
            host: Field::truncated(host.as_bytes()),
            session,
            ..Record::default()
        };
        rec.set_time(self.time.unwrap_or_else(SystemTime::now));
        if rec.tv_sec == 0 {
            // Readers, utmps's and libxutmp's file checks among them, take a
            // record with zero seconds for no entry (a zero-filled slot): once
            // last in wtmp or btmp it would make the file look like another's.
            return Err(Error::invalid(
                "login",
                "a login time in the first second of 1970 (0 s) cannot be stored: it reads as no entry",
            ));
        }
        rec.set_addr(self.addr);
        Ok(rec)
    }
}

/// At most this many characters of the caller's input are quoted in a message:
/// a 100 KB name must not make a 100 KB error.
const QUOTED: usize = 64;

/// `text` quoted for a message: its first [`QUOTED`] characters, and `…` when
/// there were more.
fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED) {
        None => format!("{text:?}"),
        Some((end, _)) => format!("\"{}…\"", text[..end].escape_debug()),
    }
}

/// What a host may not hold: what no field may, and whitespace but the ASCII space.
fn refused_in_host(c: char) -> bool {
    is_unsafe_char(c) || (c.is_whitespace() && c != ' ')
}

/// The first character of `text` that `refused` refuses, named for an error message.
fn refused_char(text: &str, refused: impl Fn(char) -> bool) -> Option<String> {
    text.chars().find(|&c| refused(c)).map(|c| match c {
        '\0' => "a NUL byte".to_owned(),
        c if is_unsafe_char(c) => {
            format!("the character U+{:04X}, which could drive a terminal or hide or reorder text", u32::from(c))
        }
        c => format!("the whitespace character U+{:04X}, which `who` would show as a column break", u32::from(c)),
    })
}

/// What a user name or a line may not hold: an unsafe character, or whitespace.
fn refused_in_name(c: char) -> bool {
    is_unsafe_char(c) || c.is_whitespace()
}

/// Checks a PAM-style service name: what the caller sets, stored as given.
pub(crate) fn check_service(op: &'static str, service: &str) -> Result<()> {
    if service.is_empty() || service.len() > 64 {
        return Err(Error::invalid(op, "the service name must be 1 to 64 bytes"));
    }
    if service.chars().any(is_unsafe_char) {
        return Err(Error::invalid(op, "the service name contains a control, format or invisible character"));
    }
    Ok(())
}

pub(crate) fn check_user(user: &str) -> Result<()> {
    if user.is_empty() {
        return Err(Error::invalid("login", "the user name is empty"));
    }
    if let Some(what) = refused_char(user, refused_in_name) {
        return Err(Error::invalid("login", format!("the user name contains {what}")));
    }
    if RESERVED_USERS.contains(&user) {
        return Err(Error::invalid(
            "login",
            format!("the user name {user:?} is reserved: `last` reads it as a system event, not a session"),
        ));
    }
    if user.len() > 32 {
        return Err(Error::invalid(
            "login",
            format!("the user name {} is {} bytes; utmp holds 32 and it is never truncated", quoted(user), user.len()),
        ));
    }
    Ok(())
}

pub(crate) fn check_line(line: &str) -> Result<&str> {
    let name = line.strip_prefix("/dev/").unwrap_or(line);
    let bad = |why: &str| Err(Error::invalid("login", format!("the line {} {why}", quoted(line))));
    if name.is_empty() {
        return bad("is empty");
    }
    if let Some(what) = refused_char(name, refused_in_name) {
        return bad(&format!("contains {what}"));
    }
    if name.starts_with('~') {
        return bad("starts with `~`, the line `last` reads as reboot, shutdown or run-level records");
    }
    if name.starts_with(['|', '{']) {
        return bad("starts with `|` or `{`, the lines `last` reads as clock changes (user `date`), not sessions");
    }
    if name.starts_with('/') {
        return bad("is a path outside /dev");
    }
    if name.split('/').any(|part| part == ".." || part == "." || part.is_empty()) {
        return bad("has an empty, `.` or `..` component");
    }
    if name.len() > 32 {
        return bad("is longer than the 32 bytes of ut_line after /dev/");
    }
    Ok(name)
}

/// Checks `host` and cuts it to the 256 bytes of `ut_host` at a character boundary.
pub(crate) fn cut_host(host: &str) -> Result<&str> {
    if let Some(what) = refused_char(host, refused_in_host) {
        return Err(Error::invalid(
            "login",
            format!("the host contains {what}; Login::host_lossy replaces such characters"),
        ));
    }
    let mut end = host.len().min(256);
    while !host.is_char_boundary(end) {
        end -= 1;
    }
    Ok(&host[..end])
}

/// The ut_id sshd and libutempter write: the last four bytes of the line.
pub(crate) fn default_id(line: &str) -> Field<4> {
    let bytes = line.as_bytes();
    Field::truncated(&bytes[bytes.len().saturating_sub(4)..])
}

/// Another id for `line`, used when its default id is taken by a live session on
/// another line (`pts/1012` and `pts/11012` share `1012`). Derived from the line
/// so that every process picks the same sequence.
#[cfg_attr(not(any(feature = "xutmp", feature = "native")), allow(dead_code))]
pub(crate) fn alternate_id(line: &str, attempt: u32) -> Field<4> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=";
    // FNV-1a: small, stable across versions and platforms.
    let mut h: u32 = 0x811c_9dc5;
    for b in line.bytes().chain(attempt.to_le_bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let mut id = [0u8; 4];
    for (i, slot) in id.iter_mut().enumerate() {
        *slot = ALPHABET[((h >> (6 * i)) & 63) as usize];
    }
    Field(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn lines_are_normalised_and_checked() {
        assert_eq!(check_line("/dev/pts/3").unwrap(), "pts/3");
        assert_eq!(check_line("tty1").unwrap(), "tty1");
        for bad in ["", "/dev/", "/etc/passwd", "pts/../x", "pts//3", "a\0b", &"x".repeat(33)] {
            assert_eq!(check_line(bad).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        assert!(check_line(&"x".repeat(32)).is_ok());
    }

    #[test]
    fn users_are_never_truncated() {
        assert!(check_user(&"u".repeat(32)).is_ok());
        assert_eq!(check_user(&"u".repeat(33)).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert!(check_user("").is_err());
        assert!(check_user("a\0").is_err());
    }

    #[test]
    fn hosts_are_cut_on_character_boundaries() {
        let long = "é".repeat(200); // 400 bytes
        let cut = cut_host(&long).unwrap();
        assert_eq!(cut.len(), 256);
        let odd = format!("a{}", "é".repeat(200));
        assert_eq!(cut_host(&odd).unwrap().len(), 255);
        assert!(cut_host("a\0b").is_err());
    }

    /// One of each class of unsafe character.
    const UNSAFE: [char; 14] = [
        '\n',
        '\x1b',
        '\x7f',
        '\u{85}',
        '\u{9b}',
        '\u{2028}',
        '\u{2029}',
        '\u{202e}',
        '\u{2066}',
        '\u{200b}',
        '\u{feff}',
        '\u{ad}',
        '\u{3164}',
        '\u{e0001}',
    ];

    #[test]
    fn unsafe_characters_are_refused_in_every_field() {
        for c in UNSAFE {
            let text = format!("a{c}b");
            assert_eq!(check_user(&text).unwrap_err().kind(), ErrorKind::InvalidInput, "user {c:?}");
            assert_eq!(check_line(&text).unwrap_err().kind(), ErrorKind::InvalidInput, "line {c:?}");
            assert_eq!(cut_host(&text).unwrap_err().kind(), ErrorKind::InvalidInput, "host {c:?}");
            let login = Login::new("alice", "pts/2").host(&text);
            assert_eq!(login.to_record().unwrap_err().kind(), ErrorKind::InvalidInput, "host {c:?}");
        }
        let forged = Login::new("root\nfake   pts/9", "pts/2").to_record().unwrap_err();
        assert_eq!(forged.kind(), ErrorKind::InvalidInput);
        assert!(!forged.to_string().contains('\n'), "the message itself stays one line: {forged}");
        let osc = Login::new("alice", "pts/2").host("\x1b]0;pwned\x07\x1b[2J").to_record().unwrap_err();
        assert_eq!(osc.kind(), ErrorKind::InvalidInput);
        assert!(check_line("pts/\x1b[2J").is_err());
        assert!(cut_host("client.example.org").is_ok() && cut_host("é.example").is_ok());
    }

    #[test]
    fn the_lossy_host_stores_no_unsafe_character() {
        let rec = Login::new("alice", "pts/2").host_lossy("\x1b]0;pwned\x07\x1b[2J").to_record().unwrap();
        assert_eq!(rec.host.as_bytes(), b"?]0;pwned??[2J");
        let all: String = UNSAFE.iter().collect();
        let rec = Login::new("alice", "pts/2").host_lossy(format!("h{all}.example")).to_record().unwrap();
        assert!(rec.host.to_string_lossy().chars().all(|c| !is_unsafe_char(c)), "{:?}", rec.host);
        assert_eq!(rec.host.as_bytes(), format!("h{}.example", "?".repeat(UNSAFE.len())).as_bytes());
        // Everything else, non-ASCII included, is kept.
        assert_eq!(Login::new("a", "b").host_lossy("héllo.example").host_name(), "héllo.example");
    }

    #[test]
    fn special_lines_and_reserved_users_are_refused() {
        for (user, line) in
            [("reboot", "~"), ("alice", "~"), ("alice", "/dev/~"), ("alice", "~x"), ("shutdown", "pts/1")]
        {
            let e = Login::new(user, line).to_record().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{user} on {line}: {e}");
        }
        for user in RESERVED_USERS {
            assert_eq!(check_user(user).unwrap_err().kind(), ErrorKind::InvalidInput, "{user}");
        }
        // util-linux last reads user `date` on `|` or `{` as a clock change and
        // never lists the session.
        for line in ["|", "{", "/dev/|", "{x"] {
            let e = Login::new("date", line).to_record().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "date on {line}: {e}");
            assert!(e.to_string().contains("clock changes"), "{e}");
        }
        assert!(check_line("pts/~1").is_ok(), "only a leading `~` is special");
        assert!(check_line("pts/|1").is_ok() && check_line("pts/{1").is_ok(), "only a leading `|` or `{{` is special");
        assert!(check_user("rebooter").is_ok());
    }

    #[test]
    fn ids_are_the_last_four_bytes() {
        assert_eq!(default_id("pts/3").as_bytes(), b"ts/3");
        assert_eq!(default_id("pts/1012"), default_id("pts/11012"));
        assert_eq!(default_id("tty"), Field::truncated(b"tty"));
        assert_ne!(alternate_id("pts/11012", 0), alternate_id("pts/11012", 1));
        assert_ne!(alternate_id("pts/11012", 0), default_id("pts/11012"));
    }

    #[test]
    fn whitespace_is_refused_in_users_and_lines_and_hosts_keep_ascii_spaces() {
        for c in [' ', '\t', '\u{a0}', '\u{1680}', '\u{2003}', '\u{202f}', '\u{3000}'] {
            let text = format!("root{c}fake");
            assert_eq!(check_user(&text).unwrap_err().kind(), ErrorKind::InvalidInput, "user {c:?}");
            assert_eq!(check_line(&text).unwrap_err().kind(), ErrorKind::InvalidInput, "line {c:?}");
            if c != ' ' {
                assert_eq!(cut_host(&text).unwrap_err().kind(), ErrorKind::InvalidInput, "host {c:?}");
                let lossy = Login::new("a", "b").host_lossy(&text);
                assert_eq!(lossy.host_name(), "root?fake", "host_lossy replaces {c:?}");
            }
        }
        let forged = Login::new("root fake pts/9", "pts/2").to_record().unwrap_err();
        assert_eq!(forged.kind(), ErrorKind::InvalidInput);
        assert!(forged.to_string().contains("whitespace"), "{forged}");
        // mosh and screen write hosts such as `mosh [1234]`.
        assert_eq!(cut_host("mosh [1234]").unwrap(), "mosh [1234]");
        assert_eq!(Login::new("a", "b").host_lossy("mosh [1234]").host_name(), "mosh [1234]");
    }

    #[test]
    fn messages_quote_at_most_a_short_prefix_of_the_input() {
        let huge = "u".repeat(100_000);
        let errors = [
            check_user(&huge).unwrap_err(),
            check_line(&huge).unwrap_err(),
            check_line(&format!("/{huge}")).unwrap_err(),
            check_line(&format!("~{huge}")).unwrap_err(),
            check_user(&format!("{huge}\n")).unwrap_err(),
            cut_host(&format!("{huge}\n")).unwrap_err(),
        ];
        for e in errors {
            let text = e.to_string();
            assert!(text.len() < 300, "{} bytes: {}", text.len(), &text[..300]);
        }
        let text = check_user(&huge).unwrap_err().to_string();
        assert!(text.contains(&format!("\"{}…\"", "u".repeat(64))), "{text}");
        assert!(text.contains("100000 bytes"), "{text}");
        // Short input is quoted whole, without an ellipsis.
        let text = check_line("pts//3").unwrap_err().to_string();
        assert!(text.contains("\"pts//3\"") && !text.contains('…'), "{text}");
        // A cut never splits a character.
        let wide = "é".repeat(100);
        let text = check_line(&wide).unwrap_err().to_string();
        assert!(text.contains(&format!("\"{}…\"", "é".repeat(64))), "{text}");
    }
}
