"""The shipping rule (training/shipping.py) on made-up metrics, on public/models as shipped, and the
withdrawal record the page's slice panel shows, checked against the withdrawn manifests in git."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from training import shipping

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "public", "models")


def metrics(low, high=0.9, split="test"):
    return {"split": split, "auc": {"value": (low + high) / 2 if low is not None else 0.8, "ci95": [low, high]}}


def git(*args, cwd=ROOT):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_rule_needs_the_whole_interval_above_0_70():
    assert shipping.ships(metrics(0.74))
    assert not shipping.ships(metrics(0.65))
    assert not shipping.ships(metrics(0.70))  # reaching 0.70 is not above it
    assert not shipping.ships(metrics(None))  # no interval (bootstrap undefined)
    assert not shipping.ships(metrics(0.74, split="val"))
    assert not shipping.ships({"split": "test", "n": 0})  # the test fixtures' manifests: no AUC at all


def test_every_shipped_bundle_passes_the_rule():
    with open(os.path.join(MODELS, "index.json")) as f:
        ids = json.load(f)["models"]
    assert ids, "public/models ships no bundle"
    failing = {}
    for i in ids:
        with open(os.path.join(MODELS, i, "manifest.json")) as f:
            m = json.load(f)["metrics"]
        if not shipping.ships(m):
            failing[i] = m.get("auc")
    assert not failing, f"shipped bundles whose test AUC interval reaches {shipping.AUC_FLOOR} or below: {failing}"


def test_withdrawn_bundles_are_gone_and_recorded_from_their_manifests():
    doc = shipping.read_withdrawn(MODELS)
    assert doc["auc_floor"] == shipping.AUC_FLOOR and doc["rule"] == shipping.RULE
    with open(os.path.join(MODELS, "index.json")) as f:
        shipped = set(json.load(f)["models"])
    for e in doc["withdrawn"]:
        assert e["id"] not in shipped and not os.path.exists(
            os.path.join(MODELS, e["id"])
        ), f"{e['id']} is withdrawn but still shipped"
        manifest = json.loads(git("show", f"{e['commit']}:public/models/{e['id']}/manifest.json"))
        assert e == shipping.withdrawn_entry(manifest, e["commit"])
    assert {(e["plane"], e["head"]) for e in doc["withdrawn"]} == {
        (p, h) for p in ("axial", "sagittal") for h in ("classical", "quantum")
    }


def bundle(models, bundle_id, low, name="QCNN, MS vs healthy, FLAIR axial slice (224×224)"):
    (models / bundle_id).mkdir(parents=True)
    m = {
        "id": bundle_id,
        "name": name,
        "task": "ms",
        "sequence": "FLAIR",
        "dims": 2,
        "architecture": {"head": "quantum"},
        "metrics": {**metrics(low), "n": 26},
    }
    (models / bundle_id / "manifest.json").write_text(json.dumps(m))


def test_withdraw_moves_a_failing_bundle_out_and_refuses_a_passing_one(tmp_path):
    models = tmp_path / "models"
    bundle(models, "bad", 0.32)
    bundle(models, "good", 0.74)
    bundle(models, "edited", 0.2)
    (models / "index.json").write_text(json.dumps({"models": ["good", "bad", "edited"]}))
    git("init", "-q", cwd=tmp_path)
    git("add", ".", cwd=tmp_path)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "bundles", cwd=tmp_path)
    head = git("rev-parse", "HEAD", cwd=tmp_path).strip()
    shipping.withdraw(str(models), ["bad"])
    assert not (models / "bad").exists()
    assert json.loads((models / "index.json").read_text()) == {"models": ["good", "edited"]}
    (entry,) = shipping.read_withdrawn(str(models))["withdrawn"]
    assert (entry["id"], entry["plane"], entry["family"], entry["ci95"], entry["commit"]) == (
        "bad",
        "axial",
        "QCNN",
        [0.32, 0.9],
        head,
    )
    with pytest.raises(ValueError, match="passes the shipping rule"):
        shipping.withdraw(str(models), ["good"])
    (models / "edited" / "manifest.json").write_text((models / "edited" / "manifest.json").read_text() + " ")
    with pytest.raises(SystemExit, match="differs from HEAD"):
        shipping.withdraw(str(models), ["edited"])
    assert (models / "good").exists() and (models / "edited").exists()
