# Sourced by the integration scripts: `step NAME COMMAND...` runs a command with its output in
# $work/NAME.log, prints "ok NAME" or "FAILED NAME" with the log's tail, and counts it in
# $passed / $failed. Also sets $version and $major from Cargo.toml. Needs $work.
passed=0
failed=0

step() {
  local name=$1
  shift
  if "$@" >"$work/$name.log" 2>&1; then
    echo "ok $name"
    passed=$((passed + 1))
  else
    echo "FAILED $name (log: $work/$name.log)"
    tail -n 30 "$work/$name.log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

# `step_with TOOL NAME COMMAND...`: `step` when TOOL is on the PATH; else says loudly that NAME
# was skipped, records it in target/skipped-tests.txt and counts it in $skipped.
skipped=0
step_with() {
  local tool=$1
  shift
  if command -v "$tool" >/dev/null 2>&1; then
    step "$@"
  else
    echo "SKIPPED $1: $tool is not installed (.ci/run installs it)"
    echo "$1 ($tool not installed)" >>target/skipped-tests.txt
    skipped=$((skipped + 1))
  fi
}

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
