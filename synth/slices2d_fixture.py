"""Writes fixtures/slices2d/: a small oblique, permuted, anisotropic volume (volume.nii.gz) and the axial
and sagittal PNGs that synth/slices2d.py's own export makes of it, with the slice indices it chose
(slices.json). src/core/preprocess/slice2d.test.ts checks the page's trainingSlice against them.

Usage (repo root; part of `npm run fixtures`): /usr/bin/python3 -m synth.slices2d_fixture
"""
from __future__ import annotations

import json
import pathlib
import shutil
import tempfile
import types

import nibabel as nib
import numpy as np

from . import slices2d

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "slices2d"


def affine() -> np.ndarray:
    """Voxel i → posterior (1.1 mm), j → patient left (0.9 mm), k → superior (2.4 mm), turned 6° about z."""
    cols = np.array([[0, -1.1, 0], [-0.9, 0, 0], [0, 0, 2.4]]).T
    t = np.deg2rad(6)
    rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    a = np.eye(4)
    a[:3, :3] = rot @ cols
    a[:3, 3] = [20, 25, -20]
    return a


def phantom(shape: tuple[int, int, int], aff: np.ndarray) -> np.ndarray:
    """A head (ellipsoid with a smooth gradient) on a dim background that reaches the volume's edges, and two
    bright graded bars: one in the right anterior quarter through every axial slice, one along the anterior
    superior edge through every sagittal slice. The background lies below the head cut (15 % of the 99th
    percentile) and the bars partly above 2.5× the head's median, so both the cut and the clip act."""
    ijk = np.indices(shape).reshape(3, -1)
    x, y, z = (aff[:3, :3] @ ijk + aff[:3, 3:]).reshape(3, *shape)
    c = [(v.max() + v.min()) / 2 for v in (x, y, z)]
    r = [(v.max() - v.min()) / 2 * 0.85 for v in (x, y, z)]
    u, v, w = ((x - c[0]) / r[0], (y - c[1]) / r[1], (z - c[2]) / r[2])
    head = u**2 + v**2 + w**2 <= 1
    vol = np.where(head, 80 + 40 * v + 20 * w - 10 * u, 12 + 4 * u)
    bar = head & (v > 0.4) & (w > 0.4)  # anterior superior
    vol[bar] = 170 + 40 * w[bar]
    bar = head & (u > 0.3) & (u < 0.6) & (v > 0.3) & (v < 0.6)  # right anterior
    vol[bar] = 200 + 50 * u[bar] - 20 * w[bar]
    return np.clip(np.round(vol), 0, 255).astype(np.uint8)


def main() -> None:
    aff = affine()
    shape = (36, 44, 20)
    OUT.mkdir(parents=True, exist_ok=True)
    vol_path = OUT / "volume.nii.gz"
    nib.save(nib.Nifti1Image(phantom(shape, aff), aff), vol_path)
    img = nib.load(vol_path)  # the stored (float32) affine, as the page reads it
    r = types.SimpleNamespace(
        scan=np.asanyarray(img.dataobj),
        storage=types.SimpleNamespace(slope=1.0),
        grid=types.SimpleNamespace(affine=img.affine),
        mask=np.zeros(shape, np.uint8),
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        slices2d.prepare(out)
        rows = slices2d.export(out, "ms", "fixture", 0, r, 0, 0)
        for row in rows:
            shutil.copy(out / row["path"], OUT / f"{row['view']}.png")
    (OUT / "slices.json").write_text(json.dumps({row["view"]: row["slice_index"] for row in rows}) + "\n")


if __name__ == "__main__":
    main()
