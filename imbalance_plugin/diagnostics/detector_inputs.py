"""The detector and the images the gradient-density analysis runs on, built
from an MMDetection config as the stock tools build them."""
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader, Subset

SPLITS = ('train', 'val', 'test')


def build_detector(cfg: Config, checkpoint: Optional[str] = None,
                   seed: int = 0):
    """The config's model with the checkpoint's weights, or with its initial
    weights (``init_weights`` after seeding) when ``checkpoint`` is None.

    Checkpoints load through MMEngine with ``weights_only=True`` (see
    :mod:`imbalance_plugin.utils.checkpoint`). A COCO config's backbone
    downloads its ImageNet weights unless its ``init_cfg`` is set to None;
    the toy configs' backbone is pretrained locally (``ToyPretrained``).
    """
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint

    import imbalance_plugin  # noqa: F401  (allow-lists MMEngine classes)

    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        model.init_weights()
    else:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model


def first_images(cfg: Config, num_images: int, batch_size: int,
                 split: str = 'train') -> DataLoader:
    """Batches of the first ``num_images`` images of the config's
    ``<split>_dataloader`` dataset, in order, through its pipeline."""
    from mmdet.registry import DATASETS

    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    subset = Subset(dataset, range(min(num_images, len(dataset))))
    return DataLoader(subset, batch_size=batch_size, shuffle=False,
                      num_workers=0, collate_fn=pseudo_collate)
