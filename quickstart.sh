#!/bin/sh
# Sets up a fresh Debian machine and builds luaproxy, then either runs it on
# the shipped configuration ("run") or runs the whole test suite ("test").
#   ./quickstart.sh run    build, then start luaproxy in the foreground
#   ./quickstart.sh test   build, then run the unit and integration tests,
#                          check the release tarball (make distcheck), and
#                          run the tests again under AddressSanitizer and UBSan
set -eu
cd "$(dirname "$0")"
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

packages="build-essential autoconf automake pkg-config perl liblua5.3-dev
    libevent-dev libssl-dev zlib1g-dev libpcre2-dev check libsubunit-dev
    iproute2"

# Installs the Debian packages that are missing (as root, or with sudo).
install_packages() {
    missing=""
    for p in $packages; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "quickstart: installing$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

# Builds in build directory $1 with configure options $2...
build() {
    dir=$1
    shift
    [ -x configure ] || ./autogen.sh >/dev/null
    mkdir -p "$dir"
    (cd "$dir" && { [ -f Makefile ] || "$top/configure" "$@" >/dev/null; } &&
        make -j"$jobs" >/dev/null)
}

case "${1:-}" in
run)
    install_packages
    build build --enable-werror
    echo "quickstart: luaproxy listens on 127.0.0.1:8080 (HTTP) and 127.0.0.1:8081 (TCP); Ctrl-C stops it"
    LUAPROXY_LUA_DIR="$top/conf" exec build/luaproxy -db -f conf/luaproxy.cfg
    ;;
test)
    install_packages
    build build --enable-werror
    (cd build && make -j"$jobs" check && make -j"$jobs" distcheck >/dev/null)
    build build-san --enable-werror --enable-sanitizers
    (cd build-san && make -j"$jobs" check)
    # one closing line over both runs, from automake's test-suite logs
    cat build/test-suite.log build-san/test-suite.log | awk '
        /^# PASS:/ { pass += $3 } /^# FAIL:/ { fail += $3 }
        /^# ERROR:/ { fail += $3 } /^# SKIP:/ { skip += $3 }
        END { printf "%d passed, %d failed, %d skipped\n", pass, fail, skip }'
    ;;
*)
    echo "usage: $0 run|test" >&2
    exit 1
    ;;
esac
