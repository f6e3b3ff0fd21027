"""GradientDensityHook on hand-made models: the values it puts into a
message hub, its silence without GHM or PISA parts, and its arguments."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import HOOKS, init_default_scope
from torch import nn

from imbalance_plugin.heads.pisa_common import PISA_WEIGHTS_ATTRIBUTE
from imbalance_plugin.hooks.gradient_density_hook import (
    GradientDensityHook,
    log_tag,
)
from imbalance_plugin.losses import GHMC, GHMR


class Head(nn.Module):

    def __init__(self):
        super().__init__()
        self.loss_cls = GHMC(bins=4, momentum=0.75, compiled=False)
        self.loss_bbox = GHMR(bins=3, momentum=0.7, compiled=False)


class FakePISAHead(nn.Module):
    """Stands for a PISA head that exposes its last weights."""

    def __init__(self, weights):
        super().__init__()
        setattr(self, PISA_WEIGHTS_ATTRIBUTE, weights)


def _runner(model, iteration):
    hub = MessageHub(f'gradient-density-test-{id(model)}-{iteration}')
    return SimpleNamespace(model=model, message_hub=hub, iter=iteration)


def _scalars(hub):
    return {key: buffer.current() for key, buffer in hub.log_scalars.items()}


def test_ghm_density_and_weight_per_region():
    model = nn.Module()
    model.bbox_head = Head()
    model.bbox_head.loss_cls.acc_sum.copy_(torch.tensor([30., 0., 10., 20.]))
    model.bbox_head.loss_bbox.acc_sum.copy_(torch.tensor([1., 3., 0.]))
    runner = _runner(model, iteration=9)  # 10th iteration, interval 5
    GradientDensityHook(interval=5).after_train_iter(runner, 0)
    scalars = _scalars(runner.message_hub)

    cls_density = [30., 0., 10., 20.]
    # weight_k = sum(S) / (n * S_k), n = 3 non-empty regions; 0 when empty.
    cls_weight = [60 / (3 * 30), 0.0, 60 / (3 * 10), 60 / (3 * 20)]
    reg_density = [1., 3., 0.]
    reg_weight = [4 / (2 * 1), 4 / (2 * 3), 0.0]
    expected = {}
    for tag, density, weight in (('bbox_head.cls', cls_density, cls_weight),
                                 ('bbox_head.bbox', reg_density, reg_weight)):
        for k, (d, w) in enumerate(zip(density, weight)):
            expected[f'train/ghm/{tag}/density_{k:02d}'] = d
            expected[f'train/ghm/{tag}/weight_{k:02d}'] = w
    assert scalars.keys() == expected.keys()
    for key, value in expected.items():
        assert math.isclose(scalars[key], value, rel_tol=1e-6), key
    info = runner.message_hub.get_info('ghm/bbox_head.cls/weight')
    assert info == pytest.approx(cls_weight)
    assert runner.message_hub.get_info(
        'ghm/bbox_head.bbox/density') == pytest.approx(reg_density)


def test_pisa_weight_statistics_ignore_nan():
    nan = float('nan')
    model = nn.Module()
    model.bbox_head = FakePISAHead(
        dict(isr_p=torch.tensor([nan, 0.5, 2.0, nan, 1.5]),
             carl=torch.tensor([[0.2, 0.4], [0.9, 1.0]]),
             isr_n=torch.tensor([nan, nan]),  # no element: not logged
             other=torch.ones(3)))
    runner = _runner(model, iteration=0)
    GradientDensityHook(interval=1).after_train_iter(runner, 0)
    scalars = _scalars(runner.message_hub)
    expected = {
        'train/pisa/bbox_head/isr_p_mean': 4.0 / 3,
        'train/pisa/bbox_head/isr_p_min': 0.5,
        'train/pisa/bbox_head/isr_p_max': 2.0,
        'train/pisa/bbox_head/carl_mean': 2.5 / 4,
        'train/pisa/bbox_head/carl_min': 0.2,
        'train/pisa/bbox_head/carl_max': 1.0,
    }
    assert scalars.keys() == expected.keys()
    for key, value in expected.items():
        assert math.isclose(scalars[key], value, rel_tol=1e-6), key


def test_logs_only_every_interval_iterations():
    model = nn.Module()
    model.bbox_head = Head()
    hook = GradientDensityHook(interval=3)
    for iteration, logs in ((0, False), (1, False), (2, True), (5, True)):
        runner = _runner(model, iteration)
        hook.after_train_iter(runner, iteration)
        assert bool(runner.message_hub.log_scalars) == logs


def test_wrapped_model_is_unwrapped():
    from mmengine.model.wrappers.utils import is_model_wrapper

    class Wrapper(nn.Module):

        def __init__(self, module):
            super().__init__()
            self.module = module

    model = nn.Module()
    model.bbox_head = Head()
    from mmengine.registry import MODEL_WRAPPERS
    name = 'GradientDensityTestWrapper'
    if name not in MODEL_WRAPPERS.module_dict:
        MODEL_WRAPPERS.register_module(name=name, module=Wrapper)
    wrapper = Wrapper(model)
    assert is_model_wrapper(wrapper)
    runner = _runner(wrapper, 0)
    GradientDensityHook(interval=1).after_train_iter(runner, 0)
    scalars = runner.message_hub.log_scalars
    assert 'train/ghm/bbox_head.cls/density_00' in scalars


def test_nothing_logged_without_ghm_or_pisa_parts():
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    # A RetinaNet head with mmdet's own Focal Loss and L1: no GHM, no PISA.
    head = MODELS.build(
        dict(type='RetinaHead', num_classes=3, in_channels=8,
             feat_channels=8, stacked_convs=1,
             anchor_generator=dict(type='AnchorGenerator',
                                   octave_base_scale=4, scales_per_octave=1,
                                   ratios=[1.0], strides=[8]),
             bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
             loss_cls=dict(type='FocalLoss', use_sigmoid=True),
             loss_bbox=dict(type='L1Loss'), init_cfg=None))
    runner = _runner(head, 0)
    GradientDensityHook(interval=1).after_train_iter(runner, 0)
    assert not runner.message_hub.log_scalars
    assert not runner.message_hub.runtime_info


def test_keys_carry_no_loss():
    # MMEngine's log processor averages keys matching 'loss' over a window.
    assert log_tag('bbox_head.loss_cls') == 'bbox_head.cls'
    assert log_tag('roi_head.bbox_head.loss_bbox') == 'roi_head.bbox_head.bbox'
    assert log_tag('') == 'model'


def test_built_from_config_and_rejects_bad_interval():
    init_default_scope('mmdet')
    hook = HOOKS.build(
        dict(type='imbalance_plugin.GradientDensityHook', interval=7))
    assert isinstance(hook, GradientDensityHook) and hook.interval == 7
    for bad in (0, -1, 2.5, True, '5'):
        with pytest.raises(ValueError, match=r'^GradientDensityHook\.interval '
                           rf'must be an integer >= 1, got {bad!r}$'):
            GradientDensityHook(interval=bad)


@pytest.mark.parametrize('name', ['intervall', 'by_epoch', 'log_interval'])
def test_unknown_argument_raises_at_build(name):
    init_default_scope('mmdet')
    with pytest.raises(TypeError, match=name):
        HOOKS.build(dict(type='imbalance_plugin.GradientDensityHook',
                         interval=7, **{name: 1}))
