#!/usr/bin/env bash
# Builds the crates the way a registry user gets them: packages the workspace,
# unpacks the .crate files, and builds and runs a new project outside the
# workspace that depends on them with default features and no variable set.
# Usage: ci/new-project.sh [TARGET_DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-${CARGO_TARGET_DIR:-$root/target}}
work="$target/new-project"
# What a fresh machine has: none of the variables the other CI steps set.
unset UTMPS_SYS_STATIC UTMPS_SYS_EXPECT_MODE XUTMP_FLAVOUR XUTMP_LIB_DIR XUTMP_INCLUDE_DIR \
    PKG_CONFIG_PATH LD_LIBRARY_PATH CARGO_TARGET_DIR

# --no-verify: the package step verifies; the build below is the stronger test.
# The .crate files of an earlier version would be unpacked beside the new ones.
rm -rf "$work/package/package"
(cd "$root" && cargo package --workspace --allow-dirty --no-verify --target-dir "$work/package" >/dev/null)
rm -rf "$work/crates" "$work/app/src"
mkdir -p "$work/crates" "$work/app/src"
for crate in "$work/package/package/"*.crate; do
    tar -xzf "$crate" -C "$work/crates"
done
utmps_dir=$(find "$work/crates" -mindepth 1 -maxdepth 1 -type d -name 'utmps-[0-9]*')
sys_dir=$(find "$work/crates" -mindepth 1 -maxdepth 1 -type d -name 'utmps-sys-*')
[ -d "$utmps_dir" ] && [ -d "$sys_dir" ] || { echo "new-project: packaged crates not found in $work/package" >&2; exit 1; }

# The packaged utmps names utmps-sys by version only, as crates.io would serve
# it; the patch makes that version the unpacked one. The version is the
# unpacked directory's, without its build metadata (`+xutmp...`), which
# version requirements do not take.
sys_version=${sys_dir##*/utmps-sys-}
sys_version=${sys_version%%+*}
cat > "$work/app/Cargo.toml" <<TOML
[package]
name = "utmps-new-project"
version = "0.1.0"
edition = "2021"
publish = false

# Not a member of the repository's workspace, which lies above target/.
[workspace]

[dependencies]
utmps = { path = "$utmps_dir" }
utmps-sys = "=$sys_version"

[patch.crates-io]
utmps-sys = { path = "$sys_dir" }
TOML
cp "$root/ci/new-project/main.rs" "$work/app/src/main.rs"
# The workspace's versions of the registry crates, so that a new release
# elsewhere does not make this step fail for reasons of its own.
cp "$root/Cargo.lock" "$work/app/Cargo.lock"

# The default rule must pick an installed copy only if pkg-config finds one.
if pkg-config --exists 'xutmp >= 0.1.1' 2>/dev/null; then expect=dynamic; else expect=static; fi
echo "building a new project on the packaged crates (expect $expect linking)"
cd "$work/app"
cargo run --quiet -- "$expect"
