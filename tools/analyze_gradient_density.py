#!/usr/bin/env python
"""Gradient-density analysis: the GHM paper's figure 1 for a detector.

Over the first N images of a dataset split, computes the gradient norm
g = |p - p*| of every valid anchor's classification output and GHM-R's
g = |d| / sqrt(d^2 + mu^2) of every positive's regression output, and plots
the fraction of examples against g (log scale) beside the total gradient
contribution per g of cross-entropy, Focal Loss and GHM-C (smooth L1, ASL1
and GHM-R for regression). Writes classification.png, regression.png,
gradient_density.csv and summary.json.

    # the toy RetinaNet at its initial weights:
    python tools/analyze_gradient_density.py
    python tools/analyze_gradient_density.py configs/toy/retinanet_ghm_toy.py \
        --checkpoint work_dirs/retinanet_ghm_toy/iter_500.pth --num-images 64
"""
import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

# Exit status when the config's detector has no dense anchor head to analyse
# (e.g. Faster R-CNN); the reason is the last line on stderr.
from imbalance_plugin.ablation.launch import UNSUPPORTED_DETECTOR  # noqa: E402
from imbalance_plugin.diagnostics.detector_inputs import SPLITS  # noqa: E402

DEFAULT_CONFIG = REPO / 'configs' / 'toy' / 'retinanet_toy.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot the distribution of the gradient norm and each '
        'loss\'s gradient contribution (GHM paper, figure 1).')
    parser.add_argument('config', nargs='?', default=str(DEFAULT_CONFIG),
                        help='detector config (default: the toy RetinaNet)')
    parser.add_argument('--checkpoint',
                        help='weights to analyse (default: the initial '
                        'weights of the config, seeded by --seed)')
    parser.add_argument('--num-images', type=int, default=32,
                        help='images of the split to analyse (default 32)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--split', choices=SPLITS,
                        default='train',
                        help='dataloader of the config to take images from')
    parser.add_argument('--bins', type=int, default=30,
                        help='regions of g in the histograms (default 30)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the initial weights without '
                        '--checkpoint')
    parser.add_argument('--out-dir',
                        help='output directory (default: work_dirs/'
                        'gradient_density/<config name>)')
    parser.add_argument('--gamma', type=float,
                        help='Focal Loss gamma of the curves (default: the '
                        'config\'s FocalLoss, else 2)')
    parser.add_argument('--alpha', type=float,
                        help='Focal Loss alpha (default: the config\'s, '
                        'else 0.25)')
    parser.add_argument('--ghm-c-bins', type=int,
                        help='GHM-C regions (default: the config\'s GHMC, '
                        'else 30)')
    parser.add_argument('--ghm-r-bins', type=int,
                        help='GHM-R regions (default: the config\'s GHMR, '
                        'else 10)')
    parser.add_argument('--mu', type=float,
                        help='ASL1 / GHM-R mu (default: the config\'s GHMR, '
                        'else 0.02)')
    parser.add_argument('--beta', type=float,
                        help='smooth L1 beta (default: the config\'s '
                        'SmoothL1Loss, 0 for L1Loss, else 0.11)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, as for tools/train.py')
    args = parser.parse_args(argv)
    for name in ('num_images', 'batch_size', 'bins'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def settings_with_overrides(settings, args):
    """Command-line values replace those read from the config."""
    from dataclasses import replace
    overrides = {
        name: getattr(args, name)
        for name in ('gamma', 'alpha', 'ghm_c_bins', 'ghm_r_bins', 'mu',
                     'beta') if getattr(args, name) is not None
    }
    return replace(settings, **overrides)


def main(argv=None):
    args = parse_args(argv)
    from imbalance_plugin.diagnostics import (
        collect_gradient_sample,
        curve_settings_of,
        write_report,
    )
    from imbalance_plugin.diagnostics.collect import detector_head
    from imbalance_plugin.diagnostics.detector_inputs import (
        build_detector,
        first_images,
    )

    # Only warnings: init_weights would otherwise list every parameter.
    MMLogger.get_instance('analyze_gradient_density', log_level='WARNING')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    name = Path(args.config).stem
    out_dir = args.out_dir or str(Path('work_dirs') / 'gradient_density' /
                                  name)

    model = build_detector(cfg, args.checkpoint, seed=args.seed)
    model.train()
    try:
        head = detector_head(model)
    except ValueError as error:
        print(f'{args.config}: {error}', file=sys.stderr, flush=True)
        raise SystemExit(UNSUPPORTED_DETECTOR) from None
    settings = settings_with_overrides(curve_settings_of(head), args)
    images = first_images(cfg, args.num_images, args.batch_size, args.split)
    sample = collect_gradient_sample(model, images)
    weights = Path(args.checkpoint).name if args.checkpoint else \
        f'initial weights (seed {args.seed})'
    paths = write_report(sample, settings, out_dir, bins=args.bins,
                         title=f'{name}, {weights}:')

    print(f'{sample.num_images} images, {sample.num_valid_anchors} valid '
          f'anchors ({sample.num_positive_anchors} positive), '
          f'{sample.cls_g.numel()} classification and '
          f'{sample.reg_diff.numel()} regression examples')
    for kind, path in paths.items():
        print(f'{kind:15s} {path}')
    return paths


if __name__ == '__main__':
    main()
