//! Sessions for tokio daemons: the blocking work of an open or a logout runs on
//! the runtime's blocking pool, so a hanging daemon or a held file lock never
//! stalls a worker thread.
//!
//! `spawn_blocking` rather than an async client: every backend blocks somewhere
//! (libxutmp's calls, file locks, user lookups), each operation is short and
//! bounded by its deadline, and one code path for all backends keeps the
//! records identical whichever way a session was opened.

use std::future::Future;

use crate::accounting::Accounting;
use crate::error::{Error, ErrorKind, Result};
use crate::login::Login;
use crate::record::Exit;
use crate::session::Session;

fn join_error(op: &'static str, e: tokio::task::JoinError) -> Error {
    let why = if e.is_panic() { "panicked" } else { "was cancelled by the runtime's shutdown" };
    Error::new(ErrorKind::Io, op, format!("the blocking task {why}"))
}

impl Accounting {
    /// [`open`](Accounting::open) for async code, on tokio's blocking pool: the
    /// future borrows neither `self` nor `login`, so it can be spawned, and
    /// cancelled it leaves no live entry ([reliability item
    /// 20a](crate::notes::reliability)). Poll it inside a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let (utmp, wtmp) = (dir.path().join("utmp"), dir.path().join("wtmp"));
    /// # std::fs::File::create(&utmp)?; std::fs::File::create(&wtmp)?;
    /// use utmps::{Accounting, Login};
    ///
    /// let acct = Accounting::files(&utmp, &wtmp)?;
    /// let session = acct.open_async(&Login::new("alice", "pts/3")).await?;
    /// session.logout_async().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`open`](Accounting::open); `Io` if the blocking task panicked or the
    /// runtime shut down under it.
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn open_async(&self, login: &Login) -> impl Future<Output = Result<Session>> + Send + 'static {
        // Copied now, so that the future borrows nothing and can be spawned.
        let (acct, login) = (self.clone(), login.clone());
        async move { tokio::task::spawn_blocking(move || acct.open(&login)).await.map_err(|e| join_error("login", e))? }
    }
}

impl Session {
    /// [`logout`](Session::logout) for async code, run on tokio's blocking pool.
    ///
    /// Needs feature `tokio`. Dropping the future does not cancel the logout.
    ///
    /// # Errors
    /// As [`logout`](Session::logout).
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn logout_async(self) -> Result<()> {
        self.logout_with_async(Exit::default()).await
    }

    /// [`logout_with`](Session::logout_with) for async code, run on tokio's blocking pool.
    ///
    /// Needs feature `tokio`. Dropping the future does not cancel the logout.
    ///
    /// # Errors
    /// As [`logout_with`](Session::logout_with).
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn logout_with_async(self, exit: Exit) -> Result<()> {
        tokio::task::spawn_blocking(move || self.logout_with(exit)).await.map_err(|e| join_error("logout", e))?
    }
}
