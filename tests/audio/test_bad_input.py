"""Bad input gets a clear, typed error: corrupt or truncated data, zero-length audio, NaN,
unknown format names, absurd sample rates and options that do not fit the format."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auralis_core import AudioDecodeError, InvalidRequestError, TTSOutput
from auralis_core.audio import decode, encode, format_from_path


@pytest.fixture(scope="module")
def files(speech) -> dict[str, bytes]:
    return {fmt: speech.to_bytes(fmt) for fmt in ("wav", "flac", "mp3", "opus", "aac", "m4a", "webm")}


# --- corrupt and truncated ------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"\x00" * 1000, b"not audio at all" * 50, b"RIFF\x10\x00\x00\x00WAVEfmt ",
                                  b"fLaC\x00\x00", b"OggS" + b"\x00" * 60, b"ID3\x04\x00\x00\x00\x00\x00\x00"])
def test_garbage_is_a_decode_error(data):
    with pytest.raises(AudioDecodeError):
        TTSOutput.from_bytes(data)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=4000))
def test_random_bytes_never_crash(data):
    try:
        out = TTSOutput.from_bytes(data)
    except AudioDecodeError:
        return
    assert len(out) > 0 and np.isfinite(out.samples).all()  # FFmpeg found some audio: it must be sane


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus", "aac", "m4a", "webm"])
def test_damaged_files_decode_or_fail_cleanly(files, fmt):
    """Flipped bytes anywhere (headers included): sane audio or AudioDecodeError, nothing else."""
    rng = np.random.default_rng(7)
    for _ in range(30):
        data = bytearray(files[fmt])
        for _ in range(int(rng.integers(1, 40))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        try:
            out = TTSOutput.from_bytes(bytes(data))
        except AudioDecodeError:
            continue
        assert len(out) > 0 and np.isfinite(out.samples).all()


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus", "aac", "m4a", "webm"])
def test_truncated_to_the_header_is_a_decode_error(files, fmt):
    with pytest.raises(AudioDecodeError):
        TTSOutput.from_bytes(files[fmt][:40])


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus", "aac", "webm"])
def test_truncated_in_the_middle_keeps_what_is_there(speech, files, fmt):
    """Like every player: a cut-off download plays up to the cut; never garbage, never a crash."""
    out = TTSOutput.from_bytes(files[fmt][: len(files[fmt]) // 2])
    assert 0.3 * speech.duration < out.duration < 0.7 * speech.duration
    assert np.isfinite(out.samples).all() and np.abs(out.samples).max() <= 1.5


def test_truncated_m4a_is_an_error(files):
    """MP4 keeps its index at the end: without it nothing can be located."""
    with pytest.raises(AudioDecodeError):
        TTSOutput.from_bytes(files["m4a"][: len(files["m4a"]) // 2])


def test_odd_length_raw_pcm():
    with pytest.raises(AudioDecodeError, match="truncated"):
        TTSOutput.from_bytes(b"\x00\x01\x02", "pcm", sample_rate=24000)


# --- zero-length ---------------------------------------------------------------------------
def test_empty_bytes():
    with pytest.raises(AudioDecodeError, match="empty"):
        TTSOutput.from_bytes(b"")


@pytest.mark.parametrize("fmt", ["wav", "flac", "opus", "webm"])
def test_zero_length_audio_file(fmt):
    data = TTSOutput(np.zeros(0, dtype=np.float32), 24000).to_bytes(fmt)  # a valid file with no samples
    with pytest.raises(AudioDecodeError, match="no audio samples|zero length"):
        TTSOutput.from_bytes(data)


def test_missing_file(tmp_path):
    with pytest.raises(AudioDecodeError, match="not found"):
        TTSOutput.from_file(tmp_path / "nope.wav")


# --- NaN / inf -----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fmt", ["wav", "pcm", "flac", "mp3", "opus", "aac"])
def test_encoding_non_finite_is_refused(bad, fmt):
    x = np.zeros(1000, dtype=np.float32)
    x[10] = bad
    with pytest.raises(InvalidRequestError, match="NaN or infinite") as info:
        TTSOutput(x, 24000).to_bytes(fmt)
    assert info.value.param == "samples"


def test_decoding_a_float_wav_with_nan():
    import io

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.array([0.0, np.nan, 0.5], dtype=np.float32), 16000, format="WAV", subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="NaN"):
        TTSOutput.from_bytes(buffer.getvalue())


# --- format names --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["wma", "mp4a", "", "MP3 ", "vorbis"])
def test_unknown_format_name(speech, name):
    with pytest.raises(InvalidRequestError, match="unsupported audio format") as info:
        speech.to_bytes(name)
    assert info.value.param == "format" and "mp3" in str(info.value)


def test_format_names_are_case_insensitive_and_have_aliases(speech):
    assert speech.to_bytes("WAV") == speech.to_bytes("wav")
    assert speech.to_bytes("ogg")[:4] == b"OggS"


def test_unknown_extension(speech, tmp_path):
    with pytest.raises(InvalidRequestError, match="cannot tell the audio format"):
        format_from_path("clip.xyz")
    with pytest.raises(InvalidRequestError):
        speech.save(tmp_path / "clip.txt")
    assert speech.save(tmp_path / "clip.txt", format="wav").read_bytes()[:4] == b"RIFF"


# --- sample rates --------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0, -8000, 999, 384_001, 10**9])
def test_absurd_sample_rates(speech, rate):
    with pytest.raises(InvalidRequestError, match="sample_rate|target_sr"):
        encode(speech.samples, rate, "wav")
    with pytest.raises(InvalidRequestError):
        speech.to_bytes("mp3", sample_rate=rate)
    with pytest.raises(InvalidRequestError):
        speech.resample(rate)
    with pytest.raises(InvalidRequestError):
        TTSOutput(speech.samples, rate)
    with pytest.raises(InvalidRequestError):
        decode(b"\x00\x00" * 100, "pcm", sample_rate=rate)


@pytest.mark.parametrize("rate", [22050.0, "24000", None, True])
def test_sample_rate_must_be_an_integer(speech, rate):
    with pytest.raises(InvalidRequestError, match="integer"):
        encode(speech.samples, rate, "wav")


@pytest.mark.parametrize("rate", [1, 500, 1_000_000])
def test_wav_header_with_an_absurd_rate(rate):
    """A hand-made WAV header claiming ``rate`` Hz."""
    pcm = np.zeros(2000, dtype="<i2").tobytes()
    header = (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE" + b"fmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(pcm)))
    with pytest.raises(AudioDecodeError, match="sample rate"):
        TTSOutput.from_bytes(header + pcm)


def test_wav_with_an_unknown_codec():
    """Format tag 0x1234: soundfile refuses it, FFmpeg has no decoder for it."""
    pcm = np.zeros(2000, dtype="<i2").tobytes()
    header = (b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE" + b"fmt "
              + struct.pack("<IHHIIHH", 16, 0x1234, 1, 16000, 32000, 2, 16) + b"data" + struct.pack("<I", len(pcm)))
    with pytest.raises(AudioDecodeError, match="codec"):
        TTSOutput.from_bytes(header + pcm)


# --- options that do not fit ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "options", "param"),
    [("wav", {"bitrate": "64k"}, "bitrate"), ("mp3", {"bit_depth": 24}, "bit_depth"),
     ("flac", {"bit_depth": 32}, "bit_depth"), ("pcm", {"bit_depth": 8}, "bit_depth"),
     ("mp3", {"bitrate": "fast"}, "bitrate"), ("opus", {"bitrate": 1}, "bitrate"),
     ("mp3", {"bitrate": 10**7}, "bitrate"), ("wav", {"channels": 6}, "channels"),
     ("mp3", {"subtype": "FLOAT"}, "subtype")],
)
def test_options_that_do_not_apply(speech, fmt, options, param):
    with pytest.raises(InvalidRequestError) as info:
        speech.to_bytes(fmt, **options)
    assert info.value.param == param


def test_pcm_needs_a_rate_to_decode(speech):
    with pytest.raises(InvalidRequestError, match="sample_rate"):
        TTSOutput.from_bytes(speech.to_bytes("pcm"), "pcm")


def test_multichannel_arrays_must_be_mono_or_frames_by_channels():
    with pytest.raises(InvalidRequestError):
        encode(np.zeros((2, 2, 2), dtype=np.float32), 16000, "wav")
