"""``KEY=VALUE`` flags: ``--engine-arg`` (keywords for the engine's ``from_pretrained``) and
``--option`` (the engine's typed request options, see `auralis_core.options`).

The core knows no engine's arguments; an engine documents its own (XTTS-v2: ``backend=vllm``,
``max_batch_size=64`` ...). A value that parses as JSON (numbers, true/false, null, quoted
strings, lists) is passed as that value, anything else as the plain string.
"""

from __future__ import annotations

import json
from typing import Any

import click

ENGINE_ARG_HELP = "Engine keyword argument KEY=VALUE for from_pretrained (repeatable), e.g. backend=vllm."
OPTION_HELP = "Engine option KEY=VALUE (repeatable), e.g. temperature=0.6; `auralis engines --json` lists them."


def parse_key_values(values: tuple[str, ...] | list[str], flag: str, json_values: bool = True) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}``; a dash in a key is read as an underscore."""
    out: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        key = key.strip()
        if json_values:
            key = key.replace("-", "_")
        if not sep or not key or (json_values and not key.isidentifier()):
            raise click.BadParameter(f"expected KEY=VALUE with KEY a name, got {value!r}", param_hint=flag)
        if not json_values:
            out[key] = raw.strip()
            continue
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def parse_engine_args(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return parse_key_values(values, "--engine-arg")


def parse_options(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return parse_key_values(values, "--option")
