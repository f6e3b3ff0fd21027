"""Digit crops for pretraining the toy backbone: the toy's ImageNet.

Each crop is a 64 x 64 tile of the toy images' own clutter (textured noise,
pen strokes, digit fragments) with one of the ten sklearn digits pasted near
its centre at the toy's object sizes, rendered with the toy generator's
functions. Labels are the digit itself, 0-9: the targets and the
distractors of the detection task alike, as ImageNet's classes are not the
detection classes. Glyphs come from the generator's ``train`` bank only, so
the detection val split's glyphs stay unseen.
"""
import numpy as np

from ..utils.settings import check_choice, check_int
from . import toy_generator as tg

#: Side of a crop in pixels.
CROP = 64
#: Height range of the pasted digit in pixels (the toy's object sizes).
DIGIT_HEIGHT = tg.ToySpec().object_size


def _clutter_tiles(rng, spec=tg.ToySpec()):
    """The 64 x 64 tiles of one toy-sized background with strokes, as
    float32 BGR arrays, so the clutter has the detection images' scale."""
    size = spec.image_size
    image = tg._background(rng, size)
    tg._strokes(rng, image, int(rng.integers(*spec.strokes_per_image,
                                             endpoint=True)))
    n = size // CROP
    return [image[i * CROP:(i + 1) * CROP, j * CROP:(j + 1) * CROP].copy()
            for i in range(n) for j in range(n)]


def _paste_fragment(rng, bank, tile):
    glyphs = bank[int(rng.integers(10))]
    part = tg._half_glyph(rng, glyphs[rng.integers(len(glyphs))])
    ink, x0, y0 = tg._warp(rng, part, rng.uniform(*DIGIT_HEIGHT),
                           rng.uniform(0, CROP, size=2), CROP)
    tg._paste(tile, ink, x0, y0, rng.uniform(0, 255, size=3),
              rng.uniform(0.5, 1.0))


def _render_crop(rng, bank, digit, tile):
    """``tile`` (float32, modified) with 0-2 fragments and ``digit`` near
    the centre; uint8 BGR."""
    for _ in range(int(rng.integers(0, 3))):
        _paste_fragment(rng, bank, tile)
    glyphs = bank[digit]
    glyph = glyphs[rng.integers(len(glyphs))]
    height = float(np.exp(rng.uniform(*np.log(DIGIT_HEIGHT))))
    centre = CROP / 2 + rng.uniform(-6, 6, size=2)
    ink, x0, y0 = tg._warp(rng, glyph, height, centre, CROP)
    h, w = ink.shape
    colour = tg._contrasting_colour(rng, tile, (x0, y0, x0 + w, y0 + h))
    tg._paste(tile, ink, x0, y0, colour, rng.uniform(0.75, 1.0))
    tile += 6.0 * rng.standard_normal(tile.shape, dtype=np.float32)
    return np.clip(np.rint(tile), 0, 255).astype(np.uint8)


def digit_crops(num, seed, split='train'):
    """Renders ``num`` labelled crops, deterministically from ``seed``.

    Args:
        num (int): number of crops, >= 1.
        seed (int): seed of the crops and their labels.
        split (str): glyph bank of the toy generator, 'train' or 'val'.

    Returns:
        tuple: ``images`` (num, 64, 64, 3) uint8 BGR and ``labels`` (num,)
        int64 digits 0-9, uniformly drawn.
    """
    check_int(num, 'num')
    check_choice(split, 'split', tg.SPLITS)
    bank = tg._digit_bank()[split]
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=num)
    images = np.empty((num, CROP, CROP, 3), dtype=np.uint8)
    tiles = []
    for i, digit in enumerate(labels):
        if not tiles:
            tiles = _clutter_tiles(rng)
        images[i] = _render_crop(rng, bank, int(digit), tiles.pop())
    return images, labels.astype(np.int64)
