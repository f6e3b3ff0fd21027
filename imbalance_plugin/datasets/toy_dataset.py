"""The embedded toy dataset as an mmdet dataset that builds itself."""
from mmdet.datasets import CocoDataset

from ..registry import DATASETS
from .toy_generator import CLASSES, SPLITS, ToySpec, ensure_toy_dataset


@DATASETS.register_module()
class ToyDetDataset(CocoDataset):
    """COCO-format toy digits (see :mod:`.toy_generator`), generated into
    the cache folder on first use so that any config runs on a fresh clone.

    Use as ``type='imbalance_plugin.ToyDetDataset'``.

    Args:
        split (str): ``'train'`` or ``'val'``.
        data_root (str, optional): Cache folder; default
            ``$IMBALANCE_PLUGIN_DATA`` or ``<repo>/data/toy``.  The split
            lives in a sub-folder named after the generator spec.
        seed (int): Seed of the generator.
        num_train (int): Number of training images to generate.
        num_val (int): Number of validation images to generate.
        **kwargs: Passed to :class:`mmdet.datasets.CocoDataset` (pipeline,
            test_mode, filter_cfg, ...); ``ann_file`` and ``data_prefix`` are
            set from ``split``.
    """

    METAINFO = dict(
        classes=CLASSES,
        palette=[(220, 20, 60), (0, 130, 230), (250, 170, 30), (0, 170, 90),
                 (160, 50, 220)])

    def __init__(self, split='train', data_root=None, seed=0,
                 num_train=ToySpec.num_train, num_val=ToySpec.num_val,
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        for key in ('ann_file', 'data_prefix'):
            if key in kwargs:
                raise ValueError(
                    f'{key} is set by ToyDetDataset from split; choose the '
                    f"split with split='train' or split='val'")
        self.split = split
        self.spec = ToySpec(seed=seed, num_train=num_train, num_val=num_val)
        root = ensure_toy_dataset(data_root, self.spec)
        super().__init__(
            data_root=str(root),
            ann_file=f'annotations/{split}.json',
            data_prefix=dict(img=f'{split}/'),
            **kwargs)
