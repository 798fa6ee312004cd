#!/usr/bin/env bash
# What a new project pays to build on utmps with default features, beside what
# compiling libsqlite3-sys's bundled SQLite alone costs, measured in one run
# (for BENCHMARKS.md; not a CI step). Each build is fresh (its own empty target
# directory; the registry already downloaded) and they alternate, ROUNDS times.
#
#   ci/build-cost.sh [BEFORE_REV] [ROUNDS]
#
# With BEFORE_REV (a commit), that revision's crates are measured too, from a
# git worktree under target/. Prints one line per project and round: the
# debug build's seconds and binary size, then the release build's (run after
# the debug one, in the same target directory) and its stripped size.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/target/build-cost"
before=${1:-}
rounds=${2:-1}
unset UTMPS_SYS_STATIC PKG_CONFIG_PATH LD_LIBRARY_PATH CARGO_TARGET_DIR RUSTFLAGS
mkdir -p "$work"

project() { # project NAME DEPENDENCY-LINES: a one-file project under $work
    local dir="$work/$1"
    rm -rf "$dir" && mkdir -p "$dir/src"
    printf '[package]\nname = "build-cost"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n\n[workspace]\n\n[dependencies]\n%s\n' "$2" >"$dir/Cargo.toml"
    cat >"$dir/src/main.rs"
}

# Compiling the bundled SQLite alone, at the version utmps bundled before.
project sqlite-alone 'libsqlite3-sys = { version = "=0.30.1", features = ["bundled"] }' <<'RS'
fn main() {
    // SAFETY: takes no argument.
    println!("{}", unsafe { libsqlite3_sys::sqlite3_libversion_number() });
}
RS

# A session on a wtmpdb store, so that the SQLite code is linked in (an
# unused store would be dropped by the linker, SQLite with it).
app_main='fn main() {
    let acct = utmps::Accounting::empty().with_wtmpdb("/nonexistent/wtmp.db");
    println!("{}", acct.open(&utmps::Login::new("alice", "pts/1")).is_ok());
}'
project after "utmps = { path = \"$root/utmps\" }" <<<"$app_main"
cp "$root/Cargo.lock" "$work/after/Cargo.lock"
names=(sqlite-alone after)
if [ -n "$before" ]; then
    tree="$work/before-tree"
    git -C "$root" worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"
    git -C "$root" worktree add --detach "$tree" "$before" >/dev/null
    project before "utmps = { path = \"$tree/utmps\" }" <<<"$app_main"
    cp "$tree/Cargo.lock" "$work/before/Cargo.lock"
    names=(sqlite-alone before after)
fi

for dir in "${names[@]}"; do (cd "$work/$dir" && cargo fetch -q); done
for round in $(seq "$rounds"); do
    for dir in "${names[@]}"; do
        cd "$work/$dir"
        rm -rf target
        t0=$(date +%s.%N)
        cargo build -q
        t1=$(date +%s.%N)
        cargo build -q --release
        t2=$(date +%s.%N)
        strip -o target/stripped target/release/build-cost
        printf '%-13s round %s  debug build %6.1f s, binary %8d bytes  release build %6.1f s, stripped %8d bytes\n' \
            "$dir" "$round" "$(echo "$t1 - $t0" | bc)" "$(stat -c %s target/debug/build-cost)" \
            "$(echo "$t2 - $t1" | bc)" "$(stat -c %s target/stripped)"
    done
done
[ -z "$before" ] || git -C "$root" worktree remove --force "$work/before-tree"
