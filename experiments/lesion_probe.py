"""Do a backbone's features see lesions on real scans? A linear probe per stage and pooling (issue 18).

    OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 -m experiments.lesion_probe \
        --cohort data/prepared/ms-mix-64/cohort.csv --splits data/prepared/ms-mix-64/splits.json \
        --ckpt runs/mix/ms-flair-lesionmap/ckpt.pt --record records/lesion-probe/ms-flair-mix.json

Every shipped and candidate MS FLAIR model gives a real MS scan and its lesion-removed twin the same
probability to two decimals: the classifier does not respond to real lesions. The classifier sees the
mean over the last stage's feature map. This asks, without training anything but a logistic regression,
where lesion evidence survives: for each stage of a lesion-map pre-trained backbone (training.pretrain's
checkpoint: backbone plus per-stage lesion probes), pooled by mean, by max, and the probe's own map
(max and mean of its sigmoid), and a hand-made bright-tail reference, fitted on the cohort's train split, C chosen on its synthetic validation
subjects. Reported: synthetic test AUC, and on the real validation pairs (the cohort's `real/<patient>/<label>`
subjects: real MS FLAIR and their lesion-removed twins) the AUC and the fraction of pairs in which the
patient scores above its own twin. Real scans only validate here; nothing is shipped from this.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from training import data as D
from training.evaluate import auc_score
from training.pretrain import LesionMapNet


def features(net: LesionMapNet, x: torch.Tensor) -> dict[str, np.ndarray]:
    """One scan's candidate feature sets: per stage s, mean- and max-pooled channels and probe-map summaries."""
    out, h = {}, net.backbone.stem(x)
    for s, (stage, probe) in enumerate(zip(net.backbone.stages, net.probes), start=1):
        h = stage(h)
        p = torch.sigmoid(probe(h))
        out[f"stage{s}-mean"] = h.mean(dim=(2, 3, 4))[0].numpy()
        out[f"stage{s}-max"] = h.amax(dim=(2, 3, 4))[0].numpy()
        out[f"stage{s}-probe"] = np.array([p.amax().item(), p.mean().item()])
    out["last-mean (the classifier's input)"] = out[f"stage{len(net.probes)}-mean"]
    out["bright-tail (no learning)"] = bright_tail(x[0, 0].numpy())
    return out


TAIL_KS = (2, 3, 4, 5)


def bright_tail(v: np.ndarray) -> np.ndarray:
    """A hand-made reference: the fraction of brain voxels more than k robust SDs above the brain median
    (k = 2..5). Lesion-removed twins were made by removing FLAIR hyperintensities, so this is the feature the
    real pairs favour by construction; it shows whether the 64³ input still carries the difference."""
    b = v[v > 0.05]
    med = np.median(b)
    sd = 1.4826 * np.median(np.abs(b - med))
    return np.array([(b > med + k * sd).mean() for k in TAIL_KS])


def probe(x_tr, y_tr, x_va, y_va) -> tuple[StandardScaler, LogisticRegression, float]:
    """Logistic regression on standardised features; C by validation AUC (ties: the stronger penalty)."""
    scaler = StandardScaler().fit(x_tr)
    best = None
    for c in (0.001, 0.01, 0.1, 1.0, 10.0):
        lr = LogisticRegression(C=c, max_iter=5000).fit(scaler.transform(x_tr), y_tr)
        auc = auc_score(y_va, lr.predict_proba(scaler.transform(x_va))[:, 1])
        if best is None or auc > best[2] + 1e-9:
            best = (scaler, lr, auc, c)
    return best[0], best[1], best[3]


def pair_wins(ids: list[str], y: np.ndarray, p: np.ndarray) -> tuple[int, int]:
    """Pairs (same real patient, label 1 vs 0) in which the patient scores above the twin."""
    by = {}
    for sid, label, prob in zip(ids, y, p):
        by.setdefault(sid.split("/")[1], {})[int(label)] = prob
    pairs = [v for v in by.values() if 0 in v and 1 in v]
    return sum(v[1] > v[0] for v in pairs), len(pairs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cohort", required=True)
    ap.add_argument("--splits", required=True)
    ap.add_argument("--ckpt", required=True, help="training.pretrain's ckpt.pt (its 'net' holds the probes)")
    ap.add_argument("--record", required=True)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    started = time.time()
    saved = torch.load(a.ckpt, map_location="cpu")
    cfg = saved["config"]
    net = LesionMapNet(cfg["backbone"], cfg["width"])
    net.load_state_dict(saved["net"])
    net.eval()
    shape = tuple(int(v) for v in reversed(cfg["grid"].split(",")))
    rows = D.read_manifest(a.cohort, cfg["sequence"])
    splits = json.load(open(a.splits))
    feats, meta = {}, {}
    with torch.no_grad():
        for split in ("train", "val", "test"):
            for r in D.rows_in(rows, splits, split):
                f = features(net, D.load_volume(r, shape)[None])
                for k, v in f.items():
                    feats.setdefault(k, {}).setdefault(split, []).append(v)
                meta.setdefault(split, []).append((r.subject_id, r.label))
    real_val = np.array([sid.startswith("real/") for sid, _ in meta["val"]])
    ys = {s: np.array([lab for _, lab in meta[s]]) for s in meta}
    results = []
    for name, by_split in feats.items():
        x = {s: np.stack(v) for s, v in by_split.items()}
        syn = ~real_val
        scaler, lr, c = probe(x["train"], ys["train"], x["val"][syn], ys["val"][syn])
        p = {s: lr.predict_proba(scaler.transform(x[s]))[:, 1] for s in x}
        ids = [sid for sid, _ in meta["val"]]
        real_ids = [i for i, keep in zip(ids, real_val) if keep]
        wins, n = pair_wins(real_ids, ys["val"][real_val], p["val"][real_val])
        results.append(
            {
                "features": name,
                "dim": int(x["train"].shape[1]),
                "C": c,
                "synthetic_val_auc": round(auc_score(ys["val"][syn], p["val"][syn]), 3),
                "synthetic_test_auc": round(auc_score(ys["test"], p["test"]), 3),
                "real_val_auc": round(auc_score(ys["val"][real_val], p["val"][real_val]), 3),
                "real_pairs_patient_above_twin": f"{wins}/{n}",
            }
        )
        print(json.dumps(results[-1]), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.record)), exist_ok=True)
    with open(a.record, "w") as f:
        json.dump(
            {
                "format": 1,
                "script": "experiments/lesion_probe.py",
                "cohort": a.cohort,
                "ckpt": a.ckpt,
                "ckpt_epochs": saved["epoch"] + 1,
                "n": {s: len(v) for s, v in meta.items()},
                "real_val_scans": int(real_val.sum()),
                "results": results,
                "wall_time_s": round(time.time() - started, 1),
            },
            f,
            indent=1,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
