"""Heads after the pooled backbone features, built only from head.json's layer types.

A head is an nn.Sequential of Dense, Quantum and PairLogits modules, so export is one
`layer.to_json()` per module (docs/model-bundle.md, "head.json") and the page's TypeScript head
runs exactly what torch trained. The paper heads (A: Qiskit hybrid pattern; B: four hybrid
transfer-learning heads) are small builders over these three types.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from . import quantum

ACTIVATIONS = ("none", "relu", "sigmoid", "tanh", "sigmoid_pi", "sigmoid_l2")


def activate(y: torch.Tensor, kind: str) -> torch.Tensor:
    """The activations head.json names; sigmoid_l2 normalises each row to unit L2 norm."""
    if kind == "none":
        return y
    if kind == "relu":
        return torch.relu(y)
    if kind == "sigmoid":
        return torch.sigmoid(y)
    if kind == "tanh":
        return torch.tanh(y)
    if kind == "sigmoid_pi":
        return math.pi * torch.sigmoid(y)
    if kind == "sigmoid_l2":
        s = torch.sigmoid(y)
        return s / torch.linalg.vector_norm(s, dim=-1, keepdim=True)
    raise ValueError(f"unknown activation {kind!r} (known: {ACTIVATIONS})")


class Dense(nn.Module):
    """y = activation(W x + b), with dropout before it while training (absent from the export)."""

    def __init__(self, n_in: int, n_out: int, activation: str = "none", dropout: float = 0.0):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r} (known: {ACTIVATIONS})")
        self.linear = nn.Linear(n_in, n_out)
        self.activation = activation
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return activate(self.linear(self.dropout(x)), self.activation)

    def to_json(self) -> dict[str, Any]:
        w, b = self.linear.weight.detach().double(), self.linear.bias.detach().double()
        return {
            "type": "dense",
            "in": self.linear.in_features,
            "out": self.linear.out_features,
            "activation": self.activation,
            "weight": w.tolist(),
            "bias": b.tolist(),
        }


class Quantum(nn.Module):
    """The circuit as a layer: x = previous output, trainable float64 weights, readout as output."""

    def __init__(self, circuit: quantum.Spec, init_scale: float = 1.0):
        # uniform in [-1, 1] by default, as Qiskit's TorchConnector initialises its weights
        super().__init__()
        self.circuit = quantum.normalize_spec(circuit)
        nw = quantum.n_weights(self.circuit)
        self.weights = nn.Parameter((torch.rand(nw, dtype=torch.float64) * 2 - 1) * init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return quantum.run_circuit(self.circuit, x.double(), self.weights).to(x.dtype)

    def to_json(self) -> dict[str, Any]:
        return {"type": "quantum", "circuit": self.circuit, "weights": self.weights.detach().tolist()}


class PairLogits(nn.Module):
    """One value x -> logits [x, 1 - x] (Qiskit's hybrid pattern, paper A)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != 1:
            raise ValueError(f"pair_logits takes one value per sample, got {x.shape[-1]}")
        return torch.cat([x, 1 - x], -1)

    def to_json(self) -> dict[str, Any]:
        return {"type": "pair_logits"}


def head_to_json(head: nn.Sequential) -> dict[str, Any]:
    """head.json content for a head made of Dense / Quantum / PairLogits."""
    return {"format": "qumri-head/1", "layers": [layer.to_json() for layer in head], "output": "logits"}


def head_from_json(doc: dict[str, Any]) -> nn.Sequential:
    """Rebuild a torch head from head.json (used by the tests to check the export round-trips)."""
    if doc.get("format") != "qumri-head/1":
        raise ValueError(f"head format must be 'qumri-head/1', got {doc.get('format')!r}")
    layers: list[nn.Module] = []
    for i, d in enumerate(doc["layers"]):
        if d["type"] == "dense":
            m = Dense(d["in"], d["out"], d["activation"])
            with torch.no_grad():
                m.linear.weight.copy_(torch.tensor(d["weight"]))
                m.linear.bias.copy_(torch.tensor(d["bias"]))
        elif d["type"] == "quantum":
            m = Quantum(d["circuit"])
            with torch.no_grad():
                m.weights.copy_(torch.tensor(d["weights"], dtype=torch.float64))
        elif d["type"] == "pair_logits":
            m = PairLogits()
        else:
            raise ValueError(f"head layer {i}: unknown type {d['type']!r}")
        layers.append(m)
    return nn.Sequential(*layers)


def dense_stack(n_in: int, hidden: list[int], dropout: float) -> tuple[list[nn.Module], int]:
    """Linear-ReLU-Dropout blocks (paper B's configurable classifier); returns (modules, width out)."""
    mods: list[nn.Module] = []
    for h in hidden:
        mods.append(Dense(n_in, h, "relu", dropout))
        n_in = h
    return mods, n_in


# ---------------------------------------------------------------------------------------------
# Head builders
# ---------------------------------------------------------------------------------------------


def classical_head(n_in: int, hidden: list[int] = (), dropout: float = 0.0) -> nn.Sequential:
    """Dense stack -> 2 logits."""
    mods, width = dense_stack(n_in, list(hidden), dropout)
    return nn.Sequential(*mods, Dense(width, 2, "none", dropout))


def paper_a_head(
    n_in: int,
    n_qubits: int = 2,
    fm_reps: int = 2,
    fm_entanglement: str = "full",
    reps: int = 3,
    entanglement: str = "reverse_linear",
    readout: str = "parity",
    fm_input: str = "none",
) -> nn.Sequential:
    """fc -> n features -> ZZFeatureMap + RealAmplitudes -> readout -> logits.

    fm_input "none" feeds the fc output to the feature map as it is (Qiskit's TorchConnector pattern);
    "sigmoid_pi" bounds each feature to (0, pi), so its phase P(2x) cannot wrap around and the head is not
    periodic in the backbone's features.

    With the parity readout (Qiskit EstimatorQNN's default) the single expectation x becomes [x, 1 - x];
    with a multi-output readout a dense layer maps the expectations to 2 logits.
    """
    circ = quantum.paper_circuit(n_qubits, fm_reps, fm_entanglement, reps, entanglement, readout)
    tail: list[nn.Module] = [PairLogits()] if readout == "parity" else [Dense(quantum.n_outputs(circ), 2)]
    return nn.Sequential(Dense(n_in, n_qubits, fm_input), Quantum(circ), *tail)


def qcnn_head(
    n_in: int, n_qubits: int = 4, layers: int = 2, hidden: list[int] = (16,), dropout: float = 0.0
) -> nn.Sequential:
    """Paper B QCNN: Linear -> sigmoid*pi angles -> RX encoding -> (CNOTs, RZ) layers -> <Z> -> dense -> 2."""
    circ = quantum.make_circuit(
        n_qubits, [{"family": "angle", "rotation": "X"}, {"family": "cnot_rz", "layers": layers}], "z"
    )
    mods, width = dense_stack(n_qubits, list(hidden), dropout)
    return nn.Sequential(Dense(n_in, n_qubits, "sigmoid_pi"), Quantum(circ), *mods, Dense(width, 2))


def amplitude_head(
    n_in: int, n_qubits: int = 4, layers: int = 2, hidden: list[int] = (64,), post: int = 16, dropout: float = 0.0
) -> nn.Sequential:
    """Paper B QResNet50 / QDenseNet121: dense -> 2**n sigmoid, L2-normalised -> amplitude embedding
    -> Rot + CNOT layers -> <X>, <Z> of every qubit -> two dense layers -> 2 logits."""
    circ = quantum.make_circuit(n_qubits, [{"family": "amplitude"}, {"family": "rot_cnot", "layers": layers}], "xz")
    mods, width = dense_stack(n_in, list(hidden), dropout)
    return nn.Sequential(
        *mods,
        Dense(width, 2**n_qubits, "sigmoid_l2"),
        Quantum(circ),
        Dense(2 * n_qubits, post, "relu"),
        Dense(post, 2),
    )


def angle_ring_head(
    n_in: int, n_qubits: int = 4, layers: int = 2, hidden: list[int] = (64,), dropout: float = 0.0
) -> nn.Sequential:
    """Paper B QEfficientNetB3: dense -> n sigmoid*pi -> angle embedding -> RX.RY.RZ + CNOT ring -> <Z> -> 2."""
    circ = quantum.make_circuit(
        n_qubits, [{"family": "angle", "rotation": "X"}, {"family": "rxyz_ring", "layers": layers}], "z"
    )
    mods, width = dense_stack(n_in, list(hidden), dropout)
    return nn.Sequential(*mods, Dense(width, n_qubits, "sigmoid_pi"), Quantum(circ), Dense(n_qubits, 2))
