#!/bin/sh
# deps.sh - make sure the Debian packages the build needs are installed.
#
#   scripts/deps.sh check   packages for `make check` (tests)
#   scripts/deps.sh build   packages for `make demo` (none beyond the compiler yet)
#
# As root it installs what is missing with apt-get; otherwise it prints the exact command.
set -eu
what=${1:-check}
pkgs=""
case "$what" in
    build) pkgs="" ;;
    check) pkgs="libcmocka-dev" ;;
    bench) pkgs="libunicorn-dev" ;;
    fuzz) pkgs="libcmocka-dev clang libclang-rt-14-dev" ;;
    *) echo "deps.sh: unknown set '$what'" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || true
    apt-get install -y -q --no-install-recommends $missing >/dev/null
else
    echo "deps.sh: missing Debian packages:$missing" >&2
    echo "deps.sh: install them with: sudo apt-get install$missing" >&2
    exit 1
fi
