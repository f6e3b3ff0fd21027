"""PISARetinaHead's ISR-P with one classification-loss call (element-wise
losses) against the two-call path and mmdet 3.3.0's PISARetinaHead."""
import copy

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS

import imbalance_plugin.heads.pisa_retina_head as retina_module
from imbalance_plugin.registry import MODELS

from test_pisa_composition import (FOCAL_SIGMOID, FOCAL_SOFTMAX,
                                   GHMC_SIGMOID, GHMC_SOFTMAX)
from test_pisa_retina_head import (assert_same, head_cfg, losses_and_grads,
                                   random_inputs)

MMDET_FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                   loss_weight=1.5)
MMDET_CE_SOFTMAX = dict(type='CrossEntropyLoss', use_sigmoid=False,
                        loss_weight=1.5)
MMDET_CE_SIGMOID = dict(type='CrossEntropyLoss', use_sigmoid=True)


@pytest.fixture(autouse=True)
def _eager_losses(monkeypatch):
    monkeypatch.setenv('IMBALANCE_PLUGIN_COMPILE', '0')


def weighted_cfg(loss_cls, isr=True):
    # Positives weigh 0.7 before ISR-P (RetinaNet's train_cfg.pos_weight),
    # ignored anchors 0, negatives 1.
    cfg = head_cfg(loss_cls=loss_cls, isr=isr, carl=True)
    cfg['train_cfg']['pos_weight'] = 0.7
    return cfg


def build(cfg, seed):
    torch.manual_seed(seed)
    return MODELS.build(
        dict(type='imbalance_plugin.PISARetinaHead', **copy.deepcopy(cfg)))


def counted_losses_and_grads(head, inputs):
    """losses_and_grads, plus the number of calls of ``head.loss_cls``."""
    calls = []
    handle = head.loss_cls.register_forward_hook(
        lambda *args: calls.append(1))
    try:
        out = losses_and_grads(head, inputs)
    finally:
        handle.remove()
    return out, len(calls)


@pytest.mark.parametrize(
    'loss_cls', [MMDET_FOCAL, MMDET_CE_SOFTMAX, MMDET_CE_SIGMOID,
                 FOCAL_SIGMOID, FOCAL_SOFTMAX],
    ids=['mmdet-focal', 'mmdet-ce-softmax', 'mmdet-ce-sigmoid',
         'focal-sigmoid', 'focal-softmax'])
def test_one_call_equals_two_calls(loss_cls, monkeypatch):
    cfg = weighted_cfg(loss_cls)
    for seed in range(3):
        head = build(cfg, seed)
        inputs = random_inputs(seed, head)
        fused, calls = counted_losses_and_grads(head, inputs)
        assert calls == 1
        with monkeypatch.context() as patch:
            patch.setattr(retina_module, 'is_elementwise', lambda loss: False)
            two_calls, calls = counted_losses_and_grads(head, inputs)
        assert calls == 2
        assert_same(fused, two_calls)
        assert fused[0]['loss_cls'].shape == two_calls[0]['loss_cls'].shape


def test_one_call_matches_mmdet_with_label_weights():
    cfg = weighted_cfg(MMDET_FOCAL)
    for seed in range(3):
        torch.manual_seed(seed)
        theirs = MMDET_MODELS.build(dict(type='PISARetinaHead', **cfg))
        ours = build(cfg, seed)
        ours.load_state_dict(theirs.state_dict())
        inputs = random_inputs(seed, theirs)
        (got, calls) = counted_losses_and_grads(ours, inputs)
        assert calls == 1
        assert_same(got, losses_and_grads(theirs, inputs))
        # pos_weight reached the loss: ISR-P keeps the weighted total.
        without = build(weighted_cfg(MMDET_FOCAL, isr=False), seed)
        plain = losses_and_grads(without, inputs)
        torch.testing.assert_close(got[0]['loss_cls'], plain[0]['loss_cls'],
                                   rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('loss_cls', [GHMC_SIGMOID, GHMC_SOFTMAX],
                         ids=['ghmc-sigmoid', 'ghmc-softmax'])
def test_ghmc_takes_the_two_call_path_and_keeps_its_buffers(loss_cls):
    cfg = weighted_cfg(loss_cls)
    head = build(cfg, 0)
    without = build(weighted_cfg(loss_cls, isr=False), 0)
    inputs = random_inputs(0, head)
    _, calls = counted_losses_and_grads(head, inputs)
    assert calls == 2
    losses_and_grads(without, inputs)
    # The extra call on the positives left GHM-C's moving histogram as the
    # main call alone leaves it.
    assert head.loss_cls.acc_sum.sum() > 0
    torch.testing.assert_close(head.loss_cls.acc_sum,
                               without.loss_cls.acc_sum)
