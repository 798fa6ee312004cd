//! The stores of a backend: its utmp half (live) and its wtmp half (history).

use std::path::PathBuf;
use std::sync::Arc;

use super::{LastlogFile, Stores};
use crate::backend::Backend;

mod utmp;
mod wtmp;

pub(crate) use utmp::Utmp;
pub(crate) use wtmp::Wtmp;

impl Stores {
    /// utmp and wtmp through `backend`, lastlog at `lastlog`: what the
    /// constructors of one backend give.
    pub(crate) fn of_backend(backend: Arc<dyn Backend>, lastlog: PathBuf) -> Stores {
        Stores {
            live: vec![Arc::new(Utmp::new(backend.clone()))],
            history: vec![Arc::new(Wtmp::new(backend))],
            last_login: vec![Arc::new(LastlogFile::new(lastlog))],
            ..Stores::default()
        }
    }
}
