"""Differentiable batched statevector simulator for `qumri-circuit/1` specs (docs/circuit-spec.md).

The same JSON spec the WASM kernel runs is simulated here in complex128 so the trained heads and the
page compute the same numbers. Qiskit order: qubit 0 is the least significant bit of the index.

The state is a tensor [B, 2**n]. A single-qubit gate on qubit q views it as [B, 2**(n-1-q), 2, 2**q]
and contracts the middle axis with a (possibly per-sample) 2x2 matrix; a CX is an index permutation.
Every operation is out of place, so torch.autograd differentiates through x and the weights.

Example:
    >>> spec = paper_circuit()                    # ZZFeatureMap(2) + RealAmplitudes(2, reps=3), parity
    >>> x = torch.zeros(1, 2, dtype=torch.float64)
    >>> w = torch.zeros(n_weights(spec), dtype=torch.float64)
    >>> run_circuit(spec, x, w).shape
    torch.Size([1, 1])
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import torch

FORMAT = "qumri-circuit/1"
MAX_QUBITS = 24
READOUTS = ("z", "x", "xz", "parity", "probs")
ENTANGLEMENTS = ("full", "linear", "reverse_linear", "circular")
CDTYPE = torch.complex128
RDTYPE = torch.float64

Spec = dict[str, Any]

# Defaults of every family (docs/circuit-spec.md, "Families"); the single source of truth for options.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "zz_feature_map": {"reps": 2, "entanglement": "full", "alpha": 2.0},
    "angle": {"rotation": "X"},
    "amplitude": {"normalize": True, "pad_with": 0.0, "n_features": None},  # None -> 2**n_qubits
    "real_amplitudes": {"reps": 3, "entanglement": "reverse_linear", "skip_final_rotation_layer": False},
    "rot_cnot": {"layers": 1},
    "rxyz_ring": {"layers": 1},
    "cnot_rz": {"layers": 1},
}


# ---------------------------------------------------------------------------------------------
# Spec helpers
# ---------------------------------------------------------------------------------------------


def make_circuit(n_qubits: int, layers: list[dict[str, Any]], readout: str) -> Spec:
    """A validated spec with every family option filled in from its defaults."""
    spec = {"format": FORMAT, "n_qubits": n_qubits, "layers": layers, "readout": readout}
    return normalize_spec(spec)


def paper_circuit(
    n_qubits: int = 2,
    fm_reps: int = 2,
    fm_entanglement: str = "full",
    reps: int = 3,
    entanglement: str = "reverse_linear",
    readout: str = "parity",
) -> Spec:
    """Paper A's head circuit: Qiskit's ZZFeatureMap(n) + RealAmplitudes(n, reps), EstimatorQNN parity."""
    return make_circuit(
        n_qubits,
        [
            {"family": "zz_feature_map", "reps": fm_reps, "entanglement": fm_entanglement, "alpha": 2.0},
            {
                "family": "real_amplitudes",
                "reps": reps,
                "entanglement": entanglement,
                "skip_final_rotation_layer": False,
            },
        ],
        readout,
    )


def normalize_spec(spec: Spec) -> Spec:
    """Check a spec and return a copy with defaults filled in; errors name the bad value."""
    if spec.get("format") != FORMAT:
        raise ValueError(f"circuit format must be {FORMAT!r}, got {spec.get('format')!r}")
    n = spec.get("n_qubits")
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_QUBITS:
        raise ValueError(f"n_qubits must be an integer in 1..{MAX_QUBITS}, got {n!r}")
    if spec.get("readout") not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {spec.get('readout')!r}")
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"layers must be a non-empty list, got {layers!r}")
    out = []
    for i, layer in enumerate(layers):
        fam = layer.get("family")
        if fam not in FAMILY_DEFAULTS:
            raise ValueError(f"layer {i}: unknown family {fam!r} (known: {sorted(FAMILY_DEFAULTS)})")
        unknown = set(layer) - set(FAMILY_DEFAULTS[fam]) - {"family"}
        if unknown:
            raise ValueError(f"layer {i} ({fam}): unknown options {sorted(unknown)}")
        full = {"family": fam, **FAMILY_DEFAULTS[fam], **{k: v for k, v in layer.items() if k != "family"}}
        if "entanglement" in full and full["entanglement"] not in ENTANGLEMENTS:
            raise ValueError(
                f"layer {i} ({fam}): entanglement must be one of {ENTANGLEMENTS}, " f"got {full['entanglement']!r}"
            )
        if fam == "angle" and full["rotation"] not in ("X", "Y", "Z"):
            raise ValueError(f"layer {i} (angle): rotation must be X, Y or Z, got {full['rotation']!r}")
        for key in ("reps", "layers"):
            if key in full and (not isinstance(full[key], int) or full[key] < 1):
                raise ValueError(f"layer {i} ({fam}): {key} must be a positive integer, got {full[key]!r}")
        if fam == "amplitude":
            if i != 0:
                raise ValueError(f"layer {i}: amplitude embedding prepares the state and must be the first layer")
            if full["n_features"] is None:
                full["n_features"] = 2**n
            nf = full["n_features"]
            if not isinstance(nf, int) or isinstance(nf, bool) or not 1 <= nf <= 2**n:
                raise ValueError(f"layer {i} (amplitude): n_features must be an integer in 1..{2 ** n}, got {nf!r}")
        out.append(full)
    return {"format": FORMAT, "n_qubits": n, "layers": out, "readout": spec["readout"]}


def entanglement_pairs(n: int, kind: str) -> list[tuple[int, int]]:
    """(control, target) pairs of an entanglement list, in Qiskit's order."""
    if kind == "full":
        return list(itertools.combinations(range(n), 2))
    if kind == "linear":
        return [(i, i + 1) for i in range(n - 1)]
    if kind == "reverse_linear":
        return [(i, i + 1) for i in range(n - 2, -1, -1)]
    if kind == "circular":
        lin = [(i, i + 1) for i in range(n - 1)]
        return [(n - 1, 0)] + lin if n > 2 else lin
    raise ValueError(f"unknown entanglement {kind!r}")


def layer_sizes(layer: dict[str, Any], n: int) -> tuple[int, int]:
    """(features consumed, weights consumed) by one normalised layer."""
    fam = layer["family"]
    if fam in ("zz_feature_map", "angle"):
        return n, 0
    if fam == "amplitude":
        return layer["n_features"], 0
    return 0, ansatz_weights(layer, n)


def n_weights(spec: Spec) -> int:
    """Number of trainable weights a spec consumes."""
    spec = normalize_spec(spec)
    return sum(layer_sizes(layer, spec["n_qubits"])[1] for layer in spec["layers"])


def n_features(spec: Spec) -> int:
    """Number of input features a spec consumes."""
    spec = normalize_spec(spec)
    return sum(layer_sizes(layer, spec["n_qubits"])[0] for layer in spec["layers"])


def n_outputs(spec: Spec) -> int:
    """Number of readout values."""
    n, r = spec["n_qubits"], spec["readout"]
    return {"z": n, "x": n, "xz": 2 * n, "parity": 1, "probs": 2**n}[r]


# ---------------------------------------------------------------------------------------------
# Gates: each builds its 2x2 matrix (batched when the angle is) and hands it to apply_1q
# ---------------------------------------------------------------------------------------------


def _c(t: torch.Tensor) -> torch.Tensor:
    return t.to(CDTYPE)


def rx(theta: torch.Tensor) -> torch.Tensor:
    c, s = _c(torch.cos(theta / 2)), _c(torch.sin(theta / 2))
    return torch.stack([torch.stack([c, -1j * s], -1), torch.stack([-1j * s, c], -1)], -2)


def ry(theta: torch.Tensor) -> torch.Tensor:
    c, s = _c(torch.cos(theta / 2)), _c(torch.sin(theta / 2))
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def rz(theta: torch.Tensor) -> torch.Tensor:
    e = torch.exp(-0.5j * _c(theta))
    z = torch.zeros_like(e)
    return torch.stack([torch.stack([e, z], -1), torch.stack([z, e.conj()], -1)], -2)


def phase(lam: torch.Tensor) -> torch.Tensor:
    e = torch.exp(1j * _c(lam))
    one, z = torch.ones_like(e), torch.zeros_like(e)
    return torch.stack([torch.stack([one, z], -1), torch.stack([z, e], -1)], -2)


HADAMARD = torch.tensor([[1, 1], [1, -1]], dtype=CDTYPE) / math.sqrt(2)
ROTATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"X": rx, "Y": ry, "Z": rz}


def apply_1q(state: torch.Tensor, gate: torch.Tensor, q: int, n: int) -> torch.Tensor:
    """Apply a 2x2 gate ([2,2] shared or [B,2,2] per sample) to qubit q of state [B, 2**n]."""
    b = state.shape[0]
    psi = state.reshape(b, 2 ** (n - 1 - q), 2, 2**q)
    gate = gate.to(state.device)
    if gate.dim() == 2:
        out = torch.einsum("ij,bhjl->bhil", gate, psi)
    else:
        out = torch.einsum("bij,bhjl->bhil", gate, psi)
    return out.reshape(b, 2**n)


_PERM_CACHE: dict[tuple[int, int, int, str], torch.Tensor] = {}


def apply_cx(state: torch.Tensor, c: int, t: int, n: int) -> torch.Tensor:
    """CX(c -> t): swap the amplitudes whose control bit is 1 across the target bit."""
    key = (c, t, n, str(state.device))
    if key not in _PERM_CACHE:
        k = torch.arange(2**n, device=state.device)
        _PERM_CACHE[key] = torch.where((k >> c) & 1 == 1, k ^ (1 << t), k)
    return state[:, _PERM_CACHE[key]]


# ---------------------------------------------------------------------------------------------
# Families as data (mirroring src/core/quantum/builder.ts): encoders map x to the state; every
# ansatz is Qiskit's n_local pattern and is described by a few fields, built by n_local() below.
# ---------------------------------------------------------------------------------------------


def zz_feature_map(state, layer, x, n):
    alpha = float(layer["alpha"])
    pairs = entanglement_pairs(n, layer["entanglement"])
    for _ in range(layer["reps"]):
        for q in range(n):
            state = apply_1q(state, HADAMARD, q, n)
        for q in range(n):
            state = apply_1q(state, phase(alpha * x[:, q]), q, n)
        for i, j in pairs:
            state = apply_cx(state, i, j, n)
            state = apply_1q(state, phase(alpha * (math.pi - x[:, i]) * (math.pi - x[:, j])), j, n)
            state = apply_cx(state, i, j, n)
    return state


def angle(state, layer, x, n):
    gate = ROTATIONS[layer["rotation"]]
    for q in range(n):
        state = apply_1q(state, gate(x[:, q]), q, n)
    return state


def amplitude(state, layer, x, n):
    dim = 2**n
    if x.shape[1] > dim:
        raise ValueError(f"amplitude embedding takes at most {dim} features, got {x.shape[1]}")
    if x.shape[1] < dim:
        pad = torch.full((x.shape[0], dim - x.shape[1]), float(layer["pad_with"]), dtype=x.dtype, device=x.device)
        x = torch.cat([x, pad], 1)
    norm = torch.linalg.vector_norm(x, dim=1, keepdim=True)
    if bool((norm == 0).any()):
        raise ValueError("amplitude embedding: input vector has zero norm")
    if not layer["normalize"]:
        if bool(((norm - 1).abs() > 1e-10).any()):
            raise ValueError(f"amplitude embedding with normalize=false needs unit norm, got {norm.flatten().tolist()}")
        return _c(x)
    return _c(x / norm)


ENCODERS: dict[str, Callable[..., torch.Tensor]] = {
    "zz_feature_map": zz_feature_map,
    "angle": angle,
    "amplitude": amplitude,
}


def _rot(phi: torch.Tensor, theta: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    return rz(omega) @ ry(theta) @ rz(phi)


# Rotation gates of the ansätze: (number of weights, matrix from those weights)
ROTATION_GATES: dict[str, tuple[int, Callable[..., torch.Tensor]]] = {
    "rx": (1, rx),
    "ry": (1, ry),
    "rz": (1, rz),
    "rot": (3, _rot),
}


def _ring(n: int) -> list[tuple[int, int]]:
    """CX(j -> (j+1) mod n) for j = 0..n-1 (none for one qubit)."""
    return [(j, (j + 1) % n) for j in range(n)] if n > 1 else []


# Per family: rotations per qubit (weights qubit-major), CX pairs, repetitions, a final rotation
# layer, and whether a rep entangles before it rotates.
ANSATZE: dict[str, Callable[[dict[str, Any], int], dict[str, Any]]] = {
    # Qiskit RealAmplitudes (paper A)
    "real_amplitudes": lambda l, n: dict(
        rotations=["ry"],
        pairs=entanglement_pairs(n, l["entanglement"]),
        reps=l["reps"],
        final_rotation=not l["skip_final_rotation_layer"],
        entangle_first=False,
    ),
    # PennyLane Rot + nearest-neighbour CNOTs (paper B: QResNet50, QDenseNet121)
    "rot_cnot": lambda l, n: dict(
        rotations=["rot"],
        pairs=entanglement_pairs(n, "linear"),
        reps=l["layers"],
        final_rotation=False,
        entangle_first=False,
    ),
    # RX, RY, RZ then a CNOT ring (paper B: QEfficientNetB3)
    "rxyz_ring": lambda l, n: dict(
        rotations=["rx", "ry", "rz"], pairs=_ring(n), reps=l["layers"], final_rotation=False, entangle_first=False
    ),
    # CNOT chain then trainable RZ (paper B: QCNN)
    "cnot_rz": lambda l, n: dict(
        rotations=["rz"],
        pairs=entanglement_pairs(n, "linear"),
        reps=l["layers"],
        final_rotation=False,
        entangle_first=True,
    ),
}


def ansatz_weights(layer: dict[str, Any], n: int) -> int:
    shape = ANSATZE[layer["family"]](layer, n)
    per_layer = n * sum(ROTATION_GATES[r][0] for r in shape["rotations"])
    return per_layer * (shape["reps"] + (1 if shape["final_rotation"] else 0))


def n_local(state: torch.Tensor, layer: dict[str, Any], w: torch.Tensor, n: int) -> torch.Tensor:
    """The one builder of every ansatz family: rotation layers and CX lists as its data says."""
    shape = ANSATZE[layer["family"]](layer, n)
    k = 0

    def rotate(state):
        nonlocal k
        for q in range(n):
            for r in shape["rotations"]:
                n_params, gate = ROTATION_GATES[r]
                state = apply_1q(state, gate(*w[k : k + n_params]), q, n)
                k += n_params
        return state

    def entangle(state):
        for i, j in shape["pairs"]:
            state = apply_cx(state, i, j, n)
        return state

    for _ in range(shape["reps"]):
        state = rotate(entangle(state)) if shape["entangle_first"] else entangle(rotate(state))
    return rotate(state) if shape["final_rotation"] else state


# ---------------------------------------------------------------------------------------------
# Readouts
# ---------------------------------------------------------------------------------------------


def _bits(n: int, device: torch.device) -> torch.Tensor:
    k = torch.arange(2**n, device=device)
    return torch.stack([(k >> q) & 1 for q in range(n)], 1)  # [2**n, n]


def readout(state: torch.Tensor, kind: str, n: int) -> torch.Tensor:
    """Expectation values [B, n_outputs] (float64) of a final state [B, 2**n]."""
    probs = state.real**2 + state.imag**2
    if kind == "probs":
        return probs
    bits = _bits(n, state.device).to(RDTYPE)
    z = probs @ (1 - 2 * bits)
    if kind == "z":
        return z
    if kind == "parity":
        return probs @ (1 - 2 * (bits.sum(1, keepdim=True) % 2))
    k = torch.arange(2**n, device=state.device)
    xs = [(state.conj() * state[:, k ^ (1 << q)]).real.sum(1) for q in range(n)]
    xv = torch.stack(xs, 1)
    return xv if kind == "x" else torch.cat([xv, z], 1)


# ---------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------


def final_state(spec: Spec, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The state [B, 2**n] after every layer, for inputs x [B, F] and weights [W] (float64)."""
    spec = normalize_spec(spec)
    n = spec["n_qubits"]
    if x.dim() != 2:
        raise ValueError(f"x must be [batch, features], got shape {tuple(x.shape)}")
    x, weights = x.to(RDTYPE), weights.to(RDTYPE).reshape(-1)
    need_w = n_weights(spec)
    if weights.numel() != need_w:
        raise ValueError(f"circuit consumes {need_w} weights, got {weights.numel()}")
    state = torch.zeros(x.shape[0], 2**n, dtype=CDTYPE, device=x.device)
    state[:, 0] = 1
    xi = wi = 0
    for layer in spec["layers"]:
        nf, nw = layer_sizes(layer, n)
        xs, ws = x[:, xi : xi + nf], weights[wi : wi + nw]
        if xs.shape[1] != nf:
            raise ValueError(f"layer {layer['family']} needs {nf} features, only {xs.shape[1]} left in x")
        fam = layer["family"]
        state = ENCODERS[fam](state, layer, xs, n) if fam in ENCODERS else n_local(state, layer, ws, n)
        xi, wi = xi + nf, wi + nw
    if xi != x.shape[1]:
        raise ValueError(f"circuit consumes {xi} features, x has {x.shape[1]}")
    return state


def run_circuit(spec: Spec, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Readout values [B, n_outputs] (float64) of the circuit on a batch of inputs."""
    spec = normalize_spec(spec)
    return readout(final_state(spec, x, weights), spec["readout"], spec["n_qubits"])
