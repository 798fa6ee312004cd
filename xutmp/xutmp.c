/*
 * xutmp: see xutmp.h. Two flavours, chosen at compile time:
 * -DXUTMP_BUILD_UTMPS talks to skarnet's utmps daemons through libutmps's
 * native calls; otherwise glibc's file-based utmpx is used.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "xutmp.h"

#ifdef XUTMP_BUILD_UTMPS
#include <utmps/config.h>
#include <utmps/utmps.h>
#define UTMP_DEFAULT UTMPS_UTMPD_PATH
#define WTMP_DEFAULT UTMPS_WTMPD_PATH
#else
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utmpx.h>
#if !defined(__GLIBC__)
#error "xutmp: this C library's utmpx functions are do-nothing stubs (musl). Install utmps (libutmps) and build with FLAVOUR=utmps (-DXUTMP_BUILD_UTMPS)."
#endif
#define UTMP_DEFAULT _PATH_UTMPX
#define WTMP_DEFAULT _PATH_WTMPX
#endif

#define FIELD_SIZE(field) sizeof(((struct utmpx *)0)->field)
_Static_assert(FIELD_SIZE(ut_line) == XUTMP_LINE_SIZE, "ut_line size");
_Static_assert(FIELD_SIZE(ut_id) == XUTMP_ID_SIZE, "ut_id size");
_Static_assert(FIELD_SIZE(ut_user) == XUTMP_USER_SIZE, "ut_user size");
_Static_assert(FIELD_SIZE(ut_host) == XUTMP_HOST_SIZE, "ut_host size");
_Static_assert(FIELD_SIZE(ut_addr_v6) == sizeof(((struct xutmp_record *)0)->addr_v6),
               "ut_addr_v6 size");

#define DEFAULT_TIMEOUT_MS 5000

struct xutmp_handle {
    char *utmp;
    char *wtmp;
    int64_t timeout_ms;
#ifdef XUTMP_BUILD_UTMPS
    utmps conn;
#else
    off_t cursor;
    int read_fd; /* kept between reads; reopened after a rewind */
#endif
};

/* errno after a call that reported failure, never 0. */
static int failure_errno(void)
{
    return errno > 0 ? errno : EIO;
}

int xutmp_abi_version(void)
{
    return XUTMP_ABI_VERSION;
}

int xutmp_flavour(void)
{
#ifdef XUTMP_BUILD_UTMPS
    return XUTMP_FLAVOUR_UTMPS;
#else
    return XUTMP_FLAVOUR_LIBC;
#endif
}

size_t xutmp_record_size(void)
{
    return sizeof(struct xutmp_record);
}

size_t xutmp_record_align(void)
{
    return _Alignof(struct xutmp_record);
}

size_t xutmp_platform_record_size(void)
{
    return sizeof(struct utmpx);
}

#define CONSTANT(name) { #name, name }
static const struct xutmp_constant constants[] = {
    CONSTANT(XUTMP_ABI_VERSION),
    CONSTANT(XUTMP_FLAVOUR_LIBC),
    CONSTANT(XUTMP_FLAVOUR_UTMPS),
    CONSTANT(XUTMP_LINE_SIZE),
    CONSTANT(XUTMP_ID_SIZE),
    CONSTANT(XUTMP_USER_SIZE),
    CONSTANT(XUTMP_HOST_SIZE),
    CONSTANT(XUTMP_EMPTY),
    CONSTANT(XUTMP_RUN_LVL),
    CONSTANT(XUTMP_BOOT_TIME),
    CONSTANT(XUTMP_NEW_TIME),
    CONSTANT(XUTMP_OLD_TIME),
    CONSTANT(XUTMP_INIT_PROCESS),
    CONSTANT(XUTMP_LOGIN_PROCESS),
    CONSTANT(XUTMP_USER_PROCESS),
    CONSTANT(XUTMP_DEAD_PROCESS),
    CONSTANT(XUTMP_ACCOUNTING),
    CONSTANT(XUTMP_ERR_END),
    CONSTANT(XUTMP_ERR_ID_TAKEN),
    CONSTANT(XUTMP_ERR_NOT_RECORDS),
    CONSTANT(XUTMP_FIELD_TV_SEC),
    CONSTANT(XUTMP_FIELD_TV_USEC),
    CONSTANT(XUTMP_FIELD_TYPE),
    CONSTANT(XUTMP_FIELD_PID),
    CONSTANT(XUTMP_FIELD_SESSION),
    CONSTANT(XUTMP_FIELD_EXIT_TERMINATION),
    CONSTANT(XUTMP_FIELD_EXIT_STATUS),
    CONSTANT(XUTMP_FIELD_ADDR_V6),
    CONSTANT(XUTMP_FIELD_LINE),
    CONSTANT(XUTMP_FIELD_ID),
    CONSTANT(XUTMP_FIELD_USER),
    CONSTANT(XUTMP_FIELD_HOST),
    CONSTANT(XUTMP_FIELD_RESERVED),
    CONSTANT(XUTMP_FIELD_COUNT),
    { NULL, 0 },
};
#undef CONSTANT

const struct xutmp_constant *xutmp_constants(void)
{
    return constants;
}

size_t xutmp_field_offset(int field)
{
    switch (field) {
    case XUTMP_FIELD_TV_SEC: return offsetof(struct xutmp_record, tv_sec);
    case XUTMP_FIELD_TV_USEC: return offsetof(struct xutmp_record, tv_usec);
    case XUTMP_FIELD_TYPE: return offsetof(struct xutmp_record, type);
    case XUTMP_FIELD_PID: return offsetof(struct xutmp_record, pid);
    case XUTMP_FIELD_SESSION: return offsetof(struct xutmp_record, session);
    case XUTMP_FIELD_EXIT_TERMINATION: return offsetof(struct xutmp_record, exit_termination);
    case XUTMP_FIELD_EXIT_STATUS: return offsetof(struct xutmp_record, exit_status);
    case XUTMP_FIELD_ADDR_V6: return offsetof(struct xutmp_record, addr_v6);
    case XUTMP_FIELD_LINE: return offsetof(struct xutmp_record, line);
    case XUTMP_FIELD_ID: return offsetof(struct xutmp_record, id);
    case XUTMP_FIELD_USER: return offsetof(struct xutmp_record, user);
    case XUTMP_FIELD_HOST: return offsetof(struct xutmp_record, host);
    case XUTMP_FIELD_RESERVED: return offsetof(struct xutmp_record, reserved);
    default: return (size_t)-1;
    }
}

static int valid_type(int type)
{
    return type >= XUTMP_EMPTY && type <= XUTMP_ACCOUNTING;
}

static int record_to_utmpx(const struct xutmp_record *rec, struct utmpx *ut)
{
    static const char zero[sizeof rec->reserved];

    if (!valid_type(rec->type) || rec->tv_usec < 0 || rec->tv_usec > 999999
        || memcmp(rec->reserved, zero, sizeof zero) != 0)
        return EINVAL;
    /* Padding and reserved bytes are stored byte for byte: zero them. */
    memset(ut, 0, sizeof *ut);
    /* glibc keeps 32-bit seconds even on 64-bit hosts: refuse, never wrap. */
    ut->ut_tv.tv_sec = rec->tv_sec;
    if ((int64_t)ut->ut_tv.tv_sec != rec->tv_sec)
        return EOVERFLOW;
    ut->ut_tv.tv_usec = rec->tv_usec;
    ut->ut_type = (short)rec->type;
    ut->ut_pid = rec->pid;
    ut->ut_session = rec->session;
    ut->ut_exit.e_termination = rec->exit_termination;
    ut->ut_exit.e_exit = rec->exit_status;
    memcpy(ut->ut_addr_v6, rec->addr_v6, sizeof rec->addr_v6);
    memcpy(ut->ut_line, rec->line, sizeof rec->line);
    memcpy(ut->ut_id, rec->id, sizeof rec->id);
    memcpy(ut->ut_user, rec->user, sizeof rec->user);
    memcpy(ut->ut_host, rec->host, sizeof rec->host);
    return 0;
}

static void utmpx_to_record(const struct utmpx *ut, struct xutmp_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->tv_sec = ut->ut_tv.tv_sec;
    rec->tv_usec = ut->ut_tv.tv_usec;
    rec->type = ut->ut_type;
    rec->pid = ut->ut_pid;
    rec->session = (int32_t)ut->ut_session;
    rec->exit_termination = ut->ut_exit.e_termination;
    rec->exit_status = ut->ut_exit.e_exit;
    memcpy(rec->addr_v6, ut->ut_addr_v6, sizeof rec->addr_v6);
    memcpy(rec->line, ut->ut_line, sizeof rec->line);
    memcpy(rec->id, ut->ut_id, sizeof rec->id);
    memcpy(rec->user, ut->ut_user, sizeof rec->user);
    memcpy(rec->host, ut->ut_host, sizeof rec->host);
}

static int64_t effective_timeout(int64_t timeout_ms)
{
    if (timeout_ms <= 0)
        return DEFAULT_TIMEOUT_MS;
    /* skalibs counts milliseconds in an int; keep both flavours equal. */
    return timeout_ms > INT_MAX ? INT_MAX : timeout_ms;
}

enum search { SEARCH_NEXT, SEARCH_LINE, SEARCH_ID };

int xutmp_open(xutmp_handle **out, const char *utmp, const char *wtmp, int64_t timeout_ms)
{
    xutmp_handle *h;

    if (out == NULL)
        return EINVAL;
    *out = NULL;
    h = calloc(1, sizeof *h);
    if (h == NULL)
        return ENOMEM;
    h->utmp = strdup(utmp != NULL ? utmp : UTMP_DEFAULT);
    h->wtmp = strdup(wtmp != NULL ? wtmp : WTMP_DEFAULT);
    if (h->utmp == NULL || h->wtmp == NULL) {
        free(h->utmp);
        free(h->wtmp);
        free(h);
        return ENOMEM;
    }
    h->timeout_ms = effective_timeout(timeout_ms);
#ifdef XUTMP_BUILD_UTMPS
    h->conn.fd = -1;
#else
    h->read_fd = -1;
#endif
    *out = h;
    return 0;
}

int xutmp_set_timeout(xutmp_handle *h, int64_t timeout_ms)
{
    if (h == NULL)
        return EINVAL;
    h->timeout_ms = effective_timeout(timeout_ms);
    return 0;
}

#ifdef XUTMP_BUILD_UTMPS

/* ---------------------------------------------------------------- utmps */

static int start_clock(const xutmp_handle *h, tain *deadline, tain *stamp)
{
    tain timeout;

    if (!tain_now(stamp) || !tain_from_millisecs(&timeout, (int)h->timeout_ms)
        || !tain_add(deadline, stamp, &timeout))
        return failure_errno();
    return 0;
}

/*
 * After a timeout or a broken transport an answer may still be on its way and
 * would be read as the answer to the next request: only an errno the daemon
 * itself sent (ESRCH at the end, EPERM for a refused put) leaves the
 * connection in step. Dropping it resets the daemon-side cursor to the start.
 */
static int after_failure(xutmp_handle *h)
{
    int err = failure_errno();

    if (err != ESRCH && err != EPERM)
        utmps_end(&h->conn);
    return err;
}

static int connect_lazily(xutmp_handle *h, const tain *deadline, tain *stamp)
{
    if (h->conn.fd >= 0)
        return 0;
    if (!utmps_start(&h->conn, h->utmp, deadline, stamp)) {
        h->conn.fd = -1;
        return failure_errno();
    }
    return 0;
}

void xutmp_close(xutmp_handle *h)
{
    if (h == NULL)
        return;
    if (h->conn.fd >= 0)
        utmps_end(&h->conn);
    free(h->utmp);
    free(h->wtmp);
    free(h);
}

int xutmp_rewind(xutmp_handle *h)
{
    tain deadline, stamp;
    int err;

    if (h == NULL)
        return EINVAL;
    /* A connection not made yet starts at the first record anyway. */
    if (h->conn.fd < 0)
        return 0;
    if ((err = start_clock(h, &deadline, &stamp)) != 0)
        return err;
    if (!utmps_rewind(&h->conn, &deadline, &stamp))
        return after_failure(h);
    return 0;
}

static int search(xutmp_handle *h, enum search how, int type, const char *key,
                  struct xutmp_record *out)
{
    struct utmpx ut;
    tain deadline, stamp;
    int ok, err;

    if (h == NULL || out == NULL || (how != SEARCH_NEXT && key == NULL))
        return EINVAL;
    if (how == SEARCH_ID && !valid_type(type))
        return EINVAL;
    if ((err = start_clock(h, &deadline, &stamp)) != 0)
        return err;
    if ((err = connect_lazily(h, &deadline, &stamp)) != 0)
        return err;
    switch (how) {
    case SEARCH_LINE:
        ok = utmps_getline(&h->conn, key, &ut, &deadline, &stamp);
        break;
    case SEARCH_ID:
        ok = utmps_getid(&h->conn, (unsigned short)type, key, &ut, &deadline, &stamp);
        break;
    default:
        ok = utmps_getent(&h->conn, &ut, &deadline, &stamp);
        break;
    }
    if (!ok)
        return after_failure(h);
    utmpx_to_record(&ut, out);
    return 0;
}

int xutmp_put(xutmp_handle *h, const struct xutmp_record *rec)
{
    struct utmpx ut;
    tain deadline, stamp;
    int err;

    if (h == NULL || rec == NULL)
        return EINVAL;
    if ((err = record_to_utmpx(rec, &ut)) != 0)
        return err;
    if ((err = start_clock(h, &deadline, &stamp)) != 0)
        return err;
    if ((err = connect_lazily(h, &deadline, &stamp)) != 0)
        return err;
    /* utmpd's put scans from one record before the cursor: past the slot it appends. */
    if (!utmps_rewind(&h->conn, &deadline, &stamp)
        || !utmps_putline(&h->conn, &ut, &deadline, &stamp))
        return after_failure(h);
    return 0;
}

int xutmp_append_wtmp(xutmp_handle *h, const struct xutmp_record *rec)
{
    struct utmpx ut;
    tain deadline, stamp;
    int err;

    if (h == NULL || rec == NULL)
        return EINVAL;
    if ((err = record_to_utmpx(rec, &ut)) != 0)
        return err;
    if ((err = start_clock(h, &deadline, &stamp)) != 0)
        return err;
    /* wtmpd serves one record per connection: libutmps opens a fresh one. */
    if (!utmps_updwtmpx(h->wtmp, &ut, &deadline, &stamp))
        return failure_errno();
    return 0;
}

#else

/* ----------------------------------------------------------------- libc */

/*
 * glibc's utmpx functions are not called: they take their file lock with
 * F_SETLKW bounded by alarm(), whose SIGALRM may land in another thread and
 * leave the wait unbounded, and which cancels the caller's pending alarm and
 * re-arms it rounded up to whole seconds, so a steady stream of logins can keep
 * a short alarm from ever firing. The file format (an array of struct utmpx)
 * and glibc's slot rule are kept; the I/O and the locking are done here.
 *
 * The file locks are open-file-description locks: each operation's own
 * descriptor holds its lock, no close elsewhere in the process drops it, and
 * they conflict with the classic fcntl locks glibc and utmpd take.
 *
 * A process-wide mutex is held together with a file lock, for one operation,
 * so that this process's own threads hand the file over without polling. It is
 * never held while waiting for a lock someone else holds: a local user's lock
 * on one file must not stall operations on other files.
 */
#ifndef F_OFD_SETLK
#error "xutmp: the libc flavour needs open file description locks (F_OFD_SETLK: Linux 3.15 and glibc 2.20 or later)"
#endif

#define NSEC_PER_SEC 1000000000L
#define FIRST_PAUSE_NS 1000000L
#define MAX_PAUSE_NS 10000000L

static struct timespec deadline_after(int64_t timeout_ms)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(timeout_ms / 1000);
    t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (t.tv_nsec >= NSEC_PER_SEC) {
        t.tv_sec++;
        t.tv_nsec -= NSEC_PER_SEC;
    }
    return t;
}

static int64_t ns_left(const struct timespec *deadline)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(deadline->tv_sec - now.tv_sec) * NSEC_PER_SEC
        + (deadline->tv_nsec - now.tv_nsec);
}

#define SETLK F_OFD_SETLK

static pthread_mutex_t libc_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork while another thread holds the mutex must not leave it locked in the child. */
static void before_fork(void)
{
    pthread_mutex_lock(&libc_mutex);
}

static void after_fork(void)
{
    pthread_mutex_unlock(&libc_mutex);
}

static void register_atfork(void)
{
    pthread_atfork(before_fork, after_fork, after_fork);
}

static int lock_mutex_until(const struct timespec *deadline)
{
    pthread_once(&atfork_once, register_atfork);
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30)
    return pthread_mutex_clocklock(&libc_mutex, CLOCK_MONOTONIC, deadline);
#else
    {
        /* Older glibc waits on the realtime clock only: convert what is left. */
        struct timespec t;
        int64_t left = ns_left(deadline);

        clock_gettime(CLOCK_REALTIME, &t);
        if (left > 0) {
            t.tv_sec += (time_t)(left / NSEC_PER_SEC);
            t.tv_nsec += (long)(left % NSEC_PER_SEC);
            if (t.tv_nsec >= NSEC_PER_SEC) {
                t.tv_sec++;
                t.tv_nsec -= NSEC_PER_SEC;
            }
        }
        return pthread_mutex_timedlock(&libc_mutex, &t);
    }
#endif
}

/*
 * Takes the mutex and then the file lock, or neither. Never a blocking wait on
 * the file: a lock held by any local user must not outlast the deadline. On
 * success the caller releases with release_file().
 */
static int lock_file_until(int fd, short type, const struct timespec *deadline)
{
    struct flock fl;
    long pause_ns = FIRST_PAUSE_NS;

    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    for (;;) {
        int64_t left;
        struct timespec nap;
        int err = lock_mutex_until(deadline);

        if (err != 0)
            return err;
        if (fcntl(fd, SETLK, &fl) == 0)
            return 0;
        err = errno;
        pthread_mutex_unlock(&libc_mutex);
        if (err != EACCES && err != EAGAIN && err != EINTR)
            return err > 0 ? err : EIO;
        left = ns_left(deadline);
        if (left <= 0)
            return ETIMEDOUT;
        nap.tv_sec = 0;
        nap.tv_nsec = left < pause_ns ? (long)left : pause_ns;
        nanosleep(&nap, NULL);
        if (pause_ns < MAX_PAUSE_NS)
            pause_ns = pause_ns * 2 < MAX_PAUSE_NS ? pause_ns * 2 : MAX_PAUSE_NS;
    }
}

/*
 * Drops the file lock first, so that a thread woken by the mutex finds the file
 * free. Always an explicit unlock, even before a close: a child forked by
 * another thread meanwhile shares the open file description, and with it the
 * lock, until it exits or execs.
 */
static void release_file(int fd, int close_it)
{
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    (void)fcntl(fd, SETLK, &fl);
    if (close_it)
        close(fd);
    pthread_mutex_unlock(&libc_mutex);
}

/*
 * Opens `path` non-blocking (a FIFO must not stall the open), never as the
 * controlling terminal (a tty at the path must not become the caller's), and
 * refuses anything but a regular file with XUTMP_ERR_NOT_RECORDS. On failure *fd_out
 * is -1 and nothing is left open.
 */
static int open_regular(const char *path, int flags, int *fd_out)
{
    struct stat st;
    int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    int err = 0;

    *fd_out = -1;
    if (fd < 0)
        return failure_errno();
    if (fstat(fd, &st) != 0)
        err = failure_errno();
    else if (!S_ISREG(st.st_mode))
        err = XUTMP_ERR_NOT_RECORDS;
    if (err != 0) {
        close(fd);
        return err;
    }
    *fd_out = fd;
    return 0;
}

/*
 * Opens without O_CREAT (glibc never creates these files) and locks.
 * O_NONBLOCK: a FIFO planted at the path must not block the open forever.
 * Anything but a regular file (a FIFO, a device, a socket) is refused before
 * the lock is even tried: writing a record into it would be meaningless or
 * harmful. The file type of an open descriptor cannot change, so one check
 * before the lock is enough.
 */
static int open_locked(const char *path, int flags, short type,
                       const struct timespec *deadline, int *fd_out)
{
    int fd;
    int err = open_regular(path, flags, &fd);

    if (err == 0)
        err = lock_file_until(fd, type, deadline);
    if (err != 0) {
        if (fd >= 0)
            close(fd);
        return err;
    }
    *fd_out = fd;
    return 0;
}

static void close_reader(xutmp_handle *h)
{
    if (h->read_fd >= 0)
        close(h->read_fd);
    h->read_fd = -1;
}

void xutmp_close(xutmp_handle *h)
{
    if (h == NULL)
        return;
    close_reader(h);
    free(h->utmp);
    free(h->wtmp);
    free(h);
}

int xutmp_rewind(xutmp_handle *h)
{
    if (h == NULL)
        return EINVAL;
    /* A rewind reopens the file: it may have been replaced since. */
    close_reader(h);
    h->cursor = 0;
    return 0;
}

/*
 * Opens utmp for the reads of a cursor. Anything but a regular file is refused
 * as a write refuses it: /dev/zero would be read as records without end,
 * /dev/null as an empty utmp, a FIFO would fail with an unclear errno.
 */
static int open_reader(xutmp_handle *h)
{
    int fd;
    int err = open_regular(h->utmp, O_RDONLY, &fd);

    if (err != 0)
        return err;
    h->read_fd = fd;
    return 0;
}

/* Reads up to `len` bytes at `at`, fewer only at the end of the file. */
static int pread_full(int fd, void *buf, size_t len, off_t at, size_t *got)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, at + (off_t)done);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return failure_errno();
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return 0;
}

/* Reads the whole record at `offset`; none at the end, including a partial tail. */
static int read_record(int fd, off_t offset, struct utmpx *ut, int *got)
{
    size_t bytes;
    int err = pread_full(fd, ut, sizeof *ut, offset, &bytes);

    *got = err == 0 && bytes == sizeof *ut;
    return err;
}

/* The id rule shared by glibc's getutxid and utmpd's 'i' request. */
static int id_matches(int type, const char id[XUTMP_ID_SIZE], const struct utmpx *ut)
{
    switch (type) {
    case XUTMP_BOOT_TIME:
    case XUTMP_NEW_TIME:
    case XUTMP_OLD_TIME:
        return ut->ut_type == type;
    case XUTMP_INIT_PROCESS:
    case XUTMP_LOGIN_PROCESS:
    case XUTMP_USER_PROCESS:
    case XUTMP_DEAD_PROCESS:
        return (ut->ut_type == XUTMP_INIT_PROCESS || ut->ut_type == XUTMP_LOGIN_PROCESS
                || ut->ut_type == XUTMP_USER_PROCESS || ut->ut_type == XUTMP_DEAD_PROCESS)
            && strncmp(id, ut->ut_id, XUTMP_ID_SIZE) == 0;
    default:
        return 0;
    }
}

static int line_matches(const char line[XUTMP_LINE_SIZE], const struct utmpx *ut)
{
    return (ut->ut_type == XUTMP_LOGIN_PROCESS || ut->ut_type == XUTMP_USER_PROCESS)
        && strncmp(line, ut->ut_line, XUTMP_LINE_SIZE) == 0;
}

/* How many records a scan reads between looks at the clock. */
#define DEADLINE_EVERY 1024

/*
 * getutxent and friends are not used: they share glibc's one global cursor
 * and reopen the file per search. The handle keeps its own offset instead.
 */
static int search(xutmp_handle *h, enum search how, int type, const char *key,
                  struct xutmp_record *out)
{
    struct timespec deadline;
    struct utmpx ut;
    unsigned long scanned = 0;
    int fd, err = 0, got = 0;

    if (h == NULL || out == NULL || (how != SEARCH_NEXT && key == NULL))
        return EINVAL;
    if (how == SEARCH_ID && !valid_type(type))
        return EINVAL;
    deadline = deadline_after(h->timeout_ms);
    if (h->read_fd < 0)
        err = open_reader(h);
    fd = h->read_fd;
    if (err == 0 && (err = lock_file_until(fd, F_RDLCK, &deadline)) == 0) {
        for (;;) {
            /* A huge (sparse) file must not outlast the deadline; the cursor keeps the progress. */
            if (++scanned % DEADLINE_EVERY == 0 && ns_left(&deadline) <= 0) {
                err = ETIMEDOUT;
                got = 0;
                break;
            }
            if ((err = read_record(fd, h->cursor, &ut, &got)) != 0 || !got)
                break;
            h->cursor += (off_t)sizeof ut;
            if (how == SEARCH_NEXT || (how == SEARCH_LINE && line_matches(key, &ut))
                || (how == SEARCH_ID && id_matches(type, key, &ut)))
                break;
        }
        release_file(fd, 0);
    }
    if (err != 0)
        return err;
    if (!got)
        return XUTMP_ERR_END;
    utmpx_to_record(&ut, out);
    return 0;
}

/* glibc's slot rule for a put: RUN_LVL and the time types by type, the rest by id. */
static int slot_matches(const struct utmpx *want, const struct utmpx *ut)
{
    if (want->ut_type == XUTMP_RUN_LVL)
        return ut->ut_type == XUTMP_RUN_LVL;
    return id_matches(want->ut_type, want->ut_id, ut);
}

static int is_live(const struct utmpx *ut)
{
    return ut->ut_type == XUTMP_INIT_PROCESS || ut->ut_type == XUTMP_LOGIN_PROCESS
        || ut->ut_type == XUTMP_USER_PROCESS;
}

/*
 * Whether `len` bytes (at most one record) can be the start of a record that
 * glibc or this library wrote: a known type and a microsecond count below one
 * second. The fields are read from a zero-filled copy, so a field the bytes
 * cover only in part is judged by its known bytes: with either byte order, the
 * zero-filled value is out of range only when every completion of it is. Text
 * fails at once (two printable bytes are no type).
 */
static int plausible_prefix(const void *bytes, size_t len)
{
    struct utmpx ut;

    memset(&ut, 0, sizeof ut);
    memcpy(&ut, bytes, len < sizeof ut ? len : sizeof ut);
    return valid_type(ut.ut_type) && ut.ut_tv.tv_usec >= 0 && ut.ut_tv.tv_usec <= 999999;
}

/*
 * Whether a plausible record is evidence that the file holds records: a type
 * other than EMPTY, with a time. Zero bytes are plausible (EMPTY, time 0) but
 * prove nothing: the holes of a sparse lastlog file, a preallocated or
 * zero-filled file, the padding of some other format all read as such records.
 */
static int is_entry(const struct utmpx *ut)
{
    return ut->ut_type > XUTMP_EMPTY && ut->ut_type <= XUTMP_ACCOUNTING && ut->ut_tv.tv_sec != 0;
}

/*
 * Checks the torn tail, the bytes after the last whole record: glibc writes a
 * record with one write, so what a crash or a full disk leaves is the start of
 * a record, after the records written before it. Anything else means the file
 * holds something other than records. `entries`: whether the whole records
 * checked include an entry (is_entry); without one a tail is no torn write.
 */
static int check_tail(int fd, const struct stat *st, off_t whole, int entries)
{
    struct utmpx tail;
    size_t got;
    int err;

    if (st->st_size == whole)
        return 0;
    if (!entries)
        return XUTMP_ERR_NOT_RECORDS;
    if ((err = pread_full(fd, &tail, (size_t)(st->st_size - whole), whole, &got)) != 0)
        return err;
    return plausible_prefix(&tail, got) ? 0 : XUTMP_ERR_NOT_RECORDS;
}

#define SCAN_RECORDS 64

/*
 * Finds where `want` goes: the first record that the slot rule matches, else
 * `*append` is set. A process record whose id is held by a live session on
 * another line is refused with XUTMP_ERR_ID_TAKEN: glibc matches by id alone, so the
 * put, or a later logout of either session, would overwrite the other's entry.
 * Every record is read, and one that is not plausible (see plausible_prefix)
 * refuses the put with XUTMP_ERR_NOT_RECORDS: the file is not a utmp file.
 * `*entries` tells whether any record read is an entry (is_entry).
 */
static int find_slot(int fd, off_t whole, const struct utmpx *want, off_t *slot, int *append,
                     int *entries, const struct timespec *deadline)
{
    struct utmpx buf[SCAN_RECORDS];
    int process = want->ut_type >= XUTMP_INIT_PROCESS && want->ut_type <= XUTMP_DEAD_PROCESS;
    off_t at;

    *append = 1;
    *entries = 0;
    for (at = 0; at < whole;) {
        size_t want_bytes = sizeof buf;
        size_t i, count, got;
        int err;

        if ((off_t)want_bytes > whole - at)
            want_bytes = (size_t)(whole - at);
        if (at > 0 && (at / (off_t)sizeof buf) % (DEADLINE_EVERY / SCAN_RECORDS) == 0
            && ns_left(deadline) <= 0)
            return ETIMEDOUT;
        if ((err = pread_full(fd, buf, want_bytes, at, &got)) != 0)
            return err;
        count = got / sizeof buf[0];
        if (count == 0)
            break;
        for (i = 0; i < count; i++) {
            const struct utmpx *ut = &buf[i];

            if (!plausible_prefix(ut, sizeof *ut))
                return XUTMP_ERR_NOT_RECORDS;
            *entries = *entries || is_entry(ut);
            if (process && is_live(ut) && strncmp(ut->ut_id, want->ut_id, XUTMP_ID_SIZE) == 0
                && strncmp(ut->ut_line, want->ut_line, XUTMP_LINE_SIZE) != 0)
                return XUTMP_ERR_ID_TAKEN;
            if (*append && slot_matches(want, ut)) {
                *append = 0;
                *slot = at + (off_t)(i * sizeof buf[0]);
            }
        }
        at += (off_t)(count * sizeof buf[0]);
    }
    if (*append)
        *slot = whole;
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t at)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, at);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return failure_errno();
        }
        if (n == 0)
            return EIO;
        p += n;
        len -= (size_t)n;
        at += n;
    }
    return 0;
}

/* The size of the whole records in a file; a torn tail is what lies beyond. */
static off_t whole_records(const struct stat *st)
{
    return st->st_size - st->st_size % (off_t)sizeof(struct utmpx);
}

/*
 * Writes one record at `at`; `at == whole` appends, first dropping a torn tail
 * (as glibc does) so that records stay aligned. A failed append is cut back:
 * no half record stays behind, and the write's errno is the one reported.
 */
static int write_record(int fd, const struct stat *st, off_t whole, off_t at, const struct utmpx *ut)
{
    int appending = at == whole;
    int err;

    if (appending && whole != st->st_size && ftruncate(fd, whole) != 0)
        return failure_errno();
    err = pwrite_all(fd, ut, sizeof *ut, at);
    if (err != 0 && appending) {
        int ignored = ftruncate(fd, whole);
        (void)ignored;
    }
    return err;
}

int xutmp_put(xutmp_handle *h, const struct xutmp_record *rec)
{
    struct timespec deadline;
    struct utmpx ut;
    struct stat st;
    off_t whole, slot = 0;
    int fd, err, append = 1, entries = 0;

    if (h == NULL || rec == NULL)
        return EINVAL;
    if ((err = record_to_utmpx(rec, &ut)) != 0)
        return err;
    deadline = deadline_after(h->timeout_ms);
    err = open_locked(h->utmp, O_RDWR, F_WRLCK, &deadline, &fd);
    if (err == 0) {
        if (fstat(fd, &st) != 0)
            err = failure_errno();
        whole = err == 0 ? whole_records(&st) : 0;
        if (err == 0)
            err = find_slot(fd, whole, &ut, &slot, &append, &entries, &deadline);
        /* A utmp file that is not empty has an entry: glibc never writes EMPTY. */
        if (err == 0 && st.st_size > 0 && !entries)
            err = XUTMP_ERR_NOT_RECORDS;
        if (err == 0)
            err = check_tail(fd, &st, whole, entries);
        if (err == 0)
            err = write_record(fd, &st, whole, slot, &ut);
        release_file(fd, 1);
    }
    return err;
}

/*
 * wtmp may be gigabytes: instead of the full scan a put does, the first and the
 * last whole record and the torn tail must be plausible, and the last whole
 * record must be an entry (is_entry): every writer appends entries, so a last
 * record of zero bytes means a file of something else (a lastlog file, a
 * zero-filled one). That is enough to tell a wtmp file from text or another
 * layout (struct utmpx of another C library or another word size puts other
 * bytes where the type and microseconds are).
 */
static int check_wtmp(int fd, const struct stat *st)
{
    off_t whole = whole_records(st);
    struct utmpx ut;
    off_t ends[2];
    int err, got, entries = 0;

    ends[0] = 0;
    ends[1] = whole - (off_t)sizeof ut;
    for (int i = 0; i < 2 && whole > 0; i++) {
        if ((err = read_record(fd, ends[i], &ut, &got)) != 0)
            return err;
        /*
         * Shrunk under the lock by a writer that ignores the lock: nothing
         * there to judge, and that writer is one of records.
         */
        if (!got) {
            entries = 1;
            continue;
        }
        if (!plausible_prefix(&ut, sizeof ut))
            return XUTMP_ERR_NOT_RECORDS;
        if (i == 1)
            entries = is_entry(&ut);
    }
    if (whole > 0 && !entries)
        return XUTMP_ERR_NOT_RECORDS;
    return check_tail(fd, st, whole, entries);
}

/*
 * Not updwtmpx: it returns void, so a full disk or a missing file would be
 * silent. Same steps as glibc's, with every error reported.
 */
int xutmp_append_wtmp(xutmp_handle *h, const struct xutmp_record *rec)
{
    struct timespec deadline;
    struct utmpx ut;
    struct stat st;
    int fd, err;

    if (h == NULL || rec == NULL)
        return EINVAL;
    if ((err = record_to_utmpx(rec, &ut)) != 0)
        return err;
    deadline = deadline_after(h->timeout_ms);
    /*
     * O_APPEND: on Linux a pwrite then appends at the real end, so a writer that
     * appends without taking the lock (some login programs do) loses no record.
     * Read access too: the file is checked before it is written.
     */
    err = open_locked(h->wtmp, O_RDWR | O_APPEND, F_WRLCK, &deadline, &fd);
    if (err == 0) {
        if (fstat(fd, &st) != 0)
            err = failure_errno();
        if (err == 0)
            err = check_wtmp(fd, &st);
        if (err == 0)
            err = write_record(fd, &st, whole_records(&st), whole_records(&st), &ut);
        release_file(fd, 1);
    }
    return err;
}

#endif

int xutmp_next(xutmp_handle *h, struct xutmp_record *out)
{
    return search(h, SEARCH_NEXT, 0, NULL, out);
}

int xutmp_find_line(xutmp_handle *h, const char line[XUTMP_LINE_SIZE], struct xutmp_record *out)
{
    return search(h, SEARCH_LINE, 0, line, out);
}

int xutmp_find_id(xutmp_handle *h, int type, const char id[XUTMP_ID_SIZE], struct xutmp_record *out)
{
    return search(h, SEARCH_ID, type, id, out);
}
