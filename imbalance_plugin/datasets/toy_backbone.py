"""Pretrained toy backbone for the toy detectors' ``init_cfg``.

Configs use it as
``init_cfg=dict(type='imbalance_plugin.ToyPretrained')``.

The papers measure Focal Loss, GHM and PISA with an ImageNet-pretrained
backbone; from random weights the toy detectors barely learn with some of
them (GHM-C + GHM-R: 2.1 AP after 750 iterations from random weights, 22.8
from these weights; see docs/experiments.md). The toy's analogue of
ImageNet pretraining is digit classification: the backbone, with global
average pooling and a linear layer, learns the ten digits on the crops of
:mod:`.toy_crops` (cross-entropy, AdamW, cosine learning rate after a
linear warm-up).

The weights are trained once per machine and cached beside the toy dataset
(:func:`toy_generator.default_cache_dir`), under a name that holds the
backbone's architecture (its parameter names and shapes), the recipe's
version and the seed, so a change of either trains anew. Training runs in
a forked RNG state: it does not change the random stream of the detector's
own training.
"""
import copy
import hashlib
import os
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model.weight_init import BaseInit, update_init_info
from torch import nn

from ..registry import WEIGHT_INITIALIZERS
from ..utils.settings import check_int, check_number
from . import toy_generator as tg
from .build_once import build_once
from .toy_crops import digit_crops

#: Version of the pretraining recipe below; part of the cache file's name.
RECIPE_VERSION = 1
#: The recipe: crops rendered, optimiser steps, batch size, peak lr.
NUM_CROPS = 8000
STEPS = 800
BATCH_SIZE = 64
LR = 2e-3
WARMUP = 0.05
#: Normalisation of mmdet's detectors (ImageNet mean and std, RGB), which
#: the toy configs inherit: the crops are fed as the detector feeds images.
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def _normalised(images):
    """(N, 64, 64, 3) uint8 BGR -> (N, 3, 64, 64) float32 normalised RGB."""
    rgb = images[..., ::-1].astype(np.float32)
    return torch.from_numpy(
        np.ascontiguousarray(((rgb - MEAN) / STD).transpose(0, 3, 1, 2)))


class _Classifier(nn.Module):
    """Backbone, global average pooling of its last output, linear layer."""

    def __init__(self, backbone, num_classes=10):
        super().__init__()
        self.backbone = backbone
        with torch.no_grad():
            channels = backbone(torch.zeros(1, 3, 64, 64))[-1].size(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        feature = self.backbone(x)[-1]
        return self.fc(F.adaptive_avg_pool2d(feature, 1).flatten(1))


def architecture_tag(backbone):
    """Short hash of ``backbone``'s class and state-dict names and shapes."""
    text = type(backbone).__name__ + ';'.join(
        f'{name}:{tuple(value.shape)}'
        for name, value in backbone.state_dict().items())
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def pretrain(backbone, steps=STEPS, num_crops=NUM_CROPS,
             batch_size=BATCH_SIZE, lr=LR, seed=0):
    """Trains a copy of ``backbone`` (re-initialised from ``seed``) on digit
    classification and returns its state dict and a summary.

    Args:
        backbone (nn.Module): maps (N, 3, H, W) images to a sequence of
            feature maps, the last one pooled for the classifier.
        steps, num_crops, batch_size (int): optimiser steps, crops rendered
            (sampled with replacement), crops per step; each >= 1.
        lr (float): peak learning rate of AdamW (weight decay 0.05), > 0.
        seed (int): seed of the crops, the initial weights and the batches.

    Returns:
        tuple: the trained backbone's ``state_dict`` and a dict with
        ``steps``, ``seconds`` and ``train_accuracy`` (on the batches of the
        last ~1000 crops seen, before each step's update).
    """
    for name, value in (('steps', steps), ('num_crops', num_crops),
                        ('batch_size', batch_size)):
        check_int(value, name)
    check_number(lr, 'lr', low=0, low_open=True)
    start = time.time()
    images, labels = digit_crops(num_crops, seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _Classifier(copy.deepcopy(backbone).cpu())
        for module in model.modules():
            if hasattr(module, 'reset_parameters'):
                module.reset_parameters()
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr,
                                      weight_decay=0.05)
        warmup = max(1, int(WARMUP * steps))
        rng = np.random.default_rng(seed)
        tail = max(1, 1000 // batch_size)  # steps of the accuracy
        correct = seen = 0
        for step in range(steps):
            factor = min(1.0, (step + 1) / warmup) * 0.5 * (
                1 + np.cos(np.pi * step / steps))
            for group in optimizer.param_groups:
                group['lr'] = lr * factor
            batch = rng.integers(0, num_crops, size=batch_size)
            target = torch.from_numpy(labels[batch])
            logits = model(_normalised(images[batch]))
            loss = F.cross_entropy(logits, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step >= steps - tail:
                correct += int((logits.argmax(1) == target).sum())
                seen += batch_size
    summary = dict(steps=steps, seconds=round(time.time() - start, 1),
                   train_accuracy=round(correct / max(seen, 1), 4))
    return model.backbone.state_dict(), summary


@contextmanager
def _all_cores():
    """Every core this process may use for torch's intra-op threads, for the
    duration. Others asking for the same weights wait on the lock, so their
    cores are idle (e.g. ``tools/ablate.py --jobs 2`` gives each run one
    thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(max(threads, len(os.sched_getaffinity(0))))
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def ensure_pretrained(backbone, cache_dir=None, seed=0):
    """Path of the pretrained weights for ``backbone``'s architecture,
    training and caching them first if they are not in ``cache_dir``
    (default :func:`toy_generator.default_cache_dir`). Several processes may
    ask at once: one trains, the others then read its file
    (:func:`~imbalance_plugin.datasets.build_once.build_once`)."""
    cache_dir = Path(cache_dir) if cache_dir else tg.default_cache_dir()
    path = cache_dir / (f'toy-backbone-v{RECIPE_VERSION}-'
                        f'g{tg.GENERATOR_VERSION}-'
                        f'{architecture_tag(backbone)}-seed{seed}.pth')

    def build(tmp):
        print_log(f'Pretraining the toy backbone on digit crops into {path} '
                  '(once per machine, a few minutes on 2 cores)...',
                  logger='current')
        with _all_cores():
            state, summary = pretrain(backbone, seed=seed)
        print_log(f'Toy backbone pretrained: {summary}', logger='current')
        torch.save(dict(state_dict=state, meta=summary), tmp)

    return build_once(path, build)


@WEIGHT_INITIALIZERS.register_module()
class ToyPretrained(BaseInit):
    """Loads the digit-pretrained weights into the module it initialises
    (the toy configs' backbone), pretraining them first if needed.

    Args:
        seed (int): seed of the pretraining, >= 0.
        cache_dir (str, optional): where the weights are cached; default the
            toy dataset's cache folder.
    """

    def __init__(self, seed=0, cache_dir=None):
        super().__init__()
        self.seed = check_int(seed, 'seed', low=0)
        self.cache_dir = cache_dir

    def __call__(self, module):
        path = ensure_pretrained(module, self.cache_dir, self.seed)
        state = torch.load(path, map_location='cpu', weights_only=True)
        module.load_state_dict(state['state_dict'], strict=True)
        self.path = path
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self):
        return f'{self.__class__.__name__}: {getattr(self, "path", "")}'
