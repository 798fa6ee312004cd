#!/usr/bin/env bash
# Load on one wtmpdb database from one process, beside Debian 13's own
# libwtmpdb, in one run (for BENCHMARKS.md; not a CI step). Needs root and the
# Debian 13 tree that ci/debian13.sh caches (run it first).
#
#   ci/wtmpdb-load-cost.sh
#
# For 100 threads x 20 sessions and 32 threads x 100, each thread making its
# sessions (a login, then its logout) as fast as it can after all start
# together, it runs in turn, three times each, inside the tree:
#   - libwtmpdb: utmps/benches/c_baseline/wtmpdb_load.c, built in the tree by
#     its own gcc against its own libwtmpdb (wtmpdb_login, wtmpdb_logout);
#   - utmps: the test binary of utmps/tests/sqlite_load.rs (release build).
# Each line gives the calls that failed, the rows left without a Logout (of all
# rows, counted with the tree's sqlite3 for libwtmpdb, by the test itself for
# utmps), the slowest single call (a login or a logout), the wall time and the
# exit status; a run with failures is a result, and the rounds go on. The first
# failure of a run follows its line.
#
# The first run installs libwtmpdb-dev, gcc and libc6-dev in the tree with the
# tree's apt (from the mirror its sources name).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tree="$root/target/debian13/rootfs"
[ -x "$tree/usr/bin/wtmpdb" ] || { echo "no Debian 13 tree at $tree: run ci/debian13.sh first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "wtmpdb-load-cost: needs root (chroot)" >&2; exit 1; }

mounted=
cleanup() {
    [ -z "$mounted" ] || umount "$tree/proc"
    rm -f "$tree/tmp/wtmpdb_load" "$tree/tmp/wtmpdb_load.c" "$tree/tmp/sqlite_load" "$tree"/tmp/wtmpdb-load-*.db
}
trap cleanup EXIT

if [ ! -f "$tree/usr/include/wtmpdb.h" ] || [ ! -x "$tree/usr/bin/gcc" ] || [ ! -x "$tree/usr/bin/sqlite3" ]; then
    if ! mountpoint -q "$tree/proc"; then
        mount -t proc proc "$tree/proc"
        mounted=1
    fi
    [ -s "$tree/etc/resolv.conf" ] || cp /etc/resolv.conf "$tree/etc/resolv.conf"
    chroot "$tree" apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive chroot "$tree" apt-get install -y -q libwtmpdb-dev gcc libc6-dev sqlite3 >/dev/null
fi
echo "libwtmpdb $(chroot "$tree" dpkg-query -W -f '${Version}' libwtmpdb0), $(chroot "$tree" gcc --version | sed -n 1p)," \
    "sqlite3 $(chroot "$tree" sqlite3 --version | cut -d' ' -f1) in the tree"

cp "$root/utmps/benches/c_baseline/wtmpdb_load.c" "$tree/tmp/wtmpdb_load.c"
chroot "$tree" gcc -O2 -Wall -Wextra -pthread -o /tmp/wtmpdb_load /tmp/wtmpdb_load.c -lwtmpdb

exe=$(cd "$root" && UTMPS_SYS_STATIC=1 cargo test -q --release -p utmps --test sqlite_load --no-run \
        --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sed -n 1p)
[ -n "$exe" ] || { echo "no test binary for utmps/tests/sqlite_load.rs" >&2; exit 1; }
cp "$exe" "$tree/tmp/sqlite_load"

for load in "100 20 a_hundred_threads_of_twenty_sessions_lose_nothing" \
            "32 100 thirty_two_threads_of_a_hundred_sessions_lose_nothing"; do
    read -r threads per test <<<"$load"
    for round in 1 2 3; do
        # libwtmpdb, on a database it creates.
        db=/tmp/wtmpdb-load-$threads-$per.db
        rm -f "$tree$db" "$tree$db-journal" "$tree$db-wal" "$tree$db-shm"
        status=0
        out=$(chroot "$tree" env TMPDIR=/tmp /tmp/wtmpdb_load "$db" "$threads" "$per" 2>"$root/target/load-cost.err") || status=$?
        read -r rows open < <(chroot "$tree" sqlite3 -separator ' ' "$db" \
            "SELECT count(*), count(*) FILTER (WHERE Logout IS NULL) FROM wtmp" 2>/dev/null || echo '? ?')
        printf 'round %d  %s, exit %d\n' "$round" \
            "$(sed -n 1p <<<"$out" | sed "s/ failed, / failed, $open rows left open of $rows, /")" "$status"
        sed 's/^libwtmpdb *[0-9]* threads x *[0-9]*: /           /' "$root/target/load-cost.err"
        rm -f "$tree$db" "$tree$db-journal" "$tree$db-wal" "$tree$db-shm"

        # utmps: the test makes its database in a tempdir under the tree's /tmp.
        status=0
        out=$(chroot "$tree" env TMPDIR=/tmp /tmp/sqlite_load --nocapture --test-threads=1 --exact "$test" 2>&1) || status=$?
        printf 'round %d  %s, exit %d\n' "$round" "$(grep -m1 -o 'wtmpdb load .*' <<<"$out" | sed 's/^wtmpdb load/utmps    /')" "$status"
        grep -m1 -o 'calls failed, the first: .*\|the slowest call took .*\|every session.s row.*' <<<"$out" |
            sed 's/^/           /' || true
    done
done
rm -f "$root/target/load-cost.err"
