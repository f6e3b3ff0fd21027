"""What ``tools/train.py`` and ``tools/test.py`` share: argument parsing
conventions, config loading and runner construction."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments both tools take, with the stock mmdet meaning."""
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--work-dir',
        help='directory for logs, checkpoints and metrics '
        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_cfg.max_iters=100 '
        'optim_wrapper.optimizer.lr=0.01 (a list as key="[a,b]")')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (set by tools/dist_*.sh and tools/slurm_*.sh)')
    # torch.distributed.launch passes --local-rank, older versions --local_rank
    parser.add_argument(
        '--local-rank', '--local_rank', type=int, default=0,
        help=argparse.SUPPRESS)


def load_config(args: argparse.Namespace) -> Config:
    """Reads the config and applies the command-line overrides.

    The work directory is, in order of priority: ``--work-dir``, the config's
    ``work_dir``, ``./work_dirs/<config file name>``.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(args.config))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    return cfg


def prepare_cpu_distributed(cfg: Config) -> Config:
    """Lets ``--launcher pytorch`` run on machines without CUDA.

    MMEngine's pytorch launcher calls ``torch.cuda.set_device`` and wraps the
    model in DDP with ``device_ids=[LOCAL_RANK]``, both of which fail for a
    CPU model. Without CUDA the process group is started here with gloo from
    the variables torchrun sets (MMEngine then skips its own start), and DDP
    gets ``device_ids=None``.
    """
    import torch
    import torch.distributed as dist

    if cfg.launcher != 'pytorch' or torch.cuda.is_available():
        return cfg
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters',
                                                  False))
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return cfg


def build_runner(cfg: Config):
    """Builds the runner the config asks for (``runner_type``) or the default
    MMEngine runner. Importing the plugin first allow-lists the classes that
    MMEngine stores in its checkpoints (see
    :mod:`imbalance_plugin.utils.checkpoint`)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    import imbalance_plugin  # noqa: F401

    cfg = prepare_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
