#!/usr/bin/env bash
# Building without CMake: `make install PREFIX=... [DESTDIR=...]` and the build tree's uninstalled
# pkg-config file, end to end: the installed tree (versioned library, soname links, static
# library, header, mapfile.pc), a consumer built with `pkg-config --cflags --libs mapfile` against
# an installed prefix and against the build tree, and `make uninstall`. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/build/make-install
rm -rf "$work"
mkdir -p "$work"
. scripts/steps.sh

installed_tree() { # installed_tree LIBDIR INCLUDEDIR PREFIX_IN_PC
  local lib=$1 include=$2 prefix=$3
  test -f "$lib/libmapfile.so.$version" &&
    test "$(readlink "$lib/libmapfile.so.$major")" = "libmapfile.so.$version" &&
    test "$(readlink "$lib/libmapfile.so")" = "libmapfile.so.$major" &&
    readelf -d "$lib/libmapfile.so.$version" | grep -q "SONAME.*\[libmapfile.so.$major\]" &&
    test -f "$lib/libmapfile.a" &&
    cmp -s "$include/mapfile.h" include/mapfile.h &&
    cmp -s "$include/mapfile.hpp" include/mapfile.hpp &&
    grep -qx "prefix=$prefix" "$lib/pkgconfig/mapfile.pc" &&
    grep -q "^Version: $version" "$lib/pkgconfig/mapfile.pc" &&
    ! grep -q "rpath\|@" "$lib/pkgconfig/mapfile.pc"
}

destdir_install() {
  make --no-print-directory install PREFIX=/usr/local DESTDIR="$work/dest" &&
    installed_tree "$work/dest/usr/local/lib" "$work/dest/usr/local/include" /usr/local
}
step destdir_install destdir_install

have_pkg_config=1
if ! command -v pkg-config >/dev/null 2>&1; then
  have_pkg_config=0
  echo "SKIPPED: the pkg-config consumers: pkg-config is not installed (apt-get install pkg-config; .ci/run does)"
  echo "make-install: pkg-config consumers (pkg-config is not installed)" >>target/skipped-tests.txt
fi

consumer() { # consumer NAME PKG_CONFIG_PATH [LD_LIBRARY_PATH]: builds and runs tests/consumers/consumer.c
  local name=$1 path=$2 libs=${3:-}
  PKG_CONFIG_PATH=$path pkg-config --exists "mapfile = $version" &&
    cc -std=c99 $(cat c-warnings.txt) tests/consumers/consumer.c -o "$work/$name" \
      $(PKG_CONFIG_PATH=$path pkg-config --cflags --libs mapfile) &&
    env -u LD_LIBRARY_PATH ${libs:+LD_LIBRARY_PATH=$libs} "$work/$name" README.md | grep -q "^consumer: [0-9]* lines with libmapfile $version"
}

prefix_install() {
  make --no-print-directory install PREFIX="$work/prefix" &&
    installed_tree "$work/prefix/lib" "$work/prefix/include" "$work/prefix" &&
    consumer installed_consumer "$work/prefix/lib/pkgconfig" "$work/prefix/lib" &&
    ldd "$work/installed_consumer" | grep -q "libmapfile.so.$major => not found"
}

uninstalled_pc() {
  # make lib wrote it; PKG_CONFIG_PATH with build/pkgconfig prefers mapfile-uninstalled.pc, whose
  # Libs carry an rpath: the consumer runs from the build tree without LD_LIBRARY_PATH.
  test -f build/pkgconfig/mapfile-uninstalled.pc &&
    PKG_CONFIG_PATH=$root/build/pkgconfig pkg-config --libs mapfile | grep -q -- "-L$root/target/release" &&
    consumer uninstalled_consumer "$root/build/pkgconfig"
}

uninstall() {
  make --no-print-directory uninstall PREFIX="$work/prefix" &&
    test -z "$(find "$work/prefix" -type f -o -type l)"
}

if [ "$have_pkg_config" = 1 ]; then
  step prefix_install prefix_install
  step uninstalled_pc uninstalled_pc
fi
step uninstall uninstall

echo "make install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
