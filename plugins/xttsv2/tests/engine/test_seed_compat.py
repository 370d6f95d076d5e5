"""Code written for the original Auralis runs once its import says ``auralis_core``: its README
snippet, on the committed XTTS fixture, as a user's own script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from auralis_core import TTS, TTSOutput

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SMALL = FIXTURES / "xtts_small"

# The original README's quick start, verbatim but for the import line and the model (a hub id
# there, the committed fixture here).
SEED_README = '''
from auralis import TTS, TTSRequest

# Initialize
tts = TTS().from_pretrained("AstraMindAI/xttsv2", gpt_model='AstraMindAI/xtts2-gpt')

# Generate speech
request = TTSRequest(
    text="Hello Earth! This is Auralis speaking.",
    speaker_files=['reference.wav']
)

output = tts.generate_speech(request)
output.save('hello.wav')
'''


def test_seed_readme_snippet_runs(tmp_path):
    script = SEED_README.replace("from auralis import", "from auralis_core import").replace(
        """"AstraMindAI/xttsv2", gpt_model='AstraMindAI/xtts2-gpt'""", repr(str(SMALL)))
    assert script.count("from auralis_core import") == 1 and str(SMALL) in script
    shutil.copy(FIXTURES / "ref.wav", tmp_path / "reference.wav")
    (tmp_path / "seed.py").write_text(script)
    result = subprocess.run([sys.executable, "seed.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = TTSOutput.from_file(tmp_path / "hello.wav")
    assert out.sample_rate == 24000 and out.duration > 0


def test_seed_constructor_settings_and_sampling_keywords():
    """``TTS(scheduler_max_concurrency=...).from_pretrained(...)`` keeps the settings; the seed's
    sampling keywords land in XTTS's options; the output helpers keep their seed signatures."""
    from auralis_core import TTSRequest

    tts = TTS(scheduler_max_concurrency=12).from_pretrained(str(SMALL), device="cpu")
    with tts:
        assert tts.scheduler.max_concurrency == 12
        request = TTSRequest(text="Hi there.", speaker_files=[str(FIXTURES / "ref.wav")], language="en", stream=False,
                             temperature=0.5, repetition_penalty=3.0, do_sample=False,
                             options={"max_new_tokens": 12, "ignore_stop": True})
        resolved = request.resolved_for(tts.engine)
        assert (resolved.options.temperature, resolved.options.repetition_penalty) == (0.5, 3.0)
        assert resolved.options.top_p == tts.engine.config.top_p  # the checkpoint's default
        output = tts.generate_speech(request)
    both = TTSOutput.combine_outputs([output, output.change_speed(1.5)])
    assert both.array is both.samples and both.duration > output.duration
    wav = both.to_bytes("wav", 2)
    assert wav[:4] == b"RIFF" and int.from_bytes(wav[34:36], "little") == 16  # sample_width 2 -> 16 bit
