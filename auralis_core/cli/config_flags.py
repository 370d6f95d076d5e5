"""Click options generated from a pydantic settings model, so flags and defaults have one source.

Each field becomes ``--field-name`` (or the ``flag`` in its ``json_schema_extra["cli"]``): a bool
is an on/off flag, a list is repeatable, a dict is repeatable ``KEY=VALUE``, ``scale`` makes a
byte count a MiB flag. Values are checked by the model itself; its errors are reported as the
flag's.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import click
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .engine_args import parse_key_values


def _cli_meta(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    meta = extra.get("cli") or {}
    return dict(meta) if isinstance(meta, dict) else {}


def flag_name(name: str, info: FieldInfo) -> str:
    return _cli_meta(info).get("flag") or "--" + name.replace("_", "-")


def _base_type(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _click_type(base: Any, scale: float | None) -> Any:
    if scale:
        return click.FloatRange(min=0, min_open=True)
    if typing.get_origin(base) is Literal:
        return click.Choice([str(a) for a in typing.get_args(base)])
    if base is Path:
        return click.Path(file_okay=False, path_type=Path)
    return {int: int, float: float, str: str}.get(base, str)


def _default_shown(value: Any, scale: float | None) -> Any:
    if scale and isinstance(value, (int, float)):
        return value / scale
    return value


def config_options(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[click.Option]:
    """One click option per field of ``model`` (defaults shown, none applied: the model's are)."""
    options: list[click.Option] = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        meta = _cli_meta(info)
        base = _base_type(info.annotation)
        origin = typing.get_origin(base)
        help_text = (info.description or name.replace("_", " "))
        default = None if info.default_factory is not None else info.default
        scale = meta.get("scale")
        kwargs: dict[str, Any] = {"help": help_text[:1].upper() + help_text[1:] + ".", "envvar": meta.get("envvar"),
                                  "show_envvar": bool(meta.get("envvar"))}
        if base is bool:
            opts = [f"{flag_name(name, info)}/--no-{flag_name(name, info)[2:]}"]
            kwargs.update(default=None)
            kwargs["help"] += f"  [default: {'on' if default else 'off'}]"
        elif origin in (list, dict):
            opts = [flag_name(name, info)]
            kwargs.update(multiple=True, metavar=meta.get("metavar"))
            if info.default_factory is not None:
                factory_default = info.default_factory()  # type: ignore[call-arg]
                if factory_default:
                    kwargs["help"] += f"  [default: {', '.join(map(str, factory_default))}]"
        else:
            opts = [flag_name(name, info)]
            kwargs.update(type=_click_type(base, scale), default=None)
            if default is not None:
                kwargs["help"] += f"  [default: {_default_shown(default, scale)}]"
        options.append(click.Option([*opts, name], **kwargs))
    return options


def config_from_flags(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """Build ``model`` from the parsed flags: only the ones given, so the model's defaults apply."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in values:
            continue
        value = values[name]
        meta = _cli_meta(info)
        origin = typing.get_origin(_base_type(info.annotation))
        flag = flag_name(name, info)
        if origin is list:
            items = [v for raw in value for v in (raw.split(",") if meta.get("split") else [raw])]
            items = [v.strip() for v in items if v.strip()]
            if items:
                data[name] = items
        elif origin is dict:
            if value:
                strings = typing.get_args(_base_type(info.annotation))[1:] == (str,)
                data[name] = parse_key_values(value, flag, json_values=not strings)
        elif value is not None:
            scale = meta.get("scale")
            data[name] = int(value * scale) if scale else value
    try:
        return model(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else None
        info = model.model_fields.get(field) if field else None
        hint = flag_name(field, info) if field and info else None
        raise click.BadParameter(first["msg"], param_hint=hint) from None
