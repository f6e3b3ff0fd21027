"""The GHM paper's Table 1 setting: GHM-C + smooth L1 for 14 epochs with the
learning rate divided at epochs 9 and 12, EMA off; otherwise the 1x GHM-C
config."""
import pytest
import torch
from mmengine.optim.scheduler import (
    LinearParamScheduler,
    MultiStepParamScheduler,
)

from cfg_helpers import CONFIGS, delta, load

TABLE1 = CONFIGS / 'retinanet' / 'retinanet_r50_fpn_ghmc-table1-14e_coco.py'
GHMC_1X = CONFIGS / 'retinanet' / 'retinanet_r50_fpn_ghmc-1x_coco.py'


def test_differs_from_the_1x_ghmc_config_in_schedule_and_ema_only():
    assert delta(load(TABLE1), load(GHMC_1X)) == {
        'model.bbox_head.loss_cls.momentum': 0.0,
        'train_cfg.max_epochs': 14,
        'param_scheduler.1.end': 14,
        'param_scheduler.1.milestones.0': 9,
        'param_scheduler.1.milestones.1': 12,
    }


def test_resolves_to_14_epochs_and_steps_at_9_and_12():
    cfg = load(TABLE1)
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert cfg.train_cfg.max_epochs == 14
    assert cfg.model.bbox_head.loss_cls.type == 'imbalance_plugin.GHMC'
    assert cfg.model.bbox_head.loss_cls.bins == 30
    assert cfg.model.bbox_head.loss_cls.momentum == 0.0
    steps = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
    assert len(steps) == 1 and steps[0].by_epoch
    assert list(steps[0].milestones) == [9, 12]


def test_learning_rate_per_epoch():
    """The schedulers the config describes, stepped as the epoch loop steps
    them: base rate for epochs 0-8, a tenth for 9-11, a hundredth for 12 and
    13 (the warm-up is per iteration and over before epoch 1)."""
    cfg = load(TABLE1)
    lr = cfg.optim_wrapper.optimizer.lr
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    kinds = dict(LinearLR=LinearParamScheduler,
                 MultiStepLR=MultiStepParamScheduler)
    by_epoch = []
    for spec in cfg.param_scheduler:
        spec = dict(spec)
        kind = kinds[spec.pop('type')]
        scheduler = kind(optimizer, param_name='lr', **spec)
        if scheduler.by_epoch:
            by_epoch.append(scheduler)
        else:
            for _ in range(scheduler.end):
                scheduler.step()
    rates = []
    for _ in range(cfg.train_cfg.max_epochs):
        rates.append(optimizer.param_groups[0]['lr'] / lr)
        for scheduler in by_epoch:
            scheduler.step()
    expected = [1.0] * 9 + [0.1] * 3 + [0.01] * 2
    assert rates == pytest.approx(expected, rel=1e-6)
