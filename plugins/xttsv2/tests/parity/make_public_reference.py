"""Record Coqui's ``Xtts`` output for the public-path parity cases (runs in the Coqui venv only).

Step 2 of three (see docs/xttsv2-parity.md)::

    .venv/bin/python plugins/xttsv2/tests/parity/make_checkpoints.py --out /tmp/xtts-parity      # 1. ours
    /tmp/coqui-ref/bin/python plugins/xttsv2/tests/parity/make_public_reference.py /tmp/xtts-parity  # 2. Coqui
    .venv/bin/python plugins/xttsv2/tests/parity/compare.py /tmp/xtts-parity                     # 3. table

For every checkpoint directory that step 1 wrote (Coqui layout, random weights), this loads it into
coqui-tts's own ``Xtts`` (``load_state_dict(strict=True)`` after Coqui's own weight-norm naming),
computes the voice from ``ref.wav`` with ``get_conditioning_latents`` and speaks every case with
``Xtts.inference(..., enable_text_splitting=True)``, or with ``Xtts.synthesize`` (the config's
defaults) for the ``defaults`` mode. Seeded modes reseed the global RNG with ``seed + i`` before the
i-th sentence's ``generate`` call: that is Auralis' seeding contract (each segment has its own
stream, so segments can run concurrently). Writes ``<dir>/<ckpt>/coqui.npz`` (full waveforms and
codes) and, for the committed fixture, ``fixtures/<ckpt>.npz`` with codes, lengths and every
``STRIDE``-th waveform sample.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[3] / "benchmarks"))
from xttsv2_coqui import load_weights  # noqa: E402
from cases import CASES, FIXTURES, REF_WAV, iter_cases  # noqa: E402

STRIDE = CASES["stride"]


def _load_audio(path, sampling_rate):  # Coqui's load_audio needs torchcodec; the fixture is at 22.05 kHz
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    assert sr == sampling_rate, f"{path} must be written at {sampling_rate} Hz"
    return torch.from_numpy(data.T.copy()).mean(0, keepdim=True).clip_(-1, 1)


def load_coqui(ckpt: Path, spec: dict):
    """Coqui's ``Xtts`` with our random checkpoint loaded strictly."""
    import TTS.tts.models.xtts as xtts_mod
    from TTS.encoder.models.resnet import ResNetSpeakerEncoder
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.hifigan_decoder import HifiDecoder
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    xtts_mod.load_audio = _load_audio
    ours = json.loads((ckpt / "config.json").read_text())
    config = XttsConfig()
    for k, v in ours["model_args"].items():
        setattr(config.model_args, k, v)
    for k in ("temperature", "length_penalty", "repetition_penalty", "top_k", "top_p", "gpt_cond_len",
              "gpt_cond_chunk_len", "max_ref_len", "sound_norm_refs", "languages"):
        setattr(config, k, ours[k])
    model = Xtts(config)
    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(ckpt / "vocab.json"))
    model.init_models()
    a = config.model_args
    # Coqui hard-codes the decoder and speaker-encoder sizes; build the same classes at the spec's sizes.
    decoder = HifiDecoder(
        input_sample_rate=a.input_sample_rate, output_sample_rate=a.output_sample_rate,
        output_hop_length=a.output_hop_length, ar_mel_length_compression=a.gpt_code_stride_len,
        decoder_input_dim=a.decoder_input_dim, d_vector_dim=a.d_vector_dim,
        cond_d_vector_in_each_upsampling_layer=a.cond_d_vector_in_each_upsampling_layer,
        upsample_initial_channel_decoder=spec["hifigan_channels"],
    )
    decoder.speaker_encoder = ResNetSpeakerEncoder(
        input_dim=64, proj_dim=512, layers=list(spec["speaker_layers"]), num_filters=list(spec["speaker_filters"]),
        log_input=True, use_torch_spec=True, audio_config=decoder.speaker_encoder_audio_config,
    )
    model.hifigan_decoder = decoder
    load_weights(model, ckpt / "model.pth")
    return model


class CodeRecorder:
    """Wraps ``model.gpt.generate``: records each call's codes and reseeds before it if asked."""

    def __init__(self, model) -> None:
        self.model, self.inner = model, model.gpt.generate
        self.codes: list[np.ndarray] = []
        self.seed: int | None = None
        model.gpt.generate = self

    def reset(self, seed: int | None) -> None:
        self.codes, self.seed = [], seed

    def __call__(self, *args, **kwargs):
        if self.seed is not None:
            torch.manual_seed(self.seed + len(self.codes))
        out = self.inner(*args, **kwargs)
        self.codes.append(out[0].numpy().astype(np.int64))
        return out


def run_checkpoint(model, real_size: bool) -> dict[str, np.ndarray]:
    rec = CodeRecorder(model)
    cond = CASES["conditioning"]
    lat, spk = model.get_conditioning_latents(str(REF_WAV), max_ref_length=cond["max_ref_length"],
                                              gpt_cond_len=cond["gpt_cond_len"],
                                              gpt_cond_chunk_len=cond["gpt_cond_chunk_len"])
    out: dict[str, np.ndarray] = {"cond_latents": lat.numpy(), "speaker_embedding": spk.numpy()}
    for n, case in enumerate(iter_cases(real_size)):
        params = dict(case.params)
        rec.reset(params.pop("seed", None))
        t0 = time.time()
        try:
            if case.mode == "defaults":  # the checkpoint's config decides everything, as in Coqui's TTS API
                res = model.synthesize(case.text, speaker_wav=str(REF_WAV), language=case.language,
                                       enable_text_splitting=True)
            else:
                res = model.inference(case.text, case.language, lat, spk, enable_text_splitting=True, **params)
        except Exception as exc:  # recorded: the test then expects our side to refuse the text too
            out[f"{case.key}/error"] = np.array(f"{type(exc).__name__}: {exc}")
            print(f"  {n} {case.key}: {type(exc).__name__}: {exc}", flush=True)
            continue
        print(f"  {n} {case.key}: {sum(len(c) for c in rec.codes)} codes, {time.time() - t0:.1f} s", flush=True)
        out[f"{case.key}/wav"] = np.asarray(res["wav"], dtype=np.float32)
        out[f"{case.key}/codes"] = np.concatenate(rec.codes)
        out[f"{case.key}/segment_lengths"] = np.array([len(c) for c in rec.codes])
    return out


def committed_view(res: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the CI test compares against: codes exactly, waveforms by length and every STRIDE-th sample."""
    small: dict[str, np.ndarray] = {}
    for k, v in res.items():
        if k.endswith("/wav"):
            small[k.replace("/wav", "/wav_len")] = np.array(len(v))
            small[k.replace("/wav", "/wav_strided")] = v[::STRIDE]
        elif k.endswith(("/codes", "/segment_lengths")):
            small[k] = v.astype(np.int16)
    return small


def main() -> None:
    root = Path(sys.argv[1])
    torch.set_num_threads(2)
    meta = json.loads((root / "checkpoints.json").read_text())
    only = set(sys.argv[2:])
    for name, entry in meta.items():
        if only and name not in only:
            continue
        t0 = time.time()
        model = load_coqui(root / name, entry["spec"])
        res = run_checkpoint(model, entry["real_size"])
        np.savez_compressed(root / name / "coqui.npz", **res)
        if entry.get("commit"):
            np.savez_compressed(FIXTURES / f"{name}.npz", **committed_view(res))
            info = {"digest": entry["digest"], "coqui_tts": version("coqui-tts"), "torch": torch.__version__,
                    "transformers": version("transformers"), "seconds": round(time.time() - t0, 1)}
            (FIXTURES / f"{name}.json").write_text(json.dumps(info, indent=2) + "\n")
        print(f"{name}: {len([k for k in res if k.endswith('/wav')])} cases in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
