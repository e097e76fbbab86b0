"""`training.prepare` runs the TypeScript `qumri preprocess` CLI and yields a trainable manifest."""
import json
import os

import pytest

from training import data as D
from training import prepare

from .cohort import make_cohort


def test_prepare_runs_the_typescript_pipeline(tmp_path):
    raw = make_cohort(str(tmp_path / "raw"), n_per_class=2, shape=(30, 36, 40), voxel_mm=5.0)
    out = str(tmp_path / "prepared")
    prepared = prepare.prepare(raw, out, grid="32x32x24")
    rows = D.read_manifest(prepared)
    assert [(r.subject_id, r.label) for r in rows] == [(r.subject_id, r.label) for r in D.read_manifest(raw)]
    for r in rows:
        assert r.path.startswith(out)
        v = D.load_volume(r, (24, 32, 32))  # grid x=32, y=32, z=24 -> tensor [24, 32, 32]
        assert 0 <= float(v.min()) and float(v.max()) <= 1 and float(v.max()) > 0.5
    spec = prepare.load_spec_beside(prepared)
    assert spec["grid"] == [32, 32, 24]


def test_prepare_rejects_a_bad_manifest_before_preprocessing(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("path,label,subject_id,sequence\nmissing.nii.gz,0,a,FLAIR\n")
    with pytest.raises(D.ManifestError, match="row 1 .*file not found"):
        prepare.prepare(str(m), str(tmp_path / "out"))
