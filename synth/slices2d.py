"""2D export for paper B: one axial and one sagittal slice per subject (or several, see the end), 224×224
8-bit PNG + lesion mask PNG.

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
zero-padded, and its intensities mapped so the median of its head pixels is 0.4 · 255 (`levels`). Axial images show the patient's
right on the image's left (radiological), anterior up; sagittal images show anterior on the left,
superior up. Rows go to slices2d/slices.csv.

Several slices per subject (experiments/paper_b.py --band; issue 20), each prepared exactly as above:
- patients: every slice of the candidate band with at least one lesion voxel (lesion_band), at most one
  per `gap_mm` of the axis; if none has any, the single slice of rule 3;
- lesion-free twins: the patient's own slice indices (same grid and anatomy);
- controls: a patient's slice positions as fractions of the head's extent, placed on the control's head
  (matched_slices), so neither slice position nor slice count tells the classes apart.
"""
from __future__ import annotations

import csv
import pathlib

import nibabel as nib
import numpy as np
from PIL import Image
from scipy import ndimage as ndi

SIZE = 224
HEAD_FRACTION = 0.15  # head pixels: above this fraction of the slice's 99th percentile
MEDIAN_LEVEL = 0.4  # the head's median, as a fraction of 255
BANDS = {"axial": (2, 0.45, 0.80), "sagittal": (0, 0.20, 0.80)}
COLUMNS = ["path", "mask_path", "label", "subject_id", "view", "slice_index", "slice_mm", "lesion_pixels"]


def prepare(out: pathlib.Path) -> None:
    for view in BANDS:
        (out / "slices2d" / view).mkdir(parents=True, exist_ok=True)


def extent(head_profile: np.ndarray) -> tuple[int, int]:
    """First and last slice with head voxels along the axis."""
    occupied = np.nonzero(head_profile)[0]
    return int(occupied[0]), int(occupied[-1])


def band(head_profile: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Slice indices of the candidate band: lo–hi of the head's extent along the axis."""
    first, last = extent(head_profile)
    return np.arange(int(round(first + lo * (last - first))), int(round(first + hi * (last - first))) + 1)


def choose_slice(
    head_profile: np.ndarray,
    lesion_profile: np.ndarray,
    lo: float,
    hi: float,
    spacing_mm: float,
    is_patient: bool,
    rng: np.random.Generator,
) -> int:
    """The selection rule above, on per-slice head and lesion pixel counts along one axis."""
    candidates = band(head_profile, lo, hi)
    target = int(round(rng.uniform(candidates[0], candidates[-1])))
    if not is_patient:
        return target
    near = candidates[np.abs(candidates - target) * spacing_mm <= 8]
    for pool in (near, candidates):
        if lesion_profile[pool].max() > 0:
            return int(pool[np.argmax(lesion_profile[pool])])
    return target


def lesion_band(lesion_profile: np.ndarray, band_indices: np.ndarray, spacing_mm: float, gap_mm: float) -> list[int]:
    """The band's slices with lesion voxels, thinned so kept slices lie at least gap_mm apart (0: all)."""
    kept: list[int] = []
    for k in band_indices:
        if lesion_profile[k] > 0 and (not kept or (k - kept[-1]) * spacing_mm >= gap_mm):
            kept.append(int(k))
    return kept


def fractions(head_profile: np.ndarray, indices: list[int]) -> list[float]:
    """Slice indices as fractions of the head's inferior→superior (left→right) extent."""
    first, last = extent(head_profile)
    return [(k - first) / max(last - first, 1) for k in indices]


def matched_slices(head_profile: np.ndarray, fracs: list[float], lo: float, hi: float) -> list[int]:
    """Another subject's slice positions (fractions of its head extent) on this head, inside this band."""
    first, last = extent(head_profile)
    b = band(head_profile, lo, hi)
    return sorted({int(np.clip(round(first + f * (last - first)), b[0], b[-1])) for f in fracs})


def _fit(img: np.ndarray, zooms: tuple[float, float], order: int) -> np.ndarray:
    """Scale a 2D slice (rows, cols) with physical pixel sizes to fit SIZE×SIZE, centred, zero-padded."""
    phys = np.array(img.shape) * np.array(zooms)
    scale = SIZE / phys.max()
    target = np.maximum(np.round(phys * scale).astype(int), 1)
    out = ndi.zoom(img, target / np.array(img.shape), order=order, grid_mode=True, mode="grid-constant")
    out = out[:SIZE, :SIZE]
    canvas = np.zeros((SIZE, SIZE), out.dtype)
    r0, c0 = (SIZE - out.shape[0]) // 2, (SIZE - out.shape[1]) // 2
    canvas[r0 : r0 + out.shape[0], c0 : c0 + out.shape[1]] = out
    return canvas


def _png(path: pathlib.Path, arr: np.ndarray) -> None:
    Image.fromarray(arr, mode="L").save(path, format="PNG", optimize=False)


class Oriented:
    """A rendered subject on the closest RAS axes: volume, lesion voxels, voxel sizes, head voxels."""

    def __init__(self, r):
        scan = nib.as_closest_canonical(nib.Nifti1Image(r.scan.astype(np.float32) * r.storage.slope, r.grid.affine))
        mask = nib.as_closest_canonical(nib.Nifti1Image(r.mask, r.grid.affine))
        self.vol, self.les = scan.get_fdata(dtype=np.float32), np.asanyarray(mask.dataobj) > 0
        self.zooms = scan.header.get_zooms()[:3]
        self.head = self.vol > 0.15 * np.percentile(self.vol, 99)

    def profiles(self, view: str) -> tuple[np.ndarray, np.ndarray]:
        """Head and lesion voxel counts per slice along the view's axis."""
        other = tuple(a for a in range(3) if a != BANDS[view][0])
        return self.head.sum(other), self.les.sum(other)

    def picture(self, view: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Slice k of the view as the 8-bit 224×224 image and its 0/1 lesion mask."""
        axis = BANDS[view][0]
        zooms = self.zooms
        img = np.take(self.vol, k, axis=axis)
        m = np.take(self.les, k, axis=axis).astype(np.uint8)
        if view == "axial":  # (x, y) → rows = anterior→posterior, cols = right→left
            img, m, z2 = img[::-1, ::-1].T, m[::-1, ::-1].T, (zooms[1], zooms[0])
        else:  # (y, z) → rows = superior→inferior, cols = anterior→posterior
            img, m, z2 = img[::-1, ::-1].T, m[::-1, ::-1].T, (zooms[2], zooms[1])
        return levels(_fit(img, z2, 1)), (_fit(m, z2, 0) > 0).astype(np.uint8)


def levels(img: np.ndarray) -> np.ndarray:
    """8-bit levels of a fitted float32 slice: the median of its head pixels (above 15 % of the positive
    pixels' 99th percentile) → 0.4 · 255, clipped at 255.

    Mapping the 99.5th percentile to 255 instead clipped a median 57 % of lesion pixels (FLAIR lesions are
    the slice's brightest tissue, above that percentile) and put the head's median at level 185, so a lesion
    and bright normal tissue read alike; anchored to the median, lesions up to 2.5× it keep their contrast
    and a lesion load does not rescale the rest of the slice (the 3D `reference` rule's reasoning).
    Scalars are rounded to float32 once, as the page's slice2d.ts does."""
    pos = img[img > 0]
    if pos.size == 0:
        return np.zeros(img.shape, np.uint8)
    cut = np.float32(HEAD_FRACTION * float(np.percentile(pos, 99)))
    top = np.float32(float(np.percentile(pos[pos > cut], 50)) / MEDIAN_LEVEL)
    return np.clip(np.round(img / top * 255), 0, 255).astype(np.uint8)


def write_slice(out: pathlib.Path, o: Oriented, view: str, k: int, name: str, label: int, sid: str) -> dict:
    """Slice k's PNG and mask PNG under slices2d/<view>/<name>…; returns its row for slices.csv."""
    img8, m = o.picture(view, k)
    rel, rel_m = f"slices2d/{view}/{name}.png", f"slices2d/{view}/{name}_mask.png"
    _png(out / rel, img8)
    _png(out / rel_m, m * 255)
    return {
        "path": rel,
        "mask_path": rel_m,
        "label": label,
        "subject_id": sid,
        "view": view,
        "slice_index": k,
        "slice_mm": round(float(k * o.zooms[BANDS[view][0]]), 2),
        "lesion_pixels": int(m.sum()),
    }


def single_slices(o: Oriented, task: str, label: int, seed: int, index: int) -> dict[str, list[int]]:
    """Per view, the one slice of the selection rule above."""
    from .subject import rng_for  # late: subject imports this module's package

    out = {}
    for view, (axis, lo, hi) in BANDS.items():
        rng = rng_for(seed, task, index, "grid", "slice" + view)
        out[view] = [choose_slice(*o.profiles(view), lo, hi, float(o.zooms[axis]), label == 1, rng)]
    return out


def patient_band(o: Oriented, task: str, seed: int, index: int, gap_mm: float) -> dict[str, list[int]]:
    """Per view, the lesion-bearing slices of the band; the single rule-3 slice where the band has none."""
    out = {}
    for view, (axis, lo, hi) in BANDS.items():
        head, les = o.profiles(view)
        out[view] = (
            lesion_band(les, band(head, lo, hi), float(o.zooms[axis]), gap_mm)
            or single_slices(o, task, 1, seed, index)[view]
        )
    return out


def export(out: pathlib.Path, task: str, sid: str, label: int, r, seed: int, index: int) -> list[dict]:
    """Write the subject's axial and sagittal slices; return their rows for slices.csv."""
    o = Oriented(r)
    return [
        write_slice(out, o, view, ks[0], sid, label, sid)
        for view, ks in single_slices(o, task, label, seed, index).items()
    ]


def write_manifest(out: pathlib.Path, rows: list[dict]) -> None:
    with open(out / "slices2d" / "slices.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
