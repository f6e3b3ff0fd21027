"""Optional ``torch.compile`` of the loss kernels, with an eager fallback.

The losses are written as plain PyTorch functions. Eagerly each operation
makes its own pass over memory; compiled with ``torch.compile(dynamic=True,
fullgraph=True)`` a loss's forward and its backward each become one fused
loop, several times faster on CPU and GPU. Shapes are compiled symbolically,
so a varying number of anchors does not recompile.

Compilation is on by default and is switched off by

* the environment variable ``IMBALANCE_PLUGIN_COMPILE=0`` (for every loss),
* ``compiled=False`` given to a loss module (for that module).

The first call of a compiled kernel pays its compilation (seconds on CPU;
later processes reuse TorchInductor's on-disk cache). Empty inputs run
eagerly, as do kernels reached while an enclosing ``torch.compile`` is
tracing (the enclosing compilation then inlines them). If the compiler
back end is unusable (for instance no C++ compiler), the kernel warns once
and stays eager.
"""
import functools
import os
import warnings

import torch

ENV_VAR = 'IMBALANCE_PLUGIN_COMPILE'
_OFF = ('0', 'false', 'no', 'off')


def compile_enabled() -> bool:
    """False when the environment variable switches compilation off."""
    return os.environ.get(ENV_VAR, '1').strip().lower() not in _OFF


class Kernel:
    """Calls ``fn`` compiled or eagerly; ``kernel(*args, compiled=...)``."""

    def __init__(self, fn, options=None):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.options = options
        self._compiled_fn = None
        self._broken = False

    def _use_compiled(self, compiled, args):
        if not compiled or self._broken or not compile_enabled():
            return False
        if torch.compiler.is_compiling():
            return False
        # An empty input is cheap eagerly and would cost a compilation of its
        # own (sizes 0 and 1 are specialised by the compiler).
        return all(a.numel() > 0 for a in args if isinstance(a, torch.Tensor))

    def __call__(self, *args, compiled=False, **kwargs):
        if not self._use_compiled(compiled, args):
            return self.fn(*args, **kwargs)
        if self._compiled_fn is None:
            self._compiled_fn = torch.compile(
                self.fn, dynamic=True, fullgraph=True, options=self.options)
        try:
            return self._compiled_fn(*args, **kwargs)
        except torch._dynamo.exc.BackendCompilerFailed as error:
            self._broken = True
            warnings.warn(
                f'imbalance_plugin: compiling {self.fn.__name__} failed, it '
                f'runs eagerly from now on ({type(error).__name__}: '
                f'{str(error).splitlines()[0] if str(error) else ""}). Set '
                f'{ENV_VAR}=0 to skip compilation.')
            return self.fn(*args, **kwargs)


def kernel(fn=None, *, options=None):
    """Decorator making ``fn`` a :class:`Kernel`; ``options`` go to
    TorchInductor (``torch.compile(options=...)``)."""
    if fn is None:
        return functools.partial(Kernel, options=options)
    return Kernel(fn, options)
