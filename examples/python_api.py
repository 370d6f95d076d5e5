"""Synthesize speech with the default engine and save it in several formats."""

from __future__ import annotations

import sys
from pathlib import Path

from auralis_core import TTS, TTSRequest

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
out_dir.mkdir(parents=True, exist_ok=True)

with TTS.from_pretrained() as tts:  # no arguments: the embedded default engine
    print("engine:", tts.engine_name, "| some voices:", ", ".join(tts.list_voices()[:5]))
    audio = tts.generate_speech(
        TTSRequest(text="Auralis turns text into speech. It runs offline on any CPU.", language="en", speed=1.1)
    )
    print(audio.get_info())
    for ext in ("wav", "flac"):
        print("wrote", audio.save(out_dir / f"python_api.{ext}"))
    m = tts.metrics.last()
    print(f"real-time factor {m.real_time_factor:.3f}, time to first audio {m.time_to_first_audio:.3f} s")
