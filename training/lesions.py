"""Lesion masks of the synthetic cohorts sampled onto the model grid of a prepared volume.

The generator writes each mask on its scan's own grid; `qumri preprocess` moves the scan onto the
model grid and records that grid's affine in the prepared NIfTI. Both affines together map every
model voxel to the raw mask, so the mask follows the scan exactly (reorientation, skull-strip crop,
resampling) without running the preprocessing a second time.
"""
from __future__ import annotations

import numpy as np


def mask_on_grid(prepared: str, mask_path: str) -> np.ndarray:
    """The raw mask linearly interpolated at every model voxel, float32 in [0, 1], tensor order [nz, ny, nx]."""
    import nibabel as nib
    from scipy import ndimage as ndi

    prep, raw = nib.load(prepared), nib.load(mask_path)
    nx, ny, nz = prep.shape[:3]
    ijk = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"), 0).reshape(3, -1)
    world = prep.affine[:3, :3] @ ijk + prep.affine[:3, 3:4]
    inv = np.linalg.inv(raw.affine)
    raw_ijk = inv[:3, :3] @ world + inv[:3, 3:4]
    m = ndi.map_coordinates((np.asarray(raw.dataobj) > 0).astype(np.float32), raw_ijk, order=1, mode="constant", cval=0)
    return np.ascontiguousarray(m.reshape(nx, ny, nz).transpose(2, 1, 0))
