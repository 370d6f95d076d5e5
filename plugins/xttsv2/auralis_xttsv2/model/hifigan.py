"""HiFi-GAN decoder of XTTS: GPT latents (22.05 kHz code rate) -> 24 kHz waveform.

``hifigan_decoder.*`` in ``model.pth``: ``waveform_decoder`` (HiFi-GAN V1 generator with a global
speaker condition added after ``conv_pre`` and after every upsampling layer) and
``speaker_encoder``.

Weight norm is kept in the checkpoint's own layout: ``weight_g`` (``[out, 1, 1]``; ``[in, 1, 1]``
for transposed convs) and ``weight_v``, which is what the released XTTS-v2 ``model.pth`` stores.
Checkpoints written by newer torch (``parametrizations.weight.original0/1``) are renamed to this by
the loader. ``conv_pre`` and ``conv_post`` carry plain weights (Coqui removes their weight norm),
and ``conv_post`` has no bias.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import HifiganConfig
from .speaker_encoder import ResNetSpeakerEncoder

LRELU_SLOPE = 0.1


def _norm_except_dim0(v: torch.Tensor) -> torch.Tensor:
    return v.pow(2).sum(dim=tuple(range(1, v.dim())), keepdim=True).sqrt()


class _WeightNormed(nn.Module):
    """``weight = weight_g * weight_v / ||weight_v||`` (norm over all dims but 0), as the checkpoint stores it.

    Without autograd the product is computed once and kept: HiFi-GAN's 76 convolutions otherwise
    recompute theirs on every call (five kernels each, which a streamed window of a few dozen frames
    pays in full). It is computed again after ``.to()``/``.cuda()``, a state-dict load, an in-place
    edit of either parameter (its version counter moves), or new data or a new parameter.
    """

    def __init__(self, weight_shape: tuple[int, int, int], cout: int) -> None:
        super().__init__()
        self.weight_v = nn.Parameter(torch.randn(*weight_shape) * 0.01)
        self.weight_g = nn.Parameter(_norm_except_dim0(self.weight_v.detach()).clone())
        self.bias = nn.Parameter(torch.zeros(cout))
        self._folded: tuple[tuple[int, ...], torch.Tensor] | None = None

    def _product(self) -> torch.Tensor:
        return self.weight_v * (self.weight_g / _norm_except_dim0(self.weight_v))

    @property
    def weight(self) -> torch.Tensor:
        if torch.is_grad_enabled() or self.weight_v.is_inference() or self.weight_g.is_inference():
            return self._product()  # inference tensors keep no version counter to check
        v, g = self.weight_v, self.weight_g  # identity and storage too: `.data =` keeps the version
        key = (id(v), v.data_ptr(), v._version, id(g), g.data_ptr(), g._version)
        if self._folded is None or self._folded[0] != key:
            self._folded = (key, self._product())
        return self._folded[1]

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]  # .to(), .cuda(), .half() ...
        self._folded = None  # the new data could land at the old address: the key alone cannot tell
        return super()._apply(fn, recurse)


class WNConv1d(_WeightNormed):
    """Weight-normalised ``Conv1d`` with ``weight_g``/``weight_v``/``bias`` parameters."""

    def __init__(self, cin: int, cout: int, kernel: int, dilation: int = 1, padding: int = 0) -> None:
        super().__init__((cout, cin, kernel), cout)
        self.dilation, self.padding = dilation, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.weight, self.bias, padding=self.padding, dilation=self.dilation)


class WNConvTranspose1d(_WeightNormed):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__((cin, cout, kernel), cout)
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose1d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)


def _padding(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


class ResBlock1(nn.Module):
    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(WNConv1d(channels, channels, kernel, d, _padding(kernel, d)) for d in dilations)
        self.convs2 = nn.ModuleList(WNConv1d(channels, channels, kernel, 1, _padding(kernel)) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class HifiganGenerator(nn.Module):
    def __init__(self, c: HifiganConfig) -> None:
        super().__init__()
        ch0 = c.upsample_initial_channel
        self.num_kernels = len(c.resblock_kernel_sizes)
        self.cond_in_each_up_layer = c.cond_d_vector_in_each_upsampling_layer
        self.conv_pre = nn.Conv1d(c.decoder_input_dim, ch0, 7, 1, padding=3)
        self.ups = nn.ModuleList(
            WNConvTranspose1d(ch0 // 2**i, ch0 // 2 ** (i + 1), k, u, (k - u) // 2)
            for i, (u, k) in enumerate(zip(c.upsample_rates, c.upsample_kernel_sizes))
        )
        self.resblocks = nn.ModuleList(
            ResBlock1(ch0 // 2 ** (i + 1), k, d)
            for i in range(len(self.ups))
            for k, d in zip(c.resblock_kernel_sizes, c.resblock_dilation_sizes)
        )
        ch_last = ch0 // 2 ** len(self.ups)
        self.conv_post = nn.Conv1d(ch_last, 1, 7, 1, padding=3, bias=False)
        self.cond_layer = nn.Conv1d(c.d_vector_dim, ch0, 1)
        if self.cond_in_each_up_layer:
            self.conds = nn.ModuleList(nn.Conv1d(c.d_vector_dim, ch0 // 2 ** (i + 1), 1) for i in range(len(self.ups)))

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``x [B, C, T]``, ``g [B, d_vector, 1]`` -> ``[B, 1, T * prod(upsample_rates)]``."""
        o = self.conv_pre(x) + self.cond_layer(g)
        for i, up in enumerate(self.ups):
            o = up(F.leaky_relu(o, LRELU_SLOPE))
            if self.cond_in_each_up_layer:
                o = o + self.conds[i](g)
            z = self.resblocks[i * self.num_kernels](o)
            for j in range(1, self.num_kernels):
                z = z + self.resblocks[i * self.num_kernels + j](o)
            o = z / self.num_kernels
        o = self.conv_post(F.leaky_relu(o))  # default slope 0.01 here, as the reference
        return torch.tanh(o)


class HifiDecoder(nn.Module):
    def __init__(self, config: HifiganConfig) -> None:
        super().__init__()
        self.config = config
        self.waveform_decoder = HifiganGenerator(config)
        self.speaker_encoder = ResNetSpeakerEncoder(config)

    def forward(self, latents: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """GPT latents ``[B, T, D]`` + speaker embedding ``[B, 512, 1]`` -> waveform ``[B, 1, S]``.

        Latents are linearly stretched from the code rate (one per ``ar_mel_length_compression``
        samples) to the HiFi-GAN frame rate (one per ``output_hop_length``), then by
        ``output/input`` sample rate, with the same ``scale_factor`` calls as the reference.
        """
        c = self.config
        z = F.interpolate(latents.transpose(1, 2), scale_factor=[c.ar_mel_length_compression / c.output_hop_length],
                          mode="linear")
        if c.output_sample_rate != c.input_sample_rate:
            z = F.interpolate(z, scale_factor=[c.output_sample_rate / c.input_sample_rate], mode="linear")
        g = g.to(z.dtype)
        if g.dim() == 2:
            g = g[..., None]
        return self.waveform_decoder(z, g)
