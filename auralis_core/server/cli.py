"""``auralis serve``: run the OpenAI-compatible server with uvicorn. Its flags are generated from
`ServerConfig` (one source of settings and defaults), see `auralis_core.cli.config_flags`."""

from __future__ import annotations

import logging
from typing import Any

import click

from ..cli.config_flags import config_from_flags, config_options
from .config import ServerConfig


def _serve(**flags: Any) -> None:
    """Run the OpenAI-compatible HTTP server (speech, voices, models, engines, voice chat, metrics)."""
    run(config_from_flags(ServerConfig, flags))


def run(config: ServerConfig) -> None:
    """Serve ``config`` in this process until interrupted (SIGINT/SIGTERM finish gracefully)."""
    import uvicorn

    from ..logging_setup import setup_logging
    from .app import create_app

    setup_logging(config.log_level.upper())
    if config.ray:
        try:
            from .ray_serve import run_with_ray
        except ImportError as exc:
            raise click.ClickException(f"--ray needs Ray Serve ({exc}): pip install 'auralis-core[ray]'") from None
        raise SystemExit(run_with_ray(config, config.log_level))
    logging.getLogger("auralis.server").info(
        "serving engine %s on http://%s:%d", config.engine or "default", config.host, config.port
    )
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        access_log=False,  # auralis.server.access writes structured lines instead
        timeout_graceful_shutdown=config.graceful_shutdown_timeout,
    )


serve = click.Command("serve", callback=_serve, params=config_options(ServerConfig), help=_serve.__doc__)
