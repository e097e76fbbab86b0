"""experiments.bundle_on_cohort: the split's rows in manifest order, sources pooled with their twins, and a
run record's predictions accepted only where they are the same scans in the same order."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from experiments import bundle_on_cohort as B

SOURCES = {
    "a": "synthetic (ms-flair-240), calibrated",
    "a-twin": "synthetic (ms-flair-240), calibrated, lesion-free twin",
    "b": "synthetic (ms-flair-rand-b), randomised",
    "b-twin": "synthetic (ms-flair-rand-b), randomised, lesion-free twin",
    "r1": "real validation: original",
    "r0": "real validation: lesion-removed twin",
}


@pytest.fixture
def cohort(tmp_path):
    rows = []
    for i, (sid, source) in enumerate(SOURCES.items()):
        label = 0 if ("twin" in sid or sid == "r0") else 1
        rows.append(
            {
                "path": f"/p/{sid}.nii.gz",
                "label": label,
                "subject_id": sid,
                "source": source,
                "raw_path": f"/raw/{sid}.nii.gz",
            }
        )
    rows.append({**rows[0], "path": "/p/c.nii.gz", "subject_id": "c", "raw_path": "/raw/c.nii.gz"})
    with open(tmp_path / "cohort.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (tmp_path / "splits.json").write_text(json.dumps({"train": ["c"], "val": list(SOURCES), "test": []}))
    return str(tmp_path / "cohort.csv"), str(tmp_path / "splits.json")


def test_split_rows_keep_manifest_order_and_sources_pool_twins(cohort):
    rows = B.split_rows(*cohort, "val")
    assert [r["subject_id"] for r in rows] == list(SOURCES)
    assert [B.source_of(r) for r in rows] == ["synthetic (ms-flair-240)"] * 2 + ["synthetic (ms-flair-rand-b)"] * 2 + [
        "real validation"
    ] * 2
    with pytest.raises(SystemExit, match="no rows"):
        B.split_rows(*cohort, "test")


def test_measure_pools_synthetic_sources_and_leaves_one_class_sources_without_auc(cohort):
    rows = B.split_rows(*cohort, "val")
    p = np.array([0.9, 0.1, 0.2, 0.8, 0.6, 0.4])  # 240: right; rand-b: reversed; real: right
    m = B.measure(rows, p)
    assert m["all"]["n"] == 6 and m["synthetic"]["n"] == 4
    assert m["by_source"]["synthetic (ms-flair-240)"]["auc"]["value"] == 1.0
    assert m["by_source"]["synthetic (ms-flair-rand-b)"]["auc"]["value"] == 0.0
    assert m["synthetic"]["auc"]["value"] == 0.75  # 0.9 > 0.1, 0.8; 0.2 > 0.1, < 0.8
    single = B.measure(rows[:1] + rows[2:3], np.array([0.5, 0.5]))
    assert single["all"]["auc"] is None and single["all"]["positive"] == 2


def test_a_record_is_compared_only_on_the_same_scans_in_the_same_order(cohort):
    rows = B.split_rows(*cohort, "val")
    preds = [
        {"subject_id": r["subject_id"], "label": int(r["label"]), "probability": 0.1 * i} for i, r in enumerate(rows)
    ]
    np.testing.assert_allclose(
        B.aligned_record({"predictions": {"val": preds}}, "val", rows), [0.1 * i for i in range(6)]
    )
    swapped = [preds[1], preds[0], *preds[2:]]
    with pytest.raises(SystemExit, match="not this split's scans"):
        B.aligned_record({"predictions": {"val": swapped}}, "val", rows)
    with pytest.raises(SystemExit, match="not this split's scans"):
        B.aligned_record({"predictions": {"val": preds[:-1]}}, "val", rows)
