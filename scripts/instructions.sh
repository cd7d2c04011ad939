#!/usr/bin/env bash
# Instructions per call of mapfile_read / mapfile_write (8 bytes) and mapfile_atomic_u64_load,
# and of the non-inlined C accessor doing the same (issue 12's deterministic measure): callgrind
# counts only inside bench.c's count_calls_* loops (--toggle-collect), at two loop lengths; the
# difference divided by the extra calls is the cost of one iteration: the call and the least a
# loop needs around it (a precomputed offset, the arguments, the count: ~8 instructions for both
# peers, plus the PLT jump into the library for ours). The "inside the call" figures are callgrind's
# inclusive cost of the called function itself (the accessor's includes its memcpy), by the same
# difference. Usage: scripts/instructions.sh BENCH_BINARY DIR
set -euo pipefail
bench=$1
dir=$2
if ! command -v valgrind >/dev/null 2>&1; then
  echo "instruction counts SKIPPED: valgrind is not installed (.ci/run installs it)"
  exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
count() { # CALL FUNCTION N -> "loop-total function-inclusive"
  local total inside
  total=$(valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='count_calls_*' \
    "$bench" --instructions "$dir" "$1" "$3" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
  inside=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
    sed -n "s/^ *\([0-9,]*\) .*:$2 .*/\1/p; s/^ *\([0-9,]*\) .*:$2\$/\1/p" | tr -d , | sort -n | tail -1)
  echo "$total ${inside:-0}"
}
per_call() { # CALL FUNCTION -> "per-iteration inside-the-call"
  local small large
  read -r -a small <<<"$(count "$1" "$2" 20000)"
  read -r -a large <<<"$(count "$1" "$2" 40000)"
  echo "$(( (large[0] - small[0]) / 20000 )) $(( (large[1] - small[1]) / 20000 ))"
}
echo "| id | call (8 bytes, random offsets) | mapfile | non-inlined C accessor | ratio | target | | inside the call: mapfile, accessor |"
echo "|---|---|---|---|---|---|---|---|"
for call in read write load; do
  name="mapfile_$call"
  [ "$call" = load ] && name=mapfile_atomic_u64_load
  read -r ours ours_inside <<<"$(per_call "mapfile_$call" "$name")"
  read -r peer peer_inside <<<"$(per_call "accessor_$call" "accessor_$call")"
  verdict=MISSED
  [ "$ours" -le 40 ] && verdict=met
  printf '| I1 | %s | %d instr | %d instr | %s | <= 40 instructions | %s | %d, %d |\n' \
    "$name" "$ours" "$peer" "$(python3 -c "print(f'{$ours/$peer:.2f}x')")" "$verdict" \
    "$ours_inside" "$peer_inside"
done
