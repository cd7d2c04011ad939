#!/usr/bin/env bash
# The other ways a thread can find its grace mark (src/core/grace.rs `mod slot`, chosen by
# build.rs): this platform builds "initial_exec_tls"; aarch64 Linux builds "thread_pointer" and
# every other target (musl, the BSDs, macOS) "thread_local". Both build here too
# (MAPFILE_GRACE_SLOT; thread_pointer hashes x86_64's thread pointer instead of aarch64's), so
# that the Rust tests and the C programs run on each: without this, code no build here
# compiled would ship. Each variant builds into its own target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
for slot in thread_pointer thread_local; do
  echo "== grace slot $slot: cargo test --release (the model test 5 s)"
  MAPFILE_GRACE_SLOT=$slot CARGO_TARGET_DIR=target/grace-$slot MAPFILE_MODEL_SECONDS=5 \
    cargo test --release --quiet
done
echo "grace slots: thread_pointer and thread_local passed"
