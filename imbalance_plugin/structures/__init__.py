"""What the heads, the sampler and the diagnostics share: a batch's samples
as rows, their positives, and the boxes their deltas decode to."""
