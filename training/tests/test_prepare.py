"""`training.prepare` runs the TypeScript `qumri preprocess` CLI and yields a trainable manifest."""

import pytest
import torch

from training import data as D
from training import export, prepare
from training.models import ModelConfig, build_model

from .cohort import make_cohort
from .test_pipeline import classify


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("prep")
    raw = make_cohort(str(root / "raw"), n_per_class=2, shape=(30, 36, 40), voxel_mm=5.0)
    out = str(root / "prepared")
    return raw, out, prepare.prepare(raw, out, grid="32x32x24")


def test_prepare_runs_the_typescript_pipeline(prepared):
    raw, out, prepared = prepared
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


def test_raw_scans_in_node_equal_torch_on_prepared_volumes(prepared, tmp_path):
    """The page's path (raw scan -> TypeScript preprocessing -> bundle) gives the probability torch
    computes on the prepared training volume: training and inference see the same tensors."""
    raw, _, prepared = prepared
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone="resnet10", width=4, head="quantum")).eval()
    bundle = str(tmp_path / "b")
    export.export_bundle(
        model,
        bundle,
        "b",
        input_shape=[1, 1, 24, 32, 32],
        n_reference=0,
        index=False,
        preprocess=prepare.load_spec_beside(prepared),
    )
    rows = D.read_manifest(prepared)
    with torch.no_grad():
        want = [torch.softmax(model(D.load_volume(r, (24, 32, 32))[None]).double(), -1)[0, 1].item() for r in rows]
    got = classify(bundle, [r.path for r in D.read_manifest(raw)], preprocessed=False)
    assert max(abs(g["probability"] - w) for g, w in zip(got, want)) < 1e-4
