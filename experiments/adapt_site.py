"""Site adaptation under a deliberate site shift (issue 22): does `qumri adapt` on 8 labelled scans per
class raise the AUC on other scans of the same site?

    nice /usr/bin/python3 -m experiments.adapt_site [--model ms-flair-qresnet34] [--adapt 8] [--held 12]
        [--work /tmp/qumri-adapt-site] [--data data/real-eval] [--record records/adapt-site/adapt-site.json]

1. Phantoms from an unusual site (SITES below), each site on its own: the synth generator's calibrated
   subjects (anatomy, lesions, storage) all rendered with one fixed look that no training cohort had,
   thick 2D axial slices, a strong bias field, low SNR and poor fluid suppression (CSF at 0.4–0.45 × WM,
   still within FLAIR's order CSF < WM < GM); the second site also flattens the grey–white contrast and
   strips the skull; the third keeps thin slices and a high SNR, so the lesions' contrast survives the
   shift. Subjects 0 … 2·adapt−1 adapt the head (`qumri adapt`, one process),
   the next 2·held subjects are held back and classified by the source model and by the adapted one
   (`qumri classify --json --no-model-check`: the shipped models withhold their class off the demo
   phantoms because they fail the real-scan checks; the probability, which the AUC uses, is given
   either way). AUC with a 95 % stratified bootstrap interval before and after, and DeLong's test of
   the difference on the same held-back scans; accuracy at the shipped threshold before and at the
   threshold adapt refitted after (a shift can move the scores without reordering them). The ceiling of
   any head on the frozen features: a logistic regression cross-validated over all the site's phantoms.
2. Real scans, leave-one-patient-out: every real MS FLAIR and its lesion-removed twin (the healthy
   stand-in) from experiments/real_scans.py's data/real-eval/scans.csv; for each patient, the head is
   adapted on every other patient's scans and that patient's two scans are classified by the adapted
   bundle. The pooled held-out predictions give the AUC after, the source model's the AUC before,
   intervals resampling patients. Adapting on real-validation-only scans is allowed here because the
   adapted bundles stay in --work (never shipped, never committed).

Everything derived from scans (phantoms, features, bundles) stays in --work; only scores and counts go
into the record, which `python -m experiments.report` renders into docs/results.md ("Site adaptation").
Runs at low priority on one thread: preprocessing and the backbone cost seconds per scan.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import json
import os
import subprocess
import sys
import time
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORD = os.path.join(ROOT, "records", "adapt-site", "adapt-site.json")
REAL_EVAL = os.path.join(ROOT, "data", "real-eval")
SEED = 2022  # a generator seed no training cohort used: new people
# Each site: one fixed look for every subject (2D axial, no tilt, 230 mm field of view, no ghosting); GM keeps
# its calibrated draw unless gm_over_wm is set. Calibrated ranges: slices 3–5 mm, bias 0.05–0.3, SNR 12–60,
# CSF ≈ 0.1–0.2 × WM, GM ≈ 1.1–1.25 × WM, 20 % skull-stripped.
SITES = {
    "thick-noisy": {
        "slice_mm": 7.0,
        "inplane_mm": 0.9,
        "snr": 8.0,
        "bias": 0.7,
        "csf_over_wm": 0.4,
        "gm_over_wm": None,
        "skull_stripped": False,
        "text": "7 mm slices, 0.9 mm in-plane; bias field max |log| 0.7; SNR 8; CSF at 0.4 × WM (poor "
        "fluid suppression); skull kept",
    },
    "stripped-flat": {
        "slice_mm": 6.0,
        "inplane_mm": 1.0,
        "snr": 5.0,
        "bias": 1.0,
        "csf_over_wm": 0.45,
        "gm_over_wm": 1.03,
        "skull_stripped": True,
        "text": "6 mm slices, 1 mm in-plane; bias field max |log| 1.0; SNR 5; CSF at 0.45 × WM and GM at "
        "1.03 × WM (little grey–white contrast); skull-stripped",
    },
    "bright-csf": {
        "slice_mm": 3.0,
        "inplane_mm": 0.9,
        "snr": 40.0,
        "bias": 0.8,
        "csf_over_wm": 0.5,
        "gm_over_wm": 1.35,
        "skull_stripped": False,
        "text": "3 mm slices, 0.9 mm in-plane; bias field max |log| 0.8; SNR 40; CSF at 0.5 × WM (poor fluid "
        "suppression) and GM at 1.35 × WM (strong grey–white contrast); skull kept: the lesions' contrast survives",
    },
}
FOV_MM = 230.0
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


# ---- pure parts (experiments/tests/test_adapt_site.py) -------------------------------------------


def site_split(n_adapt: int, n_held: int) -> tuple[list[int], list[int]]:
    """Subject indices per class count: the first 2·n_adapt adapt, the next 2·n_held are held back. The
    generator makes odd indices patients and even ones controls, so both parts are balanced."""
    if n_adapt < 1 or n_held < 1:
        raise ValueError(f"need at least one subject per class in each part, got {n_adapt} and {n_held}")
    return list(range(2 * n_adapt)), list(range(2 * n_adapt, 2 * (n_adapt + n_held)))


def lopo_folds(rows: list[dict]) -> list[tuple[str, list[dict], list[dict]]]:
    """Leave-one-patient-out: (patient, every other patient's rows, the patient's rows), by `subject`,
    patients sorted; a patient's scans (the original and its twin) are never split across the two."""
    patients = sorted({r["subject"] for r in rows})
    if len(patients) < 2:
        raise ValueError("leave-one-patient-out needs at least two patients")
    return [(p, [r for r in rows if r["subject"] != p], [r for r in rows if r["subject"] == p]) for p in patients]


def real_rows(scans_csv: str) -> list[dict]:
    """Each real MS FLAIR (label 1) and its lesion-removed twin (label 0), from real_scans.py's scans.csv."""
    with open(scans_csv) as f:
        rows = [r for r in csv.DictReader(f) if r["sequence"] == "FLAIR"]
    out = []
    for r in rows:
        twin = r["stands_for"].startswith("lesion-removed twin")
        if r["stands_for"] != "MS" and not twin:
            continue
        out.append(
            {"name": r["name"], "path": r["path"], "label": 0 if twin else 1, "subject": r["id"].removesuffix("_twin")}
        )
    return sorted(out, key=lambda r: (r["subject"], r["label"]))


def labels_csv(path: str, rows: list[dict], classes: list[str]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label"])
        for r in rows:
            w.writerow([r["path"], classes[r["label"]]])


# ---- phantoms ----------------------------------------------------------------------------------


def site_plan(
    look: dict, task: str, sequence: str, index: int, seed: int, coarsen: float = 1.0, randomised: float = 0.0
):
    """The subject's calibrated plan (storage and the other contrast draws kept) with the site's fixed look."""
    import numpy as np
    from synth import acquisition as acq, anatomy, subject as S

    plan = _CALIBRATED_PLAN(task, sequence, index, seed, coarsen, 0.0)
    p = S.sample_person(task, index, seed)
    extent = S.head_extent_mm() * p.scale
    centre = anatomy.load().centre_brain + p.pose_mm
    n_in = int(round(FOV_MM / look["inplane_mm"]))
    n_k = int(round(extent[2] * 0.9 / look["slice_mm"]))
    lin = np.diag([look["inplane_mm"], look["inplane_mm"], look["slice_mm"]])
    affine = np.eye(4)
    affine[:3, :3] = lin
    affine[:3, 3] = centre - lin @ ((np.array([n_in, n_in, n_k]) - 1) / 2)
    grid = acq.Grid((n_in, n_in, n_k), affine, "axial", look["slice_mm"], look["inplane_mm"], False)
    wm = plan.contrast.wm
    contrast = dataclasses.replace(
        plan.contrast,
        csf=look["csf_over_wm"] * wm,
        gm=plan.contrast.gm if look["gm_over_wm"] is None else look["gm_over_wm"] * wm,
    )
    stripped = look["skull_stripped"]
    return dataclasses.replace(
        plan,
        grid=grid,
        snr=look["snr"],
        bias=look["bias"],
        contrast=contrast,
        skull_stripped=stripped,
        stripping="hard" if stripped else "none",
        ghosting=False,
    )


_CALIBRATED_PLAN = None


def make_phantoms(site: str, task: str, indices: list[int], out: str) -> list[dict]:
    """Render the site's subjects into out/ (resumable: a written scan is kept)."""
    global _CALIBRATED_PLAN
    from synth import acquisition as acq, subject as S

    os.makedirs(out, exist_ok=True)
    # synth's CLI has no fixed-look option (and synth/ is not this experiment's to change), so render()
    # is given the site's plan through the module attribute it looks up.
    if _CALIBRATED_PLAN is None:
        _CALIBRATED_PLAN = S.plan_acquisition
    S.plan_acquisition = functools.partial(site_plan, SITES[site])
    rows = []
    for i in indices:
        path = os.path.join(out, f"{task}-{i:04d}.nii.gz")
        if not os.path.exists(path):
            p, r = S.render(task, "FLAIR", i, SEED)
            tmp = f"{path}.tmp"
            with open(tmp, "wb") as f:
                f.write(acq.nifti_bytes(r.scan, r.grid.affine, r.storage.slope, f"adapt_site {site} {task} #{i}"))
            os.replace(tmp, path)
        rows.append({"name": os.path.basename(path), "path": path, "label": S.label_of(i), "subject": str(i)})
    return rows


# ---- the CLI -----------------------------------------------------------------------------------


def qumri(*args: str) -> str:
    threads = ["--threads", "1"] if args[0] in ("classify", "adapt") else []  # the commands that run a backbone
    cmd = ["nice", "-n", "10", "node", os.path.join(ROOT, "bin", "qumri.mjs"), *args, *threads]
    r = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:1])} exited {r.returncode}:\n{r.stderr[-3000:]}")
    return r.stdout


def classify(model: str, rows: list[dict]) -> list[float]:
    """P(positive class) per row, through the page's preprocessing."""
    out = json.loads(qumri("classify", *[r["path"] for r in rows], "--model", model, "--json", "--no-model-check"))
    by_file = {os.path.abspath(o["file"]): o for o in out}
    bad = [o for o in out if o["status"] != "ok"]
    if bad:
        raise RuntimeError(f"classify failed: {bad[0]['file']}: {bad[0]['error']}")
    return [float(by_file[os.path.abspath(r["path"])]["probability"]) for r in rows]


def adapt(model: str, rows: list[dict], classes: list[str], out: str, cache: str) -> dict:
    """Adapt on rows; returns qumri adapt's JSON (card, threshold, cross-validated predictions)."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    train = f"{out}.labels.csv"
    labels_csv(train, rows, classes)
    return json.loads(qumri("adapt", "--model", model, "--train", train, "--out", out, "--cache", cache, "--json"))


def auc_ci(y: list[int], p: list[float], groups: list[str] | None = None) -> dict:
    # training.evaluate imports torch: only here, so the pure parts and their test do without it.
    import numpy as np
    from training.evaluate import auc_score, bootstrap

    ya, pa = np.array(y), np.array(p)
    return {
        "value": auc_score(ya, pa),
        "ci95": bootstrap(ya, pa, 0.5, n_boot=2000, seed=0, groups=groups)["auc"],
        "n": {"positive": int(ya.sum()), "negative": int(len(ya) - ya.sum())},
    }


def acc_ci(y: list[int], p: list[float], thresholds: list[float], groups: list[str] | None = None) -> dict:
    """Accuracy of the calls p ≥ each scan's own threshold (leave-one-patient-out: its fold's bundle's)."""
    import numpy as np
    from training.evaluate import bootstrap

    # p − t + ½ ≥ ½ is the call p ≥ t, so one shared threshold of ½ lets the bootstrap use every scan's own.
    margin, ya = np.array(p) - np.array(thresholds) + 0.5, np.array(y)
    return {
        "value": float(np.mean((margin >= 0.5) == (ya == 1))),
        "ci95": bootstrap(ya, margin, 0.5, n_boot=2000, seed=0, groups=groups)["acc"],
    }


def compare(
    y: list[int],
    before: list[float],
    after: list[float],
    thr_before: list[float],
    thr_after: list[float],
    groups: list[str] | None = None,
) -> dict:
    import numpy as np
    from training.evaluate import delong

    out = {
        "before": {**auc_ci(y, before, groups), "acc": acc_ci(y, before, thr_before, groups)},
        "after": {**auc_ci(y, after, groups), "acc": acc_ci(y, after, thr_after, groups)},
    }
    try:
        out["delong"] = delong(np.array(y), np.array(after), np.array(before))
    except ValueError as err:
        out["delong"] = {"error": str(err)}
    return out


CEILING_C = (0.001, 0.01, 0.1, 1.0)
CEILING_FOLDS = 10


def ceiling_predictions(x, y, folds: int = CEILING_FOLDS, seed: int = 0) -> tuple[float, list[float]]:
    """How far any head on these frozen features can go: stratified k-fold predictions of a logistic regression
    on features standardised within each training fold, for each C; returns the C with the best AUC and its
    predictions. Choosing C on the same predictions leans optimistic, which a ceiling may."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from training.evaluate import auc_score

    x, y = np.asarray(x, float), np.asarray(y)
    best = None
    for c in CEILING_C:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        p = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]
        auc = auc_score(y, p)
        if best is None or auc > best[0] + 1e-9:
            best = (auc, c, p)
    return best[1], [float(v) for v in best[2]]


def site_features(model: str, rows: list[dict], out: str) -> list[list[float]]:
    """Each row's pooled backbone features: `qumri preprocess` with the model's own spec (resumable), then the
    bundle's backbone.onnx in onnxruntime-node (experiments.bundle_features), the numbers `qumri adapt` caches."""
    from experiments import bundle_features

    os.makedirs(out, exist_ok=True)
    listing = f"{out}.csv"
    with open(listing, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path"])
        w.writerows([r["path"]] for r in rows)
    qumri("preprocess", listing, "--spec", os.path.join(model, "manifest.json"), "--out", out, "--resume")
    prepared = [os.path.join(out, r["name"]) for r in rows]
    bundle_features.main([model, f"{out}.json", *prepared])
    with open(f"{out}.json") as f:
        feats = json.load(f)
    return [feats[r["name"].removesuffix(".nii.gz")] for r in rows]


def card_numbers(res: dict) -> dict:
    """The card's cross-validated numbers on the adaptation scans themselves (optimistic: src/core/adapt/README)."""
    c = res["card"]
    return {k: c[k] for k in ("scans", "cross_validation", "epochs", "settings", "metrics")}


# ---- the experiment ----------------------------------------------------------------------------


def run_phantoms(
    site: str, model: str, classes: list[str], threshold: float, task: str, n_adapt: int, n_held: int, work: str
) -> dict:
    a_idx, h_idx = site_split(n_adapt, n_held)
    t0 = time.time()
    a_rows = make_phantoms(site, task, a_idx, os.path.join(work, "phantoms", site))
    h_rows = make_phantoms(site, task, h_idx, os.path.join(work, "phantoms", site))
    gen_s = time.time() - t0
    bundle = os.path.join(work, "bundles", f"site-{site}")
    res = adapt(model, a_rows, classes, bundle, os.path.join(work, "cache"))
    y = [r["label"] for r in h_rows]
    before = classify(model, h_rows)
    after = classify(bundle, h_rows)
    every = a_rows + h_rows
    c, p = ceiling_predictions(
        site_features(model, every, os.path.join(work, "prepared", site)), [r["label"] for r in every]
    )
    return {
        "site": SITES[site],
        "generator_seed": SEED,
        "generation_seconds": round(gen_s, 1),
        "adapt": {"subjects": a_idx, "card": card_numbers(res)},
        "held": {"subjects": h_idx, **compare(y, before, after, [threshold] * len(y), [res["threshold"]] * len(y))},
        "threshold_after": res["threshold"],
        "ceiling": {**auc_ci([r["label"] for r in every], p), "C": c, "folds": CEILING_FOLDS},
        "predictions": [
            {"subject": r["subject"], "label": r["label"], "before": b, "after": a}
            for r, b, a in zip(h_rows, before, after)
        ],
    }


def run_real(model: str, classes: list[str], threshold: float, work: str, data: str) -> dict:
    scans_csv = os.path.join(data, "scans.csv")
    if not os.path.exists(scans_csv):
        return {"skipped": f"{scans_csv} missing (python -m experiments.real_scans builds it)"}
    rows = real_rows(scans_csv)
    before = dict(zip([r["name"] for r in rows], classify(model, rows)))
    after, thr, kept = {}, {}, {}
    for patient, train, test in lopo_folds(rows):
        out = os.path.join(work, "bundles", f"lopo-{patient}")
        res = adapt(model, train, classes, out, os.path.join(work, "cache"))
        kept[patient] = res["card"].get("epochs")
        after.update(zip([r["name"] for r in test], classify(out, test)))
        thr.update({r["name"]: res["threshold"] for r in test})
        print(f"  LOPO {patient}: kept {kept[patient]} steps", file=sys.stderr)
    y = [r["label"] for r in rows]
    groups = [r["subject"] for r in rows]
    return {
        "patients": len({r["subject"] for r in rows}),
        "scans": len(rows),
        "epochs_kept": kept,
        **compare(
            y,
            [before[r["name"]] for r in rows],
            [after[r["name"]] for r in rows],
            [threshold] * len(rows),
            [thr[r["name"]] for r in rows],
            groups,
        ),
        "predictions": [
            {
                "scan": r["name"],
                "subject": r["subject"],
                "label": r["label"],
                "before": before[r["name"]],
                "after": after[r["name"]],
                "threshold_after": thr[r["name"]],
            }
            for r in rows
        ],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ms-flair-qresnet34")
    ap.add_argument("--adapt", type=int, default=8, help="subjects per class that adapt the head")
    ap.add_argument("--held", type=int, default=40, help="held-back subjects per class")
    ap.add_argument("--work", default="/tmp/qumri-adapt-site")
    ap.add_argument("--data", default=REAL_EVAL)
    ap.add_argument("--record", default=RECORD)
    ap.add_argument("--sites", nargs="+", choices=list(SITES), default=list(SITES))
    ap.add_argument("--no-real", action="store_true")
    a = ap.parse_args(argv)
    from experiments.paper_a import git_commit

    mdir = a.model if os.path.isdir(a.model) else os.path.join(ROOT, "public", "models", a.model)
    with open(os.path.join(mdir, "manifest.json")) as f:
        manifest = json.load(f)
    classes = manifest["classes"]
    task = classes[1].lower()
    t0 = time.time()
    rec = OrderedDict(
        experiment="adapt-site",
        issue=22,
        date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        commit=git_commit(),
        model=manifest["id"],
        classes=classes,
        command=" ".join(["python -m experiments.adapt_site", *(argv if argv is not None else sys.argv[1:])]),
    )
    rec["threshold"] = manifest["threshold"]
    rec["phantoms"] = {}
    for site in a.sites:
        rec["phantoms"][site] = ph = run_phantoms(
            site, mdir, classes, manifest["threshold"], task, a.adapt, a.held, a.work
        )
        print(f"{site}: AUC {ph['held']['before']['value']:.3f} → {ph['held']['after']['value']:.3f}", file=sys.stderr)
    rec["real"] = (
        {"skipped": "--no-real"} if a.no_real else run_real(mdir, classes, manifest["threshold"], a.work, a.data)
    )
    rec["seconds"] = round(time.time() - t0)
    os.makedirs(os.path.dirname(os.path.abspath(a.record)), exist_ok=True)
    with open(a.record, "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")
    print(f"wrote {a.record}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
