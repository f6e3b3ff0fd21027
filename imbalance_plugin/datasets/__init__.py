"""The embedded toy dataset."""
from .toy_dataset import ToyDetDataset
from .toy_generator import ToySpec, ensure_toy_dataset

__all__ = ['ToyDetDataset', 'ToySpec', 'ensure_toy_dataset']
