"""Lesions and confounders drawn in template space as soft shapes on a canvas.

A canvas holds, per template voxel, a lesion fraction f in [0, 1] (partial volume at the edges) and the
lesion's signal; the scan's signal is (1 − f)·tissue + f·lesion. Every shape is drawn inside its own
bounding box, so a lesion costs time in proportion to its size, not to the volume.

Rules and literature (docs/synth.md has the full list):
- MS: ovoid lesions ≥ 3 mm; periventricular ones with the long axis perpendicular to the ventricle wall
  ("Dawson's fingers", Horowitz et al., AJNR 1989); juxtacortical, deep white matter and infratentorial
  sites (Filippi et al., Lancet Neurol 2016 — MAGNIMS; Thompson et al., Lancet Neurol 2018 — McDonald
  2017); periventricular lesions merge into confluent caps at high load.
- TSC: cortical/subcortical tubers, wedge-shaped with the base at the grey–white junction and the apex
  toward the ventricle, hyperintense subcortical part and a blurred junction; radial migration lines
  from tuber to ventricle; subependymal nodules along the lateral ventricles, increasingly calcified
  with age (Braffman et al., Radiology 1992; Baskin, Pediatr Radiol 2008; Northrup et al., Pediatr
  Neurol 2021).
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage as ndi

from . import anatomy


@dataclasses.dataclass
class Lesion:
    kind: str
    centre_vox: tuple[int, int, int]
    size_mm: float
    voxels: np.ndarray = dataclasses.field(repr=False, default_factory=lambda: np.zeros((0, 3), np.int16))


class Canvas:
    """Lesion fraction and lesion signal over the template grid."""

    def __init__(self, shape: tuple[int, int, int]):
        self.frac = np.zeros(shape, np.float32)
        self.signal = np.zeros(shape, np.float32)
        self.lesions: list[Lesion] = []

    def paint(
        self,
        box: tuple[slice, ...],
        frac: np.ndarray,
        signal: float | np.ndarray,
        kind: str,
        centre: np.ndarray,
        size_mm: float,
    ) -> bool:
        """Merge a shape's fraction into the canvas (its signal wins where it dominates) and record it
        as a lesion with its voxels (fraction > 0.5). False, and nothing drawn, if it has no such voxel."""
        core = frac > 0.5
        if not np.any(core):
            return False
        cur = self.frac[box]
        win = frac > cur
        sig = np.broadcast_to(np.asarray(signal, np.float32), frac.shape)
        self.signal[box][win] = sig[win]
        cur[win] = frac[win]
        voxels = (np.argwhere(core) + np.array([s.start for s in box])).astype(np.int16)
        self.lesions.append(Lesion(kind, tuple(int(c) for c in np.round(centre)), float(size_mm), voxels))
        return True


def _box(centre: np.ndarray, radius: float, shape: tuple[int, ...]) -> tuple[tuple[slice, ...], np.ndarray]:
    r = int(np.ceil(radius)) + 2
    lo = np.maximum(np.round(centre).astype(int) - r, 0)
    hi = np.minimum(np.round(centre).astype(int) + r + 1, np.array(shape))
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    rel = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing="ij"), -1) - centre
    return box, rel.astype(np.float32)


def _roughness(shape: tuple[int, ...], amount: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random modulation (mean 1) of a shape's radius, for irregular borders."""
    n = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 1.5)
    return 1 + amount * n / (n.std() + 1e-6)


def _soft(inside: np.ndarray, width_mm: float) -> np.ndarray:
    """Signed depth inside a shape (mm, > 0 inside) → partial-volume fraction with a linear edge."""
    return np.clip(0.5 + inside / width_mm, 0, 1).astype(np.float32)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def frame_along(axis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation whose first column is `axis` (unit), the other two random around it."""
    a = axis / (np.linalg.norm(axis) + 1e-9)
    tmp = rng.standard_normal(3)
    b = tmp - a * (tmp @ a)
    b /= np.linalg.norm(b) + 1e-9
    return np.stack([a, b, np.cross(a, b)], axis=1)


def ellipsoid(
    canvas: Canvas,
    centre: np.ndarray,
    semi_axes: np.ndarray,
    rot: np.ndarray,
    signal: float,
    rng: np.random.Generator,
    restrict: np.ndarray | None,
    kind: str,
    rough: float = 0.12,
) -> bool:
    box, rel = _box(centre, float(max(semi_axes)) * (1 + 2 * rough), canvas.frac.shape)
    local = rel @ rot / semi_axes
    rho = np.sqrt((local**2).sum(-1)) / _roughness(rel.shape[:3], rough, rng)
    frac = _soft((1 - rho) * float(min(semi_axes)), 1.0)
    if restrict is not None:
        frac *= restrict[box]
    return canvas.paint(box, frac, signal, kind, centre, 2 * float(max(semi_axes)))


def wedge(
    canvas: Canvas,
    centre: np.ndarray,
    normal: np.ndarray,
    base_radius: float,
    depth: float,
    signal: float,
    cortex_signal: float,
    rng: np.random.Generator,
    restrict: np.ndarray,
) -> bool:
    """A tuber: a cone from the grey–white junction (t = 0) into WM (t = depth), with its cortical part."""
    box, rel = _box(centre + normal * depth / 2, max(base_radius, depth), canvas.frac.shape)
    rel = rel + normal * depth / 2
    t = rel @ normal
    r = np.sqrt(np.maximum((rel**2).sum(-1) - t**2, 0)) / _roughness(rel.shape[:3], 0.15, rng)
    radius = base_radius * (1 - 0.8 * np.clip(t, 0, depth) / depth)
    inside = np.minimum(np.minimum(radius - r, t + 3.0), depth - t)
    frac = _soft(inside, 1.5) * restrict[box]
    sig = np.where(t < 0, cortex_signal, signal).astype(np.float32)
    return canvas.paint(box, frac, sig, "tuber", centre, 2 * base_radius)


def tube(
    canvas: Canvas, p0: np.ndarray, p1: np.ndarray, radius: float, signal: float, restrict: np.ndarray, kind: str
) -> bool:
    """A straight band of given radius from p0 to p1 (radial migration line, perivascular space)."""
    mid = (p0 + p1) / 2
    half = float(np.linalg.norm(p1 - p0)) / 2
    box, rel = _box(mid, half + radius, canvas.frac.shape)
    d = (p1 - p0) / (2 * half + 1e-9)
    t = np.clip(rel @ d, -half, half)
    dist = np.sqrt(((rel - t[..., None] * d) ** 2).sum(-1))
    frac = _soft(radius - dist, 0.8) * restrict[box]
    return canvas.paint(box, frac, signal, kind, mid, 2 * half)


def gradient_at(field: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Central-difference gradient of a distance map at voxel v (unit vector)."""
    i, j, k = (int(x) for x in v)
    s = field.shape
    g = np.array(
        [
            field[min(i + 1, s[0] - 1), j, k] - field[max(i - 1, 0), j, k],
            field[i, min(j + 1, s[1] - 1), k] - field[i, max(j - 1, 0), k],
            field[i, j, min(k + 1, s[2] - 1)] - field[i, j, max(k - 1, 0)],
        ],
        float,
    )
    n = np.linalg.norm(g)
    return g / n if n > 0 else np.array([0.0, 0.0, 1.0])


def pick(kind: str, rng: np.random.Generator) -> np.ndarray:
    c = anatomy.candidates()[kind]
    return c[rng.integers(len(c))].astype(float)
