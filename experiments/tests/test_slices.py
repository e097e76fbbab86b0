"""Paper B's slice manifests resolve wherever the slices folder is named from (training.data reads a
manifest's paths relative to the manifest)."""
from __future__ import annotations

import csv
import os

import nibabel as nib
import numpy as np

from experiments.paper_b import make_slices, pooled_manifest
from training.data import read_manifest


def tiny_raw_cohort(root) -> None:
    (root / "scans").mkdir(parents=True)
    yy, xx, zz = np.mgrid[:24, :24, :24]
    head = ((xx - 12) ** 2 + (yy - 12) ** 2 + (zz - 12) ** 2 < 81).astype(np.float32)
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "lesion_mask", "subject_id", "label", "task", "seed"])
        for i, label in enumerate((0, 1)):
            mask = np.zeros_like(head, dtype=np.uint8)
            mask[10:13, 10:13, 12:15] = label
            nib.save(nib.Nifti1Image(head * 100 + mask * 50, np.eye(4)), root / "scans" / f"ms-000{i}.nii.gz")
            nib.save(nib.Nifti1Image(mask, np.eye(4)), root / "scans" / f"ms-000{i}_mask.nii.gz")
            w.writerow([f"scans/ms-000{i}.nii.gz", f"scans/ms-000{i}_mask.nii.gz", f"ms-000{i}", label, "ms", 2])


def test_slice_manifests_resolve_from_a_relative_slices_folder(tmp_path, monkeypatch):
    tiny_raw_cohort(tmp_path / "raw")
    monkeypatch.chdir(tmp_path)
    manifests = make_slices("raw", "slices")
    for plane, m in manifests.items():
        rows = read_manifest(m)
        assert [r.subject_id for r in rows] == ["ms-0000", "ms-0001"] and [r.label for r in rows] == [0, 1]
    pooled = read_manifest(pooled_manifest(manifests, "slices"))
    assert sorted(os.path.normpath(r.path) for r in pooled) == \
        sorted(os.path.normpath(r.path) for m in manifests.values() for r in read_manifest(m))
    with open(tmp_path / "slices" / "pooled.csv") as f:
        assert all((tmp_path / "slices" / r["slice_png"]).is_file() for r in csv.DictReader(f))
