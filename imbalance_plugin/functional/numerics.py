"""Numerical pieces shared by the losses: compute dtype and sigmoid terms."""
import torch
from torch import Tensor


def opmath(pred: Tensor) -> Tensor:
    """float16 / bfloat16 are computed in float32, float64 stays float64."""
    return pred.to(torch.promote_types(pred.dtype, torch.float32))


def sigmoid_parts(x: Tensor, t: Tensor):
    r""":math:`\sigma(x)`, :math:`\sigma(-x)` and :math:`\mathrm{BCE}(x, t)`
    from one ``exp`` and one ``log1p``, each accurate for any finite x:

    .. math::
        e = \exp(-|x|),\quad \sigma(\pm x) = \frac{1}{1 + e} \text{ or }
        \frac{e}{1 + e},\quad \mathrm{BCE} = \max(x, 0) - x t + \log(1 + e)
    """
    e = torch.exp(-x.abs())
    inv = 1 / (1 + e)
    positive = x >= 0
    p = torch.where(positive, inv, e * inv)
    one_minus_p = torch.where(positive, e * inv, inv)
    bce = x.clamp_min(0) - x * t + torch.log1p(e)
    return p, one_minus_p, bce
