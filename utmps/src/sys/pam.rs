//! PAM's session phase, for the logind store's session leader: the host's
//! `libpam.so.0`, loaded at run time (no PAM headers at build time, no link
//! dependency), and one safe type that owns a PAM handle from `pam_start` to
//! `pam_end`.
//!
//! Only the leader process calls into PAM, single-threaded, before it has
//! started anything; a daemon never does (its threads and a PAM module's
//! signal handlers or forks do not mix).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

/// The library, by the soname of Linux-PAM's ABI (symbol version LIBPAM_1.0).
const LIBRARY: &str = "libpam.so.0";

const SUCCESS: c_int = 0;
const CONV_ERR: c_int = 19;
/// `pam_set_item` types (`_pam_types.h`).
const ITEM_TTY: c_int = 3;
const ITEM_RHOST: c_int = 4;
/// Modules print nothing: there is no one to read it.
const SILENT: c_int = 0x8000;
/// Message styles a conversation can answer without a user.
const ERROR_MSG: c_int = 3;
const TEXT_INFO: c_int = 4;

/// `pam_handle_t`: opaque.
#[repr(C)]
struct RawHandle {
    _private: [u8; 0],
}

#[repr(C)]
struct Message {
    style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct Response {
    resp: *mut c_char,
    retcode: c_int,
}

type ConvFn = unsafe extern "C" fn(c_int, *mut *const Message, *mut *mut Response, *mut c_void) -> c_int;

#[repr(C)]
struct Conv {
    conv: Option<ConvFn>,
    appdata: *mut c_void,
}

/// Linux-PAM's functions, as loaded.
struct LibPam {
    start: unsafe extern "C" fn(*const c_char, *const c_char, *const Conv, *mut *mut RawHandle) -> c_int,
    /// `pam_start_confdir` (Linux-PAM 1.4 and later): the service files of
    /// another directory, for tests.
    start_confdir: Option<
        unsafe extern "C" fn(*const c_char, *const c_char, *const Conv, *const c_char, *mut *mut RawHandle) -> c_int,
    >,
    set_item: unsafe extern "C" fn(*mut RawHandle, c_int, *const c_void) -> c_int,
    open_session: unsafe extern "C" fn(*mut RawHandle, c_int) -> c_int,
    close_session: unsafe extern "C" fn(*mut RawHandle, c_int) -> c_int,
    end: unsafe extern "C" fn(*mut RawHandle, c_int) -> c_int,
    getenvlist: unsafe extern "C" fn(*mut RawHandle) -> *mut *mut c_char,
    strerror: unsafe extern "C" fn(*mut RawHandle, c_int) -> *const c_char,
}

/// Looks up `name` (NUL-terminated) in `handle`, as a function of type `F`.
///
/// # Safety
/// `handle` is a live `dlopen` handle and `F` is the C signature of `name`.
unsafe fn symbol<F: Copy>(handle: NonNull<c_void>, name: &str) -> Option<F> {
    debug_assert!(name.ends_with('\0'));
    // SAFETY: as the caller promises; `name` is NUL-terminated.
    let sym = unsafe { libc::dlsym(handle.as_ptr(), name.as_ptr().cast()) };
    if sym.is_null() {
        return None;
    }
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: a function pointer of the symbol's own signature (the caller's promise).
    Some(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&sym) })
}

/// Whether libpam can be loaded here, and if not, why.
pub(crate) fn available() -> Result<(), String> {
    api().map(drop)
}

fn api() -> Result<&'static LibPam, String> {
    static API: OnceLock<Result<LibPam, String>> = OnceLock::new();
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// `dlopen`s libpam and reads its functions. The handle is never closed.
fn load() -> Result<LibPam, String> {
    let name = CString::new(LIBRARY).map_err(|_| "soname with a NUL byte".to_owned())?;
    // SAFETY: `name` is NUL-terminated; libpam's initialisers set up nothing
    // but its own globals.
    let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    let Some(handle) = NonNull::new(handle) else {
        // SAFETY: dlerror returns NULL or a NUL-terminated string, copied at once.
        let why = unsafe { libc::dlerror() };
        let why = match why.is_null() {
            true => "no reason given".to_owned(),
            // SAFETY: non-NULL and NUL-terminated.
            false => unsafe { CStr::from_ptr(why) }.to_string_lossy().into_owned(),
        };
        return Err(format!("{LIBRARY} could not be loaded: {why}"));
    };
    macro_rules! required {
        ($name:literal) => {
            // SAFETY: a live handle; each field's type is the C signature of
            // the Linux-PAM function of that name (security/pam_appl.h).
            unsafe { symbol(handle, concat!($name, "\0")) }
                .ok_or_else(|| format!("{LIBRARY} is not Linux-PAM: it has no `{}`", $name))?
        };
    }
    Ok(LibPam {
        start: required!("pam_start"),
        // SAFETY: as above; absent before Linux-PAM 1.4.
        start_confdir: unsafe { symbol(handle, "pam_start_confdir\0") },
        set_item: required!("pam_set_item"),
        open_session: required!("pam_open_session"),
        close_session: required!("pam_close_session"),
        end: required!("pam_end"),
        getenvlist: required!("pam_getenvlist"),
        strerror: required!("pam_strerror"),
    })
}

/// The conversation of a session without a user to talk to: information and
/// error messages are taken (and dropped), a prompt fails the conversation.
unsafe extern "C" fn converse(n: c_int, msgs: *mut *const Message, resp: *mut *mut Response, _: *mut c_void) -> c_int {
    if n <= 0 || msgs.is_null() || resp.is_null() {
        return CONV_ERR;
    }
    for i in 0..n as usize {
        // SAFETY: PAM passes `n` valid message pointers (Linux-PAM's layout:
        // an array of pointers).
        let msg = unsafe { *msgs.add(i) };
        // SAFETY: each pointer names a message PAM owns for the call.
        if msg.is_null() || !matches!(unsafe { (*msg).style }, ERROR_MSG | TEXT_INFO) {
            return CONV_ERR;
        }
    }
    // PAM frees the answers (an array of `n`, each with a NULL text) with free().
    // SAFETY: calloc of n zeroed responses; a NULL result is handled.
    let answers = unsafe { libc::calloc(n as usize, std::mem::size_of::<Response>()) }.cast::<Response>();
    if answers.is_null() {
        return CONV_ERR;
    }
    // SAFETY: `resp` is PAM's out pointer.
    unsafe { *resp = answers };
    SUCCESS
}

/// Why a PAM call failed.
#[derive(Debug, Clone)]
pub(crate) struct PamError {
    /// The call: `pam_start`, `pam_open_session`, ...
    pub(crate) call: &'static str,
    /// PAM's code (0 when PAM itself could not be loaded).
    pub(crate) code: i32,
    /// `pam_strerror`'s text, or why PAM could not be used.
    pub(crate) text: String,
}

/// A PAM transaction whose session was opened: closed and ended when dropped.
pub(crate) struct Pam {
    api: &'static LibPam,
    handle: NonNull<RawHandle>,
    /// Owned by PAM, which keeps a pointer to it until `pam_end`.
    _conv: Box<Conv>,
    open: bool,
}

/// What a session leader asks PAM for.
pub(crate) struct Request<'a> {
    pub(crate) service: &'a str,
    pub(crate) user: &'a str,
    /// `PAM_TTY`: the session's terminal, `/dev/pts/3`.
    pub(crate) tty: &'a str,
    /// `PAM_RHOST`: the client; empty for none.
    pub(crate) rhost: &'a str,
    /// A directory of service files instead of `/etc/pam.d` (tests); empty for none.
    pub(crate) confdir: &'a str,
}

fn c_string(call: &'static str, what: &str, s: &str) -> Result<CString, PamError> {
    CString::new(s).map_err(|_| PamError { call, code: 0, text: format!("the {what} contains a NUL byte") })
}

impl Pam {
    /// `pam_start` with the request's service and user, its items set, then
    /// `pam_open_session`. A failure after `pam_start` ends the transaction
    /// (and closes what the modules may have opened).
    pub(crate) fn open(req: &Request<'_>) -> Result<Pam, PamError> {
        let api = api().map_err(|text| PamError { call: "dlopen", code: 0, text })?;
        let service = c_string("pam_start", "service", req.service)?;
        let user = c_string("pam_start", "user", req.user)?;
        let tty = c_string("pam_set_item", "tty", req.tty)?;
        let rhost = c_string("pam_set_item", "host", req.rhost)?;
        let conv = Box::new(Conv { conv: Some(converse), appdata: ptr::null_mut() });
        let mut raw: *mut RawHandle = ptr::null_mut();
        let rc = match (req.confdir.is_empty(), api.start_confdir) {
            // SAFETY: NUL-terminated strings and a conversation that outlive the
            // transaction (the Box moves into the returned value).
            (true, _) => unsafe { (api.start)(service.as_ptr(), user.as_ptr(), &*conv, &mut raw) },
            (false, Some(start_confdir)) => {
                let dir = c_string("pam_start", "directory", req.confdir)?;
                // SAFETY: as above; PAM copies the directory name.
                unsafe { start_confdir(service.as_ptr(), user.as_ptr(), &*conv, dir.as_ptr(), &mut raw) }
            }
            (false, None) => {
                return Err(PamError {
                    call: "pam_start_confdir",
                    code: 0,
                    text: "this Linux-PAM is older than 1.4 and reads service files only from /etc/pam.d".into(),
                })
            }
        };
        let Some(handle) = NonNull::new(raw) else {
            return Err(PamError { call: "pam_start", code: rc, text: format!("no handle (code {rc})") });
        };
        let mut pam = Pam { api, handle, _conv: conv, open: false };
        if rc != SUCCESS {
            return Err(pam.error("pam_start", rc));
        }
        pam.set_item("pam_set_item", ITEM_TTY, &tty)?;
        if !req.rhost.is_empty() {
            pam.set_item("pam_set_item", ITEM_RHOST, &rhost)?;
        }
        // SAFETY: a live handle.
        let rc = unsafe { (api.open_session)(handle.as_ptr(), SILENT) };
        if rc != SUCCESS {
            // Modules before the failing one may have set something up; PAM's
            // own rule is that close undoes what open did.
            // SAFETY: a live handle.
            unsafe { (api.close_session)(handle.as_ptr(), SILENT) };
            return Err(pam.error("pam_open_session", rc));
        }
        pam.open = true;
        Ok(pam)
    }

    fn set_item(&self, call: &'static str, item: c_int, value: &CStr) -> Result<(), PamError> {
        // SAFETY: a live handle; PAM copies the string.
        let rc = unsafe { (self.api.set_item)(self.handle.as_ptr(), item, value.as_ptr().cast()) };
        match rc {
            SUCCESS => Ok(()),
            rc => Err(self.error(call, rc)),
        }
    }

    fn error(&self, call: &'static str, code: c_int) -> PamError {
        // SAFETY: a live handle; the text is static or owned by PAM and copied at once.
        let text = unsafe { (self.api.strerror)(self.handle.as_ptr(), code) };
        let text = match text.is_null() {
            true => format!("code {code}"),
            // SAFETY: non-NULL and NUL-terminated.
            false => unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned(),
        };
        PamError { call, code, text }
    }

    /// The session's environment (`XDG_SESSION_ID=4`, ...), as the modules set it.
    pub(crate) fn env(&self) -> Vec<String> {
        // SAFETY: a live handle; the list and each string are malloc'd copies
        // that the caller frees.
        let list = unsafe { (self.api.getenvlist)(self.handle.as_ptr()) };
        let mut env = Vec::new();
        if list.is_null() {
            return env;
        }
        let mut i = 0;
        loop {
            // SAFETY: a NULL-terminated array of strings.
            let item = unsafe { *list.add(i) };
            if item.is_null() {
                break;
            }
            // SAFETY: NUL-terminated, then freed once.
            env.push(unsafe { CStr::from_ptr(item) }.to_string_lossy().into_owned());
            // SAFETY: malloc'd by PAM for the caller.
            unsafe { libc::free(item.cast()) };
            i += 1;
        }
        // SAFETY: the array itself, malloc'd for the caller.
        unsafe { libc::free(list.cast()) };
        env
    }

    /// `pam_close_session`, then (on drop) `pam_end`.
    pub(crate) fn close(mut self) -> Result<(), PamError> {
        self.open = false;
        // SAFETY: a live handle with an open session.
        let rc = unsafe { (self.api.close_session)(self.handle.as_ptr(), SILENT) };
        match rc {
            SUCCESS => Ok(()),
            rc => Err(self.error("pam_close_session", rc)),
        }
    }
}

impl Drop for Pam {
    fn drop(&mut self) {
        if self.open {
            // SAFETY: a live handle with an open session.
            unsafe { (self.api.close_session)(self.handle.as_ptr(), SILENT) };
        }
        // SAFETY: a live handle, ended once; it is not used after.
        unsafe { (self.api.end)(self.handle.as_ptr(), SUCCESS | SILENT) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_byte_in_any_field_is_refused_before_pam_runs() {
        let req = Request { service: "lo\0gin", user: "root", tty: "/dev/pts/0", rhost: "", confdir: "" };
        let err = Pam::open(&req).err().expect("refused");
        assert!(err.text.contains("NUL") || err.call == "dlopen", "{err:?}");
    }

    #[test]
    fn the_conversation_takes_messages_and_refuses_prompts() {
        let text = c"hello";
        let info = Message { style: TEXT_INFO, msg: text.as_ptr() };
        let mut ptrs = [&info as *const Message];
        let mut resp: *mut Response = ptr::null_mut();
        // SAFETY: one valid message, an out pointer.
        assert_eq!(unsafe { converse(1, ptrs.as_mut_ptr(), &mut resp, ptr::null_mut()) }, SUCCESS);
        assert!(!resp.is_null());
        // SAFETY: calloc'd by the conversation, freed once.
        unsafe {
            assert!((*resp).resp.is_null());
            libc::free(resp.cast());
        }
        let prompt = Message { style: 1, msg: text.as_ptr() };
        let mut ptrs = [&prompt as *const Message];
        let mut resp: *mut Response = ptr::null_mut();
        // SAFETY: as above.
        assert_eq!(unsafe { converse(1, ptrs.as_mut_ptr(), &mut resp, ptr::null_mut()) }, CONV_ERR);
        assert!(resp.is_null());
    }
}
