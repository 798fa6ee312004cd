//! One writer at a time per database in this process, in the order they came.
//!
//! Writers racing through SQLite's busy handler are served in no order: each
//! sleeps and retries, and under load some retry past their deadline while
//! later ones get through (100 threads of one process lost logouts that way).
//! Queued here, a process's writers of one database take turns first come,
//! first served, each waiting no longer than its own deadline; SQLite's busy
//! handler is left to arbitrate between processes only.

use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

/// Which database a queue is for: the file's device and inode where it exists
/// (Debian's `/var/lib/wtmpdb/wtmp.db` symlink and its target are one
/// database), its path before it is created.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Key {
    File(u64, u64),
    Path(PathBuf),
}

#[derive(Debug, Default)]
struct WriterQueue {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// A writer holds its turn.
    writing: bool,
    /// Tickets of the writers waiting, oldest first.
    waiting: VecDeque<u64>,
    next_ticket: u64,
}

/// A writer's turn: while it lives, no other writer of this process writes
/// the database. Dropping it hands the turn to the oldest writer waiting.
#[derive(Debug)]
pub(crate) struct Turn {
    key: Key,
    queue: Arc<WriterQueue>,
}

/// A lock whose holder panicked still guards consistent data here (every
/// update is a single assignment or push): take it anyway.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn queues() -> &'static Mutex<HashMap<Key, Arc<WriterQueue>>> {
    static QUEUES: OnceLock<Mutex<HashMap<Key, Arc<WriterQueue>>>> = OnceLock::new();
    QUEUES.get_or_init(Mutex::default)
}

impl Turn {
    /// Waits for this process's turn to write the database at `path`.
    /// `None` when `deadline` passed first; the writer then leaves the queue.
    pub(crate) fn take(path: &Path, deadline: Instant) -> Option<Turn> {
        let key = match std::fs::metadata(path) {
            Ok(m) => Key::File(m.dev(), m.ino()),
            Err(_) => Key::Path(path.to_path_buf()),
        };
        let queue = Arc::clone(lock(queues()).entry(key.clone()).or_default());
        let mut state = lock(&queue.state);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back(ticket);
        loop {
            if !state.writing && state.waiting.front() == Some(&ticket) {
                state.waiting.pop_front();
                state.writing = true;
                drop(state);
                return Some(Turn { key, queue });
            }
            let now = Instant::now();
            if now >= deadline {
                state.waiting.retain(|&t| t != ticket);
                drop(state);
                // The writer behind may be first now.
                queue.changed.notify_all();
                forget_if_idle(&key, &queue);
                return None;
            }
            state = queue.changed.wait_timeout(state, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        lock(&self.queue.state).writing = false;
        self.queue.changed.notify_all();
        forget_if_idle(&self.key, &self.queue);
    }
}

/// Drops the queue of `key` from the map when no writer holds or waits for
/// it, so that the map does not grow with every database a process touched.
/// `queue` is the caller's one reference.
fn forget_if_idle(key: &Key, queue: &Arc<WriterQueue>) {
    let mut map = lock(queues());
    // Under the map's lock no writer can join the queue: the map's reference
    // and the caller's are the only ones left when it is idle.
    let idle = Arc::strong_count(queue) == 2 && {
        let state = lock(&queue.state);
        !state.writing && state.waiting.is_empty()
    };
    if idle && map.get(key).is_some_and(|q| Arc::ptr_eq(q, queue)) {
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn writers_take_turns_in_the_order_they_came() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        std::fs::write(&path, b"").unwrap();
        let far = Instant::now() + Duration::from_secs(30);
        let first = Turn::take(&path, far).unwrap();
        let (tx, rx) = mpsc::channel();
        let mut writers = Vec::new();
        for n in 0..8 {
            let (path, tx) = (path.clone(), tx.clone());
            writers.push(std::thread::spawn(move || {
                let _turn = Turn::take(&path, far).unwrap();
                tx.send(n).unwrap();
            }));
            // Each one queued before the next starts.
            while lock(&first.queue.state).waiting.len() <= n {
                std::thread::yield_now();
            }
        }
        drop(first);
        for w in writers {
            w.join().unwrap();
        }
        drop(tx);
        assert_eq!(rx.iter().collect::<Vec<_>>(), (0..8).collect::<Vec<_>>());
        assert!(lock(queues()).get(&first_key(&path)).is_none(), "an idle queue is forgotten");
    }

    fn first_key(path: &Path) -> Key {
        let m = std::fs::metadata(path).unwrap();
        Key::File(m.dev(), m.ino())
    }

    #[test]
    fn a_writer_waits_no_longer_than_its_deadline_and_leaves_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let held = Turn::take(&path, Instant::now() + Duration::from_secs(5)).unwrap();
        let start = Instant::now();
        assert!(Turn::take(&path, start + Duration::from_millis(100)).is_none());
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(100) && took < Duration::from_millis(600), "{took:?}");
        assert!(lock(&held.queue.state).waiting.is_empty(), "the late writer left the queue");
        drop(held);
        assert!(Turn::take(&path, Instant::now() + Duration::from_secs(1)).is_some(), "the turn was handed back");
    }
}
