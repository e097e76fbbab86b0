"""Derive the reduced Colin27 anatomy in this folder from Debian's mricron-data templates.

Run once by a maintainer (`/usr/bin/python3 -m synth.templates.build_templates`); the outputs are
committed so a fresh machine needs no extra package. Sources (BSD-3, see ATTRIBUTION.md):
/usr/share/mricron/templates/{ch2,ch2bet,aal,JHU-WhiteMatter-labels-1mm}.nii.gz.

Outputs, all on one cropped 1 mm grid in Colin27/MNI world coordinates:
- colin27_t1.nii.gz      uint8  Colin27 T1 with skull, scalp and upper neck (ch2)
- colin27_tissue.nii.gz  uint8  tissue classes (synth.anatomy.TISSUE)
- colin27_jhu.nii.gz     uint8  JHU white-matter tract labels (nearest neighbour)
"""
from __future__ import annotations

import pathlib

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

SRC = pathlib.Path("/usr/share/mricron/templates")
OUT = pathlib.Path(__file__).resolve().parent

# T1 intensity thresholds on ch2bet between CSF/GM and GM/WM (histogram valleys, see docs/synth.md).
T1_CSF_GM = 62
T1_GM_WM = 101
AAL_DEEP_GM = range(71, 79)  # caudate, putamen, pallidum, thalamus
AAL_CEREBELLUM = range(91, 117)


def _load(name: str) -> tuple[np.ndarray, np.ndarray]:
    img = nib.load(str(SRC / name))
    return np.asanyarray(img.dataobj), img.affine


def _resample_nearest(data: np.ndarray, affine: np.ndarray, target_shape, target_affine) -> np.ndarray:
    """Nearest-neighbour resampling of a label volume onto the target grid by world coordinates."""
    ijk = np.indices(target_shape).reshape(3, -1)
    world = target_affine[:3, :3] @ ijk + target_affine[:3, 3:4]
    src = np.linalg.inv(affine)
    vox = np.rint(src[:3, :3] @ world + src[:3, 3:4]).astype(int)
    ok = np.all((vox >= 0) & (vox < np.array(data.shape)[:, None]), axis=0)
    out = np.zeros(ijk.shape[1], dtype=data.dtype)
    out[ok] = data[vox[0, ok], vox[1, ok], vox[2, ok]]
    return out.reshape(target_shape)


def _ventricles(brain: np.ndarray, bet: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lateral ventricles and the 3rd ventricle from connected components of the darkest CSF.

    At T1 < 50 the lateral ventricles form one component near the midline above the thalami; the
    3rd ventricle joins the basal cisterns, so it is cut out of its component by an MNI box.
    """
    dark = brain & (bet < 50)
    lab, n = ndi.label(dark)
    sizes = np.bincount(lab.ravel())
    centres = ndi.center_of_mass(dark, lab, range(1, n + 1))
    inv_world = lambda c: affine[:3, :3] @ np.asarray(c) + affine[:3, 3]
    lateral_id = max(
        (i for i in range(1, n + 1) if abs(inv_world(centres[i - 1])[0]) < 10 and inv_world(centres[i - 1])[2] > 8),
        key=lambda i: sizes[i],
    )
    lateral = lab == lateral_id
    # Recover the partial-volume rim at the ventricle wall.
    lateral = ndi.binary_dilation(lateral, iterations=1) & (bet < T1_CSF_GM) & brain
    world = affine[:3, :3] @ np.indices(bet.shape).reshape(3, -1) + affine[:3, 3:4]
    x, y, z = (w.reshape(bet.shape) for w in world)
    box = (np.abs(x) < 5) & (y > -25) & (y < 5) & (z > -5) & (z < 20)
    third = dark & box & ~lateral
    return lateral, third


def build() -> None:
    t1, aff = _load("ch2.nii.gz")
    bet, _ = _load("ch2bet.nii.gz")
    aal, aal_aff = _load("aal.nii.gz")
    jhu_src, jhu_aff = _load("JHU-WhiteMatter-labels-1mm.nii.gz")
    assert np.allclose(aal_aff, aff)
    jhu = _resample_nearest(jhu_src, jhu_aff, t1.shape, aff)

    brain = ndi.binary_fill_holes(bet > 0)
    head = ndi.binary_fill_holes(ndi.binary_closing(t1 > 12, iterations=3))
    head = ndi.binary_opening(head, iterations=2)
    lab, n = ndi.label(head)
    head = lab == (np.argmax(np.bincount(lab.ravel())[1:]) + 1)
    # Intracranial space: brain plus the thin CSF shell that brain extraction removes.
    intracranial = ndi.binary_fill_holes(ndi.binary_dilation(brain, iterations=2)) & head
    shell = intracranial & ~brain & (t1 < T1_CSF_GM)

    tissue = np.zeros(t1.shape, np.uint8)
    tissue[head] = 1
    csf = brain & (bet < T1_CSF_GM)
    tissue[brain] = 5
    tissue[brain & (bet >= T1_GM_WM)] = 6
    tissue[csf | shell] = 2
    lateral, other = _ventricles(brain, bet, aff)
    tissue[lateral] = 3
    tissue[other] = 4
    deep = np.isin(aal, AAL_DEEP_GM) & brain & ~csf
    tissue[deep] = 7
    cereb = np.isin(aal, AAL_CEREBELLUM) & brain & ~csf
    tissue[cereb] = 8
    tissue[cereb & (bet >= T1_GM_WM - 6)] = 9
    world = aff[:3, :3] @ np.indices(t1.shape).reshape(3, -1) + aff[:3, 3:4]
    x, y, z = (w.reshape(t1.shape) for w in world)
    stem = brain & ~cereb & ~csf & ~lateral & (z < -8) & (np.abs(x) < 18) & (y > -45) & (y < -5)
    stem |= brain & ~cereb & ~csf & np.isin(jhu, [1, 2, 9, 10, 11, 12, 13, 14]) & (z < -8)
    tissue[stem & (tissue != 4)] = 10

    # Crop to the head's bounding box plus a margin; the generator pads the neck itself.
    nz = np.argwhere(head)
    lo = np.maximum(nz.min(0) - 3, 0)
    hi = np.minimum(nz.max(0) + 4, np.array(t1.shape))
    sl = tuple(slice(a, b) for a, b in zip(lo, hi))
    crop_aff = aff.copy()
    crop_aff[:3, 3] = aff[:3, :3] @ lo + aff[:3, 3]
    for name, data in [
        ("colin27_t1", np.where(head, t1, 0).astype(np.uint8)),
        ("colin27_tissue", tissue),
        ("colin27_jhu", jhu.astype(np.uint8)),
    ]:
        img = nib.Nifti1Image(np.ascontiguousarray(data[sl]), crop_aff)
        img.header.set_xyzt_units("mm")
        img.set_qform(crop_aff, 1)
        img.set_sform(crop_aff, 4)
        nib.save(img, str(OUT / f"{name}.nii.gz"))
    counts = np.bincount(tissue[sl].ravel(), minlength=11)
    print("grid", data[sl].shape, "tissue voxel counts", counts.tolist())


if __name__ == "__main__":
    build()
