/*
 * xutmp: login accounting records with deadlines, over either glibc's utmp and
 * wtmp files (flavour "libc": glibc's file format and slot rule, read and written
 * by this library under its own deadline-bounded locks) or skarnet's utmps
 * daemons (flavour "utmps", through libutmps).
 *
 * ABI rules: every function returns 0 or a positive errno value; no global cursor
 * is visible to the caller; every operation on a handle finishes by the handle's
 * deadline (its timeout, counted from the start of each call). The platform's
 * struct utmpx never crosses this interface: its layout differs between C libraries.
 */
#ifndef XUTMP_H
#define XUTMP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XUTMP_ABI_VERSION 1

#define XUTMP_FLAVOUR_LIBC 1
#define XUTMP_FLAVOUR_UTMPS 2

#define XUTMP_LINE_SIZE 32
#define XUTMP_ID_SIZE 4
#define XUTMP_USER_SIZE 32
#define XUTMP_HOST_SIZE 256

/* Record types, with the values both glibc and utmps use. */
#define XUTMP_EMPTY 0
#define XUTMP_RUN_LVL 1
#define XUTMP_BOOT_TIME 2
#define XUTMP_NEW_TIME 3
#define XUTMP_OLD_TIME 4
#define XUTMP_INIT_PROCESS 5
#define XUTMP_LOGIN_PROCESS 6
#define XUTMP_USER_PROCESS 7
#define XUTMP_DEAD_PROCESS 8
#define XUTMP_ACCOUNTING 9

/* The errno values that mean something of their own here. */
#define XUTMP_ERR_END ESRCH /* xutmp_next, xutmp_find_*: no further record */
#define XUTMP_ERR_ID_TAKEN EADDRINUSE /* xutmp_put, libc flavour: see there */
#define XUTMP_ERR_NOT_RECORDS EMEDIUMTYPE /* libc flavour: not a utmp/wtmp file; see the end */

/*
 * The record, fixed width on every platform. Character fields are not
 * NUL-terminated when full. Fields are ordered so that there is no implicit
 * padding; `reserved` must be zero.
 */
struct xutmp_record {
    int64_t tv_sec;
    int64_t tv_usec;
    int32_t type;
    int32_t pid;
    int32_t session;
    int16_t exit_termination;
    int16_t exit_status;
    uint32_t addr_v6[4]; /* network byte order; IPv4 in addr_v6[0] */
    char line[XUTMP_LINE_SIZE];
    char id[XUTMP_ID_SIZE];
    char user[XUTMP_USER_SIZE];
    char host[XUTMP_HOST_SIZE];
    char reserved[4];
};

/* Field numbers for xutmp_field_offset, in declaration order. */
enum xutmp_field {
    XUTMP_FIELD_TV_SEC = 0,
    XUTMP_FIELD_TV_USEC,
    XUTMP_FIELD_TYPE,
    XUTMP_FIELD_PID,
    XUTMP_FIELD_SESSION,
    XUTMP_FIELD_EXIT_TERMINATION,
    XUTMP_FIELD_EXIT_STATUS,
    XUTMP_FIELD_ADDR_V6,
    XUTMP_FIELD_LINE,
    XUTMP_FIELD_ID,
    XUTMP_FIELD_USER,
    XUTMP_FIELD_HOST,
    XUTMP_FIELD_RESERVED,
    XUTMP_FIELD_COUNT
};

/*
 * A handle keeps a cursor (and in the utmps flavour a connection): use each
 * handle from one thread at a time. Different handles may be used from
 * different threads at once. Do not cancel a thread inside these calls.
 */
typedef struct xutmp_handle xutmp_handle;

/* What this build of the library is. */
int xutmp_abi_version(void);
int xutmp_flavour(void);
size_t xutmp_record_size(void);
size_t xutmp_record_align(void);
/* Offset of a field of struct xutmp_record, or (size_t)-1 for an unknown field. */
size_t xutmp_field_offset(int field);
/* Size of the platform record behind the flavour (struct utmpx), for diagnostics. */
size_t xutmp_platform_record_size(void);

/* One constant of this header, as the library was compiled with it. */
struct xutmp_constant {
    const char *name;
    int64_t value;
};
/*
 * Every constant of this header (the macros and enum xutmp_field), ending with
 * an entry whose name is NULL: bindings check their own copies against it.
 */
const struct xutmp_constant *xutmp_constants(void);

/*
 * Opens a handle. `utmp` and `wtmp` are file paths (libc flavour) or socket
 * paths (utmps flavour); NULL selects the platform default. `timeout_ms` bounds
 * every later operation on the handle (0 or less: 5000). Opening does no I/O.
 */
int xutmp_open(xutmp_handle **out, const char *utmp, const char *wtmp, int64_t timeout_ms);
int xutmp_set_timeout(xutmp_handle *h, int64_t timeout_ms);
/* Closes the handle and its connection, if any. NULL is allowed. */
void xutmp_close(xutmp_handle *h);

/* Moves the handle's utmp cursor to the first record. */
int xutmp_rewind(xutmp_handle *h);
/*
 * Reads the record at the cursor and advances; XUTMP_ERR_END at the end. The
 * reads here and in the find functions (libc flavour) refuse a path that names
 * anything but a regular file (a directory, a device, a FIFO, a socket) with
 * XUTMP_ERR_NOT_RECORDS. Contents are not judged: a torn tail reads as the end.
 */
int xutmp_next(xutmp_handle *h, struct xutmp_record *out);
/*
 * Searches forward from the cursor for a LOGIN/USER_PROCESS record on `line`;
 * XUTMP_ERR_END if none.
 */
int xutmp_find_line(xutmp_handle *h, const char line[XUTMP_LINE_SIZE], struct xutmp_record *out);
/* Searches forward from the cursor with the utmpx id rule; XUTMP_ERR_END if none. */
int xutmp_find_id(xutmp_handle *h, int type, const char id[XUTMP_ID_SIZE], struct xutmp_record *out);
/*
 * Writes a record into utmp, searching from the first record: it replaces the
 * record the endpoint's slot rule picks (libc: the first with the same id;
 * utmps: the same id AND line) or is appended. The libc flavour answers
 * XUTMP_ERR_ID_TAKEN, writing nothing, when a live entry (INIT, LOGIN or USER_PROCESS)
 * on another line holds the id: glibc's rule would let the two overwrite each other.
 */
int xutmp_put(xutmp_handle *h, const struct xutmp_record *rec);
/* Appends one record to wtmp. */
int xutmp_append_wtmp(xutmp_handle *h, const struct xutmp_record *rec);

/*
 * What a write checks first (libc flavour), so that a path that holds
 * something else (a symlink to a text file, a lastlog file, a FIFO, a device)
 * is never changed. Symlinks are followed as the kernel resolves them at the
 * time of the call; a symlink to a real utmp or wtmp file works.
 *
 * - The path must name a regular file: anything else is refused before the
 *   lock is tried (a directory already fails the open with EISDIR).
 * - A record is plausible when its type is 0..9 (XUTMP_EMPTY..XUTMP_ACCOUNTING)
 *   and its microseconds are 0..999999. A record is an entry when it is
 *   plausible, its type is 1..9 and its seconds are not 0. An all-zero record
 *   is plausible but no entry: zero bytes are what a sparse lastlog file, a
 *   preallocated or zero-filled file and many other formats hold, so they are
 *   no evidence of a utmp or wtmp file. Every writer of these files writes
 *   entries only.
 * - The bytes after the last whole record are a torn tail (what a crash or a
 *   full disk leaves of glibc's one write), which an append cuts off as glibc
 *   does, only when the whole records checked include an entry and the tail is
 *   the start of a plausible record. A file shorter than one record (a tail
 *   alone) is refused.
 * - xutmp_put checks every record of utmp (it reads them all anyway) and the
 *   tail; a file that is not empty must hold at least one entry.
 *   xutmp_append_wtmp, whose file may be large, checks the first and the last
 *   whole record and the tail: both must be plausible, and the last must be an
 *   entry. It opens wtmp for reading as well, so the file must be readable by
 *   the caller.
 * - An empty file (size 0) is always accepted.
 *
 * A file that fails is refused with XUTMP_ERR_NOT_RECORDS and left as it was.
 */

#ifdef __cplusplus
}
#endif

#endif
