"""Optional ``torch.compile`` of the loss kernels, with an eager fallback.

The losses are written as plain PyTorch functions. Eagerly each operation
makes its own pass over memory; compiled with ``torch.compile(dynamic=True,
fullgraph=True)`` a kernel becomes one fused loop, several times faster on
CPU and GPU. Shapes are compiled symbolically, so a varying number of
anchors does not recompile.

The kernels are compiled for inference only. A loss kernel takes its
tensors positionally and its flags by keyword, the last one ``derivative``,
and returns ``(loss, d loss / d pred, ...)``; :func:`differentiable` calls
it through :class:`WithDerivative`, an ``autograd.Function`` whose backward
pass scales that derivative eagerly (and, without a gradient to compute,
calls it with ``derivative=False``)::

    @kernel
    def _my_loss(pred, target, weight, gamma, *, summed, derivative):
        ...
        return weighted_result(loss, d, weight, summed, pred.dtype)

    loss = differentiable(_my_loss, pred, target, weight, gamma,
                          compiled=compiled, summed=True)
The compiled code thus never holds an autograd graph of its own, so
``backward(retain_graph=True)`` and ``create_graph=True`` work as they do
eagerly.

What a kernel is compiled for: hyper-parameters are passed as tensors and
never compile per value. Every combination of the arguments' dtypes, numbers
of dimensions and flags (``None``, booleans, strings) gets a compiled copy
of its own (with its own recompile budget), so that the per-function
recompile limit of ``torch._dynamo`` is not reached by switching between
them.

Compilation is on by default on torch 2.4 and newer (before, the kernels
run eagerly, said once in the log: :mod:`imbalance_plugin.utils.torch_compat`)
and is switched off by

* the environment variable ``IMBALANCE_PLUGIN_COMPILE=0`` (for every loss),
* ``compiled=False`` given to a loss module (for that module).

The first call of each combination pays its compilation (seconds on CPU;
later processes reuse TorchInductor's on-disk cache). Empty inputs run
eagerly, as do kernels reached while an enclosing ``torch.compile`` is
tracing (the enclosing compilation then inlines them). Whatever the compiler
refuses (a backend failure such as a missing C++ compiler, an unsupported
construct, the recompile limit) never reaches the caller: that call and
every later call of the kernel run eagerly, after one warning saying why.
"""
import functools
import os
import types
import warnings

import torch

from ..utils import torch_compat

ENV_VAR = 'IMBALANCE_PLUGIN_COMPILE'
_OFF = ('0', 'false', 'no', 'off')

# Failures of the compiler, not of the input: Dynamo's own exceptions
# (Unsupported, BackendCompilerFailed and TorchInductor's InductorError,
# the recompile limit) and the hard failure of the recompile limit under
# fullgraph=True, which derives from Exception only.
COMPILER_ERRORS = ((torch._dynamo.exc.TorchDynamoException,)
                   + torch_compat.RECOMPILE_LIMIT_ERRORS)


def compile_enabled() -> bool:
    """False when the environment variable switches compilation off."""
    return os.environ.get(ENV_VAR, '1').strip().lower() not in _OFF


def _compiles_here() -> bool:
    """Whether this torch compiles the kernels (see
    :data:`~imbalance_plugin.utils.torch_compat.COMPILES_KERNELS`); says
    once in the log when it does not."""
    if not torch_compat.COMPILES_KERNELS:
        torch_compat.say_kernels_run_eagerly()
    return torch_compat.COMPILES_KERNELS


def _specialization(value):
    """What a compiled copy is specialised to for one argument."""
    if isinstance(value, torch.Tensor):
        return (value.dtype, value.dim(), value.device.type)
    if value is None or isinstance(value, (bool, str)):
        return value
    # numbers stay symbolic; anything else is a compilation's own business
    return type(value)


def _fresh_function(fn):
    """``fn`` with a code object of its own: Dynamo keys its cache (and
    the recompile limit) by code object."""
    copy = types.FunctionType(fn.__code__.replace(), fn.__globals__,
                              fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy


class Kernel:
    """Calls ``fn`` compiled or eagerly; ``kernel(*args, compiled=...)``."""

    def __init__(self, fn, options=None):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.options = options
        self._compiled = {}
        self._broken = False

    @property
    def compilations(self) -> int:
        """Number of compiled copies made so far (one per combination)."""
        return len(self._compiled)

    def _use_compiled(self, compiled, args):
        if not compiled or self._broken or not compile_enabled():
            return False
        if torch_compat.is_compiling() or not _compiles_here():
            return False
        # An empty input is cheap eagerly and would cost a compilation of its
        # own (sizes 0 and 1 are specialised by the compiler).
        return all(a.numel() > 0 for a in args if isinstance(a, torch.Tensor))

    def _compiled_for(self, args, kwargs):
        key = (tuple(_specialization(a) for a in args),
               tuple((k, _specialization(v)) for k, v in sorted(
                   kwargs.items())))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = torch.compile(_fresh_function(self.fn), dynamic=True,
                                     fullgraph=True, options=self.options)
            self._compiled[key] = compiled
        return compiled

    def __call__(self, *args, compiled=False, **kwargs):
        if not self._use_compiled(compiled, args):
            return self.fn(*args, **kwargs)
        try:
            return self._compiled_for(args, kwargs)(*args, **kwargs)
        except COMPILER_ERRORS as error:
            failure = error
        # Eagerly, outside the handler: an error of the input itself is
        # raised here as the caller would see it without compilation.
        result = self.fn(*args, **kwargs)
        self._give_up(failure)
        return result

    def _give_up(self, error):
        self._broken = True
        if isinstance(error, torch_compat.RECOMPILE_LIMIT_ERRORS):
            why = (f'torch._dynamo.config.{torch_compat.RECOMPILE_LIMIT} '
                   f'({torch_compat.recompile_limit()}) was reached')
        else:
            cause = getattr(error, 'inner_exception', None) or error
            first_line = (str(cause).strip().splitlines() or [''])[0]
            why = f'{type(cause).__name__}: {first_line}'
        warnings.warn(
            f'imbalance_plugin: the compiled kernel {self.fn.__name__} failed '
            f'({why}); it runs eagerly from now on in this process (same '
            f'values, slower). Set {ENV_VAR}=0, or compiled=False on the '
            'loss, to run eagerly without trying to compile.',
            RuntimeWarning, stacklevel=3)


def kernel(fn=None, *, options=None):
    """Decorator making ``fn`` a :class:`Kernel`; ``options`` go to
    TorchInductor (``torch.compile(options=...)``)."""
    if fn is None:
        return functools.partial(Kernel, options=options)
    return Kernel(fn, options)


class WithDerivative(torch.autograd.Function):
    r"""A loss whose kernel computes its derivative in the forward pass.

    ``WithDerivative.apply(kernel, compiled, flags, pred, *args)`` calls
    ``kernel(pred, *args, derivative=..., compiled=compiled, **flags)``,
    which returns ``(loss, d loss / d pred, ...)`` (the derivative ``None``
    when ``derivative`` is False; further outputs are dropped); the backward
    pass scales the derivative by the incoming gradient (broadcast from the
    loss's shape, a scalar or pred's leading dimensions). With
    ``create_graph=True``, or when another tensor argument (a weight) needs
    its gradient, the backward pass recomputes the kernel eagerly and
    differentiably, so that grad-of-grad and those gradients are exact.
    """

    @staticmethod
    def forward(ctx, kernel, compiled, flags, pred, *args):
        need = ctx.needs_input_grad[3]
        loss, derivative, *_ = kernel(pred, *args, derivative=need,
                                      compiled=compiled, **flags)
        ctx.kernel = kernel
        ctx.flags = flags
        ctx.tensor_positions = [i for i, a in enumerate(args)
                                if isinstance(a, torch.Tensor)]
        ctx.args = [None if isinstance(a, torch.Tensor) else a for a in args]
        ctx.save_for_backward(derivative, pred,
                              *(args[i] for i in ctx.tensor_positions))
        return loss

    @staticmethod
    def backward(ctx, grad):
        derivative, pred, *tensors = ctx.saved_tensors
        args = list(ctx.args)
        for i, tensor in zip(ctx.tensor_positions, tensors):
            args[i] = tensor
        needs = ctx.needs_input_grad[4:]
        grads = [None] * len(args)
        if torch.is_grad_enabled() or any(needs):
            with torch.enable_grad():
                loss, derivative, *_ = ctx.kernel.fn(
                    pred, *args, derivative=True, **ctx.flags)
            wanted = [i for i, need in enumerate(needs) if need]
            if wanted:
                found = torch.autograd.grad(
                    loss, [args[i] for i in wanted], grad, retain_graph=True,
                    create_graph=torch.is_grad_enabled())
                for i, g in zip(wanted, found):
                    grads[i] = g
        grad_pred = None
        if ctx.needs_input_grad[3]:
            grad = grad.reshape(grad.shape +
                                (1,) * (derivative.dim() - grad.dim()))
            grad_pred = (grad * derivative).to(pred.dtype)
        return (None, None, None, grad_pred, *grads)


def differentiable(kernel, pred, *args, compiled=False, **flags):
    """The loss of ``kernel`` (see :class:`WithDerivative`): its tensors
    ``pred, *args`` positionally, its ``flags`` by keyword. With a gradient
    wanted (grad enabled and a tensor requiring one) through
    :class:`WithDerivative`; else the kernel runs without computing the
    derivative."""
    if torch.is_grad_enabled() and any(
            isinstance(a, torch.Tensor) and a.requires_grad
            for a in (pred, *args)):
        return WithDerivative.apply(kernel, compiled, flags, pred, *args)
    return kernel(pred, *args, derivative=False, compiled=compiled,
                  **flags)[0]
