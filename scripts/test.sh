#!/usr/bin/env bash
# Set up a test environment from scratch (idempotent) and run every test: core + all plugins.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${AURALIS_TEST_VENV:-.venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
# CPU torch first (pinned, so no CUDA build is pulled in by the plugins' "torch>=2.1").
"${PIP[@]}" "torch==2.13.0"
plugins=()
for dir in plugins/*/; do
  [ -f "$dir/pyproject.toml" ] && plugins+=(-e "$dir")
done
"${PIP[@]}" -e ".[test]" "${plugins[@]}"
for dir in plugins/*/; do
  # language extras etc. needed by a plugin's own tests
  [ -f "$dir/requirements-test.txt" ] && "${PIP[@]}" -r "$dir/requirements-test.txt"
done

# The browser tests (tests/playground) drive Debian's Chromium; a clean CI machine lacks it.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ -x /usr/bin/chromium ]; then
  export AURALIS_REQUIRE_BROWSER=1  # installed: a browser test that cannot run is a failure, not a skip
fi

test_dirs=(tests)
for dir in plugins/*/tests; do
  [ -d "$dir" ] && test_dirs+=("$dir")
done
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "${test_dirs[@]}" "$@"
