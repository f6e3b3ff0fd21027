"""The version shims: each stands for the API this torch has, and the
fallbacks give the same results as the APIs they replace."""
import logging

import pytest
import torch

from imbalance_plugin.functional.gradient_density import bin_counts
from imbalance_plugin.utils import torch_compat


def test_recompile_limit_names_a_setting_of_this_torch():
    assert hasattr(torch._dynamo.config, torch_compat.RECOMPILE_LIMIT)
    assert torch_compat.recompile_limit() == getattr(
        torch._dynamo.config, torch_compat.RECOMPILE_LIMIT)
    with torch._dynamo.config.patch(**{torch_compat.RECOMPILE_LIMIT: 3}):
        assert torch_compat.recompile_limit() == 3


def test_recompile_limit_errors_are_exceptions_of_this_torch():
    for error in torch_compat.RECOMPILE_LIMIT_ERRORS:
        assert issubclass(error, Exception)
        assert getattr(torch._dynamo.exc, error.__name__) is error


def test_is_compiling_is_true_only_while_tracing():
    seen = []

    def fn(x):
        seen.append(torch_compat.is_compiling())
        return x + 1

    assert not torch_compat.is_compiling()
    torch._dynamo.reset()
    torch.compile(fn, backend='eager')(torch.ones(2))
    assert seen == [True]


def test_features_are_what_torch_has():
    assert torch_compat.HAS_CUSTOM_OP == hasattr(torch.library, 'custom_op')
    assert torch_compat.HAS_SAFE_GLOBALS == hasattr(torch.serialization,
                                                    'add_safe_globals')


def test_custom_op_without_custom_ops_is_the_function(monkeypatch):
    monkeypatch.setattr(torch_compat, 'HAS_CUSTOM_OP', False)

    def double(x: torch.Tensor) -> torch.Tensor:
        return 2 * x

    wrapped = torch_compat.custom_op('imbalance_plugin_test::double',
                                     lambda x: torch.empty_like(x))(double)
    assert wrapped is double


@pytest.mark.skipif(not torch_compat.HAS_CUSTOM_OP,
                    reason=f'torch {torch.__version__} has no custom ops')
def test_bin_counts_is_a_custom_op_where_torch_has_them():
    assert isinstance(bin_counts, torch._library.custom_ops.CustomOpDef)


def test_bin_counts_counts_like_bincount():
    from imbalance_plugin.functional.gradient_density import (
        bin_slots,
        region_of,
    )
    gen = torch.Generator().manual_seed(0)
    g = torch.rand(1000, generator=gen)
    valid = torch.rand(1000, generator=gen) > 0.3
    counts = bin_counts(bin_slots(g, valid, 10), 10)
    region = region_of(g, 10).long()[valid]
    want = torch.bincount(region, minlength=10).float()
    torch.testing.assert_close(counts, want)


def test_eager_kernels_are_said_once(monkeypatch, caplog):
    monkeypatch.setattr(torch_compat, '_said_eager', False)
    with caplog.at_level(logging.WARNING, logger='imbalance_plugin'):
        for _ in range(3):
            torch_compat.say_kernels_run_eagerly()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert 'run eagerly' in messages[0] and torch.__version__ in messages[0]


def test_without_compilation_a_kernel_runs_eagerly(monkeypatch, caplog):
    from imbalance_plugin.functional import compile as compile_mod
    monkeypatch.setattr(torch_compat, 'COMPILES_KERNELS', False)
    monkeypatch.setattr(torch_compat, '_said_eager', False)
    monkeypatch.setenv(compile_mod.ENV_VAR, '1')

    @compile_mod.kernel
    def square(x):
        return x * x

    x = torch.randn(5)
    with caplog.at_level(logging.WARNING, logger='imbalance_plugin'):
        torch.testing.assert_close(square(x, compiled=True), x * x)
        square(x, compiled=True)
    assert square.compilations == 0
    assert len(caplog.records) == 1
