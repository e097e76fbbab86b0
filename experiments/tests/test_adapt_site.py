"""experiments/adapt_site.py's pure parts: the phantom split and the leave-one-patient-out folds."""
import csv

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
        ("p1_FLAIR", 0), ("p1_FLAIR", 1), ("p2_FLAIR", 0), ("p2_FLAIR", 1), ("p3_FLAIR", 0), ("p3_FLAIR", 1)]


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
