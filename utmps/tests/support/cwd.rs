//! The current directory, for the tests of relative paths. It is process-wide:
//! a binary that changes it holds one test and nothing else.

use std::path::{Path, PathBuf};

/// Makes `dir` the current directory.
pub fn chdir(dir: &Path) {
    std::env::set_current_dir(dir).unwrap();
}

/// Enters `dir` and removes it, so that the current directory cannot be read.
pub fn enter_removed(dir: &Path) {
    chdir(dir);
    std::fs::remove_dir(dir).unwrap();
    assert!(std::env::current_dir().is_err(), "the removed directory cannot be read");
}

/// Empty directories `a`, `b` and `gone` in a temporary root, and the current
/// directory to go back to.
pub struct Dirs {
    pub root: tempfile::TempDir,
    pub a: PathBuf,
    pub b: PathBuf,
    pub gone: PathBuf,
    pub start: PathBuf,
}

impl Dirs {
    pub fn new() -> Dirs {
        let start = std::env::current_dir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let (a, b, gone) = (root.path().join("a"), root.path().join("b"), root.path().join("gone"));
        for d in [&a, &b, &gone] {
            std::fs::create_dir(d).unwrap();
        }
        Dirs { root, a, b, gone, start }
    }
}
