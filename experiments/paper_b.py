"""Paper B protocol on 2D slices of a synthetic MS FLAIR cohort: one model family and head per run, Optuna-tuned.

    OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 -m experiments.paper_b --raw=data/synth/ms-flair-520 \
        --plane=axial --backbone=cnn --head=quantum --trials=4 --epochs=10 --threads=1
    ... --backbone=densenet121 --head=quantum --trials=50 --pretrain_epochs=4     # transfer protocol
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 -m experiments.paper_b --raw=... --ship_best

Two protocols (measured on this CPU, one thread, 224×224, forward+backward per sample: CNN 0.026 s,
EfficientNet-B3 0.09 s, DenseNet121 0.16 s, ResNet50 0.18 s with paper B's early stages frozen):
  end to end (cnn)    training.train's Optuna search per plane and head: every trial trains the whole net
  transfer (others)   paper B fine-tunes ImageNet backbones; none can be had offline and training these
                      from scratch per head and trial does not fit, so: (1) pre-train the backbone ONCE
                      per family with a plain classical head (training.train, random init, paper B's stages
                      frozen, augmentation) on the train split of BOTH planes pooled (the split is by subject,
                      so both planes of a subject share a split); (2) freeze it, cache the pooled features of
                      every slice; (3) per plane and head, Optuna over the head (training.transfer) on the
                      cached features. Backbone + head is the exported model.

Steps, each resumable:
  1. slices    one axial and one sagittal slice per subject with synth/slices2d.py's selection rule
               (written from the generated volumes), 224×224, 8-bit, then stored as model-grid NIfTI
               [224, 224, 1] with intensities /255 (paper B) under data/slices/<cohort>/, each with its
               lesion mask; --band: several per subject (issue 20; synth/slices2d.py: the patients'
               lesion-bearing band, their lesion-free twins outside test, position-matched controls)
               under data/slices/<cohort>-band<gap>mm/
  1b. lesion map  --lesionmap_epochs=N: the family's backbone pre-trained to map the train slices'
               lesions (training.pretrain, 2D), once per family in <runs>/ms-flair-<family>-lesionmap; it
               initialises the backbone in place of ImageNet (both protocols)
  2. search    (as above) on the validation loss; `--trials` states how many trials ran (paper B: 50)
  3. evaluate  the best trial (chosen on validation loss): threshold on val, metrics with 95 % bootstrap
               intervals on test, per slice and per subject (mean and max of its slices' probabilities)
  4. record    records/paper-b-129/<id>.json (or --records)
  5. ship      --ship_best: per plane, the classical and the hybrid run with the lowest validation loss
               (never test) among the combinations whose bundles fit the size budget, public/models/<id>/;
               records/shipped.json names the variant of each one index.json lists

Where each split is used: train = gradient steps (backbone pre-training and heads); val = early stopping,
Optuna's objective (best val loss), the threshold and the shipped models; test = the reported metrics only.
Split: paper B's scheme ("B": 20 % test, then 20 % of the rest for validation, stratified, seed 1).
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import types

import nibabel as nib
import numpy as np
import torch
from PIL import Image

from experiments.paper_a import MODELS, _json_safe, git_commit
from experiments.variants import RECORDS, ROOT, load_records, set_shipped
from synth import slices2d
from training import data as D
from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.evaluate import AGGREGATES, evaluate_checkpoint, subject_metrics
from training.export import FLOAT16_MAX_DIFF, export_bundle, half_precision, probabilities, reference_inputs
from training.models import build_model
from training.pretrain import PretrainConfig, pretrain
from training.train import TrainConfig, optuna_search
from training.transfer import TransferPlan, train_transfer

PAPER_B_VARIANT = "paper-b-129"  # paper B's own cohort size: the 2D bundles are chosen among these runs
NAMES = {
    ("cnn", "classical"): "CNN",
    ("cnn", "quantum"): "QCNN",
    ("resnet50", "classical"): "ResNet50",
    ("resnet50", "quantum"): "QResNet50",
    ("densenet121", "classical"): "DenseNet121",
    ("densenet121", "quantum"): "QDenseNet121",
    ("efficientnet_b3", "classical"): "EfficientNetB3",
    ("efficientnet_b3", "quantum"): "QEfficientNetB3",
}
SPEC_2D = {
    "grid": [224, 224, 1],
    "orientation": "RAS",
    "resample": "resize",
    "spacing_mm": None,
    "brain_extraction": "off",
    "normalize": {"method": "percentile", "low": 0.5, "high": 99.5},
}


def run_id(plane: str, backbone: str, head: str) -> str:
    return f"ms-flair-{plane}-{NAMES[(backbone, head)].lower()}"


# ---------------------------------------------------------------------------------------------
# Slices
# ---------------------------------------------------------------------------------------------

SPLIT_SCHEME, SPLIT_SEED = "B", 1  # paper B: 20 % test, then 20 % of the rest for validation, stratified
COLUMNS = [
    "path",
    "label",
    "subject_id",
    "sequence",
    "slice_png",
    "lesion_pixels",
    "lesion_mask",
    "slice_index",
    "twin_of",
]


def rendered(raw: str, scan_path: str, mask_path: str) -> types.SimpleNamespace:
    """The generator's render result, rebuilt from what it wrote (scaling already applied); no mask: empty."""
    scan = nib.load(os.path.join(raw, scan_path))
    mask = (
        np.asarray(nib.load(os.path.join(raw, mask_path)).dataobj).astype(np.uint8)
        if mask_path
        else np.zeros(scan.shape, np.uint8)
    )
    return types.SimpleNamespace(
        scan=np.asarray(scan.get_fdata(dtype=np.float32)),
        storage=types.SimpleNamespace(slope=1.0),
        grid=types.SimpleNamespace(affine=scan.affine),
        mask=mask,
    )


def write_slices(
    out: str, o: slices2d.Oriented, picks: dict[str, list[int]], sid: str, label: int, multi: bool, twin_of: str = ""
) -> list[dict]:
    """The picked slices as PNG (synth/slices2d.py) and as model-grid NIfTI [224, 224, 1] /255, image and mask."""
    rows = []
    for view, ks in picks.items():
        for k in ks:
            row = slices2d.write_slice(pathlib.Path(out), o, view, k, f"{sid}_{k:03d}" if multi else sid, label, sid)
            files = {}
            for key, png, scale, dtype in (
                ("nifti", row["path"], 255.0, np.float32),
                ("mask_nifti", row["mask_path"], 255, np.uint8),
            ):
                px = (np.asarray(Image.open(os.path.join(out, png)), dtype=np.float32) / scale).astype(dtype)
                files[key] = os.path.join(out, png)[:-4] + ".nii.gz"
                # NIfTI x = image column, y = image row, so training's transpose gives back [rows, cols]
                nib.save(nib.Nifti1Image(np.ascontiguousarray(px.T[:, :, None]), np.eye(4)), files[key])
            rows.append({**row, **files, "twin_of": twin_of})
    return rows


def make_slices(raw: str, out: str, n_subjects: int = 0, band: bool = False, gap_mm: float = 0.0) -> dict[str, str]:
    """Per plane, a training manifest of [224, 224, 1] NIfTI slices and their lesion masks (+ spec.json beside
    it); resumable. n_subjects > 0: only the cohort's first n subjects (a generator still writing, or stopped
    early). band: several slices per subject (synth/slices2d.py: patients' lesion-bearing band at most one per
    gap_mm, their lesion-free twins outside the test split at the same indices, controls position-matched)."""
    manifests = {p: os.path.join(out, p, "slices.csv") for p in slices2d.BANDS}
    if all(os.path.exists(m) for m in manifests.values()):
        return manifests
    with open(os.path.join(raw, "manifest.csv")) as f:
        subjects = list(csv.DictReader(f))
    if n_subjects:
        subjects = [s for s in subjects if int(s["subject_id"].rsplit("-", 1)[1]) < n_subjects]
        if len(subjects) != n_subjects:
            raise SystemExit(f"{raw} has {len(subjects)} of its first {n_subjects} subjects so far")
    slices2d.prepare(pathlib.Path(out))
    rows = []
    if not band:
        for s in subjects:
            o = slices2d.Oriented(rendered(raw, s["path"], s["lesion_mask"]))
            picks = slices2d.single_slices(
                o, s["task"], int(s["label"]), int(s["seed"]), int(s["subject_id"].rsplit("-", 1)[1])
            )
            rows += write_slices(out, o, picks, s["subject_id"], int(s["label"]), multi=False)
    else:
        # twins of test patients stay out, so the test split keeps independent patients and controls
        split = D.make_splits(
            [D.Row(i, s["path"], int(s["label"]), s["subject_id"], "FLAIR") for i, s in enumerate(subjects)],
            SPLIT_SCHEME,
            SPLIT_SEED,
        )
        positions = []  # per patient and view, its slices as fractions of the head's extent
        for s in (s for s in subjects if s["label"] == "1"):
            o = slices2d.Oriented(rendered(raw, s["path"], s["lesion_mask"]))
            picks = slices2d.patient_band(o, s["task"], int(s["seed"]), int(s["subject_id"].rsplit("-", 1)[1]), gap_mm)
            rows += write_slices(out, o, picks, s["subject_id"], 1, multi=True)
            positions.append({v: slices2d.fractions(o.profiles(v)[0], ks) for v, ks in picks.items()})
            if s.get("paired_path") and s["subject_id"] not in split["test"]:
                twin = slices2d.Oriented(rendered(raw, s["paired_path"], ""))
                rows += write_slices(
                    out, twin, picks, s["subject_id"] + "-twin", 0, multi=True, twin_of=s["subject_id"]
                )
        if not positions:
            raise SystemExit(f"{raw}: no patients, so no slice positions for the controls")
        # control j takes patient j's positions (round robin): both classes share one distribution of positions
        controls = [s for s in subjects if s["label"] == "0"]
        for j, s in enumerate(controls):
            o = slices2d.Oriented(rendered(raw, s["path"], s["lesion_mask"]))
            picks = {
                v: slices2d.matched_slices(o.profiles(v)[0], positions[j % len(positions)][v], lo, hi)
                for v, (_, lo, hi) in slices2d.BANDS.items()
            }
            rows += write_slices(out, o, picks, s["subject_id"], 0, multi=True)
    for plane, path in manifests.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(os.path.join(os.path.dirname(path), "spec.json"), "w") as f:
            json.dump(SPEC_2D, f, indent=1)
        here = os.path.dirname(path)  # manifest paths are relative to the manifest (training.data)
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            for r in rows:
                if r["view"] == plane:
                    w.writerow(
                        {
                            "path": os.path.relpath(r["nifti"], here),
                            "label": r["label"],
                            "subject_id": r["subject_id"],
                            "sequence": "FLAIR",
                            "slice_png": os.path.relpath(os.path.join(out, r["path"]), here),
                            "lesion_pixels": r["lesion_pixels"],
                            "lesion_mask": os.path.relpath(r["mask_nifti"], here),
                            "slice_index": r["slice_index"],
                            "twin_of": r["twin_of"],
                        }
                    )
    return manifests


# ---------------------------------------------------------------------------------------------
# Protocols: each returns (best checkpoint, search summary, protocol description, train seconds)
# ---------------------------------------------------------------------------------------------


def end_to_end(args, cfg) -> tuple[str, dict, dict, float]:
    """CNN / QCNN: training.train's Optuna search, every trial trains the whole net."""
    best = optuna_search(cfg)
    trial_times = []
    for d in sorted(os.listdir(cfg.out_dir)):
        if d.startswith("trial-") and os.path.exists(os.path.join(cfg.out_dir, d, "ckpt.pt")):
            trial_times.append(
                sum(h["seconds"] for h in load_checkpoint(os.path.join(cfg.out_dir, d, "ckpt.pt"))["history"])
            )
    protocol = {
        "kind": "end-to-end",
        "trials": args.trials,
        "max_epochs": args.epochs,
        "init": f"lesion-map pre-training on the train slices' masks ({cfg.init_backbone})"
        if cfg.init_backbone
        else "random",
        "patience": args.patience,
        "augment": cfg.augment,
        "search_space": "lr 1e-5–1e-2 (log), L2 1e-6–1e-2 (log), dropout 0–0.5, dense stack '', 64, 128, 128-64",
        "per_trial_s": [round(t, 1) for t in trial_times],
    }
    return best["ckpt"], best, protocol, sum(trial_times)


def pooled_manifest(manifests: dict[str, str], out: str) -> str:
    """Both planes' slices in one manifest (a `view` column): subjects, labels and hence the split are the
    per-plane manifests' own."""
    path = os.path.join(out, "pooled.csv")
    rows = []
    for plane, m in manifests.items():

        def moved(p: str) -> str:
            return os.path.relpath(os.path.join(os.path.dirname(m), p), out)

        with open(m) as f:
            rows += [
                {
                    **r,
                    "path": moved(r["path"]),
                    "slice_png": moved(r["slice_png"]),
                    **({"lesion_mask": moved(r["lesion_mask"])} if r.get("lesion_mask") else {}),
                    "view": plane,
                }
                for r in csv.DictReader(f)
            ]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out, "spec.json"), "w") as f:
        json.dump(SPEC_2D, f, indent=1)
    return path


def transfer(args, cfg, manifests: dict[str, str], slices_dir: str) -> tuple[str, dict, dict, float]:
    """ResNet50 / DenseNet121 / EfficientNet-B3: training.transfer's pipeline on this plane, the backbone
    pre-trained once per family on both planes' slices, from random init or the lesion-map backbone."""
    plan = TransferPlan(
        pretrain_epochs=args.pretrain_epochs,
        pretrain_lr=args.pretrain_lr,
        trials=args.trials,
        head_epochs=args.head_epochs,
        head_patience=args.head_patience,
        init_backbone=cfg.init_backbone,
    )
    pre_dir = f"ms-flair-{args.backbone}-pretrain" + ("-lesionmap" if cfg.init_backbone else "")
    return train_transfer(
        dataclasses.replace(cfg, init_backbone=""),
        args.plane,
        manifests[args.plane],
        pooled_manifest(manifests, slices_dir),
        os.path.join(args.runs, pre_dir),
        plan,
        SPEC_2D,
    )


def lesion_map(args, pooled: str) -> str:
    """2D lesion-map pre-training of the family's backbone on both planes' train slices and their masks
    (training.pretrain, paper B's split), once per family; returns its backbone.pt."""
    return pretrain(
        PretrainConfig(
            manifest=pooled,
            out_dir=os.path.join(args.runs, f"ms-flair-{args.backbone}-lesionmap"),
            sequence="FLAIR",
            grid="224,224",
            split_scheme=SPLIT_SCHEME,
            split_seed=SPLIT_SEED,
            backbone=args.backbone,
            epochs=args.lesionmap_epochs,
            patience=args.lesionmap_epochs,
            batch_size=args.batch_size,
            lr=args.lesionmap_lr,
            loss=args.lesionmap_loss,
            num_threads=args.threads,
        )
    )


# ---------------------------------------------------------------------------------------------
# Shipping: the best classical and the best hybrid per plane, on validation, within the size budget
# ---------------------------------------------------------------------------------------------

BUDGET_BYTES = 100 * 2**20
HEADROOM_BYTES = 6 * 2**20  # left free in public/models for the other bundles' re-exports


def bundle_bytes(rec: dict, weights: str) -> int:
    """Estimated bundle size (measured on exports: within 2 %): backbone weights at that precision plus
    graph overhead, head.json (≈ 27 characters per float64 number) and references + manifest (≈ 0.4 MB)."""
    model = build_model(rec["model_args"])
    n = sum(p.numel() for p in model.backbone.parameters())
    return (
        int(n * (2 if weights == "float16" else 4) * 1.03)
        + 27 * sum(p.numel() for p in model.head.parameters())
        + 400_000
    )


def choose_bundles(recs: list[dict], budget: int, float32_only: set[str]) -> list[tuple[dict, str]]:
    """Per (plane, head) one run and its weight precision, minimising the summed validation loss under the
    budget (ties: float32, then smaller). Float16 only for the torchvision backbones (a CNN is tiny) not in
    float32_only."""
    slots: dict[tuple[str, str], list[tuple[dict, str, int]]] = {}
    for r in recs:
        for w in (
            ("float32", "float16") if r["backbone_family"] != "cnn" and r["id"] not in float32_only else ("float32",)
        ):
            slots.setdefault((r["plane"], r["head"]), []).append((r, w, bundle_bytes(r, w)))
    best, key = None, None
    for combo in itertools.product(*slots.values()):
        size = sum(c[2] for c in combo)
        if size > budget:
            continue
        k = (round(sum(c[0]["best_val_loss"] for c in combo), 9), sum(c[1] == "float16" for c in combo), size)
        if key is None or k < key:
            best, key = combo, k
    if best is None:
        raise SystemExit(f"no combination of paper B bundles fits {budget / 2 ** 20:.1f} MiB")
    return [(r, w) for r, w, _ in best]


def float16_drift(rec: dict) -> float:
    """Largest |P(positive)| change float16 weights cause on the export's reference inputs and on the
    run's validation slices (the bundle may use float16 only below training.export.FLOAT16_MAX_DIFF)."""
    ckpt = load_checkpoint(os.path.join(ROOT, rec["checkpoint"]))
    model = model_from_checkpoint(ckpt)
    half = half_precision(model)
    shape = ckpt["input_shape"][2:]
    rows = D.rows_in(D.read_manifest(ckpt["config"]["manifest"], "FLAIR"), rec["splits"], "val")
    x = torch.cat(
        [
            torch.stack([torch.from_numpy(v)[None] for v in reference_inputs(shape, 5, 0)]),
            torch.stack([D.load_volume(r, tuple(shape)) for r in rows]),
        ]
    )
    return max(
        (probabilities(model, x[i : i + 16])[2] - probabilities(half, x[i : i + 16])[2]).abs().max().item()
        for i in range(0, len(x), 16)
    )


PARITY_MAX_DIFF = 1e-4  # experiments/tests/test_bundles.py: the page's modules in node vs torch


def page_parity(folder: str) -> float:
    """Largest |P(positive)| difference between the page's modules in node (experiments/tests/
    classify_slices.mjs) and torch (reference.json) on a 2D bundle's reference inputs."""
    with open(os.path.join(folder, "reference.json")) as f:
        ref = json.load(f)["inputs"]
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for e in ref:
            files.append(os.path.join(tmp, e["file"]))
            nib.load(os.path.join(folder, e["file"])).get_fdata()[:, :, 0].T.astype("<f4").tofile(files[-1])
        out = subprocess.run(
            ["node", os.path.join(ROOT, "experiments", "tests", "classify_slices.mjs"), folder, *files],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        ).stdout
    got = {row["file"]: row["probability"] for row in json.loads(out)}
    return max(abs(got[e["file"]] - e["probability"]) for e in ref)


def export_choice(r: dict, weights: str, models_dir: str) -> dict:
    """Export one chosen run as a bundle with its model card; returns the manifest."""
    ckpt = load_checkpoint(os.path.join(ROOT, r["checkpoint"]))
    p = r["protocol"]
    how = (
        f"Optuna search with {p['trials']} trials (paper B: 50), at most {p['max_epochs']} epochs per trial, "
        + (
            "trained end to end from random initialisation (no pretrained weights offline)."
            if p["init"] == "random"
            else f"trained end to end from a backbone initialised by {p['init']}."
        )
        if p["kind"] == "end-to-end"
        else "Transfer protocol without ImageNet weights: backbone "
        + (
            "pre-trained from random initialisation"
            if p["backbone"]["init"].startswith("random")
            else f"initialised by {p['backbone']['init']}, then trained"
        )
        + f" for {p['backbone']['epochs_run']} epochs on both planes' train slices, then frozen; head tuned with "
        f"{p['head']['trials']} Optuna trials (paper B: 50, backbone fine-tuned end to end)."
    )
    return export_bundle(
        model_from_checkpoint(ckpt),
        os.path.join(models_dir, r["id"]),
        r["id"],
        input_shape=ckpt["input_shape"],
        name=f"{r['model']}, MS vs healthy, FLAIR {r['plane']} slice (224×224)",
        task="ms",
        sequence="FLAIR",
        paper="B",
        threshold=r["threshold"],
        metrics=r["manifest_metrics"],
        weights=weights,
        training_data={
            "synthetic": True,
            "description": ckpt["config"]["data_description"] + " (slices by synth/slices2d.py rule)",
            "generator": r["cohort"]["generator"],
            "seed": r["cohort"]["seed"],
            "n_subjects": r["cohort"]["n_subjects"],
            "splits": "paper B: 20 % test, then 20 % of the rest for validation, " "stratified, seed 1",
        },
        limitations=[
            "Trained and tested on synthetic phantom slices only; performance on real scans is unknown.",
            how,
            "Chosen among paper B's models for this plane on validation loss, within the page's "
            "bundle size budget"
            + (
                " (backbone weights stored as float16, probabilities within " "1e-3 of float32)."
                if weights == "float16"
                else "."
            ),
            "Expects one 2D FLAIR slice prepared like synth/slices2d.py (224×224, intensities /255).",
            "Not a medical device: not for diagnosis, screening or treatment decisions.",
        ],
        n_reference=5,
        preprocess=SPEC_2D,
    )


def index_ids(models_dir: str) -> list[str]:
    with open(os.path.join(models_dir, "index.json")) as f:
        return json.load(f)["models"]


def ship_best(records_dir: str, models_dir: str) -> int:
    recs = [r for r in load_records(records_dir) if r["family"] == "paper_b"]
    index = index_ids(models_dir)
    paper_b = {r["id"] for r in recs} | {
        i for i in index if i.startswith("ms-flair-axial-") or i.startswith("ms-flair-sagittal-")
    }
    others = 0
    for i in index:
        if i not in paper_b:
            others += sum(
                os.path.getsize(os.path.join(models_dir, i, f)) for f in os.listdir(os.path.join(models_dir, i))
            )
    budget = BUDGET_BYTES - HEADROOM_BYTES - others
    drift: dict[str, float] = {}
    parity: dict[str, float] = {}  # runs whose bundle failed the page's parity stay out
    while True:
        while True:  # choose; a float16 choice whose probabilities drift too far is redone in float32
            eligible = [r for r in recs if parity.get(r["id"], 0) <= PARITY_MAX_DIFF]
            chosen = choose_bundles(eligible, budget, {i for i, d in drift.items() if d > FLOAT16_MAX_DIFF})
            todo = [r for r, w in chosen if w == "float16" and r["id"] not in drift]
            if not todo:
                break
            for r in todo:
                drift[r["id"]] = float16_drift(r)
                print(f"{r['id']}: float16 moves P(positive) by up to {drift[r['id']]:.1e}", file=sys.stderr)
        for i in sorted(paper_b):  # earlier paper B bundles: replaced by this choice
            if os.path.isdir(os.path.join(models_dir, i)):
                shutil.rmtree(os.path.join(models_dir, i))
        index = [i for i in index if i not in paper_b]
        with open(os.path.join(models_dir, "index.json"), "w") as f:
            json.dump({"models": index}, f, indent=1)
            f.write("\n")
        manifests = {r["id"]: export_choice(r, w, models_dir) for r, w in chosen}
        failed = False
        for r, _ in chosen:
            parity[r["id"]] = page_parity(os.path.join(models_dir, r["id"]))
            print(f"{r['id']}: page vs torch {parity[r['id']]:.1e}", file=sys.stderr)
            failed |= parity[r["id"]] > PARITY_MAX_DIFF
        if not failed:
            break
    listed = set(index_ids(models_dir))
    for r, _ in chosen:  # export_bundle lists a bundle only if it meets the shipping rule (training/shipping.py)
        if r["id"] not in listed:
            shutil.rmtree(os.path.join(models_dir, r["id"]))
    chosen_ids = {r["id"]: w for r, w in chosen}
    for r in recs:
        r.pop("shipped", None)
        slot = [c for c, _ in chosen if c["plane"] == r["plane"] and c["head"] == r["head"]][0]
        rivals = [c for c in recs if c["plane"] == r["plane"] and c["head"] == r["head"]]
        r["selection"] = {
            "chosen_on": "validation loss (best_val_loss), within the bundle budget, among runs "
            "whose bundle passes the page's parity",
            "selected": r["id"] in chosen_ids,
            "slot_winner": slot["id"],
            "lowest_val_loss": min(rivals, key=lambda c: c["best_val_loss"])["id"],
            "budget_mib": round(budget / 2**20, 1),
            **({"float16_max_diff": drift[r["id"]]} if r["id"] in drift else {}),
            **({"page_parity_max_diff": parity[r["id"]]} if r["id"] in parity else {}),
        }
        if r["id"] in chosen_ids and r["id"] in listed:
            m = manifests[r["id"]]
            r["shipped"] = {
                "bundle": os.path.relpath(os.path.join(models_dir, r["id"]), ROOT),
                "bytes": sum(f["bytes"] for f in m["files"].values())
                + os.path.getsize(os.path.join(models_dir, r["id"], "manifest.json")),
                "weights": chosen_ids[r["id"]],
            }
            print(
                f"shipped {r['id']} ({r['shipped']['bytes'] / 2 ** 20:.1f} MiB, {chosen_ids[r['id']]})", file=sys.stderr
            )
    for r in recs:
        with open(os.path.join(records_dir, f"{r['id']}.json"), "w") as f:
            json.dump(_json_safe(r), f, indent=1)
            f.write("\n")
    if os.path.dirname(os.path.abspath(records_dir)) == RECORDS:
        variant = os.path.basename(os.path.abspath(records_dir))
        set_shipped(RECORDS, {i: variant if i in chosen_ids and i in listed else None for i in paper_b})
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(models_dir) for f in fs)
    if total > BUDGET_BYTES:
        raise SystemExit(f"public/models holds {total / 2 ** 20:.1f} MiB, over 100 MiB")
    return 0


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True, help="generated MS FLAIR cohort (synth output folder)")
    ap.add_argument("--plane", choices=["axial", "sagittal"])
    ap.add_argument("--backbone", choices=["cnn", "resnet50", "densenet121", "efficientnet_b3"])
    ap.add_argument("--head", choices=["classical", "quantum"])
    ap.add_argument("--trials", type=int, default=3, help="Optuna trials (end to end: whole nets; transfer: heads)")
    ap.add_argument("--epochs", type=int, default=15, help="end to end: max epochs per trial")
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--pretrain_epochs", type=int, default=4, help="transfer: backbone pre-training epochs")
    ap.add_argument("--pretrain_lr", type=float, default=1e-3)
    ap.add_argument(
        "--band",
        action="store_true",
        help="several slices per subject (make_slices): patients' lesion band, twins, matched controls",
    )
    ap.add_argument("--slice_gap_mm", type=float, default=0.0, help="--band: kept slices at least this far apart")
    ap.add_argument(
        "--lesionmap_epochs",
        type=int,
        default=0,
        help="> 0: initialise the backbone by 2D lesion-map pre-training (training.pretrain) this long",
    )
    ap.add_argument("--lesionmap_lr", type=float, default=1e-3)
    ap.add_argument(
        "--lesionmap_loss",
        default="bce_dice",
        choices=["bce_dice", "dice"],
        help="training.pretrain's map loss; dice: lesions are well under 1 %% of a slice's blocks",
    )
    ap.add_argument("--head_epochs", type=int, default=200)
    ap.add_argument("--head_patience", type=int, default=20)
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ship_best", action="store_true", help="export the models chosen on validation (ship_best)")
    ap.add_argument("--runs", default=os.path.join(ROOT, "runs"))
    ap.add_argument("--slices", default="", help="default: data/slices/<cohort folder name>[-first<N>]")
    ap.add_argument("--subjects", type=int, default=0, help="use only the cohort's first N subjects")
    ap.add_argument(
        "--records",
        default=os.path.join(RECORDS, PAPER_B_VARIANT),
        help="the runs' variant folder (--ship_best chooses among its runs)",
    )
    ap.add_argument("--models", default=MODELS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.ship_best:
        return ship_best(args.records, args.models)
    if not (args.plane and args.backbone and args.head):
        ap.error("--plane, --backbone and --head are required (or --ship_best)")

    t0 = time.time()
    slices_dir = args.slices or os.path.join(
        ROOT,
        "data",
        "slices",
        os.path.basename(os.path.normpath(args.raw))
        + (f"-first{args.subjects}" if args.subjects else "")
        + (f"-band{args.slice_gap_mm:g}mm" if args.band else ""),
    )
    manifests = make_slices(args.raw, slices_dir, args.subjects, args.band, args.slice_gap_mm)
    manifest = manifests[args.plane]
    init = lesion_map(args, pooled_manifest(manifests, slices_dir)) if args.lesionmap_epochs else ""
    with open(os.path.join(args.raw, "cohort.json")) as f:
        gen = json.load(f)
    rid = run_id(args.plane, args.backbone, args.head)
    out_dir = os.path.join(args.runs, rid)
    cfg = TrainConfig(
        manifest=manifest,
        out_dir=out_dir,
        sequence="FLAIR",
        task="ms",
        grid="224,224",
        split_scheme=SPLIT_SCHEME,
        split_seed=SPLIT_SEED,
        data_description=f"{gen['generator']} ms FLAIR {args.plane} slices, seed {gen['seed']}",
        backbone=args.backbone,
        head=args.head,
        n_qubits=4,
        reps=2,
        epochs=args.epochs,
        batch_size=args.batch_size,
        patience=args.patience,
        seed=1,
        num_threads=args.threads,
        progress=False,
        optuna_trials=args.trials,
        init_backbone=init,
    )
    if args.backbone == "cnn":
        ckpt_path, best, protocol, train_s = end_to_end(args, cfg)
    else:
        ckpt_path, best, protocol, train_s = transfer(args, cfg, manifests, slices_dir)
    t1 = time.time()
    ckpt = load_checkpoint(ckpt_path)
    ev = evaluate_checkpoint(ckpt_path, os.path.join(out_dir, "eval"), threads=args.threads)
    with open(os.path.join(os.path.dirname(ckpt_path), "splits.json")) as f:
        splits = json.load(f)
    preds = {}
    for split in ("val", "test"):
        with open(os.path.join(out_dir, "eval", f"predictions-{split}.csv"), newline="") as f:
            preds[split] = [
                {
                    "subject_id": r["subject_id"],
                    "slice": os.path.basename(r["path"]).split(".")[0],
                    "label": int(r["label"]),
                    "probability": float(r["probability"]),
                }
                for r in csv.DictReader(f)
            ]
    n_subj = sum(len(splits[k]) for k in ("train", "val", "test"))
    record = {
        "format": "qumri-run/1",
        "id": rid,
        "family": "paper_b",
        "task": "ms",
        "plane": args.plane,
        "sequence": "FLAIR",
        "backbone_family": args.backbone,
        "head": args.head,
        "model": NAMES[(args.backbone, args.head)],
        "git_commit": git_commit(),
        "command": "python -m experiments.paper_b " + " ".join(sys.argv[1:] if argv is None else argv),
        "cohort": {
            "generator": gen["generator"],
            "seed": gen["seed"],
            "n_subjects": n_subj,
            "n_patients": None,
            "slices": (
                "synth/slices2d.py, several per subject and plane: patients' lesion-bearing band"
                + (f" (slices ≥ {args.slice_gap_mm:g} mm apart)" if args.slice_gap_mm else "")
                + ", their lesion-free twins outside test, position-matched controls"
                if args.band
                else "synth/slices2d.py rule, one slice per subject and plane"
            ),
            **(
                {
                    "stopped_early": f"the first {args.subjects} of {gen['n']} planned subjects (the generator "
                    "was still writing when the runs had to start)"
                }
                if args.subjects
                else {}
            ),
        },
        "protocol": protocol,
        "optuna": {
            "trials": protocol["trials"] if "trials" in protocol else protocol["head"]["trials"],
            "best_trial": best["trial"],
            "best_val_loss": best["value"],
            "best_params": best["params"],
            "objective": "best validation loss",
        },
        "config": ckpt["config"],
        "model_args": ckpt["model_args"],
        "input_shape": ckpt["input_shape"],
        "checkpoint": os.path.relpath(ckpt_path, ROOT),
        "splits": splits,
        "split_use": {
            "train": "gradient steps",
            "val": "early stopping, Optuna objective, threshold, shipped model",
            "test": "reported metrics only",
        },
        "history": ckpt["history"],
        "epochs_run": ckpt["epoch"] + 1,
        "best_val_loss": ckpt["best_val_loss"],
        "wall_time_s": {
            "train": round(train_s, 1),
            "this_invocation": round(time.time() - t0, 1),
            "search": round(t1 - t0, 1),
        },
        "threshold": ev["threshold"],
        "threshold_chosen_on": ev["threshold_chosen_on"],
        "test": ev["test"],
        "manifest_metrics": ev["manifest_metrics"],
        "n_val": ev["n_val"],
        "n_test": ev["n_test"],
        "per_subject": {how: subject_metrics(os.path.join(out_dir, "eval"), how) for how in AGGREGATES},
        "predictions": preds,
    }
    with open(manifest) as f:
        record["cohort"]["n_patients"] = sum(int(r["label"]) for r in csv.DictReader(f))
    os.makedirs(args.records, exist_ok=True)
    with open(os.path.join(args.records, f"{rid}.json"), "w") as f:
        json.dump(_json_safe(record), f, indent=1)
        f.write("\n")
    t = record["test"]
    print(
        f"{rid}: val loss {record['best_val_loss']:.4f}, test ACC {t['acc']['value']:.3f} AUC {t['auc']['value']:.3f}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.exit(main())
