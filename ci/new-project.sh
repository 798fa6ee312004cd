#!/usr/bin/env bash
# Builds the crates the way a registry user gets them: packages the workspace,
# unpacks the .crate files, and builds and runs a new project outside the
# workspace that depends on them with default features and no variable set.
# Usage: ci/new-project.sh [TARGET_DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-${CARGO_TARGET_DIR:-$root/target}}
work="$target/new-project"
. "$root/ci/packaged.sh"
fresh_environment
unpack_packages "$work"
rm -rf "$work/app/src"
mkdir -p "$work/app/src"

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
cp "$root/ci/new-project/temp_dir.rs" "$work/app/src/temp_dir.rs"
# The workspace's versions of the registry crates, so that a new release
# elsewhere does not make this step fail for reasons of its own.
cp "$root/Cargo.lock" "$work/app/Cargo.lock"

# The default rule must pick an installed copy only if pkg-config finds one.
if pkg-config --exists 'xutmp >= 0.1.1' 2>/dev/null; then expect=dynamic; else expect=static; fi
echo "building a new project on the packaged crates (expect $expect linking)"
cd "$work/app"
cargo run --quiet -- "$expect"
