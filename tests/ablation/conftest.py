import sys
from pathlib import Path

import pytest

from imbalance_plugin.ablation.grid import Grid, Published, Variant
from imbalance_plugin.ablation.launch import Launch

FAKE_TOOLS = Path(__file__).resolve().parent / 'fake_tools'


@pytest.fixture
def fake_launch():
    """Runs the stand-in tools of fake_tools/ instead of the real ones."""
    return Launch(python=sys.executable, tools_dir=FAKE_TOOLS)


@pytest.fixture
def make_grid(tmp_path):
    """Grid factory: variants given as (name, cfg_options[, baseline]);
    ``published`` maps variant names to a published AP."""
    config = tmp_path / 'dummy_config.py'
    config.write_text('model = dict()\n')

    def make(*specs, title='fake grid', published=None, cfg_options=None):
        variants = []
        for i, spec in enumerate(specs):
            name, options = spec[0], spec[1]
            baseline = spec[2] if len(spec) > 2 else i == 0
            ap = (published or {}).get(name)
            variants.append(Variant(
                name=name, config=config, label=name.upper(),
                method=name.upper(), baseline=baseline,
                cfg_options=dict(options),
                published=None if ap is None else Published('', {'AP': ap})))
        return Grid(name='fake', title=title, variants=tuple(variants),
                    file=config, cfg_options=dict(cfg_options or {}))
    return make


def table_cells(markdown: str, first: str) -> dict:
    """The cells of the results.md table row whose first cell is ``first``,
    by column header."""
    lines = [line for line in markdown.splitlines() if line.startswith('|')]
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip('|').split('|')]
        if cells[0] == first:
            return dict(zip(header, cells))
    raise KeyError(f'no row {first!r} in\n{markdown}')


@pytest.fixture
def row_of():
    return table_cells
