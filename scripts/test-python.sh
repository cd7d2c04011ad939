#!/usr/bin/env bash
# The Python binding's tests (pytest, in a venv under build/) against target/release/libmapfile.so.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/venv
# pytest runs the tests; mypy checks the type hints (--strict) and numpy the zero-copy example
if [ ! -x "$venv/bin/pytest" ] || [ ! -x "$venv/bin/mypy" ] || ! "$venv/bin/python" -c "import numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check pytest mypy numpy
fi
export MAPFILE_LIBRARY="$PWD/target/release/libmapfile.so"
export PYTHONPATH="$PWD/bindings/python"
cd bindings/python
exec "../../$venv/bin/pytest" -q -rs -p no:cacheprovider
