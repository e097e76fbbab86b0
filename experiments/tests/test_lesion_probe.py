"""experiments.lesion_probe / lesion_grid helpers and the report's diagnostics section, on data made here."""
from __future__ import annotations

import json

import numpy as np
import pytest

from experiments import report
from experiments.lesion_probe import TAIL_KS, bright_tail, pair_wins


def test_bright_tail_counts_voxels_far_above_the_brain_median():
    rng = np.random.default_rng(0)
    v = np.zeros((20, 20, 20), np.float32)
    v[2:18, 2:18, 2:18] = rng.normal(0.5, 0.02, (16, 16, 16))      # brain: median 0.5, robust SD 0.02
    flat = v[2:18, 2:18, 2:18].reshape(-1)
    flat[:41] = 0.9                                                 # 1 % "lesion" voxels, 20 SD above
    v[2:18, 2:18, 2:18] = flat.reshape(16, 16, 16)
    t = bright_tail(v)
    assert t.shape == (len(TAIL_KS),)
    assert t[-1] == pytest.approx(41 / 4096, abs=2 / 4096)          # at 5 SD only the lesions (and ~0 noise)
    assert np.all(np.diff(t) <= 0)                                  # a higher k never counts more


def test_pair_wins_pairs_by_patient_and_ignores_the_unpaired():
    ids = ["real/a/1", "real/a/0", "real/b/1", "real/b/0", "real/c/1"]
    y = np.array([1, 0, 1, 0, 1])
    p = np.array([0.9, 0.1, 0.2, 0.2, 0.5])
    assert pair_wins(ids, y, p) == (1, 2)                          # a above, b tied, c has no twin


def test_report_section_renders_both_records(tmp_path):
    d = tmp_path / report.PROBE
    d.mkdir()
    (d / "ms-flair-mix.json").write_text(json.dumps({
        "ckpt": "runs/x/ckpt.pt", "ckpt_epochs": 20, "n": {"train": 10, "val": 4, "test": 4}, "real_val_scans": 2,
        "results": [{"features": "stage1-max", "dim": 8, "synthetic_val_auc": 0.7, "synthetic_test_auc": 0.6,
                     "real_val_auc": 0.5, "real_pairs_patient_above_twin": "1/1"}]}))
    assert report.section_lesion_probe(str(tmp_path)) == []        # one record alone is not a section
    (d / "grid.json").write_text(json.dumps({"n": {"synthetic_test": 4, "real_val": 2}, "results": [
        {"grid": 96, "k": 2, "synthetic_test_auc": 0.6, "real_val_auc": 0.625, "real_pairs_patient_above_twin": "1/1"}]}))
    text = "\n".join(report.section_lesion_probe(str(tmp_path)))
    assert "| stage1-max | 8 | 0.600 / 0.500 / 1/1 |" in text and "after 20 epochs" in text
    assert "| 96³ | 2 | 0.600 | 0.625 | 1/1 |" in text
