#!/usr/bin/env bash
# The Python package as a new user meets it: `pip install ./bindings/python` into a fresh venv
# builds libmapfile with cargo (setuptools-rust) and puts it inside the package, so `import
# mapfile` works from any directory with no environment variable; MAPFILE_LIBRARY still
# overrides; `pip wheel` gives a platform wheel (not "any"). Cargo builds into build/pip-target,
# so target/release (what the other tests use) is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$PWD/build/python-package
rm -rf "$work"
mkdir -p "$work"
source scripts/steps.sh
export CARGO_TARGET_DIR=$PWD/build/pip-target
venv=$work/venv

fresh_install() {
  python3 -m venv "$venv" &&
    "$venv/bin/pip" install --disable-pip-version-check ./bindings/python
}
step pip_install fresh_install
# pip builds in the source tree: leave it as it was
rm -rf bindings/python/build bindings/python/mapfile.egg-info

import_anywhere() {
  (cd "$work" && env -u MAPFILE_LIBRARY -u PYTHONPATH "$venv/bin/python" -c '
import mapfile, pathlib, sys
loaded = pathlib.Path(mapfile.library._name)
assert loaded.parent == pathlib.Path(mapfile.__file__).parent, loaded
m = mapfile.MapFile.anonymous(4096)
m.write(0, b"packaged")
assert m.read(0, 8) == b"packaged"
print("imported", mapfile.version(), "from", loaded)
')
}
step import_from_another_directory import_anywhere

override() {
  mkdir -p "$work/copy" &&
    cp "$venv"/lib/python3*/site-packages/mapfile/_libmapfile*.so "$work/copy/libmapfile.so" &&
    (cd "$work" && MAPFILE_LIBRARY="$work/copy/libmapfile.so" "$venv/bin/python" -c '
import mapfile, sys
assert mapfile.library._name == sys.argv[1], mapfile.library._name
' "$work/copy/libmapfile.so") &&
    # a wrong path is an error naming it, not a silent fallback to the packaged copy
    ! (cd "$work" && MAPFILE_LIBRARY=/nonexistent/libmapfile.so "$venv/bin/python" -c 'import mapfile' \
      >"$work/override.out" 2>&1) &&
    grep -q "/nonexistent/libmapfile.so" "$work/override.out"
}
step mapfile_library_overrides override

platform_wheel() {
  "$venv/bin/pip" wheel --disable-pip-version-check --no-deps -w "$work/wheels" ./bindings/python &&
    ls "$work/wheels" | grep -E '^mapfile-.*-linux_[a-z0-9_]+\.whl$' &&
    ! ls "$work/wheels" | grep -q -- '-any\.whl$' &&
    python3 -m zipfile -l "$work/wheels"/mapfile-*.whl | grep -q "mapfile/_libmapfile"
}
step platform_wheel platform_wheel
rm -rf bindings/python/build bindings/python/mapfile.egg-info

echo "python package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
