"""A sampling profiler for vLLM's engine-core process, for finding where a decode step's time goes.

vLLM's engine core runs in its own process, out of reach of a profiler in ours, and the GPU machine
may not allow ``ptrace`` (py-spy). So the ``vllm.general_plugins`` hook, which runs in every vLLM
process, starts this sampler there when ``AURALIS_VLLM_PROFILE`` names a directory. It observes
only: every ``interval`` seconds it reads each thread's Python stack (``sys._current_frames``) and
counts functions, while ``DIR/on`` exists. When the file goes away it writes what it counted to
``DIR/<label>.<pid>.json`` (the label is the text of ``on``) and starts over. A function waiting on
the GPU shows as its caller blocked in a synchronising call (``tolist``, ``item``, ``synchronize``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

ENV = "AURALIS_VLLM_PROFILE"
_started = False


def _label(frame: FrameType) -> str:
    code = frame.f_code
    path = code.co_filename
    cut = path.rfind("site-packages/")
    return f"{path[cut + 14:] if cut >= 0 else os.path.basename(path)}:{code.co_name}"


class StackSampler:
    def __init__(self, directory: Path, interval: float = 0.001, top: int = 60) -> None:
        self.directory = directory
        self.interval = interval
        self.top = top
        self._thread = threading.Thread(target=self._loop, name="auralis-stack-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        marker = self.directory / "on"
        while True:
            if not marker.exists():
                time.sleep(0.05)
                continue
            label = marker.read_text().strip() or "profile"
            counts = self._sample_while(marker)
            self._write(label, counts)

    def _sample_while(self, marker: Path) -> dict[str, tuple[int, Counter[str], Counter[str]]]:
        """Per thread name: (samples, functions on the stack, functions at the top)."""
        me = threading.get_ident()
        names = {t.ident: t.name for t in threading.enumerate()}
        seen: dict[str, tuple[int, Counter[str], Counter[str]]] = {}
        checked = time.monotonic()
        while True:
            now = time.monotonic()
            if now - checked > 0.05:
                if not marker.exists():
                    return seen
                checked = now
                names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                name = names.get(ident, str(ident))
                samples, inclusive, leaf = seen.get(name, (0, Counter(), Counter()))
                leaf[_label(frame)] += 1
                stack: set[str] = set()
                f: FrameType | None = frame
                while f is not None:
                    stack.add(_label(f))
                    f = f.f_back
                inclusive.update(stack)
                seen[name] = (samples + 1, inclusive, leaf)
            time.sleep(self.interval)

    def _write(self, label: str, seen: dict[str, tuple[int, Counter[str], Counter[str]]]) -> None:
        report = {
            "pid": os.getpid(), "interval_s": self.interval,
            "threads": {
                name: {"samples": n, "inclusive": dict(inc.most_common(self.top)), "self": dict(leaf.most_common(self.top))}
                for name, (n, inc, leaf) in sorted(seen.items(), key=lambda kv: -kv[1][0])
            },
        }
        path = self.directory / f"{label}.{os.getpid()}.json"
        path.write_text(json.dumps(report, indent=1))


def start_if_asked() -> None:
    """Start the sampler once per process when ``AURALIS_VLLM_PROFILE`` is set."""
    global _started
    directory = os.environ.get(ENV)
    if not directory or _started:
        return
    _started = True
    Path(directory).mkdir(parents=True, exist_ok=True)
    StackSampler(Path(directory)).start()
