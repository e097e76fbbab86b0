"""Prepare a raw cohort with the project's own TypeScript preprocessing, so training sees exactly the
tensors the page and `qumri classify` compute (docs/preprocess-spec.md).

    /usr/bin/python3 -m training.prepare --manifest=raw/cohort.csv --out=prepared/ [--spec=spec.json] [--grid=128]

Runs `node bin/qumri.mjs preprocess <manifest> --spec ... --out <out>`, which writes one model-grid
NIfTI (+ brain mask) per scan, <out>/spec.json (the spec used) and <out>/<manifest name>.csv: the
same rows with `path` pointing at the prepared volume. That CSV is the `--manifest` for training;
the spec.json beside it is copied into the checkpoint and from there into the bundle's manifest.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from . import data as D

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def prepare(manifest: str, out: str, spec: str = "", grid: str = "", no_brain_extraction: bool = False) -> str:
    """Run the TypeScript preprocessing over a manifest; returns the prepared manifest's path."""
    rows = D.read_manifest(manifest)  # fail on bad rows before spending minutes on preprocessing
    cmd = ["node", os.path.join(ROOT, "bin", "qumri.mjs"), "preprocess", os.path.abspath(manifest), "--out", out]
    if spec:
        cmd += ["--spec", spec]
    if grid:
        cmd += ["--grid", grid]
    if no_brain_extraction:
        cmd += ["--no-brain-extraction"]
    r = subprocess.run(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"qumri preprocess failed (exit {r.returncode}): {r.stderr.strip()[-2000:]}")
    prepared = os.path.join(out, os.path.basename(manifest))
    _absolute_lesion_masks(prepared, rows)
    D.read_manifest(prepared)
    return prepared


def _absolute_lesion_masks(prepared: str, rows: list[D.Row]) -> None:
    """The CLI rewrites only the scan column; point lesion_mask at the original (absolute) files."""
    import csv

    with open(prepared, newline="") as f:
        recs = list(csv.DictReader(f))
        fields = list(recs[0].keys()) if recs else []
    if "lesion_mask" not in fields:
        return
    for rec, row in zip(recs, rows):
        if row.extra.get("lesion_mask"):
            rec["lesion_mask"] = row.extra["lesion_mask"]
    with open(prepared, "w", newline="") as f:
        w = csv.DictWriter(f, fields)
        w.writeheader()
        w.writerows(recs)


def load_spec_beside(manifest: str) -> dict | None:
    """The spec.json written next to a prepared manifest, if any."""
    p = os.path.join(os.path.dirname(os.path.abspath(manifest)), "spec.json")
    if not os.path.isfile(p):
        return None
    with open(p) as f:
        return json.load(f)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Preprocess a cohort with the project's TypeScript pipeline.")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--spec", default="")
    ap.add_argument("--grid", default="", help="N or NxNyNz (overrides the spec)")
    ap.add_argument("--no-brain-extraction", action="store_true")
    a = ap.parse_args(argv)
    try:
        print(prepare(a.manifest, a.out, a.spec, a.grid, a.no_brain_extraction))
    except (D.ManifestError, RuntimeError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
