"""HiFi-GAN's weight-normalised convolutions: the product kept between inference calls is never stale."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from auralis_xttsv2.model.hifigan import WNConv1d, WNConvTranspose1d


def _fresh(conv: WNConv1d, x: torch.Tensor) -> torch.Tensor:
    return F.conv1d(x, conv._product().detach(), conv.bias.detach(), padding=conv.padding, dilation=conv.dilation)


def test_kept_product_follows_edits_conversions_and_loads():
    torch.manual_seed(0)
    conv = WNConv1d(4, 4, 3, 2, 2)
    x = torch.randn(1, 4, 16)
    with torch.inference_mode():
        first = conv(x)
        kept = conv._folded
        conv(x)
        assert kept is not None and conv._folded is kept  # computed once, not per call
        assert torch.equal(first, _fresh(conv, x))
    with torch.no_grad():
        conv.weight_g.mul_(2.0)  # an in-place edit moves the version counter
    with torch.inference_mode():
        assert torch.equal(conv(x), _fresh(conv, x)) and not torch.equal(conv(x), first)
    conv.to(torch.float64)  # same Parameter objects, new data: must not reuse the float32 product
    with torch.inference_mode():
        assert conv(x.double()).dtype == torch.float64
    conv.load_state_dict({k: v * 3 for k, v in conv.state_dict().items()})
    with torch.inference_mode():
        assert torch.allclose(conv(x.double()), _fresh(conv, x.double()))


def test_training_still_differentiates_through_the_norm():
    conv = WNConvTranspose1d(4, 2, 4, 2, 1)
    conv(torch.randn(1, 4, 8)).square().sum().backward()
    assert conv.weight_g.grad is not None and conv.weight_v.grad is not None and conv._folded is None
