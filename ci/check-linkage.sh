#!/usr/bin/env bash
# Asks two built test binaries themselves how they were linked: the dynamic
# one must need libxutmp.so.1, the static one must not need libxutmp at all.
# Usage: ci/check-linkage.sh STATIC_BINARY DYNAMIC_BINARY
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 STATIC_BINARY DYNAMIC_BINARY" >&2; exit 2; }
static_bin=$1 dynamic_bin=$2
for bin in "$static_bin" "$dynamic_bin"; do
    [ -x "$bin" ] || { echo "FAIL: not an executable: '$bin'" >&2; exit 1; }
done

if readelf -d "$static_bin" | grep -q 'NEEDED.*libxutmp'; then
    echo "FAIL: the static test binary needs libxutmp.so: $static_bin" >&2; exit 1
fi
if ! readelf -d "$dynamic_bin" | grep -q 'NEEDED.*libxutmp\.so\.1'; then
    echo "FAIL: the dynamic test binary does not need libxutmp.so.1: $dynamic_bin" >&2; exit 1
fi
echo "static:  $static_bin needs no libxutmp"
echo "dynamic: $dynamic_bin needs $(readelf -d "$dynamic_bin" | grep -o 'libxutmp[^]]*')"
