# Sourced by ci/debian13.sh and ci/logind.sh: mirror prints the first
# non-security Debian mirror the host's apt sources name, so that the
# repository names no host.
mirror() {
    if [ -r /etc/apt/sources.list.d/debian.sources ]; then
        sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources | tr ' ' '\n' | grep -v -- '-security' | sed -n 1p
    fi
    if [ -r /etc/apt/sources.list ]; then
        sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' /etc/apt/sources.list |
            grep -v -- '-security' | sed -n 1p
    fi
}
