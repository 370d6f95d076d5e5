"""``auralis serve``: run the OpenAI-compatible server with uvicorn."""

from __future__ import annotations

import logging

import click

from ..cli.engine_args import ENGINE_ARG_HELP, parse_engine_args


def _aliases(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name or not target:
            raise click.BadParameter(f"expected NAME=VOICE, got {value!r}", param_hint="--voice-alias")
        out[name.strip()] = target.strip()
    return out


@click.command("serve")
@click.option("--engine", help="Engine name (see `auralis engines`). Default: espeak.")
@click.option("--model", help="Checkpoint directory or hub id for the engine.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--api-key", envvar="AURALIS_API_KEY", help="Require 'Authorization: Bearer KEY' (env AURALIS_API_KEY).")
@click.option("--max-concurrency", type=click.IntRange(min=1), default=8, show_default=True, help="Segments synthesised at once.")
@click.option("--max-queue", type=click.IntRange(min=0), default=32, show_default=True, help="Requests that may wait before 429.")
@click.option("--request-timeout", type=float, help="Seconds per synthesis request.")
@click.option("--voices-dir", help="Where uploaded voices are kept: a directory or an fsspec URL (shared by all replicas).")
@click.option("--cors-origins", multiple=True, help="Allowed CORS origin (repeatable, or comma-separated).")
@click.option("--max-input-chars", type=click.IntRange(min=1), default=4096, show_default=True)
@click.option("--max-upload-mb", type=float, default=10.0, show_default=True, help="Voice upload limit.")
@click.option("--max-body-mb", type=click.FloatRange(min=0.001), help="JSON body limit (default: base64 of --max-upload-mb plus 1 MiB).")
@click.option("--public-docs", is_flag=True, help="Serve /docs, /redoc and /openapi.json without --api-key.")
@click.option("--served-model-name", "served_model_names", multiple=True, help="Model alias to accept (repeatable). Default: tts-1, tts-1-hd, gpt-4o-mini-tts.")
@click.option("--voice-alias", "voice_aliases", multiple=True, help="Map an OpenAI voice name: alloy=en-gb (repeatable).")
@click.option("--llm-url", help="Upstream OpenAI-compatible LLM base URL for /v1/chat/completions (e.g. http://host:8001/v1).")
@click.option("--llm-api-key", envvar="AURALIS_LLM_API_KEY", help="Key for the upstream LLM.")
@click.option("--llm-model", help="Model name sent upstream (default: the client's).")
@click.option("--llm-allow-url", "llm_allowed_urls", multiple=True,
              help="Base URL a request may choose with llm_base_url (repeatable; off by default). Such requests "
                   "must send their own llm_api_key; --llm-api-key only ever goes to --llm-url.")
@click.option("--llm-timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="Seconds the upstream LLM may stay silent; --request-timeout bounds its whole reply.")
@click.option("--graceful-timeout", type=float, default=30.0, show_default=True, help="Seconds to finish in-flight requests on shutdown.")
@click.option("--ray", "ray", is_flag=True, help="Serve through Ray Serve replicas (pip install 'auralis-core[ray]'; docs/scale-out.md).")
@click.option("--ray-address", help="Ray cluster to join (default: start a local one on 127.0.0.1).")
@click.option("--replicas", type=click.IntRange(min=1), help="Replicas with --ray (default 1).")
@click.option("--autoscale", metavar="MIN:MAX", help="Autoscale replicas with --ray between MIN and MAX.")
@click.option("--gpus-per-replica", type=click.FloatRange(min=0), default=0.0, show_default=True, help="GPUs per replica with --ray.")
@click.option("--cpus-per-replica", type=click.FloatRange(min=0), default=1.0, show_default=True, help="CPUs per replica with --ray.")
@click.option("--ray-num-cpus", type=click.IntRange(min=1), help="CPUs of the local Ray cluster (default: all).")
@click.option("--engine-arg", "engine_args", multiple=True, metavar="KEY=VALUE", help=ENGINE_ARG_HELP)
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
def serve(
    engine: str | None, model: str | None, host: str, port: int, api_key: str | None, max_concurrency: int,
    max_queue: int, request_timeout: float | None, voices_dir: str | None, cors_origins: tuple[str, ...],
    max_input_chars: int, max_upload_mb: float, max_body_mb: float | None, public_docs: bool,
    served_model_names: tuple[str, ...], voice_aliases: tuple[str, ...],
    llm_url: str | None, llm_api_key: str | None, llm_model: str | None, llm_allowed_urls: tuple[str, ...],
    llm_timeout: float, graceful_timeout: float, ray: bool, ray_address: str | None, replicas: int | None,
    autoscale: str | None, gpus_per_replica: float, cpus_per_replica: float, ray_num_cpus: int | None,
    engine_args: tuple[str, ...], log_level: str,
) -> None:
    """Run the OpenAI-compatible HTTP server (speech, voices, models, voice chat, metrics)."""
    import uvicorn

    from ..logging_setup import setup_logging
    from .app import create_app
    from .config import OPENAI_SPEECH_MODELS, ServerConfig

    setup_logging(log_level.upper())
    origins = [o.strip() for value in cors_origins for o in value.split(",") if o.strip()]
    config = ServerConfig(
        engine=engine, model=model, host=host, port=port, api_key=api_key, max_concurrency=max_concurrency,
        max_queue=max_queue, request_timeout=request_timeout, voices_dir=voices_dir, cors_origins=origins,
        max_input_chars=max_input_chars, max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_body_bytes=None if max_body_mb is None else int(max_body_mb * 1024 * 1024), public_docs=public_docs,
        served_model_names=list(served_model_names) or list(OPENAI_SPEECH_MODELS),
        voice_aliases=_aliases(voice_aliases), llm_base_url=llm_url, llm_api_key=llm_api_key, llm_model=llm_model,
        llm_allowed_urls=list(llm_allowed_urls), llm_timeout=llm_timeout, graceful_shutdown_timeout=graceful_timeout,
        engine_args=parse_engine_args(engine_args), ray=ray, ray_address=ray_address, replicas=replicas,
        autoscale=autoscale, gpus_per_replica=gpus_per_replica, cpus_per_replica=cpus_per_replica,
        ray_num_cpus=ray_num_cpus,
    )
    if config.ray:
        try:
            from .ray_serve import run_with_ray
        except ImportError as exc:
            raise click.ClickException(f"--ray needs Ray Serve ({exc}): pip install 'auralis-core[ray]'") from None
        raise SystemExit(run_with_ray(config, log_level))
    logging.getLogger("auralis.server").info("serving engine %s on http://%s:%d", engine or "default", host, port)
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # auralis.server.access writes structured lines instead
        timeout_graceful_shutdown=graceful_timeout,
    )
