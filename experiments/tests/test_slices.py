"""Paper B's slice manifests: they resolve wherever the slices folder is named from (training.data reads a
manifest's paths relative to the manifest); several slices per subject with masks (issue 20) and the 2D
lesion-map pre-training that initialises the transfer backbone from them; shipping."""
from __future__ import annotations

import csv
import dataclasses
import json
import os

import nibabel as nib
import numpy as np
import pytest
import torch

from experiments import paper_b
from experiments.paper_b import make_slices, pooled_manifest
from training import data as D
from training import export
from training.checkpoint import load_checkpoint
from training.data import read_manifest
from training.pretrain import PretrainConfig, pretrain
from training.train import TrainConfig
from training.transfer import TransferPlan, train_transfer


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
    assert sorted(os.path.normpath(r.path) for r in pooled) == sorted(
        os.path.normpath(r.path) for m in manifests.values() for r in read_manifest(m)
    )
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
        (records / f"{rid}.json").write_text(
            json.dumps(
                {
                    "format": "qumri-run/1",
                    "id": rid,
                    "family": "paper_b",
                    "plane": "axial",
                    "head": ["classical", "quantum"][i],
                    "best_val_loss": 0.6,
                }
            )
        )

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


def band_raw_cohort(root, n_per_class: int = 7) -> None:
    """Spherical heads on a 1 mm grid; patients (odd indices) carry a bright 3-voxel cube lesion at x 10–12,
    z 12–14 and a lesion-free twin (paired_path); controls have none."""
    (root / "scans").mkdir(parents=True)
    yy, xx, zz = np.mgrid[:24, :24, :24]
    head = ((xx - 12) ** 2 + (yy - 12) ** 2 + (zz - 12) ** 2 < 81).astype(np.float32)
    lesion = np.zeros_like(head, dtype=np.uint8)
    lesion[10:13, 10:13, 12:15] = 1
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "lesion_mask", "subject_id", "label", "task", "seed", "paired_path"])
        for i in range(2 * n_per_class):
            sid, label = f"ms-{i:04d}", i % 2
            mask = lesion * label
            nib.save(nib.Nifti1Image(head * 100 + mask * 50, np.eye(4)), root / "scans" / f"{sid}.nii.gz")
            nib.save(nib.Nifti1Image(mask, np.eye(4)), root / "scans" / f"{sid}_mask.nii.gz")
            if label:
                nib.save(nib.Nifti1Image(head * 100, np.eye(4)), root / "scans" / f"{sid}_nolesion.nii.gz")
            w.writerow(
                [
                    f"scans/{sid}.nii.gz",
                    f"scans/{sid}_mask.nii.gz",
                    sid,
                    label,
                    "ms",
                    2,
                    f"scans/{sid}_nolesion.nii.gz" if label else "",
                ]
            )


def test_band_slices_cover_the_lesions_match_controls_and_keep_the_subject_split(tmp_path):
    """Issue 20's data: every lesion-bearing band slice of a patient, its twin's at the same indices (outside
    test), each control at its matched patient's positions; masks on the slices' grid; the subjects' split is
    the one-slice manifests' own, with each twin in its patient's split."""
    band_raw_cohort(tmp_path / "raw")
    one = make_slices(str(tmp_path / "raw"), str(tmp_path / "one"))
    many = make_slices(str(tmp_path / "raw"), str(tmp_path / "band"), band=True)
    gapped = make_slices(str(tmp_path / "raw"), str(tmp_path / "gap"), band=True, gap_mm=2)
    lesion_slices = {"axial": [12, 13, 14], "sagittal": [10, 11, 12]}  # inside both candidate bands
    for plane, m in many.items():
        with open(m) as f:
            recs = list(csv.DictReader(f))
        by_subject = {}
        for r in recs:
            by_subject.setdefault(r["subject_id"], []).append(int(r["slice_index"]))
        rows = read_manifest(m)
        split = D.make_splits(rows, "B", 1)
        plain = D.make_splits(read_manifest(one[plane]), "B", 1)
        for k in ("train", "val", "test"):
            assert [s for s in split[k] if not s.endswith("-twin")] == plain[k]
        for i in range(14):
            sid = f"ms-{i:04d}"
            assert by_subject[sid] == lesion_slices[plane]  # controls: the same head, so the same positions
            if i % 2:
                twin_split = [k for k in ("train", "val", "test") if sid + "-twin" in split[k]]
                assert twin_split == ([] if sid in split["test"] else [k for k in ("train", "val") if sid in split[k]])
                if twin_split:
                    assert by_subject[sid + "-twin"] == lesion_slices[plane]
        for r, rec in zip(rows, recs):
            assert r.label == int(rec["label"]) and (rec["twin_of"] != "") == r.subject_id.endswith("-twin")
            img = D.load_volume(r, (224, 224))[0]
            mask = D.load_volume(D.Row(r.index, r.extra["lesion_mask"], r.label, r.subject_id, ""), (224, 224))[0]
            assert int(mask.sum()) == int(rec["lesion_pixels"]) and (mask.sum() > 0) == (r.label == 1)
            if r.label:  # the mask lies on the lesion: brighter than the rest of the head
                assert img[mask > 0].mean() > img[(img > 0.1) & (mask == 0)].mean() + 0.1
        with open(gapped[plane]) as f:
            assert {int(r["slice_index"]) for r in csv.DictReader(f)} == set(lesion_slices[plane][::2])


def test_lesion_map_pretraining_on_band_slices_initialises_the_transfer_backbone(tmp_path):
    """Smoke test of issue 20's path: band slices with masks → 2D lesion-map pre-training (1 epoch) → paper B's
    transfer pre-training starts from that backbone (at lr 1e-9 its weights stay the lesion-map ones); a
    pre-training folder begun from another initialisation is refused."""
    torch.set_num_threads(1)
    band_raw_cohort(tmp_path / "raw")
    manifests = make_slices(str(tmp_path / "raw"), str(tmp_path / "slices"), band=True, gap_mm=2)
    pooled = pooled_manifest(manifests, str(tmp_path / "slices"))
    init = pretrain(
        PretrainConfig(
            manifest=pooled,
            out_dir=str(tmp_path / "lesionmap"),
            sequence="FLAIR",
            grid="224,224",
            split_scheme="B",
            backbone="cnn",
            epochs=1,
            batch_size=8,
            num_threads=1,
        )
    )
    saved = torch.load(init)
    assert saved["backbone_args"] == {"backbone": "cnn"} and len(saved["history"]) == 1
    assert np.isfinite(saved["best_val_loss"]) and len(saved["history"][0]["val_dice_per_stage"]) == 2
    assert saved["splits"]["train"] == D.make_splits(read_manifest(pooled), "B", 1)["train"]
    with pytest.raises(SystemExit, match="another configuration"):
        pretrain(
            PretrainConfig(
                manifest=pooled,
                out_dir=str(tmp_path / "lesionmap"),
                sequence="FLAIR",
                grid="224,224",
                split_scheme="B",
                backbone="cnn",
                epochs=1,
                batch_size=8,
                lr=0.01,
            )
        )
    cfg = TrainConfig(
        manifest=manifests["axial"],
        out_dir=str(tmp_path / "run"),
        sequence="FLAIR",
        task="ms",
        grid="224,224",
        split_scheme="B",
        split_seed=1,
        data_description="tiny axial band slices",
        backbone="cnn",
        head="classical",
        batch_size=8,
        seed=1,
        num_threads=1,
        progress=False,
    )
    plan = TransferPlan(
        pretrain_epochs=1, pretrain_lr=1e-9, trials=1, head_epochs=2, head_patience=2, init_backbone=init
    )
    _, _, protocol, _ = train_transfer(
        cfg, "axial", manifests["axial"], pooled, str(tmp_path / "pre"), plan, paper_b.SPEC_2D
    )
    assert protocol["backbone"]["init"].startswith("lesion-map pre-training")
    pre = load_checkpoint(str(tmp_path / "pre" / "ckpt.pt"))
    assert pre["config"]["init_backbone"] == init
    for k, v in saved["backbone"].items():
        torch.testing.assert_close(pre["model"]["backbone." + k], v, atol=1e-6, rtol=0)
    with pytest.raises(SystemExit, match="pre-trained from"):
        train_transfer(
            cfg,
            "axial",
            manifests["axial"],
            pooled,
            str(tmp_path / "pre"),
            dataclasses.replace(plan, init_backbone=""),
            paper_b.SPEC_2D,
        )
