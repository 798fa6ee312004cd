#!/usr/bin/env bash
# The test matrix: formatting, lints, docs, the C library's own tests, the static
# and dynamic link legs, the native backend, packaging, and a new project built
# on the packaged crates. Run it from anywhere; it installs the Debian packages
# the chosen steps need when run as root.
#
#   ci/test.sh              every step, in the order of --list
#   ci/test.sh STEP...      only these steps, in the order given
#   ci/test.sh --list       the steps, one per line, with what each does
#
# Each step runs in a subshell, so what one exports (PKG_CONFIG_PATH for the
# installed copy, say) never leaks into the next, and each works run alone.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
prefix="$target/xutmp-prefix"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
all_features=utmps/native,utmps/test-peer,utmps/tokio

# name|tools it needs (command:Debian package)|what it does
steps=(
    "fmt||cargo fmt --check, and rustfmt on the new-project and coexist programs"
    "c|gcc:gcc make:make valgrind:valgrind|the C library: make check (tests, then valgrind)"
    "clippy|gcc:gcc pkg-config:pkg-config|clippy on every feature set, warnings denied"
    "fuzz|gcc:gcc g++:g++|the fuzz targets still build (stable; running them needs nightly)"
    "doc|gcc:gcc pkg-config:pkg-config|rustdoc, warnings denied"
    "native-only|gcc:gcc|the native backend alone: no build script compiles C"
    "static|gcc:gcc pkg-config:pkg-config who:coreutils last:util-linux lastb:util-linux utmpdump:util-linux sqlite3:sqlite3 /usr/include/sqlite3.h:libsqlite3-dev|static leg: every test, libxutmp from the bundled sources, the host's SQLite loaded at run time"
    "dynamic|gcc:gcc make:make pkg-config:pkg-config who:coreutils last:util-linux lastb:util-linux utmpdump:util-linux sqlite3:sqlite3 /usr/include/sqlite3.h:libsqlite3-dev|dynamic leg: every test, against libxutmp.so installed under target/"
    "bundled-sqlite|gcc:gcc pkg-config:pkg-config sqlite3:sqlite3 lastb:util-linux|the SQLite stores' tests with feature bundled-sqlite: libsqlite3-sys's compiled copy instead of the host's"
    "linkage|gcc:gcc make:make pkg-config:pkg-config readelf:binutils|static and dynamic test binaries need (or not) libxutmp.so"
    "default|gcc:gcc make:make pkg-config:pkg-config|no feature, no variable: an installed copy if pkg-config finds it, else the bundled sources"
    "examples|gcc:gcc pkg-config:pkg-config last:util-linux|the examples run: demo, pty_session, async_daemon (a tokio daemon serving one client); the last example prints odd bytes as last -f does"
    "package|gcc:gcc pkg-config:pkg-config|cargo package --workspace with no variable (verifies by building)"
    "new-project|gcc:gcc pkg-config:pkg-config|a new project on the unpacked packages, nothing set, records a session"
    "coexist|gcc:gcc pkg-config:pkg-config|new projects with utmps beside rusqlite 0.32 and 0.43 and sqlx 0.8 and 0.9 (bundled SQLite each), and with utmps's bundled-sqlite beside rusqlite 0.32 and 0.43: each resolves, builds, and runs its own SQLite work and a wtmpdb session"
    "bench|gcc:gcc pkg-config:pkg-config|the session bench's paired rows (native vs libutmps's requests, against the peer; fsync): printed, never judged"
    "debian13|gcc:gcc debootstrap:debootstrap|a default-features build records through Accounting::system() in a Debian 13 tree (cached under target/debian13); its last and lastlog2 read it back"
    "logind|gcc:gcc debootstrap:debootstrap systemd-nspawn:systemd-container nsenter:util-linux|a booted Debian 13 (systemd-nspawn): the async_daemon example as a service records its clients' sessions with logind (loginctl, who, w, users), stays in its own cgroup, leaves no session behind, not even when SIGKILLed"
)

field() { # field N LINE: the Nth |-separated field of a steps entry
    local IFS='|' parts
    read -r -a parts <<<"$2"
    printf '%s' "${parts[$1]:-}"
}
step_names() { local s; for s in "${steps[@]}"; do field 0 "$s"; echo; done; }
list_steps() { local s; for s in "${steps[@]}"; do printf '%-12s %s\n' "$(field 0 "$s")" "$(field 2 "$s")"; done; }

banner() { printf '\n==> %s\n' "$*"; }

install_packages() { # install_packages STEP...: what those steps need, if missing
    local need=() pair cmd pkg s name
    for name in "$@"; do
        for s in "${steps[@]}"; do
            [ "$(field 0 "$s")" = "$name" ] || continue
            for pair in $(field 1 "$s"); do
                cmd=${pair%%:*} pkg=${pair#*:}
                # A command, or (starting with /) a file such as a header.
                if [[ $cmd == /* ]]; then [ -e "$cmd" ] && continue; fi
                command -v "$cmd" >/dev/null 2>&1 && continue
                [[ " ${need[*]} " == *" $pkg "* ]] || need+=("$pkg")
            done
        done
    done
    [ ${#need[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing tools (${need[*]}): install them, or run as root so this script can" >&2
        return 1
    fi
    banner "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

install_prefix() { # libxutmp.so and xutmp.pc under target/, for the steps that link it
    make -C xutmp O="$target/xutmp-build" install PREFIX="$prefix" >/dev/null
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

layout_binary() { # cargo ARGS...: builds utmps-sys's layout test, prints its path
    cargo test -p utmps-sys --test layout --no-run --message-format=json "$@" |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1
}

step_fmt() {
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo fmt --all -- --check
    rustfmt --check --edition 2021 ci/new-project/main.rs ci/coexist/main.rs
}

step_c() {
    make -C xutmp O="$target/xutmp-build" check
}

step_clippy() {
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
    cargo clippy --workspace --all-targets --features utmps-sys/static,$all_features -- -D warnings
    UTMPS_SYS_STATIC=1 cargo clippy -p utmps --all-targets -- -D warnings
    cargo clippy -p utmps --lib --no-default-features --features native -- -D warnings
    cargo clippy -p utmps --lib --no-default-features --features test-peer -- -D warnings
    cargo clippy -p utmps --lib --no-default-features --features tokio -- -D warnings
    cargo clippy -p utmps --lib --no-default-features --features wtmpdb -- -D warnings
    cargo clippy -p utmps --lib --no-default-features --features bundled-sqlite --target-dir "$target/bundled" -- -D warnings
    UTMPS_SYS_STATIC=1 cargo clippy -p utmps --lib --no-default-features --features xutmp -- -D warnings
    cargo clippy -p utmps --lib --no-default-features -- -D warnings
}

# libfuzzer-sys compiles libFuzzer (C++) in its build script, hence g++.
step_fuzz() {
    (cd utmps/fuzz && cargo check --target-dir "$target/fuzz")
}

step_doc() {
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --features utmps-sys/static,$all_features
}

# CC=/bin/false: no build script may compile C. rustc still links with the
# system linker, so this does not prove a machine without cc could build it.
step_native-only() {
    CC=/bin/false cargo build -p utmps --no-default-features --features native --target-dir "$target/native-only"
}

step_static() {
    UTMPS_SYS_STATIC=1 UTMPS_SYS_EXPECT_MODE=static cargo test --workspace --features $all_features
}

step_dynamic() {
    install_prefix
    UTMPS_SYS_STATIC=0 UTMPS_SYS_EXPECT_MODE=dynamic \
        cargo test --workspace --features $all_features --target-dir "$target/dynamic"
}

# Builds its own layout binaries (in the legs' target directories, with the
# legs' variables), so it needs neither leg to have run.
# The tests that open SQLite stores, with the copy libsqlite3-sys compiles
# (the tests' own rusqlite then links it too: one SQLite in the process).
step_bundled-sqlite() {
    UTMPS_SYS_STATIC=1 cargo test -p utmps --features bundled-sqlite --target-dir "$target/bundled" \
        --lib --test wtmpdb --test lastlog2 --test stores --test foreign_db --test hostile_paths
}

step_linkage() {
    local static_bin dynamic_bin
    static_bin=$(UTMPS_SYS_STATIC=1 layout_binary)
    install_prefix
    dynamic_bin=$(UTMPS_SYS_STATIC=0 layout_binary --target-dir "$target/dynamic")
    ci/check-linkage.sh "$static_bin" "$dynamic_bin"
    # And the binaries agree: each reports the mode it was built for.
    UTMPS_SYS_EXPECT_MODE=static "$static_bin" --quiet
    UTMPS_SYS_EXPECT_MODE=dynamic "$dynamic_bin" --quiet
}

# The layout test asserts the mode it is told to expect, so a default that
# picked the other one fails here.
step_default() {
    local dir="$target/default"
    (
        unset UTMPS_SYS_STATIC PKG_CONFIG_PATH LD_LIBRARY_PATH XUTMP_LIB_DIR XUTMP_FLAVOUR
        if pkg-config --exists xutmp 2>/dev/null; then
            echo "SKIPPED default without an installed copy: pkg-config finds a system xutmp"
            [ "${UTMPS_TEST_NO_SKIP:-}" != 1 ] || { echo "FAIL: UTMPS_TEST_NO_SKIP=1 forbids that skip" >&2; exit 1; }
        else
            echo "-- nothing installed: expect the bundled sources"
            UTMPS_SYS_EXPECT_MODE=static cargo test -p utmps-sys --test layout --target-dir "$dir" -q
        fi
        echo "-- xutmp.pc on PKG_CONFIG_PATH: expect the installed copy"
        install_prefix
        UTMPS_SYS_EXPECT_MODE=dynamic cargo test -p utmps-sys --test layout --target-dir "$dir" -q
    )
}

step_examples() {
    export UTMPS_SYS_STATIC=1
    cargo run -q -p utmps --example demo >/dev/null
    cargo run -q -p utmps --example pty_session
    cargo run -q -p utmps --features tokio --example async_daemon
    # Users and hosts with every control, DEL, high bytes and full fields:
    # escaped and cut as util-linux's own last does it.
    cargo build -q --release -p utmps --example gen_wtmp --example last
    local examples="$target/release/examples" odd="$target/odd-text.wtmp" w
    "$examples/gen_wtmp" 0 "$odd" --odd-text
    for w in "" -w; do
        cmp <(last $w -f "$odd") <("$examples/last" $w -f "$odd")
    done
    echo "examples/last prints odd bytes as last does (with and without -w)"
}

step_package() {
    # cargo unpacks the packaged crates from a temporary local registry into
    # $CARGO_HOME/registry/src/-<hash>/ and reuses an unpacked copy of the same
    # name and version: a change since the last run would be verified against
    # the stale copy. Those directories (the ones starting with "-") hold only
    # such local-registry crates.
    rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/utmps-* "$target/package/package"
    env -u UTMPS_SYS_STATIC cargo package --workspace --allow-dirty --target-dir "$target/package" >/dev/null
    echo "packaged: $(ls "$target/package/package/"*.crate | xargs -n1 basename | tr '\n' ' ')"
}

step_new-project() {
    ci/new-project.sh "$target"
}

step_coexist() {
    ci/coexist.sh "$target"
}

step_bench() {
    # Numbers for the log, not a timed test: the criterion rows are filtered
    # out (`nomatch`), the paired rows print their medians and ratios.
    UTMPS_SYS_STATIC=1 UTMPS_BENCH_PAIRED_ROUNDS=300 \
        cargo bench -q -p utmps --features native,test-peer --bench session -- nomatch | grep '^paired/'
}

step_debian13() {
    ci/debian13.sh
}

step_logind() {
    ci/logind.sh
}

case "${1:-}" in
    --list) list_steps; exit 0 ;;
    -h | --help) sed -n '2,/^set /s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
mapfile -t valid < <(step_names)
chosen=("$@")
[ ${#chosen[@]} -gt 0 ] || chosen=("${valid[@]}")
for name in "${chosen[@]}"; do
    if [[ " ${valid[*]} " != *" $name "* ]]; then
        echo "ci/test.sh: unknown step \`$name\`; the steps are:" >&2
        list_steps >&2
        exit 2
    fi
done

install_packages "${chosen[@]}"
# This script runs as root on machines that can mount a tmpfs: the tests that
# need those must run here, not skip.
if [ "$(id -u)" -eq 0 ]; then export UTMPS_TEST_NO_SKIP=1; fi

for name in "${chosen[@]}"; do
    banner "$name: $(field 2 "$(printf '%s\n' "${steps[@]}" | grep "^$name|")")"
    ("step_$name")
done
banner "passed: ${chosen[*]}"
