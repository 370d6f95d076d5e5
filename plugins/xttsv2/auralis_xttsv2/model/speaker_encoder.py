"""ResNet speaker encoder (H/ASP) that turns 16 kHz speech into the 512-d HiFi-GAN speaker embedding.

Coqui's ``ResNetSpeakerEncoder`` with ``use_torch_spec=True, log_input=True``: pre-emphasis,
64-band power mel (hamming window; filters and window are checkpoint buffers), ``log(x + 1e-6)``,
instance norm over time, SE-ResNet (note: ReLU *before* BatchNorm, as trained), attentive
statistics pooling and a linear projection.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import HifiganConfig
from .mel import MelSpectrogram


class PreEmphasis(nn.Module):
    def __init__(self, coefficient: float = 0.97) -> None:
        super().__init__()
        self.register_buffer("filter", torch.tensor([-coefficient, 1.0]).view(1, 1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T]
        return F.conv1d(F.pad(x[:, None], (1, 0), mode="reflect"), self.filter)[:, 0]


class SELayer(nn.Module):
    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction), nn.ReLU(inplace=True),
            nn.Linear(channels // reduction, channels), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3)))[:, :, None, None]


class SEBasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SELayer(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn1(F.relu(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        residual = x if self.downsample is None else self.downsample(x)
        return F.relu(out + residual)


class ResNetSpeakerEncoder(nn.Module):
    def __init__(self, config: HifiganConfig) -> None:
        super().__init__()
        c = config
        nf, layers = c.speaker_encoder_num_filters, c.speaker_encoder_layers
        if len(nf) != 4 or len(layers) != 4:
            raise ValueError("the speaker encoder has four ResNet stages")
        self.input_dim = c.speaker_encoder_input_dim
        self.conv1 = nn.Conv2d(1, nf[0], 3, padding=1)
        self.bn1 = nn.BatchNorm2d(nf[0])
        inplanes = nf[0]
        for i, (planes, blocks) in enumerate(zip(nf, layers)):
            stride = 1 if i == 0 else 2
            stage = [SEBasicBlock(inplanes, planes, stride)] + [SEBasicBlock(planes, planes) for _ in range(blocks - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
            inplanes = planes
        self.torch_spec = nn.Sequential(
            PreEmphasis(c.speaker_encoder_preemphasis),
            MelSpectrogram(
                sample_rate=c.speaker_encoder_sample_rate, n_fft=c.speaker_encoder_n_fft,
                win_length=c.speaker_encoder_win_length, hop_length=c.speaker_encoder_hop_length,
                n_mels=c.speaker_encoder_input_dim, window=torch.hamming_window(c.speaker_encoder_win_length),
            ),
        )
        pooled = nf[3] * (self.input_dim // 8)
        self.attention = nn.Sequential(
            nn.Conv1d(pooled, 128, kernel_size=1), nn.ReLU(), nn.BatchNorm1d(128),
            nn.Conv1d(128, pooled, kernel_size=1), nn.Softmax(dim=2),
        )
        self.fc = nn.Linear(pooled * 2, c.d_vector_dim)

    def forward(self, wav_16k: torch.Tensor, l2_norm: bool = True) -> torch.Tensor:
        """``[B, T]`` 16 kHz waveform -> ``[B, d_vector_dim]`` embedding (unit length if ``l2_norm``)."""
        x = self.torch_spec(wav_16k)  # [B, 64, frames]
        x = F.instance_norm((x + 1e-6).log()).unsqueeze(1)
        x = self.bn1(F.relu(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = x.reshape(x.shape[0], -1, x.shape[-1])  # [B, C * mel/8, frames/8]
        w = self.attention(x)
        mu = torch.sum(x * w, dim=2)
        sg = torch.sqrt((torch.sum(x**2 * w, dim=2) - mu**2).clamp(min=1e-5))
        x = self.fc(torch.cat([mu, sg], dim=1))
        return F.normalize(x, p=2, dim=1) if l2_norm else x
