/*
 * The libutmps baseline of benches/session.rs: one session open and close
 * written with libutmps's own calls, the way a C login daemon linked with
 * libutmps writes it when each utmpx call has a connection of its own
 * (setutxent, pututxline, endutxent; updwtmpx): for each of the login and the
 * logout record, a utmpd connection for a rewind and a putline, closed, then
 * a wtmpd connection for the append, every answer awaited before the next
 * call. libutmps's connection-level calls are used so that the bench can name
 * its daemons' sockets; with no deadline given, as its utmpx calls pass.
 * The bench compiles this file only when pkg-config finds libutmps.
 */
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <utmps/utmps.h>

static void stamp(struct utmpx *ut)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    ut->ut_tv = tv;
}

static int put(const char *utmpd, const struct utmpx *ut)
{
    utmps conn = UTMPS_ZERO;
    int ok;

    if (!utmps_start(&conn, utmpd, 0, 0))
        return -1;
    ok = utmps_rewind(&conn, 0, 0) && utmps_putline(&conn, ut, 0, 0);
    utmps_end(&conn);
    return ok ? 0 : -1;
}

static int append(const char *wtmpd, const struct utmpx *ut)
{
    return utmps_updwtmpx(wtmpd, ut, 0, 0) ? 0 : -1;
}

/*
 * `n` logins and logouts of `user` on `line` (id: its last four bytes, as the
 * native backend's default); 0, or -1 at the first failure.
 */
int libutmps_session(const char *utmpd, const char *wtmpd, const char *user, const char *line, int n)
{
    size_t len = strlen(line);
    const char *id = len > 4 ? line + len - 4 : line;

    for (int i = 0; i < n; i++) {
        struct utmpx ut;

        memset(&ut, 0, sizeof ut);
        ut.ut_type = USER_PROCESS;
        ut.ut_pid = getpid();
        strncpy(ut.ut_line, line, sizeof ut.ut_line);
        strncpy(ut.ut_id, id, sizeof ut.ut_id);
        strncpy(ut.ut_user, user, sizeof ut.ut_user);
        strncpy(ut.ut_host, "bench.example", sizeof ut.ut_host);
        stamp(&ut);
        if (put(utmpd, &ut) != 0 || append(wtmpd, &ut) != 0)
            return -1;

        ut.ut_type = DEAD_PROCESS;
        stamp(&ut);
        if (put(utmpd, &ut) != 0 || append(wtmpd, &ut) != 0)
            return -1;
    }
    return 0;
}
