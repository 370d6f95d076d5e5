"""Round trips through every format on real speech, encoder options, and files made by FFmpeg."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest
from audio_metrics import align, correlation, snr_db
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auralis_core import TTSOutput
from auralis_core.audio import FORMATS, format_from_path

# codec frame (samples at the codec rate) + what the decoder cannot trim (encoder priming)
CODEC_SLACK = {"mp3": 1152, "opus": 960, "aac": 2 * 1024, "m4a": 1024, "webm": 960}
# correlation with the input after alignment, at the default bit rates (mp3 64k, aac 64k, opus 32k)
LOSSY_MIN_CORRELATION = {"mp3": 0.99, "aac": 0.99, "m4a": 0.99, "opus": 0.97, "webm": 0.97}


def _decode(data: bytes, fmt: str, rate: int, bit_depth: int = 16) -> TTSOutput:
    if fmt == "pcm":
        return TTSOutput.from_bytes(data, "pcm", sample_rate=rate, bit_depth=bit_depth)
    return TTSOutput.from_bytes(data)


@pytest.mark.parametrize("fmt", ["wav", "pcm", "flac"])
def test_lossless_round_trip(speech, fmt):
    back = _decode(speech.to_bytes(fmt), fmt, speech.sample_rate)
    assert back.sample_rate == speech.sample_rate
    assert len(back) == len(speech)  # exact length
    assert snr_db(speech.samples, back.samples) > 60  # 16-bit quantisation is ~90 dB below this speech
    assert correlation(speech.samples, back.samples) > 0.999


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "m4a", "webm"])
def test_lossy_round_trip(speech, fmt):
    data = speech.to_bytes(fmt)
    back = TTSOutput.from_bytes(data)
    codec_rate = FORMATS[fmt].codec_sample_rate(speech.sample_rate)
    expected_rate = 48000 if fmt in ("opus", "webm") else codec_rate  # Opus always decodes at 48 kHz
    assert back.sample_rate == expected_rate
    # duration: the input's, plus at most one codec frame and the un-trimmable priming
    extra = len(back) / back.sample_rate - speech.duration
    assert -1e-3 <= extra <= CODEC_SLACK[fmt] / codec_rate + 1e-3, extra
    lag, ref, got = align(speech.samples, back.resample(speech.sample_rate).samples)
    assert correlation(ref, got) > LOSSY_MIN_CORRELATION[fmt]
    if fmt in ("mp3", "opus", "m4a", "webm"):
        assert lag == 0  # LAME/Xing tag, Opus pre-skip and the MP4 edit list remove the priming
    # a real compression ratio (16-bit PCM would be 2 bytes per sample)
    assert len(data) < 0.25 * 2 * len(speech)


@pytest.mark.parametrize(("fmt", "ext"), [(f.name, ext) for f in FORMATS.values() for ext in f.extensions])
def test_extensions_name_the_format(fmt, ext):
    assert format_from_path(f"/tmp/clip{ext.upper()}") == fmt


@pytest.mark.parametrize("ext", [".wav", ".flac", ".mp3", ".opus", ".ogg", ".aac", ".m4a", ".webm"])
def test_save_and_from_file(speech, tmp_path, ext):
    path = speech.save(tmp_path / f"speech{ext}")
    back = TTSOutput.from_file(path)
    assert abs(back.duration - speech.duration) < 0.1


def test_pcm_file_needs_a_rate(speech, tmp_path):
    path = speech.save(tmp_path / "speech.pcm")
    assert TTSOutput.from_file(path, sample_rate=speech.sample_rate).samples.shape == speech.samples.shape
    with pytest.raises(ValueError, match="sample_rate"):
        TTSOutput.from_file(path)


def test_to_bytes_sample_rate_bit_depth_channels(speech):
    import soundfile as sf

    info = sf.info(io.BytesIO(speech.to_bytes("wav", sample_rate=48000, bit_depth=24, channels=2)))
    assert (info.samplerate, info.channels, info.subtype) == (48000, 2, "PCM_24")
    info = sf.info(io.BytesIO(speech.to_bytes("flac", bit_depth=24)))
    assert info.subtype == "PCM_24"
    info = sf.info(io.BytesIO(speech.to_bytes("wav", subtype="FLOAT")))
    assert info.subtype == "FLOAT"
    stereo = TTSOutput.from_bytes(speech.to_bytes("mp3", channels=2, sample_rate=44100))
    assert stereo.sample_rate == 44100 and abs(stereo.duration - speech.duration) < 0.1
    # 24-bit raw pcm: 3 bytes a sample, round trip within 24-bit resolution
    raw = speech.to_bytes("pcm", bit_depth=24)
    assert len(raw) == 3 * len(speech)
    back = TTSOutput.from_bytes(raw, "pcm", sample_rate=speech.sample_rate, bit_depth=24)
    assert np.max(np.abs(back.samples - np.clip(speech.samples, -1, 1))) <= 2.0**-23


def test_bitrate_option(speech):
    small, large = speech.to_bytes("mp3", bitrate="32k"), speech.to_bytes("mp3", bitrate=128_000)
    assert len(large) > 2.5 * len(small)
    quality = []
    for data in (small, large):
        _, ref, got = align(speech.samples, TTSOutput.from_bytes(data).samples)
        quality.append(snr_db(ref, got))
    assert quality[1] > quality[0]


def test_codec_rates(speech):
    """Codecs with fixed rates run at the next supported one (opus: 22050 -> 24000)."""
    from auralis_core.audio import StreamingEncoder

    assert StreamingEncoder("opus", 22050).output_sample_rate == 24000
    assert StreamingEncoder("opus", 44100).output_sample_rate == 48000
    assert StreamingEncoder("mp3", 96000).output_sample_rate == 48000
    assert StreamingEncoder("aac", 22050).output_sample_rate == 22050
    assert StreamingEncoder("flac", 22050).output_sample_rate == 22050


def _write_with_pyav(samples: np.ndarray, rate: int, container_format: str, codec: str, layout: str) -> bytes:
    """A file written directly with PyAV (not through Auralis): float planar frames of 1024."""
    import av

    channels = 2 if layout == "stereo" else 1
    planes = np.stack([samples, 0.5 * samples])[:channels].astype(np.float32)  # right = half the left
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        offered = [f.name for f in stream.codec_context.codec.audio_formats]
        fmt = next(f for f in ("fltp", "flt", "s16") if f in offered)
        stream.codec_context.format = fmt
        pts = 0
        size = 960 if "opus" in codec else 1024
        for start in range(0, planes.shape[1], size):
            block = planes[:, start : start + size]
            array = block if fmt == "fltp" else block.T.reshape(1, -1)
            if fmt == "s16":
                array = np.round(array * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(array), format=fmt, layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = rate, pts, Fraction(1, rate)
            pts += block.shape[1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("container_format", "codec", "layout"),
    [("ogg", "libopus", "stereo"), ("ipod", "aac", "stereo"), ("webm", "libopus", "mono"),
     ("ogg", "flac", "mono"), ("matroska", "aac", "stereo"), ("wav", "pcm_f32le", "stereo")],
)
def test_decodes_files_written_by_ffmpeg(speech, container_format, codec, layout):
    x = speech.resample(48000).samples
    data = _write_with_pyav(x, 48000, container_format, codec, layout)
    back = TTSOutput.from_bytes(data)
    assert back.sample_rate == 48000
    assert abs(back.duration - len(x) / 48000) < 0.05
    gain = 0.75 if layout == "stereo" else 1.0  # downmix = mean of (x, x/2)
    _, ref, got = align(gain * x, back.samples)
    assert correlation(ref, got) > 0.97
    assert abs(np.std(got) / np.std(ref) - 1) < 0.1  # averaged, not summed or one channel


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    samples=st.lists(st.floats(-1.0, 1.0, width=32), min_size=1, max_size=2000),
    fmt=st.sampled_from(["wav", "pcm", "flac"]),
    bit_depth=st.sampled_from([16, 24]),
    rate=st.sampled_from([8000, 16000, 22050, 44100, 96000]),
)
def test_lossless_formats_keep_any_signal(samples, fmt, bit_depth, rate):
    x = np.array(samples, dtype=np.float32)
    out = TTSOutput(x, rate)
    back = _decode(out.to_bytes(fmt, bit_depth=bit_depth), fmt, rate, bit_depth)
    assert back.sample_rate == rate and len(back) == len(x)
    assert np.max(np.abs(back.samples - x)) <= 2.0 ** (1 - bit_depth)  # within one step
