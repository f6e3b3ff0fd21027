#!/usr/bin/env python
"""Train a detector from a config, with the stock mmdet command line.

    python tools/train.py configs/toy/retinanet_toy.py --work-dir work_dirs/x
    python tools/train.py CONFIG --resume    # the work dir's latest checkpoint
    python tools/train.py CONFIG --resume path/to/iter_500.pth
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imbalance_plugin.utils.cli import (  # noqa: E402
    add_common_args,
    build_runner,
    load_config,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector')
    add_common_args(parser)
    parser.add_argument(
        '--resume', nargs='?', const='auto', default=None,
        help='resume training: without a value from the latest checkpoint in '
        'the work directory, with a value from that checkpoint')
    parser.add_argument(
        '--amp', action='store_true',
        help='automatic mixed precision (needs a CUDA device)')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the learning rate by the actual total batch size '
        'relative to the config\'s auto_scale_lr.base_batch_size')
    return parser.parse_args(argv)


def apply_train_args(cfg, args):
    """Turns --amp, --auto-scale-lr and --resume into config keys."""
    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('--amp: automatic mixed precision needs a CUDA '
                             'device (MMEngine\'s AmpOptimWrapper); none is '
                             'available here. Run without --amp.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        scale = cfg.get('auto_scale_lr') or {}
        if 'base_batch_size' not in scale:
            raise SystemExit('--auto-scale-lr: the config has no '
                             'auto_scale_lr.base_batch_size to scale from.')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = apply_train_args(load_config(args), args)
    build_runner(cfg).train()


if __name__ == '__main__':
    main()
