# syntax=docker/dockerfile:1
# CPU image: auralis-core + auralis-piper + auralis-espeak, serving the OpenAI-compatible API on
# port 8000 as an unprivileged user. No PyTorch: both engines run without it.
#
#   docker build -f docker/cpu.Dockerfile -t auralis:cpu .      (from the repository root)
#   docker run -p 8000:8000 -v auralis-voices:/data/voices auralis:cpu
#
# See docs/docker.md. Arguments after the image name are appended to `auralis serve`.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- stage 1: wheels of the three distributions, built from this checkout -----------------------
FROM ${PYTHON_IMAGE} AS wheels
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2
COPY pyproject.toml README.md LICENSE ./
COPY auralis_core ./auralis_core
COPY plugins/espeak ./plugins/espeak
COPY plugins/piper ./plugins/piper
RUN python -m build --wheel --outdir /wheels . \
 && python -m build --wheel --outdir /wheels plugins/espeak \
 && python -m build --wheel --outdir /wheels plugins/piper

# --- stage 2: runtime -----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# The wheels' dependencies bring their native parts (libsndfile in soundfile, FFmpeg in av,
# eSpeak NG and its data in espeakng-loader, ONNX Runtime for Piper): nothing from apt.
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install /wheels/*.whl \
 && useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin auralis \
 && mkdir -p /data/voices /models \
 && chown auralis:auralis /data/voices

USER 10001:10001
WORKDIR /home/auralis
# /data/voices: the voice store (uploads survive restarts); /models: checkpoints or Piper voices, read-only
VOLUME ["/data/voices"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
ENTRYPOINT ["auralis", "serve", "--host", "0.0.0.0", "--port", "8000", "--voices-dir", "/data/voices"]
CMD []
