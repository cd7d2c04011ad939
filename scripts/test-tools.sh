#!/usr/bin/env bash
# What the README says about running a mapfile program under tools, checked with the tools this
# machine has (each missing one says so): valgrind delivers the truncation SIGBUS to the library's
# handler; gdb needs `handle SIGBUS nostop noprint pass` (without it, it stops at the first
# guarded fault). ASan (scripts/test-sanitizers.sh) and HOST_CHAINS (tests/c/test_sigbus_modes.c)
# are tested where they live.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$PWD/build/tools
rm -rf "$work"
mkdir -p "$work"
source scripts/steps.sh
make --no-print-directory -s build/examples/sigbus_mapfile
program=$PWD/build/examples/sigbus_mapfile
expected="byte 0: success x
last byte: the file shrank under the mapping; the bytes asked for are gone
check: the file shrank under the mapping; the bytes asked for are gone
after refresh: 4096 bytes, check: success"

under_valgrind() {
  [ "$(valgrind -q --error-exitcode=9 "$program" "$work/valgrind-data")" = "$expected" ]
}
under_gdb() {
  gdb -batch -ex "handle SIGBUS nostop noprint pass" -ex run --args "$program" "$work/gdb-data" \
    >"$work/gdb.out" 2>&1 &&
    grep -q "after refresh: 4096 bytes, check: success" "$work/gdb.out" &&
    grep -q "exited normally" "$work/gdb.out"
}
gdb_stops_without_the_handle_command() {
  gdb -batch -ex run --args "$program" "$work/gdb-data2" >"$work/gdb2.out" 2>&1 || true
  grep -q "Program received signal SIGBUS" "$work/gdb2.out"
}

step_with valgrind valgrind_delivers_sigbus_to_the_guard under_valgrind
step_with gdb gdb_with_handle_sigbus_pass under_gdb
step_with gdb gdb_stops_without_it gdb_stops_without_the_handle_command
echo "tools: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
