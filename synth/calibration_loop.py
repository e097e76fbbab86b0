"""Calibration loop: the calibrate estimator on healthy axial phantoms vs on the real scans.

`/usr/bin/python3 -m synth.calibration_loop [--n 6] [--seed 3]` prints, per sequence, the real scans'
ratios and the phantoms' (median and range). Used to tune contrast.GM_PV_CORRECTION; see docs/synth.md.
"""
from __future__ import annotations

import argparse
import json

import nibabel as nib
import numpy as np

from .calibrate import measure
from .contrast import CALIBRATION
from .subject import plan_acquisition, render


def axial_healthy(task: str, seq: str, seed: int, count: int) -> list[int]:
    """Indices of healthy subjects acquired as axial, not skull-stripped stacks (like the real scans)."""
    found = []
    for i in range(0, 400, 2):
        plan = plan_acquisition(task, seq, i, seed)
        if plan.grid.orientation == "axial" and not plan.skull_stripped:
            found.append(i)
        if len(found) == count:
            return found
    raise ValueError(f"fewer than {count} axial healthy subjects among the first 400")


def phantom_ratios(task: str, seq: str, seed: int, count: int, coarsen: float = 1.0) -> list[dict]:
    out = []
    for i in axial_healthy(task, seq, seed, count):
        _, r = render(task, seq, i, seed, coarsen=coarsen)
        out.append(measure(nib.Nifti1Image(r.scan.astype(np.float32), r.grid.affine), seq)["ratios_to_wm"])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    scans = json.loads(CALIBRATION.read_text())["scans"]
    for task, seq in (("ms", "FLAIR"), ("ms", "T2w"), ("tsc", "FLAIR"), ("tsc", "T2w")):
        real = [s["ratios_to_wm"] for s in scans if s["sequence"] == seq]
        got = phantom_ratios(task, seq, args.seed, args.n)
        for k in ("GM", "CSF"):
            vals = [g[k] for g in got]
            print(
                f"{task} {seq} {k}/WM real {np.mean([r[k] for r in real]):.3f} "
                f"phantoms median {np.median(vals):.3f} range {min(vals):.3f}–{max(vals):.3f}"
            )


if __name__ == "__main__":
    main()
