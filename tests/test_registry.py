"""The plugin's scoped registry: plugin types build from stock mmdet configs
with no custom_imports, and a scoped name the plugin does not define fails
instead of silently falling back to mmdet's class."""
import os.path as osp
import subprocess
import sys
import textwrap

import mmdet
import pytest
from mmengine.registry import DefaultScope

MMDET_CONFIGS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')


def _run_fresh(code):
    """Runs code in a new interpreter, where nothing of the plugin is imported
    yet, so that MMEngine's own lookup of the scope must find it."""
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_stock_mmdet_config_builds_plugin_type_without_custom_imports():
    out = _run_fresh(f'''
        import sys
        from mmengine.config import Config
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
        register_all_modules()
        cfg = Config.fromfile(
            '{MMDET_CONFIGS}/retinanet/retinanet_r50_fpn_1x_coco.py')
        assert 'custom_imports' not in cfg
        assert 'imbalance_plugin' not in sys.modules
        cfg.model.backbone.init_cfg = None
        cfg.model.bbox_head.loss_cls.type = 'imbalance_plugin.FocalLoss'
        model = MODELS.build(cfg.model)
        loss = model.bbox_head.loss_cls
        print(type(loss).__module__, loss.gamma, loss.alpha)
    ''')
    module, gamma, alpha = out.split()
    assert module.startswith('imbalance_plugin.losses')
    assert (float(gamma), float(alpha)) == (2.0, 0.25)


def test_unknown_scoped_name_fails_and_lists_plugin_names():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    from imbalance_plugin.registry import plugin_names
    register_all_modules()
    with pytest.raises(KeyError) as info:
        # mmdet has a SmoothL1Loss, the plugin not: this must not build.
        MODELS.build(dict(type='imbalance_plugin.SmoothL1Loss'))
    message = str(info.value)
    assert ('imbalance_plugin.SmoothL1Loss is not defined by the plugin'
            in message)
    assert 'FocalLoss' in plugin_names()
    for name in plugin_names():
        assert name in message


def test_unscoped_mmdet_names_still_build_with_plugin_default_scope():
    from imbalance_plugin.registry import MODELS
    with DefaultScope.overwrite_default_scope('imbalance_plugin'):
        assert DefaultScope.get_current_instance().scope_name == \
            'imbalance_plugin'
        loss = MODELS.build(dict(type='SmoothL1Loss', beta=0.5))
    assert type(loss).__module__.startswith('mmdet.')
    assert loss.beta == 0.5

