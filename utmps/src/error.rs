//! The one error type of this crate.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::record::escaped;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is; each kind has its own remedy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The daemon or file is not there: no socket, connection refused, no file.
    Unavailable,
    /// The endpoint refused the caller; [`Error::permission_rule`] says which rule.
    Permission,
    /// The operation did not finish before its deadline.
    TimedOut,
    /// The caller's input was rejected; nothing was written. Either a bad record,
    /// refused before any I/O, or an endpoint path that holds something other than
    /// the expected file (not a regular file, or not records of the expected
    /// layout: see `lastlog::write` and libxutmp's
    /// `xutmp.h`).
    InvalidInput,
    /// This build or platform cannot do it.
    Unsupported,
    /// The peer broke the utmps protocol (short answer, unexpected end).
    Protocol,
    /// The request was sent but no answer came: it may or may not have been applied.
    /// It is not retried, because a retry could write the record twice.
    OutcomeUnknown,
    /// Every ut_id a login may take on its line is held by a live session on
    /// another line (lines that share their last four bytes): nothing was written.
    IdsExhausted,
    /// Any other I/O error (disk full, bad file descriptor, ...).
    Io,
}

/// The permission rule that refused an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PermissionRule {
    /// utmpd writes only for root or a client whose EFFECTIVE group is the daemon's.
    UtmpdGroup,
    /// wtmpd appends for non-root only when `ut_user` names the caller's own user.
    WtmpdUser,
    /// The file's mode or ownership does not let this process write it.
    File,
    /// The PAM stack of the logind store's service refused the session.
    Pam,
}

/// An error from an accounting operation.
///
/// Its `Display` is one line in this crate's words: the operation, the endpoint
/// when there is one, the [kind](ErrorKind) and what this crate found, such as
/// `wtmp append on /run/utmps/.wtmpd-socket: timed out: no answer within 1s`.
/// Every [unsafe character](crate::is_unsafe_char) of the endpoint and of the
/// input quoted in it is escaped, as a [`Field`](crate::Field)'s Display does;
/// the raw path is [`endpoint()`](Error::endpoint).
/// The OS error behind it, if any, is [`source()`](std::error::Error::source)
/// and is not repeated in the text, so that chain printers (`anyhow`'s `{:#}`,
/// `tracing`'s error fields) show it once. What to do about it is
/// [`remedy()`](Error::remedy), for a caller that wants to tell a person.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    op: &'static str,
    endpoint: Option<PathBuf>,
    detail: String,
    rule: Option<PermissionRule>,
    source: Option<io::Error>,
    remedy: Option<&'static str>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, op: &'static str, detail: impl Into<String>) -> Error {
        Error { kind, op, endpoint: None, detail: detail.into(), rule: None, source: None, remedy: None }
    }

    pub(crate) fn invalid(op: &'static str, detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, op, detail)
    }

    pub(crate) fn timed_out(op: &'static str, endpoint: &Path, after: Duration) -> Error {
        Error::new(ErrorKind::TimedOut, op, format!("no answer within {after:?}")).at(endpoint)
    }

    /// Classifies an OS error. `permission` is the rule that applies if it is EPERM/EACCES.
    pub(crate) fn from_io(op: &'static str, endpoint: &Path, err: io::Error, permission: PermissionRule) -> Error {
        if is_not_accounting_file(err.raw_os_error()) {
            let mut e = Error::invalid(op, not_accounting_file_detail(op)).at(endpoint);
            e.source = Some(err);
            return e;
        }
        if err.raw_os_error() == Some(libc::ELOOP) {
            let mut e = Error::invalid(op, "the path is a loop of symbolic links").at(endpoint);
            e.source = Some(err);
            return e;
        }
        let kind = match err.raw_os_error() {
            Some(libc::ENOENT | libc::ECONNREFUSED | libc::ENOTDIR | libc::ENXIO) => ErrorKind::Unavailable,
            Some(libc::EPERM | libc::EACCES | libc::EROFS) => ErrorKind::Permission,
            Some(libc::ETIMEDOUT | libc::EAGAIN) => ErrorKind::TimedOut,
            Some(libc::EINVAL | libc::EOVERFLOW) => ErrorKind::InvalidInput,
            Some(libc::ENOSYS | libc::EOPNOTSUPP) => ErrorKind::Unsupported,
            _ => match err.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ErrorKind::TimedOut,
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ErrorKind::Unavailable,
                io::ErrorKind::PermissionDenied => ErrorKind::Permission,
                io::ErrorKind::UnexpectedEof => ErrorKind::Protocol,
                // std's own refusals before any system call: a NUL in a path, say.
                io::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
                _ => ErrorKind::Io,
            },
        };
        // The OS error's own text is the source's Display: not repeated in ours.
        let detail = match err.raw_os_error() {
            Some(libc::EROFS) => "the file system is mounted read-only",
            _ => "",
        };
        let mut e = Error::new(kind, op, detail.to_owned()).at(endpoint);
        if kind == ErrorKind::Permission {
            e.rule = Some(permission);
        }
        e.source = Some(err);
        e
    }

    /// Classifies a positive errno value.
    pub(crate) fn from_errno(op: &'static str, endpoint: &Path, errno: i32, permission: PermissionRule) -> Error {
        Error::from_io(op, endpoint, io::Error::from_raw_os_error(errno), permission)
    }

    pub(crate) fn at(mut self, endpoint: &Path) -> Error {
        self.endpoint = Some(endpoint.to_path_buf());
        self
    }

    pub(crate) fn with_rule(mut self, rule: PermissionRule) -> Error {
        self.rule = Some(rule);
        self
    }

    #[cfg(any(feature = "xutmp", feature = "native"))]
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Error {
        self.kind = kind;
        self
    }

    /// For the error of waiting for a file lock: a timeout says who held it
    /// up, where the OS text of ETIMEDOUT alone would point at a network.
    pub(crate) fn waiting_for_lock(self) -> Error {
        match self.kind {
            ErrorKind::TimedOut => self.with_detail("another process held a lock on the file until the deadline"),
            _ => self,
        }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = detail.into();
        self
    }

    /// Sets the cause reported by `source()`; a permission error gets `rule`.
    #[cfg_attr(not(feature = "wtmpdb"), allow(dead_code))]
    pub(crate) fn with_source(mut self, source: io::Error, rule: PermissionRule) -> Error {
        if self.kind == ErrorKind::Permission {
            self.rule = Some(rule);
        }
        self.source = Some(source);
        self
    }

    /// Replaces the kind's generic remedy, for stores the generic text does not fit.
    #[cfg_attr(not(feature = "wtmpdb"), allow(dead_code))]
    pub(crate) fn with_remedy(mut self, remedy: &'static str) -> Error {
        self.remedy = Some(remedy);
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The operation that failed, such as `"utmp put"` or `"wtmp append"`.
    pub fn operation(&self) -> &'static str {
        self.op
    }

    /// The file or socket the operation talked to, when there was one.
    pub fn endpoint(&self) -> Option<&Path> {
        self.endpoint.as_deref()
    }

    /// For [`ErrorKind::Permission`], the rule that refused.
    pub fn permission_rule(&self) -> Option<PermissionRule> {
        self.rule
    }

    /// The OS error number behind this error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.as_ref().and_then(io::Error::raw_os_error)
    }

    /// What to do about this error, for the person who runs the program (start
    /// the daemon, fix a group, raise the deadline); `None` when the message
    /// says it all. `Display` leaves it out: show it beside the message.
    ///
    /// ```
    /// use std::error::Error as _;
    /// let e = utmps::files::read("/nonexistent/wtmp", None, std::time::Duration::from_secs(1)).unwrap_err();
    /// assert_eq!(e.to_string(), "file read on /nonexistent/wtmp: unavailable");
    /// assert!(e.source().is_some(), "the OS error: no such file or directory");
    /// assert!(e.remedy().unwrap().contains("does the file exist"));
    /// ```
    pub fn remedy(&self) -> Option<&'static str> {
        if let Some(remedy) = self.remedy {
            return Some(remedy);
        }
        Some(match (self.kind, self.rule) {
            (ErrorKind::Unavailable, _) => {
                "does the file exist, or, for a utmps socket, is the daemon running (s6-ipcserver on it)? \
                 Containers often have neither"
            }
            (ErrorKind::Permission, Some(PermissionRule::UtmpdGroup)) => {
                "utmpd writes only for root or a process whose EFFECTIVE group is the daemon's \
                 (usually `utmp`); supplementary groups do not count"
            }
            (ErrorKind::Permission, Some(PermissionRule::WtmpdUser)) => {
                "wtmpd appends for non-root only records whose user is the caller's own user name"
            }
            (ErrorKind::Permission, Some(PermissionRule::Pam)) => {
                "the PAM service's session stack refused: see the system log (journalctl) for the module that did, \
                 or give the daemon its own /etc/pam.d file"
            }
            (ErrorKind::Permission, _) => "run as root, or setgid to the group that owns the file (usually `utmp`)",
            (ErrorKind::TimedOut, _) => {
                "the daemon did not answer in time, or another process holds a lock on the file; \
                 raise the deadline or find the holder"
            }
            (ErrorKind::InvalidInput, _) => "nothing was changed; correct the input",
            (ErrorKind::Unsupported, _) => "this backend or build cannot do that",
            (ErrorKind::Protocol, _) => "the peer does not speak the utmps protocol as expected",
            (ErrorKind::OutcomeUnknown, _) => {
                "the request may have been applied; it was not retried to avoid a duplicate record"
            }
            (ErrorKind::IdsExhausted, _) => {
                "end the stale sessions on lines like this one (Accounting::sweep), or log some out"
            }
            (ErrorKind::Io, _) => "check the disk and the file",
        })
    }
}

/// The errno with which libxutmp (libc flavour) and `lastlog::write`
/// refuse a path that holds something other than the expected file. A directory
/// at the path (EISDIR from the open) is the same mistake.
#[cfg(target_os = "linux")]
pub(crate) const NOT_ACCOUNTING_FILE: i32 = libc::EMEDIUMTYPE;

fn is_not_accounting_file(errno: Option<i32>) -> bool {
    #[cfg(target_os = "linux")]
    if errno == Some(NOT_ACCOUNTING_FILE) {
        return true;
    }
    errno == Some(libc::EISDIR)
}

fn not_accounting_file_detail(op: &str) -> String {
    let what = ["utmp", "wtmp", "lastlog"].into_iter().find(|w| op.starts_with(w)).unwrap_or("login accounting");
    format!(
        "the path holds no {what} file of this system's layout (not a regular file, \
         or its content is not such records); nothing was written"
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        // The path and the detail may carry the caller's or a file's text:
        // escaped as a field's Display is, so that the message stays one line
        // a terminal shows as it is.
        if let Some(endpoint) = &self.endpoint {
            write!(f, " on {}", escaped(&endpoint.to_string_lossy()))?;
        }
        let kind = match self.kind {
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Permission => "permission denied",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::OutcomeUnknown => "outcome unknown",
            ErrorKind::IdsExhausted => "no free ut_id",
            ErrorKind::Io => "I/O error",
        };
        write!(f, ": {kind}")?;
        if !self.detail.is_empty() {
            write!(f, ": {}", escaped(&self.detail))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e.kind {
            ErrorKind::Unavailable => io::ErrorKind::NotFound,
            ErrorKind::Permission => io::ErrorKind::PermissionDenied,
            ErrorKind::TimedOut => io::ErrorKind::TimedOut,
            ErrorKind::InvalidInput => io::ErrorKind::InvalidInput,
            ErrorKind::Unsupported => io::ErrorKind::Unsupported,
            ErrorKind::Protocol => io::ErrorKind::InvalidData,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_names_everything() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        let e = Error::from_errno(
            "utmp put",
            Path::new("/run/utmps/.utmpd-socket"),
            libc::EPERM,
            PermissionRule::UtmpdGroup,
        );
        assert_eq!(e.kind(), ErrorKind::Permission);
        assert_eq!(e.permission_rule(), Some(PermissionRule::UtmpdGroup));
        let text = e.to_string();
        assert_eq!(text, "utmp put on /run/utmps/.utmpd-socket: permission denied", "{text}");
        assert!(e.remedy().is_some_and(|r| r.contains("EFFECTIVE group")), "{:?}", e.remedy());
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        let io: io::Error = e.into();
        assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn errno_classes() {
        let p = Path::new("/x");
        let k = |n| Error::from_errno("op", p, n, PermissionRule::File).kind();
        assert_eq!(k(libc::ENOENT), ErrorKind::Unavailable);
        assert_eq!(k(libc::ECONNREFUSED), ErrorKind::Unavailable);
        assert_eq!(k(libc::ETIMEDOUT), ErrorKind::TimedOut);
        assert_eq!(k(libc::EOVERFLOW), ErrorKind::InvalidInput);
        assert_eq!(k(libc::ENOSPC), ErrorKind::Io);
        assert_eq!(k(libc::EISDIR), ErrorKind::InvalidInput);
    }

    /// A path std refuses before any system call (a NUL in it) is bad input,
    /// not a disk fault, wherever it is opened.
    #[test]
    fn a_nul_in_a_path_is_invalid_input() {
        let bad = Path::new("/tmp/a\0b");
        let open = std::fs::File::open(bad).unwrap_err();
        let e = Error::from_io("lastlog read", bad, open, PermissionRule::File);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = crate::lastlog::read(bad, 0).map(drop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.remedy().is_some_and(|r| r.contains("correct the input")), "{:?}", e.remedy());
        #[cfg(feature = "wtmpdb")]
        {
            let soon = std::time::Instant::now() + std::time::Duration::from_secs(5);
            let e = crate::sqlite::wtmpdb::Wtmpdb::new(bad).history(soon).map(drop).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            let e = crate::sqlite::lastlog2::Lastlog2::new(bad).get("root", soon).map(drop).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        }
        let e = crate::stream::open(bad, None, std::time::Duration::from_secs(5)).map(drop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn not_an_accounting_file_says_so() {
        let e = Error::from_errno("wtmp append", Path::new("/x"), NOT_ACCOUNTING_FILE, PermissionRule::File);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.raw_os_error(), Some(libc::EMEDIUMTYPE));
        let text = e.to_string();
        assert!(text.contains("holds no wtmp file"), "{text}");
        assert!(text.contains("nothing was written"), "{text}");
    }

    /// Every message of a chain, outermost first, as `anyhow`'s `{:#}` joins them.
    fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        let mut parts = vec![e.to_string()];
        let mut next = e.source();
        while let Some(cause) = next {
            parts.push(cause.to_string());
            next = cause.source();
        }
        parts.join(": ")
    }

    #[test]
    fn display_says_what_source_says_why_and_remedy_what_to_do() {
        let endpoint = Path::new("/var/log/wtmp");
        let os = io::Error::from_raw_os_error(libc::ENOSPC).to_string();
        let detailed = Error::from_errno("utmp put", endpoint, libc::ETIMEDOUT, PermissionRule::File)
            .with_detail("no answer or lock within 1s");
        let errors = [
            Error::from_errno("wtmp append", endpoint, libc::ENOSPC, PermissionRule::File),
            Error::from_errno("utmp put", endpoint, libc::EPERM, PermissionRule::UtmpdGroup),
            Error::from_errno("wtmp append", endpoint, libc::EACCES, PermissionRule::WtmpdUser),
            Error::from_errno("file read", endpoint, libc::ENOENT, PermissionRule::File),
            detailed,
            Error::timed_out("wtmp append", endpoint, Duration::from_secs(1)),
            Error::invalid("login", "the user name is empty"),
            Error::new(ErrorKind::Unsupported, "accounting", "built without a backend"),
            Error::new(ErrorKind::OutcomeUnknown, "wtmp append", "no status came back").at(endpoint),
        ];
        for e in &errors {
            let text = e.to_string();
            let remedy = e.remedy().unwrap_or_else(|| panic!("{text}: every kind has a remedy"));
            assert!(!text.contains(remedy), "the remedy stays out of Display: {text}");
            assert!(!text.contains('(') && !text.contains('\n'), "one plain line: {text}");
            assert!(text.starts_with(e.operation()), "{text}");
            if let Some(source) = std::error::Error::source(e) {
                let cause = source.to_string();
                assert!(!text.contains(&cause), "{text} repeats its source {cause}");
                assert_eq!(chain(e).matches(&cause).count(), 1, "{}", chain(e));
            }
        }
        // The crate's own words stay in Display; the OS error is the source.
        assert_eq!(errors[4].to_string(), "utmp put on /var/log/wtmp: timed out: no answer or lock within 1s");
        assert_eq!(errors[5].to_string(), "wtmp append on /var/log/wtmp: timed out: no answer within 1s");
        assert_eq!(errors[6].to_string(), "login: invalid input: the user name is empty");
        let full = errors[0].to_string();
        assert_eq!(full, "wtmp append on /var/log/wtmp: I/O error");
        assert_eq!(chain(&errors[0]), format!("{full}: {os}"));
        assert!(errors[3].remedy().unwrap().contains("daemon running"));
        assert!(errors[2].remedy().unwrap().contains("own user name"));
        // Wrapped in an io::Error (the From impl), the chain still shows the OS error once.
        let wrapped: io::Error = Error::from_errno("wtmp append", endpoint, libc::ENOSPC, PermissionRule::File).into();
        assert_eq!(chain(&wrapped), format!("{full}: {os}"));
    }

    #[test]
    fn endpoint_and_detail_are_escaped_as_fields_are() {
        let raw = Path::new("/tmp/missing\n\x1b[31mFAKE\u{202e}\u{200b}");
        let e = Error::from_errno("file read", raw, libc::ENOENT, PermissionRule::File);
        let text = e.to_string();
        assert_eq!(text, "file read on /tmp/missing\\n\\u{1b}[31mFAKE\\u{202e}\\u{200b}: unavailable");
        assert_eq!(e.endpoint(), Some(raw), "the raw path stays reachable");
        let e = Error::invalid("login", "the name x\u{2028}y\x1b[2J is bad");
        assert_eq!(e.to_string(), "login: invalid input: the name x\\u{2028}y\\u{1b}[2J is bad");
    }
}
