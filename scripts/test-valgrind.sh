#!/usr/bin/env bash
# The C test programs that need no SIGBUS (valgrind runs its own signal machinery) under
# valgrind memcheck: no invalid access, no definite leak, in the library or the tests.
# --fair-sched=yes: valgrind runs one thread at a time, and its default lock lets threads that never
# make a syscall starve the others. Uses the programs that `cargo test --release` compiled.
# Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
work=$PWD/build/valgrind
rm -rf "$work"
mkdir -p "$work"
source scripts/steps.sh
programs=target/release/deps/c-programs

memcheck() { # memcheck NAME: the test program NAME under memcheck, in its own scratch directory
  local scratch
  scratch=$(mktemp -d)
  valgrind -q --fair-sched=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    "$programs/$1" "$scratch"
  local status=$?
  rm -rf "$scratch"
  return $status
}

# The programs that need no SIGBUS carry the line "Also run under valgrind memcheck" (one list).
for name in $(grep -l "Also run under valgrind memcheck" tests/c/test_*.c | xargs -n1 basename | sed 's/\.c$//'); do
  step "valgrind_$name" memcheck "$name"
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
