"""``auralis.openai``: the original Auralis's server command, mapped onto ``auralis serve``.

It takes the original flags (``--host --port --model --gpt_model --max_concurrency
--vllm_logging_level``, dashes accepted too) with the original defaults (XTTS-v2 from
``AstraMindAI/xttsv2``) and serves the current OpenAI-compatible API with them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..server.config import ServerConfig

ORIGINAL_MODEL = "AstraMindAI/xttsv2"
ORIGINAL_GPT_MODEL = "AstraMindAI/xtts2-gpt"


def parse(argv: Sequence[str] | None = None) -> tuple[ServerConfig, str]:
    """The `ServerConfig` the original flags mean, and the vLLM logging level."""
    parser = argparse.ArgumentParser(prog="auralis.openai", description="The original Auralis server command, served by `auralis serve`.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default=ORIGINAL_MODEL, help="checkpoint, hub id or engine name")
    parser.add_argument("--gpt_model", "--gpt-model", dest="gpt_model",
                        help=f"GPT half of an AstraMindAI checkpoint (default with --model {ORIGINAL_MODEL}: "
                             f"{ORIGINAL_GPT_MODEL})")
    parser.add_argument("--max_concurrency", "--max-concurrency", dest="max_concurrency", type=int, default=8)
    parser.add_argument("--vllm_logging_level", "--vllm-logging-level", dest="vllm_logging_level", default="warn",
                        choices=["info", "warn", "err"])
    args = parser.parse_args(argv)
    gpt_model = args.gpt_model or (ORIGINAL_GPT_MODEL if args.model == ORIGINAL_MODEL else None)
    config = ServerConfig(
        model=args.model, host=args.host, port=args.port, max_concurrency=args.max_concurrency,
        engine_args={"gpt_model": gpt_model} if gpt_model else {},
    )
    return config, args.vllm_logging_level


def main(argv: Sequence[str] | None = None) -> None:
    from ..server.cli import run
    from ..tts import set_vllm_logging_level

    config, vllm_level = parse(argv)
    set_vllm_logging_level(vllm_level)
    run(config)


if __name__ == "__main__":
    main()
