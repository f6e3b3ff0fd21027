"""positive_mask / positive_indices: labels in [0, C) are positives, C is
background."""
import torch

from imbalance_plugin.structures.positives import (
    positive_indices,
    positive_mask,
)


def test_positives_are_the_foreground_labels():
    labels = torch.tensor([3, 0, 2, 3, -1, 1])
    assert positive_mask(labels, 3).tolist() == [
        False, True, True, False, False, True
    ]
    indices = positive_indices(labels, 3)
    assert indices.dtype == torch.long and indices.tolist() == [1, 2, 5]


def test_mask_keeps_the_shape():
    labels = torch.tensor([[0, 4], [4, 3]])
    assert torch.equal(positive_mask(labels, 4),
                       torch.tensor([[True, False], [False, True]]))


def test_no_positives():
    assert positive_indices(torch.full((5, ), 2), 2).numel() == 0
