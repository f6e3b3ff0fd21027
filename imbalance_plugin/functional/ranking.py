r"""What the ranking-based losses share: the smoothed step, the selection of
positives and relevant negatives, the sums over the negatives, the
positive-positive terms in chunks, and the error-driven update as an
``autograd.Function``.

AP Loss (:mod:`.ap_loss`), aLRP Loss (:mod:`.alrp`) and Rank & Sort Loss
(:mod:`.rank_sort`) all rank the logits :math:`s` of the positives
:math:`\mathcal{P}` and of the negatives :math:`\mathcal{N}` of a whole
batch (all anchors of all images and all classes, flattened). With
:math:`x_{ij} = s_j - s_i` and the smoothed step of AP Loss

.. math::
    H(x) = \begin{cases} 0 & x < -\delta \\
    \frac{x}{2\delta} + \frac12 & -\delta \le x \le \delta \\
    1 & x > \delta \end{cases}

the number of negatives ranked above a positive :math:`i` is
:math:`N_{FP}(i) = \sum_{j \in \mathcal{N}} H(x_{ij})`. A loss is the mean
of a per-positive error, :math:`L = \frac{1}{|\mathcal{P}|}
\sum_{i \in \mathcal{P}} (\ell(i) - \ell^*(i))`, and its primary terms
:math:`L_{ij}` distribute each error over the examples :math:`j` that cause
it. The error-driven update (AP Loss's, generalised in the aLRP paper,
Sec. 3) assigns each logit

.. math::
    \frac{\partial L}{\partial s_i} = \frac{1}{|\mathcal{P}|}
    \Big( \sum_j L_{ji} - \sum_j L_{ij} \Big)

which :class:`ErrorDrivenUpdate` returns as the backward pass. For a
negative :math:`j` the primary terms are :math:`L_{ij} = c_i H(x_{ij})`
with a coefficient :math:`c_i` per positive (:math:`\ell(i) / N_{FP}(i)`,
the error spread over the negatives by the pmf
:math:`H(x_{ij}) / N_{FP}(i)`).

**Pruning.** :math:`H(x_{ij}) = 0` unless :math:`s_j > s_i - \delta`, so
only the negatives above :math:`\min_{\mathcal{P}} s - \delta` (the
*relevant* negatives, :math:`R` of them) can contribute; they are selected
once, before anything pairwise.

**Positive-negative sums without pairs.** :math:`H(s_j - t_i)` is
piecewise linear in :math:`s_j`, with breakpoints at :math:`t_i \pm
\delta`. The 2P breakpoints of the positives (sorted, :math:`t_1 \le \dots
\le t_P`) cut the line into 2P + 1 bins, and within a bin every positive
sees every negative the same way: fully (:math:`H = 1`), not at all, or on
the slope. So each negative is placed in its bin once (:func:`_bins`,
:math:`O(\log P)` at most), each bin keeps the number of its negatives and
the sum of their offsets from the bin's start, and

* :math:`N_{FP}(i)` is a sum over the bins (prefix sums over the bins);
* :math:`\sum_i c_i H(x_{ij})`, the update of a negative, is
  :math:`\alpha_b + \beta_b (s_j - q_{b-1})` in its bin :math:`b`
  (:math:`q_{b-1}` the bin's start), :math:`\alpha, \beta` from prefix sums
  over the sorted positives.

Time :math:`O(R \log P + P \log P)`, memory :math:`O(R + P)`: no
:math:`P \times R` matrix is ever made. The sums accumulate in float64,
written with offsets from a bin's or a window's start so that they stay
small (the absolute error of :math:`N_{FP}` is about
:math:`10^{-16} R \max |s|`).

**Positive-positive terms** (ranks among the positives, sorting targets)
are :math:`P \times P`; they are computed in chunks of ``chunk_size`` rows
(positives), so that a chunk holds a few ``chunk_size`` x :math:`P`
matrices (each loss states how many). Without ``chunk_size`` a chunk is
:math:`\lfloor 2^{22} / P \rfloor` rows (16 MiB per float32 matrix).

**Memory.** Beyond the logits: bool masks of all M logits for the
selection and the gradient (M floats, in the backward pass); per relevant
negative its index, bin and offset (about 32 bytes); per chunk its
``chunk_size`` x :math:`P` matrices. Nothing grows with :math:`P \times R`.

**Host syncs.** One per call: the number of positives and the number of
logits above the threshold (the positives and the relevant negatives) are
read together (one ``tolist``). They fix the shapes of what is gathered
and the number of chunks, :math:`\lceil P / \text{chunk\_size} \rceil`,
which a Python loop walks; nothing else waits for the device. So these
losses run eagerly (a compiled graph can not have these data-dependent
sizes); on CPU the selection uses ``nonzero``, elsewhere a cumulative sum
and a scatter that need no further sync.
"""
import math
from typing import Iterator, NamedTuple, Optional

import torch
from torch import Tensor

from ..utils.settings import check_int, check_number
from .numerics import opmath_dtype
from .reduction import (
    check_class_target,
    check_reduction,
    check_same_shape,
)

#: Elements of one chunk's ``chunk_size x P`` matrix without a chunk_size.
CHUNK_ELEMENTS = 2 ** 22


#: A ranking loss has no per-element value: no ``'none'``.
RANKING_REDUCTIONS = ('mean', 'sum')


def check_ranking_settings(delta, reduction, chunk_size):
    """``(delta, reduction, chunk_size)`` of a ranking loss, checked:
    ``delta`` in (0, 1], ``reduction`` one of :data:`RANKING_REDUCTIONS`,
    ``chunk_size`` None (chosen from the number of positives) or an integer
    >= 1."""
    delta = check_number(delta, 'delta', low=0, high=1, low_open=True)
    check_reduction(reduction, allowed=RANKING_REDUCTIONS)
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, 'chunk_size')
    return delta, reduction, chunk_size


def smoothed_step(x: Tensor, delta: float) -> Tensor:
    r""":math:`H(x)`, the step smoothed over :math:`[-\delta, \delta]`."""
    return (x / (2 * delta) + 0.5).clamp(0, 1)


def chunk_rows(num_positives: int, chunk_size: Optional[int]) -> int:
    """Rows per chunk: ``chunk_size``, or what fits :data:`CHUNK_ELEMENTS`."""
    if chunk_size is not None:
        return chunk_size
    return max(1, CHUNK_ELEMENTS // max(num_positives, 1))


class Targets(NamedTuple):
    """A ranking problem, flattened: ``scores`` (M,) the logits (compute
    dtype, detached) and ``classes`` the logits per row of pred (C; 1 for a
    flat pred). The positives are given either by ``labels`` (N,), class
    indices (C the background), or by ``positive`` (M,) bool. ``valid_rows``
    (N,) and ``valid`` (M,) mark the rows and the logits that take part (None:
    all); ``quality`` holds the sorting targets, per row (N,) with
    ``labels``, per logit (M,) with ``positive``, or None."""
    scores: Tensor
    classes: int
    labels: Optional[Tensor]
    positive: Optional[Tensor]
    valid_rows: Optional[Tensor]
    valid: Optional[Tensor]
    quality: Optional[Tensor]


def _validity(weight: Optional[Tensor], pred: Tensor):
    """``(valid_rows, valid)`` of the weights: those > 0, per row (N,) or
    per logit (M,)."""
    if weight is None:
        return None, None
    if pred.dim() == 2 and tuple(weight.shape) in ((pred.shape[0],),
                                                   (pred.shape[0], 1)):
        return (weight > 0).reshape(-1), None
    if weight.shape == pred.shape or (weight.dim() == 1
                                      and weight.numel() == pred.numel()):
        return None, (weight > 0).reshape(-1)
    raise ValueError(f'weight of shape {tuple(weight.shape)} does not fit '
                     f'pred of shape {tuple(pred.shape)}: one weight per row '
                     '(N,) or per logit')


def flatten_targets(pred: Tensor, target, weight: Optional[Tensor],
                    quality: bool) -> Targets:
    """Checks and flattens the targets of a ranking loss.

    Args:
        pred: (N, C) logits (the background is not a class) or already
            flattened (M,).
        target: class indices (N,) in [0, C] (C the background; pred 2-D
            only), or a tensor of pred's shape whose entries > 0 are the
            positives (their values the sorting targets when ``quality``).
            With ``quality`` also a ``(labels, scores)`` pair: class indices
            (N,) and the sorting target of each row (N,).
        weight: None, per row (N,) or per logit (pred's shape, or (M,));
            logits with weight <= 0 are ignored (neither positive nor
            negative).
        quality: whether the loss reads sorting targets.
    """
    if pred.dim() not in (1, 2):
        raise ValueError('pred must have shape (N, C) or (M,) (flattened), '
                         f'got {tuple(pred.shape)}')
    classes = pred.shape[1] if pred.dim() == 2 else 1
    scores = pred.detach().to(opmath_dtype(pred.dtype)).reshape(-1)
    valid_rows, valid = _validity(weight, pred)
    row_scores = None
    if isinstance(target, (tuple, list)):
        if not quality or len(target) != 2:
            raise ValueError('target must be class indices (N,) or a tensor '
                             'of the shape of pred'
                             + (', or a (labels, scores) pair' if quality
                                else '') + f', got a {type(target).__name__}')
        target, row_scores = target
        if pred.dim() != 2 or row_scores.shape != (pred.shape[0],) \
                or not row_scores.is_floating_point():
            raise ValueError('scores of a (labels, scores) target must be '
                             f'floats of shape (N,) for pred '
                             f'{tuple(pred.shape)}, got '
                             f'{tuple(row_scores.shape)} ({row_scores.dtype})')
    if pred.dim() == 2 and target.dim() == 1:
        check_class_target(pred, target)
        if quality and row_scores is None:
            raise ValueError('Rank & Sort needs sorting targets: give a '
                             '(labels, scores) pair or a tensor of the shape '
                             'of pred')
        return Targets(scores, classes, target, None, valid_rows, valid,
                       row_scores)
    check_same_shape(pred, target)
    values = target.reshape(-1)
    positive = values > 0
    if valid_rows is not None:
        positive = (positive.view(pred.shape) & valid_rows[:, None]).view(-1)
    if valid is not None:
        positive = positive & valid
    return Targets(scores, classes, None, positive, valid_rows, valid,
                   values if quality else None)


def _indices(mask: Tensor, count: int,
             scan: Optional[bool] = None) -> Tensor:
    """The ``count`` positions of True in the 1-D ``mask``, in order.

    On CPU ``nonzero`` (one pass; waiting for the host costs nothing there);
    elsewhere (or with ``scan``) a cumulative sum and a scatter, which do
    not wait for the device (``nonzero`` would, once more).
    """
    if scan is None:
        scan = mask.device.type != 'cpu'
    if not scan:
        return mask.nonzero().squeeze(1)
    position = torch.cumsum(mask, 0) - 1
    slot = torch.where(mask, position, count)
    out = torch.empty(count + 1, dtype=torch.long, device=mask.device)
    # index_put_ has a deterministic implementation (scatter_ has not)
    out.index_put_((slot,), torch.arange(mask.numel(), device=mask.device))
    return out[:count]


def _bin_sums(bins: Tensor, size: int, values: Optional[Tensor] = None,
              portable: Optional[bool] = None) -> Tensor:
    """Per bin the number of entries of ``bins`` (int64) or the sum of their
    ``values``: ``bincount`` on CPU, ``index_add_`` elsewhere or with
    ``portable`` (deterministic under ``torch.use_deterministic_algorithms``,
    where ``bincount`` with weights refuses)."""
    if portable is None:
        portable = bins.device.type != 'cpu'
    if not portable:
        return torch.bincount(bins, values, minlength=size)
    if values is None:
        values = torch.ones_like(bins, dtype=torch.long)
    return values.new_zeros(size).index_add_(0, bins, values)


def _put(flat: Tensor, index: Tensor, values: Tensor,
         portable: Optional[bool] = None):
    """``flat[index] = values`` for unique ``index``: ``scatter_`` on CPU
    (its fastest), ``index_put_`` elsewhere or with ``portable``
    (deterministic)."""
    if portable is None:
        portable = flat.device.type != 'cpu'
    if not portable:
        flat.scatter_(0, index, values)
    else:
        flat.index_put_((index,), values)


#: Cells per breakpoint of the grid that bins the logits on CPU.
CELLS_PER_BREAKPOINT = 64

#: The grid is used from this many values per cell on (its tables, about
#: 21 bytes a cell, then cost at most 1.3 bytes a value).
VALUES_PER_CELL = 16


def _bins(breaks: Tensor, values: Tensor,
          grid: Optional[bool] = None) -> Tensor:
    """The bin of each of ``values`` among the sorted ``breaks`` (K,): the
    number of breaks <= the value (``searchsorted(..., right=True)``), int32.

    A binary search per value costs a branch mispredicted at every step, so
    on CPU, when there are :data:`VALUES_PER_CELL` values per cell or more
    (or with ``grid``), the values are placed in a uniform grid of
    :data:`CELLS_PER_BREAKPOINT` x K cells over ``[breaks[0],
    breaks[-1]]`` instead: the cell of a value is ``(value - breaks[0]) *
    scale``, clamped and truncated, a non-decreasing function of the value,
    so a break in a lower cell is below the value and one in a higher cell
    above it. A value whose cell holds no break takes the number of breaks
    in the lower cells, exactly; the few in a cell with a break are searched.
    Elsewhere one ``searchsorted`` (the grid's refinement would wait for the
    device).
    """
    cells = CELLS_PER_BREAKPOINT * breaks.numel()
    if grid is None:
        grid = (values.device.type == 'cpu'
                and values.numel() >= VALUES_PER_CELL * cells)
    if not grid:
        return torch.searchsorted(breaks, values, right=True, out_int32=True)
    low = breaks[0]
    # finite also where the breaks coincide (t +- delta rounded to t)
    scale = ((cells - 1) / (breaks[-1] - low)).clamp_(
        max=torch.finfo(breaks.dtype).max)

    def cell_of(x):
        # the last break is in cell cells - 1, what is far above it in cells
        return (x - low).mul_(scale).clamp_(0, cells).to(torch.int32)

    count = torch.bincount(cell_of(breaks), minlength=cells + 1)
    lower = (count.cumsum(0) - count).to(torch.int32)
    cell = cell_of(values)
    bins = lower.index_select(0, cell)
    search = (count > 0).index_select(0, cell).nonzero().squeeze(1)
    bins[search] = torch.searchsorted(breaks, values[search], right=True,
                                      out_int32=True)
    return bins


class Ranking:
    r"""The positives (sorted by logit) and the relevant negatives of one
    batch, and the sums over the negatives.

    Attributes:
        num_positives: P.
        positive_index: (P,) flat index of each positive, in ascending
            order of logit (ties in index order).
        logits: (P,) the positives' logits, ascending.
        negative_index: (R,) flat index of each relevant negative (logit
            above :math:`\min_{\mathcal{P}} s - \delta`).
        delta: :math:`\delta`.

    Selection: the logits above :math:`\min_{\mathcal{P}} s - \delta` are
    the positives and the relevant negatives; the one host read gets the
    numbers of positives and of those logits together.

    The negatives are binned by the 2P sorted breakpoints :math:`q` of the
    windows :math:`[t_i - \delta, t_i + \delta]`: in bin :math:`b`,
    :math:`q_{b-1} \le s < q_b`, every positive sees the negative either
    fully (:math:`H = 1`), not at all, or on the linear part of
    :math:`H`, the same for the whole bin. Each bin keeps its count
    :math:`n_b` and :math:`D_b = \sum_{j \in b} (s_j - q_{b-1}) \ge 0`;
    both sums below are written with differences that stay small
    (offsets from a bin's or a window's start), in float64.
    """

    def __init__(self, targets: Targets, delta: float):
        self.delta = delta
        self.dtype = targets.scores.dtype
        self.num_positives = 0
        if not targets.scores.numel():
            return
        scores, classes, labels = (targets.scores, targets.classes,
                                   targets.labels)
        if labels is not None:
            rows = labels.numel()
            positive_rows = labels < classes
            if targets.valid_rows is not None:
                positive_rows &= targets.valid_rows
            column = labels.clamp(max=classes - 1)[:, None]
            if targets.valid is not None:
                positive_rows &= targets.valid.view(rows, classes).gather(
                    1, column).squeeze(1)
            own = scores.view(rows, classes).gather(1, column).squeeze(1)
            lowest = torch.where(positive_rows, own, math.inf).amin()
            num_pos = torch.count_nonzero(positive_rows)
        else:
            lowest = torch.where(targets.positive, scores, math.inf).amin()
            num_pos = torch.count_nonzero(targets.positive)
        # the positives and the relevant negatives
        above = scores > lowest - delta
        if targets.valid_rows is not None:
            above = (above.view(-1, classes)
                     & targets.valid_rows[:, None]).view(-1)
        if targets.valid is not None:
            above &= targets.valid
        num_pos, num_above = torch.stack(
            (num_pos, torch.count_nonzero(above))).tolist()
        self.num_positives = num_pos
        if not num_pos:
            return
        if labels is not None:
            anchors = _indices(positive_rows, num_pos)
            index = anchors * classes + labels[anchors]
        else:
            index = _indices(targets.positive, num_pos)
        # every positive is above the threshold: what is left of it are the
        # relevant negatives
        above[index] = False
        logits = scores[index]
        order = torch.argsort(logits, stable=True)
        self.positive_index = index[order]
        self.logits = logits[order]
        self.negative_index = _indices(above, num_above - num_pos)
        self._targets = targets
        self._bin_negatives(scores.index_select(0, self.negative_index))

    def _bin_negatives(self, negatives: Tensor):
        r"""Bin and offset of each negative (``negatives`` (R,) their logits)
        and each bin's count and sum of offsets.

        The breakpoints are the positives' :math:`t_i \pm \delta` in the
        compute dtype, and everything that decides a bin uses those same
        values, so bins and windows agree exactly; the offsets from a bin's
        start are >= 0 and summed in float64.
        """
        starts = self.logits - self.delta
        ends = self.logits + self.delta
        breaks = torch.sort(torch.cat((starts, ends))).values
        bins = 2 * self.num_positives + 1
        self._bin = _bins(breaks, negatives)
        # q_{b-1} of bin b (bin 0, below every window, is empty after the
        # pruning; it is given q_0)
        bin_start = torch.cat((breaks[:1], breaks))
        self._offset = negatives - bin_start.index_select(0, self._bin)
        self._count = _bin_sums(self._bin, bins)
        self._inside = _bin_sums(self._bin, bins, self._offset.double())
        # windows [L_i, U_i): the bins b with L_i <= b - 1 < U_i
        self._window_start = torch.searchsorted(breaks, starts)
        self._window_end = torch.searchsorted(breaks, ends)
        # bins' starts and windows' starts as offsets from q_0, float64
        first = breaks[0].double()
        self._bin_start = bin_start.double() - first
        self._own_start = starts.double() - first

    @property
    def rows(self) -> Tensor:
        """(P,) the row of pred (anchor) of each positive."""
        return torch.div(self.positive_index, self._targets.classes,
                         rounding_mode='floor')

    @property
    def quality(self) -> Tensor:
        """(P,) the positives' sorting targets, in the sorted order."""
        if self._targets.labels is not None:
            values = self._targets.quality[self.rows]
        else:
            values = self._targets.quality[self.positive_index]
        return values.to(self.dtype)

    def false_positives(self) -> Tensor:
        r""":math:`N_{FP}(i) = \sum_{j \in \mathcal{N}} H(s_j - t_i)`, (P,),
        in the sorted order: the bins from :math:`U_i + 1` on count fully,
        those of the window, :math:`L_i < b \le U_i`, count
        :math:`\sum_{j \in b} (s_j - q_{L_i}) / (2\delta) = (D_b + n_b
        (q_{b-1} - q_{L_i})) / (2\delta)`."""
        zero = self._inside.new_zeros(1)
        counted = torch.cat((self._count.new_zeros(1), self._count.cumsum(0)))
        placed = torch.cat((zero, (self._count * self._bin_start).cumsum(0)))
        inside = torch.cat((zero, self._inside.cumsum(0)))
        # bins L_i + 1 .. U_i are prefix entries L_i + 1 .. U_i + 1
        lo, hi = self._window_start + 1, self._window_end + 1
        n = counted[hi] - counted[lo]
        window = (inside[hi] - inside[lo] + placed[hi] - placed[lo]
                  - n * self._own_start)
        full = counted[-1] - counted[hi]
        return (full + window.clamp_min(0) / (2 * self.delta)).to(self.dtype)

    def negative_sums(self, coefficients: Tensor) -> Tensor:
        r""":math:`\sum_i c_i H(s_j - t_i)` for every relevant negative,
        (R,), from ``coefficients`` :math:`c` (P,) in the sorted order.

        Per bin :math:`b` the sum is :math:`\alpha_b + \beta_b (s_j -
        q_{b-1})`: the positives with :math:`U_i < b` see it fully, those
        with :math:`L_i < b \le U_i` on the slope, so
        :math:`\beta_b = \sum_{\text{slope}} c_i / (2\delta)` and
        :math:`\alpha_b = \sum_{\text{full}} c_i + \sum_{\text{slope}} c_i
        (q_{b-1} - q_{L_i}) / (2\delta)`, from prefix sums over the sorted
        positives."""
        c = coefficients.double()
        zero = c.new_zeros(1)
        prefix = torch.cat((zero, c.cumsum(0)))
        weighted = torch.cat((zero, (c * self._own_start).cumsum(0)))
        previous = torch.arange(-1, self._bin_start.numel() - 1,
                                device=c.device)
        full = torch.searchsorted(self._window_end, previous, right=True)
        reach = torch.searchsorted(self._window_start, previous, right=True)
        slope = prefix[reach] - prefix[full]
        alpha = prefix[full] + (self._bin_start * slope - weighted[reach]
                                + weighted[full]) / (2 * self.delta)
        beta = slope / (2 * self.delta)
        # alpha_b + beta_b (s_j - q_{b-1}): both terms >= 0
        alpha, beta = alpha.to(self.dtype), beta.to(self.dtype)
        return torch.addcmul(alpha.index_select(0, self._bin),
                             beta.index_select(0, self._bin), self._offset)

    def chunks(self, chunk_size: Optional[int]) -> Iterator[slice]:
        """Consecutive chunks of the sorted positives, ``chunk_size`` rows
        each (the last one shorter)."""
        p = self.num_positives
        step = chunk_rows(p, chunk_size)
        for start in range(0, p, step):
            yield slice(start, min(start + step, p))

    def steps(self, rows: slice) -> Tensor:
        r"""``H[r, k]`` :math:`= H(t_k - t_{i_r})` for the rows :math:`i_r`
        of a chunk and every positive :math:`k`, a (rows, P) matrix. A loop
        over chunks drops it before the next one is made, so that one
        chunk's matrices are alive at a time."""
        block = self.logits[None, :] - self.logits[rows, None]
        return block.div_(2 * self.delta).add_(0.5).clamp_(0, 1)


class ErrorDrivenUpdate(torch.autograd.Function):
    r"""A ranking loss whose backward pass is the error-driven update.

    ``ErrorDrivenUpdate.apply(pred, loss, positive_index, positive_update,
    negative_index, negative_update)`` returns ``loss`` (a 0-d tensor
    computed without gradient); its backward pass gives ``pred`` the
    updates at the flat positions of the positives and of the relevant
    negatives, 0 elsewhere, times the incoming gradient: the update
    :math:`\partial L / \partial s` of the paper, not the derivative of
    ``loss`` (which is piecewise constant in the ranking). Not twice
    differentiable.
    """

    @staticmethod
    def forward(ctx, pred, loss, positive_index, positive_update,
                negative_index, negative_update):
        ctx.save_for_backward(positive_index, positive_update,
                              negative_index, negative_update)
        ctx.shape, ctx.dtype = pred.shape, pred.dtype
        return loss.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (positive_index, positive_update, negative_index,
         negative_update) = ctx.saved_tensors
        grad = grad.to(positive_update.dtype)
        flat = positive_update.new_zeros(math.prod(ctx.shape))
        _put(flat, positive_index, positive_update * grad)
        _put(flat, negative_index, negative_update * grad)
        return (flat.view(ctx.shape).to(ctx.dtype), None, None, None, None,
                None)


def with_update(pred: Tensor, loss: Tensor,
                ranking: Optional[Ranking] = None,
                positive_update: Optional[Tensor] = None,
                negative_update: Optional[Tensor] = None) -> Tensor:
    """``loss`` carrying the updates of ``ranking``'s positives and
    relevant negatives to ``pred`` when a gradient is wanted; without a
    ranking (no positive) a loss whose gradient is 0."""
    if not wants_update(pred):
        return loss
    if ranking is None:
        empty = torch.zeros(0, dtype=torch.long, device=pred.device)
        values = loss.new_zeros(0)
        return ErrorDrivenUpdate.apply(pred, loss, empty, values, empty,
                                       values)
    return ErrorDrivenUpdate.apply(
        pred, loss, ranking.positive_index, positive_update,
        ranking.negative_index, negative_update)


def wants_update(pred: Tensor) -> bool:
    """Whether the call needs the update (a gradient is wanted)."""
    return torch.is_grad_enabled() and pred.requires_grad
