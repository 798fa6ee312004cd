/*
 * xutmp, utmps flavour: skarnet's utmpd and wtmpd daemons, through libutmps's
 * native calls, which take a deadline. Linked with xutmp.c instead of
 * xutmp-libc.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdlib.h>

#include <utmps/config.h>
#include <utmps/utmps.h>

#include "xutmp-internal.h"
#include "xutmp-utmpx.h"

struct xutmp_handle {
    struct xutmp_settings settings;
    utmps conn; /* connected at the first request; fd -1 until then */
};

int xutmp_flavour(void)
{
    return XUTMP_FLAVOUR_UTMPS;
}

size_t xutmp_platform_record_size(void)
{
    return sizeof(struct utmpx);
}

XUTMP_HANDLE_LIFE(UTMPS_UTMPD_PATH, UTMPS_WTMPD_PATH, conn.fd)

static int start_clock(const xutmp_handle *h, tain *deadline, tain *stamp)
{
    tain timeout;

    if (!tain_now(stamp) || !tain_from_millisecs(&timeout, (int)h->settings.timeout_ms)
        || !tain_add(deadline, stamp, &timeout))
        return xutmp__failure_errno();
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
    int err = xutmp__failure_errno();

    if (err != ESRCH && err != EPERM)
        utmps_end(&h->conn);
    return err;
}

static int connect_lazily(xutmp_handle *h, const tain *deadline, tain *stamp)
{
    if (h->conn.fd >= 0)
        return 0;
    if (!utmps_start(&h->conn, h->settings.utmp, deadline, stamp)) {
        h->conn.fd = -1;
        return xutmp__failure_errno();
    }
    return 0;
}

void xutmp__handle_release(xutmp_handle *h)
{
    if (h->conn.fd >= 0)
        utmps_end(&h->conn);
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

int xutmp__search(xutmp_handle *h, enum xutmp_search how, int type, const char *key,
                  struct xutmp_record *out)
{
    struct utmpx ut;
    tain deadline, stamp;
    int ok, err;

    if ((err = start_clock(h, &deadline, &stamp)) != 0)
        return err;
    if ((err = connect_lazily(h, &deadline, &stamp)) != 0)
        return err;
    switch (how) {
    case XUTMP_SEARCH_LINE:
        ok = utmps_getline(&h->conn, key, &ut, &deadline, &stamp);
        break;
    case XUTMP_SEARCH_ID:
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
    if (!utmps_updwtmpx(h->settings.wtmp, &ut, &deadline, &stamp))
        return xutmp__failure_errno();
    return 0;
}
