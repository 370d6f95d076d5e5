"""Voices from the ``rhasspy/piper-voices`` layout: a hub repo id, or a local copy of it.

The repo keeps each voice at ``FAMILY/LANG/NAME/QUALITY/LANG-NAME-QUALITY.onnx`` (+ ``.json``),
e.g. ``en/en_US/lessac/medium/en_US-lessac-medium.onnx``, and lists them all in ``voices.json``.
A voice is asked for by that key (``en_US-lessac-medium``). A hub id goes through
``huggingface_hub`` (its cache, ``HF_HUB_CACHE``/``HF_HOME``, offline mode ``HF_HUB_OFFLINE=1``);
a local folder with the same layout (a clone or an unpacked copy) is read directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from auralis_core.errors import EngineLoadError, VoiceNotFoundError

from .voices import VoiceFiles

PIPER_VOICES_REPO = "rhasspy/piper-voices"
_KEY = re.compile(r"^(?P<family>[a-z]{2,3})_[A-Za-z0-9]+-[^-/]+-(?:x_low|low|medium|high)$")
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def is_hub_id(name: str) -> bool:
    return bool(_HUB_ID.match(name)) and not Path(name).expanduser().exists()


def voice_path(key: str) -> str:
    """``en_US-lessac-medium`` -> ``en/en_US/lessac/medium/en_US-lessac-medium.onnx``."""
    match = _KEY.match(key)
    if not match:
        raise VoiceNotFoundError(key, ["voice keys look like LANG_REGION-NAME-QUALITY, e.g. en_US-lessac-medium"])
    lang, name, quality = key.split("-")
    return f"{match.group('family')}/{lang}/{name}/{quality}/{key}.onnx"


def _listed_path(index: dict, key: str) -> str | None:
    """The model's path from ``voices.json`` (its ``files`` entry ending in ``.onnx``)."""
    entry = index.get(key)
    if not isinstance(entry, dict):
        return None
    for path in entry.get("files", {}):
        if str(path).endswith(".onnx"):
            return str(path)
    return None


def voices_from_hub(
    repo: str,
    keys: Sequence[str],
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
) -> list[VoiceFiles]:
    """Fetch ``keys`` from ``repo`` (a hub id, or a local folder in the same layout)."""
    if not keys:
        raise EngineLoadError(f"name the voices to load from {repo!r}: voices=['en_US-lessac-medium', ...]")
    local = Path(repo).expanduser()
    if local.is_dir():
        fetch = _local_fetcher(local)
    else:
        fetch = _hub_fetcher(repo, revision, cache_dir, local_files_only)
    index = _read_index(fetch)
    out = []
    for key in keys:
        relative = _listed_path(index, key) if index else None
        if index and relative is None:
            raise VoiceNotFoundError(key, sorted(index))
        relative = relative or voice_path(key)
        model = fetch(relative, key)
        fetch(relative + ".json", key)
        out.append(VoiceFiles.from_model(model, key))
    return out


def _read_index(fetch) -> dict:
    try:
        path = fetch("voices.json", None)
    except EngineLoadError:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineLoadError(f"cannot read the voice index {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _local_fetcher(root: Path):
    def fetch(relative: str, key: str | None) -> Path:
        path = root / relative
        if not path.is_file():
            what = f"voice {key!r}" if key else "voices.json"
            raise EngineLoadError(f"{what}: {path} is missing from the local copy of the voice repo {root}")
        return path

    return fetch


def _hub_fetcher(repo: str, revision: str | None, cache_dir: str | Path | None, local_files_only: bool):
    try:
        import huggingface_hub
        from huggingface_hub.errors import (
            EntryNotFoundError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
        )
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EngineLoadError("hub voices need huggingface_hub: pip install huggingface_hub") from exc

    def fetch(relative: str, key: str | None) -> Path:
        what = f"voice {key!r}" if key else "the voice index voices.json"
        try:
            return Path(
                huggingface_hub.hf_hub_download(
                    repo, relative, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only
                )
            )
        except LocalEntryNotFoundError:
            raise EngineLoadError(
                f"cannot fetch {what} from the hub repo {repo!r}: the hub cannot be reached (offline, or "
                f"HF_HUB_OFFLINE/local_files_only is set) and {relative} is not in the local cache; download it "
                "once while online, or pass a local folder of voices instead"
            ) from None
        except RepositoryNotFoundError:
            raise EngineLoadError(f"hub repo {repo!r} not found (or it is private)") from None
        except EntryNotFoundError:
            raise EngineLoadError(f"{what}: {relative} is not in the hub repo {repo!r}") from None
        except OSError as exc:
            raise EngineLoadError(f"cannot fetch {what} from the hub repo {repo!r}: {exc}") from exc

    return fetch

