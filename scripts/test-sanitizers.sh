#!/usr/bin/env bash
# The C test programs under AddressSanitizer + UndefinedBehaviorSanitizer (C side), linked against a
# library built with the nightly toolchain's -Zsanitizer=address when nightly is installed, else a
# plain debug build. Both library builds use the dev profile, so Rust's own checks (overflow,
# slice preconditions) are on as well. ASAN_OPTIONS=handle_sigbus=0 lets the library's SIGBUS
# handler run (the truncation guard), as the README advises. Any sanitizer report fails the program.
# Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

if cargo +nightly --version >/dev/null 2>&1 &&
  ls "$(rustc +nightly --print sysroot)"/lib/rustlib/x86_64-unknown-linux-gnu/lib/*asan* >/dev/null 2>&1; then
  echo "== library: nightly, -Zsanitizer=address, dev profile"
  target_dir=target/asan
  RUSTFLAGS="-Zsanitizer=address" cargo +nightly build -q --lib --target x86_64-unknown-linux-gnu \
    --target-dir "$target_dir" || exit 1
  library_dir=$target_dir/x86_64-unknown-linux-gnu/debug
else
  echo "== library: no nightly toolchain with ASan here; a plain dev-profile build (C side sanitized only)"
  target_dir=target/debug-for-sanitizers
  cargo build -q --lib --target-dir "$target_dir" || exit 1
  library_dir=$target_dir/debug
fi
ln -sf libmapfile.so "$library_dir/libmapfile.so.0"

out=build/sanitizers
mkdir -p "$out"
export ASAN_OPTIONS=handle_sigbus=0:detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87
passed=0
failed=0
for source in tests/c/test_*.c; do
  name=$(basename "$source" .c)
  # shellcheck disable=SC2046 # the flags are words
  if ! ${CC:-cc} -std=c99 $(cat c-warnings.txt) -O1 -g -fno-omit-frame-pointer \
    -fsanitize=address,undefined -fno-sanitize-recover=all -Iinclude "$source" -o "$out/$name" \
    -L"$library_dir" -Wl,-rpath,"$PWD/$library_dir" -lmapfile -lpthread; then
    echo "FAILED sanitizers $name (does not compile)"
    failed=$((failed + 1))
    continue
  fi
  scratch=$(mktemp -d)
  if timeout 600 "$out/$name" "$scratch" >"$out/$name.log" 2>&1 &&
    ! grep -qE "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$out/$name.log"; then
    echo "ok sanitizers $name ($(tail -n 1 "$out/$name.log"))"
    grep -h "SKIPPED" "$out/$name.log" | sed "s/^/    $name: /"
    passed=$((passed + 1))
  else
    echo "FAILED sanitizers $name"
    grep -E -A30 "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|FAILED|failed" "$out/$name.log" |
      head -n 60 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
  rm -rf "$scratch"
done
echo "sanitizers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
