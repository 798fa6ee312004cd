#!/usr/bin/env bash
# The wtmpdb history read at size, beside Debian 13's own `wtmpdb last -f`, in
# one run (for BENCHMARKS.md; not a CI step). Needs the Debian 13 tree that
# ci/debian13.sh caches (run it first) and GNU time on the host.
#
#   ci/wtmpdb-history-cost.sh [ROWS...]      default: 100000 1000000
#
# For each size it writes a database with the tree's sqlite3 (logins of 100
# users from 250 hosts, each logged out; a boot row every 1,000 rows), then
# times both readers inside the tree, in turn, three times each: wall seconds
# and peak resident memory (KiB), the lines each printed (every row, plus a
# blank line and the `begins` line, when the read is whole) and its exit status.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tree="$root/target/debian13/rootfs"
[ -x "$tree/usr/bin/wtmpdb" ] || { echo "no Debian 13 tree at $tree: run ci/debian13.sh first" >&2; exit 1; }
[ $# -gt 0 ] || set -- 100000 1000000

exe=$(UTMPS_SYS_STATIC=1 cargo build -q --release -p utmps --example last --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sed -n 1p)
cp "$exe" "$tree/tmp/utmps-last"

for rows in "$@"; do
    db=/tmp/history-$rows.db
    rm -f "$tree$db"
    chroot "$tree" sqlite3 "$db" "
        CREATE TABLE wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT NULL, Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
        INSERT INTO wtmp (Type, User, Login, Logout, TTY, RemoteHost, Service)
        SELECT CASE WHEN i % 1000 = 0 THEN 1 ELSE 3 END,
               CASE WHEN i % 1000 = 0 THEN 'reboot' ELSE 'user' || (i % 100) END,
               1700000000000000 + i * 60000000, 1700000000000000 + i * 60000000 + 1800000000,
               CASE WHEN i % 1000 = 0 THEN '~' ELSE 'pts/' || (i % 20) END,
               CASE WHEN i % 1000 = 0 THEN '6.12.48+deb13-amd64' ELSE '192.0.2.' || (i % 250) END,
               CASE WHEN i % 1000 = 0 THEN NULL ELSE 'sshd' END
        FROM n;"
    for round in 1 2 3; do
        for reader in "wtmpdb last -f" "/tmp/utmps-last -f"; do
            # A reader that fails (a deadline) is measured and reported too:
            # its exit status goes in the line, and the rounds go on.
            status=0
            lines=$(/usr/bin/time -o "$root/target/history-cost.time" -f '%e %M' chroot "$tree" $reader "$db" 2>/dev/null |
                wc -l) || status=$?
            # GNU time puts "Command exited with non-zero status N" first.
            read -r secs peak < <(tail -n 1 "$root/target/history-cost.time")
            printf '%8d rows  round %d  %-20s %6.2f s  %7d KiB peak  %d lines  exit %d\n' \
                "$rows" "$round" "$reader" "$secs" "$peak" "$lines" "$status"
        done
    done
    rm -f "$tree$db"
done
rm -f "$tree/tmp/utmps-last"
