"""The PISA step every PISA head takes: its settings (train_cfg.isr /
train_cfg.carl), ISR-P, CARL and the weights it logs."""
from dataclasses import FrozenInstanceError, replace
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.losses import CrossEntropyLoss, FocalLoss, SmoothL1Loss
from mmdet.models.losses import carl_loss as mmdet_carl_loss
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmengine.config import ConfigDict

from imbalance_plugin.heads.pisa_common import (
    PISA_WEIGHTS_ATTRIBUTE,
    CARLMap,
    ISRMap,
    PISASettings,
    PowerMap,
    carl,
    isr_p,
    log_pisa_weights,
)
from imbalance_plugin.structures.sample_batch import SampleBatch
from tests.functional.test_pisa import SEEDS, mmdet_weights, random_batch

ISR = dict(k=2., bias=0.1)
CARL = dict(k=1., bias=0.2)
ISR_MAP = ISRMap(**ISR)
CARL_MAP = CARLMap(**CARL)


def test_defaults_fill_what_is_left_out():
    settings = PISASettings.from_train_cfg(
        ConfigDict(isr=dict(k=1.), carl=dict()))
    assert settings == PISASettings(isr=ISRMap(k=1.), carl=CARLMap())
    # The paper's and mmdet's isr_p / carl_loss defaults.
    assert (ISRMap().k, ISRMap().bias) == (2., 0.)
    assert (CARLMap().k, CARLMap().bias) == (1., 0.2)


@pytest.mark.parametrize('train_cfg', [None, {}, dict(isr=None, carl=None),
                                       dict(assigner=dict())])
def test_parts_left_out_are_off(train_cfg):
    assert PISASettings.from_train_cfg(train_cfg) == PISASettings(
        isr=None, carl=None)


def test_settings_are_frozen_and_not_shared_between_reads():
    a = PISASettings.from_train_cfg(dict(isr=dict()))
    with pytest.raises(FrozenInstanceError):
        a.isr.k = 5.
    assert PISASettings.from_train_cfg(dict(isr=dict())).isr.k == 2.


def test_unknown_key_is_named_with_the_head_and_the_accepted_keys():
    with pytest.raises(ValueError) as error:
        PISASettings.from_train_cfg(dict(isr=dict(kk=1., bais=0.)),
                                    'PISASomeHead.train_cfg')
    message = str(error.value)
    assert message.startswith('PISASomeHead.train_cfg.isr.bais ')
    assert "accepts ['k', 'bias']" in message


@pytest.mark.parametrize('part,key,value,allowed', [
    ('isr', 'k', -1., r'a finite number in \[0, inf\)'),
    ('isr', 'k', float('inf'), r'a finite number in \[0, inf\)'),
    ('carl', 'bias', 1., r'a finite number in \[0, 1\)'),
    ('carl', 'k', 'one', r'a finite number in \[0, inf\)'),
    ('isr', 'bias', True, r'a finite number in \[0, 1\)'),
])
def test_values_out_of_range(part, key, value, allowed):
    with pytest.raises(ValueError, match=rf'^Head\.train_cfg\.{part}\.{key} '
                       rf'must be {allowed}, got {value!r}$'):
        PISASettings.from_train_cfg({part: {key: value}}, 'Head.train_cfg')


def test_a_part_must_be_a_dict():
    with pytest.raises(ValueError, match=r'^train_cfg\.carl must be a dict'):
        PISASettings.from_train_cfg(dict(carl=True))


@pytest.mark.parametrize('k,bias,name', [(-1., 0., 'k'), (1., 1., 'bias'),
                                          (1., -0.1, 'bias'),
                                          (float('nan'), 0., 'k')])
def test_power_map_refuses_values_out_of_range(k, bias, name):
    with pytest.raises(ValueError, match=rf'^{name} must be a finite number'):
        PowerMap(k, bias)


def sample_batch(seed, **kwargs):
    """A SampleBatch of tests.functional.test_pisa.random_batch, and the
    batch itself."""
    raw = random_batch(seed, **kwargs)
    batch = SampleBatch(
        cls_score=raw['cls_score'],
        bbox_pred=raw['bbox_pred'],
        priors=raw['rois'][:, -4:],
        labels=raw['labels'],
        label_weights=raw['label_weights'],
        bbox_targets=raw['bbox_targets'],
        bbox_weights=raw['bbox_weights'],
        avg_factor=raw['labels'].numel(),
        sampling_results=raw['sampling_results'],
        num_classes=raw['num_classes'])
    return batch, raw


def bbox_head(sigmoid):
    """What the step reads of an mmdet BBoxHead."""
    return SimpleNamespace(
        loss_cls=FocalLoss(use_sigmoid=True) if sigmoid else
        CrossEntropyLoss(),
        loss_bbox=SmoothL1Loss(beta=1.),
        bbox_coder=DeltaXYWHBBoxCoder(target_stds=[0.1, 0.1, 0.2, 0.2]),
        reg_decoded_bbox=False)


@pytest.mark.parametrize('sigmoid', [True, False])
@pytest.mark.parametrize('class_specific', [True, False])
def test_isr_p_matches_mmdet(sigmoid, class_specific):
    head = bbox_head(sigmoid)
    for seed in SEEDS[:4]:
        batch, raw = sample_batch(seed, sigmoid=sigmoid,
                                  class_specific=class_specific)
        label_weights, logged = isr_p(batch, head, ISR_MAP)
        expected = mmdet_weights(raw, head.loss_cls, head.bbox_coder,
                                 **ISR)
        torch.testing.assert_close(label_weights, expected, rtol=1e-5,
                                   atol=1e-7)
        positive = batch.labels < batch.num_classes
        assert torch.equal(~torch.isnan(logged), positive)
        assert torch.equal(logged[positive], label_weights[positive])


def test_isr_p_reads_the_rows_of_a_given_loss():
    # SSD's path: the rows of the loss of every sample, no extra call.
    head = bbox_head(sigmoid=False)
    batch, _ = sample_batch(0, class_specific=False)
    cls_loss = F.cross_entropy(batch.cls_score, batch.labels,
                               reduction='none')
    head.loss_cls = None
    got, _ = isr_p(batch, head, ISR_MAP, cls_loss=cls_loss)
    expected, _ = isr_p(batch, bbox_head(sigmoid=False), ISR_MAP)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    assert not torch.equal(got, batch.label_weights)


@pytest.mark.parametrize('sigmoid', [True, False])
@pytest.mark.parametrize('class_specific', [True, False])
def test_carl_matches_mmdet(sigmoid, class_specific):
    head = bbox_head(sigmoid)
    for seed in SEEDS[:4]:
        batch, raw = sample_batch(seed, sigmoid=sigmoid,
                                  class_specific=class_specific)
        scores = raw['cls_score'].clone().requires_grad_()
        pred = raw['bbox_pred'].clone().requires_grad_()
        losses, weights = carl(
            replace(batch, cls_score=scores, bbox_pred=pred), head, CARL_MAP)
        theirs_scores = raw['cls_score'].clone().requires_grad_()
        theirs_pred = raw['bbox_pred'].clone().requires_grad_()
        expected = mmdet_carl_loss(
            theirs_scores, raw['labels'], theirs_pred, raw['bbox_targets'],
            head.loss_bbox, **CARL, sigmoid=sigmoid,
            num_class=raw['num_classes'])['loss_carl']
        torch.testing.assert_close(losses['loss_carl'], expected,
                                   rtol=1e-5, atol=1e-7)
        losses['loss_carl'].sum().backward()
        expected.sum().backward()
        torch.testing.assert_close(scores.grad, theirs_scores.grad)
        torch.testing.assert_close(pred.grad, theirs_pred.grad)
        assert weights.numel() == int(
            (raw['labels'] < raw['num_classes']).sum())
        assert not weights.requires_grad
        torch.testing.assert_close(weights.mean(), torch.tensor(1.))


def test_carl_reads_the_rows_of_a_given_loss():
    # SSD's path: the rows of the regression loss of every sample.
    head = bbox_head(sigmoid=False)
    batch, _ = sample_batch(1, class_specific=False)
    reg_loss = head.loss_bbox(batch.bbox_pred, batch.bbox_targets,
                              reduction_override='none')
    head.loss_bbox = None
    got, got_weights = carl(batch, head, CARL_MAP, reg_loss=reg_loss)
    expected, weights = carl(batch, bbox_head(sigmoid=False),
                             CARL_MAP)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got_weights, weights)


def test_parts_off_change_nothing():
    batch, _ = sample_batch(2)
    label_weights, logged = isr_p(batch, None, None)
    assert label_weights is batch.label_weights and logged is None
    assert carl(batch, None, None) == ({}, None)


def test_log_keeps_the_parts_that_are_on_detached():
    module = SimpleNamespace()
    isr_p_weights = torch.tensor([float('nan'), 2.]).requires_grad_()
    carl_weights = torch.tensor([1.])
    log_pisa_weights(module, isr_p=isr_p_weights, carl=carl_weights)
    logged = getattr(module, PISA_WEIGHTS_ATTRIBUTE)
    assert set(logged) == {'isr_p', 'carl'}
    assert not logged['isr_p'].requires_grad
    torch.testing.assert_close(logged['isr_p'], isr_p_weights.detach(),
                               equal_nan=True)
    log_pisa_weights(module)
    assert getattr(module, PISA_WEIGHTS_ATTRIBUTE) == {}
