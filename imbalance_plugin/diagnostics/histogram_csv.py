"""The histograms as one CSV table: a row per (part, region)."""
import csv
from typing import Dict

from .gradient_histogram import GradientHistogram

#: Contribution columns, in order; a part leaves the others' cells empty.
CONTRIBUTIONS = ('ce', 'focal', 'ghm_c', 'smooth_l1', 'asl1', 'ghm_r')
COLUMNS = ('part', 'bin', 'g_low', 'g_high', 'count', 'fraction') + tuple(
    f'contribution_{name}' for name in CONTRIBUTIONS)


def write_histogram_csv(path: str,
                        histograms: Dict[str, GradientHistogram]) -> str:
    """Writes ``histograms`` (part name -> histogram, e.g. 'classification',
    'regression') with :data:`COLUMNS`; returns ``path``."""
    with open(path, 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for part, hist in histograms.items():
            edges = hist.edges.double().tolist()
            counts = hist.counts.double().tolist()
            fractions = hist.fractions.double().tolist()
            contributions = {
                name: values.double().tolist()
                for name, values in hist.contributions.items()
            }
            for k in range(hist.bins):
                row = [part, k, f'{edges[k]:.6g}', f'{edges[k + 1]:.6g}',
                       int(round(counts[k])), f'{fractions[k]:.9g}']
                row += [
                    f'{contributions[name][k]:.9g}'
                    if name in contributions else ''
                    for name in CONTRIBUTIONS
                ]
                writer.writerow(row)
    return path
