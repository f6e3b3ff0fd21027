"""Numerical pieces shared by the losses: compute dtype, hyper-parameters
as tensors and sigmoid terms."""
from functools import lru_cache

import torch
from torch import Tensor

from ..utils.torch_compat import is_compiling

#: ``binary_cross_entropy``'s clamps for probabilities (``activated=True``):
#: of each logarithm and of the variance :math:`p (1 - p)`.
LOG_MIN = -100.0
VARIANCE_MIN = 1e-12


def opmath_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16 / bfloat16 are computed in float32, float64 stays float64."""
    return torch.promote_types(dtype, torch.float32)


def opmath(pred: Tensor) -> Tensor:
    """``pred`` in its compute dtype (:func:`opmath_dtype`)."""
    return pred.to(opmath_dtype(pred.dtype))


def scalar(name: str, value: float, device: torch.device,
           dtype: torch.dtype = torch.float32) -> Tensor:
    """Hyper-parameter ``name`` as a 0-d tensor, made once per value and
    device.

    A compiled kernel is specialised to the value of a Python number it
    reads (one compilation per value); a tensor argument is not. One tensor
    per name, so that two parameters of equal value are not one tensor
    (the compiler would specialise to that aliasing). Never written to: it
    is shared. While an enclosing ``torch.compile`` traces, a constant.
    """
    if is_compiling():
        return torch.tensor(float(value), dtype=dtype, device=device)
    return _cached_scalar(name, float(value), device, dtype)


@lru_cache(maxsize=1024)
def _cached_scalar(name, value, device, dtype):
    with torch.inference_mode(False):
        return torch.tensor(value, dtype=dtype, device=device)


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
