"""Fenced code in docs/*.md, as the snippet test runs it (see docs/contributing.md).

A ```python or ```bash fence is a snippet. Python snippets of one page run in order in one
interpreter, sharing their names (like a notebook); each bash snippet runs on its own under
``bash -euo pipefail``. Directives are HTML comments, invisible on the rendered page:

- ``<!-- snippet: skip REASON -->`` on the line before a fence: not run (REASON is required).
- ``<!-- snippets: skip REASON -->`` anywhere in a page: none of its fences run (one skip; for
  pages whose every command needs what CI lacks, such as a Docker daemon).
- ``<!-- snippets: server ENGINE -->`` anywhere in a page: its snippets run against a real
  ``auralis serve --engine ENGINE``; ``127.0.0.1:8000`` in them is replaced by that server's port.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
RUN_LANGUAGES = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash"}
_FENCE = re.compile(r"^(?P<fence>```+)(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_SKIP = re.compile(r"<!--\s*snippet:\s*skip\b\s*(?P<reason>.*?)\s*-->\s*$")
_SERVER = re.compile(r"<!--\s*snippets:\s*server\s+(?P<engine>[\w-]+)\s*-->")
_SKIP_PAGE = re.compile(r"^<!--\s*snippets:\s*skip\b\s*(?P<reason>.*?)\s*-->\s*$", re.MULTILINE)  # on a line of its own


@dataclass(frozen=True)
class Snippet:
    page: Path
    line: int  # of the first code line, 1-based
    language: str  # "python" or "bash"
    code: str
    skip_reason: str | None

    @property
    def where(self) -> str:
        return f"docs/{self.page.name}:{self.line}"


@dataclass(frozen=True)
class Page:
    path: Path
    snippets: list[Snippet]
    server_engine: str | None
    skip_reason: str | None = None  # the whole page is skipped


def read_page(path: Path) -> Page:
    text = path.read_text(encoding="utf-8")
    snippets = []
    page_skip = _SKIP_PAGE.search(text)
    if page_skip is not None and not page_skip.group("reason"):
        raise ValueError(f"{path.name}: a page skip directive needs a reason")
    for m in _FENCE.finditer(text):
        language = RUN_LANGUAGES.get(m.group("lang").lower())
        if language is None:
            continue
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = _SKIP.search(before)
        if skip is not None and not skip.group("reason"):
            raise ValueError(f"{path.name}:{text[: m.start()].count(chr(10))}: a skip directive needs a reason")
        line = text[: m.start("code")].count("\n") + 1
        reason = skip.group("reason") if skip else page_skip.group("reason") if page_skip else None
        snippets.append(Snippet(path, line, language, m.group("code"), reason))
    server = _SERVER.search(text)
    return Page(path, snippets, server.group("engine") if server else None, page_skip.group("reason") if page_skip else None)


def pages() -> list[Page]:
    return [read_page(p) for p in sorted(DOCS.glob("*.md"))]


# What the python runner executes: every snippet compiled under its page and line, so a traceback
# points at the doc, in one namespace.
PY_RUNNER = """\
import json, sys
snippets = json.loads(sys.stdin.read())
namespace = {"__name__": "__main__"}
for where, line, code in snippets:
    print(f"--- {where}", flush=True)
    exec(compile("\\n" * (line - 1) + code, where.rsplit(":", 1)[0], "exec"), namespace)
"""
