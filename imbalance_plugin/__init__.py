"""imbalance_plugin: class-imbalance methods for MMDetection 3.x."""

# Lets MMEngine resume from its own checkpoints under torch >= 2.6 while
# keeping weights_only=True (see imbalance_plugin/utils/checkpoint.py).
from .utils import checkpoint as _checkpoint  # noqa: E402,F401
