"""Every shipped bundle in public/models: hashes, model card, and node CLI vs torch parity on its reference inputs.

The reference inputs (reference-*.nii.gz, already on the model grid) and their torch probabilities were
written by training.export when the bundle was exported; here `qumri classify --preprocessed` runs the
same files through onnxruntime-node and the WASM quantum kernel and must agree within 1e-4.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "public", "models")
MAX_TOTAL_BYTES = 100 * 2**20


def shipped_ids() -> list[str]:
    path = os.path.join(MODELS, "index.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)["models"]


def manifest(bundle_id: str) -> dict:
    with open(os.path.join(MODELS, bundle_id, "manifest.json")) as f:
        return json.load(f)


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_index_lists_only_existing_bundles_and_total_size_fits():
    ids = shipped_ids()
    assert len(ids) == len(set(ids)), f"duplicate ids in index.json: {ids}"
    total = 0
    for root, _, files in os.walk(MODELS):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    assert total <= MAX_TOTAL_BYTES, f"public/models holds {total / 2 ** 20:.1f} MiB, over 100 MiB"
    for i in ids:
        assert os.path.isfile(os.path.join(MODELS, i, "manifest.json")), f"index.json lists {i} without a manifest"


@pytest.mark.parametrize("bundle_id", shipped_ids())
def test_manifest_hashes_match(bundle_id):
    m = manifest(bundle_id)
    assert m["id"] == bundle_id
    for name, meta in m["files"].items():
        path = os.path.join(MODELS, bundle_id, name)
        assert os.path.getsize(path) == meta["bytes"], f"{bundle_id}/{name}: size differs from the manifest"
        assert sha256(path) == meta["sha256"], f"{bundle_id}/{name}: sha256 differs from the manifest"


@pytest.mark.parametrize("bundle_id", shipped_ids())
def test_model_card_is_complete_and_honest(bundle_id):
    m = manifest(bundle_id)
    td = m["training_data"]
    assert td["synthetic"] is True and td["generator"].startswith("qumri-synth") and isinstance(td["seed"], int)
    assert td["n_subjects"] > 0 and td["splits"]
    for k in ("auc", "acc", "sen", "spe"):
        v = m["metrics"][k]
        assert v["ci95"][0] <= v["value"] <= v["ci95"][1], f"{bundle_id}: {k} {v} outside its interval"
    assert m["metrics"]["split"] == "test"
    assert "not a medical device" in m["intended_use"].lower()
    assert any("synthetic" in s.lower() for s in m["limitations"])
    assert 0 < m["threshold"] < 1
    c = m["architecture"]["config"]
    if m["architecture"]["paper"] == "A" and c["head"] == "quantum":
        plain = c["n_qubits"] == 2 and c["readout"] == "parity" and c.get("fm_input", "none") == "none"
        says = any("differs from paper A's Qiskit pattern" in s for s in m["limitations"])
        assert (
            says != plain
        ), f"{bundle_id}: the card must say how its quantum head departs from paper A's, and only then"


@pytest.mark.parametrize("bundle_id", shipped_ids())
def test_node_cli_matches_torch_on_reference_inputs(bundle_id, tmp_path):
    folder = os.path.join(MODELS, bundle_id)
    m = manifest(bundle_id)
    with open(os.path.join(folder, m["reference"]["file"])) as f:
        ref = json.load(f)["inputs"]
    assert len(ref) >= 5, f"{bundle_id}: parity needs 5 reference inputs, has {len(ref)}"
    if m["dims"] == 3:
        files = [os.path.join(folder, e["file"]) for e in ref]
        cmd = [
            os.path.join(ROOT, "bin", "qumri.mjs"),
            "classify",
            *files,
            "--model",
            folder,
            "--json",
            "--preprocessed",
            "--threads",
            "1",
        ]
    else:  # 2D slices: the page's modules in node (qumri classify takes volumes only), raw row-major float32
        import nibabel as nib
        import numpy as np

        files = []
        for e in ref:
            files.append(str(tmp_path / e["file"]))
            nib.load(os.path.join(folder, e["file"])).get_fdata()[:, :, 0].T.astype("<f4").tofile(files[-1])
            assert np.fromfile(files[-1], "<f4").size == m["input"]["shape"][2] * m["input"]["shape"][3]
        cmd = [os.path.join(ROOT, "experiments", "tests", "classify_slices.mjs"), folder, *files]
    r = subprocess.run(["node", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads(r.stdout)
    got = {os.path.basename(row["file"]): row["probability"] for row in rows}
    for e in ref:
        p = got[e["file"]]
        assert abs(p - e["probability"]) <= 1e-4, f"{bundle_id}/{e['file']}: node {p} vs torch {e['probability']}"


@pytest.mark.parametrize("bundle_id", shipped_ids())
def test_float16_weights_keep_probabilities_within_1e3_of_float32(bundle_id):
    m = manifest(bundle_id)
    assert m.get("weights", "float32") in ("float32", "float16")
    if m.get("weights") != "float16":
        return
    with open(os.path.join(MODELS, bundle_id, m["reference"]["file"])) as f:
        ref = json.load(f)["inputs"]
    for e in ref:
        assert abs(e["probability"] - e["probability_float32"]) <= 1e-3, f"{bundle_id}/{e['file']}"
