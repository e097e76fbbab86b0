"""experiments/adapt_site.py's pure parts: the phantom split and the leave-one-patient-out folds."""
import csv
import json

import pytest

from experiments.adapt_site import labels_csv, lopo_folds, real_rows, site_split


def test_site_split_is_balanced_and_disjoint():
    a, h = site_split(8, 12)
    assert len(a) == 16 and len(h) == 24
    assert not set(a) & set(h)
    # The generator makes odd indices patients: each part has as many of each.
    for part in (a, h):
        assert sum(i % 2 for i in part) * 2 == len(part)
    with pytest.raises(ValueError):
        site_split(0, 12)


SCANS = [
    # name, id, sequence, stands_for
    ("real-01", "p2_FLAIR_twin", "FLAIR", "lesion-removed twin (healthy stand-in)"),
    ("real-02", "p1_FLAIR", "FLAIR", "MS"),
    ("real-03", "p1_T2", "T2w", "MS"),
    ("real-04", "stroke_FLAIR", "FLAIR", "other (stroke)"),
    ("real-05", "p2_FLAIR", "FLAIR", "MS"),
    ("real-06", "p1_FLAIR_twin", "FLAIR", "lesion-removed twin (healthy stand-in)"),
    ("real-07", "p3_FLAIR", "FLAIR", "MS"),
    ("real-08", "p3_FLAIR_twin", "FLAIR", "lesion-removed twin (healthy stand-in)"),
]


@pytest.fixture
def scans_csv(tmp_path):
    path = tmp_path / "scans.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "id", "sequence", "stands_for", "path"])
        for name, sid, seq, what in SCANS:
            w.writerow([name, sid, seq, what, f"/x/{name}.nii.gz"])
    return str(path)


def test_real_rows_keep_ms_flair_and_twins(scans_csv):
    rows = real_rows(scans_csv)
    assert [(r["subject"], r["label"]) for r in rows] == [
        ("p1_FLAIR", 0),
        ("p1_FLAIR", 1),
        ("p2_FLAIR", 0),
        ("p2_FLAIR", 1),
        ("p3_FLAIR", 0),
        ("p3_FLAIR", 1),
    ]


def test_lopo_holds_out_each_patient_whole(scans_csv):
    rows = real_rows(scans_csv)
    folds = lopo_folds(rows)
    assert [p for p, _, _ in folds] == ["p1_FLAIR", "p2_FLAIR", "p3_FLAIR"]
    for patient, train, test in folds:
        assert {r["subject"] for r in test} == {patient}
        assert {r["label"] for r in test} == {0, 1}  # the original and its twin go together
        assert patient not in {r["subject"] for r in train}
        assert len(train) + len(test) == len(rows)
    # Every scan is held out exactly once.
    held = sorted(r["name"] for _, _, test in folds for r in test)
    assert held == sorted(r["name"] for r in rows)
    with pytest.raises(ValueError):
        lopo_folds(rows[:2])


def test_labels_csv_names_the_model_classes(tmp_path):
    path = tmp_path / "labels.csv"
    labels_csv(str(path), [{"path": "/a.nii.gz", "label": 1}, {"path": "/b.nii.gz", "label": 0}], ["healthy", "MS"])
    assert path.read_text().splitlines() == ["file,label", "/a.nii.gz,MS", "/b.nii.gz,healthy"]


def fake_metrics(before: float, after: float, n: int) -> dict:
    m = lambda v: {
        "value": v,
        "ci95": [v - 0.1, min(v + 0.1, 1.0)],
        "n": {"positive": n, "negative": n},  # noqa: E731
        "acc": {"value": v - 0.05, "ci95": [v - 0.2, v]},
    }
    return {"before": m(before), "after": m(after), "delong": {"diff": after - before, "p": 0.04}}


def test_report_section_states_n_and_intervals(tmp_path):
    from experiments import report

    interval = lambda v: {"value": v, "ci95": [v - 0.2, v + 0.1]}  # noqa: E731
    card = {
        "scans": {"healthy": 8, "MS": 8},
        "cross_validation": "leave-one-out",
        "epochs": 40,
        "settings": {"max_epochs": 150},
        "metrics": {"before": {"auc": interval(0.6)}, "after": {"auc": interval(0.8)}},
    }
    rec = {
        "model": "ms-flair-qresnet34",
        "classes": ["healthy", "MS"],
        "phantoms": {
            "thick": {
                "generator_seed": 2022,
                "site": {"text": "7 mm slices"},
                "adapt": {"card": card},
                "held": fake_metrics(0.55, 0.75, 12),
            }
        },
        "real": {"patients": 9, "scans": 18, "epochs_kept": {"a": 0, "b": 3}, **fake_metrics(0.5, 0.45, 9)},
    }
    (tmp_path / "adapt-site").mkdir()
    (tmp_path / "adapt-site" / "adapt-site.json").write_text(json.dumps(rec))
    text = "\n".join(report.section_adapt_site(str(tmp_path)))
    assert (
        "| 12 + 12 | 0.550 (0.450–0.650) | 0.750 (0.650–0.850) | +0.200, p = 0.04 | 0.500 (0.350–0.550) | "
        "0.700 (0.550–0.750) |"
    ) in text
    assert "| 9 + 9 | 0.500 (0.400–0.600) | 0.450 (0.350–0.550) | -0.050, p = 0.04 |" in text
    assert "site *thick*" in text and "*thick*: 7 mm slices. On its 8 MS + 8 healthy" in text
    assert "kept 40 of 150" in text and "18 scans of 9 patients" in text and "kept 0, 3 steps" in text
    assert "raised the held-back AUC beyond chance variation (DeLong p < 0.05) in: site thick." in text
    assert "Ceiling" not in text  # records from before the ceiling was measured
    ceiling = {"value": 0.65, "ci95": [0.55, 0.75], "n": {"positive": 20, "negative": 20}, "C": 0.01, "folds": 10}
    rec["phantoms"]["thick"]["ceiling"] = ceiling
    (tmp_path / "adapt-site" / "adapt-site.json").write_text(json.dumps(rec))
    text = "\n".join(report.section_adapt_site(str(tmp_path)))
    assert "features of all 40 phantoms of the site (10-fold cross-validation" in text
    assert "reaches 0.650 (0.550–0.750), against 0.550 (0.450–0.650) for the shipped head" in text
    assert "the ceiling minus the shipped head's held-back AUC is *thick* +0.100; at *thick* the features" in text
    rec["phantoms"]["thick"]["ceiling"]["value"] = 0.56
    (tmp_path / "adapt-site" / "adapt-site.json").write_text(json.dumps(rec))
    text = "\n".join(report.section_adapt_site(str(tmp_path)))
    assert "is *thick* +0.010. At every site the shipped head already reads about as much" in text
    rec["real"] = {"skipped": "--no-real"}
    (tmp_path / "adapt-site" / "adapt-site.json").write_text(json.dumps(rec))
    assert "not run: --no-real" in "\n".join(report.section_adapt_site(str(tmp_path)))
    assert report.section_adapt_site(str(tmp_path / "none")) == []


def test_ceiling_finds_what_the_features_hold_and_nothing_more():
    import numpy as np

    from experiments.adapt_site import ceiling_predictions
    from training.evaluate import auc_score

    rng = np.random.default_rng(0)
    y = np.arange(80) % 2
    informative = np.c_[y + 0.5 * rng.standard_normal(80), rng.standard_normal((80, 5))]
    c, p = ceiling_predictions(informative, y)
    assert c in (0.001, 0.01, 0.1, 1.0) and len(p) == 80 and auc_score(y, np.array(p)) > 0.9
    _, p = ceiling_predictions(rng.standard_normal((80, 6)), y)
    assert auc_score(y, np.array(p)) < 0.75  # noise: only the choice of C lifts it above 0.5


def test_accuracy_uses_each_scans_own_threshold():
    from experiments.adapt_site import acc_ci

    # Scan-by-scan thresholds: 0.3 and 0.7 call both scans right, one shared 0.5 would call both wrong.
    assert acc_ci([1, 0], [0.4, 0.6], [0.3, 0.7])["value"] == 1.0
    assert acc_ci([1, 0], [0.4, 0.6], [0.5, 0.5])["value"] == 0.0
