/*
 * xutmp: see xutmp.h. What both flavours share: the ABI queries, the
 * constants, the record check, the handle's life over the flavour's own
 * members, and the read calls over the flavour's search. The flavour is the
 * other file linked with this one: xutmp-libc.c (glibc's utmp and wtmp files)
 * or xutmp-utmps.c (skarnet's utmps daemons, through libutmps). See
 * xutmp-internal.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "xutmp-internal.h"

#define DEFAULT_TIMEOUT_MS 5000

int xutmp_abi_version(void)
{
    return XUTMP_ABI_VERSION;
}

size_t xutmp_record_size(void)
{
    return sizeof(struct xutmp_record);
}

size_t xutmp_record_align(void)
{
    return _Alignof(struct xutmp_record);
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

int xutmp__check_record(const struct xutmp_record *rec)
{
    static const char zero[sizeof rec->reserved];

    if (!xutmp__valid_type(rec->type) || rec->tv_usec < 0 || rec->tv_usec > 999999
        || memcmp(rec->reserved, zero, sizeof zero) != 0)
        return EINVAL;
    return 0;
}

int64_t xutmp__effective_timeout(int64_t timeout_ms)
{
    if (timeout_ms <= 0)
        return DEFAULT_TIMEOUT_MS;
    /* skalibs counts milliseconds in an int; keep both flavours equal. */
    return timeout_ms > INT_MAX ? INT_MAX : timeout_ms;
}

static int settings_init(struct xutmp_settings *s, const char *utmp, const char *wtmp,
                         int64_t timeout_ms)
{
    s->utmp = strdup(utmp != NULL ? utmp : xutmp__default_utmp);
    s->wtmp = strdup(wtmp != NULL ? wtmp : xutmp__default_wtmp);
    if (s->utmp == NULL || s->wtmp == NULL) {
        free(s->utmp);
        free(s->wtmp);
        return ENOMEM;
    }
    s->timeout_ms = xutmp__effective_timeout(timeout_ms);
    return 0;
}

int xutmp_open(xutmp_handle **out, const char *utmp, const char *wtmp, int64_t timeout_ms)
{
    xutmp_handle *h;

    if (out == NULL)
        return EINVAL;
    *out = NULL;
    h = xutmp__handle_new();
    if (h == NULL)
        return ENOMEM;
    if (settings_init(xutmp__settings(h), utmp, wtmp, timeout_ms) != 0) {
        free(h);
        return ENOMEM;
    }
    *out = h;
    return 0;
}

int xutmp_set_timeout(xutmp_handle *h, int64_t timeout_ms)
{
    if (h == NULL)
        return EINVAL;
    xutmp__settings(h)->timeout_ms = xutmp__effective_timeout(timeout_ms);
    return 0;
}

void xutmp_close(xutmp_handle *h)
{
    struct xutmp_settings *s;

    if (h == NULL)
        return;
    xutmp__handle_release(h);
    s = xutmp__settings(h);
    free(s->utmp);
    free(s->wtmp);
    free(h);
}

/* The checks both flavours' searches need, before any I/O. */
static int search(xutmp_handle *h, enum xutmp_search how, int type, const char *key,
                  struct xutmp_record *out)
{
    if (h == NULL || out == NULL || (how != XUTMP_SEARCH_NEXT && key == NULL))
        return EINVAL;
    if (how == XUTMP_SEARCH_ID && !xutmp__valid_type(type))
        return EINVAL;
    return xutmp__search(h, how, type, key, out);
}

int xutmp_next(xutmp_handle *h, struct xutmp_record *out)
{
    return search(h, XUTMP_SEARCH_NEXT, 0, NULL, out);
}

int xutmp_find_line(xutmp_handle *h, const char line[XUTMP_LINE_SIZE], struct xutmp_record *out)
{
    return search(h, XUTMP_SEARCH_LINE, 0, line, out);
}

int xutmp_find_id(xutmp_handle *h, int type, const char id[XUTMP_ID_SIZE], struct xutmp_record *out)
{
    return search(h, XUTMP_SEARCH_ID, type, id, out);
}
