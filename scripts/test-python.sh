#!/usr/bin/env bash
# The Python binding's tests (pytest, in a venv under build/) against target/release/libmapfile.so.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/venv
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check pytest
fi
export MAPFILE_LIBRARY="$PWD/target/release/libmapfile.so"
export PYTHONPATH="$PWD/bindings/python"
cd bindings/python
exec "../../$venv/bin/pytest" -q -p no:cacheprovider
