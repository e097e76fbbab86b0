"""Issue 18 diagnostics: experiments.lesion_probe / lesion_grid helpers and the report sections on the mixed-cohort
candidates and the probes, on data made here."""

import json

import numpy as np
import pytest

from experiments import report
from experiments.lesion_probe import TAIL_KS, bright_tail, pair_wins


def test_bright_tail_counts_voxels_far_above_the_brain_median():
    rng = np.random.default_rng(0)
    v = np.zeros((20, 20, 20), np.float32)
    v[2:18, 2:18, 2:18] = rng.normal(0.5, 0.02, (16, 16, 16))  # brain: median 0.5, robust SD 0.02
    flat = v[2:18, 2:18, 2:18].reshape(-1)
    flat[:41] = 0.9  # 1 % "lesion" voxels, 20 SD above
    v[2:18, 2:18, 2:18] = flat.reshape(16, 16, 16)
    t = bright_tail(v)
    assert t.shape == (len(TAIL_KS),)
    assert t[-1] == pytest.approx(41 / 4096, abs=2 / 4096)  # at 5 SD only the lesions (and ~0 noise)
    assert np.all(np.diff(t) <= 0)  # a higher k never counts more


def test_pair_wins_pairs_by_patient_and_ignores_the_unpaired():
    ids = ["real/a/1", "real/a/0", "real/b/1", "real/b/0", "real/c/1"]
    y = np.array([1, 0, 1, 0, 1])
    p = np.array([0.9, 0.1, 0.2, 0.2, 0.5])
    assert pair_wins(ids, y, p) == (1, 2)  # a above, b tied, c has no twin


def test_report_section_renders_both_records(tmp_path):
    d = tmp_path / report.PROBE
    d.mkdir()
    (d / "ms-flair-mix.json").write_text(
        json.dumps(
            {
                "cohort": "data/prepared/x/cohort.csv",
                "ckpt": "runs/x/ckpt.pt",
                "ckpt_epochs": 20,
                "n": {"train": 10, "val": 4, "test": 4},
                "real_val_scans": 2,
                "results": [
                    {
                        "features": "stage1-max",
                        "dim": 8,
                        "synthetic_val_auc": 0.7,
                        "synthetic_test_auc": 0.6,
                        "real_val_auc": 0.5,
                        "real_pairs_patient_above_twin": "1/1",
                    }
                ],
            }
        )
    )
    assert report.section_lesion_probe(str(tmp_path)) == []  # one record alone is not a section
    (d / "grid.json").write_text(
        json.dumps(
            {
                "n": {"synthetic_test": 4, "real_val": 2},
                "results": [
                    {
                        "grid": 96,
                        "k": 2,
                        "synthetic_test_auc": 0.6,
                        "real_val_auc": 0.625,
                        "real_pairs_patient_above_twin": "1/1",
                    }
                ],
            }
        )
    )
    text = "\n".join(report.section_lesion_probe(str(tmp_path)))
    assert "| stage1-max | 8 | 0.600 / 0.500 / 1/1 |" in text and "after 20 epochs" in text
    assert "| 96³ | 2 | 0.600 | 0.625 | 1/1 |" in text


def run_record(model_id: str, epochs: int, auc: float) -> dict:
    return {
        "format": "qumri-run/1",
        "id": model_id,
        "cohort": {"n_subjects": 10, "n_scans": 12},
        "pretraining": {"epochs_run": epochs, "best_val_loss": 0.9},
        "best_val_loss": 0.6,
        "test": {"auc": {"value": auc, "ci95": [auc - 0.1, auc + 0.1]}},
        "paired": {"rate": 0.5},
        "wall_time_s": {"train": 60.0},
    }


def test_mixed_section_lists_each_pretraining_and_says_the_real_columns_are_not_a_test(tmp_path):
    for order, (folder, epochs, auc) in enumerate((("real-mix", 20, 0.6), ("real-mix60", 60, 0.75)), 1):
        d = tmp_path / folder
        (d / "real-scans").mkdir(parents=True)
        (d / "variant.json").write_text(json.dumps({"group": "mixed-cohort", "order": order, "description": ""}))
        (d / "ms-flair-x.json").write_text(json.dumps(run_record("ms-flair-x", epochs, auc)))
        (d / "real-scans" / "real-scans.json").write_text(
            json.dumps(
                {
                    "models": [
                        {
                            "id": "ms-flair-x",
                            "rates": [
                                {"key": "ms_called_ms", "n": 3, "N": 9},
                                {"key": "patient_above_twin", "n": 5, "N": 9, "median_gap": 0.08},
                            ],
                        }
                    ]
                }
            )
        )
    lines = report.section_mixed(str(tmp_path))
    rows = [x for x in lines if x.startswith("| `ms-flair-x`")]
    assert [r.split(" | ")[1] for r in rows] == ["20 epochs", "60 epochs"]  # real-mix before real-mix60
    assert "0.750 (0.650–0.850)" in rows[1] and "| 3/9 | 5/9 (+0.080) |" in rows[1]
    assert any("not an independent test" in x for x in lines)


def test_a_mixed_variant_without_its_real_scan_record_yet_shows_dashes(tmp_path):
    d = tmp_path / "real-mix2"
    d.mkdir()
    (d / "variant.json").write_text(json.dumps({"group": "mixed-cohort", "order": 3, "description": ""}))
    (d / "ms-flair-x.json").write_text(json.dumps(run_record("ms-flair-x", 60, 0.8)))
    row = next(x for x in report.section_mixed(str(tmp_path)) if x.startswith("| `ms-flair-x`"))
    assert row.endswith("| — | — | — | — | — | — |")
