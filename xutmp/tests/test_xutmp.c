/*
 * Tests of xutmp against temp files (libc flavour) or sockets (utmps flavour).
 * Prints "N passed, M failed" and exits nonzero on any failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Set by the Makefile for FLAVOUR=utmps. */
#ifdef TEST_UTMPS
#include <utmps/utmpx.h>
#else
#include <utmpx.h>
#endif
#include "xutmp.h"

static int passed, failed;

/* A fixed-width, not necessarily NUL-terminated, id argument. */
#define ID(s) ((const char[XUTMP_ID_SIZE]){s})

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

#define CHECK_ERR(expr, want)                                                \
    do {                                                                     \
        int got_ = (expr), want_ = (want);                                   \
        CHECK(got_ == want_, "got %d (%s), want %d (%s)", got_,              \
              strerror(got_), want_, strerror(want_));                       \
    } while (0)

static char dir[256];

static void path_in_dir(char *buf, const char *name)
{
    snprintf(buf, PATH_MAX, "%s/%s", dir, name);
}

static long long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Fixed-width fields take the bytes, without a NUL when full. */
static void set_field(char *dst, size_t size, const char *src)
{
    memcpy(dst, src, strnlen(src, size));
}

static struct xutmp_record make_rec(int type, const char *line, const char *id,
                                    const char *user, int32_t pid)
{
    struct xutmp_record r;

    memset(&r, 0, sizeof r);
    r.type = type;
    r.pid = pid;
    r.session = pid + 1;
    r.tv_sec = 1700000000;
    r.tv_usec = 123456;
    r.addr_v6[0] = htonl(0x7f000001);
    set_field(r.line, sizeof r.line, line);
    set_field(r.id, sizeof r.id, id);
    set_field(r.user, sizeof r.user, user);
    snprintf(r.host, sizeof r.host, "host-%d.example", (int)pid);
    return r;
}

static void test_abi(void)
{
    static const size_t offsets[XUTMP_FIELD_COUNT] = {
        offsetof(struct xutmp_record, tv_sec),
        offsetof(struct xutmp_record, tv_usec),
        offsetof(struct xutmp_record, type),
        offsetof(struct xutmp_record, pid),
        offsetof(struct xutmp_record, session),
        offsetof(struct xutmp_record, exit_termination),
        offsetof(struct xutmp_record, exit_status),
        offsetof(struct xutmp_record, addr_v6),
        offsetof(struct xutmp_record, line),
        offsetof(struct xutmp_record, id),
        offsetof(struct xutmp_record, user),
        offsetof(struct xutmp_record, host),
        offsetof(struct xutmp_record, reserved),
    };

    CHECK(xutmp_abi_version() == XUTMP_ABI_VERSION, "abi %d", xutmp_abi_version());
#ifdef TEST_UTMPS
    CHECK(xutmp_flavour() == XUTMP_FLAVOUR_UTMPS, "flavour %d", xutmp_flavour());
#else
    CHECK(xutmp_flavour() == XUTMP_FLAVOUR_LIBC, "flavour %d", xutmp_flavour());
#endif
    CHECK(xutmp_record_size() == sizeof(struct xutmp_record), "size %zu", xutmp_record_size());
    CHECK(xutmp_record_align() == _Alignof(struct xutmp_record), "align %zu",
          xutmp_record_align());
    CHECK(xutmp_platform_record_size() == sizeof(struct utmpx), "platform size %zu",
          xutmp_platform_record_size());
    for (int f = 0; f < XUTMP_FIELD_COUNT; f++)
        CHECK(xutmp_field_offset(f) == offsets[f], "field %d at %zu, want %zu", f,
              xutmp_field_offset(f), offsets[f]);
    CHECK(xutmp_field_offset(XUTMP_FIELD_COUNT) == (size_t)-1, "past the last field");
    CHECK(xutmp_field_offset(-1) == (size_t)-1, "negative field");
}

/* The table must name each constant once, with the value this test was compiled with. */
static void test_constants(void)
{
#define C(name) { #name, name }
    static const struct xutmp_constant want[] = {
        C(XUTMP_ABI_VERSION), C(XUTMP_FLAVOUR_LIBC), C(XUTMP_FLAVOUR_UTMPS),
        C(XUTMP_LINE_SIZE), C(XUTMP_ID_SIZE), C(XUTMP_USER_SIZE), C(XUTMP_HOST_SIZE),
        C(XUTMP_EMPTY), C(XUTMP_RUN_LVL), C(XUTMP_BOOT_TIME), C(XUTMP_NEW_TIME),
        C(XUTMP_OLD_TIME), C(XUTMP_INIT_PROCESS), C(XUTMP_LOGIN_PROCESS),
        C(XUTMP_USER_PROCESS), C(XUTMP_DEAD_PROCESS), C(XUTMP_ACCOUNTING),
        C(XUTMP_ERR_END), C(XUTMP_ERR_ID_TAKEN), C(XUTMP_ERR_NOT_RECORDS),
        C(XUTMP_FIELD_TV_SEC), C(XUTMP_FIELD_TV_USEC), C(XUTMP_FIELD_TYPE),
        C(XUTMP_FIELD_PID), C(XUTMP_FIELD_SESSION), C(XUTMP_FIELD_EXIT_TERMINATION),
        C(XUTMP_FIELD_EXIT_STATUS), C(XUTMP_FIELD_ADDR_V6), C(XUTMP_FIELD_LINE),
        C(XUTMP_FIELD_ID), C(XUTMP_FIELD_USER), C(XUTMP_FIELD_HOST),
        C(XUTMP_FIELD_RESERVED), C(XUTMP_FIELD_COUNT),
    };
#undef C
    const size_t nwant = sizeof want / sizeof want[0];
    const struct xutmp_constant *got = xutmp_constants();
    size_t n = 0;

    CHECK(got != NULL, "table");
    if (got == NULL)
        return;
    for (; got[n].name != NULL && n <= nwant; n++) {
        size_t seen = 0;

        for (size_t i = 0; i < nwant; i++) {
            if (strcmp(want[i].name, got[n].name) == 0) {
                seen++;
                CHECK(got[n].value == want[i].value, "%s is %lld, want %lld", got[n].name,
                      (long long)got[n].value, (long long)want[i].value);
            }
        }
        for (size_t j = 0; j < n; j++)
            seen += strcmp(got[j].name, got[n].name) == 0;
        CHECK(seen == 1, "%s: %zu matches or repeats", got[n].name, seen);
    }
    CHECK(n == nwant, "%zu constants, want %zu", n, nwant);
}

static void test_arguments(void)
{
    xutmp_handle *h = NULL;
    struct xutmp_record r = make_rec(XUTMP_USER_PROCESS, "pts/9", "ts/9", "root", 9);

    CHECK_ERR(xutmp_open(NULL, NULL, NULL, 0), EINVAL);
    CHECK_ERR(xutmp_put(NULL, &r), EINVAL);
    CHECK_ERR(xutmp_next(NULL, &r), EINVAL);
    CHECK_ERR(xutmp_rewind(NULL), EINVAL);
    CHECK_ERR(xutmp_set_timeout(NULL, 10), EINVAL);
    xutmp_close(NULL);
    /* Defaults, and opening does no I/O. */
    CHECK_ERR(xutmp_open(&h, NULL, NULL, -1), 0);
    CHECK(h != NULL, "handle");
    CHECK_ERR(xutmp_set_timeout(h, 0), 0);
    CHECK_ERR(xutmp_put(h, NULL), EINVAL);
    CHECK_ERR(xutmp_find_line(h, NULL, &r), EINVAL);
    CHECK_ERR(xutmp_find_id(h, XUTMP_USER_PROCESS, NULL, &r), EINVAL);
    xutmp_close(h);
}

/* Checks that are refused before any I/O, so the same on both flavours. */
static void test_invalid_records(xutmp_handle *h)
{
    struct xutmp_record good = make_rec(XUTMP_USER_PROCESS, "pts/8", "ts/8", "root", 8);
    struct xutmp_record r;
    char id[XUTMP_ID_SIZE] = "x";

    r = good;
    r.type = -1;
    CHECK_ERR(xutmp_put(h, &r), EINVAL);
    r.type = 10;
    CHECK_ERR(xutmp_put(h, &r), EINVAL);
    CHECK_ERR(xutmp_append_wtmp(h, &r), EINVAL);
    r = good;
    r.tv_usec = -1;
    CHECK_ERR(xutmp_put(h, &r), EINVAL);
    r.tv_usec = 1000000;
    CHECK_ERR(xutmp_append_wtmp(h, &r), EINVAL);
    r = good;
    r.reserved[3] = 1;
    CHECK_ERR(xutmp_put(h, &r), EINVAL);
    CHECK_ERR(xutmp_find_id(h, 10, id, &r), EINVAL);
    CHECK_ERR(xutmp_find_id(h, -1, id, &r), EINVAL);
}

#ifndef TEST_UTMPS

static long long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void make_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        perror(path);
        exit(2);
    }
    close(fd);
}

static void append_junk(const char *path, size_t n)
{
    char junk[64];
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

    memset(junk, 'J', sizeof junk);
    if (fd < 0 || write(fd, junk, n) != (ssize_t)n) {
        perror(path);
        exit(2);
    }
    close(fd);
}

/* What a crash in the middle of glibc's one write leaves: the start of a record. */
static void append_torn(const char *path, size_t n)
{
    struct utmpx ut;
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

    memset(&ut, 0, sizeof ut);
    ut.ut_type = XUTMP_USER_PROCESS;
    ut.ut_pid = 77;
    memcpy(ut.ut_line, "pts/77", 6);
    if (n > sizeof ut || fd < 0 || write(fd, &ut, n) != (ssize_t)n) {
        perror(path);
        exit(2);
    }
    close(fd);
}

static int same_record(const struct xutmp_record *a, const struct xutmp_record *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static const long long REC = (long long)sizeof(struct utmpx);

static void test_put_next_rewind(void)
{
    char utmp[PATH_MAX], wtmp[PATH_MAX];
    xutmp_handle *h;
    struct xutmp_record in = make_rec(XUTMP_USER_PROCESS, "pts/1", "ts/1", "alice", 1001);
    struct xutmp_record out;

    path_in_dir(utmp, "utmp-basic");
    path_in_dir(wtmp, "wtmp-basic");
    make_file(utmp);
    make_file(wtmp);
    in.exit_termination = 3;
    in.exit_status = 4;
    in.tv_sec = -5;
    CHECK_ERR(xutmp_open(&h, utmp, wtmp, 2000), 0);
    CHECK_ERR(xutmp_next(h, &out), ESRCH);
    CHECK_ERR(xutmp_put(h, &in), 0);
    CHECK(file_size(utmp) == REC, "utmp size %lld", file_size(utmp));
    CHECK_ERR(xutmp_next(h, &out), 0);
    CHECK(same_record(&in, &out), "record read back differs");
    CHECK_ERR(xutmp_next(h, &out), ESRCH);
    CHECK_ERR(xutmp_next(h, &out), ESRCH);
    CHECK_ERR(xutmp_rewind(h), 0);
    memset(&out, 0xff, sizeof out);
    CHECK_ERR(xutmp_next(h, &out), 0);
    CHECK(same_record(&in, &out), "record read back after rewind differs");

    /* The largest and smallest 32-bit seconds still fit glibc's record. */
    in.tv_sec = INT32_MAX;
    CHECK_ERR(xutmp_put(h, &in), 0);
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_next(h, &out), 0);
    CHECK(out.tv_sec == INT32_MAX, "tv_sec %lld", (long long)out.tv_sec);
    in.tv_sec = INT32_MIN;
    CHECK_ERR(xutmp_append_wtmp(h, &in), 0);

    /* Out of range seconds: refused, nothing written. */
    in.tv_sec = (int64_t)INT32_MAX + 1;
    CHECK_ERR(xutmp_put(h, &in), EOVERFLOW);
    CHECK_ERR(xutmp_append_wtmp(h, &in), EOVERFLOW);
    in.tv_sec = (int64_t)INT32_MIN - 1;
    CHECK_ERR(xutmp_put(h, &in), EOVERFLOW);
    in.tv_sec = INT64_MAX;
    CHECK_ERR(xutmp_append_wtmp(h, &in), EOVERFLOW);
    test_invalid_records(h);
    CHECK(file_size(utmp) == REC, "utmp size %lld after refused puts", file_size(utmp));
    CHECK(file_size(wtmp) == REC, "wtmp size %lld after refused appends", file_size(wtmp));
    xutmp_close(h);
}

static void test_find_rules(void)
{
    char utmp[PATH_MAX];
    xutmp_handle *h;
    struct xutmp_record boot = make_rec(XUTMP_BOOT_TIME, "~", "~~", "reboot", 0);
    struct xutmp_record login = make_rec(XUTMP_LOGIN_PROCESS, "tty1", "tty1", "LOGIN", 11);
    struct xutmp_record user = make_rec(XUTMP_USER_PROCESS, "pts/2", "ts/2", "bob", 12);
    struct xutmp_record dead = make_rec(XUTMP_DEAD_PROCESS, "pts/3", "ts/3", "carol", 13);
    struct xutmp_record init = make_rec(XUTMP_INIT_PROCESS, "", "si", "", 14);
    struct xutmp_record out;
    char line[XUTMP_LINE_SIZE];
    long long size;

    path_in_dir(utmp, "utmp-find");
    make_file(utmp);
    CHECK_ERR(xutmp_open(&h, utmp, NULL, 2000), 0);
    CHECK_ERR(xutmp_put(h, &boot), 0);
    CHECK_ERR(xutmp_put(h, &login), 0);
    CHECK_ERR(xutmp_put(h, &user), 0);
    CHECK_ERR(xutmp_put(h, &dead), 0);
    CHECK_ERR(xutmp_put(h, &init), 0);
    CHECK(file_size(utmp) == 5 * REC, "utmp size %lld", file_size(utmp));

    memset(line, 0, sizeof line);
    strcpy(line, "pts/2");
    CHECK_ERR(xutmp_find_line(h, line, &out), 0);
    CHECK(same_record(&user, &out), "find_line pts/2");
    /* Searches go forward from the cursor, which is now past pts/2. */
    CHECK_ERR(xutmp_find_line(h, line, &out), ESRCH);
    CHECK_ERR(xutmp_find_id(h, XUTMP_BOOT_TIME, ID("xx"), &out), ESRCH);
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_id(h, XUTMP_BOOT_TIME, ID("xx"), &out), 0);
    CHECK(same_record(&boot, &out), "find_id BOOT_TIME matches by type alone");
    CHECK_ERR(xutmp_next(h, &out), 0);
    CHECK(same_record(&login, &out), "next after find_id continues past the match");

    /* Line searches see LOGIN and USER records only. */
    CHECK_ERR(xutmp_rewind(h), 0);
    memset(line, 0, sizeof line);
    strcpy(line, "tty1");
    CHECK_ERR(xutmp_find_line(h, line, &out), 0);
    CHECK(same_record(&login, &out), "find_line tty1");
    CHECK_ERR(xutmp_rewind(h), 0);
    memset(line, 0, sizeof line);
    strcpy(line, "pts/3");
    CHECK_ERR(xutmp_find_line(h, line, &out), ESRCH);

    /* The four process types match each other by id. */
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_id(h, XUTMP_DEAD_PROCESS, ID("ts/2"), &out), 0);
    CHECK(same_record(&user, &out), "DEAD_PROCESS id finds the USER_PROCESS record");
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_id(h, XUTMP_USER_PROCESS, ID("ts/3"), &out), 0);
    CHECK(same_record(&dead, &out), "USER_PROCESS id finds the DEAD_PROCESS record");
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_id(h, XUTMP_LOGIN_PROCESS, ID("si"), &out), 0);
    CHECK(same_record(&init, &out), "LOGIN_PROCESS id finds the INIT_PROCESS record");
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_id(h, XUTMP_NEW_TIME, ID("~~"), &out), ESRCH);
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_id(h, XUTMP_RUN_LVL, ID("~~"), &out), ESRCH);
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_id(h, XUTMP_EMPTY, ID("ts/2"), &out), ESRCH);

    /* A logout with the login's id reuses its slot. */
    size = file_size(utmp);
    user.type = XUTMP_DEAD_PROCESS;
    user.tv_sec += 60;
    CHECK_ERR(xutmp_put(h, &user), 0);
    CHECK(file_size(utmp) == size, "utmp grew from %lld to %lld", size, file_size(utmp));
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_id(h, XUTMP_USER_PROCESS, ID("ts/2"), &out), 0);
    CHECK(same_record(&user, &out), "the slot holds the DEAD_PROCESS record");
    CHECK_ERR(xutmp_rewind(h), 0);
    memset(line, 0, sizeof line);
    strcpy(line, "pts/2");
    CHECK_ERR(xutmp_find_line(h, line, &out), ESRCH);

    /* A torn tail is the end of the file, not an error. */
    append_junk(utmp, 10);
    CHECK_ERR(xutmp_rewind(h), 0);
    for (int i = 0; i < 5; i++)
        CHECK_ERR(xutmp_next(h, &out), 0);
    CHECK_ERR(xutmp_next(h, &out), ESRCH);
    xutmp_close(h);
}

static void test_wtmp(void)
{
    char wtmp[PATH_MAX];
    xutmp_handle *h, *reader;
    struct xutmp_record in = make_rec(XUTMP_USER_PROCESS, "pts/4", "ts/4", "dave", 21);
    struct xutmp_record out;

    path_in_dir(wtmp, "wtmp-append");
    make_file(wtmp);
    CHECK_ERR(xutmp_open(&h, NULL, wtmp, 2000), 0);
    for (int i = 1; i <= 3; i++) {
        in.pid = 20 + i;
        CHECK_ERR(xutmp_append_wtmp(h, &in), 0);
        CHECK(file_size(wtmp) == i * REC, "wtmp size %lld after %d appends", file_size(wtmp), i);
    }
    /* glibc's rule: cut a torn tail back to whole records before appending. */
    append_torn(wtmp, 7);
    in.pid = 99;
    CHECK_ERR(xutmp_append_wtmp(h, &in), 0);
    CHECK(file_size(wtmp) == 4 * REC, "wtmp size %lld after a torn tail", file_size(wtmp));
    CHECK_ERR(xutmp_open(&reader, wtmp, NULL, 2000), 0);
    for (int i = 1; i <= 4; i++) {
        CHECK_ERR(xutmp_next(reader, &out), 0);
        in.pid = i < 4 ? 20 + i : 99;
        CHECK(same_record(&in, &out), "wtmp record %d differs", i);
    }
    CHECK_ERR(xutmp_next(reader, &out), ESRCH);
    xutmp_close(reader);
    xutmp_close(h);

    /* A device is no wtmp file, not even /dev/full: refused before any write. */
    CHECK_ERR(xutmp_open(&h, NULL, "/dev/full", 2000), 0);
    CHECK_ERR(xutmp_append_wtmp(h, &in), EMEDIUMTYPE);
    xutmp_close(h);
}

/*
 * A write that fails half-way (here at the file size limit, as on a full disk)
 * is reported with its errno and cut back: no half record stays behind. In a
 * child: the limit is process-wide.
 */
static void test_failed_write_is_cut_back(void)
{
    char utmp[PATH_MAX], wtmp[PATH_MAX];
    struct xutmp_record in = make_rec(XUTMP_USER_PROCESS, "pts/8", "ts/8", "gina", 81);
    xutmp_handle *h;
    pid_t pid;
    int status = 0;

    path_in_dir(utmp, "utmp-limit");
    path_in_dir(wtmp, "wtmp-limit");
    make_file(utmp);
    make_file(wtmp);
    CHECK_ERR(xutmp_open(&h, utmp, wtmp, 2000), 0);
    CHECK_ERR(xutmp_put(h, &in), 0);
    CHECK_ERR(xutmp_append_wtmp(h, &in), 0);
    xutmp_close(h);
    pid = fork();
    if (pid == 0) {
        struct rlimit lim = { (rlim_t)REC + 100, (rlim_t)REC + 100 };
        int put, append;

        signal(SIGXFSZ, SIG_IGN);
        in.pid = 82;
        memcpy(in.id, "ts/9", 4);
        memcpy(in.line, "pts/9", 5);
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0 || xutmp_open(&h, utmp, wtmp, 2000) != 0)
            _exit(3);
        put = xutmp_put(h, &in);
        append = xutmp_append_wtmp(h, &in);
        xutmp_close(h);
        _exit(put == EFBIG && append == EFBIG ? 0 : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the child's writes did not fail with EFBIG (status %d)", status);
    CHECK(file_size(utmp) == REC, "utmp size %lld after a failed append", file_size(utmp));
    CHECK(file_size(wtmp) == REC, "wtmp size %lld after a failed append", file_size(wtmp));
}

static void test_missing_files(void)
{
    char utmp[PATH_MAX], wtmp[PATH_MAX], line[XUTMP_LINE_SIZE] = "pts/5";
    xutmp_handle *h;
    struct xutmp_record r = make_rec(XUTMP_USER_PROCESS, "pts/5", "ts/5", "erin", 31);

    path_in_dir(utmp, "no-such-utmp");
    path_in_dir(wtmp, "no-such-wtmp");
    CHECK_ERR(xutmp_open(&h, utmp, wtmp, 2000), 0);
    CHECK_ERR(xutmp_put(h, &r), ENOENT);
    CHECK_ERR(xutmp_next(h, &r), ENOENT);
    CHECK_ERR(xutmp_find_line(h, line, &r), ENOENT);
    CHECK_ERR(xutmp_find_id(h, XUTMP_USER_PROCESS, ID("ts/5"), &r), ENOENT);
    CHECK_ERR(xutmp_append_wtmp(h, &r), ENOENT);
    CHECK(file_size(utmp) < 0 && file_size(wtmp) < 0, "a missing file was created");
    xutmp_close(h);
}

/* The whole content of a file, or NULL; *len is its size. */
static char *slurp(const char *path, size_t *len)
{
    char *buf = NULL;
    long long size = file_size(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *len = 0;
    if (fd >= 0 && size >= 0 && (buf = malloc((size_t)size + 1)) != NULL) {
        ssize_t n = read(fd, buf, (size_t)size + 1);

        if (n == size) {
            *len = (size_t)n;
        } else {
            free(buf);
            buf = NULL;
        }
    }
    if (fd >= 0)
        close(fd);
    return buf;
}

static void write_file(const char *path, const void *bytes, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0 || write(fd, bytes, len) != (ssize_t)len) {
        perror(path);
        exit(2);
    }
    close(fd);
}

static const char PASSWD_TEXT[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "bin:x:2:2:bin:/bin:/usr/sbin/nologin\n"
    "sys:x:3:3:sys:/dev:/usr/sbin/nologin\n"
    "sync:x:4:65534:sync:/bin:/bin/sync\n"
    "games:x:5:60:games:/usr/games:/usr/sbin/nologin\n"
    "man:x:6:12:man:/var/cache/man:/usr/sbin/nologin\n"
    "lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin\n"
    "mail:x:8:8:mail:/var/mail:/usr/sbin/nologin\n"
    "news:x:9:9:news:/var/spool/news:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n";

/* Both writes through `path` fail with `want`, quickly, and `target` keeps its bytes. */
static void check_refused(const char *path, const char *target, int want, const char *what)
{
    struct xutmp_record r = make_rec(XUTMP_USER_PROCESS, "pts/7", "ts/7", "mallory", 71);
    size_t before_len = 0, after_len = 0;
    char *before = target != NULL ? slurp(target, &before_len) : NULL;
    char *after;
    xutmp_handle *h;
    long long start = now_ms();

    CHECK_ERR(xutmp_open(&h, path, path, 2000), 0);
    CHECK_ERR(xutmp_put(h, &r), want);
    r.type = XUTMP_DEAD_PROCESS;
    CHECK_ERR(xutmp_put(h, &r), want);
    CHECK_ERR(xutmp_append_wtmp(h, &r), want);
    xutmp_close(h);
    CHECK(now_ms() - start < 1000, "%s: refusing took %lld ms", what, now_ms() - start);
    if (target != NULL) {
        after = slurp(target, &after_len);
        CHECK(before != NULL && after != NULL && before_len == after_len
                  && memcmp(before, after, before_len) == 0,
              "%s: the file was changed (%zu bytes, now %zu)", what, before_len, after_len);
        free(after);
    }
    free(before);
}

static void test_hostile_paths(void)
{
    char text[PATH_MAX], link[PATH_MAX], fifo[PATH_MAX], sub[PATH_MAX], real[PATH_MAX];
    char big[3 * sizeof(struct utmpx)];
    struct xutmp_record in = make_rec(XUTMP_USER_PROCESS, "pts/3", "ts/3", "carol", 31);
    struct xutmp_record out;
    xutmp_handle *h;

    path_in_dir(text, "passwd-copy");
    path_in_dir(link, "utmp-link");
    path_in_dir(fifo, "utmp-fifo");
    path_in_dir(sub, "utmp-dir");
    path_in_dir(real, "utmp-real");

    /* A copy of a passwd file behind a symlink: shorter than one record, then longer. */
    write_file(text, PASSWD_TEXT, 200);
    if (symlink(text, link) != 0) {
        perror(link);
        exit(2);
    }
    check_refused(link, text, EMEDIUMTYPE, "short text");
    write_file(text, PASSWD_TEXT, sizeof PASSWD_TEXT - 1);
    check_refused(link, text, EMEDIUMTYPE, "text");
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = PASSWD_TEXT[i % (sizeof PASSWD_TEXT - 1)];
    write_file(text, big, 3 * REC); /* whole "records" only: no tail to give it away */
    check_refused(link, text, EMEDIUMTYPE, "text of whole records");

    /* Good records, then text where the last whole record would be (wtmp checks the ends). */
    unlink(text);
    make_file(text);
    CHECK_ERR(xutmp_open(&h, text, text, 2000), 0);
    CHECK_ERR(xutmp_put(h, &in), 0);
    CHECK_ERR(xutmp_append_wtmp(h, &in), 0);
    xutmp_close(h);
    {
        int fd = open(text, O_WRONLY | O_APPEND | O_CLOEXEC);

        CHECK(fd >= 0 && write(fd, big, REC) == REC, "appending text");
        if (fd >= 0)
            close(fd);
    }
    check_refused(link, text, EMEDIUMTYPE, "records then text");
    /* A tail that is no start of a record. */
    make_file(text);
    CHECK_ERR(xutmp_open(&h, text, text, 2000), 0);
    CHECK_ERR(xutmp_put(h, &in), 0);
    xutmp_close(h);
    append_junk(text, 10);
    check_refused(link, text, EMEDIUMTYPE, "junk tail");

    /* Not regular files: no write, no hang on the FIFO. */
    if (mkfifo(fifo, 0644) != 0 || mkdir(sub, 0755) != 0) {
        perror(fifo);
        exit(2);
    }
    check_refused(fifo, NULL, EMEDIUMTYPE, "fifo");
    check_refused(sub, NULL, EISDIR, "directory");
    check_refused("/dev/null", NULL, EMEDIUMTYPE, "/dev/null");

    /* A symlink to a real utmp file works, and a torn tail is still accepted. */
    make_file(real);
    unlink(link);
    if (symlink(real, link) != 0) {
        perror(link);
        exit(2);
    }
    CHECK_ERR(xutmp_open(&h, link, link, 2000), 0);
    CHECK_ERR(xutmp_put(h, &in), 0);
    append_torn(real, 100);
    in.type = XUTMP_DEAD_PROCESS;
    CHECK_ERR(xutmp_put(h, &in), 0);
    CHECK(file_size(real) == REC + 100, "a put into a slot changed the size to %lld", file_size(real));
    CHECK_ERR(xutmp_append_wtmp(h, &in), 0);
    CHECK(file_size(real) == 2 * REC, "the append left %lld bytes", file_size(real));
    xutmp_close(h);
    CHECK_ERR(xutmp_open(&h, real, NULL, 2000), 0);
    CHECK_ERR(xutmp_next(h, &out), 0);
    CHECK(same_record(&in, &out), "the slot through the symlink holds the DEAD_PROCESS record");
    xutmp_close(h);
    unlink(link);
    unlink(text);
    unlink(fifo);
    unlink(real);
    rmdir(sub);
}

#define LASTLOG_SIZE 292

/* A sparse lastlog file as login(1) leaves it: only `uid` has logged in. */
static void write_lastlog(const char *path, unsigned uid)
{
    char rec[LASTLOG_SIZE];
    uint32_t t = 1700000000;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    memset(rec, 0, sizeof rec);
    memcpy(rec, &t, sizeof t);
    memcpy(rec + 4, "pts/4", 5);
    memcpy(rec + 36, "h.example", 9);
    if (fd < 0 || pwrite(fd, rec, sizeof rec, (off_t)uid * LASTLOG_SIZE) != (ssize_t)sizeof rec) {
        perror(path);
        exit(2);
    }
    close(fd);
}

static void write_zeros(const char *path, size_t len)
{
    char *zeros = calloc(1, len);

    if (zeros == NULL) {
        perror("calloc");
        exit(2);
    }
    write_file(path, zeros, len);
    free(zeros);
}

/*
 * Zero bytes are no evidence of a utmp or wtmp file: a lastlog file (sparse,
 * mostly zero; one with a torn "tail", one of whole records), a zero-filled
 * file, a lone torn tail and a wtmp ending in an all-zero record are refused
 * as utmp and as wtmp and keep every byte.
 */
static void test_zero_bytes_are_no_records(void)
{
    char path[PATH_MAX];
    struct xutmp_record in = make_rec(XUTMP_USER_PROCESS, "pts/5", "ts/5", "erin", 51);
    struct utmpx zero;
    xutmp_handle *h;

    path_in_dir(path, "not-utmp");
    write_lastlog(path, 1000); /* 292,292 bytes: 761 records and 68 bytes */
    check_refused(path, path, EMEDIUMTYPE, "lastlog, uid 1000");
    write_lastlog(path, 1055); /* 308,352 bytes: exactly 803 records */
    check_refused(path, path, EMEDIUMTYPE, "lastlog of whole records");
    write_zeros(path, 4096);
    check_refused(path, path, EMEDIUMTYPE, "4096 zero bytes");
    write_zeros(path, 10 * REC);
    check_refused(path, path, EMEDIUMTYPE, "ten zero records");
    make_file(path);
    append_torn(path, 100);
    check_refused(path, path, EMEDIUMTYPE, "a torn tail alone");

    /* Entries, then a zero record last: not what any wtmp writer leaves. */
    make_file(path);
    CHECK_ERR(xutmp_open(&h, path, path, 2000), 0);
    CHECK_ERR(xutmp_append_wtmp(h, &in), 0);
    xutmp_close(h);
    memset(&zero, 0, sizeof zero);
    {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

        CHECK(fd >= 0 && write(fd, &zero, sizeof zero) == REC, "appending a zero record");
        if (fd >= 0)
            close(fd);
    }
    {
        size_t before_len, after_len;
        char *before = slurp(path, &before_len), *after;

        CHECK_ERR(xutmp_open(&h, NULL, path, 2000), 0);
        CHECK_ERR(xutmp_append_wtmp(h, &in), EMEDIUMTYPE);
        xutmp_close(h);
        after = slurp(path, &after_len);
        CHECK(before_len == after_len && memcmp(before, after, before_len) == 0,
              "a wtmp ending in a zero record was changed");
        free(before);
        free(after);
    }
    /* In utmp a zero record among entries is harmless: the put goes on. */
    CHECK_ERR(xutmp_open(&h, path, NULL, 2000), 0);
    CHECK_ERR(xutmp_put(h, &in), 0);
    CHECK(file_size(path) == 2 * REC, "utmp size %lld", file_size(path));
    xutmp_close(h);
    unlink(path);
}

/* Reads refuse what is no regular file, as writes do: no endless records, no empty utmp. */
static void test_reads_refuse_non_files(void)
{
    char fifo[PATH_MAX], sub[PATH_MAX], line[XUTMP_LINE_SIZE];
    const char *paths[4];
    struct xutmp_record out;
    xutmp_handle *h;

    path_in_dir(fifo, "read-fifo");
    path_in_dir(sub, "read-dir");
    if (mkfifo(fifo, 0644) != 0 || mkdir(sub, 0755) != 0) {
        perror(fifo);
        exit(2);
    }
    paths[0] = "/dev/zero";
    paths[1] = "/dev/null";
    paths[2] = fifo;
    paths[3] = sub;
    memset(line, 0, sizeof line);
    strcpy(line, "pts/1");
    for (int i = 0; i < 4; i++) {
        long long start = now_ms();

        CHECK_ERR(xutmp_open(&h, paths[i], NULL, 2000), 0);
        CHECK_ERR(xutmp_next(h, &out), EMEDIUMTYPE);
        CHECK_ERR(xutmp_next(h, &out), EMEDIUMTYPE);
        CHECK_ERR(xutmp_rewind(h), 0);
        CHECK_ERR(xutmp_find_line(h, line, &out), EMEDIUMTYPE);
        CHECK_ERR(xutmp_find_id(h, XUTMP_USER_PROCESS, ID("ts/1"), &out), EMEDIUMTYPE);
        xutmp_close(h);
        CHECK(now_ms() - start < 1000, "%s: refusing took %lld ms", paths[i], now_ms() - start);
    }
    unlink(fifo);
    rmdir(sub);
}

/* A scan of a huge sparse file (a hole of 8 GiB) stops at the deadline, nothing written. */
static void test_scans_keep_the_deadline(void)
{
    char path[PATH_MAX], line[XUTMP_LINE_SIZE];
    struct xutmp_record in = make_rec(XUTMP_USER_PROCESS, "pts/6", "ts/6", "frank", 61);
    struct xutmp_record out;
    xutmp_handle *h;
    long long start;
    int fd;

    path_in_dir(path, "utmp-hole");
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)REC << 24) != 0) {
        perror(path);
        exit(2);
    }
    close(fd);
    memset(line, 0, sizeof line);
    strcpy(line, "pts/6");
    CHECK_ERR(xutmp_open(&h, path, path, 200), 0);
    start = now_ms();
    CHECK_ERR(xutmp_find_line(h, line, &out), ETIMEDOUT);
    CHECK(now_ms() - start < 2000, "find_line took %lld ms", now_ms() - start);
    start = now_ms();
    CHECK_ERR(xutmp_put(h, &in), ETIMEDOUT);
    CHECK(now_ms() - start < 2000, "put took %lld ms", now_ms() - start);
    CHECK(file_size(path) == REC << 24, "size %lld", file_size(path));
    xutmp_close(h);
    unlink(path);
}

struct job {
    xutmp_handle *h;
    int op; /* 0 put, 1 append_wtmp, 2 next */
    struct xutmp_record rec;
    int result;
    long long elapsed_ms;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    long long start = now_ms();

    switch (j->op) {
    case 0: j->result = xutmp_put(j->h, &j->rec); break;
    case 1: j->result = xutmp_append_wtmp(j->h, &j->rec); break;
    default: j->result = xutmp_next(j->h, &j->rec); break;
    }
    j->elapsed_ms = now_ms() - start;
    return NULL;
}

/* A call that misses its deadline must fail the test, not hang it. */
static void run_in_thread(struct job *j)
{
    pthread_t t;
    struct timespec limit;

    if (pthread_create(&t, NULL, run_job, j) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(2);
    }
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += 20;
    if (pthread_timedjoin_np(t, NULL, &limit) != 0) {
        fprintf(stderr, "FAIL: operation %d still blocked after 20 s: no deadline\n", j->op);
        printf("%d passed, %d failed\n", passed, failed + 1);
        fflush(stdout);
        _exit(1);
    }
}

/* A child process holding a lock of `type` on `path` until killed. */
static pid_t lock_holder(const char *path, short type)
{
    int ready[2];
    char c;
    pid_t pid;

    if (pipe(ready) != 0) {
        perror("pipe");
        exit(2);
    }
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        struct flock fl;
        int fd = open(path, type == F_RDLCK ? O_RDONLY : O_RDWR);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        memset(&fl, 0, sizeof fl);
        fl.l_type = type;
        fl.l_whence = SEEK_SET;
        c = fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    if (read(ready[0], &c, 1) != 1 || c != 'y') {
        fprintf(stderr, "lock holder for %s failed\n", path);
        exit(2);
    }
    close(ready[0]);
    return pid;
}

static void end_child(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* Installs on_alarm for SIGALRM; `old` receives the previous action to restore. */
static void catch_alarms(struct sigaction *old)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, old);
}

static void check_alarm_survived(const char *when)
{
    struct sigaction cur;
    unsigned left;

    sigaction(SIGALRM, NULL, &cur);
    CHECK(cur.sa_handler == on_alarm, "SIGALRM handler replaced %s", when);
    left = alarm(0);
    CHECK(left > 0 && left <= 100, "alarm %u s left %s", left, when);
    alarm(left > 0 ? left : 100);
}

static void test_deadlines(void)
{
    char utmp[PATH_MAX], wtmp[PATH_MAX];
    xutmp_handle *h;
    struct job j;
    struct sigaction old;
    long long size;
    pid_t child;

    path_in_dir(utmp, "utmp-locked");
    path_in_dir(wtmp, "wtmp-locked");
    make_file(utmp);
    make_file(wtmp);
    CHECK_ERR(xutmp_open(&h, utmp, wtmp, 300), 0);

    catch_alarms(&old);
    alarm(100);

    /* Another process's read lock on utmp: the put gives up at the deadline. */
    child = lock_holder(utmp, F_RDLCK);
    memset(&j, 0, sizeof j);
    j.h = h;
    j.op = 0;
    j.rec = make_rec(XUTMP_USER_PROCESS, "pts/6", "ts/6", "frank", 41);
    run_in_thread(&j);
    CHECK_ERR(j.result, ETIMEDOUT);
    CHECK(j.elapsed_ms >= 250 && j.elapsed_ms < 2000, "put took %lld ms", j.elapsed_ms);
    end_child(child);
    CHECK(file_size(utmp) == 0, "utmp written under another's lock");

    /* A write lock held elsewhere bounds reads the same way. */
    child = lock_holder(utmp, F_WRLCK);
    j.op = 2;
    run_in_thread(&j);
    CHECK_ERR(j.result, ETIMEDOUT);
    CHECK(j.elapsed_ms >= 250 && j.elapsed_ms < 2000, "next took %lld ms", j.elapsed_ms);
    end_child(child);

    child = lock_holder(wtmp, F_RDLCK);
    j.op = 1;
    j.rec = make_rec(XUTMP_USER_PROCESS, "pts/6", "ts/6", "frank", 41);
    run_in_thread(&j);
    CHECK_ERR(j.result, ETIMEDOUT);
    CHECK(j.elapsed_ms >= 250 && j.elapsed_ms < 2000, "append took %lld ms", j.elapsed_ms);
    end_child(child);
    CHECK(file_size(wtmp) == 0, "wtmp written under another's lock");
    check_alarm_survived("after the timed-out calls");

    /* Uncontended calls leave the caller's alarm and handler alone too. */
    j.op = 0;
    run_in_thread(&j);
    CHECK_ERR(j.result, 0);
    CHECK_ERR(xutmp_put(h, &j.rec), 0);
    CHECK_ERR(xutmp_append_wtmp(h, &j.rec), 0);
    size = file_size(utmp);
    CHECK(size == REC, "utmp size %lld", size);
    check_alarm_survived("after uncontended calls");
    CHECK(alarms == 0, "SIGALRM delivered %d times", (int)alarms);

    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    xutmp_close(h);
}

/* A lock some local user holds on one utmp file must not stall work on another. */
static void test_lock_on_one_file_spares_others(void)
{
    char locked[PATH_MAX], free_utmp[PATH_MAX], wtmp[PATH_MAX];
    xutmp_handle *stuck, *other;
    struct job j;
    pthread_t t;
    pid_t child;
    struct xutmp_record r = make_rec(XUTMP_USER_PROCESS, "pts/8", "ts/8", "hal", 4001);
    long long start, took;

    path_in_dir(locked, "utmp-locked");
    path_in_dir(free_utmp, "utmp-free");
    path_in_dir(wtmp, "wtmp-free");
    make_file(locked);
    make_file(free_utmp);
    make_file(wtmp);
    CHECK_ERR(xutmp_open(&stuck, locked, wtmp, 1500), 0);
    CHECK_ERR(xutmp_open(&other, free_utmp, wtmp, 1500), 0);
    child = lock_holder(locked, F_RDLCK);
    memset(&j, 0, sizeof j);
    j.h = stuck;
    j.op = 0;
    j.rec = r;
    if (pthread_create(&t, NULL, run_job, &j) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(2);
    }
    usleep(100000); /* the thread is now waiting for the locked file */
    start = now_ms();
    CHECK_ERR(xutmp_put(other, &r), 0);
    took = now_ms() - start;
    CHECK(took < 500, "a put on an unlocked file took %lld ms while another file was locked", took);
    pthread_join(t, NULL);
    CHECK_ERR(j.result, ETIMEDOUT);
    CHECK(j.elapsed_ms >= 1300, "the blocked put returned after %lld ms: it was not waiting", j.elapsed_ms);
    end_child(child);
    xutmp_close(stuck);
    xutmp_close(other);
}

/* glibc matches a put by id alone: a live entry on another line must not be taken. */
static void test_live_slot_refused(void)
{
    char utmp[PATH_MAX], wtmp[PATH_MAX];
    xutmp_handle *h;
    struct xutmp_record a = make_rec(XUTMP_USER_PROCESS, "pts/1012", "1012", "alice", 2001);
    struct xutmp_record b = make_rec(XUTMP_USER_PROCESS, "pts/11012", "1012", "bob", 2002);
    struct xutmp_record out;

    path_in_dir(utmp, "utmp-collide");
    path_in_dir(wtmp, "wtmp-collide");
    make_file(utmp);
    make_file(wtmp);
    CHECK_ERR(xutmp_open(&h, utmp, wtmp, 2000), 0);
    CHECK_ERR(xutmp_put(h, &a), 0);
    CHECK_ERR(xutmp_put(h, &b), EADDRINUSE);
    b.type = XUTMP_DEAD_PROCESS;
    CHECK_ERR(xutmp_put(h, &b), EADDRINUSE);
    CHECK(file_size(utmp) == REC, "utmp size %lld after refused puts", file_size(utmp));
    CHECK_ERR(xutmp_next(h, &out), 0);
    CHECK(same_record(&a, &out), "the live entry was changed");

    /* Once alice has logged out her slot is free for the other line. */
    a.type = XUTMP_DEAD_PROCESS;
    CHECK_ERR(xutmp_put(h, &a), 0);
    b.type = XUTMP_USER_PROCESS;
    CHECK_ERR(xutmp_put(h, &b), 0);
    CHECK(file_size(utmp) == REC, "utmp size %lld: the dead slot is reused", file_size(utmp));
    xutmp_close(h);
}

/* A pending one-second alarm still fires on time while puts go on. */
static void test_short_alarm_fires(void)
{
    char utmp[PATH_MAX], wtmp[PATH_MAX];
    xutmp_handle *h;
    struct sigaction old;
    struct xutmp_record r = make_rec(XUTMP_USER_PROCESS, "pts/9", "ts/9", "ivy", 3001);
    long long start;

    path_in_dir(utmp, "utmp-alarm");
    path_in_dir(wtmp, "wtmp-alarm");
    make_file(utmp);
    make_file(wtmp);
    CHECK_ERR(xutmp_open(&h, utmp, wtmp, 2000), 0);
    catch_alarms(&old);
    alarms = 0;
    alarm(1);
    start = now_ms();
    while (alarms == 0 && now_ms() - start < 2500) {
        CHECK_ERR(xutmp_put(h, &r), 0);
        CHECK_ERR(xutmp_append_wtmp(h, &r), 0);
        usleep(20000);
    }
    CHECK(alarms == 1, "the caller's 1 s alarm fired %d times in %lld ms", (int)alarms, now_ms() - start);
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    xutmp_close(h);
}

#define THREADS 8
#define PUTS_PER_THREAD 25

struct worker {
    const char *utmp;
    int index;
    int failures;
};

static void *put_many(void *arg)
{
    struct worker *w = arg;
    xutmp_handle *h;

    if (xutmp_open(&h, w->utmp, NULL, 5000) != 0) {
        w->failures = PUTS_PER_THREAD;
        return NULL;
    }
    for (int i = 0; i < PUTS_PER_THREAD; i++) {
        char line[16], id[8];
        struct xutmp_record r;

        snprintf(line, sizeof line, "pts/%d", w->index * 100 + i);
        snprintf(id, sizeof id, "%d", w->index * 100 + i);
        r = make_rec(XUTMP_USER_PROCESS, line, id, "grace", w->index * 100 + i);
        if (xutmp_put(h, &r) != 0)
            w->failures++;
    }
    xutmp_close(h);
    return NULL;
}

static void test_threads(void)
{
    char utmp[PATH_MAX];
    pthread_t t[THREADS];
    struct worker w[THREADS];
    int failures = 0;

    path_in_dir(utmp, "utmp-threads");
    make_file(utmp);
    for (int i = 0; i < THREADS; i++) {
        w[i].utmp = utmp;
        w[i].index = i;
        w[i].failures = 0;
        pthread_create(&t[i], NULL, put_many, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
    }
    CHECK(failures == 0, "%d puts failed", failures);
    CHECK(file_size(utmp) == THREADS * PUTS_PER_THREAD * REC, "utmp size %lld, want %lld",
          file_size(utmp), THREADS * PUTS_PER_THREAD * REC);
}

static void remove_dir(void)
{
    static const char *const names[] = {
        "utmp-basic", "wtmp-basic", "utmp-find", "wtmp-append", "utmp-locked",
        "wtmp-locked", "utmp-threads", "utmp-limit", "wtmp-limit",
    };
    char path[PATH_MAX];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        path_in_dir(path, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void run_flavour_tests(void)
{
    test_put_next_rewind();
    test_find_rules();
    test_wtmp();
    test_missing_files();
    test_hostile_paths();
    test_zero_bytes_are_no_records();
    test_reads_refuse_non_files();
    test_scans_keep_the_deadline();
    test_failed_write_is_cut_back();
    test_deadlines();
    test_live_slot_refused();
    test_lock_on_one_file_spares_others();
    test_short_alarm_fires();
    test_threads();
    remove_dir();
}

#else /* TEST_UTMPS */

/* A socket that the kernel accepts connections on but nobody ever answers. */
static int silent_socket(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "socket path too long: %s\n", path);
        exit(2);
    }
    memcpy(sa.sun_path, path, strlen(path));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0) {
        perror(path);
        exit(2);
    }
    return fd;
}

static void test_silent_daemon(void)
{
    char sock[PATH_MAX], missing[PATH_MAX];
    xutmp_handle *h;
    struct xutmp_record r = make_rec(XUTMP_USER_PROCESS, "pts/6", "ts/6", "frank", 41);
    long long start;
    int fd;

    path_in_dir(sock, "silent");
    path_in_dir(missing, "missing");
    fd = silent_socket(sock);
    CHECK_ERR(xutmp_open(&h, sock, sock, 300), 0);
    test_invalid_records(h);
    start = now_ms();
    CHECK_ERR(xutmp_next(h, &r), ETIMEDOUT);
    CHECK(now_ms() - start < 2000, "next took %lld ms", now_ms() - start);
    start = now_ms();
    CHECK_ERR(xutmp_put(h, &r), ETIMEDOUT);
    CHECK(now_ms() - start < 2000, "put took %lld ms", now_ms() - start);
    start = now_ms();
    CHECK_ERR(xutmp_append_wtmp(h, &r), ETIMEDOUT);
    CHECK(now_ms() - start < 2000, "append took %lld ms", now_ms() - start);
    xutmp_close(h);

    CHECK_ERR(xutmp_open(&h, missing, missing, 300), 0);
    CHECK_ERR(xutmp_next(h, &r), ENOENT);
    CHECK_ERR(xutmp_put(h, &r), ENOENT);
    CHECK_ERR(xutmp_append_wtmp(h, &r), ENOENT);
    xutmp_close(h);
    close(fd);
    unlink(sock);
}

/* Against real daemons, when the environment names their sockets. */
static void test_real_daemons(const char *utmpd, const char *wtmpd)
{
    xutmp_handle *h;
    struct passwd *pw = getpwuid(geteuid());
    struct xutmp_record in, out;
    char line[XUTMP_LINE_SIZE] = "xutmp/test";

    CHECK(pw != NULL, "no passwd entry for euid %d", (int)geteuid());
    if (pw == NULL)
        return;
    in = make_rec(XUTMP_USER_PROCESS, line, "test", pw->pw_name, (int32_t)getpid());
    CHECK_ERR(xutmp_open(&h, utmpd, wtmpd, 2000), 0);
    CHECK_ERR(xutmp_put(h, &in), 0);
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_line(h, line, &out), 0);
    CHECK(memcmp(&in, &out, sizeof in) == 0, "record read back differs");
    in.type = XUTMP_DEAD_PROCESS;
    CHECK_ERR(xutmp_put(h, &in), 0);
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_line(h, line, &out), ESRCH);
    CHECK_ERR(xutmp_rewind(h), 0);
    CHECK_ERR(xutmp_find_id(h, XUTMP_USER_PROCESS, ID("test"), &out), 0);
    CHECK(out.type == XUTMP_DEAD_PROCESS, "slot holds type %d", out.type);
    CHECK_ERR(xutmp_append_wtmp(h, &in), 0);
    xutmp_close(h);
}

static void run_flavour_tests(void)
{
    const char *utmpd = getenv("UTMPS_TEST_UTMPD");
    const char *wtmpd = getenv("UTMPS_TEST_WTMPD");

    test_silent_daemon();
    rmdir(dir);
    if (utmpd != NULL && *utmpd != '\0' && wtmpd != NULL && *wtmpd != '\0')
        test_real_daemons(utmpd, wtmpd);
    else
        printf("SKIPPED real utmps daemon tests: UTMPS_TEST_UTMPD/UTMPS_TEST_WTMPD unset\n");
}

#endif

int main(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof dir, "%s/xutmp-test.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_abi();
    test_constants();
    test_arguments();
    run_flavour_tests();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
