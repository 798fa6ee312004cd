/*
 * Private to libxutmp, never installed: what its files share. xutmp.c holds
 * the code common to both flavours; exactly one flavour file is linked with it,
 * xutmp-libc.c or xutmp-utmps.c. Each flavour file defines struct xutmp_handle
 * (with a struct xutmp_settings in it), the handle's life (xutmp_open,
 * xutmp_set_timeout, xutmp_close), its I/O (xutmp_rewind, xutmp_put,
 * xutmp_append_wtmp, xutmp__search), and what it reports of itself
 * (xutmp_flavour, xutmp_platform_record_size).
 */
#ifndef XUTMP_INTERNAL_H
#define XUTMP_INTERNAL_H

#include <errno.h>
#include <stdint.h>

#include "xutmp.h"

/* Shared between the library's files, yet not exported by libxutmp.so. */
#define XUTMP_INTERNAL __attribute__((visibility("hidden")))

/* What a handle of either flavour keeps of xutmp_open's arguments. */
struct xutmp_settings {
    char *utmp; /* a file path (libc) or a socket path (utmps) */
    char *wtmp;
    int64_t timeout_ms; /* as xutmp__effective_timeout returns it */
};

/*
 * Copies the paths, NULL standing for the flavour's defaults, and the
 * timeout. ENOMEM leaves nothing to free; after 0, xutmp__settings_free does.
 */
XUTMP_INTERNAL int xutmp__settings_init(struct xutmp_settings *s, const char *utmp,
                                        const char *wtmp, const char *default_utmp,
                                        const char *default_wtmp, int64_t timeout_ms);
XUTMP_INTERNAL void xutmp__settings_free(struct xutmp_settings *s);

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
