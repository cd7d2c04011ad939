#!/usr/bin/env bash
# Instructions per call of mapfile_read / mapfile_write (8 bytes) and mapfile_atomic_u64_load,
# and of the non-inlined C accessor doing the same (issue 12's deterministic measure): callgrind
# counts only inside bench.c's count_calls_* loops (--toggle-collect), at two loop lengths; the
# difference divided by the extra calls is the cost of one iteration (the call, its loop step and
# the offset arithmetic, the same for both peers). Usage: scripts/instructions.sh BENCH_BINARY DIR
set -euo pipefail
bench=$1
dir=$2
if ! command -v valgrind >/dev/null 2>&1; then
  echo "instruction counts SKIPPED: valgrind is not installed (.ci/run installs it)"
  exit 0
fi
count() { # CALL N -> instructions collected
  valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='count_calls_*' \
    "$bench" --instructions "$dir" "$1" "$2" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_call() { # CALL -> instructions per call
  local small large
  small=$(count "$1" 20000)
  large=$(count "$1" 40000)
  echo $(( (large - small) / 20000 ))
}
echo "| id | call (8 bytes, random offsets) | mapfile | non-inlined C accessor | ratio | target | |"
echo "|---|---|---|---|---|---|---|"
for call in read write load; do
  ours=$(per_call "mapfile_$call")
  peer=$(per_call "accessor_$call")
  verdict=MISSED
  [ "$ours" -le 40 ] && verdict=met
  name="mapfile_$call"
  [ "$call" = load ] && name=mapfile_atomic_u64_load
  printf '| I1 | %s | %d instr | %d instr | %s | <= 40 instructions | %s |\n' \
    "$name" "$ours" "$peer" "$(python3 -c "print(f'{$ours/$peer:.2f}x')")" "$verdict"
done
