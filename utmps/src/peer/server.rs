//! One listening socket, as s6-ipcserver runs it: an accept loop that serves at
//! most `max` connections at once (the others wait in the kernel's backlog), one
//! thread per connection, and a stop that wakes and joins every thread.

use std::collections::HashMap;
use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::ids::{peer_creds, Creds};
use crate::sys::deadline::Deadline;

/// How often a waiting accept loop looks at the stop flag.
const TICK: Duration = Duration::from_millis(20);

/// What serves one accepted connection.
pub(super) type Handler = Arc<dyn Fn(UnixStream, Creds, &AtomicBool) + Send + Sync>;

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    /// A handle on each connection being served, to shut it down on stop.
    open: HashMap<u64, UnixStream>,
    threads: Vec<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Connections {
    registry: Mutex<Registry>,
    freed: Condvar,
}

impl Connections {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug)]
pub(super) struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    conns: Arc<Connections>,
}

impl Server {
    pub(super) fn start(path: &Path, max: usize, handler: Handler) -> io::Result<Server> {
        let listener = bind(path)?;
        // Anyone may connect, as to the real sockets; the daemons check who.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Connections::default());
        let accept = {
            let (stop, conns) = (stop.clone(), conns.clone());
            std::thread::Builder::new()
                .name("utmps-peer-accept".into())
                .spawn(move || accept_loop(&listener, max.max(1), &handler, &stop, &conns))?
        };
        Ok(Server { path: path.to_path_buf(), stop, accept: Some(accept), conns })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting, ends every connection and joins every thread. Idempotent.
    pub(super) fn stop(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        self.conns.freed.notify_all();
        let _ = accept.join();
        let threads = {
            let mut reg = self.conns.lock();
            for stream in reg.open.values() {
                // Wakes a thread blocked reading: it sees the end of the stream.
                let _ = stream.shutdown(Shutdown::Both);
            }
            std::mem::take(&mut reg.threads)
        };
        for t in threads {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds, replacing a socket file that nobody listens on any more (left by a
/// peer that was not stopped), never one that is alive.
fn bind(path: &Path) -> io::Result<UnixListener> {
    match UnixListener::bind(path) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let stale = std::fs::symlink_metadata(path).map(|m| m.file_type().is_socket()).unwrap_or(false)
                && UnixStream::connect(path).is_err();
            if !stale {
                return Err(e);
            }
            std::fs::remove_file(path)?;
            UnixListener::bind(path)
        }
        other => other,
    }
}

fn wait_readable(listener: &UnixListener) -> bool {
    crate::sys::socket::wait(listener.as_raw_fd(), libc::POLLIN, Deadline::after(TICK)).is_ok()
}

fn accept_loop(
    listener: &UnixListener,
    max: usize,
    handler: &Handler,
    stop: &Arc<AtomicBool>,
    conns: &Arc<Connections>,
) {
    while !stop.load(Ordering::SeqCst) {
        {
            let mut reg = conns.lock();
            reap(&mut reg);
            // At the limit, leave new clients in the backlog until one closes.
            while reg.open.len() >= max && !stop.load(Ordering::SeqCst) {
                reg = conns.freed.wait_timeout(reg, TICK).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
            }
        }
        if stop.load(Ordering::SeqCst) || !wait_readable(listener) {
            continue;
        }
        match listener.accept() {
            Ok((stream, _)) => spawn(stream, handler, stop, conns),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            // EMFILE and the like: wait, the next tick may do better.
            Err(_) => std::thread::sleep(TICK),
        }
    }
}

/// Joins the threads that are done, so that none is left unjoined.
fn reap(reg: &mut Registry) {
    let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut reg.threads).into_iter().partition(|t| t.is_finished());
    reg.threads = running;
    for t in done {
        let _ = t.join();
    }
}

fn spawn(stream: UnixStream, handler: &Handler, stop: &Arc<AtomicBool>, conns: &Arc<Connections>) {
    // A client whose credentials cannot be read is not served, as s6-ipcserverd.
    let Ok(creds) = peer_creds(&stream) else { return };
    let Ok(handle) = stream.try_clone() else { return };
    let mut reg = conns.lock();
    let id = reg.next_id;
    reg.next_id += 1;
    reg.open.insert(id, handle);
    let (handler, stop2, conns2) = (handler.clone(), stop.clone(), conns.clone());
    let spawned = std::thread::Builder::new().name("utmps-peer-conn".into()).spawn(move || {
        handler(stream, creds, &stop2);
        conns2.lock().open.remove(&id);
        conns2.freed.notify_all();
    });
    match spawned {
        Ok(t) => reg.threads.push(t),
        Err(_) => {
            reg.open.remove(&id);
        }
    }
}
