"""Histograms and contribution curves on inputs whose g is known, and GHM's
weights against mmdet 3.3.0's GHMC / GHMR gradients."""
import math

import pytest
import torch
from mmdet.models.losses import GHMC as MMDetGHMC
from mmdet.models.losses import GHMR as MMDetGHMR

from imbalance_plugin.diagnostics.gradient_histogram import (
    classification_histogram,
    gradient_histogram,
    harmonizing_weight,
    regression_histogram,
)

# g of ten examples; with 4 regions [0, .25) [.25, .5) [.5, .75) [.75, 1]:
# region 0 holds 0.05 0.1 0.2 0.24, region 1 none, region 2 0.5 0.6,
# region 3 0.75 0.9 0.99 1.0.
G = torch.tensor([0.05, 0.1, 0.2, 0.24, 0.5, 0.6, 0.75, 0.9, 0.99, 1.0])
COUNTS = [4, 0, 2, 4]
MEMBERS = [[0.05, 0.1, 0.2, 0.24], [], [0.5, 0.6], [0.75, 0.9, 0.99, 1.0]]


def test_counts_and_fractions_per_region():
    hist = gradient_histogram(G, 4, {})
    assert hist.counts.tolist() == COUNTS
    torch.testing.assert_close(hist.fractions,
                               torch.tensor([0.4, 0.0, 0.2, 0.4]))
    torch.testing.assert_close(hist.edges,
                               torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]))


def test_harmonizing_weight_is_total_over_regions_times_count():
    # N = 10 examples, n = 3 non-empty regions: beta_k = 10 / (3 * R_k).
    beta = harmonizing_weight(G, 4)
    expected = torch.tensor([10 / (3 * 4)] * 4 + [10 / (3 * 2)] * 2 +
                            [10 / (3 * 4)] * 4)
    torch.testing.assert_close(beta, expected)


def test_classification_contributions_by_hand():
    positive = torch.tensor([False] * 6 + [True] * 4)
    hist = classification_histogram(G, positive, bins=4, ghm_bins=4,
                                    gamma=2.0, alpha=0.25)
    assert hist.counts.tolist() == COUNTS
    ce = [sum(members) for members in MEMBERS]
    torch.testing.assert_close(hist.contributions['ce'], torch.tensor(ce))
    # GHM-C: each example's norm is beta_k * g, beta_k = N / (n R_k).
    ghm = [10 / (3 * count) * total if count else 0.0
           for count, total in zip(COUNTS, ce)]
    torch.testing.assert_close(hist.contributions['ghm_c'], torch.tensor(ghm))

    def focal(g, alpha_t):
        log_term = 0.0 if g == 1 else (1 - g) * math.log(1 - g)
        return alpha_t * g**2 * (g - 2 * log_term)

    focal_sums = [
        sum(focal(g, 0.75) for g in MEMBERS[0]),
        0.0,
        sum(focal(g, 0.75) for g in MEMBERS[2]),
        sum(focal(g, 0.25) for g in MEMBERS[3]),
    ]
    torch.testing.assert_close(hist.contributions['focal'],
                               torch.tensor(focal_sums))


def test_display_regions_finer_than_ghm_regions():
    # 2 GHM regions: [0, .5) holds 4, [.5, 1] holds 6; N = 10, n = 2.
    hist = classification_histogram(G, torch.zeros(10, dtype=torch.bool),
                                    bins=4, ghm_bins=2)
    expected = [10 / (2 * 4) * sum(MEMBERS[0]), 0.0,
                10 / (2 * 6) * sum(MEMBERS[2]), 10 / (2 * 6) * sum(MEMBERS[3])]
    torch.testing.assert_close(hist.contributions['ghm_c'],
                               torch.tensor(expected))


def test_regression_contributions_by_hand():
    mu, beta = 0.02, 0.11
    # Residuals whose ASL1 g are the values of G below 1 (g < 1 always).
    g = G[:-1].double()
    diff = mu * g / torch.sqrt(1 - g * g)
    diff[::2] *= -1
    hist = regression_histogram(diff, bins=4, ghm_bins=4, mu=mu, beta=beta)
    assert hist.counts.tolist() == [4, 0, 2, 3]
    members = [MEMBERS[0], [], MEMBERS[2], MEMBERS[3][:-1]]
    asl1 = [sum(m) for m in members]
    torch.testing.assert_close(hist.contributions['asl1'], torch.tensor(asl1))
    ghm = [9 / (3 * len(m)) * sum(m) if m else 0.0 for m in members]
    torch.testing.assert_close(hist.contributions['ghm_r'], torch.tensor(ghm))
    sl1 = torch.zeros(4)
    for k, m in enumerate(members):
        for value in m:
            d = mu * value / math.sqrt(1 - value * value)
            sl1[k] += min(d / beta, 1.0)
    torch.testing.assert_close(hist.contributions['smooth_l1'], sl1)


def test_ghm_c_norms_match_mmdet_gradient():
    torch.manual_seed(0)
    pred = torch.randn(64, 3) * 3
    labels = torch.randint(0, 4, (64,))  # 3 = background
    target = torch.nn.functional.one_hot(labels, 4)[:, :3].float()
    weight = torch.ones(64, 3)
    x = pred.clone().requires_grad_(True)
    MMDetGHMC(bins=10, momentum=0)(x, target, weight).backward()
    # mmdet's loss is sum(beta * BCE) / N, so |dL/dx| * N = beta * g.
    expected = x.grad.abs() * pred.numel()
    g = (pred.sigmoid() - target).abs().reshape(-1)
    hist = classification_histogram(g, target.reshape(-1) > 0, bins=10,
                                     ghm_bins=10)
    expected_sums = gradient_histogram(g, 10, {'x': expected.reshape(-1)})
    torch.testing.assert_close(hist.contributions['ghm_c'],
                               expected_sums.contributions['x'], rtol=1e-4,
                               atol=1e-5)


def test_ghm_r_norms_match_mmdet_gradient():
    torch.manual_seed(1)
    pred = torch.randn(50, 4) * 0.2
    target = torch.randn(50, 4) * 0.2
    x = pred.clone().requires_grad_(True)
    MMDetGHMR(mu=0.02, bins=10, momentum=0)(
        x, target, torch.ones(50, 4)).backward()
    expected = x.grad.abs() * pred.numel()
    diff = (pred - target).reshape(-1)
    hist = regression_histogram(diff, bins=10, ghm_bins=10, mu=0.02)
    g = diff.abs() / torch.sqrt(diff**2 + 0.02**2)
    expected_sums = gradient_histogram(g, 10, {'x': expected.reshape(-1)})
    assert hist.counts.tolist() == expected_sums.counts.tolist()
    torch.testing.assert_close(hist.contributions['ghm_r'],
                               expected_sums.contributions['x'], rtol=1e-4,
                               atol=1e-5)


def test_bad_bins_is_value_error():
    with pytest.raises(ValueError, match='bins'):
        gradient_histogram(G, 0, {})
