/*
 * xutmp, libc flavour: glibc's utmp and wtmp files, in glibc's file format and
 * with its slot rule, read and written by this file under its own
 * deadline-bounded locks. Linked with xutmp.c instead of xutmp-utmps.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utmpx.h>
#if !defined(__GLIBC__)
#error "xutmp: this C library's utmpx functions are do-nothing stubs (musl). Install utmps (libutmps) and build with FLAVOUR=utmps (XUTMP_FLAVOUR=utmps for utmps-sys)."
#endif

#include "xutmp-internal.h"
#include "xutmp-utmpx.h"

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

struct xutmp_handle {
    struct xutmp_settings settings;
    off_t cursor;
    int read_fd; /* kept between reads; reopened after a rewind */
};

int xutmp_flavour(void)
{
    return XUTMP_FLAVOUR_LIBC;
}

size_t xutmp_platform_record_size(void)
{
    return sizeof(struct utmpx);
}

XUTMP_HANDLE_LIFE(_PATH_UTMPX, _PATH_WTMPX, read_fd)

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
        return xutmp__failure_errno();
    if (fstat(fd, &st) != 0)
        err = xutmp__failure_errno();
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

void xutmp__handle_release(xutmp_handle *h)
{
    close_reader(h);
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
    int err = open_regular(h->settings.utmp, O_RDONLY, &fd);

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
            return xutmp__failure_errno();
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
int xutmp__search(xutmp_handle *h, enum xutmp_search how, int type, const char *key,
                  struct xutmp_record *out)
{
    struct timespec deadline;
    struct utmpx ut;
    unsigned long scanned = 0;
    int fd, err = 0, got = 0;

    deadline = deadline_after(h->settings.timeout_ms);
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
            if (how == XUTMP_SEARCH_NEXT || (how == XUTMP_SEARCH_LINE && line_matches(key, &ut))
                || (how == XUTMP_SEARCH_ID && id_matches(type, key, &ut)))
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
    return xutmp__valid_type(ut.ut_type) && ut.ut_tv.tv_usec >= 0 && ut.ut_tv.tv_usec <= 999999;
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
            return xutmp__failure_errno();
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
        return xutmp__failure_errno();
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
    deadline = deadline_after(h->settings.timeout_ms);
    err = open_locked(h->settings.utmp, O_RDWR, F_WRLCK, &deadline, &fd);
    if (err == 0) {
        if (fstat(fd, &st) != 0)
            err = xutmp__failure_errno();
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
    deadline = deadline_after(h->settings.timeout_ms);
    /*
     * O_APPEND: on Linux a pwrite then appends at the real end, so a writer that
     * appends without taking the lock (some login programs do) loses no record.
     * Read access too: the file is checked before it is written.
     */
    err = open_locked(h->settings.wtmp, O_RDWR | O_APPEND, F_WRLCK, &deadline, &fd);
    if (err == 0) {
        if (fstat(fd, &st) != 0)
            err = xutmp__failure_errno();
        if (err == 0)
            err = check_wtmp(fd, &st);
        if (err == 0)
            err = write_record(fd, &st, whole_records(&st), whole_records(&st), &ut);
        release_file(fd, 1);
    }
    return err;
}

