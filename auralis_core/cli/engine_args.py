"""``--engine-arg KEY=VALUE``: keyword arguments for the engine's ``from_pretrained``.

The core knows no engine's options; an engine documents its own (XTTS-v2: ``backend=vllm``,
``max_batch_size=64``, ``vllm_memory=0.3`` ...). A value that parses as JSON (numbers, true/false,
null, quoted strings, lists) is passed as that value, anything else as the plain string.
"""

from __future__ import annotations

import json
from typing import Any

import click

ENGINE_ARG_HELP = "Engine keyword argument KEY=VALUE for from_pretrained (repeatable), e.g. backend=vllm."


def parse_engine_args(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"expected KEY=VALUE with KEY a name, got {value!r}", param_hint="--engine-arg")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out
