#!/usr/bin/env bash
# The C test programs that need no SIGBUS (valgrind runs its own signal machinery) under
# valgrind memcheck: no invalid access, no definite leak, in the library or the tests.
# --fair-sched=yes: valgrind runs one thread at a time, and its default lock lets threads that never
# make a syscall starve the others. Uses the programs that `cargo test --release` compiled.
# Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
programs=target/release/deps/c-programs
passed=0
failed=0
# The programs that need no SIGBUS carry the line "Also run under valgrind memcheck" (one list).
for name in $(grep -l "Also run under valgrind memcheck" tests/c/test_*.c | xargs -n1 basename | sed 's/\.c$//'); do
  scratch=$(mktemp -d)
  if valgrind -q --fair-sched=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    "$programs/$name" "$scratch" >"$scratch.log" 2>&1; then
    echo "ok valgrind $name"
    passed=$((passed + 1))
  else
    echo "FAILED valgrind $name"
    tail -n 40 "$scratch.log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
  rm -rf "$scratch" "$scratch.log"
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
