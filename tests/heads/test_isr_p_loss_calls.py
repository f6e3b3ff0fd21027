"""PISARetinaHead's ISR-P renormalises with the head's own loss_cls, called
once more on the positives: with label weights (RetinaNet's pos_weight)
against mmdet 3.3.0's PISARetinaHead, and with a stateful loss (GHM-C)
whose moving histogram that extra call must leave alone."""
import copy

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS

from imbalance_plugin.registry import MODELS
from test_pisa_composition import (
    FOCAL_SIGMOID,
    FOCAL_SOFTMAX,
    GHMC_SIGMOID,
    GHMC_SOFTMAX,
)
from test_pisa_retina_head import (
    assert_same,
    head_cfg,
    losses_and_grads,
    random_inputs,
)

MMDET_FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
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


@pytest.mark.parametrize('loss_cls', [MMDET_FOCAL, MMDET_CE_SIGMOID],
                         ids=['mmdet-focal', 'mmdet-ce-sigmoid'])
def test_matches_mmdet_with_label_weights(loss_cls):
    cfg = weighted_cfg(loss_cls)
    for seed in range(3):
        torch.manual_seed(seed)
        theirs = MMDET_MODELS.build(dict(type='PISARetinaHead', **cfg))
        ours = build(cfg, seed)
        ours.load_state_dict(theirs.state_dict())
        inputs = random_inputs(seed, theirs)
        got, calls = counted_losses_and_grads(ours, inputs)
        assert calls == 2
        assert_same(got, losses_and_grads(theirs, inputs))


@pytest.mark.parametrize('loss_cls', [MMDET_FOCAL, FOCAL_SIGMOID,
                                      FOCAL_SOFTMAX],
                         ids=['mmdet-focal', 'focal-sigmoid',
                              'focal-softmax'])
def test_isr_p_keeps_the_weighted_classification_loss(loss_cls):
    # ISR-P moves weight between positives: with pos_weight 0.7, the
    # classification loss equals the one without ISR-P.
    for seed in range(2):
        head = build(weighted_cfg(loss_cls), seed)
        inputs = random_inputs(seed, head)
        with_isr = losses_and_grads(head, inputs)
        without = losses_and_grads(
            build(weighted_cfg(loss_cls, isr=False), seed), inputs)
        torch.testing.assert_close(with_isr[0]['loss_cls'],
                                   without[0]['loss_cls'], rtol=1e-5,
                                   atol=1e-7)
        assert not torch.allclose(with_isr[1][0], without[1][0])


@pytest.mark.parametrize('loss_cls', [GHMC_SIGMOID, GHMC_SOFTMAX],
                         ids=['ghmc-sigmoid', 'ghmc-softmax'])
def test_extra_call_keeps_ghmc_buffers(loss_cls):
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
