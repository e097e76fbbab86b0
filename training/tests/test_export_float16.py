"""Float16-weight bundles: half the file, onnxruntime-node computes what the rounded torch model computes,
and the export refuses weights whose rounding moves a probability by more than 1e-3."""
import json
import os

import nibabel as nib
import numpy as np
import pytest
import torch

from training import export
from training.models import ModelConfig, build_model

from .test_pipeline import ort_features

BACKBONES = ["resnet50", "densenet121", "efficientnet_b3"]


def model(backbone: str):
    torch.manual_seed(0)
    return build_model(ModelConfig(backbone=backbone, head="quantum", n_qubits=3, reps=1)).eval()


@pytest.mark.parametrize("backbone", BACKBONES)
def test_float16_bundle_is_half_size_and_matches_onnxruntime(backbone, tmp_path):
    m = model(backbone)
    out = str(tmp_path / "b")
    man = export.export_bundle(
        m, out, "f16", input_shape=[1, 1, 64, 64], task="ms", paper="B", n_reference=3, index=False, weights="float16"
    )
    assert man["weights"] == "float16"
    n_params = sum(p.numel() for p in m.backbone.parameters())
    assert man["files"]["backbone.onnx"]["bytes"] < 0.6 * 4 * n_params
    with open(os.path.join(out, "reference.json")) as f:
        ref = json.load(f)
    # 2D model grid: NIfTI [x, y, 1] -> tensor [y, x]
    vols = [nib.load(os.path.join(out, e["file"])).get_fdata()[:, :, 0].T for e in ref["inputs"]]
    half = export.half_precision(m)
    for e, feats, v in zip(ref["inputs"], ort_features(os.path.join(out, "backbone.onnx"), vols), vols):
        np.testing.assert_allclose(feats, e["features"], rtol=1e-4, atol=1e-5)
        x = torch.tensor(v, dtype=torch.float32)[None, None]
        assert e["probability"] == pytest.approx(export.probabilities(half, x)[2].item(), abs=1e-12)
        assert e["probability_float32"] == pytest.approx(export.probabilities(m, x)[2].item(), abs=1e-12)
        assert abs(e["probability"] - e["probability_float32"]) <= export.FLOAT16_MAX_DIFF


def test_float16_export_refuses_rounding_that_moves_probabilities(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "FLOAT16_MAX_DIFF", 0.0)
    with pytest.raises(ValueError, match="float16 weights move"):
        export.export_bundle(
            model("densenet121"),
            str(tmp_path / "b"),
            "f16",
            input_shape=[1, 1, 64, 64],
            task="ms",
            paper="B",
            n_reference=2,
            index=False,
            weights="float16",
        )
    assert not os.path.exists(tmp_path / "b" / "backbone.onnx")


def test_float32_bundles_say_so(tmp_path):
    man = export.export_bundle(
        build_model(ModelConfig(backbone="cnn", head="classical")),
        str(tmp_path / "b"),
        "f32",
        input_shape=[1, 1, 64, 64],
        task="ms",
        paper="B",
        n_reference=1,
        index=False,
    )
    assert man["weights"] == "float32"
    with open(tmp_path / "b" / "reference.json") as f:
        assert "probability_float32" not in json.load(f)["inputs"][0]
