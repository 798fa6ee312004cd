//! An in-process peer that behaves like skarnet's utmps daemons (utmpd and
//! wtmpd behind s6-ipcserver), for tests that need neither root nor utmps.
//!
//! It binds `.utmpd-socket` and `.wtmpd-socket` in a directory of your choice
//! and keeps `utmp` and `wtmp` there in the utmps record layout (400 bytes on
//! x86_64). It follows the real daemons in every point of the protocol:
//! per-connection cursors, forward searches and their matching rules, the slot
//! rule of puts, permission checks on the client's effective ids taken from
//! the socket (SO_PEERCRED), unknown commands and short payloads answered by
//! closing, deletion of a torn utmp file, one request per wtmpd connection, and
//! a limit on the connections served at once.
//!
//! Clients that run as another user need to reach the sockets: make the
//! directory searchable for them (not mode 0700). The sockets themselves are
//! mode 0777, as the real ones.
//!
//! Differences that cannot be seen on the wire: the connections are threads of
//! your process, not processes, so they lock the files with open file
//! description locks (Linux) and a lock of the peer's own, and they wait for a
//! lock held by another process like the daemons do, except that a stopping
//! peer gives up.

mod files;
mod ids;
mod server;
mod utmpd;
mod wire;
mod wtmpd;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::record::Record;
use crate::sys::deadline::Deadline;
use server::{Handler, Server};
use wire::Wire;

/// The settings of a [`Peer`]; [`PeerBuilder::start`] starts one.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// use std::time::Duration;
/// let peer = utmps::peer::Peer::builder()
///     .payload_timeout(Duration::from_millis(200))
///     .max_connections(4)
///     .start(dir.path())?;
/// assert!(peer.utmpd_socket().ends_with(".utmpd-socket"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct PeerBuilder {
    daemon_gid: u32,
    payload_timeout: Duration,
    wtmpd_idle_timeout: Duration,
    max_connections: usize,
    silent: bool,
    put_delay: Delay,
    append_delay: Delay,
    put_answer_delay: Delay,
}

/// A pause before the first `count` writes of one kind.
#[derive(Clone, Copy, Debug, Default)]
struct Delay {
    count: usize,
    pause: Duration,
}

impl Default for PeerBuilder {
    fn default() -> Self {
        PeerBuilder {
            daemon_gid: crate::sys::users::effective_ids().1,
            payload_timeout: Duration::from_secs(30),
            wtmpd_idle_timeout: Duration::from_secs(30),
            max_connections: 40,
            silent: false,
            put_delay: Delay::default(),
            append_delay: Delay::default(),
            put_answer_delay: Delay::default(),
        }
    }
}

impl PeerBuilder {
    /// The default settings: those of the real daemons, and the process's
    /// effective gid as the daemon's group.
    pub fn new() -> PeerBuilder {
        PeerBuilder::default()
    }

    /// The daemon's effective gid: utmpd accepts puts from root and from
    /// clients whose EFFECTIVE gid is this one (default: this process's egid).
    /// The sockets are given this group where this process may do so (root,
    /// or a member of the group), as the real ones show the daemon's group.
    pub fn daemon_gid(mut self, gid: u32) -> PeerBuilder {
        self.daemon_gid = gid;
        self
    }

    /// How long utmpd waits for the rest of a request after its command byte,
    /// and for a client to take an answer (default 30 s, as the real daemon).
    /// When it passes, the connection is closed and nothing is written.
    pub fn payload_timeout(mut self, timeout: Duration) -> PeerBuilder {
        self.payload_timeout = timeout;
        self
    }

    /// How long wtmpd waits for a connection's whole request (default 30 s).
    pub fn wtmpd_idle_timeout(mut self, timeout: Duration) -> PeerBuilder {
        self.wtmpd_idle_timeout = timeout;
        self
    }

    /// How many connections each socket serves at once (default 40, as
    /// s6-ipcserverd). Further clients are accepted by the kernel but not
    /// served until another connection closes. At least 1.
    pub fn max_connections(mut self, max: usize) -> PeerBuilder {
        self.max_connections = max.max(1);
        self
    }

    /// A silent peer accepts connections and reads requests but never answers
    /// nor writes anything: a hung daemon, for fault tests.
    pub fn silent(mut self, silent: bool) -> PeerBuilder {
        self.silent = silent;
        self
    }

    /// Makes the first `count` permitted utmpd puts (`E`) of this peer wait
    /// `pause` before they take the file lock, write and answer: a daemon
    /// process stalled behind a lock, whose write lands late. Puts after
    /// those `count` are not delayed, so a later connection can overtake a
    /// delayed one, as with the real daemons. Default: no delay.
    pub fn delay_puts(mut self, count: usize, pause: Duration) -> PeerBuilder {
        self.put_delay = Delay { count, pause };
        self
    }

    /// As [`delay_puts`](Self::delay_puts), for the first `count` permitted
    /// wtmpd appends.
    pub fn delay_appends(mut self, count: usize, pause: Duration) -> PeerBuilder {
        self.append_delay = Delay { count, pause };
        self
    }

    /// Writes the first `count` permitted utmpd puts at once and sends their
    /// answers only `pause` later: a put that landed while its client, timed
    /// out, still waits for the answer. Default: no delay.
    pub fn delay_put_answers(mut self, count: usize, pause: Duration) -> PeerBuilder {
        self.put_answer_delay = Delay { count, pause };
        self
    }

    /// Starts a peer in `dir` (created if missing).
    ///
    /// # Errors
    /// When the directory cannot be created or a socket cannot be bound (for
    /// instance because another peer is running there).
    pub fn start(&self, dir: impl AsRef<Path>) -> io::Result<Peer> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        let shared = Arc::new(Shared {
            config: self.clone(),
            utmp_path: dir.join("utmp"),
            wtmp_path: dir.join("wtmp"),
            utmp_lock: RwLock::new(()),
            wtmp_lock: Mutex::new(()),
            puts_seen: AtomicUsize::new(0),
            appends_seen: AtomicUsize::new(0),
            put_answers_seen: AtomicUsize::new(0),
            delayed_in_flight: AtomicUsize::new(0),
            wtmpd_silent: AtomicBool::new(false),
            refused_puts: AtomicU8::new(0),
            wtmpd_connections: AtomicUsize::new(0),
        });
        let utmpd = Server::start(&dir.join(".utmpd-socket"), self.max_connections, handler(&shared, false))?;
        let wtmpd = Server::start(&dir.join(".wtmpd-socket"), self.max_connections, handler(&shared, true))?;
        // The real sockets are bound by the daemons' user, so they show the
        // daemon's group, which clients look at to judge write permission.
        // Only root (or a member of that group) can give them another group.
        for socket in [utmpd.path(), wtmpd.path()] {
            let _ = std::os::unix::fs::chown(socket, None, Some(self.daemon_gid));
        }
        Ok(Peer { dir: dir.to_path_buf(), shared, utmpd, wtmpd })
    }
}

/// What the connections of one peer share.
#[derive(Debug)]
struct Shared {
    config: PeerBuilder,
    utmp_path: PathBuf,
    wtmp_path: PathBuf,
    /// Keeps the peer's own threads apart where file locks cannot.
    utmp_lock: RwLock<()>,
    wtmp_lock: Mutex<()>,
    /// Permitted writes so far, for the delays.
    puts_seen: AtomicUsize,
    appends_seen: AtomicUsize,
    /// Puts written so far, for the answer delay.
    put_answers_seen: AtomicUsize,
    /// Delayed writes not yet answered.
    delayed_in_flight: AtomicUsize,
    /// Set by [`Peer::set_wtmpd_silent`].
    wtmpd_silent: AtomicBool,
    /// Set by [`Peer::refuse_puts`]; 0 accepts.
    refused_puts: AtomicU8,
    /// wtmpd connections served so far.
    wtmpd_connections: AtomicUsize,
}

impl Shared {
    /// Waits as the builder's delays say before a permitted write; a stopping
    /// peer stops waiting. The delayed write counts as in flight until the
    /// returned guard is dropped, after its answer.
    fn delay(&self, append: bool, stop: &AtomicBool) -> Option<InFlight<'_>> {
        match append {
            true => self.pause(self.config.append_delay, &self.appends_seen, stop),
            false => self.pause(self.config.put_delay, &self.puts_seen, stop),
        }
    }

    /// Waits as [`PeerBuilder::delay_put_answers`] says between a put's write
    /// and its answer.
    fn delay_put_answer(&self, stop: &AtomicBool) -> Option<InFlight<'_>> {
        self.pause(self.config.put_answer_delay, &self.put_answers_seen, stop)
    }

    fn pause(&self, delay: Delay, seen: &AtomicUsize, stop: &AtomicBool) -> Option<InFlight<'_>> {
        if seen.fetch_add(1, Ordering::SeqCst) >= delay.count {
            return None;
        }
        let guard = InFlight::new(&self.delayed_in_flight);
        let until = Deadline::after(delay.pause);
        while !stop.load(Ordering::SeqCst) {
            match until.time_left() {
                Ok(left) => std::thread::sleep(left.min(Duration::from_millis(10))),
                Err(_) => break,
            }
        }
        Some(guard)
    }
}

/// A delayed write not yet answered.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(count: &'a AtomicUsize) -> InFlight<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

type Serve = fn(Wire, ids::Creds, &Shared, &AtomicBool);

fn handler(shared: &Arc<Shared>, wtmpd: bool) -> Handler {
    let shared = shared.clone();
    let serve: Serve = match wtmpd {
        true => wtmpd::serve,
        false => utmpd::serve,
    };
    Arc::new(move |stream, creds, stop| {
        if wtmpd {
            shared.wtmpd_connections.fetch_add(1, Ordering::SeqCst);
        }
        let Ok(mut wire) = Wire::new(stream, shared.config.payload_timeout) else { return };
        if shared.config.silent || (wtmpd && shared.wtmpd_silent.load(Ordering::SeqCst)) {
            wire.discard_all();
        } else {
            serve(wire, creds, &shared, stop);
        }
    })
}

/// A running utmps-compatible peer: utmpd and wtmpd on sockets in one
/// directory, each connection served by a thread of this process.
///
/// Stopping it (with [`stop`](Peer::stop) or by dropping it) closes the
/// listeners and every connection, joins every thread and removes the sockets;
/// the files stay, so a peer started again on the same directory carries on
/// like a restarted daemon.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use utmps::layout::Layout;
/// use utmps::peer::Peer;
/// use utmps::{Field, Record, RecordType};
///
/// let dir = tempfile::tempdir()?;
/// let peer = Peer::start(dir.path())?;
///
/// // A put, as utmpd's protocol has it: `E` and the record; one status byte back.
/// let mut login = Record { record_type: RecordType::USER_PROCESS, pid: 42, ..Record::default() };
/// login.line = Field(*b"pts/7\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
/// login.id = Field(*b"s/7\0");
/// let mut conn = UnixStream::connect(peer.utmpd_socket())?;
/// conn.write_all(b"E")?;
/// conn.write_all(&Layout::Utmps.encode(&login)?)?;
/// let mut status = [0xff];
/// conn.read_exact(&mut status)?;
/// assert_eq!(status, [0]); // this process's egid is the daemon's: writes are allowed
///
/// assert_eq!(peer.utmp_records(), vec![login]);
/// assert!(peer.wtmp_records().is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Peer {
    dir: PathBuf,
    shared: Arc<Shared>,
    utmpd: Server,
    wtmpd: Server,
}

impl Peer {
    /// Starts a peer with the default settings in `dir` (see [`PeerBuilder`]).
    ///
    /// # Errors
    /// As [`PeerBuilder::start`].
    pub fn start(dir: impl AsRef<Path>) -> io::Result<Peer> {
        PeerBuilder::default().start(dir)
    }

    /// Settings other than the defaults.
    pub fn builder() -> PeerBuilder {
        PeerBuilder::default()
    }

    /// The directory the peer runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The utmpd socket, `<dir>/.utmpd-socket`.
    pub fn utmpd_socket(&self) -> &Path {
        self.utmpd.path()
    }

    /// The wtmpd socket, `<dir>/.wtmpd-socket`.
    pub fn wtmpd_socket(&self) -> &Path {
        self.wtmpd.path()
    }

    /// The utmp file, `<dir>/utmp` (created by the first utmpd request that reads or writes).
    pub fn utmp_path(&self) -> &Path {
        &self.shared.utmp_path
    }

    /// The wtmp file, `<dir>/wtmp` (created by the first append).
    pub fn wtmp_path(&self) -> &Path {
        &self.shared.wtmp_path
    }

    /// The daemon's gid: utmpd writes for root and for clients with this EFFECTIVE gid.
    pub fn daemon_gid(&self) -> u32 {
        self.shared.config.daemon_gid
    }

    /// The whole records in utmp, in file order; none when the file is missing.
    pub fn utmp_records(&self) -> Vec<Record> {
        let _threads = self.shared.utmp_lock.read().unwrap_or_else(|p| p.into_inner());
        files::records(&self.shared.utmp_path)
    }

    /// The whole records in wtmp, in file order; none when the file is missing.
    pub fn wtmp_records(&self) -> Vec<Record> {
        let _threads = self.shared.wtmp_lock.lock().unwrap_or_else(|p| p.into_inner());
        files::records(&self.shared.wtmp_path)
    }

    /// How many writes delayed by [`PeerBuilder::delay_puts`], [`PeerBuilder::delay_put_answers`] or
    /// [`PeerBuilder::delay_appends`] have begun and not been answered yet
    /// (written or failed, then answered).
    pub fn delayed_writes_in_flight(&self) -> usize {
        self.shared.delayed_in_flight.load(Ordering::SeqCst)
    }

    /// Makes wtmpd silent (as [`PeerBuilder::silent`], for wtmpd alone) for
    /// the connections it serves from now on, or answering again; utmpd goes
    /// on answering. A hung wtmpd beside a working utmpd, switched on after
    /// a login was recorded.
    pub fn set_wtmpd_silent(&self, silent: bool) {
        self.shared.wtmpd_silent.store(silent, Ordering::SeqCst);
    }

    /// Makes utmpd answer every permitted put (`E`) from now on with the
    /// status `errno` without writing anything, as a daemon whose disk fails;
    /// the connection stays usable. 0 makes puts work again.
    pub fn refuse_puts(&self, errno: u8) {
        self.shared.refused_puts.store(errno, Ordering::SeqCst);
    }

    /// How many wtmpd connections the peer has begun to serve, requests sent
    /// on them or not.
    pub fn wtmpd_connections(&self) -> usize {
        self.shared.wtmpd_connections.load(Ordering::SeqCst)
    }

    /// Stops the peer: no new connections, current ones closed, every thread
    /// joined, the sockets removed. Dropping the peer does the same.
    pub fn stop(&mut self) {
        self.utmpd.stop();
        self.wtmpd.stop();
    }
}
