"""``auralis xttsv2 ...`` commands contributed by the plugin."""

from __future__ import annotations

import click


@click.group(name="xttsv2", help="XTTS-v2 engine utilities.")
def xttsv2_group() -> None:
    pass


@xttsv2_group.command("convert")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.argument("dst", type=click.Path(file_okay=False))
@click.option("--gpt-path", type=click.Path(exists=True, file_okay=False), default=None,
              help="GPT folder of an AstraMindAI checkpoint (default: SRC/gpt).")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty DST.")
def convert_cmd(src: str, dst: str, gpt_path: str | None, overwrite: bool) -> None:
    """Convert a Coqui or AstraMindAI XTTS-v2 checkpoint in SRC to safetensors in DST."""
    from auralis_core.errors import AuralisError

    from .checkpoint import convert

    try:
        out = convert(src, dst, gpt_path=gpt_path, overwrite=overwrite)
    except AuralisError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"wrote {out / 'model.safetensors'}, config.json, vocab.json")
