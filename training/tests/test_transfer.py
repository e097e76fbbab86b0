"""Transfer learning on a frozen backbone (paper B's large families): standardisation folded exactly,
BatchNorm recalibration, head search that learns and resumes."""
import csv
import os

import nibabel as nib
import numpy as np
import pytest
import torch

from training import data as D
from training import heads
from training.models import ModelConfig, build_head, build_model
from training.transfer import cache_features, head_search, recalibrate_batchnorm, standardize


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
            nib.save(nib.Nifti1Image(rng.uniform(0, 1, (32, 32, 1)).astype(np.float32), np.eye(4)), tmp_path / f"s{i}.nii.gz")
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
    assert torch.nn.functional.cross_entropy(head.eval()(x[40:]), y[40:]).item() == pytest.approx(best["value"], abs=1e-5)
    again = head_search(base, 8, data, str(tmp_path / "heads"), trials=3, epochs=300, patience=50)
    assert again["n_trials"] == 3 and again["value"] <= best["value"]
    assert len([f for f in os.listdir(tmp_path / "heads") if f.startswith("trial-")]) == 3
