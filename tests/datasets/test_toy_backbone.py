"""The digit-pretrained toy backbone: crops, pretraining, cache and the
registered ``imbalance_plugin.ToyPretrained`` initializer. The recipe is
shrunk to a few steps so these run in seconds."""
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from imbalance_plugin.datasets import toy_backbone
from imbalance_plugin.datasets.toy_crops import CROP, digit_crops

REPO = Path(__file__).resolve().parents[2]
TOY_RETINANET = REPO / 'configs' / 'toy' / 'retinanet_focal_toy.py'


@pytest.fixture
def tiny_recipe(monkeypatch):
    """A 3-step recipe on 16 crops; counts the pretrainings."""
    calls = []
    real = toy_backbone.pretrain

    def counted(backbone, **kwargs):
        calls.append(dict(kwargs, threads=torch.get_num_threads()))
        return real(backbone, steps=3, num_crops=16, batch_size=8,
                    seed=kwargs.get('seed', 0))

    monkeypatch.setattr(toy_backbone, 'pretrain', counted)
    return calls


def toy_model(cache_dir, seed=0):
    register_all_modules()
    cfg = Config.fromfile(str(TOY_RETINANET))
    cfg.model.backbone.init_cfg = dict(
        type='imbalance_plugin.ToyPretrained', cache_dir=str(cache_dir),
        seed=seed)
    return MODELS.build(cfg.model)


def test_crops_are_deterministic_labelled_digits():
    images, labels = digit_crops(30, seed=5)
    again, again_labels = digit_crops(30, seed=5)
    other, _ = digit_crops(30, seed=6)
    assert images.shape == (30, CROP, CROP, 3) and images.dtype == np.uint8
    assert labels.shape == (30, ) and labels.min() >= 0 and labels.max() <= 9
    assert np.array_equal(images, again) and np.array_equal(labels,
                                                            again_labels)
    assert not np.array_equal(images, other)
    # A digit is pasted in contrast to the clutter: the centre varies more
    # than a flat tile would.
    assert images[:, 16:48, 16:48].std() > 10


@pytest.mark.parametrize('kwargs, message', [
    (dict(num=0, seed=0), 'num must be an integer >= 1'),
    (dict(num=2, seed=0, split='test'), 'split must be one of'),
])
def test_crops_reject_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        digit_crops(**kwargs)


def test_pretraining_changes_weights_and_leaves_global_rng_alone():
    model = toy_model('/nonexistent')  # built, not initialised
    backbone = model.backbone
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    torch.manual_seed(123)
    state, summary = toy_backbone.pretrain(backbone, steps=2, num_crops=8,
                                           batch_size=4)
    after_pretraining = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(after_pretraining, torch.rand(3))
    # The module itself is untouched; the returned weights were trained.
    assert all(torch.equal(before[k], v)
               for k, v in backbone.state_dict().items())
    assert state.keys() == before.keys()
    assert all(state[k].shape == before[k].shape for k in state)
    conv = 'layer4.1.conv2.weight'
    assert not torch.equal(state[conv], before[conv])
    assert summary['steps'] == 2 and 0 <= summary['train_accuracy'] <= 1
    # Same seed, same weights.
    again, _ = toy_backbone.pretrain(backbone, steps=2, num_crops=8,
                                     batch_size=4)
    assert torch.equal(state[conv], again[conv])


@pytest.mark.parametrize('kwargs, message', [
    (dict(steps=0), 'steps must be an integer >= 1'),
    (dict(batch_size=2.5), 'batch_size must be an integer >= 1'),
    (dict(lr=0.0), r'lr must be a finite number in \(0, inf\)'),
])
def test_pretraining_rejects_bad_arguments(kwargs, message):
    backbone = toy_model('/nonexistent').backbone
    with pytest.raises(ValueError, match=message):
        toy_backbone.pretrain(backbone, **kwargs)


def test_initializer_loads_cached_weights_into_backbone_only(
        tmp_path, tiny_recipe):
    model = toy_model(tmp_path)
    head_before = model.bbox_head.retina_cls.weight.clone()
    model.init_weights()
    files = sorted(tmp_path.glob('toy-backbone-*.pth'))
    assert len(files) == 1 and len(tiny_recipe) == 1
    saved = torch.load(files[0], weights_only=True)['state_dict']
    loaded = model.backbone.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)
    # The head keeps its own init (normal, std 0.01, prior bias).
    assert not torch.equal(model.bbox_head.retina_cls.weight, head_before)
    assert model.bbox_head.retina_cls.weight.std() < 0.02

    # A second model reuses the cache; another seed trains anew.
    second = toy_model(tmp_path)
    second.init_weights()
    assert len(tiny_recipe) == 1
    assert all(torch.equal(saved[k], v)
               for k, v in second.backbone.state_dict().items())
    toy_model(tmp_path, seed=1).init_weights()
    assert len(tiny_recipe) == 2
    assert len(list(tmp_path.glob('toy-backbone-*.pth'))) == 2


def test_pretraining_uses_every_core_then_restores_the_threads(
        tmp_path, tiny_recipe):
    import os
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        toy_backbone.ensure_pretrained(toy_model(tmp_path).backbone, tmp_path)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert tiny_recipe[0]['threads'] == len(os.sched_getaffinity(0))


def test_cache_name_follows_the_architecture(tmp_path, tiny_recipe):
    model = toy_model(tmp_path)
    register_all_modules()
    wider = MODELS.build(dict(type='ResNet', depth=18, base_channels=8))
    assert (toy_backbone.architecture_tag(model.backbone)
            != toy_backbone.architecture_tag(wider))
    path = toy_backbone.ensure_pretrained(model.backbone, tmp_path)
    assert toy_backbone.architecture_tag(model.backbone) in path.name


def test_initializer_rejects_bad_seed():
    with pytest.raises(ValueError, match='seed must be an integer >= 0'):
        toy_backbone.ToyPretrained(seed=-1)


def test_scoped_initializer_resolves_without_imports():
    code = textwrap.dedent('''
        import sys
        from mmengine.registry import WEIGHT_INITIALIZERS, build_from_cfg
        assert 'imbalance_plugin' not in sys.modules
        init = build_from_cfg(dict(type='imbalance_plugin.ToyPretrained',
                                   seed=3), WEIGHT_INITIALIZERS)
        print(type(init).__module__, init.seed)
    ''')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [
        'imbalance_plugin.datasets.toy_backbone', '3']
