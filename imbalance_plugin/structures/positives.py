"""Positives by label, in mmdet's convention: a sample's label is its class
in [0, C), or C (``num_classes``) for background."""


def positive_mask(labels, num_classes):
    """Bool mask of the positives, ``0 <= label < C``, the shape of
    ``labels``."""
    return (labels >= 0) & (labels < num_classes)


def positive_indices(labels, num_classes):
    """(p,) int64 indices of the positives of (n,) ``labels``, ascending."""
    return positive_mask(labels, num_classes).nonzero().view(-1)
