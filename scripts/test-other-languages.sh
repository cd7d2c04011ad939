#!/usr/bin/env bash
# libmapfile from other languages by dlopen: examples-dlopen/count_lines.lua on LuaJIT's FFI,
# run on a generated file, its output compared with what awk computes. A language that is not
# installed says so (.ci/run installs luajit). Julia has no Debian 12 package; Go would be cgo
# (a C compiler again), so LuaJIT is the dlopen-only case tested here.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$PWD/build/other-languages
rm -rf "$work"
mkdir -p "$work"
source scripts/steps.sh
library=$PWD/target/release/libmapfile.so

lua_count_lines() {
  awk 'BEGIN { for (i = 1; i <= 5000; i++) print (i == 3217 ? "a WORD here" : "line " i) }' >"$work/text"
  [ "$(luajit examples-dlopen/count_lines.lua "$library" "$work/text" WORD)" = "$(printf '5000 lines\nfirst WORD at line 3217')" ] &&
    [ "$(luajit examples-dlopen/count_lines.lua "$library" "$work/text" ABSENT)" = "$(printf '5000 lines\nno ABSENT')" ] &&
    ! luajit examples-dlopen/count_lines.lua "$library" "$work/missing" WORD 2>"$work/error" &&
    grep -q 'mapfile_open: open(".*missing")' "$work/error"
}

step_with luajit luajit_ffi_count_lines lua_count_lines
echo "other languages: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
