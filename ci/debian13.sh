#!/bin/sh
# The Debian 13 (trixie) leg: a default-features build records sessions through
# Accounting::system() into a debootstrapped Debian 13 tree (wtmpdb, lastlog2,
# no utmp) and checks what Debian 13's own
# `last` (wtmpdb) and `lastlog2` print about them (tests/debian13.rs, run
# inside the tree with `--ignored`).
#
# Needs root (debootstrap, chroot). Not root: prints SKIPPED and exits 0, or
# fails when UTMPS_TEST_NO_SKIP=1. The tree is cached in target/debian13/ and
# reused; DEBIAN13_REFRESH=1 builds it again. The mirror is the host's own
# (its apt sources), so that the repository names no host.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
cache="$here/target/debian13"
root="$cache/rootfs"

if [ "$(id -u)" != 0 ]; then
    if [ "${UTMPS_TEST_NO_SKIP:-}" = 1 ]; then
        echo "debian13: needs root (and UTMPS_TEST_NO_SKIP=1 says this machine must run it)" >&2
        exit 1
    fi
    echo "SKIPPED debian13: needs root for debootstrap and chroot"
    exit 0
fi

. "$here/ci/mirror.sh"

if [ "${DEBIAN13_REFRESH:-}" = 1 ]; then
    rm -rf "$root"
fi
if [ ! -e "$cache/ready" ] || [ ! -x "$root/usr/bin/wtmpdb" ]; then
    url=$(mirror | sed -n 1p)
    if [ -z "$url" ]; then
        echo "debian13: no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
        exit 1
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null
    fi
    rm -rf "$root" "$cache/ready"
    mkdir -p "$cache"
    echo "debian13: debootstrap trixie from the host's mirror into $root"
    debootstrap --variant=minbase --include=wtmpdb,lastlog2,util-linux,sqlite3 trixie "$root" "$url" \
        >"$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    touch "$cache/ready"
fi

# What systemd-tmpfiles does at the first boot, which a chroot never had: the
# directories and links that the tree's wtmpdb and lastlog2 packages declare
# (without /var/lib/lastlog, lastlog2 is not installed as far as system() sees).
for conf in "$root"/usr/lib/tmpfiles.d/wtmpdb.conf "$root"/usr/lib/tmpfiles.d/lastlog2*.conf; do
    [ -f "$conf" ] || continue
    while read -r kind path mode _user _group _age target; do
        case "$kind" in
            d) [ -d "$root$path" ] || install -d -m "$mode" "$root$path" ;;
            L) [ -e "$root$path" ] || [ -L "$root$path" ] || ln -s "$target" "$root$path" ;;
        esac
    done <"$conf"
done

# Built on the host: a binary linked against an older glibc (Debian 12) runs on trixie.
exe=$(UTMPS_SYS_STATIC=1 cargo test -p utmps --test debian13 --no-run --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sed -n 1p)
if [ -z "$exe" ] || [ ! -x "$exe" ]; then
    echo "debian13: could not build the test binary (cargo test -p utmps --test debian13 --no-run)" >&2
    exit 1
fi

# Each run starts from databases the tree had none of: nothing of a previous run.
rm -f "$root/var/log/wtmp.db" "$root/var/log/wtmp.db-journal" \
    "$root/var/lib/lastlog/lastlog2.db" "$root/var/lib/lastlog/lastlog2.db-journal"
cp "$exe" "$root/tmp/utmps-debian13"

echo "debian13: running the interop tests inside the tree"
# A private mount namespace, so that /proc inside the tree goes away with it.
unshare -m --propagation private sh -c '
    mount -t proc proc "$1/proc"
    chroot "$1" /tmp/utmps-debian13 --ignored --test-threads=1 --nocapture
' sh "$root"
rm -f "$root/tmp/utmps-debian13"

# The `last` example on that database prints what Debian 13's own `last` does.
last_exe=$(UTMPS_SYS_STATIC=1 cargo build -p utmps --example last --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sed -n 1p)
[ -x "$last_exe" ] || { echo "debian13: could not build the last example" >&2; exit 1; }
cp "$last_exe" "$root/tmp/utmps-last"
# And on rows without a logout: a live session and boot, and a session and a
# boot that a later boot shows crashed.
rm -f "$root/tmp/open.db"
chroot "$root" sqlite3 /tmp/open.db "
    CREATE TABLE wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT NULL, Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT;
    INSERT INTO wtmp (Type, User, Login, Logout, TTY, RemoteHost) VALUES
        (1, 'reboot', 1700000000000000, NULL, '~', '6.12.48+deb13-amd64'),
        (3, 'alice', 1700000100000000, NULL, 'pts/1', '192.0.2.1'),
        (1, 'reboot', 1700030000000000, NULL, '~', '6.12.48+deb13-amd64'),
        (3, 'bob', 1700030100000000, NULL, 'pts/2', '192.0.2.2'),
        (3, 'carol', 1700030200000000, 1700030260000000, 'pts/3', '192.0.2.3');"
for db in /var/log/wtmp.db /tmp/open.db; do
    ours=$(chroot "$root" /tmp/utmps-last -f "$db")
    theirs=$(chroot "$root" last -f "$db")
    if [ "$ours" != "$theirs" ]; then
        echo "debian13: the last example and Debian 13's last differ on $db:" >&2
        printf '%s\n' "$theirs" >"$cache/last.theirs"
        printf '%s\n' "$ours" >"$cache/last.ours"
        diff "$cache/last.theirs" "$cache/last.ours" >&2 || true
        exit 1
    fi
    echo "debian13: examples/last prints what Debian 13's last prints on $db:"
    echo "$ours"
done
rm -f "$root/tmp/utmps-last" "$root/tmp/open.db"
echo "debian13: ok"
