"""The torch simulator against an independent dense-matrix reference, analytic values, gradcheck,
the committed fixtures (kernel and torch) and bad specs."""
import glob
import itertools
import json
import math
import os

import numpy as np
import pytest
import torch

from training import quantum

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# ------------------------------------------------------------------------------------------------
# Dense reference: full 2^n x 2^n matrices built with np.kron (qubit n-1 leftmost, qubit 0 = LSB),
# written from docs/circuit-spec.md independently of training/quantum.py
# ------------------------------------------------------------------------------------------------
I2 = np.eye(2)
H = np.array([[1, 1], [1, -1]]) / math.sqrt(2)


def RX(t):
    return np.array([[math.cos(t / 2), -1j * math.sin(t / 2)], [-1j * math.sin(t / 2), math.cos(t / 2)]])


def RY(t):
    return np.array([[math.cos(t / 2), -math.sin(t / 2)], [math.sin(t / 2), math.cos(t / 2)]])


def RZ(t):
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def P(t):
    return np.diag([1, np.exp(1j * t)])


def op1(u, q, n):
    m = np.array([[1.0]])
    for k in reversed(range(n)):
        m = np.kron(m, u if k == q else I2)
    return m


def cx(c, t, n):
    m = np.zeros((2**n, 2**n))
    for k in range(2**n):
        m[k ^ (1 << t) if (k >> c) & 1 else k, k] = 1
    return m


def pairs(n, kind):
    return {
        "full": list(itertools.combinations(range(n), 2)),
        "linear": [(i, i + 1) for i in range(n - 1)],
        "reverse_linear": [(i, i + 1) for i in reversed(range(n - 1))],
        "circular": ([(n - 1, 0)] if n > 2 else []) + [(i, i + 1) for i in range(n - 1)],
    }[kind]


def dense_run(spec, x, w):
    n = spec["n_qubits"]
    psi = np.zeros(2**n, complex)
    psi[0] = 1
    xi = wi = 0
    for L in spec["layers"]:
        f = L["family"]
        if f == "zz_feature_map":
            xs = x[xi : xi + n]
            xi += n
            for _ in range(L["reps"]):
                for q in range(n):
                    psi = op1(H, q, n) @ psi
                for q in range(n):
                    psi = op1(P(L["alpha"] * xs[q]), q, n) @ psi
                for i, j in pairs(n, L["entanglement"]):
                    psi = (
                        cx(i, j, n)
                        @ op1(P(L["alpha"] * (math.pi - xs[i]) * (math.pi - xs[j])), j, n)
                        @ cx(i, j, n)
                        @ psi
                    )
        elif f == "angle":
            xs = x[xi : xi + n]
            xi += n
            for q in range(n):
                psi = op1({"X": RX, "Y": RY, "Z": RZ}[L["rotation"]](xs[q]), q, n) @ psi
        elif f == "amplitude":
            k = L["n_features"]
            v = np.concatenate([x[xi : xi + k], np.full(2**n - k, L["pad_with"])])
            xi += k
            psi = (v / np.linalg.norm(v)).astype(complex)
        elif f == "real_amplitudes":
            for r in range(L["reps"] + (0 if L["skip_final_rotation_layer"] else 1)):
                for q in range(n):
                    psi = op1(RY(w[wi]), q, n) @ psi
                    wi += 1
                if r < L["reps"]:
                    for i, j in pairs(n, L["entanglement"]):
                        psi = cx(i, j, n) @ psi
        elif f == "rot_cnot":
            for _ in range(L["layers"]):
                for q in range(n):
                    phi, th, om = w[wi : wi + 3]
                    wi += 3
                    psi = op1(RZ(om) @ RY(th) @ RZ(phi), q, n) @ psi
                for i in range(n - 1):
                    psi = cx(i, i + 1, n) @ psi
        elif f == "rxyz_ring":
            for _ in range(L["layers"]):
                for q in range(n):
                    a, b, c = w[wi : wi + 3]
                    wi += 3
                    psi = op1(RZ(c), q, n) @ op1(RY(b), q, n) @ op1(RX(a), q, n) @ psi
                for j in range(n):
                    psi = cx(j, (j + 1) % n, n) @ psi
        elif f == "cnot_rz":
            for _ in range(L["layers"]):
                for i in range(n - 1):
                    psi = cx(i, i + 1, n) @ psi
                for q in range(n):
                    psi = op1(RZ(w[wi]), q, n) @ psi
                    wi += 1
    Z, X = np.diag([1, -1]), np.array([[0, 1], [1, 0]])
    ez = [np.vdot(psi, op1(Z, q, n) @ psi).real for q in range(n)]
    ex = [np.vdot(psi, op1(X, q, n) @ psi).real for q in range(n)]
    zz = np.array([[1.0]])
    for _ in range(n):
        zz = np.kron(zz, Z)
    return {"z": ez, "x": ex, "xz": ex + ez, "parity": [np.vdot(psi, zz @ psi).real], "probs": list(np.abs(psi) ** 2)}[
        spec["readout"]
    ]


CASES = [
    (2, [{"family": "zz_feature_map"}, {"family": "real_amplitudes"}], "parity"),
    (
        3,
        [
            {"family": "zz_feature_map", "entanglement": "linear", "reps": 1},
            {"family": "real_amplitudes", "entanglement": "full"},
        ],
        "z",
    ),
    (
        3,
        [
            {"family": "zz_feature_map", "entanglement": "circular", "alpha": 0.7},
            {"family": "real_amplitudes", "entanglement": "circular", "reps": 2},
        ],
        "xz",
    ),
    (
        4,
        [
            {"family": "zz_feature_map", "entanglement": "reverse_linear"},
            {"family": "real_amplitudes", "reps": 1, "skip_final_rotation_layer": True, "entanglement": "linear"},
        ],
        "probs",
    ),
    (2, [{"family": "angle", "rotation": "Y"}, {"family": "real_amplitudes", "reps": 1}], "x"),
    (3, [{"family": "angle", "rotation": "Y"}, {"family": "real_amplitudes", "reps": 2}], "probs"),
    (4, [{"family": "angle", "rotation": "X"}, {"family": "cnot_rz", "layers": 2}], "z"),
    (3, [{"family": "amplitude"}, {"family": "rot_cnot", "layers": 2}], "xz"),
    (2, [{"family": "amplitude", "pad_with": 0.3, "n_features": 3}, {"family": "rot_cnot"}], "parity"),
    (3, [{"family": "amplitude", "n_features": 5}], "probs"),
    (3, [{"family": "angle", "rotation": "Z"}, {"family": "rxyz_ring", "layers": 2}], "x"),
    (2, [{"family": "angle", "rotation": "X"}, {"family": "rxyz_ring"}], "probs"),
]


def random_inputs(spec, seed, batch=3):
    g = torch.Generator().manual_seed(seed)
    nf = quantum.n_features(spec)
    x = torch.rand(batch, nf, generator=g, dtype=torch.float64) * 3 - 0.5
    w = (torch.rand(quantum.n_weights(spec), generator=g, dtype=torch.float64) * 2 - 1) * math.pi
    return x, w


@pytest.mark.parametrize("case", range(len(CASES)))
def test_matches_dense_reference(case):
    spec = quantum.make_circuit(*CASES[case])
    x, w = random_inputs(spec, case)
    got = quantum.run_circuit(spec, x, w)
    assert got.shape == (3, quantum.n_outputs(spec))
    for b in range(3):
        want = dense_run(spec, x[b].numpy(), w.numpy())
        np.testing.assert_allclose(got[b].numpy(), want, atol=1e-12, rtol=0)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradcheck(case):
    spec = quantum.make_circuit(*CASES[case])
    x, w = random_inputs(spec, 100 + case, batch=2)
    x.requires_grad_(True)
    w.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: quantum.run_circuit(spec, a, b), (x, w), eps=1e-6, atol=1e-7)


def test_analytic_values():
    # RY(t)|0>: <Z> = cos t, <X> = sin t
    spec = quantum.make_circuit(1, [{"family": "angle", "rotation": "Y"}], "xz")
    t = torch.tensor([[0.3], [1.2]], dtype=torch.float64)
    out = quantum.run_circuit(spec, t, torch.zeros(0, dtype=torch.float64))
    np.testing.assert_allclose(out.numpy(), np.stack([np.sin(t[:, 0]), np.cos(t[:, 0])], 1), atol=1e-14)
    # qubit 0 is the least significant bit: X on qubit 0 only -> probability at index 1
    spec = quantum.make_circuit(2, [{"family": "angle", "rotation": "X"}], "probs")
    out = quantum.run_circuit(spec, torch.tensor([[math.pi, 0.0]], dtype=torch.float64), torch.zeros(0))
    np.testing.assert_allclose(out[0].numpy(), [0, 1, 0, 0], atol=1e-14)
    # a CX(0->1) after flipping qubit 0 lands on |11> (index 3): cnot_rz with zero RZ angles
    spec = quantum.make_circuit(2, [{"family": "angle", "rotation": "X"}, {"family": "cnot_rz"}], "probs")
    out = quantum.run_circuit(spec, torch.tensor([[math.pi, 0.0]], dtype=torch.float64), torch.zeros(2))
    np.testing.assert_allclose(out[0].numpy(), [0, 0, 0, 1], atol=1e-14)


def load_fixture_cases(path):
    """Both layouts: ours (`cases` with full Jacobians) and the kernel's (one case: `spec`, and gradients
    of L = sum(out_weights * outputs) as grad_x / grad_weights)."""
    with open(path) as f:
        doc = json.load(f)
    if "cases" in doc:
        return doc["cases"]
    return [{**doc, "circuit": doc["spec"]}]


def fixture_files():
    return sorted(glob.glob(os.path.join(ROOT, "fixtures", "circuits", "*.json")))


def test_fixtures_exist_for_every_trained_family():
    names = {os.path.basename(p) for p in fixture_files()}
    for fam in ("zz-real-amplitudes", "angle-cnot-rz", "amplitude-rot-cnot", "angle-rxyz-ring"):
        assert f"torch-{fam}.json" in names


def test_reproduces_every_circuit_fixture():
    """Every fixture in fixtures/circuits (the kernel's dense-matrix ones and ours) within 1e-10."""
    checked = 0
    for path in fixture_files():
        for case in load_fixture_cases(path):
            x = torch.tensor([case["x"]], dtype=torch.float64)
            w = torch.tensor(case["weights"], dtype=torch.float64)
            got = quantum.run_circuit(case["circuit"], x, w)[0].numpy()
            np.testing.assert_allclose(got, case["outputs"], atol=1e-10, rtol=0, err_msg=f"{path} {case.get('name')}")
            jx, jw = torch.autograd.functional.jacobian(
                lambda a, b: quantum.run_circuit(case["circuit"], a[None], b)[0], (x[0], w)
            )
            jx, jw = jx.reshape(len(case["outputs"]), -1).numpy(), jw.reshape(len(case["outputs"]), -1).numpy()
            if "jacobian_weights" in case:
                want_x, want_w = case["jacobian_x"], case["jacobian_weights"]
                got_x, got_w = jx, jw
            else:
                ow = np.array(case["out_weights"])
                want_x, want_w, got_x, got_w = case["grad_x"], case["grad_weights"], ow @ jx, ow @ jw
            np.testing.assert_allclose(
                got_x,
                np.array(want_x).reshape(got_x.shape),
                atol=1e-10,
                rtol=0,
                err_msg=f"{path} {case.get('name')} d/dx",
            )
            np.testing.assert_allclose(
                got_w,
                np.array(want_w).reshape(got_w.shape),
                atol=1e-10,
                rtol=0,
                err_msg=f"{path} {case.get('name')} d/dw",
            )
            checked += 1
    assert checked >= 9 + 12  # ours and the kernel's


@pytest.mark.parametrize(
    "bad,msg",
    [
        ({"format": "nope", "n_qubits": 2, "layers": [{"family": "angle"}], "readout": "z"}, "format"),
        ({"format": quantum.FORMAT, "n_qubits": 0, "layers": [{"family": "angle"}], "readout": "z"}, "n_qubits"),
        ({"format": quantum.FORMAT, "n_qubits": 2, "layers": [{"family": "magic"}], "readout": "z"}, "magic"),
        ({"format": quantum.FORMAT, "n_qubits": 2, "layers": [{"family": "angle"}], "readout": "y"}, "readout"),
        (
            {
                "format": quantum.FORMAT,
                "n_qubits": 2,
                "layers": [{"family": "real_amplitudes", "entanglement": "ring"}],
                "readout": "z",
            },
            "ring",
        ),
        ({"format": quantum.FORMAT, "n_qubits": 2, "layers": [{"family": "angle", "reps": 2}], "readout": "z"}, "reps"),
    ],
)
def test_bad_specs_are_named(bad, msg):
    with pytest.raises(ValueError, match=msg):
        quantum.normalize_spec(bad)


def test_bad_inputs_are_named():
    spec = quantum.paper_circuit()
    with pytest.raises(ValueError, match="weights"):
        quantum.run_circuit(spec, torch.zeros(1, 2, dtype=torch.float64), torch.zeros(3))
    with pytest.raises(ValueError, match="features"):
        quantum.run_circuit(spec, torch.zeros(1, 3, dtype=torch.float64), torch.zeros(8))
    amp = quantum.make_circuit(2, [{"family": "amplitude"}], "probs")
    with pytest.raises(ValueError, match="zero norm"):
        quantum.run_circuit(amp, torch.zeros(1, 4, dtype=torch.float64), torch.zeros(0))
