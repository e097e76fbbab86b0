"""Acquisition: clinical grids and orientations, slice profile, bias field, Rician noise, ghosting, storage.

A grid is drawn per subject: 2D multi-slice (in-plane 0.45–1 mm, slices 3–5 mm plus a gap) or 3D
(about 1 mm isotropic), axial mostly, with an oblique tilt, a random field of view and random axis
flips in the stored array. Values are stored as int16 or uint16 with a scanner-like scl_slope.
"""
from __future__ import annotations

import dataclasses
import gzip

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

# Base orientation: columns are the world directions of the array axes i, j, k (RAS world).
ORIENTATIONS = {
    "axial": np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], float),
    "sagittal": np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], float),
    "coronal": np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0]], float),
}


@dataclasses.dataclass(frozen=True)
class Grid:
    shape: tuple[int, int, int]
    affine: np.ndarray  # array index → world mm
    orientation: str
    thickness_mm: float  # slice profile width along k
    inplane_mm: float
    is_3d: bool


def rotation_xyz(angles_deg: np.ndarray) -> np.ndarray:
    ax, ay, az = np.deg2rad(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def sample_grid(
    rng: np.random.Generator, head_extent_mm: np.ndarray, centre_world: np.ndarray, coarsen: float = 1.0
) -> Grid:
    """A clinical grid covering the head: extent (x, y, z) in mm of the subject's head.

    `coarsen` > 1 multiplies the voxel size after all draws (same field of view, fewer voxels): for
    tests and previews; cohorts use 1.
    """
    orientation = str(rng.choice(list(ORIENTATIONS), p=[0.7, 0.15, 0.15]))
    is_3d = rng.random() < 0.35
    if is_3d:
        inplane = float(rng.uniform(0.9, 1.1))
        thickness = float(rng.uniform(0.9, 1.3))
        spacing_k = thickness
    else:
        inplane = float(rng.uniform(0.45, 1.0))
        thickness = float(rng.uniform(3.0, 5.0))
        spacing_k = thickness + float(rng.choice([0.0, 0.0, 0.3, 0.5, 1.0]))
    base = ORIENTATIONS[orientation].copy()
    for ax in range(3):  # scanners store axes in either sense (e.g. radiological LPS arrays)
        if rng.random() < 0.5:
            base[:, ax] *= -1
    tilt = np.array([rng.uniform(-20, 20), rng.uniform(-6, 6), rng.uniform(-6, 6)])  # AC–PC-like obliques
    dirs = rotation_xyz(tilt) @ base
    k_axis = int(np.argmax(np.abs(dirs[:, 2])))
    in_axes = [ax for ax in range(3) if ax != k_axis]
    fov_inplane = float(np.clip(np.max(head_extent_mm[in_axes]) * rng.uniform(1.0, 1.2), 160, 256))
    inplane *= coarsen
    spacing_k *= coarsen
    thickness *= coarsen
    n_inplane = int(round(fov_inplane / inplane))
    # Through-plane coverage: the head (skull base up) with a random margin; 3D slabs reach the neck.
    cover = head_extent_mm[k_axis] * (rng.uniform(0.8, 0.95) if not is_3d else rng.uniform(0.95, 1.2))
    n_k = max(int(round(cover / spacing_k)), 12)
    shape = (n_inplane, n_inplane, n_k)
    spacing = np.array([inplane, inplane, spacing_k])
    lin = dirs * spacing
    offset = centre_world + rng.uniform(-8, 8, 3)
    if not is_3d and k_axis == 2:
        offset[2] += rng.uniform(5, 15)  # axial slabs are placed from the vertex down
    origin = offset - lin @ ((np.array(shape) - 1) / 2)
    affine = np.eye(4)
    affine[:3, :3] = lin
    affine[:3, 3] = origin
    return Grid(shape, affine, orientation, thickness, inplane, is_3d)


def bias_field(grid: Grid, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Smooth multiplicative field: exp of a random quadratic in scanner coordinates, on a coarse grid."""
    coarse = tuple(max(2, s // 8) for s in grid.shape)
    axes = [np.linspace(-1, 1, c) for c in coarse]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    terms = [x, y, z, x * y, y * z, x * z, x * x, y * y, z * z]
    log = sum(rng.standard_normal() * t for t in terms)
    log = amplitude * log / (np.abs(log).max() + 1e-9)
    return ndi.zoom(np.exp(log).astype(np.float32), [s / c for s, c in zip(grid.shape, coarse)], order=1)


def rician(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The two Gaussian channels of the noise; magnitude = sqrt((s + n1)^2 + n2^2)."""
    n1 = rng.standard_normal(clean.shape, dtype=np.float32) * np.float32(sigma)
    n2 = rng.standard_normal(clean.shape, dtype=np.float32) * np.float32(sigma)
    return n1, n2


def magnitude(clean: np.ndarray, n1: np.ndarray, n2: np.ndarray) -> np.ndarray:
    return np.sqrt((clean + n1) ** 2 + n2**2)


def ghost(img: np.ndarray, amplitude: float, axis: int) -> np.ndarray:
    """Motion-like N/2 ghost: a faint copy shifted by half the field of view along the phase axis."""
    return img + amplitude * np.roll(img, img.shape[axis] // 2, axis=axis)


@dataclasses.dataclass(frozen=True)
class Storage:
    dtype: str  # int16 | uint16 (randomised mode also uint8 | float32)
    slope: float  # scl_slope (1.0: unscaled)
    white: float  # physical value of adult white matter


def sample_storage(rng: np.random.Generator) -> Storage:
    dtype = "int16" if rng.random() < 0.8 else "uint16"
    slope = 1.0 if rng.random() < 0.5 else float(np.round(rng.uniform(0.3, 4.0), 6))
    return Storage(dtype, slope, float(rng.uniform(150, 1500)))


def nifti_bytes(data: np.ndarray, affine: np.ndarray, slope: float = 1.0, description: str = "") -> bytes:
    """Gzipped single-file NIfTI-1, qform = sform = the scanner affine, our scl_slope kept as given.

    Written by hand (header block + data) because nibabel recomputes scaling on save; gzip mtime is 0
    so the same input gives the same bytes.
    """
    img = nib.Nifti1Image(data, affine)
    hdr = img.header
    hdr.set_xyzt_units("mm", "sec")
    img.set_qform(affine, 1)
    img.set_sform(affine, 1)
    hdr["vox_offset"] = 352
    hdr["scl_slope"] = slope
    hdr["scl_inter"] = 0.0
    hdr["cal_min"], hdr["cal_max"] = 0.0, 0.0
    hdr["descrip"] = description[:79].encode()
    body = np.asarray(data, dtype=data.dtype.newbyteorder("<")).tobytes(order="F")
    return gzip.compress(hdr.binaryblock + b"\x00" * 4 + body, compresslevel=4, mtime=0)


def quantise(phys: np.ndarray, storage: Storage) -> np.ndarray:
    if storage.dtype == "float32":
        return (phys / storage.slope).astype(np.float32)
    hi = {"uint8": 255, "int16": 32767, "uint16": 65535}[storage.dtype]
    return np.clip(np.rint(phys / storage.slope), 0, hi).astype(storage.dtype)
