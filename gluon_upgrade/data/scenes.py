"""One demo image: deformed shapes over a textured background with a few distractors, with exact boxes and a
class mask.

Boxes come from the rendered pixels, not from the shape's geometry: an object's box is the extent of its
*visible* pixels after every later object has been drawn over it and the image border has cut it, as a VOC
annotator would draw it. The class mask labels the same visible pixels (``class_mask``). Written by hand: no
library renders labelled synthetic detection scenes.
"""
from dataclasses import dataclass
from typing import Collection, List, Sequence, Tuple

import cv2
import numpy as np

from .shapes import CLASSES, SHAPES, Deformation

MAX_OBJECTS = 4
"""Most objects in one image (at least 2)."""
RADIUS_RANGE = (0.12, 0.30)
"""An object's larger half-axis, as a fraction of the image's shorter side (drawn log-uniformly)."""
RECTANGLES = (0, 1)
"""Fewest and most rotated rectangles drawn as distractors."""
LINES = (0, 3)
"""Fewest and most lines drawn as distractors."""
TEXTURE = 10.0
"""Amplitude of the background's fine texture, in grey levels."""
DEFORMATION_STRENGTH = 0.6
"""The default scale of the shear, aspect, elastic-wave and bend ranges (``Deformation.sample``; 1.0 is their full
range, 0 none); rotation is always free.

The demo's generator is tuned so that a detector trained on 2 cores in minutes learns it (measured in the
README's "The demo recipe"): clutter that only adds noise at that budget (patterned fills, up to 7 overlapping
objects, 4-12 lines, small objects) is gone, the geometric variation deformable convolution is about stays."""
MIN_VISIBLE_FRACTION = 0.35
"""An object with less of its area visible (occluded or cut by the border) is marked difficult."""
MIN_SIDE_FRACTION = 0.04
"""An object whose box has a side shorter than this fraction of the image's shorter side is marked difficult."""
BACKGROUND, VOID = 0, 255
"""Class-mask values besides ``1 + label``: background, and pixels a segmentation metric ignores (VOC's values)."""


@dataclass(frozen=True)
class SceneObject:
    """One annotated object: ``box`` is ``(xmin, ymin, xmax, ymax)``, inclusive 0-based pixel indices."""

    label: int
    box: Tuple[int, int, int, int]
    area: int
    difficult: bool
    truncated: bool

    @property
    def name(self) -> str:
        """The class name."""
        return CLASSES[self.label]


@dataclass
class Scene:
    """An RGB ``uint8`` image of shape ``(H, W, 3)``, its objects, and its ``uint8`` class mask ``(H, W)``."""

    image: np.ndarray
    objects: List[SceneObject]
    mask: np.ndarray


def render_scene(rng: np.random.Generator, width: int, height: int, first_label: int,
                 deformation: float = DEFORMATION_STRENGTH) -> Scene:
    """Draw one image of deformed shapes.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness: same generator state, same image.
    width, height : int
        Image size in pixels.
    first_label : int
        Class of one object that is always drawn on top and centred inside the image, so that a split of at
        least ``len(CLASSES)`` images cycling through this value holds every class.
    deformation : float
        Strength of the shapes' deformation, 0 to 1 (``DEFORMATION_STRENGTH``).
    """
    image = _background(rng, width, height)
    owner = np.full((height, width), -1, dtype=np.int16)
    count = int(rng.integers(2, MAX_OBJECTS + 1))
    labels = [int(v) for v in rng.integers(0, len(CLASSES), count - 1)] + [first_label]
    placed = []
    for index, label in enumerate(labels):
        on_top = index == count - 1
        placed.append((label, _draw_object(rng, image, owner, index, label, on_top, deformation)))
    objects, unannotated = [], set()
    short_side = min(width, height)
    for index, (label, full_area) in enumerate(placed):
        ys, xs = np.nonzero(owner == index)
        if len(xs) == 0 or xs.max() == xs.min() or ys.max() == ys.min():
            unannotated.add(index)
            continue
        box = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
        visible = len(xs) / full_area
        tiny = min(box[2] - box[0], box[3] - box[1]) + 1 < MIN_SIDE_FRACTION * short_side
        objects.append(SceneObject(label=label, box=box, area=len(xs),
                                   difficult=bool(tiny or visible < MIN_VISIBLE_FRACTION),
                                   truncated=_cut_by_border(box, width, height, visible)))
        if objects[-1].difficult:
            unannotated.add(index)
    noise = rng.normal(0.0, 4.0, image.shape)
    return Scene(image=np.clip(image + noise, 0, 255).astype(np.uint8), objects=objects,
                 mask=class_mask(owner, [label for label, _ in placed], unannotated))


def class_mask(owner: np.ndarray, labels: Sequence[int], void: Collection[int]) -> np.ndarray:
    """The class of every pixel, as VOC's ``SegmentationClass`` holds it.

    Parameters
    ----------
    owner : numpy.ndarray
        ``(H, W)``: the index of the object each pixel shows, -1 for background.
    labels : sequence of int
        Each object's class.
    void : collection of int
        Objects whose pixels are ``VOID``: the difficult ones (tiny, or mostly hidden), which the box annotations
        also leave out of the score, and any too thin to have a box.

    Returns
    -------
    numpy.ndarray
        ``uint8`` ``(H, W)``: ``BACKGROUND``, ``1 + label``, or ``VOID``, which also covers both pixels of every
        pair of 4-neighbours owned differently: the drawing blends an object's colour into its neighbour's
        over about a pixel on each side of its outline (VOC's annotators leave a band along every outline void
        for the same reason).
    """
    mask = np.full(owner.shape, BACKGROUND, dtype=np.uint8)
    for index, label in enumerate(labels):
        mask[owner == index] = VOID if index in void else 1 + label
    outline = np.zeros(owner.shape, dtype=bool)
    rows, columns = owner[1:, :] != owner[:-1, :], owner[:, 1:] != owner[:, :-1]
    outline[1:, :] |= rows
    outline[:-1, :] |= rows
    outline[:, 1:] |= columns
    outline[:, :-1] |= columns
    mask[outline] = VOID
    return mask


def _cut_by_border(box: Tuple[int, int, int, int], width: int, height: int, visible: float) -> bool:
    touches = box[0] == 0 or box[1] == 0 or box[2] == width - 1 or box[3] == height - 1
    return bool(touches and visible < 1.0)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Smooth colour field + fine texture + rotated rectangles and lines as distractors (float32, RGB)."""
    coarse = rng.uniform(0, 255, (int(rng.integers(2, 6)), int(rng.integers(2, 6)), 3)).astype(np.float32)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 1, (max(height // 6, 2), max(width // 6, 2))).astype(np.float32)
    image += TEXTURE * cv2.resize(fine, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
    for _ in range(int(rng.integers(RECTANGLES[0], RECTANGLES[1] + 1))):
        rect = ((float(rng.uniform(0, width)), float(rng.uniform(0, height))),
                (float(rng.uniform(0.05, 0.4) * width), float(rng.uniform(0.02, 0.2) * height)),
                float(rng.uniform(0, 180)))
        corners = cv2.boxPoints(rect).round().astype(np.int32)
        cv2.fillPoly(image, [corners], _colour(rng))
    for _ in range(int(rng.integers(LINES[0], LINES[1] + 1))):
        ends = rng.uniform(0, 1, 4) * [width, height, width, height]
        cv2.line(image, tuple(int(v) for v in ends[:2]), tuple(int(v) for v in ends[2:]), _colour(rng),
                 int(rng.integers(1, 4)), cv2.LINE_AA)
    return np.clip(image, 0, 255)


def _colour(rng: np.random.Generator) -> Tuple[float, float, float]:
    return tuple(float(v) for v in rng.uniform(0, 255, 3))


def _draw_object(rng: np.random.Generator, image: np.ndarray, owner: np.ndarray, index: int, label: int,
                 on_top: bool, deformation: float) -> int:
    """Composite one deformed, solid shape into ``image``; returns its full area in pixels (0: none)."""
    height, width = owner.shape
    radius = min(width, height) * float(np.exp(rng.uniform(*np.log(RADIUS_RANGE))))
    margin = (0.15, 0.85) if on_top else (-0.1, 1.1)
    center = (rng.uniform(*margin) * width, rng.uniform(*margin) * height)
    deform = Deformation.sample(rng, center, radius, deformation)
    reach = deform.reach
    x0, x1 = int(np.floor(center[0] - reach)), int(np.ceil(center[0] + reach))
    y0, y1 = int(np.floor(center[1] - reach)), int(np.ceil(center[1] + reach))
    px, py = np.meshgrid(np.arange(x0, x1 + 1, dtype=np.float64), np.arange(y0, y1 + 1, dtype=np.float64))
    mask = SHAPES[CLASSES[label]](*deform.canonical(px, py))
    fill = np.array(_colour(rng), dtype=np.float32)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)
    if cx0 > cx1 or cy0 > cy1:
        return int(mask.sum())
    crop = (slice(cy0 - y0, cy1 - y0 + 1), slice(cx0 - x0, cx1 - x0 + 1))
    region = (slice(cy0, cy1 + 1), slice(cx0, cx1 + 1))
    inside = mask[crop]
    alpha = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.6)[..., None]
    image[region] = image[region] * (1 - alpha) + fill * alpha
    owner[region][inside] = index
    return int(mask.sum())
