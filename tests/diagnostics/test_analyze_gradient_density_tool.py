"""tools/analyze_gradient_density.py on the small generated toy set from a
randomly initialised toy RetinaNet (its backbone too: ``init_cfg=None``):
PNGs of the expected size, and a CSV whose counts are those of the anchors
mmdet's assigner leaves valid."""
import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from matplotlib.image import imread
from mmengine.config import Config
from mmengine.structures import InstanceData

from imbalance_plugin.diagnostics.figures import FIGURE_SIZE_PX
from tests.train_helper import (
    RANDOM_BACKBONE,
    REPO,
    TOY_FASTER_RCNN,
    TOY_RETINANET,
    cfg_options,
    small_set,
)

CONFIG = TOY_RETINANET
NUM_IMAGES = 4
OPTIONS = dict(small_set(), **RANDOM_BACKBONE)


@pytest.fixture(scope='module')
def tool_output(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('gradient_density')
    result = subprocess.run(
        [sys.executable, 'tools/analyze_gradient_density.py', str(CONFIG),
         '--num-images', str(NUM_IMAGES), '--batch-size', '2', '--out-dir',
         str(out_dir), '--cfg-options', *cfg_options(OPTIONS)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[
        -4000:]
    return out_dir, result.stdout


def _csv_rows(path):
    with open(path, newline='') as file:
        return list(csv.DictReader(file))


def _assigned_anchor_counts(config):
    """(valid, positive) anchors of the first images by mmdet's assigner
    on the anchors of the padded images, without the tool's code path."""
    from mmdet.registry import TASK_UTILS

    from imbalance_plugin.diagnostics.detector_inputs import (
        build_detector,
        first_images,
    )

    cfg = Config.fromfile(config)
    cfg.merge_from_dict(OPTIONS)
    model = build_detector(cfg)
    head = model.bbox_head
    assigner = TASK_UTILS.build(cfg.model.train_cfg.assigner)
    valid = positive = 0
    for batch in first_images(cfg, NUM_IMAGES, 2):
        data = model.data_preprocessor(batch, training=True)
        height, width = data['inputs'].shape[-2:]
        sizes = [(math.ceil(height / s[0]), math.ceil(width / s[1]))
                 for s in head.prior_generator.strides]
        anchors = torch.cat(
            head.prior_generator.grid_priors(sizes, device='cpu'))
        for sample in data['data_samples']:
            ignored = sample.get('ignored_instances', None)
            result = assigner.assign(
                InstanceData(priors=anchors), sample.gt_instances,
                ignored if ignored is not None and len(ignored) else None)
            valid += int((result.gt_inds >= 0).sum())
            positive += int((result.gt_inds > 0).sum())
    return valid, positive, head.num_classes


def test_tool_prints_where_files_went(tool_output):
    out_dir, stdout = tool_output
    for name in ('classification.png', 'regression.png',
                 'gradient_density.csv', 'summary.json'):
        assert str((out_dir / name).resolve()) in stdout


def test_pngs_are_non_empty_images_of_the_expected_size(tool_output):
    out_dir, _ = tool_output
    for name in ('classification.png', 'regression.png'):
        image = imread(out_dir / name)
        assert image.shape[:2] == (FIGURE_SIZE_PX[1], FIGURE_SIZE_PX[0])
        rgb = image[..., :3]
        assert rgb.std() > 0.01  # not a blank canvas
        # Something other than white, grey and black is drawn: the curves.
        assert (np.ptp(rgb, axis=-1) > 0.3).sum() > 100


def test_csv_counts_add_up_to_the_valid_anchors(tool_output):
    out_dir, _ = tool_output
    valid, positive, num_classes = _assigned_anchor_counts(CONFIG)
    assert positive > 0
    rows = _csv_rows(out_dir / 'gradient_density.csv')
    cls_rows = [r for r in rows if r['part'] == 'classification']
    reg_rows = [r for r in rows if r['part'] == 'regression']
    assert len(cls_rows) == len(reg_rows) == 30
    # Sigmoid RetinaNet: one example per class output of every valid anchor.
    assert sum(int(r['count']) for r in cls_rows) == valid * num_classes
    assert sum(int(r['count']) for r in reg_rows) == positive * 4
    summary = json.loads((out_dir / 'summary.json').read_text())
    assert summary['num_valid_anchors'] == valid
    assert summary['num_positive_anchors'] == positive
    assert summary['num_images'] == NUM_IMAGES
    for rows_of_part in (cls_rows, reg_rows):
        fractions = [float(r['fraction']) for r in rows_of_part]
        assert math.isclose(sum(fractions), 1.0, rel_tol=1e-6)
        assert float(rows_of_part[0]['g_low']) == 0.0
        assert float(rows_of_part[-1]['g_high']) == 1.0
    # CE's contribution is the sum of g in each region, within its edges.
    for r in cls_rows:
        count, ce = int(r['count']), float(r['contribution_ce'])
        assert count * float(r['g_low']) - 1e-3 <= ce <= count * float(
            r['g_high']) + 1e-3
        assert r['contribution_asl1'] == ''


def test_two_stage_config_is_refused_with_a_message(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'analyze_gradient_density',
        REPO / 'tools' / 'analyze_gradient_density.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    config = TOY_FASTER_RCNN
    with pytest.raises(SystemExit) as exit_info:
        tool.main([str(config), '--out-dir', str(tmp_path)])
    assert exit_info.value.code == tool.UNSUPPORTED_DETECTOR != 1
    reason = capsys.readouterr().err.strip().splitlines()[-1]
    assert reason.startswith(f'{config}: ') and 'AnchorHead' in reason
    assert not list(tmp_path.iterdir())
