"""aLRP Loss's self-balance in a 2-process gloo group: every rank holds the
same weight, the rule's on the per-call means over the ranks that had
positives, also when a rank has none (its all-reduce still pairs up)."""
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD = 2
CLASSES = 3
PERIOD = 2


def _call_inputs(rank, step):
    gen = torch.Generator().manual_seed(10 * step + rank)
    pred = torch.randn(40, CLASSES, generator=gen)
    labels = torch.randint(0, 2 * CLASSES, (40,), generator=gen).clamp(
        max=CLASSES)
    if rank == 1 and step in (1, 2):
        labels.fill_(CLASSES)  # no positive on this rank
    loc = torch.rand(40, generator=gen)
    return pred, labels, loc


def _worker(rank, init_file):
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=WORLD)
    try:
        from imbalance_plugin.functional.alrp import alrp_components
        from imbalance_plugin.losses import aLRPLoss
        loss = aLRPLoss(sb_init=50.0, sb_period=PERIOD)
        loss.train()
        history, weight = [], 50.0
        for step in range(6):
            loss(*_call_inputs(rank, step))
            # the rule, from every rank's components of this call
            calls = []
            for other in range(WORLD):
                cls, loc, count = alrp_components(
                    *_call_inputs(other, step))
                if count:
                    calls.append((cls.item(), loc.item()))
            if calls:
                history.append(tuple(sum(v) / len(calls)
                                     for v in zip(*calls)))
            if len(history) == PERIOD:
                mean_cls = sum(c for c, _ in history) / PERIOD
                mean_loc = sum(v for _, v in history) / PERIOD
                weight = (mean_cls + mean_loc) / mean_loc
                history = []
            assert abs(loss.sb_weight.item() - weight) <= 1e-5 * weight
            gathered = [torch.empty_like(loss.sb_weight)
                        for _ in range(WORLD)]
            dist.all_gather(gathered, loss.sb_weight)
            assert torch.equal(gathered[0], gathered[1])
        assert weight != 50.0
        # both ranks done with every collective before either tears down
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_self_balance_is_the_same_on_every_rank(tmp_path, monkeypatch):
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    mp.spawn(_worker, args=(str(tmp_path / 'init'),), nprocs=WORLD,
             join=True)
