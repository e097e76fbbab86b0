"""Every model family builds, runs forward/backward on tiny inputs, exports, and its ONNX backbone
(run by onnxruntime-node) and head.json reproduce torch."""
import json
import math
import os

import numpy as np
import pytest
import torch

from training import export, heads, quantum
from training.models import ModelConfig, build_model

from .test_pipeline import ort_features

FAMILIES = [
    # (config, input shape) -- 2D torchvision nets at 64x64 to keep the suite fast (they are fully convolutional)
    (dict(backbone="resnet10", width=4, head="classical"), [2, 1, 32, 32, 32]),
    (dict(backbone="resnet18", width=4, head="quantum"), [2, 1, 32, 32, 32]),
    (
        dict(
            backbone="resnet34",
            width=2,
            head="quantum",
            n_qubits=3,
            readout="z",
            entanglement="full",
            fm_input="sigmoid_pi",
        ),
        [2, 1, 32, 32, 32],
    ),
    (dict(backbone="cnn", head="classical", hidden="16"), [2, 1, 64, 64]),
    (dict(backbone="cnn", head="quantum", n_qubits=4, reps=2), [2, 1, 64, 64]),
    (dict(backbone="resnet50", head="quantum", n_qubits=3, reps=1), [2, 1, 64, 64]),
    (dict(backbone="densenet121", head="quantum", n_qubits=2, reps=1), [2, 1, 64, 64]),
    (dict(backbone="efficientnet_b3", head="quantum", n_qubits=3, reps=1), [2, 1, 64, 64]),
]
IDS = [f"{c['backbone']}-{c['head']}" + (f"-{c.get('readout')}" if "readout" in c else "") for c, _ in FAMILIES]


@pytest.mark.parametrize("cfg,shape", FAMILIES, ids=IDS)
def test_family_forward_backward_export(cfg, shape, tmp_path):
    torch.manual_seed(0)
    model = build_model(ModelConfig(**cfg))
    x = torch.rand(*shape)
    model.train()
    logits = model(x)
    assert logits.shape == (2, 2)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1])).backward()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert all(p.grad is not None for p in trainable)
    if cfg["head"] == "quantum":
        q = [m for m in model.head if isinstance(m, heads.Quantum)][0]
        assert q.weights.grad.abs().sum() > 0
    if cfg["backbone"] == "resnet50":  # stem + layer1 frozen as in paper B
        assert not any(p.requires_grad for p in model.backbone.frozen.parameters())

    model.eval()
    out = str(tmp_path / "b")
    export.export_bundle(
        model,
        out,
        "t",
        input_shape=[1, *shape[1:]],
        task="ms" if len(shape) == 4 else "tsc",
        paper="B" if len(shape) == 4 else "A",
        n_reference=1,
        index=False,
    )
    with open(os.path.join(out, "reference.json")) as f:
        ref = json.load(f)["inputs"][0]
    import nibabel as nib

    vol = nib.load(os.path.join(out, ref["file"])).get_fdata()
    vol = vol.transpose(2, 1, 0) if len(shape) == 5 else vol[:, :, 0].T
    if len(shape) == 5:  # every 3D ResNet BatchNorm follows a Conv: none may survive the folding
        import onnx

        ops = {n.op_type for n in onnx.load(os.path.join(out, "backbone.onnx")).graph.node}
        assert "BatchNormalization" not in ops
    feats = ort_features(os.path.join(out, "backbone.onnx"), [vol.astype(np.float32)])[0]
    np.testing.assert_allclose(feats, ref["features"], atol=2e-4 * max(1, np.abs(feats).max()))
    with open(os.path.join(out, "head.json")) as f:
        doc = json.load(f)
    assert [layer["type"] for layer in doc["layers"]][-1] in ("dense", "pair_logits")
    head = heads.head_from_json(doc).double()
    p = torch.softmax(head(torch.tensor(ref["features"], dtype=torch.float64)[None]), -1)[0, 1].item()
    assert abs(p - ref["probability"]) < 1e-5


def test_paper_a_head_is_qiskit_hybrid_pattern():
    h = heads.paper_a_head(8)
    assert [type(m).__name__ for m in h] == ["Dense", "Quantum", "PairLogits"]
    c = h[1].circuit
    assert c["n_qubits"] == 2 and c["readout"] == "parity"
    assert [(l["family"], l.get("reps"), l.get("entanglement")) for l in c["layers"]] == [
        ("zz_feature_map", 2, "full"),
        ("real_amplitudes", 3, "reverse_linear"),
    ]
    assert quantum.n_weights(c) == 8
    x = torch.randn(3, 8)
    logits = h(x)
    torch.testing.assert_close(logits.sum(1), torch.ones(3))  # [x, 1 - x]
    assert h[0].activation == "none"  # the fc output feeds the feature map as it is


def test_paper_a_head_bounded_feature_map_input():
    h = heads.paper_a_head(8, n_qubits=4, readout="z", fm_input="sigmoid_pi")
    assert h[0].activation == "sigmoid_pi" and h[1].circuit["n_qubits"] == 4
    angles = h[0](1e3 * torch.randn(5, 8))
    assert angles.min() >= 0 and angles.max() <= math.pi


def test_paper_b_heads_follow_the_paper():
    q = heads.qcnn_head(64, n_qubits=4, layers=2)
    assert q[0].activation == "sigmoid_pi" and q[1].circuit["layers"][0]["rotation"] == "X"
    assert q[1].circuit["layers"][1]["family"] == "cnot_rz" and q[1].circuit["readout"] == "z"
    a = heads.amplitude_head(2048, n_qubits=4)
    qi = [i for i, m in enumerate(a) if isinstance(m, heads.Quantum)][0]
    assert a[qi - 1].activation == "sigmoid_l2" and a[qi - 1].linear.out_features == 16
    assert a[qi].circuit["readout"] == "xz" and len(a) - qi - 1 == 2  # two dense layers after the circuit
    e = heads.angle_ring_head(1536, n_qubits=4)
    qi = [i for i, m in enumerate(e) if isinstance(m, heads.Quantum)][0]
    assert e[qi - 1].activation == "sigmoid_pi" and e[qi].circuit["layers"][1]["family"] == "rxyz_ring"


def test_activations_match_their_definitions():
    y = torch.tensor([[-1.0, 0.5, 2.0]])
    torch.testing.assert_close(heads.activate(y, "sigmoid_pi"), torch.pi * torch.sigmoid(y))
    torch.testing.assert_close(heads.activate(y, "sigmoid_l2").norm(), torch.tensor(1.0))
    with pytest.raises(ValueError, match="softplus"):
        heads.activate(y, "softplus")


def test_unknown_backbone_is_named():
    with pytest.raises(ValueError, match="resnet99"):
        build_model(ModelConfig(backbone="resnet99"))


def test_local_weights_file_loads(tmp_path):
    import torchvision

    torch.manual_seed(3)
    state = torchvision.models.resnet50().state_dict()
    path = str(tmp_path / "r50.pth")
    torch.save(state, path)
    m = build_model(ModelConfig(backbone="resnet50", head="classical", pretrained=path))
    torch.testing.assert_close(m.backbone.trunk[0].weight, state["conv1.weight"])
    torch.save({"nothing": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="matches none"):
        build_model(ModelConfig(backbone="resnet50", head="classical", pretrained=path))


def test_index_is_extended_not_clobbered_and_lists_only_shipping_bundles(tmp_path):
    models = tmp_path / "models"
    for bundle_id, low in (("mine", 0.74), ("at-chance", 0.65)):
        (models / bundle_id).mkdir(parents=True)
        metrics = {"split": "test", "auc": {"value": 0.8, "ci95": [low, 0.9]}}
        (models / bundle_id / "manifest.json").write_text(json.dumps({"metrics": metrics}))
    (models / "index.json").write_text(json.dumps({"models": ["someone-elses"]}))
    assert export.update_index(str(models), "mine") and export.update_index(str(models), "mine")
    assert not export.update_index(str(models), "at-chance")
    assert json.loads((models / "index.json").read_text()) == {"models": ["someone-elses", "mine"]}


def test_undefined_metrics_are_written_as_null(tmp_path):
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone="cnn", head="classical")).eval()
    metrics = {"split": "test", "n": 4, "precision": {"value": float("nan"), "ci95": [float("nan"), 1.0]}}
    m = export.export_bundle(
        model,
        str(tmp_path / "b"),
        "b",
        input_shape=[1, 1, 32, 32],
        task="ms",
        paper="B",
        metrics=metrics,
        n_reference=0,
        index=False,
    )
    assert m["metrics"]["precision"] == {"value": None, "ci95": [None, 1.0]}
