"""Regenerate the committed test fixtures: tiny bundles and torch circuit cross-checks.

    /usr/bin/python3 -m training.fixtures            # both
    /usr/bin/python3 -m training.fixtures bundles    # tests/fixtures/bundles/tiny-{qresnet,resnet}
    /usr/bin/python3 -m training.fixtures circuits   # tests/fixtures/circuits/torch-*.json

The tiny bundles are ResNet-10 width 4 on a 32^3 grid with seeded random weights whose BatchNorm
running statistics were moved off their defaults (so the ONNX BatchNorm folding is really exercised)
and a standardised first head layer so the reference inputs get clearly different probabilities.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

from . import quantum
from .export import export_bundle, reference_inputs
from .models import ModelConfig, build_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLES = os.path.join(ROOT, "tests", "fixtures", "bundles")
CIRCUITS = os.path.join(ROOT, "tests", "fixtures", "circuits")
TINY_SHAPE = [1, 1, 32, 32, 32]


def tiny_model(head: str, seed: int = 7):
    torch.manual_seed(seed)
    model = build_model(ModelConfig(backbone="resnet10", width=4, head=head))
    model.train()
    with torch.no_grad():  # a few batches to give BatchNorm non-trivial running statistics
        for _ in range(3):
            model.backbone(torch.rand(2, *TINY_SHAPE[1:]) * 2 + 0.5)
    return standardize_first_layer(model.eval())


def standardize_first_layer(model):
    """Random features barely differ between inputs: rescale the head's first dense layer so each of
    its outputs has mean 0 and std 1 over the reference inputs, spreading their probabilities so a
    parity test can tell them apart."""
    vols = reference_inputs(TINY_SHAPE[2:], 3, 0)
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
        export_bundle(tiny_model(head), os.path.join(out, bundle_id), bundle_id, input_shape=TINY_SHAPE,
                      name=f"Tiny {'Q' if head == 'quantum' else ''}ResNet-10 (width 4, 32^3) test fixture",
                      task="tsc", sequence="FLAIR", training_data=data,
                      limitations=["Untrained: its outputs mean nothing", "Test fixture only"], index=False)


# ---------------------------------------------------------------------------------------------
# Circuit cross-check fixtures: one file per family the heads train, every readout
# ---------------------------------------------------------------------------------------------

FIXTURE_CIRCUITS = {
    "zz-real-amplitudes": [
        (2, [{"family": "zz_feature_map"}, {"family": "real_amplitudes"}], "parity"),
        (3, [{"family": "zz_feature_map", "reps": 1, "entanglement": "linear"},
             {"family": "real_amplitudes", "reps": 2, "entanglement": "full"}], "xz"),
        (3, [{"family": "zz_feature_map", "entanglement": "circular", "alpha": 1.5},
             {"family": "real_amplitudes", "reps": 1, "entanglement": "reverse_linear",
              "skip_final_rotation_layer": True}], "probs"),
    ],
    "angle-cnot-rz": [(4, [{"family": "angle", "rotation": "X"}, {"family": "cnot_rz", "layers": 2}], "z"),
                      (2, [{"family": "angle", "rotation": "Y"}, {"family": "cnot_rz"}], "x")],
    "amplitude-rot-cnot": [(2, [{"family": "amplitude"}, {"family": "rot_cnot", "layers": 2}], "xz"),
                           (3, [{"family": "amplitude", "pad_with": 0.25, "n_features": 7}, {"family": "rot_cnot"}],
                            "parity")],
    "angle-rxyz-ring": [(4, [{"family": "angle", "rotation": "Z"}, {"family": "rxyz_ring", "layers": 2}], "z"),
                        (2, [{"family": "angle", "rotation": "X"}, {"family": "rxyz_ring"}], "xz")],
}


def fixture_case(name: str, n: int, layers: list, readout: str, gen: torch.Generator) -> dict:
    spec = quantum.make_circuit(n, layers, readout)
    x = torch.rand(quantum.n_features(spec), generator=gen, dtype=torch.float64) * 2
    w = (torch.rand(quantum.n_weights(spec), generator=gen, dtype=torch.float64) * 2 - 1) * 3
    jx, jw = torch.autograd.functional.jacobian(lambda a, b: quantum.run_circuit(spec, a[None], b)[0], (x, w))
    out = quantum.run_circuit(spec, x[None], w)[0]
    return {"name": name, "circuit": spec, "x": x.tolist(), "weights": w.tolist(), "outputs": out.tolist(),
            "jacobian_x": jx.tolist(), "jacobian_weights": jw.tolist()}


def write_circuits(out: str = CIRCUITS) -> None:
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(2024)
    for family, cases in FIXTURE_CIRCUITS.items():
        doc = {"format": "qumri-circuit-fixture/1", "source": "training/quantum.py (torch, complex128)",
               "note": "jacobian_x[o][i] = d outputs[o] / d x[i]; jacobian_weights likewise",
               "cases": [fixture_case(f"{family}-{i}", *c, gen) for i, c in enumerate(cases)]}
        with open(os.path.join(out, f"torch-{family}.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    torch.set_num_threads(2)
    what = sys.argv[1:] or ["bundles", "circuits"]
    if "bundles" in what:
        write_bundles()
    if "circuits" in what:
        write_circuits()
