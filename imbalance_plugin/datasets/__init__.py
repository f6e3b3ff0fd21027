"""The embedded toy dataset and its pretrained backbone."""
from .toy_backbone import ToyPretrained, ensure_pretrained
from .toy_dataset import ToyDetDataset
from .toy_generator import ToySpec, ensure_toy_dataset

__all__ = ['ToyDetDataset', 'ToySpec', 'ToyPretrained', 'ensure_pretrained',
           'ensure_toy_dataset']
