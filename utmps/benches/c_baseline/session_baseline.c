/*
 * The baseline of benches/session.rs: one session open and close made with
 * glibc's utmpx calls directly, as a C login daemon writes them. The bench
 * compiles this file into a shared object at run time and loads it with dlopen,
 * so both sides are timed in one process by one harness.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <utmpx.h>

static void stamp(struct utmpx *ut)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    /* glibc keeps 32-bit fields in ut_tv even on 64-bit hosts. */
    ut->ut_tv.tv_sec = tv.tv_sec;
    ut->ut_tv.tv_usec = tv.tv_usec;
}

static int put(const char *utmp, const struct utmpx *ut)
{
    int ok;

    if (utmpxname(utmp) != 0)
        return -1;
    setutxent();
    ok = pututxline(ut) != NULL;
    endutxent();
    return ok ? 0 : -1;
}

/* `n` logins and logouts on pts/1 as root; 0, or -1 at the first failure. */
int baseline_session(const char *utmp, const char *wtmp, int n)
{
    for (int i = 0; i < n; i++) {
        struct utmpx ut;

        memset(&ut, 0, sizeof ut);
        ut.ut_type = USER_PROCESS;
        ut.ut_pid = getpid();
        ut.ut_session = getsid(0);
        strncpy(ut.ut_line, "pts/1", sizeof ut.ut_line);
        strncpy(ut.ut_id, "ts/1", sizeof ut.ut_id);
        strncpy(ut.ut_user, "root", sizeof ut.ut_user);
        strncpy(ut.ut_host, "bench.example", sizeof ut.ut_host);
        stamp(&ut);
        if (put(utmp, &ut) != 0)
            return -1;
        updwtmpx(wtmp, &ut);

        ut.ut_type = DEAD_PROCESS;
        stamp(&ut);
        if (put(utmp, &ut) != 0)
            return -1;
        updwtmpx(wtmp, &ut);
    }
    return 0;
}
