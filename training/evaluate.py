"""Evaluate checkpoints: metrics with bootstrap intervals, ROC curve, DeLong test, paper A Table 2.

One model (threshold chosen on validation by Youden's J, applied unchanged to test):
    /usr/bin/python3 -m training.evaluate --ckpt=out/run/ckpt.pt [--out=out/run/eval] [--manifest=...]
  writes metrics.json (with `manifest_metrics` in the bundle's shape), metrics.md, roc.png and
  predictions-{val,test}.csv.

Table over several evaluated runs (DeLong test of each hybrid against the classical run of the
same sequence, on the same test volumes):
    /usr/bin/python3 -m training.evaluate --table out/a/eval out/b/eval ... --out=out/table
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys

import numpy as np
import torch
from scipy import stats

from . import data as D
from .checkpoint import load_checkpoint, model_from_checkpoint

METRICS = ("auc", "acc", "sen", "spe", "precision", "f1")


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def auc_score(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney AUC (ties count 1/2); NaN when a class is missing."""
    pos, neg = p[y == 1], p[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return math.nan
    return float(_psi(pos[:, None], neg[None, :]).mean())


def _psi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a > b) + 0.5 * (a == b)


def threshold_metrics(y: np.ndarray, p: np.ndarray, thr: float) -> dict[str, float]:
    pred = p >= thr
    tp, tn = int(np.sum(pred & (y == 1))), int(np.sum(~pred & (y == 0)))
    fp, fn = int(np.sum(pred & (y == 0))), int(np.sum(~pred & (y == 1)))
    div = lambda a, b: a / b if b else math.nan  # noqa: E731
    sen, prec = div(tp, tp + fn), div(tp, tp + fp)
    return {
        "acc": div(tp + tn, len(y)),
        "sen": sen,
        "spe": div(tn, tn + fp),
        "precision": prec,
        "f1": div(2 * prec * sen, prec + sen) if not (math.isnan(prec) or math.isnan(sen)) else math.nan,
    }


def all_metrics(y: np.ndarray, p: np.ndarray, thr: float) -> dict[str, float]:
    return {"auc": auc_score(y, p), **threshold_metrics(y, p, thr)}


def choose_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Youden's J (sensitivity + specificity - 1) maximised on validation; ties -> closest to 0.5.
    The threshold is the midpoint between neighbouring scores so it does not sit on a sample."""
    s = np.unique(p)
    cands = np.concatenate([[0.5], (s[:-1] + s[1:]) / 2]) if len(s) > 1 else np.array([0.5])
    best, best_key = 0.5, None
    for t in cands:
        m = threshold_metrics(y, p, t)
        key = (np.nan_to_num(m["sen"]) + np.nan_to_num(m["spe"]), -abs(t - 0.5))
        if best_key is None or key > best_key:
            best, best_key = float(t), key
    return min(max(best, 1e-6), 1 - 1e-6)


def bootstrap(
    y: np.ndarray, p: np.ndarray, thr: float, n_boot: int = 2000, seed: int = 0, groups: list[str] | None = None
) -> dict[str, list[float]]:
    """95 % percentile intervals, resampling cases with replacement within each class (stratified). groups
    (a subject per case, several slices each): resample subjects and take all their cases, since slices of
    one subject are not independent and resampling them alone makes the intervals too narrow."""
    rng = np.random.default_rng(seed)
    if groups is None:
        pos, neg = [[i] for i in np.flatnonzero(y == 1)], [[i] for i in np.flatnonzero(y == 0)]
    else:
        members: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            members.setdefault(g, []).append(i)
        pos = [m for m in members.values() if y[m[0]] == 1]
        neg = [m for m in members.values() if y[m[0]] == 0]
    samples = {k: [] for k in METRICS}
    for _ in range(n_boot):
        idx = np.array([i for c in (pos, neg) for k in rng.choice(len(c), len(c)) for i in c[k]], dtype=int)
        for k, v in all_metrics(y[idx], p[idx], thr).items():
            samples[k].append(v)
    out = {}
    for k, v in samples.items():
        v = np.array(v, dtype=float)
        v = v[~np.isnan(v)]  # resamples where the metric is undefined (e.g. no positive call) are left out
        out[k] = [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if len(v) else [math.nan, math.nan]
    return out


def delong(y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray) -> dict[str, float]:
    """DeLong, DeLong & Clarke-Pearson (1988) test of two correlated AUCs on the same cases."""
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    if m < 2 or n < 2:
        raise ValueError(f"DeLong needs at least 2 cases per class, got {m} positive / {n} negative")
    v10, v01 = [], []
    for p in (p_a, p_b):
        psi = _psi(p[pos][:, None], p[neg][None, :])
        v10.append(psi.mean(1))  # structural components of the positives
        v01.append(psi.mean(0))
    aucs = np.array([v.mean() for v in v10])
    s10, s01 = np.cov(np.stack(v10)), np.cov(np.stack(v01))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    diff = aucs[0] - aucs[1]
    if var <= 0:
        z, pval = 0.0, 1.0 if diff == 0 else 0.0
    else:
        z = diff / math.sqrt(var)
        pval = float(2 * stats.norm.sf(abs(z)))
    return {
        "auc_a": float(aucs[0]),
        "auc_b": float(aucs[1]),
        "diff": float(diff),
        "z": float(z),
        "p": pval,
        "var": float(var),
    }


# ---------------------------------------------------------------------------------------------
# Predictions
# ---------------------------------------------------------------------------------------------


def predict(model, ds: D.VolumeDataset, batch: int = 4) -> np.ndarray:
    probs = []
    with torch.no_grad():
        for i in range(0, len(ds), batch):
            x = torch.stack([ds[j][0] for j in range(i, min(i + batch, len(ds)))])
            probs.append(torch.softmax(model(x).double(), -1)[:, 1])
    return torch.cat(probs).numpy()


def write_predictions(path: str, rows: list[D.Row], p: np.ndarray) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "subject_id", "sequence", "label", "probability"])
        for r, pi in zip(rows, p):
            w.writerow([r.path, r.subject_id, r.sequence, r.label, f"{pi:.10g}"])


def read_predictions(path: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    with open(path, newline="") as f:
        recs = list(csv.DictReader(f))
    return (
        [r["path"] for r in recs],
        np.array([int(r["label"]) for r in recs]),
        np.array([float(r["probability"]) for r in recs]),
    )


AGGREGATES = {"mean": np.mean, "max": np.max}


def per_subject(
    subjects: list[str], y: np.ndarray, p: np.ndarray, how: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Slice predictions → one per subject: its label and the mean or max of its slices' probabilities."""
    if how not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {sorted(AGGREGATES)}, got {how!r}")
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(subjects):
        groups.setdefault(s, []).append(i)
    ids = sorted(groups)
    for s in ids:
        if len(set(y[groups[s]])) != 1:
            raise ValueError(f"subject {s!r} has slices with different labels")
    return ids, np.array([y[groups[s][0]] for s in ids]), np.array([AGGREGATES[how](p[groups[s]]) for s in ids])


def subject_metrics(eval_dir: str, how: str, n_boot: int = 2000) -> dict:
    """Per-subject metrics from evaluate_checkpoint's slice predictions: probabilities aggregated per subject
    (`how`), threshold by Youden's J on the validation subjects, test metrics with 95 % intervals resampling
    subjects (slices of one subject are not independent cases)."""
    agg = {}
    for name in ("val", "test"):
        with open(os.path.join(eval_dir, f"predictions-{name}.csv"), newline="") as f:
            recs = list(csv.DictReader(f))
        agg[name] = per_subject(
            [r["subject_id"] for r in recs],
            np.array([int(r["label"]) for r in recs]),
            np.array([float(r["probability"]) for r in recs]),
            how,
        )
    thr = choose_threshold(*agg["val"][1:])
    _, y, p = agg["test"]
    point, ci = all_metrics(y, p, thr), bootstrap(y, p, thr, n_boot)
    return {
        "aggregate": how,
        "threshold": thr,
        "threshold_chosen_on": "val subjects (Youden J)",
        "n_val": len(agg["val"][0]),
        "n_test": len(y),
        "test": {k: {"value": point[k], "ci95": ci[k]} for k in METRICS},
    }


def roc_png(y: np.ndarray, p: np.ndarray, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.plot(fpr, tpr, lw=2, label=f"AUC {auc_score(y, p):.3f}")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


NAMES = {
    "resnet10": "ResNet3D-10",
    "resnet18": "ResNet3D-18",
    "resnet34": "ResNet3D-34",
    "cnn": "CNN",
    "resnet50": "ResNet50",
    "densenet121": "DenseNet121",
    "efficientnet_b3": "EfficientNetB3",
}


def model_name(backbone: str, head: str) -> str:
    """Paper-style names: ResNet3D-34 / QResNet3D-34, DenseNet121 / QDenseNet121, CNN / QCNN."""
    return ("Q" if head == "quantum" else "") + NAMES.get(backbone, backbone)


def fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def evaluate_checkpoint(ckpt_path: str, out: str, manifest: str = "", n_boot: int = 2000, threads: int = 2) -> dict:
    """Threshold on val, metrics + 95 % CIs on test; writes metrics.json/.md, roc.png, predictions."""
    torch.set_num_threads(threads)
    ckpt = load_checkpoint(ckpt_path)
    cfg = ckpt["config"]
    model = model_from_checkpoint(ckpt)
    rows = D.read_manifest(manifest or cfg["manifest"], cfg["sequence"], view=cfg.get("view", ""))
    with open(os.path.join(os.path.dirname(ckpt_path), "splits.json")) as f:
        splits = json.load(f)
    D.check_splits(splits, rows)
    shape = ckpt["input_shape"][2:]
    os.makedirs(out, exist_ok=True)
    preds = {}
    for name in ("val", "test"):
        rs = D.rows_in(rows, splits, name)
        p = predict(model, D.VolumeDataset(rs, shape))
        write_predictions(os.path.join(out, f"predictions-{name}.csv"), rs, p)
        preds[name] = (np.array([r.label for r in rs]), p)
    thr = choose_threshold(*preds["val"])
    y, p = preds["test"]
    subjects = [r.subject_id for r in D.rows_in(rows, splits, "test")]
    several = len(set(subjects)) < len(subjects)  # several slices per subject: resample subjects
    point, ci = all_metrics(y, p, thr), bootstrap(y, p, thr, n_boot, groups=subjects if several else None)
    sequence = cfg["sequence"] or "+".join(ckpt.get("training_data", {}).get("sequences", [])) or "all"
    label = f"{model_name(cfg['backbone'], cfg['head'])} {sequence}"
    result = {
        "model": label,
        "ckpt": os.path.abspath(ckpt_path),
        "sequence": sequence,
        "head": cfg["head"],
        "backbone": cfg["backbone"],
        "threshold": thr,
        "threshold_chosen_on": "val (Youden J)",
        "n_val": int(len(preds["val"][0])),
        "n_test": int(len(y)),
        **({"ci95_resampled": f"subjects ({len(set(subjects))}), each with all its slices"} if several else {}),
        "test": {k: {"value": point[k], "ci95": ci[k]} for k in METRICS},
        "manifest_metrics": {
            "split": "test",
            "n": int(len(y)),
            **{k: {"value": point[k], "ci95": ci[k]} for k in METRICS},
        },
    }
    roc_png(y, p, os.path.join(out, "roc.png"), label)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(_json_safe(result), f, indent=1)
    with open(os.path.join(out, "metrics.md"), "w") as f:
        f.write(
            f"# {label}\n\nTest set, n = {len(y)}; threshold {thr:.4f} chosen on validation "
            f"(n = {result['n_val']}); 95 % stratified bootstrap intervals ({n_boot} resamples).\n\n"
            "| metric | value | 95 % CI |\n|---|---|---|\n"
        )
        for k in METRICS:
            f.write(f"| {k.upper()} | {fmt(point[k])} | {fmt(ci[k][0])}–{fmt(ci[k][1])} |\n")
    return result


def _json_safe(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return v


def table(eval_dirs: list[str], out: str) -> dict:
    """Paper A Table 2 style: one row per model, DeLong p of each hybrid vs the classical of its sequence."""
    runs = []
    for d in eval_dirs:
        with open(os.path.join(d, "metrics.json")) as f:
            m = json.load(f)
        m["_preds"] = read_predictions(os.path.join(d, "predictions-test.csv"))
        runs.append(m)
    rows = []
    for r in runs:
        row = {
            "model": r["model"],
            "sequence": r["sequence"],
            "head": r["head"],
            "n": r["n_test"],
            **{k: r["test"][k] for k in ("auc", "acc", "sen", "spe")},
        }
        if r["head"] == "quantum":
            ref = [c for c in runs if c["head"] == "classical" and c["sequence"] == r["sequence"]]
            if ref:
                paths_q, y, pq = r["_preds"]
                paths_c, _, pc = ref[0]["_preds"]
                if paths_q != paths_c:
                    raise ValueError(f"DeLong needs the same test volumes: {r['model']} vs {ref[0]['model']}")
                row["delong_vs"] = ref[0]["model"]
                row["delong"] = delong(y, pq, pc)
        rows.append(row)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "table.json"), "w") as f:
        json.dump(_json_safe(rows), f, indent=1)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(
            "| Model | Sequence | AUC (95 % CI) | ACC | SEN | SPE | DeLong p vs classical |\n"
            "|---|---|---|---|---|---|---|\n"
        )
        for r in rows:
            auc = r["auc"]
            f.write(
                f"| {r['model']} | {r['sequence']} | {fmt(auc['value'])} ({fmt(auc['ci95'][0])}–"
                f"{fmt(auc['ci95'][1])}) | {fmt(r['acc']['value'])} | {fmt(r['sen']['value'])} | "
                f"{fmt(r['spe']['value'])} | {fmt(r['delong']['p']) if 'delong' in r else '—'} |\n"
            )
    return {"rows": rows}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Evaluate a checkpoint, or tabulate several evaluations.")
    ap.add_argument("--ckpt")
    ap.add_argument("--manifest", default="")
    ap.add_argument("--out", default="")
    ap.add_argument("--n_boot", type=int, default=2000)
    ap.add_argument("--table", nargs="+", metavar="EVAL_DIR")
    a = ap.parse_args(argv)
    if a.table:
        table(a.table, a.out or "table")
    elif a.ckpt:
        r = evaluate_checkpoint(a.ckpt, a.out or os.path.join(os.path.dirname(a.ckpt), "eval"), a.manifest, a.n_boot)
        print(json.dumps(_json_safe(r["test"]), indent=1))
    else:
        ap.error("give --ckpt or --table")


if __name__ == "__main__":
    try:
        main()
    except D.ManifestError as e:
        sys.exit(f"error: {e}")
