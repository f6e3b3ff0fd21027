"""Stand-in for tools/test.py in the runner tests: writes --metrics-json
with COCO keys. AP = fake.ap + fake.seed_step * seed, where the seed is read
from the checkpoint the fake train.py wrote; the other columns are fixed
offsets from AP so that a test can recompute them. fake.fail=test exits 4.
"""
import argparse
import json
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument('config')
parser.add_argument('checkpoint')
parser.add_argument('--work-dir', required=True)
parser.add_argument('--metrics-json', required=True)
parser.add_argument('--cfg-options', nargs='+', default=[])
parser.add_argument('--launcher', default='none')
args = parser.parse_args()
opts = dict(kv.split('=', 1) for kv in args.cfg_options)
work_dir = Path(args.work_dir)
work_dir.mkdir(parents=True, exist_ok=True)
with open(work_dir.parent / 'calls.jsonl', 'a') as f:
    f.write(json.dumps(dict(tool='test', argv=sys.argv[1:])) + '\n')
if opts.get('fake.fail') == 'test':
    print('Traceback: fake failure in testing', file=sys.stderr)
    sys.exit(4)
seed = json.loads(Path(args.checkpoint).read_text())['seed']
ap = (float(opts.get('fake.ap', 0.3))
      + float(opts.get('fake.seed_step', 0.0)) * seed)
offsets = dict(mAP=0.0, mAP_50=0.2, mAP_75=0.05, mAP_s=-0.1, mAP_m=0.01,
               mAP_l=0.1)
Path(args.metrics_json).write_text(json.dumps(
    {f'coco/bbox_{k}': ap + d for k, d in offsets.items()}))
