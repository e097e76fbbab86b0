"""Does the model grid keep the lesions? The same scans prepared on several grids, scored without learning (issue 18).

    OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 -m experiments.lesion_grid \
        --cohort data/prepared/ms-mix-64/cohort.csv --splits data/prepared/ms-mix-64/splits.json \
        --spec public/models/ms-flair-resnet34/manifest.json --grids 64 96 128 \
        --out data/prepared/lesion-grid --record records/lesion-probe/grid.json

The cohort's validation and test subjects (synthetic, and the real MS FLAIR with their lesion-removed twins)
are prepared from their raw scans by `qumri preprocess` (the page's own preprocessing; resumable) on each
grid. Each prepared scan is scored by its bright tail (experiments.lesion_probe.bright_tail: the fraction of
brain voxels k robust SDs above the brain median), and each k is reported as a univariate AUC, with no
fitting: on the synthetic test split, on the real validation scans, and as real pairs in which the patient
is above its own twin. If a finer grid raises these, small lesions are lost to the coarse grid's partial
volume and the models need the finer one.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import time

import nibabel as nib
import numpy as np

from experiments.lesion_probe import TAIL_KS, bright_tail, pair_wins
from training.evaluate import auc_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def prepare(rows: list[dict], spec: str, grid: int, out: str) -> dict[str, str]:
    """Raw path → prepared path on a grid; one `qumri preprocess` per raw folder (file names repeat across them)."""
    folders = sorted({os.path.dirname(r["raw_path"]) for r in rows})
    prepared = {}
    for i, folder in enumerate(folders):
        dest = os.path.join(out, str(grid), f"{i:02d}")
        os.makedirs(dest, exist_ok=True)
        listing = f"{dest}-inputs.csv"  # not inside dest: the CLI writes dest/<list name>.csv
        with open(listing, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path"])
            w.writerows([r["raw_path"]] for r in rows if os.path.dirname(r["raw_path"]) == folder)
        subprocess.run(
            [
                "node",
                os.path.join(ROOT, "bin", "qumri.mjs"),
                "preprocess",
                listing,
                "--spec",
                spec,
                "--grid",
                str(grid),
                "--resume",
                "--out",
                dest,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for r in rows:
            if os.path.dirname(r["raw_path"]) == folder:
                prepared[r["raw_path"]] = os.path.join(dest, os.path.basename(r["raw_path"]))
    return prepared


def spec_normalize(path: str) -> dict:
    """The normalisation rule of a spec file or of a bundle manifest's `preprocess` (the CLI takes either)."""
    with open(path) as f:
        spec = json.load(f)
    return spec.get("preprocess", spec).get("normalize", {"method": "percentile", "low": 0.5, "high": 99.5})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cohort", required=True)
    ap.add_argument("--splits", required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--grids", type=int, nargs="+", default=[64, 96, 128])
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "prepared", "lesion-grid"))
    ap.add_argument("--record", required=True)
    a = ap.parse_args()
    started = time.time()
    splits = json.load(open(a.splits))
    split_of = {sid: s for s in ("val", "test") for sid in splits[s]}
    rows = [r for r in csv.DictReader(open(a.cohort)) if r["subject_id"] in split_of]
    results = []
    for grid in a.grids:
        t0 = time.time()
        prepared = prepare(rows, a.spec, grid, a.out)
        tails = np.stack(
            [bright_tail(np.asarray(nib.load(prepared[r["raw_path"]]).get_fdata(dtype=np.float32))) for r in rows]
        )
        y = np.array([int(r["label"]) for r in rows])
        real = np.array([r["subject_id"].startswith("real/") for r in rows])
        test = np.array([split_of[r["subject_id"]] == "test" for r in rows])
        real_ids = [r["subject_id"] for r, keep in zip(rows, real) if keep]
        for j, k in enumerate(TAIL_KS):
            wins, n = pair_wins(real_ids, y[real], tails[real, j])
            results.append(
                {
                    "grid": grid,
                    "k": k,
                    "synthetic_test_auc": round(auc_score(y[test], tails[test, j]), 3),
                    "real_val_auc": round(auc_score(y[real], tails[real, j]), 3),
                    "real_pairs_patient_above_twin": f"{wins}/{n}",
                    "prepare_s": round(time.time() - t0, 1),
                }
            )
            print(json.dumps(results[-1]), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.record)), exist_ok=True)
    with open(a.record, "w") as f:
        json.dump(
            {
                "format": 1,
                "script": "experiments/lesion_grid.py",
                "cohort": a.cohort,
                "spec": a.spec,
                "normalize": spec_normalize(a.spec),
                "n": {"synthetic_test": int(test.sum()), "real_val": int(real.sum())},
                "results": results,
                "wall_time_s": round(time.time() - started, 1),
            },
            f,
            indent=1,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
