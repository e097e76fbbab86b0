"""The mixed cohort's rows and splits: twins join their patient's split as controls, except in test."""
from __future__ import annotations

import csv
import json

import pytest

from experiments.mixed_cohort import TEST_TWIN, common_spec, synth_rows


def test_twins_are_controls_beside_their_patient_and_test_keeps_its_design(tmp_path):
    raw = tmp_path / "cohort-a"
    raw.mkdir()
    with open(raw / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(
            f, fieldnames=["path", "label", "subject_id", "sequence", "lesion_mask", "paired_path", "mode"]
        )
        w.writeheader()
        for i in range(40):
            w.writerow(
                {
                    "path": f"scans/s{i}.nii.gz",
                    "label": i % 2,
                    "subject_id": f"s{i}",
                    "sequence": "FLAIR",
                    "lesion_mask": f"masks/s{i}.nii.gz",
                    "paired_path": f"paired/s{i}.nii.gz" if i % 2 else "",
                    "mode": "randomised",
                }
            )
    rows, split = synth_rows(str(raw), split_seed=1)
    by_subject = {r["subject_id"]: r for r in rows if r["source"] != TEST_TWIN}
    assert all(s.startswith("cohort-a/") for s in by_subject)
    where = {s: k for k in ("train", "val", "test") for s in split[k]}
    twins = [r for r in rows if r["subject_id"].endswith("-twin")]
    assert twins and all(
        r["label"] == "0" and r["lesion_mask"] == "" and "lesion-free twin" in r["source"] for r in twins
    )
    for t in twins:
        patient = t["subject_id"][: -len("-twin")]
        assert by_subject[patient]["label"] == "1" and where[t["subject_id"]] == where[patient] != "test"
    test_twins = [r for r in rows if r["source"] == TEST_TWIN]
    assert {r["subject_id"] for r in test_twins} == {s for s in split["test"] if by_subject[s]["label"] == "1"}
    assert not any(s.endswith("-twin") for s in split["test"])
    assert all("randomised" in r["source"] for r in by_subject.values())


def test_the_cohort_spec_is_the_one_every_folder_was_prepared_with(tmp_path):
    spec = {"grid": [64, 64, 64], "normalize": {"method": "reference", "low": 0.5, "reference": 50, "value": 0.4}}
    for sub in ("00-real", "01-synth"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "spec.json").write_text(json.dumps(spec))
    assert common_spec(str(tmp_path)) == spec
    (tmp_path / "01-synth" / "spec.json").write_text(json.dumps({**spec, "grid": [96, 96, 96]}))
    with pytest.raises(RuntimeError, match="01-synth"):
        common_spec(str(tmp_path))
    with pytest.raises(RuntimeError, match="no prepared folder"):
        common_spec(str(tmp_path / "00-real"))
