#!/usr/bin/env python
"""Test (and evaluate) a detector checkpoint, with mmdet's command line.

    python tools/test.py CONFIG CHECKPOINT [--out results.pkl] [--show-dir vis]
                         [--tta] [--metrics-json metrics.json]
"""
import argparse
import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imbalance_plugin.utils.cli import (  # noqa: E402
    add_common_args,
    build_runner,
    load_config,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a detector')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump predictions to this .pkl file')
    parser.add_argument('--show', action='store_true',
                        help='show predictions in a window')
    parser.add_argument('--show-dir',
                        help='save images with predictions drawn into this '
                        'directory (inside the run\'s timestamped folder)')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each image is shown with --show')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation (horizontal flip unless '
                        'the config defines tta_model and tta_pipeline)')
    parser.add_argument('--metrics-json',
                        help='also write the evaluation metrics to this JSON '
                        'file (used by tools/ablate.py)')
    args = parser.parse_args(argv)
    if args.out and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must name a .pkl or .pickle file, got {args.out}')
    return args


def enable_visualization(cfg, args):
    """Switches on the config's DetVisualizationHook for --show/--show-dir."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise SystemExit('--show/--show-dir need default_hooks.visualization '
                         '(a DetVisualizationHook) in the config.')
    hook.draw = True
    hook.show = args.show
    hook.wait_time = args.wait_time
    if args.show_dir:
        hook.test_out_dir = args.show_dir
    return cfg


def flip_tta_pipeline(test_pipeline):
    """The test pipeline with its packing step replaced by flip / no-flip
    test-time augmentation."""
    pipeline = copy.deepcopy(test_pipeline)
    pack = pipeline[-1]
    if pack.get('type') not in ('PackDetInputs', 'mmdet.PackDetInputs'):
        raise SystemExit('--tta: the test pipeline must end with '
                         f'PackDetInputs to add flips, got {pack.get("type")}')
    meta_keys = tuple(pack.get('meta_keys', ())) or (
        'img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')
    meta_keys += tuple(k for k in ('flip', 'flip_direction')
                       if k not in meta_keys)
    pipeline[-1] = dict(
        type='TestTimeAug',
        transforms=[[dict(type='RandomFlip', prob=1.0),
                     dict(type='RandomFlip', prob=0.0)],
                    [dict(type='PackDetInputs', meta_keys=meta_keys)]])
    return pipeline


def enable_tta(cfg):
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:  # dataset wrappers
        dataset = dataset.dataset
    if 'tta_pipeline' not in cfg:
        cfg.tta_pipeline = flip_tta_pipeline(dataset.pipeline)
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(
            type='DetTTAModel',
            tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5),
                         max_per_img=100))
    cfg.model = dict(**cfg.tta_model, module=cfg.model)
    dataset.pipeline = cfg.tta_pipeline
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = enable_visualization(cfg, args)
    if args.tta:
        cfg = enable_tta(cfg)
    runner = build_runner(cfg)
    if args.out:
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    metrics = runner.test()
    if args.metrics_json:
        from mmengine.dist import is_main_process
        if is_main_process():
            Path(args.metrics_json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.metrics_json).write_text(
                json.dumps({k: float(v) for k, v in metrics.items()},
                           indent=2))


if __name__ == '__main__':
    main()
