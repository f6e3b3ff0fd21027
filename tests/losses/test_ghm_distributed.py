"""GHM-C and GHM-R in a 2-process gloo group: every rank ends with the
moving averages of one process on the whole batch, and the DDP-averaged
gradient is the single-process gradient on the whole batch."""
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

WORLD = 2
CLASSES = 6


def _batch(step):
    gen = torch.Generator().manual_seed(100 + step)
    n = 90 + 13 * step
    feats = torch.randn(n, 8, generator=gen)
    labels = torch.randint(0, 3 * CLASSES, (n,), generator=gen)
    labels = labels.clamp(max=CLASSES)
    label_weights = (torch.rand(n, generator=gen) > 0.2).float()
    box_targets = torch.randn(n, 4, generator=gen) * 0.3
    box_weights = (labels < CLASSES).float()[:, None].expand(n, 4)
    return feats, labels, label_weights, box_targets, box_weights


class _Head(nn.Module):

    def __init__(self):
        super().__init__()
        self.cls = nn.Linear(8, CLASSES)
        self.reg = nn.Linear(8, 4)

    def forward(self, feats):
        return self.cls(feats), self.reg(feats)


def _losses(all_reduce, use_sigmoid):
    from imbalance_plugin.losses import GHMC, GHMR
    return (GHMC(bins=30, momentum=0.75, use_sigmoid=use_sigmoid,
                 all_reduce=all_reduce, compiled=False),
            GHMR(mu=0.02, bins=10, momentum=0.7, loss_weight=10.0,
                 all_reduce=all_reduce, compiled=False))


def _step(model, ghmc, ghmr, data, use_sigmoid):
    feats, labels, label_weights, box_targets, box_weights = data
    cls_score, box_pred = model(feats)
    if not use_sigmoid:
        cls_score = torch.cat([cls_score, cls_score[:, :1] * 0.5], dim=1)
    return (ghmc(cls_score, labels, label_weights) +
            ghmr(box_pred, box_targets, box_weights))


def _check(rank, use_sigmoid, all_reduce):
    torch.manual_seed(0)
    single = _Head()
    model = nn.parallel.DistributedDataParallel(_Head())
    model.module.load_state_dict(single.state_dict())
    ours_c, ours_r = _losses(all_reduce, use_sigmoid)
    ref_c, ref_r = _losses(False, use_sigmoid)
    for step in range(5):
        data = _batch(step)
        cut = 40 + 7 * step  # uneven halves
        part = slice(0, cut) if rank == 0 else slice(cut, None)
        model.zero_grad()
        single.zero_grad()
        loss = _step(model, ours_c, ours_r, [d[part] for d in data],
                     use_sigmoid)
        loss.backward()
        ref_loss = _step(single, ref_c, ref_r, data, use_sigmoid)
        ref_loss.backward()
        for buf, ref in ((ours_c.acc_sum, ref_c.acc_sum),
                         (ours_r.acc_sum, ref_r.acc_sum)):
            torch.testing.assert_close(buf, ref, rtol=1e-6, atol=0)
            gathered = [torch.empty_like(buf) for _ in range(WORLD)]
            dist.all_gather(gathered, buf)
            assert all(torch.equal(g, gathered[0]) for g in gathered)
        for p, q in zip(model.module.parameters(), single.parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-7)
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        torch.testing.assert_close(mean_loss / WORLD, ref_loss.detach(),
                                   rtol=1e-5, atol=0)


def _worker(rank, init_file):
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=WORLD)
    try:
        _check(rank, use_sigmoid=True, all_reduce=True)
        _check(rank, use_sigmoid=False, all_reduce=True)
        # without the all-reduce each rank keeps its own density: the check
        # must notice
        try:
            _check(rank, use_sigmoid=True, all_reduce=False)
        except AssertionError:
            pass
        else:
            raise AssertionError('per-rank densities went unnoticed')
        # both ranks done with every collective before either tears down
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_two_process_gloo(tmp_path, monkeypatch):
    monkeypatch.setenv('IMBALANCE_PLUGIN_COMPILE', '0')
    mp.spawn(_worker, args=(str(tmp_path / 'init'),), nprocs=WORLD,
             join=True)
