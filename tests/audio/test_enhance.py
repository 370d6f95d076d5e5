"""Reference clean-up on real speech: noise reduction, speech-band EQ, loudness, trimming, caching.

Stated thresholds (measured values on this speech in docs/audio.md):
- noise reduction at 5 dB input SNR: white noise +5 dB or more, babble (6 talkers) +1 dB or more;
- speech-band enhancement: low-frequency rumble at 5 dB SNR ends 20 dB or more below the speech;
- loudness within 0.5 LU of the target; trimmed edges within 20 ms of the true speech edges.
"""

from __future__ import annotations

import numpy as np
import pytest
from audio_metrics import mix_at_snr, snr_db
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auralis_core import AudioPreprocessingConfig, InvalidRequestError, TTSOutput
from auralis_core.audio.enhance import preprocess_reference, speech_bounds

WHITE_MIN_GAIN_DB = 5.0
BABBLE_MIN_GAIN_DB = 1.0
RUMBLE_MIN_SNR_DB = 20.0
ONLY_DENOISE = AudioPreprocessingConfig(normalize=False, trim_silence=False, noise_reduction=True)
ONLY_ENHANCE = AudioPreprocessingConfig(normalize=False, trim_silence=False, enhance_speech=True)


@pytest.fixture(scope="module")
def white(speech) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(len(speech)).astype(np.float32)


@pytest.mark.parametrize(("noise_name", "min_gain"), [("white", WHITE_MIN_GAIN_DB), ("babble", BABBLE_MIN_GAIN_DB)])
def test_noise_reduction_improves_snr(request, speech, noise_name, min_gain):
    clean, sr = speech.samples, speech.sample_rate
    noisy = mix_at_snr(clean, request.getfixturevalue(noise_name), 5.0)
    assert abs(snr_db(clean, noisy) - 5.0) < 0.01
    cleaned = preprocess_reference(noisy, sr, ONLY_DENOISE)
    assert len(cleaned) == len(noisy)  # aligned sample for sample
    assert snr_db(clean, cleaned) - 5.0 >= min_gain


@pytest.mark.parametrize("noise_name", ["white", "babble"])
def test_noise_reduction_keeps_intelligibility(request, speech, noise_name):
    """STOI (pystoi, when installed): the Wiener gain must not cost intelligibility."""
    pystoi = pytest.importorskip("pystoi")
    clean, sr = speech.samples, speech.sample_rate
    noisy = mix_at_snr(clean, request.getfixturevalue(noise_name), 5.0)
    cleaned = preprocess_reference(noisy, sr, ONLY_DENOISE)
    assert pystoi.stoi(clean, cleaned, sr) >= pystoi.stoi(clean, noisy, sr) - 0.03


def test_noise_reduction_leaves_clean_speech_mostly_alone(speech):
    assert snr_db(speech.samples, preprocess_reference(speech.samples, speech.sample_rate, ONLY_DENOISE)) > 20


def test_speech_enhancement_removes_rumble(speech):
    from scipy import signal

    clean, sr = speech.samples, speech.sample_rate
    rng = np.random.default_rng(1)
    brown = np.cumsum(rng.standard_normal(len(clean)))
    brown = signal.sosfiltfilt(signal.butter(4, 50, fs=sr, output="sos"), brown - brown.mean())
    hum = np.sin(2 * np.pi * 50 * np.arange(len(clean)) / sr)
    rumble = (brown / brown.std() + hum / hum.std()).astype(np.float32)
    noisy = mix_at_snr(clean, rumble, 5.0)
    # the EQ is linear: what is left of the rumble is enhance(noisy) - enhance(clean)
    enhanced_clean = preprocess_reference(clean, sr, ONLY_ENHANCE)
    assert snr_db(enhanced_clean, preprocess_reference(noisy, sr, ONLY_ENHANCE)) >= RUMBLE_MIN_SNR_DB


def test_enhance_amount_scales_the_presence_lift(speech):
    from scipy import signal

    def presence_db(x):
        f, p = signal.welch(x, speech.sample_rate, nperseg=2048)
        return 10 * np.log10(p[(f > 3000) & (f < 4000)].sum() / p[(f > 500) & (f < 1000)].sum())

    base = presence_db(speech.samples)
    lifts = []
    for amount in (0.0, 0.5, 1.0):
        config = AudioPreprocessingConfig(normalize=False, trim_silence=False, enhance_speech=True, enhance_amount=amount)
        lifts.append(presence_db(preprocess_reference(speech.samples, speech.sample_rate, config)) - base)
    assert lifts[0] == 0.0
    assert 1.0 < lifts[1] < lifts[2] < 6.0


@pytest.mark.parametrize("target", [-30.0, -23.0, -16.0])
@pytest.mark.parametrize("level", [0.05, 1.0])
def test_loudness_reaches_target(speech, target, level):
    import pyloudnorm

    config = AudioPreprocessingConfig(target_lufs=target, trim_silence=False)
    out = preprocess_reference(speech.samples * level, speech.sample_rate, config)
    measured = pyloudnorm.Meter(speech.sample_rate).integrated_loudness(out.astype(np.float64))
    assert abs(measured - target) <= 0.5
    assert np.abs(out).max() <= 10 ** (-1 / 20) + 1e-6  # peaks held at -1 dBFS


@pytest.fixture(scope="module")
def speech_core(speech) -> np.ndarray:
    """The speech with eSpeak's own edge silence cut at the first/last sample above -80 dBFS."""
    voiced = np.nonzero(np.abs(speech.samples) > 1e-4)[0]
    return speech.samples[voiced[0] : voiced[-1] + 1]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lead=st.floats(0.0, 1.5), tail=st.floats(0.0, 1.5), floor_db=st.sampled_from([None, -70.0, -60.0]))
def test_trim_finds_the_speech_edges_within_20_ms(speech, speech_core, lead, tail, floor_db):
    sr = speech.sample_rate
    n_lead, n_tail = int(lead * sr), int(tail * sr)
    padded = np.concatenate([np.zeros(n_lead), speech_core, np.zeros(n_tail)]).astype(np.float32)
    if floor_db is not None:  # a quiet room instead of digital silence
        padded += (10 ** (floor_db / 20) * np.random.default_rng(0).standard_normal(len(padded))).astype(np.float32)
    start, end = speech_bounds(padded, sr, -40.0)
    assert abs(start - n_lead) <= 0.02 * sr
    assert abs(end - (n_lead + len(speech_core))) <= 0.02 * sr
    trimmed = preprocess_reference(padded, sr, AudioPreprocessingConfig(normalize=False))
    assert len(trimmed) == end - start


def test_full_chain_on_a_noisy_reference(speech, white, speech_core):
    """Silence + white noise around speech: everything on -> trimmed, denoised, at -23 LUFS."""
    import pyloudnorm

    sr = speech.sample_rate
    clean = np.concatenate([np.zeros(sr // 2), speech_core, np.zeros(sr // 2)]).astype(np.float32)
    noisy = mix_at_snr(clean, np.resize(white, len(clean)), 15.0)
    config = AudioPreprocessingConfig(noise_reduction=True, enhance_speech=True)
    out = preprocess_reference(noisy, sr, config)
    assert abs(len(out) - len(speech_core)) < 0.1 * sr  # the padding is gone
    assert abs(pyloudnorm.Meter(sr).integrated_loudness(out.astype(np.float64)) + 23.0) <= 0.5


def test_nan_reference_is_refused():
    with pytest.raises(InvalidRequestError, match="NaN"):
        preprocess_reference(np.array([0.0, np.nan] * 1000, dtype=np.float32), 16000, AudioPreprocessingConfig())


def test_preprocessing_is_cached_by_content_and_config(speech):
    from auralis_core.audio import references

    references._cache.clear()
    config = AudioPreprocessingConfig(noise_reduction=True)
    first = references.load_references([speech.samples.copy()], 24000, config, array_sample_rate=speech.sample_rate)
    again = references.load_references([speech.samples.copy()], 24000, config, array_sample_rate=speech.sample_rate)
    assert again[0] is first[0]  # same content + config: the cached result, not recomputed
    other = references.load_references([speech.samples.copy()], 24000, AudioPreprocessingConfig(),
                                       array_sample_rate=speech.sample_rate)
    assert other[0] is not first[0] and len(references._cache) == 2
    changed = speech.samples.copy()
    changed[1000] += 0.01
    assert references.load_references([changed], 24000, config, array_sample_rate=speech.sample_rate)[0] is not first[0]
    # the bytes of a file identify it just as well
    wav = speech.to_bytes("wav")
    assert references.load_references([wav], 24000, config)[0] is references.load_references([wav], 24000, config)[0]
    assert isinstance(first[0], TTSOutput) and first[0].sample_rate == 24000


def test_trim_keeps_a_steady_signal_whole():
    """No pauses at all (a tone, a clip cut mid-speech): the noise-floor rule must not eat it."""
    sr = 8000
    tone = (0.5 * np.sin(2 * np.pi * 300 * np.arange(sr) / sr)).astype(np.float32)
    assert speech_bounds(tone, sr) == (0, sr)
    padded = np.concatenate([np.zeros(sr // 2, dtype=np.float32), tone])
    start, end = speech_bounds(padded, sr)
    assert abs(start - sr // 2) <= 0.02 * sr and end == len(padded)
