"""The toy RetinaNet and Faster R-CNN with PISA, trained a few iterations
through tools/train.py with the GradientDensityHook on, log the weights of
every active PISA part: ISR-P, ISR-N (Faster R-CNN's Score-HLR sampler) and
CARL. (That each toy config trains, and each part alone, is checked
in-process by tests/configs/test_build_and_train.py and against mmdet by
test_pisa_retina_head.py and test_pisa_roi_head.py.)"""
import math

import pytest

from tests.train_helper import (
    GRADIENT_DENSITY_HOOK,
    TOY,
    derived_config,
    logged_train_scalars,
    train,
)

MAX_ITERS = 2
# name: (config, module holding the PISA weights, active parts)
RUNS = {
    'retinanet': ('retinanet_pisa_toy.py', 'bbox_head', {'isr_p', 'carl'}),
    'faster-rcnn': ('faster-rcnn_pisa_toy.py', 'roi_head',
                    {'isr_p', 'isr_n', 'carl'}),
}


@pytest.mark.parametrize('name', sorted(RUNS))
def test_training_logs_the_weights_of_every_pisa_part(name, tmp_path):
    config, module, parts = RUNS[name]
    with_hook = derived_config(tmp_path / f'{name}_with_hook.py',
                               TOY / config,
                               custom_hooks=[GRADIENT_DENSITY_HOOK])
    train(with_hook, tmp_path / 'work', max_iters=MAX_ITERS)
    rows = logged_train_scalars(tmp_path / 'work')
    assert sorted(rows) == list(range(1, MAX_ITERS + 1))
    for row in rows.values():
        losses = {k: v for k, v in row.items() if k.startswith('loss')}
        assert 'loss_carl' in losses
        assert all(math.isfinite(v) for v in losses.values()), losses
        logged = {k for k in row if k.startswith('pisa/')}
        assert logged == {f'pisa/{module}/{part}_{stat}' for part in parts
                          for stat in ('mean', 'min', 'max')}
        for part in parts:
            low, mean, high = (row[f'pisa/{module}/{part}_{stat}']
                               for stat in ('min', 'mean', 'max'))
            assert all(math.isfinite(v) for v in (low, mean, high)), part
            assert 0 <= low <= mean <= high, part
        # CARL's weights are renormalised to a mean of one over the batch.
        assert row[f'pisa/{module}/carl_mean'] == pytest.approx(1.0,
                                                                rel=1e-4)
