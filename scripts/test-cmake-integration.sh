#!/usr/bin/env bash
# CMake and pkg-config integration, end to end, in a fresh build directory:
#   cmake build + ctest; install to a prefix (versioned library, links, soname, header, package
#   files); a consumer project with find_package(mapfile); one with add_subdirectory; one built
#   with `pkg-config --cflags --libs mapfile`. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${MAPFILE_INTEGRATION_DIR:-$root/build/integration}
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
. scripts/steps.sh

step cmake_configure cmake -S . -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix"
step cmake_build cmake --build "$work/build" -j 2
step ctest ctest --test-dir "$work/build" --output-on-failure
step cmake_install cmake --install "$work/build"

check_installed_tree() {
  test -f "$prefix/lib/libmapfile.so.$version" &&
    test "$(readlink "$prefix/lib/libmapfile.so.$major")" = "libmapfile.so.$version" &&
    test "$(readlink "$prefix/lib/libmapfile.so")" = "libmapfile.so.$major" &&
    readelf -d "$prefix/lib/libmapfile.so.$version" | grep -q "SONAME.*\[libmapfile.so.$major\]" &&
    test -f "$prefix/lib/libmapfile.a" &&
    cmp -s "$prefix/include/mapfile.h" include/mapfile.h &&
    cmp -s "$prefix/include/mapfile.hpp" include/mapfile.hpp &&
    test -f "$prefix/lib/cmake/mapfile/mapfileConfig.cmake" &&
    test -f "$prefix/lib/cmake/mapfile/mapfileConfigVersion.cmake" &&
    grep -q "^Version: $version" "$prefix/lib/pkgconfig/mapfile.pc"
}
step installed_tree check_installed_tree

consumer_find_package() {
  cmake -S tests/consumers/find_package -B "$work/find_package" -DCMAKE_PREFIX_PATH="$prefix" &&
    cmake --build "$work/find_package" &&
    LD_LIBRARY_PATH="$prefix/lib" "$work/find_package/consumer" README.md | grep -q "^consumer: [0-9]* lines with libmapfile $version" &&
    env -u LD_LIBRARY_PATH "$work/find_package/consumer_static" README.md | grep -q "^consumer: " &&
    ! readelf -d "$work/find_package/consumer_static" | grep -q libmapfile
}
step consumer_find_package consumer_find_package

consumer_find_package_version_mismatch() {
  # A request for an incompatible version must be refused at configure time.
  mkdir -p "$work/wrong_version" &&
    printf 'cmake_minimum_required(VERSION 3.16)\nproject(wrong LANGUAGES C)\nfind_package(mapfile 99.0 REQUIRED)\n' \
      >"$work/wrong_version/CMakeLists.txt" &&
    ! cmake -S "$work/wrong_version" -B "$work/wrong_version/build" -DCMAKE_PREFIX_PATH="$prefix"
}
step consumer_find_package_refuses_wrong_version consumer_find_package_version_mismatch

consumer_subdirectory() {
  cmake -S tests/consumers/subdirectory -B "$work/subdirectory" -DMAPFILE_SOURCE_DIR="$root" &&
    cmake --build "$work/subdirectory" -j 2 &&
    "$work/subdirectory/consumer" README.md | grep -q "^consumer: "
}
step consumer_add_subdirectory consumer_subdirectory

consumer_pkg_config() {
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
  pkg-config --exists "mapfile >= $version" &&
    # shellcheck disable=SC2046
    cc -std=c99 $(cat c-warnings.txt) tests/consumers/consumer.c -o "$work/pkg_config_consumer" \
      $(pkg-config --cflags --libs mapfile) &&
    LD_LIBRARY_PATH="$prefix/lib" "$work/pkg_config_consumer" README.md | grep -q "^consumer: "
}
step consumer_pkg_config consumer_pkg_config

echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
