/*
 * Private to libxutmp, never installed: what its files share. xutmp.c holds
 * the code common to both flavours; exactly one flavour file is linked with it,
 * xutmp-libc.c or xutmp-utmps.c. Each flavour file defines struct xutmp_handle
 * (a struct xutmp_settings first), what its handle holds beyond the settings
 * (XUTMP_HANDLE_LIFE, xutmp__handle_release), its I/O
 * (xutmp_rewind, xutmp_put, xutmp_append_wtmp, xutmp__search), and what it
 * reports of itself (xutmp_flavour, xutmp_platform_record_size).
 */
#ifndef XUTMP_INTERNAL_H
#define XUTMP_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "xutmp.h"

/* Shared between the library's files, yet not exported by libxutmp.so. */
#define XUTMP_INTERNAL __attribute__((visibility("hidden")))

/*
 * What a handle of either flavour keeps of xutmp_open's arguments: the first
 * member of every struct xutmp_handle, so that a pointer to the handle is one to
 * its settings (C11 6.7.2.1), and xutmp.c opens, times and closes handles of
 * either flavour.
 */
struct xutmp_settings {
    char *utmp; /* a file path (libc) or a socket path (utmps) */
    char *wtmp;
    int64_t timeout_ms; /* as xutmp__effective_timeout returns it */
};

static inline struct xutmp_settings *xutmp__settings(xutmp_handle *h)
{
    return (struct xutmp_settings *)(void *)h;
}

/* The endpoints a NULL path in xutmp_open stands for. */
XUTMP_INTERNAL extern const char xutmp__default_utmp[];
XUTMP_INTERNAL extern const char xutmp__default_wtmp[];

/* A zeroed handle whose own members hold nothing yet, or NULL without memory. */
XUTMP_INTERNAL xutmp_handle *xutmp__handle_new(void);

/*
 * Written once in each flavour file, after its struct xutmp_handle: defines
 * the default endpoints and xutmp__handle_new, whose handle has the descriptor
 * `fd` (a member path) at -1, and checks that the settings come first.
 */
#define XUTMP_HANDLE_LIFE(default_utmp, default_wtmp, fd)                          \
    _Static_assert(offsetof(struct xutmp_handle, settings) == 0,                   \
                   "struct xutmp_handle begins with its settings");                \
    const char xutmp__default_utmp[] = default_utmp;                               \
    const char xutmp__default_wtmp[] = default_wtmp;                               \
    xutmp_handle *xutmp__handle_new(void)                                          \
    {                                                                              \
        xutmp_handle *h = calloc(1, sizeof *h);                                    \
        if (h != NULL)                                                             \
            h->fd = -1;                                                            \
        return h;                                                                  \
    }

/* Defined by the flavour: the release of what the handle's own members hold,
 * before xutmp_close frees the settings and the handle. */
XUTMP_INTERNAL void xutmp__handle_release(xutmp_handle *h);

/* The timeout a handle keeps: the default for 0 or less, at most INT_MAX. */
XUTMP_INTERNAL int64_t xutmp__effective_timeout(int64_t timeout_ms);

/* Whether `type` is one of xutmp.h's record types. */
static inline int xutmp__valid_type(int type)
{
    return type >= XUTMP_EMPTY && type <= XUTMP_ACCOUNTING;
}

/* errno after a call that reported failure, never 0. */
static inline int xutmp__failure_errno(void)
{
    return errno > 0 ? errno : EIO;
}

/*
 * EINVAL for a record xutmp.h does not allow (an unknown type, microseconds
 * outside 0..999999, reserved bytes that are not zero), else 0.
 */
XUTMP_INTERNAL int xutmp__check_record(const struct xutmp_record *rec);

enum xutmp_search { XUTMP_SEARCH_NEXT, XUTMP_SEARCH_LINE, XUTMP_SEARCH_ID };

/*
 * Defined by the flavour: from the handle's cursor, the next record
 * (XUTMP_SEARCH_NEXT), the next LOGIN or USER_PROCESS record on line `key`
 * (XUTMP_SEARCH_LINE), or the next record the utmpx id rule matches for `type`
 * and id `key` (XUTMP_SEARCH_ID); XUTMP_ERR_END when there is none. xutmp.c has
 * checked the arguments: `h` and `out` are set, `key` too unless NEXT, and
 * `type` is valid for ID.
 */
XUTMP_INTERNAL int xutmp__search(xutmp_handle *h, enum xutmp_search how, int type,
                                 const char *key, struct xutmp_record *out);

#endif
