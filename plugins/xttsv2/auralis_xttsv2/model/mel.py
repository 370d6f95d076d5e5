"""Audio front-ends XTTS uses, written on ``torch.stft`` (no torchaudio).

* `resample`: band-limited sinc resampling (Hann window, width 6, rolloff 0.99), numerically the
  same as ``torchaudio.functional.resample`` that Coqui uses (22.05 kHz -> 16 kHz for the speaker
  encoder).
* `melscale_fbanks` / `MelSpectrogram`: torchaudio's triangular mel filters (HTK scale, optional
  Slaney area norm) and power spectrogram (centred, reflect-padded frames).
* `wav_to_mel_cloning`: the GPT conditioning mel (22.05 kHz, n_fft 2048, hop 256, win 1024,
  80 bands to 8 kHz, Slaney norm), ``log(clamp(mel, 1e-5)) / mel_stats``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _sinc_resample_kernel(orig: int, new: int, width_zeros: int, rolloff: float, dtype: torch.dtype,
                          device: torch.device) -> tuple[torch.Tensor, int]:
    base = min(orig, new) * rolloff
    width = math.ceil(width_zeros * orig / base)
    idx = torch.arange(-width, width + orig, dtype=dtype, device=device)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=dtype, device=device)[:, None, None] / new + idx
    t = (t * base).clamp(-width_zeros, width_zeros)
    window = torch.cos(t * math.pi / width_zeros / 2) ** 2
    t = t * math.pi
    kernel = torch.where(t == 0, torch.ones((), dtype=dtype, device=device), t.sin() / t)
    return kernel * window * (base / orig), width


def resample(wav: torch.Tensor, orig_freq: int, new_freq: int, lowpass_filter_width: int = 6,
             rolloff: float = 0.99) -> torch.Tensor:
    """Resample the last dimension of a float waveform from ``orig_freq`` to ``new_freq`` Hz."""
    if not wav.is_floating_point():
        raise TypeError(f"expected a floating point waveform, got {wav.dtype}")
    if orig_freq == new_freq:
        return wav
    gcd = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // gcd, int(new_freq) // gcd
    kernel, width = _sinc_resample_kernel(orig, new, lowpass_filter_width, rolloff, wav.dtype, wav.device)
    shape = wav.shape
    x = wav.reshape(-1, shape[-1])
    length = x.shape[-1]
    x = F.pad(x, (width, width + orig))
    y = F.conv1d(x[:, None], kernel, stride=orig).transpose(1, 2).reshape(x.shape[0], -1)
    y = y[..., : math.ceil(new * length / orig)]
    return y.reshape(shape[:-1] + y.shape[-1:])


def melscale_fbanks(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int,
                    norm: str | None = None) -> torch.Tensor:
    """Triangular HTK-scale mel filters ``[n_freqs, n_mels]`` (torchaudio's construction)."""
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_min = 2595.0 * math.log10(1.0 + f_min / 700.0)
    m_max = 2595.0 * math.log10(1.0 + f_max / 700.0)
    m_pts = torch.linspace(m_min, m_max, n_mels + 2)
    f_pts = 700.0 * (10.0 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = torch.max(torch.zeros(1), torch.min(down, up))
    if norm == "slaney":
        fb = fb * (2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels])).unsqueeze(0)
    elif norm is not None:
        raise ValueError("norm must be None or 'slaney'")
    return fb


def power_spectrogram(wav: torch.Tensor, n_fft: int, hop_length: int, win_length: int,
                      window: torch.Tensor) -> torch.Tensor:
    """``|STFT|^2`` with centred, reflect-padded frames: ``[..., T]`` -> ``[..., n_fft//2+1, frames]``."""
    shape = wav.shape
    spec = torch.stft(wav.reshape(-1, shape[-1]), n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                      window=window, center=True, pad_mode="reflect", normalized=False, onesided=True,
                      return_complex=True)
    spec = spec.abs().pow(2.0)
    return spec.reshape(shape[:-1] + spec.shape[-2:])


class Spectrogram(nn.Module):
    """Holds the analysis ``window`` buffer under the checkpoint's name."""

    def __init__(self, n_fft: int, win_length: int, hop_length: int, window: torch.Tensor) -> None:
        super().__init__()
        self.n_fft, self.win_length, self.hop_length = n_fft, win_length, hop_length
        self.register_buffer("window", window)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return power_spectrogram(wav, self.n_fft, self.hop_length, self.win_length, self.window)


class MelScale(nn.Module):
    def __init__(self, fb: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("fb", fb)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:  # [..., F, T] -> [..., M, T]
        return torch.matmul(spec.transpose(-1, -2), self.fb).transpose(-1, -2)


class MelSpectrogram(nn.Module):
    """Power mel spectrogram with submodules named as in the checkpoint (``spectrogram``, ``mel_scale``)."""

    def __init__(self, sample_rate: int, n_fft: int, win_length: int, hop_length: int, n_mels: int,
                 window: torch.Tensor, f_min: float = 0.0, f_max: float | None = None,
                 norm: str | None = None) -> None:
        super().__init__()
        self.spectrogram = Spectrogram(n_fft, win_length, hop_length, window)
        f_max = float(sample_rate // 2) if f_max is None else f_max
        self.mel_scale = MelScale(melscale_fbanks(n_fft // 2 + 1, f_min, f_max, n_mels, sample_rate, norm))

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return self.mel_scale(self.spectrogram(wav))


_COND_MEL = dict(n_fft=2048, hop_length=256, win_length=1024, sample_rate=22050, n_mels=80, f_max=8000.0)
_cond_cache: dict[tuple[str, str], tuple[torch.Tensor, torch.Tensor]] = {}


def wav_to_mel_cloning(wav: torch.Tensor, mel_stats: torch.Tensor) -> torch.Tensor:
    """GPT conditioning mel of 22.05 kHz audio ``[B, T]`` -> ``[B, 80, frames]`` (fp32)."""
    wav = wav.float()
    key = (str(wav.device), "cond")
    if key not in _cond_cache:
        fb = melscale_fbanks(_COND_MEL["n_fft"] // 2 + 1, 0.0, _COND_MEL["f_max"], _COND_MEL["n_mels"],
                             _COND_MEL["sample_rate"], norm="slaney").to(wav.device)
        _cond_cache[key] = (torch.hann_window(_COND_MEL["win_length"], device=wav.device), fb)
    window, fb = _cond_cache[key]
    spec = power_spectrogram(wav, _COND_MEL["n_fft"], _COND_MEL["hop_length"], _COND_MEL["win_length"], window)
    mel = torch.matmul(spec.transpose(-1, -2), fb).transpose(-1, -2)
    mel = torch.log(torch.clamp(mel, min=1e-5))
    return mel / mel_stats.float().to(wav.device)[None, :, None]
