# Sourced by the new-project and coexist steps: what a registry user's machine
# has, and the workspace's crates as a registry serves them.
#
#   fresh_environment              unsets every variable the other steps set
#   unpack_packages DIR            packages the workspace into DIR/package,
#                                  unpacks the .crate files into DIR/crates, and
#                                  sets utmps_dir and sys_dir to them

fresh_environment() {
    unset UTMPS_SYS_STATIC UTMPS_SYS_EXPECT_MODE XUTMP_FLAVOUR XUTMP_LIB_DIR XUTMP_INCLUDE_DIR \
        PKG_CONFIG_PATH LD_LIBRARY_PATH CARGO_TARGET_DIR
}

unpack_packages() {
    local dir=$1 crate
    # --no-verify: the package step verifies; the builds that follow are the
    # stronger test. The .crate files of an earlier version would be unpacked
    # beside the new ones.
    rm -rf "$dir/package/package" "$dir/crates"
    (cd "$root" && cargo package --workspace --allow-dirty --no-verify --target-dir "$dir/package" >/dev/null)
    mkdir -p "$dir/crates"
    for crate in "$dir/package/package/"*.crate; do
        tar -xzf "$crate" -C "$dir/crates"
    done
    utmps_dir=$(find "$dir/crates" -mindepth 1 -maxdepth 1 -type d -name 'utmps-[0-9]*')
    sys_dir=$(find "$dir/crates" -mindepth 1 -maxdepth 1 -type d -name 'utmps-sys-*')
    if [ ! -d "$utmps_dir" ] || [ ! -d "$sys_dir" ]; then
        echo "packaged crates not found in $dir/package" >&2
        return 1
    fi
}
