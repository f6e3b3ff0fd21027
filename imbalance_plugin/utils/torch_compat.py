"""What torch 2.1 to the newest spell differently: the plugin's only
version shims, each found by looking for the API, never by comparing
version numbers. Delete an entry once the supported floor has its API.

=========================  ======================  =========================
shim                       newer torch             older torch
=========================  ======================  =========================
:func:`is_compiling`       ``torch.compiler.       ``torch._dynamo.
                           is_compiling`` (2.3+)   is_compiling`` (2.1, 2.2)
:data:`RECOMPILE_LIMIT`    ``recompile_limit``     ``cache_size_limit``
                           (the name since 2.7)    (2.1 to 2.6)
:data:`RECOMPILE_LIMIT_    ``FailOnRecompile-      none: 2.1 raises Dynamo's
ERRORS`                    LimitHit`` (2.7+),      ``Unsupported``, a
                           ``FailOnCacheLimitHit`` ``TorchDynamoException``
                           (2.4 to 2.6)
:func:`custom_op`          ``torch.library.        a plain function
                           custom_op`` and
                           ``register_fake`` (2.4+)
:data:`HAS_SAFE_GLOBALS`   ``torch.serialization.  absent: ``torch.load``
                           add_safe_globals``      defaults to
                           (2.4+)                  ``weights_only=False``
                                                   before 2.6, so MMEngine's
                                                   checkpoints load as they
                                                   are
:data:`COMPILES_KERNELS`   custom ops (2.4+): the  eager kernels, said once
                           kernels compile         in the log
=========================  ======================  =========================

Only torch is imported here, so that ``functional/`` may use it.
"""
import logging

import torch

_dynamo_config = torch._dynamo.config
_dynamo_exc = torch._dynamo.exc

#: Name of Dynamo's per-function recompile limit in its config.
RECOMPILE_LIMIT = ('recompile_limit' if hasattr(_dynamo_config,
                                                'recompile_limit')
                   else 'cache_size_limit')

#: The exceptions a ``fullgraph=True`` compilation raises when it reaches
#: the recompile limit and that do not derive from TorchDynamoException.
RECOMPILE_LIMIT_ERRORS = tuple(
    getattr(_dynamo_exc, name) for name in (
        'FailOnRecompileLimitHit', 'FailOnCacheLimitHit')
    if hasattr(_dynamo_exc, name))

HAS_CUSTOM_OP = hasattr(torch.library, 'custom_op')
HAS_SAFE_GLOBALS = hasattr(torch.serialization, 'add_safe_globals')

#: Whether the loss kernels are compiled on this torch. GHM's density pass
#: needs its bin counting as a custom op to compile as one graph; without
#: custom ops (before torch 2.4) the compiled kernels are not tried at all,
#: rather than each failing once with a warning.
COMPILES_KERNELS = HAS_CUSTOM_OP


def is_compiling() -> bool:
    """True while ``torch.compile`` traces the caller."""
    if hasattr(torch, 'compiler') and hasattr(torch.compiler,
                                               'is_compiling'):
        return torch.compiler.is_compiling()
    return torch._dynamo.is_compiling()


def recompile_limit() -> int:
    """The current value of Dynamo's per-function recompile limit."""
    return getattr(_dynamo_config, RECOMPILE_LIMIT)


def custom_op(name: str, fake):
    """Decorator: ``fn`` as the custom op ``name`` whose output is shaped
    by ``fake`` where torch has custom ops, else ``fn`` itself."""

    def wrap(fn):
        if not HAS_CUSTOM_OP:
            return fn
        op = torch.library.custom_op(name, mutates_args=())(fn)
        op.register_fake(fake)
        return op

    return wrap


_said_eager = False


def say_kernels_run_eagerly() -> None:
    """Logs once per process that this torch runs the kernels eagerly."""
    global _said_eager
    if _said_eager:
        return
    _said_eager = True
    logging.getLogger('imbalance_plugin').warning(
        'imbalance_plugin: torch %s has no torch.library.custom_op (torch '
        '2.4 and newer); the loss kernels run eagerly here (same values, '
        'slower).', torch.__version__)
