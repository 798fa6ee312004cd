#!/bin/sh
# The logind leg: a booted Debian 13 (systemd, logind, Debian's default PAM
# stack) under systemd-nspawn, and in it the async_daemon example, built with
# default features, run as a system service with `--listen --system`, serving
# clients over TCP. Checked with the system's own tools:
#   - each client's session is in `loginctl` (class user or user-early, its
#     pty as TTY, a session leader that is not the daemon), `who`, `w`, `users`;
#   - the daemon's cgroup is the same before and after, and in no session;
#   - nothing is left in loginctl once the clients are gone;
#   - a daemon killed with SIGKILL while a client is connected leaves no session;
#   - tests/logind.rs passes inside the booted system too.
#
# Needs root. Not root: prints SKIPPED and exits 0, or fails when
# UTMPS_TEST_NO_SKIP=1. The tree is cached in target/logind/ and reused;
# LOGIND_REFRESH=1 builds it again. The mirror is the host's own (its apt
# sources), so that the repository names no host.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
cache="$here/target/logind"
root="$cache/rootfs"
machine=utmps-logind

if [ "$(id -u)" != 0 ]; then
    if [ "${UTMPS_TEST_NO_SKIP:-}" = 1 ]; then
        echo "logind: needs root (and UTMPS_TEST_NO_SKIP=1 says this machine must run it)" >&2
        exit 1
    fi
    echo "SKIPPED logind: needs root for debootstrap and systemd-nspawn"
    exit 0
fi

fail() {
    echo "logind: $*" >&2
    exit 1
}

. "$here/ci/mirror.sh"

need=""
command -v debootstrap >/dev/null 2>&1 || need="$need debootstrap"
command -v systemd-nspawn >/dev/null 2>&1 || need="$need systemd-container"
if [ -n "$need" ]; then
    apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need >/dev/null
fi

if [ "${LOGIND_REFRESH:-}" = 1 ]; then
    rm -rf "$root" "$cache/ready"
fi
if [ ! -e "$cache/ready" ] || [ ! -x "$root/usr/bin/loginctl" ]; then
    url=$(mirror | sed -n 1p)
    [ -n "$url" ] || fail "no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    rm -rf "$root" "$cache/ready"
    mkdir -p "$cache"
    echo "logind: debootstrap trixie with systemd from the host's mirror into $root"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,libpam-systemd,wtmpdb,libpam-wtmpdb,lastlog2,libpam-lastlog2,procps,util-linux,sqlite3,coreutils \
        trixie "$root" "$url" >"$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    touch "$cache/ready"
fi

# Built on the host (default features: xutmp, wtmpdb; tokio for the example).
build() { # build CARGO-ARGS...: the path of the one executable built
    cargo "$@" --message-format=json-render-diagnostics | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sed -n 1p
}
daemon_exe=$(UTMPS_SYS_STATIC=1 build build -p utmps --example async_daemon --features tokio)
test_exe=$(UTMPS_SYS_STATIC=1 build test -p utmps --test logind --no-run)
cost_exe=$(UTMPS_SYS_STATIC=1 build build --release -p utmps --example logind_cost)
[ -x "$daemon_exe" ] || fail "could not build the async_daemon example"
[ -x "$test_exe" ] || fail "could not build tests/logind.rs"
install -m 0755 "$daemon_exe" "$root/usr/local/bin/utmps-async-daemon"
install -m 0755 "$test_exe" "$root/usr/local/bin/utmps-logind-test"
[ -x "$cost_exe" ] && install -m 0755 "$cost_exe" "$root/usr/local/bin/utmps-logind-cost"
# Each run starts from databases the tree had none of.
rm -f "$root/var/log/wtmp.db" "$root/var/lib/lastlog/lastlog2.db"

nspawn_pid=""
stop() {
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        kill "$nspawn_pid" 2>/dev/null || true
        i=0
        while kill -0 "$nspawn_pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$nspawn_pid" 2>/dev/null || true
    fi
}
trap stop EXIT INT TERM

echo "logind: booting Debian 13 under systemd-nspawn"
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --register=no --keep-unit -q -D "$root" -b -M "$machine" \
    >"$cache/boot.log" 2>&1 </dev/null &
nspawn_pid=$!

# The container's systemd: the nspawn process's child (or grandchild).
init=""
i=0
while [ -z "$init" ] && [ $i -lt 300 ]; do
    for p in $(pgrep -P "$nspawn_pid" 2>/dev/null) $(for c in $(pgrep -P "$nspawn_pid" 2>/dev/null); do pgrep -P "$c"; done); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd ] && init=$p && break
    done
    [ -n "$init" ] || { sleep 0.1; i=$((i + 1)); }
done
[ -n "$init" ] || { tail -20 "$cache/boot.log" >&2; fail "the container's systemd did not start"; }
inside() { nsenter -t "$init" -a "$@"; }
# Until systemd answers at all, then until it has finished starting.
state=""
i=0
while [ $i -lt 600 ]; do
    state=$(inside timeout 60 systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    sleep 0.1
    i=$((i + 1))
done
case "$state" in
    running | degraded) echo "logind: booted ($state)" ;;
    *) tail -20 "$cache/boot.log" >&2; fail "the container did not finish booting: '$state'" ;;
esac
inside systemctl is-active --quiet systemd-logind || fail "systemd-logind is not active in the container"

echo "logind: tests/logind.rs inside the booted system"
inside /usr/local/bin/utmps-logind-test || fail "tests/logind.rs failed inside the container"

sessions() { # root's login sessions (not the user manager's own): loginctl's ids
    for id in $(inside loginctl list-sessions --no-legend 2>/dev/null | awk '$3 == "root" { print $1 }'); do
        case "$(inside loginctl show-session "$id" -p Class --value 2>/dev/null)" in
            manager*) ;;
            *) echo "$id" ;;
        esac
    done
}
wait_until() { # wait_until SECONDS COMMAND...: true once COMMAND is
    n=$(($1 * 10)); shift
    while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
    "$@"
}
count_is() { [ "$(sessions | grep -c .)" -eq "$1" ]; }

start_daemon() { # start_daemon UNIT: runs the daemon as a service; sets port and main_pid
    inside systemd-run --quiet --unit="$1" -p StandardOutput=file:/run/"$1".log -p StandardError=file:/run/"$1".err \
        /usr/local/bin/utmps-async-daemon --listen --system
    wait_until 20 inside grep -qs '^listening on' /run/"$1".log || {
        inside cat /run/"$1".err >&2 || true
        fail "the daemon $1 did not start listening"
    }
    port=$(inside sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' /run/"$1".log)
    main_pid=$(inside systemctl show -p MainPID --value "$1")
}
client() { # client PORT SECONDS: a client whose shell lives SECONDS, in the background
    inside bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf 'sleep $2; exit\n' >&3; cat <&3 >/dev/null" &
}

count_is 0 || fail "sessions of root before the test: $(sessions | tr '\n' ' ')"
start_daemon utmps-daemon
cgroup_before=$(inside cat /proc/"$main_pid"/cgroup)
echo "logind: the daemon (pid $main_pid) listens on port $port, cgroup $cgroup_before"
client "$port" 6
client "$port" 6
wait_until 10 count_is 2 || {
    inside cat /run/utmps-daemon.log /run/utmps-daemon.err >&2 || true
    fail "two logind sessions expected, loginctl lists: $(inside loginctl list-sessions --no-legend)"
}
echo "logind: loginctl lists:"
inside loginctl list-sessions --no-legend
for id in $(sessions); do
    class=$(inside loginctl show-session "$id" -p Class --value)
    tty=$(inside loginctl show-session "$id" -p TTY --value)
    leader=$(inside loginctl show-session "$id" -p Leader --value)
    case "$class" in user | user-early) ;; *) fail "session $id has class '$class', not user" ;; esac
    case "$tty" in pts/*) ;; *) fail "session $id has TTY '$tty', not the client's pty" ;; esac
    [ "$leader" != "$main_pid" ] || fail "the daemon itself leads session $id"
    # The shell the daemon started for the client runs inside the session.
    shell=$(inside sed -n "s/.* for pid \([0-9]*\), logind session $id\$/\1/p" /run/utmps-daemon.log)
    [ -n "$shell" ] || fail "the daemon's log names no shell for session $id"
    inside grep -q "session-$id.scope" /proc/"$shell"/cgroup ||
        fail "the shell (pid $shell) of session $id is not in its scope: $(inside cat /proc/"$shell"/cgroup)"
    inside loginctl session-status "$id" --no-pager 2>/dev/null | grep -q "$shell" ||
        fail "loginctl session-status $id does not list the shell (pid $shell)"
done
echo "logind: each client's shell runs inside its session (its scope, loginctl session-status)"
who_out=$(inside who)
w_out=$(inside w -h)
users_out=$(inside users)
echo "logind: who:"; echo "$who_out"
echo "logind: w -h:"; echo "$w_out"
echo "logind: users: $users_out"
[ "$(echo "$who_out" | grep -c '^root ')" -eq 2 ] || fail "who lists $(echo "$who_out" | grep -c '^root ') sessions of root, not 2"
[ "$(echo "$w_out" | grep -c '^root ')" -eq 2 ] || fail "w lists $(echo "$w_out" | grep -c '^root ') sessions of root, not 2"
[ "$users_out" = "root root" ] || fail "users prints '$users_out', not 'root root'"
cgroup_after=$(inside cat /proc/"$main_pid"/cgroup)
[ "$cgroup_before" = "$cgroup_after" ] || fail "the daemon's cgroup moved: $cgroup_before -> $cgroup_after"
case "$cgroup_after" in *session-*) fail "the daemon is inside a session: $cgroup_after" ;; esac
root_rows() { inside last | grep '^root ' || true; }
echo "logind: last (wtmpdb) while they are live:"
root_rows
# Debian 13's common-session has pam_wtmpdb: its row is the session's row.
[ "$(root_rows | grep -c 'still logged in')" -eq 2 ] || fail "last shows $(root_rows | grep -c .) rows of root, not 2 live ones"
wait_until 15 count_is 0 || fail "sessions left after the clients left: $(sessions | tr '\n' ' ')"
echo "logind: both sessions ended when their clients left; last:"
root_rows
[ "$(root_rows | grep -c .)" -eq 2 ] || fail "last shows $(root_rows | grep -c .) rows of root, not one per session"
[ "$(root_rows | grep -c 'still logged in')" -eq 0 ] || fail "last shows a session of root still logged in"
lastlog=$(inside lastlog2 -u root)
echo "logind: lastlog2 -u root:"; echo "$lastlog"
echo "$lastlog" | grep -q 'pts/' || fail "lastlog2 has no login of root on a pty"

echo "logind: loginctl terminate-session ends a client's session"
client "$port" 30
wait_until 10 count_is 1 || fail "the third client's session did not open"
victim=$(sessions)
inside loginctl terminate-session "$victim"
wait_until 5 count_is 0 || fail "session $victim left 5 s after terminate-session"
wait_until 5 sh -c "[ \"\$(nsenter -t $init -a last | grep '^root ' | grep -c 'still logged in')\" -eq 0 ]" ||
    fail "the terminated session is still logged in for last"
echo "logind: session $victim ended, and logged out in last"
inside systemctl stop utmps-daemon

echo "logind: a daemon killed with SIGKILL while a client is connected"
start_daemon utmps-doomed
client "$port" 30
wait_until 10 count_is 1 || fail "the doomed daemon's session did not open"
inside kill -KILL "$main_pid"
wait_until 2 count_is 0 || fail "sessions left 2 s after the daemon's SIGKILL: $(sessions | tr '\n' ' ')"
echo "logind: no session left after the daemon's SIGKILL; last:"
root_rows
[ "$(root_rows | grep -c .)" -eq 4 ] || fail "last shows $(root_rows | grep -c .) rows of root, not 4"
[ "$(root_rows | grep -c 'still logged in')" -eq 0 ] || fail "the killed daemon's session is still logged in for last"

# With LOGIND_COST=N: N sessions each way, taken in turn, each a whole command
# on a fresh pty under script(1): the logind_cost example (one session through
# Accounting::system(): its leader, PAM's login stack, logind, wtmpdb,
# lastlog2) against `login -f root` (the same PAM stack; its shell reads
# end of input), and `true` for what script(1) and its pty cost alone.
# Printed for BENCHMARKS.md, never judged.
if [ -n "${LOGIND_COST:-}" ]; then
    echo "logind: cost, $LOGIND_COST sessions each way, in turn (ms per whole command)"
    inside sh -c '
        ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
        ours="" theirs="" bare=""
        i=0
        while [ $i -lt "$1" ]; do
            t=$(date +%s%N); script -qfc "/usr/local/bin/utmps-logind-cost root" /dev/null </dev/null >/dev/null; ours="$ours $(ms $t)"
            t=$(date +%s%N); script -qfc "login -f root" /dev/null </dev/null >/dev/null; theirs="$theirs $(ms $t)"
            t=$(date +%s%N); script -qfc "true" /dev/null </dev/null >/dev/null; bare="$bare $(ms $t)"
            i=$((i + 1))
        done
        median() { printf "%s\n" $1 | sort -n | awk "{ a[NR] = \$1 } END { print a[int((NR + 1) / 2)] }"; }
        echo "utmps (leader + PAM + logind + wtmpdb + lastlog2): median $(median "$ours") ms:$ours"
        echo "login -f root (PAM + logind + a shell):            median $(median "$theirs") ms:$theirs"
        echo "true (script and its pty alone):                   median $(median "$bare") ms:$bare"
    ' sh "$LOGIND_COST"
fi
echo "logind: ok"
