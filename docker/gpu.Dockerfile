# syntax=docker/dockerfile:1
# GPU image: auralis-core + auralis-xttsv2 with the vLLM backend (vllm 0.26.0, torch 2.11, CUDA 13),
# serving the OpenAI-compatible API on port 8000 as an unprivileged user.
#
#   docker build -f docker/gpu.Dockerfile -t auralis:gpu .      (from the repository root)
#   docker run --gpus all -p 8000:8000 -v /srv/models:/models:ro -v auralis-voices:/data/voices \
#       auralis:gpu --model /models/XTTS-v2
#
# Needs the NVIDIA Container Toolkit on the host and a driver for CUDA 13 (R580 or newer).
# See docs/docker.md. Arguments after the image name are appended to `auralis serve`.

ARG CUDA_IMAGE=nvidia/cuda:13.0.2-runtime-ubuntu24.04

# --- stage 1: wheels of the two distributions, built from this checkout -------------------------
FROM ${CUDA_IMAGE} AS wheels
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/build && /opt/build/bin/pip install --no-cache-dir build==1.2.2
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY auralis_core ./auralis_core
COPY plugins/xttsv2 ./plugins/xttsv2
RUN /opt/build/bin/python -m build --wheel --outdir /wheels . \
 && /opt/build/bin/python -m build --wheel --outdir /wheels plugins/xttsv2

# --- stage 2: runtime -----------------------------------------------------------------------------
FROM ${CUDA_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/auralis/bin:$PATH \
    HF_HOME=/data/cache/huggingface \
    VLLM_CACHE_ROOT=/data/cache/vllm \
    TRITON_CACHE_DIR=/data/cache/triton
# gcc and the Python headers: Triton (under vLLM) compiles its small CUDA launchers at run time.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
# The torch stack vllm 0.26.0 pins, first and explicitly: on PyPI torch 2.11.0 is the CUDA 13.0
# build (it requires cuda-toolkit==13.0.2, the version of the base image).
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    python3 -m venv /opt/auralis \
 && pip install torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0 \
 && pip install "$(ls /wheels/auralis_core-*.whl)" "$(ls /wheels/auralis_xttsv2-*.whl)[vllm]" \
 && useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin auralis \
 && mkdir -p /data/voices /data/cache /models \
 && chown auralis:auralis /data/voices /data/cache

USER 10001:10001
WORKDIR /home/auralis
# /data/voices: the voice store; /data/cache: hub downloads, vLLM and Triton caches; /models: read-only checkpoints
VOLUME ["/data/voices", "/data/cache"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 \
  CMD ["python3", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
ENTRYPOINT ["auralis", "serve", "--engine", "xttsv2", "--host", "0.0.0.0", "--port", "8000", "--voices-dir", "/data/voices"]
CMD ["--model", "/models/XTTS-v2"]
