"""The GIL switch interval of vLLM's own processes, for measuring the GIL convoy there (benchmarks).

vLLM's engine core is a Python process with more than one thread (its busy loop beside the threads
that decode incoming requests and encode outputs). While one of them runs plain Python, each of the
busy loop's short torch calls may wait up to the switch interval (5 ms by default) to get the GIL
back, as `benchmarks/gil_convoy.py` shows for this process's event loop; whether that costs vLLM
time is what this hook lets the GPU benchmark measure. When ``AURALIS_VLLM_SWITCH_MS`` is set, the
``vllm.general_plugins`` hook, which runs in every vLLM process at start-up, sets that interval
there: a spawned process (vLLM spawns once CUDA is in use) starts with the default whatever ours is.
The hook also runs in the process that starts the engine (the backend registers the model, and
vLLM loads its plugins there too), so it sets that process's interval as well; the GPU benchmark
puts its own back after start-up to measure vLLM's side alone.
"""

from __future__ import annotations

import math
import os
import sys

ENV = "AURALIS_VLLM_SWITCH_MS"


def apply_if_asked() -> float | None:
    """Set this process's switch interval from ``AURALIS_VLLM_SWITCH_MS`` (milliseconds); returns
    the interval set, or None when the variable is unset or empty."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    try:
        ms = float(value)
    except ValueError:
        ms = math.nan
    if not math.isfinite(ms) or ms <= 0:
        raise ValueError(f"{ENV} must be a positive number of milliseconds, got {value!r}")
    sys.setswitchinterval(ms / 1000)
    return ms
