"""A tiny generated cohort on a small model grid for the pipeline tests (no /work/shared data)."""
import csv
import os

import nibabel as nib
import numpy as np

from training.export import save_model_grid_nifti


def make_cohort(
    root: str,
    n_per_class: int = 8,
    shape=(32, 32, 32),
    seed: int = 0,
    sequence: str = "FLAIR",
    voxel_mm: float = 1.0,
    masks: bool = False,
) -> str:
    """Smooth noisy 'brains'; positives carry a few bright blobs ('lesions'). Returns the manifest path.
    voxel_mm > 1 makes head-sized raw scans for the preprocessing CLI; masks=True also writes each
    positive's blob mask (same grid) in a lesion_mask column."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, "vols"), exist_ok=True)
    grids = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    brain = np.exp(-sum(g**2 for g in grids) / 0.5)
    rows = []
    for label in (0, 1):
        for i in range(n_per_class):
            v = 0.5 * brain + 0.05 * rng.standard_normal(shape)
            blobs = np.zeros(shape)
            if label:
                for _ in range(3):
                    c = rng.uniform(-0.5, 0.5, 3)
                    blobs += 0.6 * np.exp(-sum((g - ci) ** 2 for g, ci in zip(grids, c)) / 0.01)
            v += blobs
            v = np.clip(v, 0, 1).astype(np.float32)
            name = f"vols/sub-{label}{i:02d}.nii.gz"
            save_model_grid_nifti(v, os.path.join(root, name))
            if voxel_mm != 1.0:
                img = nib.load(os.path.join(root, name))
                nib.save(
                    nib.Nifti1Image(np.asarray(img.dataobj), np.diag([voxel_mm] * 3 + [1.0])), os.path.join(root, name)
                )
            row = {"path": name, "label": label, "subject_id": f"sub-{label}{i:02d}", "sequence": sequence}
            if masks:
                row["lesion_mask"] = ""
                if label:
                    row["lesion_mask"] = f"vols/sub-{label}{i:02d}_lesion.nii.gz"
                    nib.save(
                        nib.Nifti1Image(
                            (blobs > 0.3).transpose(2, 1, 0).astype(np.uint8), nib.load(os.path.join(root, name)).affine
                        ),
                        os.path.join(root, row["lesion_mask"]),
                    )
            rows.append(row)
    path = os.path.join(root, "manifest.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path
