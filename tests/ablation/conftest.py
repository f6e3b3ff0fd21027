import sys
from pathlib import Path

import pytest

from imbalance_plugin.ablation.grid import Grid, Variant
from imbalance_plugin.ablation.launch import Launch

FAKE_TOOLS = Path(__file__).resolve().parent / 'fake_tools'


@pytest.fixture
def fake_launch():
    """Runs the stand-in tools of fake_tools/ instead of the real ones."""
    return Launch(python=sys.executable, tools_dir=FAKE_TOOLS)


@pytest.fixture
def make_grid(tmp_path):
    """Grid factory: variants given as (name, cfg_options[, baseline])."""
    config = tmp_path / 'dummy_config.py'
    config.write_text('model = dict()\n')

    def make(*specs, title='fake grid', published=None):
        variants = []
        for i, spec in enumerate(specs):
            name, options = spec[0], spec[1]
            baseline = spec[2] if len(spec) > 2 else i == 0
            variants.append(Variant(
                name=name, config=config, label=name.upper(),
                baseline=baseline, cfg_options=dict(options),
                published=(published or {}).get(name)))
        return Grid(name='fake', title=title, variants=tuple(variants),
                    source=config)
    return make
