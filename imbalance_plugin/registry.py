"""Registries of the plugin: scoped children of mmdet's and mmengine's.

``type='imbalance_plugin.GHMC'`` in any mmdet config resolves here with no
``custom_imports``: MMEngine imports ``imbalance_plugin.registry`` when it
meets the scope prefix, finds these children under mmdet's registries, and
each child imports the modules named in its ``locations`` on first lookup.

MMEngine would fall back to the parent registry for a name the child does not
hold, so ``imbalance_plugin.Foo`` would silently build mmdet's ``Foo``.
:class:`PluginRegistry` refuses that and lists the names the plugin defines.
"""
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_INITIALIZERS
from mmengine.registry import DefaultScope, Registry

SCOPE = 'imbalance_plugin'


class PluginRegistry(Registry):
    """A child registry that never resolves a scoped name to its parent's."""

    def get(self, key):
        scope, real_key = self.split_scope_key(key)
        if scope in (None, self.scope):
            self.import_from_location()
            current = DefaultScope.get_current_instance()
            # Unscoped names may fall back to mmdet only when the plugin is the
            # default scope; otherwise a lookup lands here through the prefix.
            plugin_is_default = (current is not None
                                 and current.scope_name == self.scope)
            if (real_key not in self._module_dict
                    and (scope is not None or not plugin_is_default)):
                raise KeyError(
                    f'{self.scope}.{real_key} is not defined by the plugin. '
                    f'Names it defines: {", ".join(plugin_names())}. '
                    f'Drop the "{self.scope}." prefix to use mmdet\'s '
                    f'{real_key}.')
        return super().get(key)


MODELS = PluginRegistry(
    'model',
    parent=MMDET_MODELS,
    scope=SCOPE,
    locations=['imbalance_plugin.losses', 'imbalance_plugin.heads'])
TASK_UTILS = PluginRegistry(
    'task util',
    parent=MMDET_TASK_UTILS,
    scope=SCOPE,
    locations=['imbalance_plugin.samplers'])
DATASETS = PluginRegistry(
    'dataset',
    parent=MMDET_DATASETS,
    scope=SCOPE,
    locations=['imbalance_plugin.datasets'])
HOOKS = PluginRegistry(
    'hook',
    parent=MMDET_HOOKS,
    scope=SCOPE,
    locations=['imbalance_plugin.hooks'])

# A child of MMEngine's root: weight initializers are looked up from the root
# as well as from mmdet's registry, and both find a root child by its scope.
WEIGHT_INITIALIZERS = PluginRegistry(
    'weight initializer',
    parent=MMENGINE_INITIALIZERS,
    scope=SCOPE,
    locations=['imbalance_plugin.datasets'])


def plugin_names():
    """Sorted names registered by the plugin across all its registries."""
    names = set()
    for registry in (MODELS, TASK_UTILS, DATASETS, HOOKS,
                     WEIGHT_INITIALIZERS):
        registry.import_from_location()
        names.update(registry.module_dict)
    return sorted(names)
