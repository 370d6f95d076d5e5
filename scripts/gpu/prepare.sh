#!/usr/bin/env bash
# Here (a machine with PyPI): build what a GPU run carries, inside the checkout the device tool sends.
#
#   bash scripts/gpu/prepare.sh [CHECKOUT]     (default: this repository)
#
# CHECKOUT/.gpu-bundle: the offline vLLM 0.26 bundle (3 parts of 52 MB + the zstandard wheel), built once.
# CHECKOUT/.devcarry:   wheels of auralis-core and auralis-xttsv2 built from THIS tree, the few pure-Python
#                       dependencies the device image lacks, the tests, benchmarks and pyproject (pytest config).
# Both are added to CHECKOUT/.git/info/exclude. Then follow scripts/gpu/README.md.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DST=$(realpath "${1:-$SRC}")
for d in /.gpu-bundle/ /.devcarry/; do grep -qxF "$d" "$DST/.git/info/exclude" 2>/dev/null || echo "$d" >> "$DST/.git/info/exclude"; done
[ -f "$DST/.gpu-bundle/site.tzst.02" ] || bash "$SRC/scripts/gpu/vllm-bundle.sh" "$DST/.gpu-bundle"
C="$DST/.devcarry"
rm -rf "$C" && mkdir -p "$C/wheels" "$C/plugins/xttsv2"
python3 -m pip wheel -q --no-deps -w "$C/wheels" "$SRC" "$SRC/plugins/xttsv2"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$C/wheels" \
  num2words==0.5.14 pytest-asyncio==1.5.0 py3langid==0.4.0
cp "$SRC/pyproject.toml" "$C/"
cp -r "$SRC/plugins/xttsv2/tests" "$C/plugins/xttsv2/"
cp -r "$SRC/benchmarks" "$SRC/scripts" "$C/"
find "$C" -name __pycache__ -prune -exec rm -rf {} +
du -sh "$C" "$DST/.gpu-bundle"
