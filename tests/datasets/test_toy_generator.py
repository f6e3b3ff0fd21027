"""The embedded toy dataset: deterministic, long-tailed, small objects inside
their images, safe to generate from several processes, and loadable through
mmdet's dataset registry."""
import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from imbalance_plugin.datasets import toy_generator as gen
from imbalance_plugin.datasets.toy_generator import ToySpec, ensure_toy_dataset

# A few images per split keep every test well under a second or two.
TINY = dict(num_train=24, num_val=4)


def _load(root, split):
    with open(Path(root) / 'annotations' / f'{split}.json', 'rb') as f:
        raw = f.read()
    return raw, json.loads(raw)


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    return ensure_toy_dataset(tmp_path_factory.mktemp('toy'),
                              ToySpec(seed=3, **TINY))


def test_same_seed_gives_byte_identical_files(tiny_root, tmp_path):
    again = ensure_toy_dataset(tmp_path / 'a', ToySpec(seed=3, **TINY))
    other = ensure_toy_dataset(tmp_path / 'b', ToySpec(seed=4, **TINY))
    for split in gen.SPLITS:
        raw, _ = _load(tiny_root, split)
        assert raw == _load(again, split)[0]
        assert raw != _load(other, split)[0]
        first = sorted((tiny_root / split).iterdir())[0].name
        assert (tiny_root / split / first).read_bytes() == \
            (again / split / first).read_bytes()


def test_class_histogram_is_long_tailed(tiny_root):
    _, coco = _load(tiny_root, 'train')
    labels = np.array([a['category_id'] for a in coco['annotations']])
    counts = np.bincount(labels - 1, minlength=len(gen.CLASSES))
    # Most common first, every class present, the rarest under a tenth.
    assert np.all(np.diff(counts) <= 0), counts
    assert counts[-1] > 0, counts
    assert counts[-1] < 0.1 * counts[0], counts
    meta = json.loads((tiny_root / 'meta.json').read_text())
    assert meta['splits']['train']['class_histogram'] == dict(
        zip(gen.CLASSES, counts.tolist()))


def test_class_counts_follow_the_frequencies():
    freq = np.asarray(gen.CLASS_FREQUENCIES) / sum(gen.CLASS_FREQUENCIES)
    for total in (7, 100, 12345):
        counts = gen.class_counts(total)
        assert counts.sum() == total
        assert np.all(np.abs(counts - total * freq) < 1)
    assert gen.CLASS_FREQUENCIES[-1] / gen.CLASS_FREQUENCIES[0] == \
        1 / 16


def test_boxes_lie_inside_their_images_and_are_small(tiny_root):
    for split in gen.SPLITS:
        _, coco = _load(tiny_root, split)
        sizes = {im['id']: (im['width'], im['height'])
                 for im in coco['images']}
        assert len(sizes) == ToySpec(**TINY).num_images(split)
        boxes = np.array([a['bbox'] for a in coco['annotations']], float)
        wh = np.array([sizes[a['image_id']] for a in coco['annotations']])
        x, y, w, h = boxes.T
        assert np.all((x >= 0) & (y >= 0) & (w > 0) & (h > 0))
        assert np.all((x + w <= wh[:, 0]) & (y + h <= wh[:, 1]))
        assert [a['area'] for a in coco['annotations']] == (w * h).tolist()
        # Small objects: most are under COCO's "small" area (32 x 32), and
        # boxes cover a small part of the image, so negatives dominate.
        assert np.median(w * h) < 32 * 32
        covered = (w * h).sum() / sum(a * b for a, b in sizes.values())
        assert covered < 0.2


def test_images_carry_unlabelled_distractors(tiny_root):
    meta = json.loads((tiny_root / 'meta.json').read_text())
    spec = ToySpec(**TINY)
    low = spec.distractors_per_image[0]
    for split in gen.SPLITS:
        assert meta['splits'][split]['num_distractors'] >= \
            low * spec.num_images(split) * 0.8
    assert not set(gen.DISTRACTOR_DIGITS) & set(gen.TARGET_DIGITS)


def test_render_image_places_requested_labels():
    spec = ToySpec(**TINY)
    bank = gen._digit_bank()['val']
    labels = [0, 0, 1, 4]
    image, objects, distractors = gen.render_image(
        np.random.default_rng(0), bank, labels, spec)
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    assert sorted(label for label, _ in objects) == labels
    assert distractors >= spec.distractors_per_image[0] - 1
    # The pasted ink changes the pixels inside each box.
    for _, (x1, y1, x2, y2) in objects:
        assert image[y1:y2, x1:x2].std() > 10


def test_train_and_val_use_disjoint_digit_samples():
    bank = gen._digit_bank()
    for digit in range(10):
        train = bank['train'][digit].reshape(len(bank['train'][digit]), -1)
        val = bank['val'][digit].reshape(len(bank['val'][digit]), -1)
        assert len(val) > 0 and len(train) > 2 * len(val)
        same = (train[:, None, :] == val[None, :, :]).all(-1)
        # sklearn's digits hold a few exact duplicates; nearly none cross.
        assert same.any(1).mean() < 0.02


@pytest.mark.parametrize('bad', [
    dict(seed=-1), dict(num_train=0), dict(num_val=1.5),
    dict(objects_per_image=(5, 2)), dict(object_size=(4, 20)),
    dict(object_size=(10, 200)),
])
def test_bad_spec_is_refused(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        ToySpec(**bad)


def _ensure_in_child(cache_dir, queue):
    queue.put(str(ensure_toy_dataset(cache_dir, ToySpec(seed=5, num_train=6,
                                                        num_val=2))))


def test_concurrent_generation_is_safe(tmp_path):
    ctx = multiprocessing.get_context('spawn')
    queue = ctx.Queue()
    procs = [ctx.Process(target=_ensure_in_child, args=(tmp_path, queue))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    roots = {queue.get(timeout=5) for _ in procs}
    assert len(roots) == 1
    root = Path(roots.pop())
    # One finished folder, no leftover temporary copies.
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [root.name]
    _, coco = _load(root, 'train')
    assert len(coco['images']) == 6
    assert len(list((root / 'train').iterdir())) == 6


def test_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(gen.DATA_ENV, str(tmp_path / 'elsewhere'))
    assert gen.default_cache_dir() == tmp_path / 'elsewhere'
    monkeypatch.delenv(gen.DATA_ENV)
    repo = Path(gen.__file__).resolve().parents[2]
    assert gen.default_cache_dir() == repo / 'data' / 'toy'


def test_dataset_builds_from_registry_and_loads_samples(tiny_root):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules()
    dataset = DATASETS.build(dict(
        type='imbalance_plugin.ToyDetDataset', split='val',
        data_root=str(tiny_root.parent), seed=3, **TINY,
        test_mode=True,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True),
                  dict(type='PackDetInputs')]))
    assert type(dataset).__name__ == 'ToyDetDataset'
    assert dataset.metainfo['classes'] == gen.CLASSES
    assert len(dataset) == TINY['num_val']
    _, coco = _load(tiny_root, 'val')
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, 256, 256)
    expected = np.array([[x, y, x + w, y + h] for a in coco['annotations']
                         if a['image_id'] == coco['images'][0]['id']
                         for x, y, w, h in [a['bbox']]], np.float32)
    labels = [a['category_id'] - 1 for a in coco['annotations']
              if a['image_id'] == coco['images'][0]['id']]
    gt = sample['data_samples'].gt_instances
    np.testing.assert_array_equal(gt.bboxes.numpy(), expected)
    assert gt.labels.tolist() == labels


def test_dataset_refuses_bad_arguments(tmp_path):
    from imbalance_plugin.datasets import ToyDetDataset
    with pytest.raises(ValueError, match='split'):
        ToyDetDataset(split='test', data_root=str(tmp_path))
    with pytest.raises(ValueError, match='ann_file'):
        ToyDetDataset(split='val', data_root=str(tmp_path),
                      ann_file='x.json')
