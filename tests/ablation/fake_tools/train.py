"""Stand-in for tools/train.py in the runner tests: mimics what MMEngine
leaves in a work directory (timestamped scalars.json, iter_N.pth,
last_checkpoint) in milliseconds. Behaviour from --cfg-options:

fake.iters (4), fake.time (seconds/iter logged, 0.5), fake.memory (logged MB,
absent by default), fake.fail=train (exit 3 at once), fake.crash_at=N (exit 1
after saving iter N, once per work dir), fake.sleep (seconds to sleep before
training, 0), fake.rendezvous=DIR with fake.peers=N (leave a file in DIR, then
wait until N runs have: exit 4 after fake.patience seconds, 60, so runs
that do not go at once fail).
"""
import argparse
import json
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument('config')
parser.add_argument('--work-dir', required=True)
parser.add_argument('--resume', nargs='?', const='auto')
parser.add_argument('--cfg-options', nargs='+', default=[])
parser.add_argument('--launcher', default='none')
args = parser.parse_args()
opts = dict(kv.split('=', 1) for kv in args.cfg_options)
work_dir = Path(args.work_dir)
work_dir.mkdir(parents=True, exist_ok=True)
with open(work_dir / 'calls.jsonl', 'a') as f:
    f.write(json.dumps(dict(tool='train', argv=sys.argv[1:])) + '\n')
print('fake training', sys.argv[1:])
if opts.get('fake.fail') == 'train':
    print('Traceback: fake failure in training', file=sys.stderr)
    sys.exit(3)
start = 0
if args.resume:
    last = (work_dir / 'last_checkpoint').read_text().strip()
    start = int(Path(last).stem.split('_')[1])
if 'fake.rendezvous' in opts:
    meeting = Path(opts['fake.rendezvous'])
    meeting.mkdir(parents=True, exist_ok=True)
    (meeting / str(time.time_ns())).touch()
    deadline = time.monotonic() + float(opts.get('fake.patience', 60))
    while len(list(meeting.iterdir())) < int(opts['fake.peers']):
        if time.monotonic() > deadline:
            print('no peer came', file=sys.stderr)
            sys.exit(4)
        time.sleep(0.05)
time.sleep(float(opts.get('fake.sleep', 0)))
seed = int(opts.get('randomness.seed', -1))
run_dir = work_dir / str(time.time_ns()) / 'vis_data'
run_dir.mkdir(parents=True)
with open(run_dir / 'scalars.json', 'w') as log:
    for i in range(start + 1, int(opts.get('fake.iters', 4)) + 1):
        line = dict(loss=1.0 / i, time=float(opts.get('fake.time', 0.5)),
                    data_time=0.01, iter=i, step=i)
        if 'fake.memory' in opts:
            line['memory'] = float(opts['fake.memory']) + i
        log.write(json.dumps(line) + '\n')
        log.flush()
        checkpoint = work_dir / f'iter_{i}.pth'
        checkpoint.write_text(json.dumps(dict(iter=i, seed=seed)))
        (work_dir / 'last_checkpoint').write_text(str(checkpoint))
        crashed = work_dir / 'crashed'
        if opts.get('fake.crash_at') == str(i) and not crashed.exists():
            crashed.touch()
            print('killed', file=sys.stderr)
            sys.exit(1)
