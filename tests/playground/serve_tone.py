"""``auralis serve`` with the in-repo tone engine (it clones voices) registered first.

The tone engine lives in tests/ and has no entry point, so this registers it at run time and then
runs the real CLI: ``python serve_tone.py serve --engine tone --port N ...``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (toy_engine)

from toy_engine import ToneEngine

from auralis_core import register_engine
from auralis_core.cli.main import main

if __name__ == "__main__":
    register_engine("tone", ToneEngine, capabilities=ToneEngine.capabilities)
    main()
