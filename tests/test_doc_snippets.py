"""Every code snippet in docs/*.md runs as written (see tests/doc_snippets.py for the rules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc_snippets import PY_RUNNER, Page, Snippet, pages, read_page
from serve_process import auralis_serve

PAGES = [p for p in pages() if any(s.skip_reason is None for s in p.snippets)]
MAX_SKIPS = 16  # opt-outs stay few: each one is listed by test_skips_are_few_and_justified


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `auralis`, `python`
    env["HOME"] = str(tmp_path / "home")  # ~/.auralis and friends stay inside the test
    return env


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """``host:port`` of a real `auralis serve` for a page that asks for one."""
    page: Page = request.node.callspec.params["page"]
    if page.server_engine is None:
        yield None
        return
    with auralis_serve(sys.executable, page.server_engine, tmp_path / "server.log", env=_env(tmp_path)) as port:
        yield f"127.0.0.1:{port}"


def _code(snippet: Snippet, server: str | None) -> str:
    return snippet.code.replace("127.0.0.1:8000", server) if server else snippet.code


@pytest.mark.parametrize("page", PAGES, ids=[p.path.name for p in PAGES])
def test_page_snippets_run(page: Page, server: str | None, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = _env(tmp_path)
    runnable = [s for s in page.snippets if s.skip_reason is None]
    python = [(s.where, s.line, _code(s, server)) for s in runnable if s.language == "python"]
    if python:
        result = subprocess.run([sys.executable, "-c", PY_RUNNER], input=json.dumps(python), cwd=work, env=env,
                                capture_output=True, text=True, timeout=240, check=False)
        ran = [line for line in result.stdout.splitlines() if line.startswith("--- ")]
        assert result.returncode == 0, f"{ran[-1] if ran else page.path.name} failed:\n{result.stderr[-4000:]}"
    for snippet in (s for s in runnable if s.language == "bash"):
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", _code(snippet, server)], cwd=work, env=env,
                                capture_output=True, text=True, timeout=240, check=False)
        assert result.returncode == 0, f"{snippet.where} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"


def test_skips_are_few_and_justified() -> None:
    """A skipped page counts once; its reason stands for all of its fences."""
    skipped = [f"docs/{p.path.name} (page): {p.skip_reason}" for p in pages() if p.skip_reason is not None]
    skipped += [f"{s.where}: {s.skip_reason}" for p in pages() if p.skip_reason is None
                for s in p.snippets if s.skip_reason is not None]
    assert len(skipped) <= MAX_SKIPS, "\n".join(skipped)
    assert all(len(line.split(": ", 1)[1]) >= 10 for line in skipped)


def test_directives_are_read(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("<!-- snippets: server espeak -->\n```python\nx = 1\n```\n\n<!-- snippet: skip needs a GPU -->\n"
                    "```bash\nnvidia-smi\n```\n```json\n{}\n```\n")
    parsed = read_page(page)
    assert parsed.server_engine == "espeak"
    assert [(s.language, s.line, s.skip_reason) for s in parsed.snippets] == [("python", 3, None), ("bash", 8, "needs a GPU")]
    page.write_text("<!-- snippet: skip -->\n```bash\ntrue\n```\n")
    with pytest.raises(ValueError, match="needs a reason"):
        read_page(page)
    page.write_text("<!-- snippets: skip needs a Docker daemon -->\n```bash\ndocker ps\n```\n```python\nx = 1\n```\n")
    parsed = read_page(page)
    assert parsed.skip_reason == "needs a Docker daemon"
    assert [s.skip_reason for s in parsed.snippets] == ["needs a Docker daemon"] * 2
