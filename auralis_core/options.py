"""Engine-owned, typed generation options (after ``llm``'s ``Options``).

Each engine declares ``Options``, a pydantic model of the knobs it understands, with defaults.
A request carries ``options`` (a dict or an ``Options`` instance); the core validates it once,
against the engine that will run it, before phase 1. Engines then read ``request.options`` as a
validated instance of their own class (``request.options.temperature``).

Precedence, highest first: the request's ``options``; the seed keywords given to `TTSRequest`
(``temperature=...``, kept for code written for the original Auralis); server/CLI ``--option``
defaults; the engine's ``default_options()`` (XTTS: the checkpoint's ``config.json``); the class
defaults of ``Options``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import InvalidRequestError

if TYPE_CHECKING:
    from .engine.base import BaseAsyncTTSEngine

SEED_OPTION_NAMES: tuple[str, ...] = (
    "temperature", "top_p", "top_k", "repetition_penalty", "length_penalty", "do_sample",
    "max_ref_length", "gpt_cond_len", "gpt_cond_chunk_len",
)
"""`TTSRequest` keywords of the original Auralis that are now options of the engines declaring them."""


class EngineOptions(BaseModel):
    """Base of every engine's ``Options``. Unknown names are errors, never silently dropped, and
    values are strict (``"5"`` is not an int, ``1`` is not a bool; an int is a float): JSON and
    ``--option`` values arrive typed already. A field may relax it with ``Field(strict=False)``."""

    model_config = ConfigDict(extra="forbid", strict=True)


def option_names(options_cls: type[EngineOptions]) -> list[str]:
    return list(options_cls.model_fields)


def options_schema(options_cls: type[EngineOptions]) -> dict[str, Any]:
    """The JSON Schema of an ``Options`` class (what the server and ``auralis engines --json`` show)."""
    return options_cls.model_json_schema()


def options_as_dict(options: Mapping[str, Any] | EngineOptions | None) -> dict[str, Any]:
    """What was given explicitly: a dict as is, an instance's fields that were set."""
    if options is None:
        return {}
    if isinstance(options, EngineOptions):
        return options.model_dump(exclude_unset=True)
    if isinstance(options, Mapping):
        bad = [k for k in options if not isinstance(k, str)]
        if bad:
            raise InvalidRequestError(f"option names must be strings, got {bad[0]!r}", "options")
        return dict(options)
    raise InvalidRequestError(
        f"options must be a dict or an engine's Options instance, got {type(options).__name__}", "options"
    )


def validate_options(
    engine_name: str,
    defaults: EngineOptions,
    given: Mapping[str, Any] | EngineOptions | None,
) -> EngineOptions:
    """``given`` laid over ``defaults`` and validated as a whole (so cross-field rules see the
    final values). Raises `InvalidRequestError` naming the offending option."""
    cls = type(defaults)
    if isinstance(given, EngineOptions) and not isinstance(given, cls):
        raise InvalidRequestError(
            f"options are a {type(given).__qualname__}, but engine {engine_name!r} takes {cls.__qualname__}", "options"
        )
    values = options_as_dict(given)
    unknown = [k for k in values if k not in cls.model_fields]
    if unknown:
        name = unknown[0]
        hint = " (a sampling setting of the original Auralis; this engine does not use it)" if name in SEED_OPTION_NAMES else ""
        raise InvalidRequestError(
            f"unknown option {name!r} for engine {engine_name!r}{hint}; valid options: {_listing(cls)}", name
        )
    if not values and type(defaults) is cls:
        return defaults
    try:
        return cls.model_validate({**defaults.model_dump(), **values})
    except ValidationError as exc:
        raise _as_request_error(engine_name, cls, exc) from None


def resolve_options(engine: BaseAsyncTTSEngine, given: Mapping[str, Any] | EngineOptions | None) -> EngineOptions:
    """``given`` validated against ``engine`` (its ``default_options()`` fill what is not given)."""
    return validate_options(engine.get_capabilities().name, engine.default_options(), given)


def _listing(cls: type[EngineOptions]) -> str:
    return ", ".join(cls.model_fields) or "none (this engine takes no options)"


def _as_request_error(engine_name: str, cls: type[EngineOptions], exc: ValidationError) -> InvalidRequestError:
    first = exc.errors()[0]
    loc = [str(part) for part in first.get("loc", ())]
    name = loc[0] if loc else None
    where = f"option {'.'.join(loc)!r}" if loc else "options"
    value = f" (got {first['input']!r})" if loc and "input" in first else ""
    msg = str(first["msg"]).removeprefix("Value error, ")
    return InvalidRequestError(
        f"invalid {where} for engine {engine_name!r}: {msg}{value}; valid options: {_listing(cls)}",
        name or "options",
    )
