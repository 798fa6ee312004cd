/*
 * The baseline of tests/sqlite_load.rs: one process, THREADS threads that
 * start together, each making PER_THREAD sessions (a login, then the logout of
 * the id it returned) on one wtmpdb database through Debian 13's libwtmpdb
 * (wtmpdb_login, wtmpdb_logout from <wtmpdb.h>). ci/wtmpdb-load-cost.sh builds
 * it inside the Debian 13 tree, against that tree's library, and runs it there.
 *
 *   wtmpdb_load DB THREADS PER_THREAD
 *
 * Prints one line on stdout:
 *   libwtmpdb THREADS x PER: F failed, slowest call S ms, W s in all
 * and, when a call failed, the first failure on stderr. A login that fails
 * counts once and its logout is not tried. Exits 1 when any call failed.
 * The rows left without a logout are counted by the script, from the database.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wtmpdb.h>

static const char *db;
static int per_thread;
static pthread_barrier_t start;

static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;
static char *first_failure;

struct worker {
    pthread_t id;
    int index;
    long failed;
    uint64_t slowest_ns;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* Keeps the first failure seen by any thread; frees `error`. */
static void failure(const char *call, const char *tty, char *error)
{
    pthread_mutex_lock(&first_lock);
    if (first_failure == NULL) {
        if (asprintf(&first_failure, "%s %s: %s", call, tty, error ? error : "(no message)") < 0)
            first_failure = NULL;
    }
    pthread_mutex_unlock(&first_lock);
    free(error);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    char tty[64];

    pthread_barrier_wait(&start);
    for (int n = 0; n < per_thread; n++) {
        char *error = NULL;
        uint64_t began, took;
        int64_t id;
        int rc;

        snprintf(tty, sizeof tty, "pts/%d-%d", w->index, n);

        began = now_ns();
        id = wtmpdb_login(db, USER_PROCESS, "loaduser", now_usec(), tty, "192.0.2.1", "sshd", &error);
        took = now_ns() - began;
        if (took > w->slowest_ns)
            w->slowest_ns = took;
        if (id < 0) {
            w->failed++;
            failure("login", tty, error);
            continue;
        }
        free(error);
        error = NULL;

        began = now_ns();
        rc = wtmpdb_logout(db, id, now_usec(), &error);
        took = now_ns() - began;
        if (took > w->slowest_ns)
            w->slowest_ns = took;
        if (rc != 0) {
            w->failed++;
            failure("logout", tty, error);
            continue;
        }
        free(error);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct worker *workers;
    uint64_t began, slowest = 0;
    long failed = 0;
    int threads;

    if (argc != 4 || (threads = atoi(argv[2])) <= 0 || (per_thread = atoi(argv[3])) <= 0) {
        fprintf(stderr, "usage: %s DB THREADS PER_THREAD\n", argv[0]);
        return 2;
    }
    db = argv[1];
    workers = calloc((size_t)threads, sizeof *workers);
    if (workers == NULL || pthread_barrier_init(&start, NULL, (unsigned)threads) != 0) {
        perror("wtmpdb_load");
        return 2;
    }

    began = now_ns();
    for (int t = 0; t < threads; t++) {
        workers[t].index = t;
        if (pthread_create(&workers[t].id, NULL, work, &workers[t]) != 0) {
            perror("pthread_create");
            return 2;
        }
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].id, NULL);
        failed += workers[t].failed;
        if (workers[t].slowest_ns > slowest)
            slowest = workers[t].slowest_ns;
    }
    double wall = (double)(now_ns() - began) / 1e9;

    printf("libwtmpdb %3d threads x %3d: %ld failed, slowest call %.3f ms, %.2f s in all\n",
           threads, per_thread, failed, (double)slowest / 1e6, wall);
    if (first_failure != NULL)
        fprintf(stderr, "libwtmpdb %3d threads x %3d: first failure: %s\n", threads, per_thread, first_failure);
    free(workers);
    return failed ? 1 : 0;
}
