"""Stand-in for tools/analyze_gradient_density.py in the runner tests:
writes the real tool's files (summary.json last) into --out-dir. Behaviour
from --cfg-options: fake.density=unsupported (the real tool's refusal: a
reason on stderr, exit 3), fake.density=fail (exit 1).
"""
import argparse
import json
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument('config')
parser.add_argument('--checkpoint', required=True)
parser.add_argument('--num-images', type=int, required=True)
parser.add_argument('--batch-size', type=int, required=True)
parser.add_argument('--out-dir', required=True)
parser.add_argument('--cfg-options', nargs='+', default=[])
args = parser.parse_args()
opts = dict(kv.split('=', 1) for kv in args.cfg_options)
out_dir = Path(args.out_dir)
with open(out_dir.parent / 'calls.jsonl', 'a') as f:
    f.write(json.dumps(dict(tool='density', argv=sys.argv[1:])) + '\n')
if opts.get('fake.density') == 'unsupported':
    print(f'{args.config}: model must be a single-stage detector, fake',
          file=sys.stderr)
    sys.exit(3)
if opts.get('fake.density') == 'fail':
    print('Traceback: fake failure in the analysis', file=sys.stderr)
    sys.exit(1)
out_dir.mkdir(parents=True, exist_ok=True)
for name in ('classification.png', 'regression.png', 'gradient_density.csv'):
    (out_dir / name).write_text(args.checkpoint)
(out_dir / 'summary.json').write_text(
    json.dumps(dict(num_images=args.num_images)))
