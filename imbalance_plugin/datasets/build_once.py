"""Build a cache entry once, even when several processes ask at once.

The toy dataset (a folder) and the toy backbone's weights (a file) are built
on first use by whichever process needs them first, e.g. each rank of a
distributed run or each run of ``tools/ablate.py --jobs``. One process builds
under an advisory lock into a temporary name beside the entry and renames it
into place; the others wait on the lock, then find the entry. Where the OS
has no ``flock`` the atomic rename alone keeps the entry whole.
"""
import contextlib
import os
import shutil
import uuid
from pathlib import Path


@contextlib.contextmanager
def _locked(path):
    """Exclusive advisory lock on ``path`` where the OS offers one."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(path, build, done=None):
    """Returns ``path``, first calling ``build(tmp)`` and renaming ``tmp`` to
    ``path`` unless ``done(path)`` (default: ``path`` exists).

    Args:
        path (Path): the cache entry, a file or a folder.
        build (callable): writes the entry at the path it is given.
        done (callable, optional): whether an entry at ``path`` is complete.
    """
    path = Path(path)
    done = done or Path.exists
    if done(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.parent / f'.{path.name}.lock'):
        if done(path):
            return path
        tmp = path.with_name(
            f'.{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex}')
        try:
            build(tmp)
            try:
                os.rename(tmp, path)
            except OSError:
                # Without a lock another process may have won the race.
                if not done(path):
                    raise
        finally:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists():
                tmp.unlink()
    return path
