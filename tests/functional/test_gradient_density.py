"""The shared gradient-density estimator against direct computations."""
import pytest
import torch

from imbalance_plugin.functional.gradient_density import (
    LANES,
    bin_counts,
    bin_slots,
    harmonizing_weights,
    region_of,
    slot_region,
)


@pytest.mark.parametrize('bins', [1, 10, 30, 31, 300])
def test_regions_and_counts_equal_comparison_with_mmdet_edges(bins):
    # mmdet's edges: float32 k / bins, the last one moved above 1
    edges = torch.arange(bins + 1).float() / bins
    edges[-1] = 1 + 1e-6
    gen = torch.Generator().manual_seed(bins)
    g = torch.cat([torch.rand(5000, generator=gen), edges[:-1],
                   torch.nextafter(edges[1:-1], torch.zeros(())),
                   torch.nextafter(edges[1:-1], torch.ones(())),
                   torch.tensor([0.0, 1.0])])
    valid = torch.rand(g.shape, generator=gen) > 0.1
    inside = (g[:, None] >= edges[:-1]) & (g[:, None] < edges[1:])
    assert (inside.sum(1) == 1).all()
    region = inside.long().argmax(1)
    assert torch.equal(region_of(g, bins).long(), region)
    slots = bin_slots(g.view(-1, 1).expand(-1, 3), valid[:, None], bins)
    assert slots.shape == (g.numel(), 3)
    lane = torch.arange(g.numel() * 3).view(-1, 3) % LANES
    expected = torch.where(valid, region, bins)[:, None] + (bins + 1) * lane
    assert torch.equal(slots.long(), expected)
    counts = bin_counts(slots, bins)
    assert counts.dtype == torch.float32 and counts.shape == (bins,)
    assert torch.equal(counts, 3 * inside[valid].sum(0).float())
    assert torch.equal(slot_region(slots, bins),
                       torch.where(valid, region, bins)[:, None].expand(-1, 3))


def _loop_reference(count_batches, bins, momentum):
    """Moving average and weights with a plain Python loop over regions."""
    acc = [0.0] * bins
    tables = []
    for counts in count_batches:
        total = max(sum(counts), 1.0)
        non_empty = [k for k in range(bins) if counts[k] > 0]
        table = [0.0] * (bins + 1)
        for k in non_empty:
            acc[k] = momentum * acc[k] + (1 - momentum) * counts[k]
            table[k] = total / acc[k] / len(non_empty)
        tables.append(table)
    return acc, tables


@pytest.mark.parametrize('momentum', [0.0, 0.75])
def test_harmonizing_weights_moving_average(momentum):
    bins = 8
    gen = torch.Generator().manual_seed(0)
    batches = []
    for step in range(6):
        counts = torch.randint(0, 50, (bins,), generator=gen).float()
        counts[step % bins] = 0  # an empty region keeps its average
        batches.append(counts)
    batches.append(torch.zeros(bins))  # nothing valid at all
    acc = torch.zeros(bins)
    ref_acc, ref_tables = _loop_reference([b.tolist() for b in batches],
                                          bins, momentum)
    for counts, ref_table in zip(batches, ref_tables):
        table, acc, total = harmonizing_weights(counts, acc, momentum)
        assert total.item() == max(counts.sum().item(), 1.0)
        torch.testing.assert_close(table, torch.tensor(ref_table),
                                   rtol=1e-6, atol=0)
    torch.testing.assert_close(acc, torch.tensor(ref_acc), rtol=1e-6, atol=0)


def test_all_in_one_region():
    g = torch.full((1000,), 0.5)
    slots = bin_slots(g, torch.ones((), dtype=torch.bool), 30)
    counts = bin_counts(slots, 30)
    assert counts[15] == 1000 and counts.sum() == 1000
    table, acc, total = harmonizing_weights(counts, torch.zeros(30), 0.75)
    # one region: beta = N / (1 * 0.25 N) on the first call
    assert table[15].item() == pytest.approx(4.0)
    assert (table[:15] == 0).all() and (table[16:] == 0).all()
