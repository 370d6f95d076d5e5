"""The playground page in headless Chromium against real `auralis serve` processes (see conftest)."""

from __future__ import annotations

import base64
import io
import re

import httpx
import numpy as np
import soundfile as sf

# Statistics of what the page decoded, computed in the page from the samples it played.
_AUDIO_STATS = """() => {
  const a = window.playground.lastAudio;
  let sum = 0, peak = 0;
  for (const v of a.samples) { sum += v * v; peak = Math.max(peak, Math.abs(v)); }
  return {duration: a.samples.length / a.sampleRate, rms: Math.sqrt(sum / a.samples.length), peak,
          rate: a.sampleRate, ttfa: a.ttfaMs};
}"""


def _open(page, server) -> None:
    """Load the page and, behind --api-key, type the key the way a user does."""
    page.goto(server.url + "/")
    if server.api_key:
        page.fill("#api-key", server.api_key)
        page.dispatch_event("#api-key", "change")
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)


def _speak(page, text: str, voice: str | None = None) -> dict:
    if voice is not None:
        page.select_option("#voice", voice)
    page.fill("#text", text)
    page.click("#speak")
    page.wait_for_selector("#output[data-state=done]", timeout=30_000)
    return page.evaluate(_AUDIO_STATS)


def _voice_ids(server) -> list[str]:
    response = httpx.get(server.url + "/v1/audio/voices", headers=server.headers())
    response.raise_for_status()
    return [v["id"] for v in response.json()["data"]]


def test_voice_select_lists_the_engines_voices(page, espeak_serve):
    page.goto(espeak_serve.url + "/")
    # without the key the page says what is wrong, next to the key field
    page.wait_for_selector("#err-api-key:not([hidden])")
    assert "API key" in page.inner_text("#err-api-key")
    _open(page, espeak_serve)
    assert page.is_hidden("#err-api-key")
    listed = page.eval_on_selector_all("#voice option", "options => options.map(o => o.value)")
    assert sorted(listed) == sorted(_voice_ids(espeak_serve))
    assert {"en-us", "en-gb", "alloy"} <= set(listed)
    assert page.is_hidden("#clone")  # eSpeak does not clone voices
    assert page.input_value("#model") == "espeak"
    assert page.input_value("#voice") == "en-us"  # the engine's default voice is preselected
    assert page.is_hidden("#download")  # nothing to download yet
    assert page.inner_text("#char-count").endswith("/ 200")


def test_speak_streams_nonsilent_audio(page, espeak_serve):
    _open(page, espeak_serve)
    stats = _speak(page, "The quick brown fox jumps over the lazy dog, twice.", voice="en-us")
    assert stats["rate"] == 24000
    assert 1.5 < stats["duration"] < 8.0, stats
    assert stats["rms"] > 0.02 and stats["peak"] > 0.2, stats
    assert 0 < stats["ttfa"] < 10_000
    assert re.fullmatch(r"\d+ ms( \(first byte \d+ ms\))?", page.inner_text("#ttfa"))
    assert page.get_attribute("#download", "download") == "speech.wav"
    assert page.evaluate("document.getElementById('waveform').getContext('2d')"
                         ".getImageData(0, 0, 600, 120).data.some(v => v > 0)")


def test_too_long_input_shows_the_servers_error(page, espeak_serve):
    _open(page, espeak_serve)
    text = "word " * 50  # 250 characters, limit 200
    page.fill("#text", text)
    assert "over" in page.get_attribute("#char-count", "class")
    page.click("#speak")
    page.wait_for_selector("#err-text:not([hidden])")
    assert page.inner_text("#err-text") == "input is 250 characters; the limit is 200"
    assert page.get_attribute("#text", "aria-invalid") == "true"
    assert page.input_value("#text") == text  # nothing lost
    assert page.input_value("#voice")  # the rest of the form too


def _tone_clip(freq: float, seconds: float = 1.0, rate: int = 8000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    sf.write(buf, 0.5 * np.sin(2 * np.pi * freq * t), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _dominant_frequency(page) -> float:
    samples = np.array(page.evaluate("Array.from(window.playground.lastAudio.samples)"), dtype=np.float64)
    rate = page.evaluate("window.playground.lastAudio.sampleRate")
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_clone_a_voice_use_it_and_delete_it(page, tone_serve, tmp_path):
    clip = tmp_path / "ref.wav"
    clip.write_bytes(_tone_clip(330.0))
    _open(page, tone_serve)
    assert page.is_visible("#clone")
    # a second clip arrives by drag and drop (a real drop event carrying a File)
    page.set_input_files("#clone-files", str(clip))
    page.evaluate(
        """(b64) => {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], "dropped.wav", {type: "audio/wav"}));
          document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
        }""",
        base64.b64encode(_tone_clip(330.0, 0.5)).decode(),
    )
    assert page.eval_on_selector_all("#clip-list li", "items => items.length") == 2
    # a bad name: the server's message appears next to the name field, the clips stay
    page.fill("#clone-name", "no/slashes")
    page.click("#clone-submit")
    page.wait_for_selector("#err-clone-name:not([hidden])")
    assert page.eval_on_selector_all("#clip-list li", "items => items.length") == 2

    page.fill("#clone-name", "sine330")
    page.click("#clone-submit")
    page.wait_for_selector("#voice option[value=sine330]", state="attached")
    assert "sine330" in _voice_ids(tone_serve)
    assert page.input_value("#voice") == "sine330"
    assert page.is_visible("#my-voices button[data-voice=sine330]")
    _speak(page, "A sentence spoken with the cloned voice, long enough for a clear tone.")
    assert abs(_dominant_frequency(page) - 330.0) < 15  # the tone engine speaks at its reference's pitch
    _speak(page, "A sentence spoken with the cloned voice, long enough for a clear tone.", voice="high")
    assert abs(_dominant_frequency(page) - 400.0) < 15  # and a built-in voice at its own
    assert page.evaluate("window.playground.lastAudio.playback") == "web-audio"
    page.select_option("#format", "mp3")  # encoded: streamed through MediaSource, decoded for the waveform
    _speak(page, "A sentence spoken with the cloned voice, long enough for a clear tone.", voice="sine330")
    assert page.evaluate("window.playground.lastAudio.playback") == "media-source"
    assert abs(_dominant_frequency(page) - 330.0) < 15
    page.select_option("#format", "flac")  # not streamable there: played once complete
    _speak(page, "A sentence spoken with the cloned voice, long enough for a clear tone.", voice="sine330")
    assert page.evaluate("window.playground.lastAudio.playback") == "decoded"
    assert abs(_dominant_frequency(page) - 330.0) < 15
    assert page.get_attribute("#download", "download") == "speech.flac"

    page.click("#my-voices button[data-voice=sine330]")
    page.wait_for_selector("#voice option[value=sine330]", state="detached")
    assert "sine330" not in _voice_ids(tone_serve)


def test_record_a_reference_from_the_microphone(page, tone_serve):
    """Chromium's fake capture device stands in for the microphone; the recording is real MediaRecorder output."""
    _open(page, tone_serve)
    page.click("#record")
    page.wait_for_selector("#record.recording")
    page.wait_for_timeout(1200)
    page.click("#record")
    page.wait_for_selector("#clip-list li")
    assert page.inner_text("#clip-list li").startswith("recording-1.")
    page.fill("#clone-name", "recorded")
    page.click("#clone-submit")
    page.wait_for_selector("#voice option[value=recorded]", state="attached")
    page.click("#my-voices button[data-voice=recorded]")
    page.wait_for_selector("#voice option[value=recorded]", state="detached")
