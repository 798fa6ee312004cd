#!/usr/bin/env bash
# New projects that depend on the packaged utmps beside a SQLite crate of their
# own, each with its bundled SQLite (and so its `links = "sqlite3"`): the oldest
# and newest rusqlite and sqlx that utmps claims to live beside. Each must
# resolve fresh, build, and run ci/coexist/main.rs (its own SQLite work and a
# wtmpdb session through utmps in one binary). The bundled-sqlite lines take
# utmps's own bundled SQLite too, at the ends of its libsqlite3-sys range.
# Usage: ci/coexist.sh [TARGET_DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-${CARGO_TARGET_DIR:-$root/target}}
work="$target/coexist"
. "$root/ci/packaged.sh"
fresh_environment

# name|the daemon's dependency|utmps features beyond the default
variants=(
    'rusqlite-0.32|rusqlite = { version = "=0.32.1", features = ["bundled"], optional = true }|'
    'rusqlite-0.43|rusqlite = { version = "=0.43.0", features = ["bundled"], optional = true }|'
    'sqlx-0.8|sqlx = { version = "=0.8.6", default-features = false, features = ["sqlite", "runtime-tokio"], optional = true }|'
    'sqlx-0.9|sqlx = { version = "=0.9.0", default-features = false, features = ["sqlite", "runtime-tokio"], optional = true }|'
    'rusqlite-0.32+bundled-sqlite|rusqlite = { version = "=0.32.1", features = ["bundled"], optional = true }|bundled-sqlite'
    'rusqlite-0.43+bundled-sqlite|rusqlite = { version = "=0.43.0", features = ["bundled"], optional = true }|bundled-sqlite'
)

unpack_packages "$work"

for v in "${variants[@]}"; do
    IFS='|' read -r name dep features <<<"$v"
    crate=${dep%% =*}
    app="$work/$name"
    rm -rf "$app" && mkdir -p "$app/src"
    extra=
    [ -z "$features" ] || extra=", features = [\"$features\"]"
    tokio= other=sqlx
    [ "$crate" != sqlx ] || { tokio='tokio = { version = "1", features = ["rt"] }'; other=rusqlite; }
    cat >"$app/Cargo.toml" <<TOML
[package]
name = "utmps-coexist"
version = "0.1.0"
edition = "2021"
publish = false

[workspace]

[features]
default = ["$crate"]
$crate = ["dep:$crate"]
$other = []

[dependencies]
utmps = { path = "$utmps_dir"$extra }
$dep
$tokio

[patch.crates-io]
utmps-sys = { path = "$sys_dir" }
TOML
    cp "$root/ci/coexist/main.rs" "$app/src/main.rs"
    cp "$root/ci/coexist/temp_dir.rs" "$app/src/temp_dir.rs"
    echo "coexist: $name"
    # One target directory for all: utmps and the common crates build once.
    (cd "$app" && cargo run --quiet --target-dir "$work/target-$crate")
done
echo "coexist: every variant resolved, built and ran"
