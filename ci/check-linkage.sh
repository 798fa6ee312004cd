#!/usr/bin/env bash
# Asks the built test binaries themselves how they were linked: the dynamic leg's
# must need libxutmp.so, the static leg's must not.
set -euo pipefail
target=$1

layout_test() { # newest `layout-*` test binary under a target dir
    find "$1/debug/deps" -maxdepth 1 -type f -executable -name 'layout-*' -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2
}

static_bin=$(layout_test "$target")
dynamic_bin=$(layout_test "$target/dynamic")
for bin in "$static_bin" "$dynamic_bin"; do
    [ -n "$bin" ] || { echo "layout test binary not found under $target" >&2; exit 1; }
done

if readelf -d "$static_bin" | grep -q 'NEEDED.*libxutmp'; then
    echo "FAIL: the static test binary needs libxutmp.so: $static_bin" >&2; exit 1
fi
if ! readelf -d "$dynamic_bin" | grep -q 'NEEDED.*libxutmp\.so\.1'; then
    echo "FAIL: the dynamic test binary does not need libxutmp.so.1: $dynamic_bin" >&2; exit 1
fi
echo "static:  $(basename "$static_bin") needs no libxutmp"
echo "dynamic: $(basename "$dynamic_bin") needs $(readelf -d "$dynamic_bin" | grep -o 'libxutmp[^]]*')"
