"""Command line: `/usr/bin/python3 -m synth --task tsc|ms --sequence flair|t2w --n N --out DIR [options]`."""
from __future__ import annotations

import argparse
import os
import pathlib
import sys

SEQUENCES = {"flair": "FLAIR", "t2w": "T2w"}


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="synth", description="Generate a synthetic TSC or MS cohort (see docs/synth.md).")
    ap.add_argument("--task", required=True, choices=["tsc", "ms"])
    ap.add_argument("--sequence", required=True, type=str.lower, choices=list(SEQUENCES))
    ap.add_argument("--n", required=True, type=int, help="number of subjects (half patients, half controls)")
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="index of the first subject (to extend a cohort)")
    ap.add_argument("--paired", action="store_true", help="also write each patient's scan without lesions")
    ap.add_argument("--slices2d", action="store_true", help="also export axial+sagittal 224×224 PNG slices")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--coarsen",
        type=float,
        default=1.0,
        help="multiply every voxel size (same field of view, fewer voxels): previews and tests only",
    )
    ap.add_argument(
        "--randomised",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="probability that a subject is drawn with a randomised appearance (0: calibrated "
        "look only, 1: all randomised); recorded per subject in the manifest's mode column",
    )
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error(f"--n must be ≥ 1, got {args.n}")
    if not 1.0 <= args.coarsen <= 8.0:
        ap.error(f"--coarsen must be in [1, 8], got {args.coarsen}")
    if not 0.0 <= args.randomised <= 1.0:
        ap.error(f"--randomised must be a fraction in [0, 1], got {args.randomised}")
    if args.workers < 1:
        ap.error(f"--workers must be ≥ 1, got {args.workers}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from .cohort import generate, progress  # imported late so --help is fast

    try:
        rows = generate(
            args.task,
            SEQUENCES[args.sequence],
            args.n,
            args.out,
            seed=args.seed,
            paired=args.paired,
            want_slices=args.slices2d,
            workers=args.workers,
            start=args.start,
            coarsen=args.coarsen,
            randomised=args.randomised,
            on_progress=None if args.quiet else progress,
        )
    except (OSError, ValueError) as e:
        print(f"synth: error: {e}", file=sys.stderr)
        return 1
    patients = sum(int(r["label"]) for r in rows)
    print(f"wrote {len(rows)} subjects ({patients} patients) to {args.out}/manifest.csv")
    return 0
