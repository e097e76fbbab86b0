"""Adds the guards' data to shipped bundles from their run records (issue #18): Platt calibration of
P(positive) from the record's validation predictions, and — given the backbone features of the
record's train and validation subjects — the Mahalanobis OOD model; with --real, the model card's
real-scan results from experiments.real_scans' record and the REAL_CHECKS it fails (which withhold its class
on every input but the demo phantoms). Weights and files are untouched; only
manifest.json gains `calibration` (and `ood`, `real_scans`).

    /usr/bin/python3 -m experiments.guard_bundles tsc-flair-resnet34 tsc-t2w-qresnet34 …
    /usr/bin/python3 -m experiments.bundle_features public/models/ms-flair-resnet34 runs/feats.json \
        data/prepared/ms-mix-64/02-ms-flair-240/ms-0*[0-9].nii.gz
    /usr/bin/python3 -m experiments.guard_bundles ms-flair-resnet34 --features runs/feats.json

A features file maps subject_id → feature vector (experiments.bundle_features writes it from the
bundle's own backbone.onnx); its subjects are sorted into train and validation by the record's splits.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

from experiments.variants import RECORDS, ROOT, shipped_record
from training import guards
from training.export import _write_json


def calibration_from_record(record: dict) -> dict:
    val = record["predictions"]["val"]
    p = np.array([r["probability"] for r in val])
    y = np.array([r["label"] for r in val])
    return guards.calibration_entry(p, y, f"validation split of the training cohort, n = {len(val)} scans")


def ood_from_features(record: dict, features: dict[str, list[float]]) -> dict:
    pick = lambda split: np.array([features[s] for s in record["splits"][split] if s in features])
    train, val = pick("train"), pick("val")
    if len(train) < 10 or len(val) < 10:
        raise ValueError(
            f"OOD model needs ≥ 10 train and validation subjects with features, got {len(train)} / {len(val)}"
        )
    return guards.ood_entry(
        train,
        val,
        f"pooled backbone features of {len(train)} training scans; threshold on " f"{len(val)} validation scans",
    )


UNMEASURED = (
    "There is no real TSC scan and no real healthy FLAIR in reach: TSC sensitivity on real scans and "
    "specificity on real healthy FLAIR are not measured (lesion-removed twins of MS scans stand in)."
)


# Issue 18's real-scan checks, (rate key, bound): a rate outside its bound fails the model. A model that fails
# any is not fit for real scans: the page and the CLI withhold its class on every input but the bundled demo
# phantoms. TSC has no real positive, so its bound is on real scans without TSC called TSC.
REAL_CHECKS = {
    "ms": [
        ("ms_called_ms", "min", 0.80),
        ("twins_called_healthy", "min", 0.75),
        ("withheld_same_sequence", "max", 0.20),
        ("wrong_sequence_caught", "min", 1.0),
    ],
    "tsc": [
        ("real_called_positive", "max", 0.20),
        ("t2w_healthy_called_tsc", "max", 0.0),
        ("wrong_sequence_caught", "min", 1.0),
    ],
}


def failed_checks(task: str, rates: list[dict]) -> list[str]:
    """The real-scan checks a model fails, in words with its numbers (measured rates only)."""
    by = {r["key"]: r for r in rates if r["N"] and r["n"] is not None}
    out = []
    for key, kind, bound in REAL_CHECKS[task]:
        r = by.get(key)
        if r is None:
            continue
        rate = r["n"] / r["N"]
        if (rate < bound) if kind == "min" else (rate > bound):
            out.append(
                f"{r['label']}: {r['n']} of {r['N']} ({'need' if kind == 'min' else 'allowed'} "
                f"{'≥' if kind == 'min' else '≤'} {bound:.0%})"
            )
    return out


def real_scan_results(record: dict, bundle_id: str) -> dict | None:
    """The card's summary of one model's row in the real-scan record (rates with at least one scan)."""
    model = next((m for m in record["models"] if m["id"] == bundle_id), None)
    if model is None:
        return None
    return {
        "measured_on": f"{len(record['scans'])} real scans of ../shared/data (MS FLAIR, lesion-removed twins, "
        f"a healthy T2w volunteer, a stroke, T1w/T2w as wrong sequences; docs/results.md, "
        f"'Real scans') through qumri classify at commit {record['git_commit'][:7]}",
        "results": [
            {"what": r["label"], "n": r["n"], "of": r["N"]} for r in model["rates"] if r["N"] and r["n"] is not None
        ],
        "fails": failed_checks(model["task"], model["rates"]),
        "unmeasured": UNMEASURED,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ids", nargs="+", help="shipped bundle ids (public/models/<id>, its run: records/shipped.json)")
    ap.add_argument("--features", default="", help="JSON subject_id → features (one bundle only)")
    ap.add_argument(
        "--real", default="", help="experiments.real_scans record: write each model card's real-scan results"
    )
    ap.add_argument("--no-calibration", action="store_true", help="leave the calibration as it is")
    a = ap.parse_args(argv)
    if a.features and len(a.ids) != 1:
        ap.error("--features belongs to one bundle")
    for bundle_id in a.ids:
        record = shipped_record(RECORDS, bundle_id)
        path = os.path.join(ROOT, "public", "models", bundle_id, "manifest.json")
        with open(path) as f:
            manifest = json.load(f)
        if not a.no_calibration:
            manifest["calibration"] = calibration_from_record(record)
        if a.real:
            with open(a.real) as f:
                results = real_scan_results(json.load(f), bundle_id)
            if results:
                manifest["real_scans"] = results
        if a.features:
            with open(a.features) as f:
                manifest["ood"] = ood_from_features(record, json.load(f))
        _write_json(path, manifest)
        c = manifest["calibration"]
        print(
            f"{bundle_id}: Platt a={c['a']:.3f} b={c['b']:.3f}, validation ECE {c['ece_before']:.3f} -> {c['ece_after']:.3f}"
            + (f"; OOD threshold {manifest['ood']['threshold']:.2f}" if "ood" in manifest else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
