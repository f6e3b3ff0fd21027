"""Deterministic generator of the embedded toy detection dataset.

The toy set reproduces, at a size that trains on two CPU cores, the
foreground-background imbalance the plugin's methods address:

* **Many small objects on clutter.** Each 256 x 256 image holds about eight
  handwritten digits (boxes of about 10-35 px) on a textured noise background
  crossed by strokes, so almost every anchor is a negative.
* **Long-tailed classes.** The five target digits 0, 2, 4, 6, 7 occur with
  frequencies 16 : 8 : 4 : 2 : 1, each half as common as the one before: the
  rarest class is a sixteenth of the most common one.
* **Distractors.** Digits 1, 3, 5, 8, 9 are pasted like the targets but left
  unlabelled, together with fragments of digits: background that looks like
  objects (easy to confuse: 1/7, 4/9, 0/8, 5/6, 2/3).

The digits are the 8 x 8 handwritten digits that scikit-learn ships
(``sklearn.datasets.load_digits``, no download), upscaled with an affine warp
(scale, aspect, rotation, shear) and composited with a random colour and
contrast.  Train and val images draw from disjoint sets of sklearn's samples.

The dataset is written in COCO format::

    <root>/annotations/train.json   <root>/train/000000.jpg ...
    <root>/annotations/val.json     <root>/val/000000.jpg ...
    <root>/meta.json                spec and class histogram

Generation is seeded: the same :class:`ToySpec` gives byte-identical
annotation files.  :func:`ensure_toy_dataset` writes into a temporary folder
and renames it into place, under a file lock, so several processes (the
ranks of a distributed run) may ask for it at once.
"""
import dataclasses
import json
import os
import uuid
from pathlib import Path

import cv2
import numpy as np

from ..utils.settings import check_int
from .build_once import build_once

#: Version of the rendering code; part of the cache folder's name so that a
#: change of the generator never reuses a stale cache.
GENERATOR_VERSION = 3

#: Environment variable naming the cache folder (default ``<repo>/data/toy``).
DATA_ENV = 'IMBALANCE_PLUGIN_DATA'

#: Labelled digits, most common first, and their relative frequencies.
TARGET_DIGITS = (0, 2, 4, 6, 7)
CLASSES = ('zero', 'two', 'four', 'six', 'seven')
CLASS_FREQUENCIES = (16, 8, 4, 2, 1)
#: Unlabelled digits pasted like the targets.
DISTRACTOR_DIGITS = (1, 3, 5, 8, 9)
SPLITS = ('train', 'val')
#: Every fifth sample of sklearn's digits goes to val, the rest to train.
_VAL_EVERY = 5


@dataclasses.dataclass(frozen=True)
class ToySpec:
    """Everything that determines the generated files.

    Args:
        seed: Seed of the whole dataset; splits use derived streams.
        num_train: Number of training images.
        num_val: Number of validation images.
        image_size: Side of the square images in pixels.
        objects_per_image: Inclusive range of labelled digits per image.
        distractors_per_image: Inclusive range of unlabelled digits.
        fragments_per_image: Inclusive range of pasted digit fragments.
        strokes_per_image: Inclusive range of clutter strokes.
        object_size: Range of the rendered digit height in pixels.
    """
    seed: int = 0
    num_train: int = 1600
    num_val: int = 200
    image_size: int = 256
    objects_per_image: tuple = (4, 12)
    distractors_per_image: tuple = (2, 6)
    fragments_per_image: tuple = (2, 5)
    strokes_per_image: tuple = (8, 16)
    object_size: tuple = (18.0, 44.0)

    def __post_init__(self):
        check_int(self.seed, 'seed', low=0)
        check_int(self.num_train, 'num_train', low=1)
        check_int(self.num_val, 'num_val', low=1)
        check_int(self.image_size, 'image_size', low=64)
        for name in ('objects_per_image', 'distractors_per_image',
                     'fragments_per_image', 'strokes_per_image'):
            low, high = getattr(self, name)
            check_int(low, name, low=1 if name == 'objects_per_image' else 0)
            check_int(high, name, low=low)
            object.__setattr__(self, name, (low, high))
        low, high = self.object_size
        if not 6 <= low <= high <= self.image_size / 3:
            raise ValueError(
                f'object_size must satisfy 6 <= low <= high <= image_size / 3 '
                f'= {self.image_size / 3:g}, got {self.object_size}')
        object.__setattr__(self, 'object_size', (float(low), float(high)))

    def num_images(self, split):
        return {'train': self.num_train, 'val': self.num_val}[split]

    @property
    def tag(self):
        """Folder name identifying this spec inside the cache folder."""
        default = ToySpec(seed=self.seed, num_train=self.num_train,
                          num_val=self.num_val)
        tag = (f'digits-v{GENERATOR_VERSION}-seed{self.seed}'
               f'-{self.num_train}x{self.num_val}')
        if self != default:
            blob = json.dumps(dataclasses.asdict(self), sort_keys=True)
            tag += '-' + uuid.uuid5(uuid.NAMESPACE_OID, blob).hex[:8]
        return tag


def default_cache_dir():
    """``$IMBALANCE_PLUGIN_DATA``, else ``<repo>/data/toy`` for a source
    checkout, else ``~/.cache/imbalance_plugin/toy``."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[2]
    if (repo / 'pyproject.toml').is_file() and (repo / 'configs').is_dir():
        return repo / 'data' / 'toy'
    return Path.home() / '.cache' / 'imbalance_plugin' / 'toy'


def _digit_bank():
    """sklearn's 8 x 8 digits as float32 in [0, 1], split by sample index."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    index = np.arange(len(images))
    bank = {}
    for split, keep in (('val', index % _VAL_EVERY == 0),
                        ('train', index % _VAL_EVERY != 0)):
        bank[split] = {
            int(d): images[keep & (digits.target == d)] for d in range(10)
        }
    return bank


def class_counts(total):
    """Per-class object counts for ``total`` objects: proportional to
    :data:`CLASS_FREQUENCIES`, rounded by largest remainder."""
    freq = np.asarray(CLASS_FREQUENCIES, dtype=np.float64)
    exact = total * freq / freq.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind='stable')[:short]] += 1
    return counts


def _background(rng, size):
    """Textured noise at several scales, as float32 HxWx3 in [0, 255]:
    mostly brightness, some colour."""
    base = rng.uniform(50, 205, size=3)
    image = np.empty((size, size, 3), dtype=np.float32)
    image[...] = base
    for cells, amplitude in ((4, 32.0), (16, 20.0), (64, 10.0)):
        noise = rng.standard_normal((cells, cells, 4), dtype=np.float32)
        # One brightness channel shared by B, G, R plus weaker colour.
        noise = noise[..., :1] + 0.5 * noise[..., 1:]
        image += amplitude * cv2.resize(
            noise, (size, size), interpolation=cv2.INTER_CUBIC)
    return image


def _strokes(rng, image, count):
    """Draws ``count`` random lines and arcs, thin like pen strokes."""
    size = image.shape[0]
    for _ in range(count):
        colour = tuple(float(c) for c in rng.uniform(0, 255, size=3))
        thickness = int(rng.integers(1, 3))
        if rng.random() < 0.5:
            p, q = rng.integers(0, size, size=(2, 2))
            cv2.line(image, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])),
                     colour, thickness, cv2.LINE_AA)
        else:
            centre = tuple(int(v) for v in rng.integers(0, size, size=2))
            axes = tuple(int(v) for v in rng.integers(4, 24, size=2))
            start = float(rng.uniform(0, 360))
            cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)),
                        start, start + float(rng.uniform(60, 300)), colour,
                        thickness, cv2.LINE_AA)


def _warp(rng, glyph, height, centre, size):
    """Affine warp of an 8 x 8 glyph to about ``height`` px at ``centre``.

    Returns:
        tuple: the float32 ink map (0 outside the digit) over the window of
        the image it can touch, and that window's (x0, y0).
    """
    aspect = rng.uniform(0.8, 1.15)
    angle = np.deg2rad(rng.uniform(-15, 15))
    shear = rng.uniform(-0.2, 0.2)
    scale = height / 8.0
    cos, sin = np.cos(angle), np.sin(angle)
    linear = np.array([[cos, -sin], [sin, cos]]) @ np.array(
        [[scale * aspect, shear * scale], [0.0, scale]])
    # Pixel centres of the glyph, padded by one, are at -1..8; the glyph
    # centre (3.5, 3.5) lands on ``centre``.
    corners = np.array([[-1.0, -1.0], [8.0, -1.0], [-1.0, 8.0], [8.0, 8.0]])
    glyph_centre = linear @ np.array([3.5, 3.5])
    offset = np.asarray(centre, dtype=np.float64) - glyph_centre
    reach = corners @ linear.T + offset
    x0, y0 = np.clip(np.floor(reach.min(axis=0)).astype(int), 0, size)
    x1, y1 = np.clip(np.ceil(reach.max(axis=0)).astype(int) + 1, 0, size)
    matrix = np.hstack([linear, (offset - linear @ np.ones(2)
                                 - np.array([x0, y0]))[:, None]])
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0), dtype=np.float32), 0, 0
    ink = cv2.warpAffine(np.pad(glyph, 1), matrix,
                         (int(x1 - x0), int(y1 - y0)),
                         flags=cv2.INTER_LINEAR, borderValue=0.0)
    # Steeper edges than the bilinear ramp: strokes, not blobs.
    return np.clip((ink - 0.1) * 1.5, 0.0, 1.0), int(x0), int(y0)


def _contrasting_colour(rng, image, box):
    """A colour far from the mean colour under ``box`` (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = box
    local = image[y1:y2, x1:x2].reshape(-1, 3).mean(axis=0)
    for _ in range(12):
        colour = rng.uniform(0, 255, size=3)
        if np.linalg.norm(colour - local) > 140:
            break
    return colour


def _paste(image, ink, x0, y0, colour, strength):
    """Alpha-blends ``colour`` with opacity ``ink * strength`` at (x0, y0)."""
    h, w = ink.shape
    region = image[y0:y0 + h, x0:x0 + w]
    alpha = np.clip(ink * strength, 0.0, 1.0)[..., None]
    region *= 1.0 - alpha
    region += alpha * colour


def _free(box, placed, max_cover=0.2):
    """Whether ``box`` covers at most ``max_cover`` of any placed box and of
    itself."""
    if not placed:
        return True
    others = np.asarray(placed, dtype=np.float64)
    w = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    h = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return bool(np.all(inter <= max_cover * np.minimum(area, areas)))


def _place_digit(rng, image, glyph, spec, placed, ink_threshold=0.3):
    """Pastes one digit where it does not hide another; returns its tight box
    (x1, y1, x2, y2) in integer pixels, or None when no free spot is found."""
    size = spec.image_size
    low, high = spec.object_size
    for _ in range(20):
        height = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        margin = 0.75 * height
        centre = rng.uniform(margin, size - margin, size=2)
        ink, x0, y0 = _warp(rng, glyph, height, centre, size)
        ys, xs = np.nonzero(ink > ink_threshold)
        if len(xs) == 0:
            continue
        box = (x0 + int(xs.min()), y0 + int(ys.min()),
               x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1)
        if box[2] - box[0] < 4 or box[3] - box[1] < 4:
            continue
        if not _free(box, placed):
            continue
        colour = _contrasting_colour(rng, image, box)
        _paste(image, ink, x0, y0, colour, rng.uniform(0.75, 1.0))
        placed.append(box)
        return box
    return None


def _half_glyph(rng, glyph):
    """A random half (top, bottom, left or right) of an 8 x 8 glyph."""
    part = np.zeros_like(glyph)
    start = int(rng.integers(0, 2)) * 4
    if rng.random() < 0.5:
        part[start:start + 4] = glyph[start:start + 4]
    else:
        part[:, start:start + 4] = glyph[:, start:start + 4]
    return part


def _place_fragment(rng, image, glyph, spec):
    """Pastes a random half of a digit anywhere (unlabelled clutter)."""
    part = _half_glyph(rng, glyph)
    low, high = spec.object_size
    centre = rng.uniform(0, spec.image_size, size=2)
    ink, x0, y0 = _warp(rng, part, rng.uniform(low, high), centre,
                        spec.image_size)
    _paste(image, ink, x0, y0, rng.uniform(0, 255, size=3),
           rng.uniform(0.5, 1.0))


def render_image(rng, bank, labels, spec):
    """Renders one image.

    Args:
        rng (np.random.Generator): Source of randomness.
        bank (dict[int, ndarray]): Glyphs of each digit, (N, 8, 8) in [0, 1].
        labels (Sequence[int]): Class index (into :data:`CLASSES`) of every
            labelled digit to paste.
        spec (ToySpec): Sizes and ranges.

    Returns:
        tuple: ``image`` (uint8, HxWx3, BGR), ``objects`` (list of
        ``(label, (x1, y1, x2, y2))`` for the digits placed) and
        ``num_distractors`` (unlabelled digits placed).
    """
    size = spec.image_size
    image = _background(rng, size)
    _strokes(rng, image, int(rng.integers(*spec.strokes_per_image,
                                          endpoint=True)))

    def glyph_of(digit):
        glyphs = bank[digit]
        return glyphs[rng.integers(len(glyphs))]

    for _ in range(int(rng.integers(*spec.fragments_per_image,
                                    endpoint=True))):
        _place_fragment(rng, image, glyph_of(int(rng.choice(10))), spec)

    placed, objects = [], []
    num_distractors = int(rng.integers(*spec.distractors_per_image,
                                       endpoint=True))
    # Targets and distractors interleave so neither is systematically on top.
    kinds = np.concatenate([np.asarray(labels, dtype=np.int64),
                            -np.ones(num_distractors, dtype=np.int64)])
    placed_distractors = 0
    for label in rng.permutation(kinds):
        digit = (TARGET_DIGITS[label] if label >= 0 else
                 int(rng.choice(DISTRACTOR_DIGITS)))
        box = _place_digit(rng, image, glyph_of(digit), spec, placed)
        if box is None:
            continue
        if label >= 0:
            objects.append((int(label), box))
        else:
            placed_distractors += 1

    image += 6.0 * rng.standard_normal(image.shape, dtype=np.float32)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return image, objects, placed_distractors


def generate_split(out_dir, split, spec, bank=None):
    """Writes the images and the COCO annotation file of one split.

    Returns:
        dict: ``class_histogram`` (objects per class name) and
        ``num_distractors``.
    """
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    bank = _digit_bank() if bank is None else bank
    out_dir = Path(out_dir)
    (out_dir / split).mkdir(parents=True, exist_ok=True)
    (out_dir / 'annotations').mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([spec.seed, SPLITS.index(split)])

    num = spec.num_images(split)
    per_image = rng.integers(*spec.objects_per_image, endpoint=True, size=num)
    labels = np.repeat(np.arange(len(CLASSES)),
                       class_counts(int(per_image.sum())))
    labels = rng.permutation(labels)
    starts = np.concatenate([[0], np.cumsum(per_image)])

    images, annotations = [], []
    histogram = np.zeros(len(CLASSES), dtype=np.int64)
    num_distractors = 0
    for index in range(num):
        image, objects, distractors = render_image(
            rng, bank[split], labels[starts[index]:starts[index + 1]], spec)
        num_distractors += distractors
        file_name = f'{index:06d}.jpg'
        ok, encoded = cv2.imencode('.jpg', image,
                                   [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise RuntimeError(f'could not encode {file_name}')
        (out_dir / split / file_name).write_bytes(encoded.tobytes())
        images.append(dict(id=index + 1, file_name=file_name,
                           width=spec.image_size, height=spec.image_size))
        for label, (x1, y1, x2, y2) in objects:
            histogram[label] += 1
            annotations.append(dict(
                id=len(annotations) + 1, image_id=index + 1,
                category_id=label + 1, bbox=[x1, y1, x2 - x1, y2 - y1],
                area=(x2 - x1) * (y2 - y1), iscrowd=0))
    coco = dict(
        info=dict(description=f'imbalance_plugin toy digits, {split}',
                  version=GENERATOR_VERSION),
        images=images,
        annotations=annotations,
        categories=[dict(id=i + 1, name=name, supercategory='digit')
                    for i, name in enumerate(CLASSES)])
    with open(out_dir / 'annotations' / f'{split}.json', 'w') as f:
        json.dump(coco, f, sort_keys=True, separators=(',', ':'))
    return dict(class_histogram=dict(zip(CLASSES, histogram.tolist())),
                num_distractors=num_distractors)


def generate(out_dir, spec=ToySpec()):
    """Writes both splits and ``meta.json`` into ``out_dir`` (not atomic:
    use :func:`ensure_toy_dataset` for the cache)."""
    bank = _digit_bank()
    meta = dict(generator_version=GENERATOR_VERSION,
                spec=dataclasses.asdict(spec), classes=list(CLASSES),
                splits={})
    for split in SPLITS:
        meta['splits'][split] = generate_split(out_dir, split, spec, bank)
    with open(Path(out_dir) / 'meta.json', 'w') as f:
        json.dump(meta, f, sort_keys=True, indent=1)
    return meta


def ensure_toy_dataset(cache_dir=None, spec=ToySpec()):
    """Returns the folder holding ``spec``'s dataset, generating it first if
    it is not in ``cache_dir`` (default :func:`default_cache_dir`).

    Safe to call from several processes at once (see
    :func:`~imbalance_plugin.datasets.build_once.build_once`).
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    return build_once(cache_dir / spec.tag, lambda tmp: generate(tmp, spec),
                      done=lambda path: (path / 'meta.json').is_file())
