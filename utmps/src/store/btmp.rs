//! The btmp file, the one failed-login store.

use std::path::{Path, PathBuf};

use super::{Store, StoreKind};
use crate::error::Result;
use crate::login::Login;
use crate::sys::deadline::Deadline;

/// The btmp file at a path.
#[derive(Clone, Debug)]
pub(crate) struct Btmp(PathBuf);

impl Btmp {
    pub(crate) fn new(path: PathBuf) -> Btmp {
        Btmp(path)
    }

    /// Appends the failed login, under sshd's rules.
    pub(crate) fn record(&self, login: &Login, deadline: Deadline) -> Result<()> {
        tracing::trace!(path = %self.0.display(), "failed login");
        crate::btmp::record_failed_login(&self.0, login, deadline.instant())
    }
}

impl Store for Btmp {
    fn kind(&self) -> StoreKind {
        StoreKind::Btmp
    }

    fn path(&self) -> &Path {
        &self.0
    }
}
