"""`StreamingEncoder`: chunk by chunk, the same codec output as one-shot encoding."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auralis_core import InvalidRequestError, TTSOutput
from auralis_core.audio import FORMATS, StreamingEncoder, encode_stream

STREAM_FORMATS = ["mp3", "opus", "aac", "flac", "webm", "wav", "pcm"]
MP3_DELAY = 1105  # LAME's 576-sample encoder delay + the decoder's 529; the one-shot LAME tag trims it


def _chunked(encoder: StreamingEncoder, samples: np.ndarray, sizes: list[int]) -> list[bytes]:
    pieces, start = [], 0
    for size in sizes:
        pieces.append(encoder.encode(samples[start : start + size]))
        start += size
    pieces.append(encoder.encode(samples[start:]))
    pieces.append(encoder.finish())
    return pieces


def _decode(data: bytes, fmt: str, rate: int) -> np.ndarray:
    if fmt == "pcm":
        return TTSOutput.from_bytes(data, "pcm", sample_rate=rate).samples
    return TTSOutput.from_bytes(data).samples


@pytest.mark.parametrize("fmt", STREAM_FORMATS)
def test_streamed_audio_decodes_like_one_shot(speech, fmt):
    x, rate = speech.samples, speech.sample_rate
    sizes = list(np.random.default_rng(1).integers(1, 6000, size=40))  # uneven chunks, some tiny
    pieces = _chunked(StreamingEncoder(fmt, rate), x, sizes)
    streamed = b"".join(pieces)
    assert sum(1 for p in pieces[:-1] if p) > 5  # bytes came out while audio was still coming in
    one_shot = speech.to_bytes(fmt)
    a, b = _decode(streamed, fmt, rate), _decode(one_shot, fmt, rate)
    if fmt == "mp3":  # no LAME tag in a stream (it is written last): the decoder keeps delay and padding
        assert MP3_DELAY <= len(a) - len(b) <= MP3_DELAY + 1152
        a = a[MP3_DELAY : MP3_DELAY + len(b)]
    assert len(a) == len(b)
    np.testing.assert_array_equal(a, b)  # identical codec frames -> identical decoded samples


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "webm", "flac", "m4a"])
def test_chunking_never_changes_the_bytes(speech, fmt):
    x = speech.samples[: 3 * speech.sample_rate]
    whole = StreamingEncoder(fmt, speech.sample_rate)
    reference = whole.encode(x) + whole.finish()
    pieces = _chunked(StreamingEncoder(fmt, speech.sample_rate), x, [1, 2, 1000, 4096, 7, 3000])
    assert b"".join(pieces) == reference
    if not FORMATS[fmt].streamable:  # m4a writes its index last: everything comes from finish()
        assert all(p == b"" for p in pieces[:-1]) and pieces[-1]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 5000), max_size=12), fmt=st.sampled_from(["mp3", "opus", "aac"]))
def test_any_chunking_gives_the_same_stream(speech, sizes, fmt):
    x = speech.samples[: speech.sample_rate * 2]
    whole = StreamingEncoder(fmt, speech.sample_rate)
    assert b"".join(_chunked(StreamingEncoder(fmt, speech.sample_rate), x, sizes)) == whole.encode(x) + whole.finish()


def test_opus_stream_resamples_to_an_opus_rate(speech):
    encoder = StreamingEncoder(format="opus", sample_rate=speech.sample_rate)
    assert encoder.output_sample_rate == 24000 and encoder.content_type == "audio/ogg"
    data = b"".join(encoder.encode_all(speech.samples[i : i + 2205] for i in range(0, len(speech), 2205)))
    assert data[:4] == b"OggS"
    back = TTSOutput.from_bytes(data)
    assert abs(back.duration - speech.duration) < 0.01  # pre-skip and end trimming are exact


def test_container_signatures(speech):
    head = {fmt: b"".join(encode_stream([speech.samples[:22050]], fmt, speech.sample_rate))[:4]
            for fmt in ("mp3", "aac", "opus", "flac", "webm", "wav")}
    assert head["mp3"][:2] == b"\xff\xfb" or head["mp3"][:2] == b"\xff\xf3"  # raw MPEG frames, no ID3
    assert head["aac"][:2] in (b"\xff\xf1", b"\xff\xf9")  # ADTS sync word
    assert head["opus"] == b"OggS" and head["flac"] == b"fLaC" and head["wav"] == b"RIFF"
    assert head["webm"] == b"\x1a\x45\xdf\xa3"  # EBML


def test_tts_output_chunks_and_async(speech):
    chunks = [TTSOutput(speech.samples[i : i + 4410], speech.sample_rate) for i in range(0, len(speech), 4410)]
    streamed = b"".join(encode_stream(chunks, "aac", speech.sample_rate))

    async def collect():
        async def agen():
            for c in chunks:
                yield c
        return b"".join([b async for b in StreamingEncoder("aac", speech.sample_rate).aencode_all(agen())])

    assert asyncio.run(collect()) == streamed == speech.to_bytes("aac")


def test_misuse_is_refused(speech):
    encoder = StreamingEncoder("mp3", 22050)
    with pytest.raises(InvalidRequestError, match="24000 Hz"):
        encoder.encode(TTSOutput(np.zeros(100), 24000))
    with pytest.raises(InvalidRequestError, match="NaN"):
        encoder.encode(np.array([0.0, np.nan], dtype=np.float32))
    encoder.finish()
    assert encoder.finish() == b""  # idempotent
    with pytest.raises(InvalidRequestError, match="finished"):
        encoder.encode(np.zeros(10, dtype=np.float32))
    with pytest.raises(InvalidRequestError, match="format"):
        StreamingEncoder("wma", 24000)
    with pytest.raises(InvalidRequestError, match="sample_rate"):
        StreamingEncoder("mp3", 0)
    with pytest.raises(InvalidRequestError, match="bitrate"):
        StreamingEncoder("wav", 24000, bitrate="64k")


@pytest.mark.parametrize("fmt", ["opus", "flac", "wav", "webm"])
def test_empty_stream_is_a_valid_file_with_no_audio(fmt):
    """Containers with headers still write them; decoding says there is no audio."""
    from auralis_core import AudioDecodeError

    data = StreamingEncoder(fmt, 24000).finish()
    assert len(data) > 40
    with pytest.raises(AudioDecodeError, match="no audio samples"):
        TTSOutput.from_bytes(data)


def test_server_encoder_resamples_then_streams(speech):
    """The server's encoder: engine rate in, the response rate out, one valid file in the end."""
    from auralis_core.server.encoding import AudioStreamEncoder

    encoder = AudioStreamEncoder("opus", speech.sample_rate, 24000)
    assert encoder.content_type == "audio/ogg"
    step = speech.sample_rate // 5
    data = b"".join(encoder.feed(speech.samples[i : i + step]) for i in range(0, len(speech.samples), step))
    data += encoder.finish()
    assert data[:4] == b"OggS"
    decoded = TTSOutput.from_bytes(data)
    assert decoded.duration == pytest.approx(speech.duration, abs=0.03)


def test_abandoned_encoders_are_cleaned_up(speech):
    """A client that disconnects mid-stream leaves an unfinished encoder behind: no crash, no leak."""
    import gc

    for fmt in ("mp3", "opus", "aac", "flac", "webm", "m4a"):
        encoder = StreamingEncoder(fmt, speech.sample_rate)
        encoder.encode(speech.samples[:5000])
        del encoder
        gc.collect()
    with StreamingEncoder("opus", speech.sample_rate) as encoder:  # the context manager finishes it
        encoder.encode(speech.samples[:5000])
    assert encoder.finish() == b""
