"""2D export for paper B: one axial and one sagittal slice per subject, 224×224 8-bit PNG + lesion mask PNG.

Slice selection rule (the same for both classes, so slice position is no label cue):
1. The scan is reoriented to the closest RAS axes (no resampling); the head is the set of voxels above
   15 % of the scan's 99th percentile. The candidate band is 45–80 % of the head's inferior→superior
   extent for axial slices (lateral ventricles to centrum semiovale) and 20–80 % of its left→right
   extent for sagittal slices.
2. A target position is drawn uniformly in the band (seeded per subject and view).
3. Controls: the slice at the target. Patients: among band slices within ±8 mm of the target, the one
   with the most lesion pixels; if none has any, the band slice with the most lesion pixels; if the
   band has none, the target.
The slice is scaled to fit 224×224 keeping its physical aspect (bilinear; the mask nearest-neighbour),
zero-padded, and its intensities mapped so its 99.5th percentile is 255. Axial images show the patient's
right on the image's left (radiological), anterior up; sagittal images show anterior on the left,
superior up. Rows go to slices2d/slices.csv.
"""
from __future__ import annotations

import csv
import pathlib

import nibabel as nib
import numpy as np
from PIL import Image
from scipy import ndimage as ndi

SIZE = 224
BANDS = {"axial": (2, 0.45, 0.80), "sagittal": (0, 0.20, 0.80)}
COLUMNS = ["path", "mask_path", "label", "subject_id", "view", "slice_index", "slice_mm", "lesion_pixels"]


def prepare(out: pathlib.Path) -> None:
    for view in BANDS:
        (out / "slices2d" / view).mkdir(parents=True, exist_ok=True)


def choose_slice(head_profile: np.ndarray, lesion_profile: np.ndarray, lo: float, hi: float, spacing_mm: float,
                 is_patient: bool, rng: np.random.Generator) -> int:
    """The selection rule above, on per-slice head and lesion pixel counts along one axis."""
    occupied = np.nonzero(head_profile)[0]
    first, last = int(occupied[0]), int(occupied[-1])
    band = np.arange(int(round(first + lo * (last - first))), int(round(first + hi * (last - first))) + 1)
    target = int(round(rng.uniform(band[0], band[-1])))
    if not is_patient:
        return target
    near = band[np.abs(band - target) * spacing_mm <= 8]
    for pool in (near, band):
        if lesion_profile[pool].max() > 0:
            return int(pool[np.argmax(lesion_profile[pool])])
    return target


def _fit(img: np.ndarray, zooms: tuple[float, float], order: int) -> np.ndarray:
    """Scale a 2D slice (rows, cols) with physical pixel sizes to fit SIZE×SIZE, centred, zero-padded."""
    phys = np.array(img.shape) * np.array(zooms)
    scale = SIZE / phys.max()
    target = np.maximum(np.round(phys * scale).astype(int), 1)
    out = ndi.zoom(img, target / np.array(img.shape), order=order, grid_mode=True, mode="grid-constant")
    out = out[:SIZE, :SIZE]
    canvas = np.zeros((SIZE, SIZE), out.dtype)
    r0, c0 = (SIZE - out.shape[0]) // 2, (SIZE - out.shape[1]) // 2
    canvas[r0:r0 + out.shape[0], c0:c0 + out.shape[1]] = out
    return canvas


def _png(path: pathlib.Path, arr: np.ndarray) -> None:
    Image.fromarray(arr, mode="L").save(path, format="PNG", optimize=False)


def export(out: pathlib.Path, task: str, sid: str, label: int, r, seed: int, index: int) -> list[dict]:
    """Write the subject's axial and sagittal slices; return their rows for slices.csv."""
    from .subject import rng_for  # late: subject imports this module's package

    scan = nib.as_closest_canonical(nib.Nifti1Image(r.scan.astype(np.float32) * r.storage.slope, r.grid.affine))
    mask = nib.as_closest_canonical(nib.Nifti1Image(r.mask, r.grid.affine))
    vol, les = scan.get_fdata(dtype=np.float32), np.asanyarray(mask.dataobj) > 0
    zooms = scan.header.get_zooms()[:3]
    head = vol > 0.15 * np.percentile(vol, 99)
    rows = []
    for view, (axis, lo, hi) in BANDS.items():
        rng = rng_for(seed, task, index, "grid", "slice" + view)
        other = tuple(a for a in range(3) if a != axis)
        k = choose_slice(head.sum(other), les.sum(other), lo, hi, float(zooms[axis]), label == 1, rng)
        img = np.take(vol, k, axis=axis)
        m = np.take(les, k, axis=axis).astype(np.uint8)
        if view == "axial":  # (x, y) → rows = anterior→posterior, cols = right→left
            img, m, z2 = img[::-1, ::-1].T, m[::-1, ::-1].T, (zooms[1], zooms[0])
        else:                # (y, z) → rows = superior→inferior, cols = anterior→posterior
            img, m, z2 = img[::-1, ::-1].T, m[::-1, ::-1].T, (zooms[2], zooms[1])
        img = _fit(img, z2, 1)
        m = _fit(m, z2, 0)
        top = np.percentile(img[img > 0], 99.5) if np.any(img > 0) else 1.0
        img8 = np.clip(np.round(img / top * 255), 0, 255).astype(np.uint8)
        rel = f"slices2d/{view}/{sid}.png"
        rel_m = f"slices2d/{view}/{sid}_mask.png"
        _png(out / rel, img8)
        _png(out / rel_m, (m > 0).astype(np.uint8) * 255)
        rows.append({"path": rel, "mask_path": rel_m, "label": label, "subject_id": sid, "view": view,
                     "slice_index": k, "slice_mm": round(float(k * zooms[axis]), 2),
                     "lesion_pixels": int((m > 0).sum())})
    return rows


def write_manifest(out: pathlib.Path, rows: list[dict]) -> None:
    with open(out / "slices2d" / "slices.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
