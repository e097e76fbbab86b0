"""Transfer learning on a frozen backbone (paper B's large families): standardisation folded exactly,
BatchNorm recalibration, head search that learns and resumes."""
import csv
import json
import os

import nibabel as nib
import numpy as np
import pytest
import torch

from training import data as D
from training import heads
from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.models import ModelConfig, build_head, build_model
from training.train import TrainConfig
from training.transfer import (
    TransferPlan,
    cache_features,
    head_search,
    recalibrate_batchnorm,
    standardize,
    train_transfer,
)


def test_standardize_folds_into_the_first_dense_layer_exactly():
    torch.manual_seed(0)
    head = heads.amplitude_head(8, n_qubits=2, layers=1, hidden=[4]).eval()
    x = torch.randn(5, 8) * 3 + 1
    mean, std = x.mean(0), x.std(0)
    want = head((x - mean) / std)
    standardize(head, mean, std)
    torch.testing.assert_close(head(x), want, rtol=1e-5, atol=1e-6)


def slice_rows(tmp_path, n=6):
    rng = np.random.default_rng(0)
    with open(tmp_path / "slices.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "subject_id", "sequence"])
        for i in range(n):
            nib.save(
                nib.Nifti1Image(rng.uniform(0, 1, (32, 32, 1)).astype(np.float32), np.eye(4)), tmp_path / f"s{i}.nii.gz"
            )
            w.writerow([f"s{i}.nii.gz", i % 2, f"s{i}", "FLAIR"])
    return D.read_manifest(str(tmp_path / "slices.csv"))


def test_recalibration_estimates_trainable_batchnorms_and_keeps_frozen_ones(tmp_path):
    torch.manual_seed(0)
    bb = build_model(ModelConfig(backbone="resnet50", head="classical")).backbone
    rows = slice_rows(tmp_path)
    frozen_bn, trainable_bn = bb.trunk[1], bb.trunk[7][0].bn1  # stem BatchNorm (frozen), layer4's first
    recalibrate_batchnorm(bb, rows, [32, 32], batch=4)
    assert torch.equal(frozen_bn.running_mean, torch.zeros_like(frozen_bn.running_mean))
    assert not torch.equal(trainable_bn.running_var, torch.ones_like(trainable_bn.running_var))
    assert trainable_bn.momentum == 0.1 and not bb.training
    feats = cache_features(bb, rows, [32, 32])
    assert feats.shape == (6, 2048) and feats.std(0).max() > 0
    mirrored = cache_features(bb, rows[:1], [32, 32], mirror=True)
    with torch.no_grad():
        x = D.load_volume(rows[0], (32, 32))[None]
        torch.testing.assert_close(mirrored, bb(x.flip(-1))[0])


def test_head_search_learns_separable_features_and_resumes(tmp_path):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 2
    x = torch.randn(60, 8, generator=g) + 2.5 * y[:, None]
    data = {"train": (x[:40], y[:40]), "val": (x[40:], y[40:])}
    base = {**ModelConfig(backbone="densenet121", head="classical").__dict__}
    best = head_search(base, 8, data, str(tmp_path / "heads"), trials=2, epochs=300, patience=50)
    assert best["value"] < 0.45 and best["n_trials"] == 2
    head = build_head(ModelConfig(**best["model_args"]), 8)
    head.load_state_dict(best["head_state"])
    assert torch.nn.functional.cross_entropy(head.eval()(x[40:]), y[40:]).item() == pytest.approx(
        best["value"], abs=1e-5
    )
    again = head_search(base, 8, data, str(tmp_path / "heads"), trials=3, epochs=300, patience=50)
    assert again["n_trials"] == 3 and again["value"] <= best["value"]
    assert len([f for f in os.listdir(tmp_path / "heads") if f.startswith("trial-")]) == 3


def test_train_transfer_pretrains_once_tunes_the_head_and_checkpoints_the_folded_model(tmp_path):
    """Paper B's transfer pipeline end to end on tiny slices: both planes pooled for the backbone, one plane's
    head; the checkpoint's model (backbone + standardisation folded into the head) reproduces the tuned head's
    validation loss on the raw slices."""
    rng = np.random.default_rng(0)
    manifests = {}
    for plane in ("axial", "sagittal"):
        d = tmp_path / plane
        d.mkdir()
        with open(d / "slices.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "label", "subject_id", "sequence"])
            for i in range(20):
                img = rng.uniform(0, 1, (32, 32, 1)).astype(np.float32) + 0.5 * (i % 2)
                nib.save(nib.Nifti1Image(img, np.eye(4)), d / f"s{i}.nii.gz")
                w.writerow([f"s{i}.nii.gz", i % 2, f"s{i}", "FLAIR"])
        manifests[plane] = str(d / "slices.csv")
    with open(tmp_path / "pooled.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "subject_id", "sequence", "view"])
        for plane, m in manifests.items():
            for r in csv.DictReader(open(m)):
                w.writerow([f"{plane}/{r['path']}", r["label"], r["subject_id"], "FLAIR", plane])
    cfg = TrainConfig(
        manifest=manifests["axial"],
        out_dir=str(tmp_path / "run"),
        sequence="FLAIR",
        task="ms",
        grid="32,32",
        split_scheme="B",
        split_seed=1,
        data_description="tiny axial slices",
        backbone="resnet50",
        head="classical",
        batch_size=4,
        seed=1,
        num_threads=1,
        progress=False,
    )
    plan = TransferPlan(pretrain_epochs=1, trials=1, head_epochs=5, head_patience=5)
    spec = {"grid": [32, 32, 1]}
    ckpt_path, best, protocol, seconds = train_transfer(
        cfg, "axial", manifests["axial"], str(tmp_path / "pooled.csv"), str(tmp_path / "pre"), plan, spec
    )
    assert (
        protocol["kind"] == "transfer" and protocol["backbone"]["epochs_run"] == 1 and protocol["head"]["trials"] == 1
    )
    assert seconds > 0 and os.path.exists(tmp_path / "pre" / "features-axial.pt")
    ckpt = load_checkpoint(ckpt_path)
    assert (
        ckpt["preprocess"] == spec and ckpt["input_shape"] == [1, 1, 32, 32] and ckpt["best_val_loss"] == best["value"]
    )
    model = model_from_checkpoint(ckpt).eval()
    splits = json.load(open(tmp_path / "run" / "splits.json"))
    val = D.rows_in(D.read_manifest(manifests["axial"]), splits, "val")
    with torch.no_grad():
        logits = model(torch.stack([D.load_volume(r, (32, 32)) for r in val]))
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([r.label for r in val])).item()
    assert loss == pytest.approx(best["value"], abs=1e-4)
