"""The report: regenerable from the committed records, DeLong only on identical test subjects, Wilson intervals."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from experiments import report
from experiments.paper_a import wilson

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fake_record(head: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    y = np.array([0, 1] * 10)
    p = np.clip(y * 0.4 + rng.uniform(0, 0.6, len(y)), 0, 1)
    m = {"value": 0.9, "ci95": [0.8, 0.95]}
    return {
        "format": "qumri-run/1", "id": f"tsc-flair-{head}", "family": "paper_a", "task": "tsc", "sequence": "FLAIR",
        "head": head, "model": head, "n_test": len(y), "input_shape": [1, 1, 8, 8, 8], "epochs_run": 3,
        "best_val_loss": 0.3, "wall_time_s": {"train": 60.0},
        "splits": {"train": [f"t{i}" for i in range(65)], "val": [f"v{i}" for i in range(15)],
                   "test": [f"s{i}" for i in range(20)]},
        "model_args": {"width": 8},
        "config": {"lr": 1e-3, "l2": 0.0, "augment": False, "batch_size": 8, "epochs": 25, "patience": 6},
        "cohort": {"generator": "qumri-synth 1.0.0", "seed": 1, "n_subjects": 100, "n_patients": 50},
        "test": {k: m for k in ("auc", "acc", "sen", "spe", "precision", "f1")},
        "predictions": {"test": [{"subject_id": f"s{i}", "label": int(a), "probability": float(b)}
                                 for i, (a, b) in enumerate(zip(y, p))]},
        "pointing": {"n": 10, "hits": 4, "acc": 0.4, "ci95": wilson(4, 10), "hits_dilated": 6, "acc_dilated": 0.6,
                     "ci95_dilated": wilson(6, 10), "chance": 0.01, "chance_dilated": 0.03},
        "paired": {"n": 10, "patient_higher": 9, "rate": 0.9, "ci95": wilson(9, 10)},
    }


def test_render_has_both_models_paper_numbers_and_delong(tmp_path):
    recs = [fake_record("classical", 1), fake_record("quantum", 2)]
    for r in recs:
        r["model_label"] = report.label(r)
    text = report.render(recs, str(tmp_path), "img")
    assert "| TSC | FLAIR | ResNet-34 | 20 |" in text and "| TSC | FLAIR | QResNet-34 | 20 |" in text
    assert "0.982 / 0.923 / 0.942 / 0.904" in text  # paper A's ResNet3D FLAIR row beside ours
    p = report.pair_delong(recs[1], recs[0])["p"]
    assert f"| {p:.3f} |" in text
    assert "synthetic-cohort numbers" in text
    assert (tmp_path / "results-roc-tsc-flair.png").stat().st_size > 1000


def test_pointing_per_stage_table_lists_every_stage_only_for_records_that_have_it(tmp_path):
    recs = [fake_record("classical", 1), fake_record("quantum", 2)]
    recs[1]["pointing_by_stage"] = [{"stage": k + 1, "map": [4 // 2 ** k] * 3, "acc": 0.1 * k, "ci95": [0.0, 0.5],
                                     "acc_dilated": 0.2 * k} for k in range(3)]
    for r in recs:
        r["model_label"] = report.label(r)
    text = report.render(recs, str(tmp_path), "img")
    assert "| stage 1 (4×4×4) | stage 2 (2×2×2) | stage 3 (1×1×1) | chance / ±1 |" in text
    assert "| TSC | FLAIR | QResNet-34 | 0.0 % (0.0 %–50.0 %) / 0.0 % | 10.0 % (0.0 %–50.0 %) / 20.0 % |" in text
    assert "| TSC | FLAIR | ResNet-34 | 0.0 % (" not in text


def test_delong_refuses_different_test_subjects():
    c, q = fake_record("classical", 1), fake_record("quantum", 2)
    q["predictions"]["test"][0]["subject_id"] = "other"
    with pytest.raises(ValueError, match="different subjects"):
        report.pair_delong(q, c)


def test_wilson_interval_known_values():
    lo, hi = wilson(9, 10)
    assert abs(lo - 0.5958) < 1e-3 and abs(hi - 0.9821) < 1e-3
    assert wilson(0, 5)[0] == 0.0


def test_committed_results_page_is_what_the_records_give(tmp_path):
    records = os.path.join(ROOT, "experiments", "records")
    committed = os.path.join(ROOT, "docs", "results.md")
    assert os.path.exists(committed), "docs/results.md is missing: run python -m experiments.report"
    out = tmp_path / "results.md"
    report.main([f"--records={records}", f"--out={out}"])
    assert out.read_text() == open(committed).read(), "docs/results.md is stale: run python -m experiments.report"


def test_records_never_let_test_choose_anything():
    folder = os.path.join(ROOT, "experiments", "records")
    names = [n for n in sorted(os.listdir(folder)) if n.endswith(".json")] if os.path.isdir(folder) else []
    for sub in ("round1", "superseded", report.PAPER_B_520, *report.VARIANTS):
        d = os.path.join(folder, sub)
        names += [os.path.join(sub, n) for n in sorted(os.listdir(d)) if n.endswith(".json")] if os.path.isdir(d) else []
    for name in names:
        with open(os.path.join(folder, name)) as f:
            r = json.load(f)
        assert r["threshold_chosen_on"].startswith("val"), name
        test_ids = set(r["splits"]["test"])
        assert not test_ids & set(r["splits"]["train"]) and not test_ids & set(r["splits"]["val"]), name
        assert {e["subject_id"] for e in r["predictions"]["test"]} <= test_ids, name


def test_each_model_uses_the_variant_with_the_lower_validation_loss():
    """records/<id>.json is, among that model's variants (report.VARIANTS), the run with the lowest validation
    loss; its shipped bundle is that run's (the reference probabilities of the bundle are the
    run's model, so a swapped bundle would fail test_bundles' torch parity)."""
    folder = os.path.join(ROOT, "experiments", "records")
    variants = {}
    for by_id in report.load_variants(folder).values():
        for rid, r in by_id.items():
            variants.setdefault(rid, []).append(r)
    for rid, runs in variants.items():
        best = min(runs, key=lambda r: r["best_val_loss"])
        with open(os.path.join(folder, f"{rid}.json")) as f:
            used = json.load(f)
        assert used == best, f"records/{rid}.json is not its lowest-validation-loss variant"
        if used.get("shipped"):
            with open(os.path.join(ROOT, used["shipped"]["bundle"], "manifest.json")) as f:
                manifest = json.load(f)
            assert manifest["threshold"] == used["threshold"], f"{rid}: the shipped bundle is another variant's"


def test_head_text_names_the_output_layer_each_run_was_trained_with():
    q, c = fake_record("quantum", 0), fake_record("classical", 1)
    assert report.head_text(q).endswith("⟨Z⊗Z⟩ = x → [x, 1 − x]")
    q["config"]["readout"] = "z"
    assert report.head_text(q).endswith("each qubit's ⟨Z⟩ → dense → 2")
    assert report.head_text(c) == "fc → 2"
    c["config"]["hidden"] = "2"
    assert report.head_text(c) == "fc → 2 ReLU → dense → 2"
