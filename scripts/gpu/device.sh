#!/usr/bin/env bash
# There (the GPU machine, run from the checkout root, after the three bundle parts were copied to
# /root/parts in back-to-back calls): unpack vLLM, install Auralis from .devcarry/wheels, run STEPS.
#
#   bash .devcarry/scripts/gpu/device.sh tests|gpu-tests|bench|convoy [args...]
#
# bench also runs Coqui's Xtts.inference (benchmarks/xttsv2_coqui.py) when .devcarry/coqui holds its
# wheels: they go into /tmp/coqui, a --target dir apart from vLLM's (transformers < 5 there).
#
# Logs and JSON go to $OUT (the device tool brings them back).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
P=/root/parts
if [ ! -d /tmp/site/vllm ]; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/zst "$P"/zstandard-*.whl || exit 1
  mkdir -p /tmp/site
  cat "$P"/site.tzst.* | PYTHONPATH=/tmp/zst python3 -c \
    "import sys,zstandard;zstandard.ZstdDecompressor().copy_stream(sys.stdin.buffer,sys.stdout.buffer)" | tar -x -C /tmp/site || exit 1
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .devcarry/wheels/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
# without these vLLM's start-up hangs there (no resolvable host address)
export VLLM_HOST_IP=127.0.0.1 MASTER_ADDR=127.0.0.1 GLOO_SOCKET_IFNAME=lo NCCL_SOCKET_IFNAME=lo
export VLLM_ENABLE_V1_MULTIPROCESSING=0 VLLM_NO_USAGE_STATS=1 HF_HUB_OFFLINE=1
cd .devcarry
step=$1; shift
case "$step" in
  tests) AURALIS_VLLM_REPORT=$OUT/vllm_fidelity.jsonl python3 -m pytest -q -p no:cacheprovider -m vllm -rs \
           plugins/xttsv2/tests/engine/test_vllm.py "$@" 2>&1 | tee "$OUT/vllm_tests.log" ;;
  gpu-tests) python3 -m pytest -q -p no:cacheprovider -m "gpu and not vllm" -rs plugins/xttsv2/tests "$@" 2>&1 | tee "$OUT/gpu_tests.log" ;;
  bench) coqui=()
         if ls coqui/*.whl >/dev/null 2>&1; then
           [ -d /tmp/coqui/TTS ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/coqui coqui/*.whl
           coqui=(--coqui-site /tmp/coqui)
         fi
         python3 benchmarks/xttsv2_gpu.py --out "$OUT/xttsv2_gpu.json" "${coqui[@]}" "$@" 2>&1 | tee "$OUT/bench.log" ;;
  convoy) python3 benchmarks/gil_convoy.py --out "$OUT/gil_convoy_gpu_host.json" "$@" 2>&1 | tee "$OUT/gil_convoy.log" ;;
  *) echo "unknown step $step"; exit 2 ;;
esac
