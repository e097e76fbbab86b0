"""A cohort: subjects rendered in parallel, written as NIfTI scans + lesion masks + a CSV manifest.

Layout under the output folder:
  manifest.csv                 one row per subject, written as each finishes (columns: MANIFEST_COLUMNS)
  cohort.json                  generator version, arguments, seed; "complete": false while running
  scans/<id>.nii.gz            the scan (int16/uint16 with scl_slope, scanner affine; randomised subjects
                               also uint8/float32, and possibly on a 1 mm MNI-like grid)
  masks/<id>_lesion.nii.gz     uint8 lesion mask on the scan's grid (all zero for controls)
  paired/<id>_nolesion.nii.gz  --paired: the same patient scan without lesions (same noise)
  slices2d/...                 --slices2d: see synth/slices2d.py
"""
from __future__ import annotations

import csv
import json
import multiprocessing as mp
import pathlib
import sys
import time
from typing import Callable

import numpy as np
from scipy import ndimage as ndi

from . import GENERATOR, __version__, anatomy
from . import acquisition as acq
from . import slices2d
from .subject import render

MANIFEST_COLUMNS = [
    "path",
    "label",
    "subject_id",
    "sequence",
    "age",
    "sex",
    "lesion_mask",
    "lesion_count",
    "lesion_volume_ml",
    "seed",
    "generator_version",
    # beyond what training reads: for analysis and tests
    "task",
    "difficulty",
    "mask_components",
    "lesion_kinds",
    "paired_path",
    "skull_stripped",
    "acquisition",
    "orientation",
    "voxel_mm",
    "snr",
    "ghosting",
    "storage",
    # the subject's mode and the randomised mode's extra draws (fixed values for calibrated subjects)
    "mode",
    "placement",
    "stripping",
    "coverage",
    "slice_profile",
    "gamma",
    "bias",
]


def subject_id(task: str, index: int) -> str:
    return f"{task}-{index:04d}"


def write_subject(job: tuple) -> dict:
    task, sequence, index, seed, out, paired, want_slices, coarsen, randomised = job
    out = pathlib.Path(out)
    p, r = render(task, sequence, index, seed, paired=paired, coarsen=coarsen, randomised=randomised)
    sid = subject_id(task, index)
    desc = f"{GENERATOR} {task} {sequence} seed {seed} #{index}"
    files = {"path": f"scans/{sid}.nii.gz", "lesion_mask": f"masks/{sid}_lesion.nii.gz"}
    (out / files["path"]).write_bytes(acq.nifti_bytes(r.scan, r.grid.affine, r.storage.slope, desc))
    (out / files["lesion_mask"]).write_bytes(acq.nifti_bytes(r.mask, r.grid.affine, 1.0, desc + " lesions"))
    paired_path = ""
    if r.scan_paired is not None:
        paired_path = f"paired/{sid}_nolesion.nii.gz"
        (out / paired_path).write_bytes(
            acq.nifti_bytes(r.scan_paired, r.grid.affine, r.storage.slope, desc + " paired")
        )
    zooms = np.sqrt((r.grid.affine[:3, :3] ** 2).sum(0))
    kinds = sorted({l.kind for l in r.lesions})
    row = {
        **files,
        "label": p.label,
        "subject_id": sid,
        "sequence": sequence,
        "age": p.age,
        "sex": p.sex,
        "lesion_count": len(r.lesions),
        "lesion_volume_ml": round(float(r.mask.sum() * np.prod(zooms)) / 1000, 4),
        "seed": seed,
        "generator_version": __version__,
        "task": task,
        "difficulty": p.difficulty,
        "mask_components": int(ndi.label(r.mask, np.ones((3, 3, 3)))[1]) if r.mask.any() else 0,
        "lesion_kinds": ";".join(kinds),
        "paired_path": paired_path,
        "skull_stripped": int(r.skull_stripped),
        "acquisition": "3D" if r.grid.is_3d else "2D",
        "orientation": r.grid.orientation,
        "voxel_mm": "x".join(f"{z:.2f}" for z in zooms),
        "snr": round(r.snr, 1),
        "ghosting": int(r.ghosting),
        "storage": f"{r.storage.dtype}*{r.storage.slope:g}",
        "mode": r.plan.mode,
        "placement": r.plan.placement,
        "stripping": r.plan.stripping,
        "coverage": r.plan.coverage,
        "slice_profile": r.plan.profile,
        "gamma": round(r.plan.gamma, 3),
        "bias": round(r.plan.bias, 3),
    }
    row["_slices"] = slices2d.export(out, task, sid, p.label, r, seed, index) if want_slices else []
    return row


def _init_worker() -> None:
    anatomy.load()
    anatomy.candidates()
    anatomy.parenchyma()
    anatomy.infratentorial()


def progress(done: int, total: int, started: float, stream=sys.stderr) -> None:
    width = 30
    frac = done / max(total, 1)
    elapsed = time.time() - started
    eta = elapsed / done * (total - done) if done else 0.0
    bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
    stream.write(f"\r[{bar}] {done}/{total} {elapsed:6.0f}s elapsed, ETA {eta:5.0f}s")
    if done == total:
        stream.write("\n")
    stream.flush()


def generate(
    task: str,
    sequence: str,
    n: int,
    out: pathlib.Path,
    seed: int = 1,
    paired: bool = False,
    want_slices: bool = False,
    workers: int = 2,
    start: int = 0,
    coarsen: float = 1.0,
    randomised: float = 0.0,
    on_progress: Callable[[int, int, float], None] | None = progress,
) -> list[dict]:
    """Render subjects start..start+n−1 into `out`; returns the manifest rows (also written to disk).
    `randomised`: probability that a subject is drawn in the randomised mode (0: all calibrated)."""
    if task not in ("tsc", "ms"):
        raise ValueError(f"task must be 'tsc' or 'ms', got {task!r}")
    if sequence not in ("FLAIR", "T2w"):
        raise ValueError(f"sequence must be 'FLAIR' or 'T2w', got {sequence!r}")
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    if not 0.0 <= randomised <= 1.0:
        raise ValueError(f"randomised must be a fraction in [0, 1], got {randomised}")
    out = pathlib.Path(out)
    for sub in ["scans", "masks"] + (["paired"] if paired else []):
        (out / sub).mkdir(parents=True, exist_ok=True)
    if want_slices:
        slices2d.prepare(out)
    jobs = [
        (task, sequence, i, seed, str(out), paired, want_slices, coarsen, randomised) for i in range(start, start + n)
    ]
    meta = {
        "generator": GENERATOR,
        "task": task,
        "sequence": sequence,
        "n": n,
        "start": start,
        "seed": seed,
        "paired": paired,
        "slices2d": want_slices,
        "coarsen": coarsen,
        "randomised": randomised,
        "complete": False,
    }
    (out / "cohort.json").write_text(json.dumps(meta, indent=1) + "\n")
    rows: list[dict] = []
    slice_rows: list[dict] = []
    started = time.time()
    # Rows are written (in subject order) as subjects finish, so an interrupted run leaves a valid
    # manifest of the subjects done so far; cohort.json says "complete": false until the end.
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        w.writeheader()
        f.flush()

        def take(row: dict) -> None:
            slice_rows.extend(row.pop("_slices"))
            rows.append(row)
            w.writerow(row)
            f.flush()
            if on_progress:
                on_progress(len(rows), n, started)

        if workers > 1 and n > 1:
            with mp.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
                for row in pool.imap(write_subject, jobs):
                    take(row)
        else:
            for job in jobs:
                take(write_subject(job))
    if want_slices:
        slices2d.write_manifest(out, slice_rows)
    meta["complete"] = True
    (out / "cohort.json").write_text(json.dumps(meta, indent=1) + "\n")
    return rows
