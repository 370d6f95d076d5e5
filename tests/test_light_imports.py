"""The core and engine listing must work without torch, and fast."""

from __future__ import annotations

import subprocess
import sys

BLOCK_TORCH = """
import sys
class _BlockTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
        return None
sys.meta_path.insert(0, _BlockTorch())
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK_TORCH + code], capture_output=True, text=True)


def test_core_imports_and_lists_engines_without_torch():
    result = _run(
        "import auralis_core\n"
        "from auralis_core import TTSRequest, TTSOutput, list_engines, TwoPhaseScheduler, TTS\n"
        "names = [spec.name for spec in list_engines()]\n"
        "caps = [spec.capabilities for spec in list_engines()]\n"
        "assert 'espeak' in names, names\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok', names)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_cli_engines_without_torch():
    result = _run("from auralis_core.cli.main import main\nsys.argv=['auralis','engines']\nmain()")
    assert result.returncode == 0, result.stderr
    assert "espeak" in result.stdout


def test_listing_engines_imports_no_model_or_server_code():
    """What keeps ``auralis engines`` fast (timed in benchmarks/cli_startup.py): nothing heavy loads."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from auralis_core.cli.main import main\n"
            "sys.argv = ['auralis', 'engines']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'fastapi', 'uvicorn', 'av', 'auralis_espeak.engine', 'auralis_xttsv2.engine', 'auralis_piper.engine', 'onnxruntime', 'onnx', 'piper', 'tokenizers') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout, result.stdout
