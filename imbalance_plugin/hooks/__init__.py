"""Registered hooks of the plugin; importing this package registers them."""
from .gradient_density_hook import GradientDensityHook  # noqa: F401
