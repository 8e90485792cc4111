"""The demo data's object classes and the geometric deformations applied to them.

A shape is an implicit region of the canonical square ``[-1, 1]^2``; a ``Deformation`` maps image pixels back
into that square (affine part: rotation, shear, non-uniform scale; elastic part: a smooth sinusoidal field and a
bend), so a pixel belongs to the object when its canonical point lies inside the shape. Written by hand: no
library renders labelled, deformed synthetic shapes.
"""
from dataclasses import dataclass
from typing import Callable, Dict, Tuple

import numpy as np

Region = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _ellipse(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x * x + y * y <= 1.0


def _ring(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r2 = x * x + y * y
    return (r2 <= 1.0) & (r2 >= 0.55 ** 2)


def _crescent(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x * x + y * y <= 1.0) & ((x - 0.5) ** 2 + y * y >= 0.8 ** 2)


def _triangle(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Equilateral, inscribed in the unit circle: inradius 0.5, outward edge normals at 30, 150 and 270 degrees.
    inside = np.ones(x.shape, dtype=bool)
    for angle in np.deg2rad([30.0, 150.0, 270.0]):
        inside &= np.cos(angle) * x + np.sin(angle) * y <= 0.5
    return inside


def _star(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Five points: the radius falls linearly in angle from 1 at a point to 0.42 between two points.
    phase = (np.arctan2(y, x) - np.pi / 2) * 5 / (2 * np.pi)
    tooth = np.abs(2 * (phase - np.floor(phase)) - 1)
    return np.hypot(x, y) <= 0.42 + 0.58 * tooth


def _cross(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ax, ay = np.abs(x), np.abs(y)
    return ((ax <= 0.3) & (ay <= 1.0)) | ((ay <= 0.3) & (ax <= 1.0))


SHAPES: Dict[str, Region] = {
    "ellipse": _ellipse,
    "triangle": _triangle,
    "star": _star,
    "cross": _cross,
    "crescent": _crescent,
    "ring": _ring,
}
"""Class name -> region of the canonical square; the order is the class order of the demo data set."""

CLASSES: Tuple[str, ...] = tuple(SHAPES)


@dataclass(frozen=True)
class Deformation:
    """A smooth map from image pixels to the canonical square of a shape.

    ``canonical(px, py)`` takes pixel coordinates, undoes the affine placement ``center + A @ u`` and then bends
    and warps ``u`` elastically: ``u' = u + (wx sin(fx u_y + phx), wy sin(fy u_x + phy) + bend u_x^2)``.
    """

    center: Tuple[float, float]
    matrix: Tuple[Tuple[float, float], Tuple[float, float]]
    wave: Tuple[float, float, float, float, float, float]
    bend: float

    @classmethod
    def sample(cls, rng: np.random.Generator, center: Tuple[float, float], radius: float,
               strength: float = 1.0) -> "Deformation":
        """Draw a random deformation of an object about ``radius`` pixels across its larger half-axis.

        ``strength`` scales the ranges of shear (up to +-0.5), log-aspect (0.45 to 1/0.45), elastic waves (up to
        0.25) and bend (up to +-0.4); the rotation is uniform at any strength.
        """
        angle = rng.uniform(0, 2 * np.pi)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        shear = np.array([[1.0, strength * rng.uniform(-0.5, 0.5)], [0.0, 1.0]])
        aspect = np.exp(strength * rng.uniform(np.log(0.45), np.log(1 / 0.45)))
        scale = np.diag([np.sqrt(aspect), 1 / np.sqrt(aspect)])
        matrix = rotation @ shear @ scale
        matrix *= radius / np.linalg.norm(matrix, 2)
        wave = (strength * rng.uniform(0, 0.25), rng.uniform(1.5, 4.0), rng.uniform(0, 2 * np.pi),
                strength * rng.uniform(0, 0.25), rng.uniform(1.5, 4.0), rng.uniform(0, 2 * np.pi))
        return cls(center=(float(center[0]), float(center[1])),
                   matrix=tuple(map(tuple, matrix.tolist())), wave=tuple(float(w) for w in wave),
                   bend=float(strength * rng.uniform(-0.4, 0.4)))

    @property
    def reach(self) -> float:
        """Pixels from the center beyond which no point of any shape can lie."""
        wx, _, _, wy, _, _ = self.wave
        # Inside a shape |u'_x|, |u'_y| <= 1, so |u_x| <= 1 + wx and then |u_y| <= 1 + wy + |bend| (1 + wx)^2.
        reach_x = 1.0 + wx
        reach_y = 1.0 + wy + abs(self.bend) * reach_x ** 2
        return float(np.linalg.norm(np.array(self.matrix), 2) * np.hypot(reach_x, reach_y))

    def canonical(self, px: np.ndarray, py: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Canonical coordinates ``(x, y)`` of pixel coordinates ``(px, py)`` (arrays of one shape)."""
        inverse = np.linalg.inv(np.array(self.matrix))
        dx, dy = px - self.center[0], py - self.center[1]
        ux = inverse[0, 0] * dx + inverse[0, 1] * dy
        uy = inverse[1, 0] * dx + inverse[1, 1] * dy
        wx, fx, phx, wy, fy, phy = self.wave
        return (ux + wx * np.sin(fx * uy + phx),
                uy + wy * np.sin(fy * ux + phy) + self.bend * ux * ux)
