"""Paper B protocol on 2D slices of a synthetic MS FLAIR cohort: one model family per run, Optuna-tuned.

    OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 -m experiments.paper_b --raw=data/synth/ms-flair \
        --plane=axial --backbone=cnn --head=quantum --trials=3 --epochs=15 [--ship]

Steps, each resumable:
  1. slices    one axial and one sagittal slice per subject with synth/slices2d.py's selection rule
               (written from the generated volumes), 224×224, 8-bit, then stored as model-grid NIfTI
               [224, 224, 1] with intensities /255 (paper B) under data/slices/<cohort>/
  2. search    training.train's Optuna search (lr, L2, dropout, dense stack) on the validation loss;
               `--trials` states how many trials were affordable here (paper B: 50)
  3. evaluate  the best trial (chosen on validation loss) with training.evaluate: threshold on val,
               metrics with 95 % bootstrap intervals on test
  4. record    experiments/records/<id>.json;  5. ship (--ship) public/models/<id>/

Where each split is used: train = gradient steps; val = early stopping, Optuna's objective (best val
loss) and the threshold; test = the reported metrics only, after the trial and threshold are fixed.
Split: paper B's scheme ("B": 20 % test, then 20 % of the rest for validation, stratified, seed 1).
"""
from __future__ import annotations

import argparse
import csv
import fcntl
import json
import os
import sys
import tempfile
import time
import types

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from experiments.paper_a import MODELS, RECORDS, _json_safe, cohort_info, git_commit  # noqa: E402

NAMES = {("cnn", "classical"): "CNN", ("cnn", "quantum"): "QCNN", ("resnet50", "classical"): "ResNet50",
         ("resnet50", "quantum"): "QResNet50", ("densenet121", "classical"): "DenseNet121",
         ("densenet121", "quantum"): "QDenseNet121", ("efficientnet_b3", "classical"): "EfficientNetB3",
         ("efficientnet_b3", "quantum"): "QEfficientNetB3"}
SPEC_2D = {"grid": [224, 224, 1], "orientation": "RAS", "resample": "resize", "spacing_mm": None,
           "brain_extraction": "off", "normalize": {"method": "percentile", "low": 0.5, "high": 99.5}}


def run_id(plane: str, backbone: str, head: str) -> str:
    return f"ms-flair-{plane}-{NAMES[(backbone, head)].lower()}"


# ---------------------------------------------------------------------------------------------
# Slices
# ---------------------------------------------------------------------------------------------

def make_slices(raw: str, out: str) -> dict[str, str]:
    """Per plane, a training manifest of [224, 224, 1] NIfTI slices (+ spec.json beside it); resumable."""
    import nibabel as nib
    from PIL import Image
    import pathlib
    from synth import slices2d
    manifests = {p: os.path.join(out, p, "slices.csv") for p in slices2d.BANDS}
    if all(os.path.exists(m) for m in manifests.values()):
        return manifests
    with open(os.path.join(raw, "manifest.csv")) as f:
        subjects = list(csv.DictReader(f))
    slices2d.prepare(pathlib.Path(out))
    rows = []
    for s in subjects:
        scan = nib.load(os.path.join(raw, s["path"]))
        mask = nib.load(os.path.join(raw, s["lesion_mask"]))
        # the generator's render result, rebuilt from what it wrote (scaling already applied)
        r = types.SimpleNamespace(scan=np.asarray(scan.get_fdata(dtype=np.float32)),
                                  storage=types.SimpleNamespace(slope=1.0),
                                  grid=types.SimpleNamespace(affine=scan.affine),
                                  mask=np.asarray(mask.dataobj).astype(np.uint8))
        index = int(s["subject_id"].rsplit("-", 1)[1])
        for row in slices2d.export(pathlib.Path(out), s["task"], s["subject_id"], int(s["label"]), r,
                                   int(s["seed"]), index):
            png = os.path.join(out, row["path"])
            img = np.asarray(Image.open(png), dtype=np.float32) / 255.0  # [rows, cols]
            nii = png[:-4] + ".nii.gz"
            # NIfTI x = image column, y = image row, so training's transpose gives back [rows, cols]
            nib.save(nib.Nifti1Image(np.ascontiguousarray(img.T[:, :, None]), np.eye(4)), nii)
            rows.append({**row, "nifti": nii})
    for plane, path in manifests.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(os.path.join(os.path.dirname(path), "spec.json"), "w") as f:
            json.dump(SPEC_2D, f, indent=1)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "label", "subject_id", "sequence", "slice_png", "lesion_pixels"])
            for r in rows:
                if r["view"] == plane:
                    w.writerow([r["nifti"], r["label"], r["subject_id"], "FLAIR", os.path.join(out, r["path"]),
                                r["lesion_pixels"]])
    return manifests


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True, help="generated MS FLAIR cohort (synth output folder)")
    ap.add_argument("--plane", required=True, choices=["axial", "sagittal"])
    ap.add_argument("--backbone", required=True, choices=["cnn", "resnet50", "densenet121", "efficientnet_b3"])
    ap.add_argument("--head", required=True, choices=["classical", "quantum"])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ship", action="store_true")
    ap.add_argument("--runs", default=os.path.join(ROOT, "runs"))
    ap.add_argument("--slices", default="", help="default: data/slices/<cohort folder name>")
    ap.add_argument("--records", default=RECORDS)
    ap.add_argument("--models", default=MODELS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from training.checkpoint import load_checkpoint, model_from_checkpoint
    from training.evaluate import evaluate_checkpoint, read_predictions
    from training.export import export_bundle
    from training.train import TrainConfig, optuna_search

    t0 = time.time()
    slices_dir = args.slices or os.path.join(ROOT, "data", "slices", os.path.basename(os.path.normpath(args.raw)))
    manifest = make_slices(args.raw, slices_dir)[args.plane]
    with open(os.path.join(args.raw, "cohort.json")) as f:
        gen = json.load(f)
    rid = run_id(args.plane, args.backbone, args.head)
    out_dir = os.path.join(args.runs, rid)
    cfg = TrainConfig(manifest=manifest, out_dir=out_dir, sequence="FLAIR", task="ms", grid="224,224",
                      split_scheme="B", split_seed=1,
                      data_description=f"{gen['generator']} ms FLAIR {args.plane} slices, seed {gen['seed']}",
                      backbone=args.backbone, head=args.head, n_qubits=4, reps=2, epochs=args.epochs,
                      batch_size=args.batch_size, patience=args.patience, seed=1, num_threads=args.threads,
                      progress=False, optuna_trials=args.trials)
    best = optuna_search(cfg)
    t1 = time.time()
    ckpt = load_checkpoint(best["ckpt"])
    ev = evaluate_checkpoint(best["ckpt"], os.path.join(out_dir, "eval"))
    with open(os.path.join(os.path.dirname(best["ckpt"]), "splits.json")) as f:
        splits = json.load(f)
    trial_times = []
    for d in sorted(os.listdir(out_dir)):
        if d.startswith("trial-") and os.path.exists(os.path.join(out_dir, d, "ckpt.pt")):
            trial_times.append(sum(h["seconds"] for h in load_checkpoint(os.path.join(out_dir, d, "ckpt.pt"))["history"]))
    preds = {}
    for split in ("val", "test"):
        paths, y, p = read_predictions(os.path.join(out_dir, "eval", f"predictions-{split}.csv"))
        preds[split] = [{"subject_id": os.path.basename(q).split(".")[0], "label": int(a), "probability": float(b)}
                        for q, a, b in zip(paths, y, p)]
    n_subj = sum(len(splits[k]) for k in ("train", "val", "test"))
    record = {
        "format": "qumri-run/1", "id": rid, "family": "paper_b", "task": "ms", "plane": args.plane,
        "sequence": "FLAIR", "backbone_family": args.backbone, "head": args.head, "model": NAMES[(args.backbone, args.head)],
        "git_commit": git_commit(),
        "command": "python -m experiments.paper_b " + " ".join(sys.argv[1:] if argv is None else argv),
        "cohort": {"generator": gen["generator"], "seed": gen["seed"], "n_subjects": n_subj,
                   "n_patients": None, "slices": "synth/slices2d.py rule, one slice per subject and plane"},
        "optuna": {"trials": args.trials, "best_trial": best["trial"], "best_val_loss": best["value"],
                   "best_params": best["params"], "objective": "best validation loss"},
        "config": ckpt["config"], "model_args": ckpt["model_args"], "input_shape": ckpt["input_shape"],
        "splits": splits,
        "split_use": {"train": "gradient steps", "val": "early stopping, Optuna objective, threshold",
                      "test": "reported metrics only"},
        "history": ckpt["history"], "epochs_run": ckpt["epoch"] + 1, "best_val_loss": ckpt["best_val_loss"],
        "wall_time_s": {"train": round(sum(trial_times), 1), "per_trial": [round(t, 1) for t in trial_times],
                        "this_invocation": round(time.time() - t0, 1), "search": round(t1 - t0, 1)},
        "threshold": ev["threshold"], "threshold_chosen_on": ev["threshold_chosen_on"],
        "test": ev["test"], "n_val": ev["n_val"], "n_test": ev["n_test"], "predictions": preds,
    }
    with open(manifest) as f:
        record["cohort"]["n_patients"] = sum(int(r["label"]) for r in csv.DictReader(f))
    if args.ship:
        lock = open(os.path.join(tempfile.gettempdir(), "qumri-models-index.lock"), "w")
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel runs each add their id to index.json
        model = model_from_checkpoint(ckpt)
        bid = rid
        m = export_bundle(model, os.path.join(args.models, bid), bid, input_shape=ckpt["input_shape"],
                          name=f"{NAMES[(args.backbone, args.head)]}, MS vs healthy, FLAIR {args.plane} slice (224×224)",
                          task="ms", sequence="FLAIR", paper="B", threshold=ev["threshold"],
                          metrics=ev["manifest_metrics"],
                          training_data={"synthetic": True, "description": cfg.data_description + " (slices by synth/slices2d.py rule)",
                                         "generator": gen["generator"], "seed": gen["seed"], "n_subjects": n_subj,
                                         "splits": "paper B: 20 % test, then 20 % of the rest for validation, stratified, seed 1"},
                          limitations=[
                              "Trained and tested on synthetic phantom slices only; performance on real scans is unknown.",
                              f"Optuna search with {args.trials} trials (paper B: 50) and at most {args.epochs} epochs per "
                              "trial, without pretrained weights, to fit the CPU time available.",
                              "Expects one 2D FLAIR slice prepared like synth/slices2d.py (224×224, intensities /255).",
                              "Not a medical device: not for diagnosis, screening or treatment decisions."],
                          n_reference=5, preprocess=SPEC_2D)
        record["shipped"] = {"bundle": os.path.relpath(os.path.join(args.models, bid), ROOT),
                             "bytes": sum(f["bytes"] for f in m["files"].values())}
        lock.close()
    os.makedirs(args.records, exist_ok=True)
    with open(os.path.join(args.records, f"{rid}.json"), "w") as f:
        json.dump(_json_safe(record), f, indent=1)
        f.write("\n")
    t = record["test"]
    print(f"{rid}: test ACC {t['acc']['value']:.3f} AUC {t['auc']['value']:.3f} ({args.trials} trials)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.exit(main())
