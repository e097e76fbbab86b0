"""Baseline: logistic regression on each scan's intensity histogram, cross-validated AUC.

`/usr/bin/python3 -m synth.baseline DIR [DIR ...] [--bins 64] [--folds 5]`

A cohort is too easy if this reaches AUC 0.99 ("any bright spot" would do). Features per scan: the
head (voxels above 10 % of the 99th percentile) intensities divided by their median, histogram of
`bins` bins over [0, 3], as densities, log1p. Standardised, L2 logistic regression (C = 1), stratified
k-fold (seeded), AUC of the out-of-fold probabilities. Also the AUC of the "any bright spot" rule alone:
the 99.9th percentile of the same normalised intensities. Prints one JSON line per cohort.
Run it on a cohort folder, or on the output of `qumri preprocess` over its manifest (brain only).
"""
from __future__ import annotations

import argparse
import csv
import json
import pathlib

import nibabel as nib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def histogram_features(path: pathlib.Path, bins: int) -> tuple[np.ndarray, float]:
    """The log-histogram features and the bright-tail score (99.9th percentile / median)."""
    data = np.asanyarray(nib.load(str(path)).dataobj).astype(np.float32)
    head = data[data > 0.1 * np.percentile(data, 99)]
    rel = head / np.median(head)
    h, _ = np.histogram(rel, bins=bins, range=(0, 3), density=True)
    return np.log1p(h), float(np.percentile(rel, 99.9))


def evaluate(cohort: pathlib.Path, bins: int = 64, folds: int = 5, seed: int = 0) -> dict:
    with open(cohort / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    feats = [histogram_features(cohort / r["path"], bins) for r in rows]
    x = np.stack([f[0] for f in feats])
    tail = np.array([f[1] for f in feats])
    y = np.array([int(r["label"]) for r in rows])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    prob = cross_val_predict(
        model, x, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba"
    )[:, 1]
    by_difficulty = {}
    for d in sorted({r["difficulty"] for r in rows} - {"healthy"}):
        keep = np.array([r["difficulty"] in (d, "healthy") for r in rows])
        by_difficulty[d] = round(float(roc_auc_score(y[keep], prob[keep])), 4)
    return {
        "cohort": str(cohort),
        "n": len(rows),
        "patients": int(y.sum()),
        "bins": bins,
        "folds": folds,
        "auc": round(float(roc_auc_score(y, prob)), 4),
        "auc_patients_by_difficulty_vs_controls": by_difficulty,
        "auc_bright_tail_rule": round(float(roc_auc_score(y, tail)), 4),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cohorts", nargs="+", type=pathlib.Path)
    ap.add_argument("--bins", type=int, default=64)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    for c in args.cohorts:
        print(json.dumps(evaluate(c, args.bins, args.folds)))


if __name__ == "__main__":
    main()
