"""Turns a :class:`~.collect.GradientSample` into the analysis's files: two
PNG figures, the CSV of the histograms and a JSON summary."""
import json
import os
import os.path as osp
from dataclasses import asdict
from typing import Dict

from .collect import GradientSample
from .curve_settings import CurveSettings
from .figures import draw_histogram, save_figure
from .gradient_histogram import (
    GradientHistogram,
    classification_histogram,
    regression_histogram,
)
from .histogram_csv import write_histogram_csv


def sample_histograms(sample: GradientSample, settings: CurveSettings,
                      bins: int = 30) -> Dict[str, GradientHistogram]:
    """The 'classification' and 'regression' histograms of ``sample``."""
    return dict(
        classification=classification_histogram(
            sample.cls_g, sample.cls_positive, bins=bins,
            ghm_bins=settings.ghm_c_bins, gamma=settings.gamma,
            alpha=settings.alpha),
        regression=regression_histogram(
            sample.reg_diff, bins=bins, ghm_bins=settings.ghm_r_bins,
            mu=settings.mu, beta=settings.beta))


def curve_labels(settings: CurveSettings) -> Dict[str, Dict[str, str]]:
    """Legend labels of each part's contribution curves."""
    alpha = 'none' if settings.alpha is None else f'{settings.alpha:g}'
    return dict(
        classification=dict(
            ce='cross-entropy',
            focal=f'Focal Loss (gamma {settings.gamma:g}, alpha {alpha})',
            ghm_c=f'GHM-C ({settings.ghm_c_bins} regions)'),
        regression=dict(
            smooth_l1=(f'smooth L1 (beta {settings.beta:g})'
                       if settings.beta > 0 else 'L1'),
            asl1=f'ASL1 (mu {settings.mu:g})',
            ghm_r=f'GHM-R ({settings.ghm_r_bins} regions, mu '
            f'{settings.mu:g})'))


def write_report(sample: GradientSample, settings: CurveSettings,
                 out_dir: str, bins: int = 30,
                 title: str = '') -> Dict[str, str]:
    """Writes ``classification.png``, ``regression.png``,
    ``gradient_density.csv`` and ``summary.json`` into ``out_dir``.

    Returns:
        file kind -> absolute path.
    """
    os.makedirs(out_dir, exist_ok=True)
    histograms = sample_histograms(sample, settings, bins)
    labels = curve_labels(settings)
    cls_kind = ('sigmoid outputs (anchors x classes)'
                if sample.use_sigmoid else 'anchors (softmax)')
    notes = dict(
        classification=(
            f'{sample.cls_g.numel()} {cls_kind}: {sample.num_valid_anchors} '
            f'valid anchors of {sample.num_images} images, '
            f'{sample.num_classes} classes; g = |p - p*|'),
        regression=(
            f'{sample.reg_diff.numel()} coordinates of '
            f'{sample.num_positive_anchors} positive anchors; '
            f'g = |d| / sqrt(d^2 + mu^2)'))
    paths = {}
    for part, hist in histograms.items():
        fig = draw_histogram(hist, labels[part],
                             f'{title} {part}'.strip(), notes[part])
        paths[part] = save_figure(fig, osp.join(out_dir, f'{part}.png'))
    paths['csv'] = osp.abspath(
        write_histogram_csv(osp.join(out_dir, 'gradient_density.csv'),
                            histograms))
    summary = dict(
        num_images=sample.num_images,
        num_valid_anchors=sample.num_valid_anchors,
        num_positive_anchors=sample.num_positive_anchors,
        num_classes=sample.num_classes,
        use_sigmoid=sample.use_sigmoid,
        num_classification_examples=int(sample.cls_g.numel()),
        num_regression_examples=int(sample.reg_diff.numel()),
        bins=bins,
        settings=asdict(settings))
    paths['summary'] = osp.abspath(osp.join(out_dir, 'summary.json'))
    with open(paths['summary'], 'w') as file:
        json.dump(summary, file, indent=2)
    return paths
