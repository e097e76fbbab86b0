"""Paper B's slice manifests resolve wherever the slices folder is named from (training.data reads a
manifest's paths relative to the manifest)."""
from __future__ import annotations

import csv
import json
import os

import nibabel as nib
import numpy as np

from experiments import paper_b
from experiments.paper_b import make_slices, pooled_manifest
from training import export
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


def test_ship_best_leaves_out_a_chosen_bundle_that_fails_the_shipping_rule(tmp_path, monkeypatch):
    """The slot winner on validation loss is exported, but only a bundle whose test AUC interval lies above
    0.70 stays in public/models and index.json; the other leaves no folder behind and is not marked shipped."""
    models, records = tmp_path / "models", tmp_path / "records"
    (models / "tsc-3d").mkdir(parents=True)
    (models / "tsc-3d" / "manifest.json").write_text("{}")
    (models / "index.json").write_text(json.dumps({"models": ["tsc-3d"]}))
    records.mkdir()
    aucs = {"ms-flair-axial-good": [0.74, 0.9], "ms-flair-axial-bad": [0.12, 0.56]}
    for i, rid in enumerate(aucs):
        (records / f"{rid}.json").write_text(json.dumps({"format": "qumri-run/1", "id": rid, "family": "paper_b",
                                                         "plane": "axial", "head": ["classical", "quantum"][i],
                                                         "best_val_loss": 0.6}))

    def export_choice(r, weights, models_dir):
        manifest = {"metrics": {"split": "test", "auc": {"value": 0.5, "ci95": aucs[r["id"]]}}, "files": {}}
        os.makedirs(os.path.join(models_dir, r["id"]))
        with open(os.path.join(models_dir, r["id"], "manifest.json"), "w") as f:
            json.dump(manifest, f)
        export.update_index(models_dir, r["id"])
        return manifest

    monkeypatch.setattr(paper_b, "choose_bundles", lambda recs, budget, no_f16: [(r, "float32") for r in recs])
    monkeypatch.setattr(paper_b, "export_choice", export_choice)
    monkeypatch.setattr(paper_b, "page_parity", lambda bundle_dir: 0.0)
    assert paper_b.ship_best(str(records), str(models)) == 0
    assert json.loads((models / "index.json").read_text())["models"] == ["tsc-3d", "ms-flair-axial-good"]
    assert not (models / "ms-flair-axial-bad").exists()
    shipped = {r["id"]: "shipped" in r for r in paper_b.load_records(str(records))}
    assert shipped == {"ms-flair-axial-good": True, "ms-flair-axial-bad": False}
