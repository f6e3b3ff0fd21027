"""The mark of tests that check compiled kernels: torch without custom ops
(before 2.4) runs every kernel eagerly (imbalance_plugin.utils.
torch_compat), so there is nothing compiled to compare."""
import pytest
import torch

from imbalance_plugin.utils.torch_compat import COMPILES_KERNELS

needs_compiled_kernels = pytest.mark.skipif(
    not COMPILES_KERNELS,
    reason=f'torch {torch.__version__} has no torch.library.custom_op: the '
    'kernels run eagerly there (tests/utils/test_torch_compat.py)')
