"""Preparing a cohort while its generator still writes: a partial manifest is not a finished cohort."""
from __future__ import annotations

import json

from experiments.cohort import generation_complete


def test_generation_is_complete_only_when_the_generator_says_so(tmp_path):
    assert not generation_complete(str(tmp_path))  # nothing written yet
    (tmp_path / "cohort.json").write_text(json.dumps({"complete": False}))
    (tmp_path / "manifest.csv").write_text("path,label,subject_id\nscans/a.nii.gz,0,a\n")  # rows as subjects finish
    assert not generation_complete(str(tmp_path))
    (tmp_path / "cohort.json").write_text(json.dumps({"complete": True}))
    assert generation_complete(str(tmp_path))


def test_cohorts_from_older_generators_count_as_complete_with_their_manifest(tmp_path):
    (tmp_path / "cohort.json").write_text(json.dumps({"seed": 1}))
    assert not generation_complete(str(tmp_path))
    (tmp_path / "manifest.csv").write_text("path,label,subject_id\n")
    assert generation_complete(str(tmp_path))
