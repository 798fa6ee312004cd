//! glibc's lastlog file as a last-login store. Everything a write needs is
//! checked before the login writes anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{LastLoginStore, LastLoginWrite, Store, StoreKind};
use crate::error::Result;
use crate::lastlog::PendingLogin;
use crate::login::Login;
use crate::record::Record;
use crate::sys::deadline::Deadline;

/// The lastlog file at a path.
#[derive(Debug)]
pub(crate) struct LastlogFile(Arc<PathBuf>);

impl LastlogFile {
    pub(crate) fn new(path: PathBuf) -> LastlogFile {
        LastlogFile(Arc::new(path))
    }
}

impl Store for LastlogFile {
    fn kind(&self) -> StoreKind {
        StoreKind::LastlogFile
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl LastLoginStore for LastlogFile {
    fn present(&self) -> bool {
        self.0.exists()
    }

    fn prepare(&self, login: &Login, record: &Record, deadline: Deadline) -> Result<Box<dyn LastLoginWrite>> {
        let pending = PendingLogin::prepare(&self.0, login.user_name(), record, deadline)?;
        Ok(Box::new(LastlogWrite { path: self.0.clone(), pending }))
    }
}

#[derive(Debug)]
struct LastlogWrite {
    path: Arc<PathBuf>,
    pending: PendingLogin,
}

impl LastLoginWrite for LastlogWrite {
    fn write(&self, deadline: Deadline) -> Result<()> {
        self.pending.write(&self.path, deadline)
    }
}
