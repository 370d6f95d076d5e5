#!/usr/bin/env bash
# Here (a machine with PyPI): build what a GPU run carries, inside the checkout the device tool sends.
#
#   bash scripts/gpu/prepare.sh [CHECKOUT]     (default: this repository)
#
# CHECKOUT/.gpu-bundle: the offline vLLM 0.26 bundle (3 parts of 52 MB + the zstandard wheel), built once.
# CHECKOUT/.devcarry:   wheels of auralis-core and auralis-xttsv2 built from THIS tree, the few pure-Python
#                       dependencies the device image lacks, the tests, benchmarks and pyproject (pytest config),
#                       and in coqui/ the reference (coqui-tts 0.28 with transformers < 5 and what the image
#                       lacks for it), installed there into a separate --target dir so vLLM's transformers 5
#                       stays untouched.
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
  num2words==0.5.14 pytest-asyncio==1.5.0 py3langid==0.4.0 importlib-metadata==10.2.0 lazy-importer==0.1.0 pysbd==0.3.4
# The reference's environment. torchcodec is never used (the benchmark decodes no audio file); it only
# satisfies coqui-tts's import-time guard on torch >= 2.9. tokenizers 0.22: transformers 4.57 refuses 0.23.
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 -d "$C/coqui" \
  coqui-tts==0.28.0 transformers==4.57.6 huggingface-hub==0.36.2 tokenizers==0.22.2 anyascii==0.3.3 \
  coqpit-config==0.2.5 coqui-tts-trainer==0.4.0 inflect==7.6.0 typeguard==4.6.1 more-itertools==11.2.1 \
  jaraco.functools==4.6.0 librosa==0.11.0 audioread==3.1.0 soxr==1.1.0 pooch==1.9.0 decorator==5.3.1 \
  soundfile==0.14.0 cffi==2.1.1 pycparser==3.12 pysbd==0.3.4 monotonic-alignment-search==0.2.1 \
  ko-speech-tools==0.1.0 torchcodec==0.11.1 six==1.17.0 num2words==0.5.14
cp "$SRC/pyproject.toml" "$C/"
cp -r "$SRC/plugins/xttsv2/tests" "$C/plugins/xttsv2/"
cp -r "$SRC/benchmarks" "$SRC/scripts" "$C/"
find "$C" -name __pycache__ -prune -exec rm -rf {} +
du -sh "$C" "$DST/.gpu-bundle"
