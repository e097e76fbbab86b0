"""A bundle on another cohort's split, like for like (issue 18): is a candidate's synthetic AUC low because it
lost accuracy, or because its cohort's split is harder than the one the shipped model was judged on?

    nice /usr/bin/python3 -m experiments.bundle_on_cohort --bundle public/models/ms-flair-resnet34 \
        --cohort data/prepared/ms-ref-64/cohort.csv --splits data/prepared/ms-ref-64/splits.json --split val \
        --against records/real-refdice-fit/ms-flair-resnet34.json --record records/like-for-like/....json

Every scan of the split, from its raw file (the cohort's raw_path column), goes through `qumri classify`
with the bundle, as a user's scan would (its own preprocessing; --no-model-check: the model is measured,
not its card). AUC with a 95 % stratified bootstrap interval over all scans, over the synthetic ones and per
source; with --against, a run record of the same cohort is compared on the same scans (DeLong). Only
scores and counts go into the record.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import time

import numpy as np

from experiments.paper_a import git_commit
from experiments.real_scans import run_cli, write_json
from training.evaluate import auc_score, bootstrap, delong

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def split_rows(cohort: str, splits: str, split: str) -> list[dict]:
    """The cohort's rows in the split, in manifest order (the order of a run's predictions on that split)."""
    with open(splits) as f:
        keep = set(json.load(f)[split])
    with open(cohort) as f:
        rows = [r for r in csv.DictReader(f) if r["subject_id"] in keep]
    if not rows:
        raise SystemExit(f"{cohort}: no rows in split {split!r} of {splits}")
    return rows


def source_of(row: dict) -> str:
    """'synthetic (ms-flair-240)' for a phantom and its lesion-free twin alike, 'real validation' for real scans."""
    s = row["source"].split(",")[0]
    return s.split(":")[0] if s.startswith("real") else s


def auc_entry(y: np.ndarray, p: np.ndarray) -> dict:
    if len(set(y.tolist())) < 2:
        return {"n": int(len(y)), "positive": int(y.sum()), "auc": None}
    return {
        "n": int(len(y)),
        "positive": int(y.sum()),
        "auc": {"value": auc_score(y, p), "ci95": bootstrap(y, p, 0.5, n_boot=2000, seed=0)["auc"]},
    }


def aligned_record(record: dict, split: str, rows: list[dict]) -> np.ndarray:
    """The run record's probabilities on these rows: its predictions are in the same manifest order, named by
    file stem; refused unless stem and label agree at every position."""
    preds = record["predictions"][split]
    stems = [os.path.basename(r["path"]).removesuffix(".nii.gz") for r in rows]
    if len(preds) != len(rows) or any(
        p["subject_id"] != s or p["label"] != int(r["label"]) for p, s, r in zip(preds, stems, rows)
    ):
        raise SystemExit(f"the record's {split} predictions are not this split's scans in manifest order")
    return np.array([p["probability"] for p in preds], dtype=float)


def measure(rows: list[dict], p: np.ndarray) -> dict:
    y = np.array([int(r["label"]) for r in rows])
    sources = np.array([source_of(r) for r in rows])
    synthetic = np.char.startswith(sources, "synthetic")
    return {
        "all": auc_entry(y, p),
        "synthetic": auc_entry(y[synthetic], p[synthetic]),
        "by_source": {s: auc_entry(y[sources == s], p[sources == s]) for s in sorted(set(sources))},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--cohort", required=True, help="a cohort.csv with raw_path, label, subject_id, source")
    ap.add_argument("--splits", required=True)
    ap.add_argument("--split", required=True, choices=("train", "val", "test"))
    ap.add_argument("--against", nargs="*", default=[], help="qumri-run/1 records of this cohort to compare with")
    ap.add_argument("--record", required=True)
    a = ap.parse_args(argv)
    t0 = time.time()
    rows = split_rows(a.cohort, a.splits, a.split)
    out = run_cli([r["raw_path"] for r in rows], a.bundle)
    bad = [o for o in out if o["status"] != "ok"]
    if bad:
        raise SystemExit(f"classify failed on {len(bad)} scans, first {bad[0]['file']}: {bad[0].get('error')}")
    by_file = {os.path.abspath(o["file"]): float(o["probability"]) for o in out}
    p = np.array([by_file[os.path.abspath(r["raw_path"])] for r in rows])
    with open(os.path.join(a.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    y = np.array([int(r["label"]) for r in rows])
    synthetic = np.array([source_of(r).startswith("synthetic") for r in rows])
    measured = measure(rows, p)
    against = []
    for path in a.against:
        with open(path) as f:
            rec = json.load(f)
        q = aligned_record(rec, a.split, rows)
        against.append(
            {
                "record": os.path.relpath(path, ROOT),
                "measured": measure(rows, q),
                "delong_all": delong(y, p, q),
                "delong_synthetic": delong(y[synthetic], p[synthetic], q[synthetic]),
            }
        )
    write_json(
        a.record,
        {
            "format": "qumri-bundle-on-cohort/1",
            "script": "experiments/bundle_on_cohort.py",
            "git_commit": git_commit(),
            "bundle": {"id": manifest["id"], "name": manifest["name"], "path": os.path.relpath(a.bundle, ROOT)},
            "cohort": os.path.relpath(a.cohort, ROOT),
            "splits": os.path.relpath(a.splits, ROOT),
            "split": a.split,
            "measured": measured,
            "against": against,
            "definition": "delong: a = the bundle, b = the record, on the same scans",
            "wall_time_s": round(time.time() - t0, 1),
        },
    )
    line = lambda who, m: f"{who}: AUC {m['all']['auc']['value']:.3f}, synthetic {m['synthetic']['auc']['value']:.3f}"
    print(line(f"{manifest['id']} on {a.split}", measured))
    for x in against:
        print(line(f"  {x['record']}", x["measured"]) + f"; DeLong on synthetic p {x['delong_synthetic']['p']:.2g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
