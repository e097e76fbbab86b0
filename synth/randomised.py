"""Domain-randomised appearance (issue 18 §1), in the spirit of SynthSeg/SynthStrip (Billot et al. 2023).

The calibrated mode draws every healthy scan as a phantom with one narrow look, so a model can learn
"phantom versus hospital scan" and call it "healthy versus patient". In randomised mode the look of a
subject is drawn from wide ranges instead: tissue signals (in the contrast order of the sequence),
grid, slice profile, partial field of view, bias field, noise, gamma, ghosting, storage type and
scaling, skull stripping (none, hard, or bad) and placement (scanner or a 1 mm MNI-like grid).

Every draw here comes from streams keyed by (seed, task, index, stream, sequence), never by the label,
and none reads the label: patients and controls get the same distributions. Anatomy and lesions are
drawn as in the calibrated mode (subject.py, ms.py, tsc.py).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from . import acquisition as acq
from . import anatomy
from .contrast import Contrast, myelination

# Tissue signals relative to white matter (WM = 1), pure tissue at the template's class centres.
# FLAIR: CSF dark < WM < GM; T2w: WM < GM < CSF (CSF drawn as a multiple of GM). Lesions keep the
# calibrated draws of ms.py/tsc.py (FLAIR 1.25–2.0, T2w 1.35–2.5 × WM): brighter than WM in both.
# Outside the brain, bone < muscle < fat (fast spin echo: fat bright; no fat suppression).
CONTRAST = {
    "FLAIR": {"gm": (1.05, 1.6), "csf": (0.03, 0.45), "fat": (0.65, 1.8), "muscle": (0.25, 0.6), "bone": (0.0, 0.2)},
    "T2w": {"gm": (1.05, 1.6), "csf_over_gm": (1.4, 3.5), "fat": (0.85, 3.5), "muscle": (0.3, 0.8), "bone": (0.0, 0.2)},
}
INPLANE_MM = (0.4, 1.3)
THICK_2D_MM, THICK_3D_MM = (1.5, 7.0), (1.0, 2.0)
MAX_VOXELS = 16e6  # before --coarsen; a thinner stack gets coarser pixels (keeps memory ~1 GB)
SNR = (6.0, 150.0)  # WM signal / noise sd, log-uniform
GAMMA = (0.6, 1.6)  # log-uniform exponent on the WM-relative magnitude
DTYPES = {"uint8": 0.25, "int16": 0.35, "uint16": 0.2, "float32": 0.2}
# Stored value of the brightest tissue (log-uniform; uint8 saturates above 255 like a windowed export).
LEVEL = {"uint8": (120.0, 250.0), "int16": (200.0, 30000.0), "uint16": (200.0, 60000.0), "float32": (0.5, 5000.0)}
# MNI-like 1 mm grid (ICBM152 / SPM layout); the template is Colin27 in MNI space.
MNI_SHAPE = (181, 217, 181)
MNI_ORIGIN = np.array([-90.0, -126.0, -72.0])
EYES_MM = np.array([[-32.0, 60.0, -37.0], [32.0, 60.0, -37.0]])  # globe centres on the template (looked up)
EYE_RADIUS_MM = 13.0


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def sample_contrast(sequence: str, age_years: float, rng: np.random.Generator) -> Contrast:
    r = CONTRAST[sequence]
    gm = rng.uniform(*r["gm"])
    csf = rng.uniform(*r["csf"]) if sequence == "FLAIR" else gm * rng.uniform(*r["csf_over_gm"])
    fat, muscle, bone = rng.uniform(*r["fat"]), rng.uniform(*r["muscle"]), rng.uniform(*r["bone"])
    m = myelination(age_years)  # biology, not appearance: infants keep their inverted GM/WM contrast
    wm = 1.0 + (1.4 * gm - 1.0) * (1 - m)
    return Contrast(
        sequence,
        csf=float(csf),
        gm=float(gm * (1 + 0.12 * (1 - m))),
        wm=float(wm),
        fat=float(fat),
        muscle=float(muscle),
        bone=float(bone),
    )


def sample_grid(
    rng: np.random.Generator,
    head_extent_mm: np.ndarray,
    centre_world: np.ndarray,
    head_z_mm: tuple[float, float],
    coarsen: float = 1.0,
) -> tuple[acq.Grid, str]:
    """A scanner grid with wide ranges; `head_z_mm` = world z of the head's bottom and top. Returns the
    grid and its coverage: "full", "no_vertex" or "no_cerebellum" (a slab cut through the head)."""
    orientation = str(rng.choice(list(acq.ORIENTATIONS), p=[0.6, 0.2, 0.2]))
    is_3d = bool(rng.random() < 0.35)
    inplane = rng.uniform(*INPLANE_MM)
    if is_3d:
        thickness = rng.uniform(*THICK_3D_MM)
        spacing_k = thickness
    else:
        thickness = rng.uniform(*THICK_2D_MM)
        spacing_k = thickness * (1 + (rng.uniform(0.05, 0.5) if rng.random() < 0.5 else 0.0))  # slice gap
    base = acq.ORIENTATIONS[orientation].copy()
    for ax in range(3):
        if rng.random() < 0.5:
            base[:, ax] *= -1
    tilt = np.array([rng.uniform(-25, 25), rng.uniform(-10, 10), rng.uniform(-10, 10)])
    dirs = acq.rotation_xyz(tilt) @ base
    k_axis = int(np.argmax(np.abs(dirs[:, 2])))
    in_axes = [ax for ax in range(3) if ax != k_axis]
    fov = float(np.clip(np.max(head_extent_mm[in_axes]) * rng.uniform(1.0, 1.25), 150, 280))
    cover = head_extent_mm[k_axis] * rng.uniform(0.9, 1.25)
    n_k = max(int(round(cover / spacing_k)), 12)
    if (fov / inplane) ** 2 * n_k > MAX_VOXELS:
        inplane = fov / np.sqrt(MAX_VOXELS / n_k)
    inplane, spacing_k, thickness = inplane * coarsen, spacing_k * coarsen, thickness * coarsen
    n_in = int(round(fov / inplane))
    n_k = max(int(round(cover / spacing_k)), 12)
    shape = (n_in, n_in, n_k)
    lin = dirs * np.array([inplane, inplane, spacing_k])
    centre = centre_world + rng.uniform(-10, 10, 3)
    coverage = str(rng.choice(["full", "no_vertex", "no_cerebellum"], p=[0.7, 0.15, 0.15]))
    if coverage != "full":
        # Slide the box along world z until its top (or bottom) edge lies `cut` mm inside the head.
        half_z = 0.5 * float(np.abs(lin[2]) @ np.array(shape))
        cut = rng.uniform(15, 45)
        centre[2] = (head_z_mm[1] - cut - half_z) if coverage == "no_vertex" else (head_z_mm[0] + cut + half_z)
    affine = np.eye(4)
    affine[:3, :3] = lin
    affine[:3, 3] = centre - lin @ ((np.array(shape) - 1) / 2)
    return acq.Grid(shape, affine, orientation, float(thickness), float(inplane), is_3d), coverage


def mni_grid(rng: np.random.Generator, native: acq.Grid, coarsen: float = 1.0) -> acq.Grid:
    """The 181×217×181 1 mm MNI-like grid, x stored in either sense (SPM RAS or FSL-like LAS arrays)."""
    step = np.array([-1.0 if rng.random() < 0.5 else 1.0, 1.0, 1.0]) * coarsen
    shape = tuple(int(round(n / coarsen)) for n in MNI_SHAPE)
    centre = MNI_ORIGIN + (np.array(MNI_SHAPE) - 1) / 2
    affine = np.eye(4)
    affine[:3, :3] = np.diag(step)
    affine[:3, 3] = centre - step * (np.array(shape) - 1) / 2
    return acq.Grid(shape, affine, "mni", native.thickness_mm, native.inplane_mm, native.is_3d)


def registration_residual(rng: np.random.Generator, centre: np.ndarray) -> np.ndarray:
    """World (MNI mm) → template mm after an imperfect affine registration: ±3°, ±3 mm, ±4 % per axis."""
    rot = acq.rotation_xyz(rng.uniform(-3, 3, 3))
    lin = rot @ np.diag(rng.uniform(0.96, 1.04, 3))
    m = np.eye(4)
    m[:3, :3] = lin
    m[:3, 3] = centre - lin @ centre + rng.uniform(-3, 3, 3)
    return m


def sample_storage(rng: np.random.Generator, top: float, gamma: float) -> acq.Storage:
    """dtype and scl_slope; WM's physical value chosen so the brightest tissue (`top` × WM before gamma)
    is stored near a dtype-typical level."""
    dtype = str(rng.choice(list(DTYPES), p=list(DTYPES.values())))
    level = log_uniform(rng, *LEVEL[dtype])
    slope = 1.0 if rng.random() < 0.5 else float(np.round(log_uniform(rng, 0.01, 100.0), 6))
    return acq.Storage(dtype, slope, level * slope / top**gamma)


def bias_field(grid: acq.Grid, rng: np.random.Generator, quadratic: float, lumpy: float) -> np.ndarray:
    """exp of a random quadratic (max |log| = `quadratic`) plus a smooth random 4×4×4 field (`lumpy`)."""
    coarse = tuple(max(2, s // 8) for s in grid.shape)
    x, y, z = np.meshgrid(*[np.linspace(-1, 1, c) for c in coarse], indexing="ij")
    q = sum(rng.standard_normal() * t for t in [x, y, z, x * y, y * z, x * z, x * x, y * y, z * z])
    n = ndi.zoom(rng.standard_normal((4, 4, 4)), [c / 4 for c in coarse], order=3, mode="nearest")
    log = quadratic * q / (np.abs(q).max() + 1e-9) + lumpy * n / (np.abs(n).max() + 1e-9)
    return ndi.zoom(np.exp(log).astype(np.float32), [s / c for s, c in zip(grid.shape, coarse)], order=1)


def ghost(img: np.ndarray, amplitude: float, axis: int, fraction: float) -> np.ndarray:
    """Motion ghost: a faint copy shifted by a fraction (1/2, 1/3, 1/4) of the field of view."""
    return img + amplitude * np.roll(img, int(round(img.shape[axis] * fraction)), axis=axis)


def field_at(coarse: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """A coarse random array spanning the template, evaluated (linearly) at template voxel coordinates."""
    scale = (np.array(coarse.shape) - 1) / (np.array(anatomy.load().shape) - 1)
    pos = coords * scale.astype(np.float32)[:, None, None, None]
    return ndi.map_coordinates(coarse.astype(np.float32), pos, order=1, mode="nearest", output=np.float32)


def bad_strip_mask(coords: np.ndarray, strip: dict) -> np.ndarray:
    """A skull-stripping mask gone wrong, on the scan grid: the brain boundary moved by a margin that
    varies smoothly over the head (eroded where < 0, leftover dura/skull where > 0), optional holes and
    optional leftover eyes."""
    a = anatomy.load()
    dist = ndi.map_coordinates(anatomy.brain_distance_mm(), coords, order=1, mode="nearest", output=np.float32)
    margin = strip["margin_mm"] + strip["wobble_mm"] * field_at(strip["wobble"], coords)
    keep = dist <= margin
    if strip["holes"] is not None:
        keep &= field_at(strip["holes"], coords) < strip["hole_level"]
    if strip["eyes"]:
        for centre in EYES_MM:
            v = np.linalg.solve(a.affine[:3, :3], centre - a.affine[:3, 3]).astype(np.float32)
            d2 = sum((coords[d] - v[d]) ** 2 for d in range(3))
            keep |= d2 <= EYE_RADIUS_MM**2
    return keep


def sample_stripping(rng: np.random.Generator, registered: bool) -> tuple[str, dict | None]:
    """none | hard | bad; research data on a template grid are mostly brain-extracted."""
    p = [0.2, 0.5, 0.3] if registered else [0.55, 0.25, 0.2]
    kind = str(rng.choice(["none", "hard", "bad"], p=p))
    if kind != "bad":
        return kind, None
    holes = rng.random() < 0.5
    return kind, {
        "margin_mm": float(rng.uniform(-4, 6)),
        "wobble_mm": float(rng.uniform(1, 5)),
        "wobble": rng.uniform(-1, 1, (5, 5, 5)),
        "holes": rng.standard_normal((12, 12, 12)) if holes else None,
        "hole_level": float(rng.uniform(1.0, 1.6)),
        "eyes": bool(rng.random() < 0.3),
    }


def coverage_mask(grid: acq.Grid, native: acq.Grid, grid_to_native_world: np.ndarray) -> np.ndarray:
    """On a registered grid: the voxels that the native acquisition covered (the rest is 0 in the file)."""
    m = np.linalg.inv(native.affine) @ grid_to_native_world
    idx = [np.arange(n, dtype=np.float32) for n in grid.shape]
    inside = np.ones(grid.shape, bool)
    for d in range(3):
        v = (
            m[d, 0] * idx[0][:, None, None]
            + m[d, 1] * idx[1][None, :, None]
            + m[d, 2] * idx[2][None, None, :]
            + m[d, 3]
        )
        inside &= (v >= -0.5) & (v <= native.shape[d] - 0.5)
    return inside


def smooth_noise(n: np.ndarray, sigma: float) -> np.ndarray:
    """Noise resampled onto a template grid is correlated: blur, then restore its sd."""
    sd = float(n[::3, ::3, ::3].std())
    out = ndi.gaussian_filter(n, sigma, truncate=2.5)
    return out * np.float32(sd / (float(out[::3, ::3, ::3].std()) + 1e-12))
