"""`TTSOutput` basics owned by the core (codec/DSP depth is tested under tests/audio)."""

from __future__ import annotations

import numpy as np
import pytest

from auralis_core import InvalidRequestError, TTSOutput


def _tone(seconds=0.5, sr=24000, freq=220.0):
    t = np.arange(int(seconds * sr)) / sr
    return TTSOutput(0.5 * np.sin(2 * np.pi * freq * t), sr)


def test_mono_float32_and_downmix():
    stereo = np.stack([np.ones(100), -np.ones(100) * 0.5], axis=1)
    out = TTSOutput(stereo, 16000)
    assert out.samples.dtype == np.float32 and out.samples.shape == (100,)
    assert np.allclose(out.samples, 0.25)
    ints = TTSOutput(np.array([16384, -32768], dtype=np.int16), 8000)
    assert np.allclose(ints.samples, [0.5, -1.0])


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_lossless_roundtrip(fmt, tmp_path):
    out = _tone()
    path = out.save(tmp_path / f"a.{fmt}")
    back = TTSOutput.from_file(path)
    assert back.sample_rate == out.sample_rate and len(back) == len(out)
    assert np.max(np.abs(back.samples - out.samples)) < 1e-4


def test_pcm_is_raw_int16_le():
    out = TTSOutput(np.array([0.0, 0.5, -0.5], dtype=np.float32), 24000)
    data = out.to_bytes("pcm")
    assert len(data) == 6
    assert np.frombuffer(data, "<i2").tolist() == [0, 16384, -16384] or np.frombuffer(data, "<i2").tolist() == [0, 16383, -16383]


def test_combine_and_info():
    a, b = _tone(0.25), _tone(0.5, sr=16000)
    joined = TTSOutput.combine_outputs([a, b], silence_s=0.1)
    assert joined.sample_rate == 24000
    assert abs(joined.duration - 0.85) < 0.01
    info = joined.get_info()
    assert info["channels"] == 1 and 0.45 < info["peak"] <= 0.55
    with pytest.raises(InvalidRequestError):
        TTSOutput.combine_outputs([])


def test_tensor_bridge():
    torch = pytest.importorskip("torch")
    out = _tone()
    tensor = out.to_tensor()
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (len(out),)
    back = TTSOutput.from_tensor(tensor.unsqueeze(0), 24000)
    assert np.array_equal(back.samples, out.samples)


def test_bad_sample_rate():
    with pytest.raises(InvalidRequestError, match="sample_rate"):
        TTSOutput(np.zeros(10), 0)
    with pytest.raises(InvalidRequestError, match="sample_rate"):
        TTSOutput(np.zeros(10), 10_000_000)
