#!/usr/bin/env python
"""Generate the embedded toy dataset (if missing) and describe it.

    python tools/make_toy_dataset.py                      # data/toy, seed 0
    python tools/make_toy_dataset.py --out /tmp/toy --seed 1 --num-train 200

Configs generate it on first use anyway; this shows where it went, the class
histogram and the object sizes.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imbalance_plugin.datasets.toy_generator import (  # noqa: E402
    CLASSES,
    DATA_ENV,
    SPLITS,
    ToySpec,
    ensure_toy_dataset,
)


def parse_args(argv=None):
    defaults = ToySpec()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--out', default=None,
        help=f'cache folder (default ${DATA_ENV}, else <repo>/data/toy)')
    parser.add_argument('--seed', type=int, default=defaults.seed)
    parser.add_argument('--num-train', type=int, default=defaults.num_train)
    parser.add_argument('--num-val', type=int, default=defaults.num_val)
    return parser.parse_args(argv)


def describe(root):
    lines = [f'toy dataset: {root}']
    for split in SPLITS:
        with open(Path(root) / 'annotations' / f'{split}.json') as f:
            coco = json.load(f)
        anns = coco['annotations']
        counts = [0] * len(CLASSES)
        for ann in anns:
            counts[ann['category_id'] - 1] += 1
        sides = sorted((a['area'] ** 0.5) for a in anns)
        lines.append(
            f'  {split}: {len(coco["images"])} images, {len(anns)} objects '
            f'({len(anns) / len(coco["images"]):.1f} per image), box side '
            f'median {sides[len(sides) // 2]:.0f} px, '
            f'range {sides[0]:.0f}-{sides[-1]:.0f} px')
        top = max(counts)
        for name, count in zip(CLASSES, counts):
            bar = '#' * max(1, round(40 * count / top)) if count else ''
            lines.append(f'    {name:>6} {count:6d} {bar}')
    meta = json.loads((Path(root) / 'meta.json').read_text())
    lines.append('  unlabelled distractor digits: ' + ', '.join(
        f'{s} {meta["splits"][s]["num_distractors"]}' for s in SPLITS))
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    spec = ToySpec(seed=args.seed, num_train=args.num_train,
                   num_val=args.num_val)
    print(describe(ensure_toy_dataset(args.out, spec)))


if __name__ == '__main__':
    main()
