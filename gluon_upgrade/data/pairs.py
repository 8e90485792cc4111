"""The positive control's data: two dots, the class is the pair's orientation (0: side by side, 1: one above
the other), and the gap between them varies from less than a plain stack of four 3x3 convolutions sees at once to
twice as much.

A single dot is round, so every window that holds one dot and not the other looks the same in both classes; the
dots also keep away from the image border by more than that window, so where a dot sits says nothing either
(class 1 is class 0's construction transposed). On the *far* pairs (gap at least ``FAR``) a network whose
receptive field is 9 px can only guess; one that samples far enough, as learned offsets can, reads the
orientation at a glance. The near pairs are the foothold: a sampling offset gets a gradient only where moving it
changes what it reads, which a dot 16 px away does not, so offsets learn to reach out on the near pairs first (a
set of far pairs alone left them at chance, 2026-12-04). Written by hand: no library makes this set.
"""
from typing import Tuple

import numpy as np

SIDE = 40
"""Image side in pixels."""
SEPARATION = (4.0, 18.0)
"""Range of the distance between the two dots' centres, in pixels (uniform)."""
FAR = 14.0
"""Gap from which no 9 x 9 window sees more of both dots than 1.1% of a peak (3 px from each centre, exp(-4.5)), a
tenth of the pixel noise: the far pairs, on which a plain network of that receptive field is at chance."""
MARGIN = 9.0
"""Least distance from a dot's centre to the image border."""
SIGMA = 1.0
"""Gaussian radius of a dot in pixels: its tail is below 1% of its peak 3 px from the centre."""
NOISE = 0.1
"""Standard deviation of the Gaussian pixel noise."""


def blob_pairs(count: int, seed: int, side: int = SIDE) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` images ``(count, 1, side, side)`` (float32), labels ``(count,)`` (alternating 0, 1) and the
    gaps between the dots' centres ``(count,)`` in pixels.

    Parameters
    ----------
    count : int
        Images to draw.
    seed : int
        Seed of the positions and the noise: the same seed draws the same set.
    side : int
        Image side; the margin and separation are fixed in pixels, so it must leave room for them.
    """
    if side - 2 * MARGIN <= SEPARATION[1]:
        raise ValueError("side {} leaves no room for dots {} px apart at {} px from the border".format(
            side, SEPARATION[1], MARGIN))
    rng = np.random.default_rng(seed)
    grid = np.arange(side, dtype=np.float32)
    images = np.empty((count, 1, side, side), dtype=np.float32)
    labels = np.arange(count) % 2
    gaps = np.empty(count, dtype=np.float32)
    for index in range(count):
        gap = gaps[index] = rng.uniform(*SEPARATION)
        x = rng.uniform(MARGIN, side - MARGIN - gap)
        y = rng.uniform(MARGIN, side - MARGIN)
        image = _dot(grid, x, y) + _dot(grid, x + gap, y)  # side by side; transposed below for class 1
        images[index, 0] = image.T if labels[index] else image
        images[index, 0] += rng.normal(0, NOISE, (side, side)).astype(np.float32)
    return images, labels, gaps


def _dot(grid: np.ndarray, x: float, y: float) -> np.ndarray:
    """A Gaussian dot of radius ``SIGMA`` centred at column ``x``, row ``y`` (rows first)."""
    return np.exp(-((grid[None, :] - x) ** 2 + (grid[:, None] - y) ** 2) / (2 * SIGMA ** 2)).astype(np.float32)
