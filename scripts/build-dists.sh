#!/usr/bin/env bash
# Build the sdist and wheel of every distribution (the core at the root, each plugins/*/) into one
# directory, then `twine check --strict` them. Each wheel is built from its sdist.
# Usage: bash scripts/build-dists.sh [OUTDIR (default dist)] [extra `python -m build` args, e.g. --no-isolation]
# Needs `build` and `twine` (both in auralis-core[test]); PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"; elif [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
OUT="${1:-dist}"
shift || true
dirs=(.)
for dir in plugins/*/; do
  [ -f "$dir/pyproject.toml" ] && dirs+=("${dir%/}")
done
mkdir -p "$OUT"
for dir in "${dirs[@]}"; do
  "$PY" -m build --outdir "$OUT" "$@" "$dir"
done
"$PY" -m twine check --strict "$OUT"/*.tar.gz "$OUT"/*.whl
