"""Builds the tiny random-weight bundles the inference unit tests run on (no trained model needed).

Run from the repository root (regenerates fixtures/bundles/tiny-{q,c,2d}/; part of `npm run fixtures`):
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 -m src.core.bundle.testing.tiny_bundles

Each bundle follows docs/model-bundle.md on a 16x12x10 grid (nx, ny, nz): a two-conv 3D backbone
exported to ONNX, a head.json, and reference.json with torch's probabilities for three preprocessed
NIfTI inputs shipped beside it. The quantum reference is an independent numpy statevector
simulation of ZZFeatureMap(2) + RealAmplitudes(2, reps=2) with parity readout (Qiskit order), so
the TypeScript head and the WASM kernel are checked against code they share nothing with.
"""
import hashlib
import json
import os

import nibabel as nib
import numpy as np
import torch

from src.core.backbone.make_probe import NX, NY, NZ, SEED as PROBE_SEED, TinyBackbone, export_backbone

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 4))
OUT = os.path.join(ROOT, "fixtures", "bundles")


# ---- numpy statevector, qubit 0 = least significant bit ----
def apply1(state, n, q, m):
    s = state.reshape([2] * n)  # axis 0 is the most significant qubit
    ax = n - 1 - q
    s = np.moveaxis(np.tensordot(m, s, axes=([1], [ax])), 0, ax)
    return s.reshape(-1)


def cx(state, n, c, t):
    out = state.copy()
    for k in range(2**n):
        if (k >> c) & 1:
            out[k] = state[k ^ (1 << t)]
    return out


H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
P = lambda l: np.array([[1, 0], [0, np.exp(1j * l)]])
RY = lambda t: np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]], dtype=complex)


def circuit_parity(x, w, reps_fm=2, reps_ans=2):
    n = 2
    st = np.zeros(4, dtype=complex)
    st[0] = 1
    for _ in range(reps_fm):
        for q in range(n):
            st = apply1(st, n, q, H)
        for q in range(n):
            st = apply1(st, n, q, P(2 * x[q]))
        st = cx(st, n, 0, 1)
        st = apply1(st, n, 1, P(2 * (np.pi - x[0]) * (np.pi - x[1])))
        st = cx(st, n, 0, 1)
    k = 0
    for r in range(reps_ans + 1):
        for q in range(n):
            st = apply1(st, n, q, RY(w[k]))
            k += 1
        if r < reps_ans:
            st = cx(st, n, 0, 1)
    probs = np.abs(st) ** 2
    parity = np.array([(-1) ** bin(i).count("1") for i in range(4)])
    return float(probs @ parity)


RX = lambda t: np.array([[np.cos(t / 2), -1j * np.sin(t / 2)], [-1j * np.sin(t / 2), np.cos(t / 2)]])
RZ = lambda t: np.array([[np.exp(-1j * t / 2), 0], [0, np.exp(1j * t / 2)]])


def circuit_angle_ring_z(x, w, n=3, layers=1):
    """AngleEmbedding(X) then RX·RY·RZ on every qubit and a CNOT ring per layer; <Z_q> per qubit."""
    st = np.zeros(2**n, dtype=complex)
    st[0] = 1
    for q in range(n):
        st = apply1(st, n, q, RX(x[q]))
    k = 0
    for _ in range(layers):
        for q in range(n):
            st = apply1(st, n, q, RX(w[k]))
            st = apply1(st, n, q, RY(w[k + 1]))
            st = apply1(st, n, q, RZ(w[k + 2]))
            k += 3
        for j in range(n):
            st = cx(st, n, j, (j + 1) % n)
    probs = np.abs(st) ** 2
    return np.array([sum(p * (1 - 2 * ((i >> q) & 1)) for i, p in enumerate(probs)) for q in range(n)])


class Tiny2d(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.c2 = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1)

    def forward(self, x):
        fmap = torch.relu(self.c2(self.pool(torch.relu(self.c1(x)))))
        return fmap.mean(dim=(2, 3)), fmap


def build_2d(bundle_id, seed):
    """A paper-B style 2D bundle on 224x224 slices: dense -> sigmoid_pi -> angle + rxyz_ring (3 qubits, <Z>) -> dense."""
    folder = os.path.join(OUT, bundle_id)
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = Tiny2d().eval()
    torch.onnx.export(
        net,
        torch.zeros(1, 1, 224, 224),
        os.path.join(folder, "backbone.onnx"),
        input_names=["input"],
        output_names=["features", "feature_map"],
        opset_version=17,
        dynamic_axes={"input": {0: "N"}, "features": {0: "N"}, "feature_map": {0: "N"}},
    )
    w1 = rng.normal(0, 3, (3, 6))
    b1 = rng.normal(0, 0.3, 3)
    qw = rng.uniform(-np.pi, np.pi, 9)
    w2 = rng.normal(0, 0.8, (2, 3))
    b2 = rng.normal(0, 0.3, 2)
    layers = [
        {"type": "dense", "in": 6, "out": 3, "activation": "sigmoid_pi", "weight": w1.tolist(), "bias": b1.tolist()},
        {
            "type": "quantum",
            "circuit": {
                "format": "qumri-circuit/1",
                "n_qubits": 3,
                "layers": [{"family": "angle", "rotation": "X"}, {"family": "rxyz_ring", "layers": 1}],
                "readout": "z",
            },
            "weights": qw.tolist(),
        },
        {"type": "dense", "in": 3, "out": 2, "activation": "none", "weight": w2.tolist(), "bias": b2.tolist()},
    ]
    with open(os.path.join(folder, "head.json"), "w") as fh:
        json.dump({"format": "qumri-head/1", "layers": layers, "output": "logits"}, fh)
    refs = []
    for i in range(2):
        img = rng.random((224, 224)).astype(np.float32)  # nibabel index (i, j) = (x, y)
        name = f"input{i}.nii.gz"
        nib.save(nib.Nifti1Image(img[:, :, None], np.eye(4)), os.path.join(folder, name))
        with torch.no_grad():
            feat = net(torch.from_numpy(img.T.copy())[None, None])[0][0].double().numpy()
        x = np.pi / (1 + np.exp(-(w1 @ feat + b1)))
        logits = w2 @ circuit_angle_ring_z(x, qw) + b2
        p = float(np.exp(logits[1]) / np.exp(logits).sum())
        refs.append({"file": name, "probability": p, "features": feat.tolist(), "logits": logits.tolist()})
    with open(os.path.join(folder, "reference.json"), "w") as fh:
        json.dump({"inputs": refs}, fh, indent=1)
    files = {
        n: {"sha256": sha(os.path.join(folder, n)), "bytes": os.path.getsize(os.path.join(folder, n))}
        for n in ("backbone.onnx", "head.json", "reference.json")
    }
    manifest = {
        "format": "qumri-bundle/1",
        "id": bundle_id,
        "name": "Tiny 2D slice test bundle (random weights)",
        "task": "ms",
        "classes": ["healthy", "MS"],
        "sequence": "FLAIR",
        "dims": 2,
        "architecture": {"backbone": "tiny2d", "head": "quantum", "paper": "B"},
        "input": {"name": "input", "shape": [1, 1, 224, 224]},
        "outputs": {"features": "features", "feature_map": "feature_map"},
        "preprocess": {
            "grid": [224, 224, 1],
            "orientation": "RAS",
            "resample": "resize",
            "spacing_mm": None,
            "brain_extraction": "off",
            "normalize": {"method": "percentile", "low": 0.5, "high": 99.5},
        },
        "threshold": 0.5,
        "files": files,
        "metrics": {"split": "test", "n": 0},
        "training_data": {"synthetic": True, "description": "None: random weights for tests.", "n_subjects": 0},
        "intended_use": "Software tests only. Not a medical device.",
        "limitations": ["Random weights: its outputs mean nothing"],
        "reference": {"file": "reference.json"},
    }
    with open(os.path.join(folder, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_inputs(folder, rng):
    names = []
    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    for i in range(3):
        vol = rng.random((NX, NY, NZ)).astype(np.float32)  # nibabel index (i, j, k)
        name = f"input{i}.nii.gz"
        nib.save(nib.Nifti1Image(vol, affine), os.path.join(folder, name))
        names.append((name, vol))
    return names


def build(bundle_id, quantum, seed):
    folder = os.path.join(OUT, bundle_id)
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = TinyBackbone().eval()
    export_backbone(net, os.path.join(folder, "backbone.onnx"))
    f = 6
    if quantum:
        w1 = rng.normal(0, 0.8, (2, f))
        b1 = rng.normal(0, 0.3, 2)
        qw = rng.uniform(-np.pi, np.pi, 6)
        layers = [
            {"type": "dense", "in": f, "out": 2, "activation": "none", "weight": w1.tolist(), "bias": b1.tolist()},
            {
                "type": "quantum",
                "circuit": {
                    "format": "qumri-circuit/1",
                    "n_qubits": 2,
                    "layers": [
                        {"family": "zz_feature_map", "reps": 2, "entanglement": "full", "alpha": 2.0},
                        {
                            "family": "real_amplitudes",
                            "reps": 2,
                            "entanglement": "reverse_linear",
                            "skip_final_rotation_layer": False,
                        },
                    ],
                    "readout": "parity",
                },
                "weights": qw.tolist(),
            },
            {"type": "pair_logits"},
        ]

        def head(feat):
            x = w1 @ feat + b1
            e = circuit_parity(x, qw)
            return np.array([e, 1 - e])

    else:
        w1 = rng.normal(0, 0.8, (4, f))
        b1 = rng.normal(0, 0.3, 4)
        w2 = rng.normal(0, 0.8, (2, 4))
        b2 = rng.normal(0, 0.3, 2)
        layers = [
            {"type": "dense", "in": f, "out": 4, "activation": "relu", "weight": w1.tolist(), "bias": b1.tolist()},
            {"type": "dense", "in": 4, "out": 2, "activation": "none", "weight": w2.tolist(), "bias": b2.tolist()},
        ]

        def head(feat):
            return w2 @ np.maximum(w1 @ feat + b1, 0) + b2

    with open(os.path.join(folder, "head.json"), "w") as fh:
        json.dump({"format": "qumri-head/1", "layers": layers, "output": "logits"}, fh)
    refs = []
    for name, vol in write_inputs(folder, rng):
        t = torch.from_numpy(vol.transpose(2, 1, 0).copy())[None, None]
        with torch.no_grad():
            feat = net(t)[0][0].double().numpy()
        logits = head(feat)
        p = float(np.exp(logits[1]) / np.exp(logits).sum())
        refs.append({"file": name, "probability": p, "features": feat.tolist(), "logits": logits.tolist()})
    with open(os.path.join(folder, "reference.json"), "w") as fh:
        json.dump({"inputs": refs}, fh, indent=1)
    files = {
        n: {"sha256": sha(os.path.join(folder, n)), "bytes": os.path.getsize(os.path.join(folder, n))}
        for n in ("backbone.onnx", "head.json", "reference.json")
    }
    manifest = {
        "format": "qumri-bundle/1",
        "id": bundle_id,
        "name": f'Tiny {"quantum" if quantum else "classical"} test bundle (random weights)',
        "task": "tsc",
        "classes": ["healthy", "TSC"],
        "sequence": "FLAIR",
        "dims": 3,
        "architecture": {"backbone": "tiny", "width": 4, "head": "quantum" if quantum else "classical", "paper": "A"},
        "input": {"name": "input", "shape": [1, 1, NZ, NY, NX]},
        "outputs": {"features": "features", "feature_map": "feature_map"},
        "preprocess": {
            "grid": [NX, NY, NZ],
            "orientation": "RAS",
            "resample": "resize",
            "spacing_mm": None,
            "brain_extraction": "off",
            "normalize": {"method": "percentile", "low": 0.5, "high": 99.5},
        },
        "threshold": 0.5,
        "files": files,
        "metrics": {"split": "test", "n": 0},
        "training_data": {"synthetic": True, "description": "None: random weights for tests.", "n_subjects": 0},
        "intended_use": "Software tests only. Not a medical device.",
        "limitations": ["Random weights: its outputs mean nothing"],
        "reference": {"file": "reference.json"},
    }
    with open(os.path.join(folder, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)


if __name__ == "__main__":
    torch.set_num_threads(2)
    build("tiny-q", True, PROBE_SEED)  # the probe's seed: its backbone.onnx is the shipped probe.onnx
    build("tiny-c", False, 2)
    build_2d("tiny-2d", 3)
