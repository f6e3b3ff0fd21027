"""Safe loading of MMEngine checkpoints under torch >= 2.6.

torch now loads with ``weights_only=True`` by default, and MMEngine 0.10.7
stores a few non-tensor objects in its checkpoints (the message hub's
``HistoryBuffer`` with numpy arrays inside), so ``--resume`` fails. Instead of
turning ``weights_only`` off (which lets a checkpoint run arbitrary code), the
classes MMEngine writes are added to torch's allow-list, and local checkpoints
are loaded with ``weights_only=True`` spelled out, so that anything else is
refused with an error that names the file and the offending global.

Importing this module applies both; ``imbalance_plugin`` imports it. Torch
without ``add_safe_globals`` (before 2.4) has no allow-list to extend, and
its ``torch.load`` defaults to ``weights_only=False`` (as every torch before
2.6 does), so MMEngine's own loading is left as it is there.
"""
import os.path as osp
import pickle

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from .torch_compat import HAS_SAFE_GLOBALS


class CheckpointRefusedError(RuntimeError):
    """A checkpoint holds an object outside the allow-list."""


def _numpy_globals():
    """The numpy callables and dtype classes that pickled arrays and scalars
    (the history buffers' float and integer arrays) refer to."""
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int32, np.int64, np.float32, np.float64)]
    return [_reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes]


def _history_buffer_statistic(owner, name):
    """Stands in for ``builtins.getattr`` while unpickling.

    MMEngine pickles the message hub's statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; a general ``getattr`` would let a
    checkpoint reach any attribute (``ndarray.tofile`` writes files), so only
    those lookups are answered.
    """
    if owner is HistoryBuffer and name in ('min', 'max', 'current', 'mean'):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint; only '
        'HistoryBuffer statistics methods are')


#: Everything MMEngine 0.10.7 puts in a checkpoint besides tensors, containers
#: and plain Python values.
MMENGINE_CHECKPOINT_GLOBALS = [
    HistoryBuffer, *_numpy_globals(),
    (_history_buffer_statistic, 'builtins.getattr'),
]


def allow_mmengine_checkpoints():
    """Adds exactly :data:`MMENGINE_CHECKPOINT_GLOBALS` to torch's
    allow-list."""
    torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_GLOBALS)


def load_local_checkpoint(filename, map_location=None):
    """Loads a local checkpoint with ``weights_only=True`` (on torch without
    an allow-list, before 2.4, as that torch loads by default).

    Raises:
        FileNotFoundError: ``filename`` does not exist.
        CheckpointRefusedError: the file holds an object that is not a tensor,
            a plain Python value or one of the allow-listed MMEngine classes.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=HAS_SAFE_GLOBALS)
    except pickle.UnpicklingError as error:
        raise CheckpointRefusedError(
            f'refusing to load checkpoint {filename}: it holds an object '
            'outside the allow-list of tensors, plain values and the classes '
            'MMEngine stores, and loading it could run code '
            f'({_offending_global(error)}).') from error


def _offending_global(error):
    """The line of torch's long refusal message that names the object."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if any(key in line for key in ('GLOBAL', 'global', 'but got')):
            return line.replace('WeightsUnpickler error: ', '')
    return lines[-1] if lines else 'no detail given'


if HAS_SAFE_GLOBALS:
    allow_mmengine_checkpoints()
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_local_checkpoint)
