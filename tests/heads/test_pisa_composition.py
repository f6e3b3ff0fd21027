"""PISA heads with the plugin's losses: imbalance_plugin.FocalLoss, GHMC
(sigmoid and softmax) for classification, GHMR for regression."""
import copy

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS

from imbalance_plugin.registry import MODELS
from test_pisa_retina_head import head_cfg as retina_cfg
from test_pisa_retina_head import losses_and_grads as retina_losses
from test_pisa_retina_head import random_inputs as retina_inputs
from test_pisa_roi_head import build, compare
from test_pisa_roi_head import head_cfg as roi_cfg
from test_pisa_roi_head import losses_and_grads as roi_losses
from test_pisa_roi_head import random_inputs as roi_inputs

FOCAL_SIGMOID = dict(type='imbalance_plugin.FocalLoss', use_sigmoid=True,
                     gamma=2.0, alpha=0.25)
FOCAL_SOFTMAX = dict(type='imbalance_plugin.FocalLoss', use_sigmoid=False,
                     gamma=2.0, alpha=0.25)
GHMC_SIGMOID = dict(type='imbalance_plugin.GHMC', bins=30, momentum=0.75,
                    use_sigmoid=True)
GHMC_SOFTMAX = dict(type='imbalance_plugin.GHMC', bins=30, momentum=0.75,
                    use_sigmoid=False)
GHMR = dict(type='imbalance_plugin.GHMR', mu=0.02, bins=10, momentum=0.7)


@pytest.fixture(autouse=True)
def _eager_losses(monkeypatch):
    monkeypatch.setenv('IMBALANCE_PLUGIN_COMPILE', '0')


def build_retina(**kw):
    return MODELS.build(
        dict(type='imbalance_plugin.PISARetinaHead', **retina_cfg(**kw)))


def test_retina_with_plugin_focal_matches_mmdet():
    for seed in range(3):
        cfg = retina_cfg(loss_cls=FOCAL_SIGMOID)
        torch.manual_seed(seed)
        theirs = MMDET_MODELS.build(dict(type='PISARetinaHead', **cfg))
        ours = MODELS.build(dict(type='imbalance_plugin.PISARetinaHead',
                                 **copy.deepcopy(cfg)))
        ours.load_state_dict(theirs.state_dict())
        inputs = retina_inputs(seed, theirs)
        got, expected = retina_losses(ours, inputs), retina_losses(
            theirs, inputs)
        for key in expected[0]:
            torch.testing.assert_close(got[0][key], expected[0][key],
                                       rtol=1e-5, atol=1e-7)
        for a, b in zip(got[1] + got[2], expected[1] + expected[2]):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    'loss_cls', [FOCAL_SIGMOID, FOCAL_SOFTMAX, GHMC_SIGMOID, GHMC_SOFTMAX],
    ids=['focal-sigmoid', 'focal-softmax', 'ghmc-sigmoid', 'ghmc-softmax'])
def test_retina_isr_p_keeps_plugin_classification_loss(loss_cls):
    # ISR-P renormalises with the head's own loss: the total classification
    # loss is unchanged. For GHM-C this also shows that ISR-P's extra loss
    # call leaves GHM's moving histogram alone (else the main loss would see
    # another density).
    for seed in range(2):
        torch.manual_seed(seed)
        with_isr = build_retina(loss_cls=loss_cls, carl=False)
        torch.manual_seed(seed)
        without = build_retina(loss_cls=loss_cls, isr=False, carl=False)
        inputs = retina_inputs(seed, with_isr)
        a, a_grad, _ = retina_losses(with_isr, inputs)
        b, b_grad, _ = retina_losses(without, inputs)
        # GHM-C's per-sample weights depend on the batch it sees (positives
        # alone in the renormalising call), so there the sum is kept only
        # approximately.
        rtol = 1e-2 if loss_cls['type'].endswith('GHMC') else 1e-5
        torch.testing.assert_close(a['loss_cls'], b['loss_cls'], rtol=rtol,
                                   atol=1e-7)
        assert not torch.allclose(a_grad[0], b_grad[0])
        for buf_a, buf_b in zip(with_isr.loss_cls.buffers(),
                                without.loss_cls.buffers()):
            torch.testing.assert_close(buf_a, buf_b)


@pytest.mark.parametrize('loss_cls', [FOCAL_SOFTMAX, GHMC_SIGMOID],
                         ids=['focal-softmax', 'ghmc-sigmoid'])
def test_retina_carl_with_ghmr(loss_cls):
    torch.manual_seed(0)
    head = build_retina(loss_cls=loss_cls, loss_bbox=GHMR)
    torch.manual_seed(0)
    no_carl = build_retina(loss_cls=loss_cls, loss_bbox=GHMR, carl=False)
    inputs = retina_inputs(0, head)
    losses, cls_grads, reg_grads = retina_losses(head, inputs)
    reference, _, _ = retina_losses(no_carl, inputs)
    assert torch.isfinite(losses['loss_carl']).all()
    assert losses['loss_carl'].item() > 0
    torch.testing.assert_close(losses['loss_bbox'], reference['loss_bbox'])
    # CARL's extra GHM-R call does not advance GHM-R's moving histogram.
    torch.testing.assert_close(head.loss_bbox.acc_sum,
                               no_carl.loss_bbox.acc_sum)
    assert head.loss_bbox.acc_sum.sum() > 0
    assert all(torch.isfinite(g).all() for g in cls_grads + reg_grads)


def test_roi_head_with_plugin_softmax_focal_matches_mmdet(
        mmdet_score_hlr_keys):
    compare(2, 'ours', 'mmdet', mmdet_score_hlr_keys,
            loss_cls=FOCAL_SOFTMAX)


@pytest.mark.parametrize('loss_cls', [GHMC_SOFTMAX, GHMC_SIGMOID,
                                      FOCAL_SIGMOID],
                         ids=['ghmc-softmax', 'ghmc-sigmoid',
                              'focal-sigmoid'])
def test_roi_head_all_parts_with_plugin_losses(loss_cls):
    torch.manual_seed(0)
    head = build(MODELS, 'imbalance_plugin.PISARoIHead',
                 roi_cfg('ours', loss_cls=loss_cls, loss_bbox=GHMR))
    before = [b.clone() for b in head.bbox_head.loss_cls.buffers()]
    losses, grads = roi_losses(head, roi_inputs(0), 0)
    assert {'loss_cls', 'loss_bbox', 'loss_carl'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert all(torch.isfinite(g).all() for g in grads)
    # The sampler's and ISR-P's extra classification-loss calls leave the
    # state as one training call leaves it: compare with the main call alone.
    torch.manual_seed(0)
    plain = build(MODELS, 'imbalance_plugin.PISARoIHead',
                  roi_cfg('random', isr=False, carl=False, loss_cls=loss_cls,
                          loss_bbox=GHMR))
    roi_losses(plain, roi_inputs(0), 0)
    for buf, start in zip(head.bbox_head.loss_cls.buffers(), before):
        assert not torch.equal(buf, start)
    assert len(before) == len(list(plain.bbox_head.loss_cls.buffers()))
