"""Paper A protocol on a prepared synthetic cohort: one 3D ResNet-34 run (classical or paper quantum head).

    OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 -m experiments.paper_a \
        --cohort=data/prepared/tsc-flair-64/cohort.csv --task=tsc --sequence=FLAIR --head=quantum \
        --width=8 --epochs=30 [--ship]

Steps, each resumable (re-running the same command continues where it stopped):
  1. train      training.train (checkpoint every epoch, resume, early stopping) in runs/<id>/
  2. evaluate   training.evaluate: threshold on val, metrics with 95 % bootstrap intervals on test
  3. analyse    pointing game of the Grad-CAM maximum in the lesion masks (last feature map and each stage),
                paired-lesion sensitivity; --reanalyse redoes only this step for a finished run's record
  4. record     records/<variant>/<id>.json (config, splits, predictions, metrics, wall time, seeds)
  5. ship       (--ship) public/models/<id>/ bundle with the model card, and records/shipped.json names the
                variant, if no variant of its group reached a lower validation loss for this model; a run
                recorded outside records/ (a candidate, with its own --models) is exported as it is

Where each split is used (the test split never chooses anything):
  train  gradient steps                                   training/train.py (train_loader)
  val    early stopping and best-epoch choice             training/train.py (val_loader)
         decision threshold (Youden J)                    training/evaluate.py (choose_threshold on "val")
  test   reported metrics, pointing game, paired twins    here, after steps 1-2 fixed model and threshold
"""
from __future__ import annotations

import argparse
import csv
import fcntl
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import nibabel as nib
import numpy as np
import torch
from scipy import ndimage as ndi

from experiments.variants import RECORDS, ROOT, group_of, load_group, set_shipped
from training import guards
from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.evaluate import evaluate_checkpoint, read_predictions
from training.explain import cam_weights_autograd
from training.export import export_bundle
from training.lesions import mask_on_grid
from training.train import TrainConfig, train

MODELS = os.path.join(ROOT, "public", "models")
SEQUENCES = {"FLAIR": "flair", "T2w": "t2w"}
TASK_NAMES = {"tsc": "TSC", "ms": "MS"}


def run_id(task: str, sequence: str, head: str) -> str:
    return f"{task}-{SEQUENCES[sequence]}-{'qresnet34' if head == 'quantum' else 'resnet34'}"


def wilson(k: int, n: int) -> list[float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return [math.nan, math.nan]
    z, p = 1.959964, k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, c - h), min(1.0, c + h)]


def git_commit() -> str:
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip()


def cohort_info(cohort_csv: str) -> dict:
    """Generator, seed and size of the raw cohort behind a prepared cohort.csv; a mixed cohort
    (experiments.mixed_cohort) describes itself in the cohort.json beside it."""
    with open(cohort_csv) as f:
        rows = list(csv.DictReader(f))
    mixed = os.path.join(os.path.dirname(cohort_csv), "cohort.json")
    if os.path.exists(mixed):
        with open(mixed) as f:
            return {
                **json.load(f),
                "n_subjects": len({r["subject_id"] for r in rows}),
                "n_scans": len(rows),
                "n_patients": len({r["subject_id"] for r in rows if r["label"] == "1"}),
            }
    raw_dir = os.path.dirname(os.path.dirname(rows[0]["raw_path"]))
    with open(os.path.join(raw_dir, "cohort.json")) as f:
        gen = json.load(f)
    with open(os.path.join(os.path.dirname(cohort_csv), "spec.json")) as f:
        spec = json.load(f)
    return {
        "generator": gen["generator"],
        "seed": gen["seed"],
        "task": gen["task"],
        "sequence": gen["sequence"],
        "n_subjects": len(rows),
        "n_patients": sum(int(r["label"]) for r in rows),
        "paired": gen["paired"],
        "coarsen": gen.get("coarsen", 1.0),
        "stopped_early": gen.get("stopped_early"),
        "preprocess": spec,
    }


# ---------------------------------------------------------------------------------------------
# Grad-CAM pointing game and paired twins (test split only)
# ---------------------------------------------------------------------------------------------


def gradcam(model, x: torch.Tensor, stage: int = -1) -> np.ndarray:
    """Grad-CAM of the log-odds (logit[1] - logit[0]) on the output of the 3D ResNet's stage `stage` (0-based,
    -1: the last feature map, the one the head pools), upsampled to x's grid. Earlier stages map finer: at a 64³
    input the four ResNet-34 stages give 16³, 8³, 4³ and 2³."""
    a, w = cam_weights_autograd(model, x, stage % len(model.backbone.stages) + 1)
    alpha = w / a[0, 0].numel()
    cam = torch.relu((alpha[:, :, None, None, None] * a).sum(1, keepdim=True))
    cam = torch.nn.functional.interpolate(cam, size=x.shape[2:], mode="trilinear", align_corners=False)
    return cam[0, 0].numpy()


def stage_shapes(model, x: torch.Tensor) -> list[list[int]]:
    """Spatial size of each backbone stage's output for input x."""
    shapes = []
    with torch.no_grad():
        a = model.backbone.stem(x)
        for s in model.backbone.stages:
            a = s(a)
            shapes.append(list(a.shape[2:]))
    return shapes


def lesion_on_model_grid(prepared: str, mask_path: str) -> np.ndarray:
    """A model voxel counts as lesion when it lies within one raw voxel of a lesion voxel (interpolated mask > 0)."""
    return mask_on_grid(prepared, mask_path) > 0


def load_grid(path: str) -> torch.Tensor:
    v = np.asarray(nib.load(path).get_fdata(dtype=np.float32)).transpose(2, 1, 0)
    return torch.from_numpy(np.ascontiguousarray(v))[None, None]


def max_plateau(cam: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """Voxels inside the brain where the Grad-CAM reaches its in-brain maximum. Upsampled from a coarse
    feature map the maximum is a plateau, not a voxel; a hit then counts the plateau's lesion share, i.e.
    the expected hit when the tie is broken at random (np.argmax would always pick the plateau's corner)."""
    inside = np.where(brain, cam, -np.inf)
    peak = inside.max()
    return brain & (inside >= peak - 1e-6 * max(abs(peak), 1e-12))


def analyse(model, test_rows: list[dict]) -> dict:
    """Pointing game over test patients, on the last feature map and per backbone stage; paired-lesion
    sensitivity over test patients with a twin."""
    n_stages = len(model.backbone.stages)
    hits, hits_dil = np.zeros(n_stages), np.zeros(n_stages)
    n_point = wins = n_pair = 0
    chance, chance_dil, per, shapes = [], [], [], []
    for r in test_rows:
        if int(r["label"]) != 1:
            continue
        x = load_grid(r["path"])
        if r.get("lesion_mask"):
            lesion = lesion_on_model_grid(r["path"], r["lesion_mask"])
            if lesion.any():
                dil = ndi.binary_dilation(lesion, iterations=1)
                brain = x[0, 0].numpy() > 0
                shapes = shapes or stage_shapes(model, x)
                n_point += 1
                for k in range(n_stages):
                    top = max_plateau(gradcam(model, x, k), brain)
                    hits[k] += float(lesion[top].mean())
                    hits_dil[k] += float(dil[top].mean())
                chance.append(float((lesion & brain).sum() / max(brain.sum(), 1)))
                chance_dil.append(float((dil & brain).sum() / max(brain.sum(), 1)))
                per.append(
                    {
                        "subject_id": r["subject_id"],
                        "plateau_voxels": int(top.sum()),
                        "hit": float(lesion[top].mean()),
                        "hit_dilated": float(dil[top].mean()),
                    }
                )
        if r.get("paired_prepared"):
            with torch.no_grad():
                p = torch.softmax(model(torch.cat([x, load_grid(r["paired_prepared"])])).double(), -1)[:, 1]
            n_pair += 1
            wins += bool(p[0] > p[1])
            per.append({"subject_id": r["subject_id"], "p_patient": float(p[0]), "p_twin": float(p[1])})

    def share(h: float) -> dict:
        return {"hits": round(float(h), 2), "acc": h / n_point if n_point else None, "ci95": wilson(h, n_point)}

    def shares(k: int) -> dict:
        d = share(hits_dil[k])
        return {**share(hits[k]), "hits_dilated": d["hits"], "acc_dilated": d["acc"], "ci95_dilated": d["ci95"]}

    return {
        "pointing": {
            "n": n_point,
            **shares(-1),
            "chance": float(np.mean(chance)) if chance else None,
            "chance_dilated": float(np.mean(chance_dil)) if chance_dil else None,
            "definition": "in-brain maximum of the Grad-CAM (log-odds, last feature map, trilinear to the "
            "model grid; a plateau counts its lesion share) inside the lesion mask resampled "
            "onto the model grid; 'dilated' = within one model voxel; chance = lesion share "
            "of brain voxels",
        },
        "pointing_by_stage": [
            {"stage": k + 1, "map": shapes[k] if shapes else None, **shares(k)} for k in range(n_stages)
        ],
        "paired": {
            "n": n_pair,
            "patient_higher": wins,
            "rate": wins / n_pair if n_pair else None,
            "ci95": wilson(wins, n_pair),
            "definition": "test patients scored above their lesion-free twin (same scan and noise)",
        },
        "per_subject": per,
    }


def pretraining_summary(path: str, splits: dict) -> dict | None:
    """What the backbone started from: the lesion-map pre-training's config, history and wall time; refuses a
    pre-training whose train subjects are not among this run's or whose validation subjects are not among this
    run's (the test split must stay unseen; a mixed cohort's pre-training leaves out the mask-less real validation
    scans, and a cohort extended by new folders keeps every old subject's split)."""
    if not path:
        return None
    saved = torch.load(path, map_location="cpu")
    if not set(saved["splits"]["train"]) <= set(splits["train"]):
        raise SystemExit(f"{path}: pre-trained on train subjects outside this run's train split")
    if not set(saved["splits"]["val"]) <= set(splits["val"]):
        raise SystemExit(f"{path}: pre-trained with validation subjects outside this run's validation split")
    h = saved["history"]
    averaged = saved.get("averaged_epochs")  # backbone-avg.pt: the mean of these epochs' weights
    return {
        "method": "lesion-map pre-training (training/pretrain.py)",
        "config": saved["config"],
        "epochs_run": len(h),
        "weights": f"mean of epochs {averaged[0]}-{averaged[1]}" if averaged else "best validation epoch",
        # the validation loss and Dice of the weights the classifier starts from
        "best_val_loss": saved["val_loss"] if averaged else saved["best_val_loss"],
        "best_epoch_val_dice_per_stage": (
            saved["val_dice_per_stage"] if averaged else min(h, key=lambda e: e["val_loss"])["val_dice_per_stage"]
        ),
        "wall_time_s": round(sum(e["seconds"] for e in h), 1),
        "history": h,
    }


# ---------------------------------------------------------------------------------------------
# Model card
# ---------------------------------------------------------------------------------------------


def head_deviations(args) -> list[str]:
    """How a quantum head differs from paper A's Qiskit pattern (fc -> 2 raw features -> ZZFeatureMap +
    RealAmplitudes -> parity [x, 1 - x]); empty for that pattern and for the classical head."""
    if args.head != "quantum":
        return []
    return (
        ([f"{args.qubits} qubits instead of 2"] if args.qubits != 2 else [])
        + (
            ["the fc output bounded to (0, π) by π·sigmoid before the feature map"]
            if args.fm_input == "sigmoid_pi"
            else []
        )
        + (
            ["each qubit's ⟨Z⟩ read into a trained dense layer instead of the parity pair"]
            if args.readout == "z"
            else []
        )
    )


def limitations(info: dict, grid: int, width: int, pretrained: bool, deviations: list[str]) -> list[str]:
    size = f"{info['n_subjects']} subjects instead of 520, " if info["n_subjects"] != 520 else ""
    head = (
        [
            f"The quantum head differs from paper A's Qiskit pattern: {'; '.join(deviations)} (a variant chosen "
            "on validation loss, docs/results.md)."
        ]
        if deviations
        else []
    )
    data = (
        "Trained on synthetic phantoms (calibrated and randomised looks, each patient's lesion-free twin as a "
        "control) and on scans derived from real scans (lesions removed, lesions inserted; the card lists them); no real "
        "TSC scan and no real healthy FLAIR exist in reach, so specificity on real healthy scans is unmeasured "
        "(lesion-removed twins stand in)."
        if "sources" in info
        else "Trained and tested on synthetic phantoms only (qumri-synth lesions on Colin27-based anatomy); "
        "performance on real scans is unknown."
    )
    return [
        data,
        f"Smaller than paper A: {size}a {grid}³ grid instead of 128³, "
        f"ResNet-34 topology at width {width}, chosen so training fits the CPU time available.",
        (
            "The backbone was pre-trained to map the lesions of the same synthetic training subjects (instead of "
            "paper A's MedicalNet weights), so it looks for what the generator draws as a lesion."
            if pretrained
            else "Trained from scratch (paper A fine-tuned MedicalNet-pretrained weights)."
        ),
        *head,
        "Test-set intervals are wide: the synthetic test split has only "
        f"~{round(info['n_subjects'] * 0.2)} subjects.",
        "Not a medical device: not for diagnosis, screening or treatment decisions.",
    ]


def guard_entries(model, cohort_csv: str, splits: dict, val_predictions: list[dict]) -> dict:
    """The bundle's calibration (Platt on the validation predictions) and OOD model (Mahalanobis on the
    pooled backbone features of the training scans, threshold on the validation scans)."""
    with open(cohort_csv) as f:
        rows = list(csv.DictReader(f))

    def features(split: str) -> np.ndarray:
        keep = set(splits[split])
        model.eval()
        with torch.no_grad():
            return np.stack(
                [model.backbone(load_grid(r["path"]))[0][0].double().numpy() for r in rows if r["subject_id"] in keep]
            )

    p = np.array([r["probability"] for r in val_predictions])
    y = np.array([r["label"] for r in val_predictions])
    n_real = sum(1 for r in rows if r["subject_id"] in set(splits["val"]) and r.get("source", "").startswith("real"))
    where = f"validation split, n = {len(p)} scans" + (f" ({n_real} real)" if n_real else "")
    fit, val = features("train"), features("val")
    return {
        "calibration": guards.calibration_entry(p, y, where),
        "ood": guards.ood_entry(
            fit,
            val,
            f"pooled backbone features of {len(fit)} training scans; threshold "
            f"passed by 95 % of the {len(val)} validation scans",
        ),
    }


def ship(model, ckpt: dict, ev: dict, info: dict, rid: str, args, guards: dict) -> dict:
    with open(os.path.join(tempfile.gettempdir(), "qumri-models-index.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel runs each add their id to index.json
        return _ship(model, ckpt, ev, info, rid, args, guards)


def _ship(model, ckpt: dict, ev: dict, info: dict, rid: str, args, guards: dict) -> dict:
    is_q = args.head == "quantum"
    name = (
        f"{'QResNet-34' if is_q else 'ResNet-34'} (width {args.width}, {args.grid}³), "
        f"{TASK_NAMES[args.task]} vs healthy, {args.sequence}"
    )
    pretrained = (
        "; backbone first pre-trained to map the lesions of the training subjects (their masks)"
        if args.init_backbone
        else ""
    )
    if "sources" in info:  # experiments.mixed_cohort
        real = any(s.startswith("real") for s in info["sources"])
        td = {
            "synthetic": not real,
            "description": f"{info['n_subjects']} subjects ({info['n_scans']} scans) from: "
            + "; ".join(f"{s} ({', '.join(f'{k} {n}' for k, n in c.items())})" for s, c in info["sources"].items())
            + f"; prepared by qumri preprocess on a {args.grid}³ grid"
            + pretrained,
            "sources": info["sources"],
            "n_subjects": info["n_subjects"],
            "splits": "synthetic 65/15/20 by subject (split seed 1); real-derived scans in train only, real validation scans in validation only",
        }
    else:
        td = {
            "synthetic": True,
            "description": f"{info['generator']} {args.task} {info['sequence']} phantoms, seed {info['seed']}, "
            f"{info['n_subjects']} subjects ({info['n_patients']} patients), prepared by qumri preprocess "
            f"on a {args.grid}³ grid" + pretrained,
            "generator": info["generator"],
            "seed": info["seed"],
            "n_subjects": info["n_subjects"],
            "splits": "65/15/20 by subject (stratified, split seed 1)",
        }
    manifest = export_bundle(
        model,
        os.path.join(args.models, rid),
        rid,
        input_shape=ckpt["input_shape"],
        name=name,
        task=args.task,
        sequence=args.sequence,
        paper="A",
        threshold=ev["threshold"],
        metrics=ev["manifest_metrics"],
        training_data=td,
        limitations=limitations(info, args.grid, args.width, bool(args.init_backbone), head_deviations(args)),
        n_reference=5,
        preprocess=ckpt.get("preprocess"),
        **guards,
    )
    return {
        "bundle": os.path.relpath(os.path.join(args.models, rid), ROOT),
        "bytes": sum(f["bytes"] for f in manifest["files"].values()),
    }


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohort", required=True, help="prepared cohort.csv (experiments.cohort)")
    ap.add_argument("--task", required=True, choices=sorted(TASK_NAMES))
    ap.add_argument("--sequence", required=True, choices=sorted(SEQUENCES))
    ap.add_argument("--head", required=True, choices=["classical", "quantum"])
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument(
        "--schedule",
        default="constant",
        choices=["constant", "cosine"],
        help="learning rate per epoch (training.config.scheduled_lr)",
    )
    ap.add_argument(
        "--head_warmup",
        type=int,
        default=0,
        help="first epochs train the head alone on the fixed backbone (training.train, LP-FT)",
    )
    ap.add_argument(
        "--backbone_lr_scale",
        type=float,
        default=1.0,
        help="the backbone's learning rate as a fraction of the head's (training.train)",
    )
    ap.add_argument(
        "--readout",
        default="parity",
        choices=["parity", "z"],
        help="quantum head: parity pair [x, 1 - x] (Qiskit's default) or each qubit's <Z> -> dense -> 2",
    )
    ap.add_argument(
        "--qubits",
        type=int,
        default=2,
        help="quantum head: qubits of ZZFeatureMap + RealAmplitudes (paper A does not state it; 2 = "
        "Qiskit's fc -> 2 pattern)",
    )
    ap.add_argument(
        "--fm_input",
        default="none",
        choices=["none", "sigmoid_pi"],
        help="quantum head: the fc output as it is (Qiskit's TorchConnector) or pi*sigmoid of it",
    )
    ap.add_argument(
        "--hidden",
        default="",
        help="classical head: dense ReLU widths before the 2 logits, e.g. 2 (the circuit's classical stand-in)",
    )
    ap.add_argument("--batch_size", type=int, default=8)
    ap.add_argument("--l2", type=float, default=0.0)
    ap.add_argument(
        "--augment",
        type=int,
        default=0,
        choices=[0, 1],
        help="training.data.Augment (flips, affine, intensity, gamma, noise); 0 = off",
    )
    ap.add_argument(
        "--init_backbone",
        default="",
        help="backbone.pt of training.pretrain (lesion-map pre-training on this cohort's train split)",
    )
    ap.add_argument(
        "--head_init",
        default="random",
        choices=["random", "fit"],
        help="fit: the head fitted on the fixed backbone's standardised features first (training.head_fit); "
        "with --epochs=0 nothing else trains",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ship", action="store_true")
    ap.add_argument(
        "--reanalyse",
        action="store_true",
        help="only redo step 3 for a finished run: its checkpoint's analysis into its existing record",
    )
    ap.add_argument("--runs", default=os.path.join(ROOT, "runs"), help="checkpoints (git-ignored)")
    ap.add_argument("--variant", default="", help="records/<variant>/ gets the record (its variant.json first)")
    ap.add_argument("--records", default="", help="or any folder for the record, e.g. runs/<run>/records")
    ap.add_argument("--models", default=MODELS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.head == "quantum" and args.hidden:
        ap.error("--hidden is for the classical head; the quantum head's width is its qubit count")
    if args.head == "classical" and (args.readout != "parity" or args.qubits != 2 or args.fm_input != "none"):
        ap.error("--readout, --qubits and --fm_input are for the quantum head")
    if not 2 <= args.qubits <= 12:
        ap.error("--qubits must be 2 to 12 (a statevector of 2^n amplitudes per sample)")
    if bool(args.variant) == bool(args.records):
        ap.error("name where the record goes: --variant=NAME (records/NAME/) or --records=DIR")
    if args.variant and not os.path.exists(os.path.join(RECORDS, args.variant, "variant.json")):
        ap.error(f"records/{args.variant}/variant.json is missing: write its group, order and description first")
    args.records = args.records or os.path.join(RECORDS, args.variant)
    rid = run_id(args.task, args.sequence, args.head)
    out_dir = os.path.join(args.runs, rid)
    if args.reanalyse:
        return reanalyse(rid, out_dir, args, argv)
    info = cohort_info(args.cohort)
    cfg = TrainConfig(
        manifest=args.cohort,
        out_dir=out_dir,
        sequence=args.sequence,
        task=args.task,
        grid=f"{args.grid},{args.grid},{args.grid}",
        split_scheme="A",
        split_seed=1,
        data_description=f"{info['generator']} {args.task} {args.sequence}, seed {info.get('seed', info.get('split_seed'))}",
        backbone="resnet34",
        width=args.width,
        head=args.head,
        readout=args.readout,
        n_qubits=args.qubits,
        fm_input=args.fm_input,
        hidden=args.hidden,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        schedule=args.schedule,
        head_warmup=args.head_warmup,
        backbone_lr_scale=args.backbone_lr_scale,
        l2=args.l2,
        augment=bool(args.augment),
        patience=args.patience,
        seed=1,
        init_backbone=args.init_backbone,
        head_init=args.head_init,
        num_threads=args.threads,
        progress=False,
    )
    t0 = time.time()
    train(cfg)
    ckpt_path = os.path.join(out_dir, "ckpt.pt")
    ckpt = load_checkpoint(ckpt_path)
    t1 = time.time()
    ev = evaluate_checkpoint(ckpt_path, os.path.join(out_dir, "eval"))
    model = model_from_checkpoint(ckpt)
    with open(os.path.join(out_dir, "splits.json")) as f:
        splits = json.load(f)
    extra = analyse(model, rows_in_test_split(args.cohort, splits, args.sequence))
    t2 = time.time()

    preds = {}
    for split in ("val", "test"):
        paths, y, p = read_predictions(os.path.join(out_dir, "eval", f"predictions-{split}.csv"))
        preds[split] = [
            {"subject_id": os.path.basename(q).split(".")[0], "label": int(a), "probability": float(b)}
            for q, a, b in zip(paths, y, p)
        ]
    record = {
        "format": "qumri-run/1",
        "id": rid,
        "family": "paper_a",
        "task": args.task,
        "sequence": args.sequence,
        "head": args.head,
        "model": ev["model"],
        "git_commit": git_commit(),
        "command": "python -m experiments.paper_a " + " ".join(sys.argv[1:] if argv is None else argv),
        "cohort": {k: v for k, v in info.items()},
        "config": ckpt["config"],
        "model_args": ckpt["model_args"],
        "input_shape": ckpt["input_shape"],
        "splits": splits,
        "split_use": {
            "train": "gradient steps",
            "val": "early stopping, best epoch, threshold (Youden J)",
            "test": "reported metrics, pointing game, paired twins only",
        },
        "history": ckpt["history"],
        "head_fit": ckpt.get("head_fit"),
        "epochs_run": ckpt["epoch"] + 1,
        "best_val_loss": ckpt["best_val_loss"],
        "pretraining": pretraining_summary(args.init_backbone, splits),
        "wall_time_s": {
            "train": round(
                sum(h["seconds"] for h in ckpt["history"]) + (ckpt.get("head_fit") or {}).get("seconds", 0), 1
            ),
            "evaluate_and_analyse": round(t2 - t1, 1),
            "this_invocation": round(t2 - t0, 1),
        },
        "threshold": ev["threshold"],
        "threshold_chosen_on": ev["threshold_chosen_on"],
        "test": ev["test"],
        "n_val": ev["n_val"],
        "n_test": ev["n_test"],
        "predictions": preds,
        **extra,
    }
    ships = args.ship and (not args.variant or beats_its_group(record, args.variant))
    if ships:
        entries = guard_entries(model, args.cohort, splits, preds["val"])
        record["guards"] = {
            "calibration": {k: v for k, v in entries["calibration"].items()},
            "ood": {k: entries["ood"][k] for k in ("threshold", "validation_pass_rate", "fitted_on")},
        }
        record["shipped"] = ship(model, ckpt, ev, info, rid, args, entries)
    os.makedirs(args.records, exist_ok=True)
    with open(os.path.join(args.records, f"{rid}.json"), "w") as f:
        json.dump(_json_safe(record), f, indent=1)
        f.write("\n")
    if ships and args.variant:
        with open(os.path.join(args.models, "index.json")) as f:
            if rid in json.load(f)["models"]:  # a bundle that fails the shipping rule stays out of index.json
                set_shipped(RECORDS, {rid: args.variant})
    t = record["test"]
    print(
        f"{rid}: test AUC {t['auc']['value']:.3f} ACC {t['acc']['value']:.3f}; pointing "
        f"{extra['pointing']['acc']}; paired {extra['paired']['rate']}; train {record['wall_time_s']['train']} s",
        file=sys.stderr,
    )
    return 0


def beats_its_group(record: dict, variant: str) -> bool:
    """Whether this run may ship: no other variant of its group (same cohort and splits) reached a lower
    validation loss for the same model (the rule experiments/tests/test_report.py checks)."""
    rid = record["id"]
    rivals = {
        v: by_id[rid]["best_val_loss"]
        for v, by_id in load_group(RECORDS, group_of(RECORDS, variant)).items()
        if rid in by_id and v != variant
    }
    better = {v: loss for v, loss in rivals.items() if loss < record["best_val_loss"]}
    if better:
        v = min(better, key=better.get)
        print(
            f"{rid}: not shipped, {v} reached val loss {better[v]:.4f} < {record['best_val_loss']:.4f}", file=sys.stderr
        )
    return not better


def rows_in_test_split(cohort_csv: str, splits: dict, sequence: str) -> list[dict]:
    test_ids = set(splits["test"])
    with open(cohort_csv) as f:
        return [r for r in csv.DictReader(f) if r["subject_id"] in test_ids and r["sequence"] == sequence]


def reanalyse(rid: str, out_dir: str, args, argv: list[str] | None) -> int:
    """Step 3 again for a finished run (e.g. after the analysis gained a figure), from its checkpoint, into its
    record; refuses a checkpoint whose training history is not the record's."""
    path = os.path.join(args.records, f"{rid}.json")
    with open(path) as f:
        record = json.load(f)
    ckpt = load_checkpoint(os.path.join(out_dir, "ckpt.pt"))
    if _json_safe(ckpt["history"]) != record["history"]:
        raise SystemExit(f"{out_dir}/ckpt.pt is not the run recorded in {path} (training histories differ)")
    t0 = time.time()
    rows = rows_in_test_split(args.cohort, record["splits"], args.sequence)
    record.update(_json_safe(analyse(model_from_checkpoint(ckpt), rows)))
    record["reanalysed"] = {
        "git_commit": git_commit(),
        "seconds": round(time.time() - t0, 1),
        "command": "python -m experiments.paper_a " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    with open(path, "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(
        f"{rid}: pointing per stage " + ", ".join(f"{p['acc']:.3f}" for p in record["pointing_by_stage"]),
        file=sys.stderr,
    )
    return 0


def _json_safe(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.exit(main())
