"""Regenerate the committed test fixtures: tiny bundles and torch circuit cross-checks.

    /usr/bin/python3 -m training.fixtures            # both
    /usr/bin/python3 -m training.fixtures bundles    # fixtures/bundles/tiny-{qresnet,resnet,qcnn-f16}
    /usr/bin/python3 -m training.fixtures circuits   # fixtures/circuits/torch-*.json
    /usr/bin/python3 -m training.fixtures adapt      # fixtures/adapt/*.json

The tiny bundles are ResNet-10 width 4 on a 32^3 grid with seeded random weights whose BatchNorm
running statistics were moved off their defaults (so the ONNX BatchNorm folding is really exercised)
and a standardised first head layer so the reference inputs get clearly different probabilities.
"""
from __future__ import annotations

import json
import math
import os
import sys

import numpy as np
import torch

from . import quantum
from .evaluate import auc_score, choose_threshold
from .export import export_bundle, reference_inputs
from .guards import calibration_entry
from .heads import head_from_json, head_to_json
from .models import ModelConfig, build_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLES = os.path.join(ROOT, "fixtures", "bundles")
CIRCUITS = os.path.join(ROOT, "fixtures", "circuits")
ADAPT = os.path.join(ROOT, "fixtures", "adapt")
TINY_SHAPE = [1, 1, 32, 32, 32]
TINY_2D_SHAPE = [1, 1, 224, 224]


def tiny_model(head: str, seed: int = 7):
    torch.manual_seed(seed)
    model = build_model(ModelConfig(backbone="resnet10", width=4, head=head))
    model.train()
    with torch.no_grad():  # a few batches to give BatchNorm non-trivial running statistics
        for _ in range(3):
            model.backbone(torch.rand(2, *TINY_SHAPE[1:]) * 2 + 0.5)
    return standardize_first_layer(model.eval())


def standardize_first_layer(model, shape: list[int] = TINY_SHAPE[2:]):
    """Random features barely differ between inputs: rescale the head's first dense layer so each of
    its outputs has mean 0 and std 1 over the reference inputs, spreading their probabilities so a
    parity test can tell them apart."""
    vols = reference_inputs(shape, 3, 0)
    with torch.no_grad():
        feats = model.backbone(torch.from_numpy(np.stack(vols))[:, None])[0]
        lin = model.head[0].linear
        y = lin(feats)
        scale = 1 / y.std(0)
        lin.weight.mul_(scale[:, None])
        lin.bias.copy_((lin.bias - y.mean(0)) * scale)
    return model


def write_bundles(out: str = BUNDLES) -> None:
    data = {"synthetic": True, "description": "Seeded random weights (no training): a parity fixture only."}
    for bundle_id, head in (("tiny-qresnet", "quantum"), ("tiny-resnet", "classical")):
        export_bundle(
            tiny_model(head),
            os.path.join(out, bundle_id),
            bundle_id,
            input_shape=TINY_SHAPE,
            name=f"Tiny {'Q' if head == 'quantum' else ''}ResNet-10 (width 4, 32^3) test fixture",
            task="tsc",
            sequence="FLAIR",
            training_data=data,
            limitations=["Untrained: its outputs mean nothing", "Test fixture only"],
            index=False,
        )
    write_slice_bundle(out)


def write_slice_bundle(out: str = BUNDLES) -> None:
    """tiny-qcnn-f16: paper B's CNN and quantum head with float16 weights, the slice panel's path, for the
    e2e tests now that no 2D bundle is shipped (issue 20). Its name names no plane: offered for both."""
    torch.manual_seed(11)
    model = build_model(ModelConfig(backbone="cnn", head="quantum", n_qubits=4, reps=2, hidden="16")).eval()
    data = {"synthetic": True, "description": "Seeded random weights (no training): a parity fixture only."}
    export_bundle(
        standardize_first_layer(model, TINY_2D_SHAPE[2:]),
        os.path.join(out, "tiny-qcnn-f16"),
        "tiny-qcnn-f16",
        input_shape=TINY_2D_SHAPE,
        name="Tiny QCNN (float16 weights, 224x224) test fixture",
        task="ms",
        sequence="FLAIR",
        paper="B",
        weights="float16",
        training_data=data,
        limitations=["Untrained: its outputs mean nothing", "Test fixture only"],
        index=False,
    )


# ---------------------------------------------------------------------------------------------
# Circuit cross-check fixtures: one file per family the heads train, every readout
# ---------------------------------------------------------------------------------------------

FIXTURE_CIRCUITS = {
    "zz-real-amplitudes": [
        (2, [{"family": "zz_feature_map"}, {"family": "real_amplitudes"}], "parity"),
        (
            3,
            [
                {"family": "zz_feature_map", "reps": 1, "entanglement": "linear"},
                {"family": "real_amplitudes", "reps": 2, "entanglement": "full"},
            ],
            "xz",
        ),
        (
            3,
            [
                {"family": "zz_feature_map", "entanglement": "circular", "alpha": 1.5},
                {
                    "family": "real_amplitudes",
                    "reps": 1,
                    "entanglement": "reverse_linear",
                    "skip_final_rotation_layer": True,
                },
            ],
            "probs",
        ),
    ],
    "angle-cnot-rz": [
        (4, [{"family": "angle", "rotation": "X"}, {"family": "cnot_rz", "layers": 2}], "z"),
        (2, [{"family": "angle", "rotation": "Y"}, {"family": "cnot_rz"}], "x"),
    ],
    "amplitude-rot-cnot": [
        (2, [{"family": "amplitude"}, {"family": "rot_cnot", "layers": 2}], "xz"),
        (3, [{"family": "amplitude", "pad_with": 0.25, "n_features": 7}, {"family": "rot_cnot"}], "parity"),
    ],
    "angle-rxyz-ring": [
        (4, [{"family": "angle", "rotation": "Z"}, {"family": "rxyz_ring", "layers": 2}], "z"),
        (2, [{"family": "angle", "rotation": "X"}, {"family": "rxyz_ring"}], "xz"),
    ],
}


def fixture_case(name: str, n: int, layers: list, readout: str, gen: torch.Generator) -> dict:
    spec = quantum.make_circuit(n, layers, readout)
    x = torch.rand(quantum.n_features(spec), generator=gen, dtype=torch.float64) * 2
    w = (torch.rand(quantum.n_weights(spec), generator=gen, dtype=torch.float64) * 2 - 1) * 3
    jx, jw = torch.autograd.functional.jacobian(lambda a, b: quantum.run_circuit(spec, a[None], b)[0], (x, w))
    out = quantum.run_circuit(spec, x[None], w)[0]
    return {
        "name": name,
        "circuit": spec,
        "x": x.tolist(),
        "weights": w.tolist(),
        "outputs": out.tolist(),
        "jacobian_x": jx.tolist(),
        "jacobian_weights": jw.tolist(),
    }


def write_circuits(out: str = CIRCUITS) -> None:
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(2024)
    for family, cases in FIXTURE_CIRCUITS.items():
        doc = {
            "format": "qumri-circuit-fixture/1",
            "source": "training/quantum.py (torch, complex128)",
            "note": "jacobian_x[o][i] = d outputs[o] / d x[i]; jacobian_weights likewise",
            "cases": [fixture_case(f"{family}-{i}", *c, gen) for i, c in enumerate(cases)],
        }
        with open(os.path.join(out, f"torch-{family}.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


# ---------------------------------------------------------------------------------------------
# Site adaptation (src/core/adapt): the fine-tuning loss's gradient on whole heads, and the
# calibration and metrics it refits, from the training pipeline's own code
# ---------------------------------------------------------------------------------------------


def _dense(n_in: int, n_out: int, activation: str) -> dict:
    return {"type": "dense", "in": n_in, "out": n_out, "activation": activation}


ADAPT_HEADS = {
    # paper A as shipped (ms-flair-qresnet34): sigmoid_pi angles into ZZFeatureMap + RealAmplitudes, parity
    "paper-a": [_dense(6, 2, "sigmoid_pi"), quantum.paper_circuit(), {"type": "pair_logits"}],
    # dense stack, angle + rxyz_ring with ⟨Z⟩, dense back to one value, pair_logits
    "angle-ring": [
        _dense(6, 4, "tanh"),
        _dense(4, 3, "sigmoid"),
        quantum.make_circuit(3, [{"family": "angle", "rotation": "X"}, {"family": "rxyz_ring"}], "z"),
        _dense(3, 1, "sigmoid"),
        {"type": "pair_logits"},
    ],
    # amplitude embedding (the kernel's input-state adjoint) into rot_cnot, ⟨X⟩ and ⟨Z⟩, dense to 2 logits
    "amplitude": [
        _dense(6, 4, "sigmoid_l2"),
        quantum.make_circuit(2, [{"family": "amplitude"}, {"family": "rot_cnot", "layers": 2}], "xz"),
        _dense(4, 2, "none"),
    ],
    "classical": [_dense(6, 4, "relu"), _dense(4, 2, "none")],
}


def _head_doc(layers: list[dict], gen: torch.Generator) -> dict:
    """head.json with seeded random parameters in [-1, 1] (dense) and [-π, π] (circuits)."""
    out = []
    for d in layers:
        if d.get("type") == "dense":
            rnd = lambda *shape: (torch.rand(*shape, generator=gen, dtype=torch.float64) * 2 - 1).tolist()  # noqa: E731
            out.append({**d, "weight": rnd(d["out"], d["in"]), "bias": rnd(d["out"])})
        elif d.get("type") == "pair_logits":
            out.append(d)
        else:
            w = (torch.rand(quantum.n_weights(d), generator=gen, dtype=torch.float64) * 2 - 1) * math.pi
            out.append({"type": "quantum", "circuit": d, "weights": w.tolist()})
    return {"format": "qumri-head/1", "layers": out, "output": "logits"}


def adapt_case(name: str, layers: list[dict], gen: torch.Generator, batch: int = 5, l2: float = 0.05) -> dict:
    """Loss = mean cross-entropy + l2·Σ(θ − θ₀)² (train.py's loss, anchored at the shipped θ₀) and its
    gradient by autograd in float64, flattened in head.parameters() order (= src/core/adapt/params.ts)."""
    head = head_from_json(_head_doc(layers, gen)).double()
    shipped = head_to_json(head)  # after head_from_json's float32 dense layers rounded the draws
    theta0 = [p.detach().clone() for p in head.parameters()]
    with torch.no_grad():
        for p in head.parameters():
            p.add_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.3)
    x = torch.rand(batch, layers[0]["in"], generator=gen, dtype=torch.float64) * 2 - 0.5
    y = torch.tensor([0, 1, 1, 0, 1][:batch])
    logits = head(x)
    ce = torch.nn.functional.cross_entropy(logits, y)
    loss = ce + l2 * sum(((p - p0) ** 2).sum() for p, p0 in zip(head.parameters(), theta0))
    loss.backward()
    return {
        "name": name,
        "shipped": shipped,
        "head": head_to_json(head),
        "features": x.tolist(),
        "labels": y.tolist(),
        "l2": l2,
        "loss": loss.item(),
        "ce": ce.item(),
        "probabilities": torch.softmax(logits, -1)[:, 1].tolist(),
        "grad": torch.cat([p.grad.reshape(-1) for p in head.parameters()]).tolist(),
    }


def write_adapt(out: str = ADAPT) -> None:
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(22)
    doc = {
        "format": "qumri-adapt-fixture/1",
        "source": "training/heads.py + torch autograd (float64)",
        "note": "grad = d loss / d theta, theta = head.parameters() flattened in order",
        "cases": [adapt_case(name, layers, gen) for name, layers in ADAPT_HEADS.items()],
    }
    rng = np.random.default_rng(22)
    y = np.array([0] * 9 + [1] * 7)
    p = np.clip(0.35 + 0.3 * y + rng.normal(0, 0.18, len(y)), 0.01, 0.99)
    p[3] = p[5]  # a tie, which AUC counts ½
    doc["calibration"] = {
        "source": "training/guards.py, training/evaluate.py",
        "p": p.tolist(),
        "y": y.tolist(),
        "entry": calibration_entry(p, y, "fixture"),
        "auc": auc_score(y, p),
        "threshold": choose_threshold(y, p),
    }
    with open(os.path.join(out, "torch-head-grad.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    torch.set_num_threads(2)
    what = sys.argv[1:] or ["bundles", "circuits", "adapt"]
    if "bundles" in what:
        write_bundles()
    if "circuits" in what:
        write_circuits()
    if "adapt" in what:
        write_adapt()
