#!/usr/bin/env bash
# The whole test matrix: formatting, lints, docs, the C library's own tests, the
# static and dynamic link legs, the native backend, and packaging. Run it from
# anywhere; it installs the Debian packages it needs when run as root.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n==> %s\n' "$*"; }

install_packages() {
    local need=() cmd pkg
    for pair in gcc:gcc g++:g++ make:make pkg-config:pkg-config readelf:binutils valgrind:valgrind who:coreutils last:util-linux utmpdump:util-linux; do
        cmd=${pair%%:*} pkg=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
    done
    [ ${#need[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing tools (${need[*]}): install them, or run as root so this script can" >&2
        return 1
    fi
    step "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

install_packages
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy

step "cargo fmt --check"
cargo fmt --all -- --check

step "C library: make check (tests, then valgrind)"
make -C xutmp O="$target/xutmp-build" check

step "clippy, every feature set"
cargo clippy --workspace --all-targets --features utmps-sys/static,utmps/native,utmps/test-peer -- -D warnings
UTMPS_SYS_STATIC=1 cargo clippy -p utmps --all-targets -- -D warnings
cargo clippy -p utmps --lib --no-default-features --features native -- -D warnings
cargo clippy -p utmps --lib --no-default-features --features test-peer -- -D warnings
cargo clippy -p utmps --lib --no-default-features -- -D warnings

# libfuzzer-sys compiles libFuzzer (C++) in its build script, hence g++ above.
step "the fuzz targets still build (stable; running them needs nightly)"
(cd utmps/fuzz && cargo check --target-dir "$target/fuzz")

step "docs, warnings denied"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --features utmps-sys/static,utmps/native,utmps/test-peer

# CC=/bin/false: no build script may compile C. rustc still links with the
# system linker, so this does not prove a machine without cc could build it.
step "native-only build: no build script compiles C"
CC=/bin/false cargo build -p utmps --no-default-features --features native --target-dir "$target/native-only"

# This script runs as root on machines that can mount a tmpfs: the tests that
# need those must run here, not skip.
if [ "$(id -u)" -eq 0 ]; then export UTMPS_TEST_NO_SKIP=1; fi

step "static leg: tests"
UTMPS_SYS_STATIC=1 UTMPS_SYS_EXPECT_MODE=static \
    cargo test --workspace --features utmps/native,utmps/test-peer

step "dynamic leg: libxutmp.so installed under target/"
prefix="$target/xutmp-prefix"
make -C xutmp O="$target/xutmp-build" install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
UTMPS_SYS_STATIC=0 UTMPS_SYS_EXPECT_MODE=dynamic \
    cargo test --workspace --features utmps/native,utmps/test-peer --target-dir "$target/dynamic"

step "the binaries show their link mode"
ci/check-linkage.sh "$target"

step "cargo package"
UTMPS_SYS_STATIC=1 cargo package --workspace --allow-dirty --target-dir "$target/package" >/dev/null
echo "packaged: $(ls "$target/package/package/"*.crate | xargs -n1 basename | tr '\n' ' ')"

step "all checks passed"
