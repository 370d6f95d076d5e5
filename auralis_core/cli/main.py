"""``auralis``: speak, serve, engines, voices, plus subcommands contributed by engine plugins."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from ..errors import AuralisError
from .engine_args import ENGINE_ARG_HELP, OPTION_HELP, parse_engine_args, parse_options
from .versions import print_versions

INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""


class _AuralisGroup(click.Group):
    """Adds plugin commands on first use and turns errors into one line (tracebacks with --debug)."""

    _plugins_loaded = False
    # core commands whose modules are heavy (FastAPI): imported only when invoked
    _lazy = {"serve": "auralis_core.server.cli:serve", "plugin": "auralis_core.cli.plugin_new:plugin"}

    def _load_lazy(self, name: str) -> click.Command | None:
        import importlib

        module, _, attr = self._lazy[name].partition(":")
        try:
            command = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            reason = f"`auralis {name}` is unavailable: {exc}"

            @click.command(name, help=reason, context_settings={"ignore_unknown_options": True})
            @click.argument("args", nargs=-1, type=click.UNPROCESSED)
            def command(args: tuple[str, ...]) -> None:
                raise click.ClickException(reason)

        self.add_command(command, name)
        return command

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from ..registry.registry import _registry

        _registry.ensure_loaded()
        for impl in _registry.pm.hook.register_commands.get_hookimpls():
            try:
                impl.function(cli=self)
            except Exception as exc:  # a broken plugin must not take the CLI down
                click.echo(f"warning: plugin {impl.plugin_name!r} failed to add commands: {exc}", err=True)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(set(super().list_commands(ctx)) | set(self._lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in self._lazy:
            return self._load_lazy(name)
        if command is None:
            self._load_plugin_commands()
            command = super().get_command(ctx, name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            # the engine work was cancelled and reaped on the way out (EngineLoop.iterate, TTS.__exit__)
            click.echo("\nauralis: interrupted", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except BrokenPipeError:
            raise  # the reader went away (`auralis voices | head -1`): click exits quietly
        except (AuralisError, ValueError, OSError, LookupError) as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None


@click.group(cls=_AuralisGroup)
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logs.")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=print_versions,
              help="Show the core's and every installed engine's version and exit.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Auralis: multi-model text-to-speech."""
    from ..logging_setup import setup_logging

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    setup_logging("DEBUG" if debug else None)


def _read_text(text: str | None, text_file: Path | None) -> str:
    if text and text_file:
        raise click.UsageError("give the text as an argument or with --file, not both")
    if text_file is not None:
        return _decode(text_file.read_bytes(), str(text_file))
    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("no text given: pass TEXT, --file PATH, or pipe text on stdin")
        return _decode(sys.stdin.buffer.read(), "standard input")
    return text


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(
            f"{source} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert it first, e.g. with iconv"
        ) from None


@cli.command()
@click.argument("text", required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("output.wav"), show_default=True, help="Output file; the extension picks the format.")
@click.option("-f", "--file", "text_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read the text from a file.")
@click.option("--engine", help="Engine name (see `auralis engines`). Default: piper if installed, else espeak.")
@click.option("--model", help="Checkpoint directory or hub id for the engine.")
@click.option("--voice", help="Built-in or registered voice name.")
@click.option("--speaker", "speaker_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Reference audio for voice cloning (repeatable).")
@click.option("--language", default="auto", show_default=True)
@click.option("--speed", type=float, default=1.0, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--engine-arg", "engine_args", multiple=True, metavar="KEY=VALUE", help=ENGINE_ARG_HELP)
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help=OPTION_HELP)
@click.option("--seed", type=click.IntRange(min=0), help="Seed for engines that sample (same seed, same audio).")
def speak(
    text: str | None,
    output: Path,
    text_file: Path | None,
    engine: str | None,
    model: str | None,
    voice: str | None,
    speaker_files: tuple[str, ...],
    language: str,
    speed: float,
    quiet: bool,
    engine_args: tuple[str, ...],
    options: tuple[str, ...],
    seed: int | None,
) -> None:
    """Speak TEXT (or --file, or stdin) into an audio file."""
    from ..output import TTSOutput
    from ..request import TTSRequest
    from ..tts import TTS

    content = _read_text(text, text_file)
    kwargs = parse_engine_args(engine_args)
    request = TTSRequest(
        text=content, voice=voice, language=language, speed=speed, speaker_files=list(speaker_files) or None, stream=True,
        seed=seed, options=parse_options(options),
    )
    started = time.perf_counter()
    with TTS.from_pretrained(model, engine=engine, **kwargs) as tts:
        chunks: list[TTSOutput] = []
        show = not quiet and len(content) > 200
        for chunk in tts.stream(request):
            chunks.append(chunk)
            if show:
                audio = sum(c.duration for c in chunks)
                click.echo(f"\r  segment {chunk.segment_index + 1 if chunk.segment_index is not None else '?'}: {audio:6.1f} s of audio", nl=False, err=True)
        if show:
            click.echo("", err=True)
    if not chunks:
        raise click.ClickException("the engine produced no audio")
    result = TTSOutput.combine_outputs(chunks)
    result.save(output)
    if not quiet:
        wall = time.perf_counter() - started
        click.echo(f"wrote {output} ({result.duration:.2f} s of audio at {result.sample_rate} Hz in {wall:.2f} s)", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output with voices, limits and options (JSON Schema).")
def engines(as_json: bool) -> None:
    """List installed engines (no model is loaded)."""
    import json as _json

    from ..engine.describe import describe_spec
    from ..registry.registry import list_engines, plugin_failures

    if as_json:  # the full description: voices, limits, options (imports each engine class)
        described = [describe_spec(spec).model_dump(mode="json") for spec in list_engines()]
        failed = [{"plugin": f.plugin, "error": f.error} for f in plugin_failures()]
        click.echo(_json.dumps({"engines": described, "failed_plugins": failed}, indent=2))
        return
    rows = []
    for spec in list_engines():
        try:
            caps = spec.capabilities
            rows.append({
                "name": spec.name,
                "package": spec.package or "-",
                "version": spec.version or "-",
                "languages": list(caps.languages),
                "sample_rate": caps.sample_rate,
                "capabilities": caps.summary(),
                "error": None,
            })
        except Exception as exc:
            rows.append({"name": spec.name, "package": spec.package or "-", "version": spec.version or "-", "languages": [], "sample_rate": None, "capabilities": "-", "error": str(exc)})
    failures = [{"plugin": f.plugin, "error": f.error} for f in plugin_failures()]
    if not rows:
        click.echo("no engines installed (pip install auralis-piper, auralis-espeak or auralis-xttsv2)")
    else:
        click.echo(f"{'NAME':<12} {'PACKAGE':<18} {'VERSION':<9} {'RATE':>6}  {'CAPABILITIES':<28} LANGUAGES")
        for row in rows:
            langs = row["languages"]
            shown = ",".join(langs[:8]) + (f",... ({len(langs)})" if len(langs) > 8 else "")
            if row["error"]:
                shown = f"error: {row['error']}"
            click.echo(f"{row['name']:<12} {row['package']:<18} {row['version']:<9} {row['sample_rate'] or '-':>6}  {row['capabilities']:<28} {shown}")
    for failure in failures:
        click.echo(f"failed plugin {failure['plugin']!r}: {failure['error']}", err=True)


@cli.command()
@click.option("--engine", help="Engine name. Default: piper if installed, else espeak.")
@click.option("--model", help="Checkpoint directory or hub id (voices can depend on the checkpoint).")
@click.option("--voices-dir", type=click.Path(file_okay=False), help="Directory of registered voices to include.")
def voices(engine: str | None, model: str | None, voices_dir: str | None) -> None:
    """List voices of an engine (built-in and registered)."""
    from ..tts import TTS

    with TTS.from_pretrained(model, engine=engine, voices_dir=voices_dir) as tts:
        for name in tts.list_voices():
            click.echo(name)


def main() -> None:
    try:
        cli(prog_name="auralis")
    except SystemExit as exc:
        if exc.code == INTERRUPTED:
            # Ctrl-C: the engine is already shut down (TTS.__exit__); skip the interpreter's
            # teardown of torch & co. (about 1.5 s with XTTS loaded), the user asked to stop now.
            logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(INTERRUPTED)
        raise


if __name__ == "__main__":
    main()
