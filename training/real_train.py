"""Real-derived training scans (issue 18): scans of ../shared/data/real/ only, each real patient in both classes.

    OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 -m training.real_train [--data=../shared/data/real]
        [--out=data/real-train] [--k=8] [--tasks ms-flair tsc-t2w tsc-flair]

Writes, per task, data/real-train/<task>-<sequence>/ (git-ignored; resumable: a finished scan is not redone;
deterministic: every seed comes from the scan's name) with the scans as NIfTI in their source's grid, orientation
and storage type, and manifest.csv in the project's manifest format
(path,label,subject_id,sequence,lesion_mask + source,variant), subject_id = the real patient so that a split by
subject keeps each patient's scans together:

- ms-flair: ms_patient01_FLAIR as MS (its FLAIR candidate map as lesion_mask) and k copies of its lesion-removed
  twin (training/real_lesions.py) with MS-like lesions inserted (loads cycling subtle 1–3 / typical / high 20–40)
  as MS; k + 1 copies of the twin as healthy. The first twin pair is unaugmented; each other inserted copy shares
  its augmentation draw with one healthy copy, so only the lesions tell the pair apart, and one more augmented
  healthy twin balances the unmodified patient scan, the one row of its kind (there is no real healthy FLAIR).
- tsc-t2w: healthy_adult_T2 and the lesion-removed twin of ms_patient01_T2W (its FLAIR's candidates carried over,
  only where the two series share the scanner space) as healthy, k augmentations each (the first unaugmented);
  TSC-like lesions (cortical/subcortical tubers, subependymal nodules) inserted under the same augmentations as
  TSC: per source, k healthy and k TSC.
- tsc-flair: the same from the FLAIR twin of ms_patient01.

Augmentation: a smooth multiplicative bias field (up to ±20 %), gamma 0.8–1.25, gain 0.75–1.35 and Rician
noise up to 3 % of white matter, so intensity and bias do not tell a class. Nothing from real-validation-only/
is read.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from training import real_lesions as rl

DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "real"))
OUT = os.path.join(ROOT, "data", "real-train")
FIELDS = ["path", "label", "subject_id", "sequence", "lesion_mask", "source", "variant"]
TASKS = ("ms-flair", "tsc-t2w", "tsc-flair")


def augment(
    vol: np.ndarray, zooms, brain: np.ndarray, wm_level: float, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """Bias field, gamma, gain and Rician noise; returns the volume and what was drawn."""
    p = {
        "bias": float(rng.uniform(0.05, 0.2)),
        "gamma": float(np.exp(rng.uniform(np.log(0.8), np.log(1.25)))),
        "gain": float(rng.uniform(0.75, 1.35)),
        "noise": float(rng.uniform(0.0, 0.03)),
    }
    coarse = rl.gauss(rng.normal(size=vol.shape).astype(np.float32), 40.0, zooms)
    field = np.exp(p["bias"] * coarse / max(float(np.abs(coarse[brain]).max()), 1e-6))
    top = float(np.percentile(vol[brain], 99.5))
    out = top * (np.maximum(vol, 0) / top) ** p["gamma"] * field
    sd = p["noise"] * wm_level
    out = np.sqrt((out + rng.normal(0, sd, vol.shape)) ** 2 + rng.normal(0, sd, vol.shape) ** 2) if sd > 0 else out
    return (out * p["gain"]).astype(np.float32), {k: round(v, 3) for k, v in p.items()}


class Writer:
    """One task folder: scans written once (resumed by the row files), manifest.csv rewritten at the end."""

    def __init__(self, out: str, task: str):
        self.dir = os.path.join(out, task)
        os.makedirs(os.path.join(self.dir, "scans"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "masks"), exist_ok=True)
        self.rows: list[dict] = []

    def has(self, name: str) -> dict | None:
        p = os.path.join(self.dir, "scans", f"{name}.json")
        if os.path.exists(p):
            with open(p) as f:
                return json.load(f)
        return None

    def add(
        self,
        name: str,
        img,
        vol: np.ndarray | None,
        label: int,
        subject: str,
        sequence: str,
        source: str,
        variant: dict,
        mask: np.ndarray | None = None,
    ) -> None:
        """Writes the scan (and its lesion mask) unless an earlier run did; vol may be None only then."""
        row = self.has(name)
        if row is None:
            rl.save_like(img, vol, os.path.join(self.dir, "scans", f"{name}.nii.gz"))
            lesion = ""
            if mask is not None:
                lesion = f"masks/{name}_lesion.nii.gz"
                rl.save_mask(img, mask, os.path.join(self.dir, lesion))
            row = {
                "path": f"scans/{name}.nii.gz",
                "label": str(label),
                "subject_id": subject,
                "sequence": sequence,
                "lesion_mask": lesion,
                "source": source,
                "variant": json.dumps(variant, sort_keys=True),
            }
            with open(os.path.join(self.dir, "scans", f"{name}.json"), "w") as f:  # written last: the scan is done
                json.dump(row, f)
        self.rows.append(row)

    def finish(self) -> str:
        path = os.path.join(self.dir, "manifest.csv")
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(self.rows)
        labels = [int(r["label"]) for r in self.rows]
        print(
            f"{path}: {len(self.rows)} scans, {sum(labels)} positive, {len(labels) - sum(labels)} healthy",
            file=sys.stderr,
        )
        return path


def ms_load(i: int, rng: np.random.Generator) -> tuple[str, int]:
    """Lesion loads cycle subtle / typical / high (synth/ms.py's ranges)."""
    kind = ("subtle", "typical", "high")[i % 3]
    n = {
        "subtle": int(rng.integers(1, 4)),
        "typical": int(np.clip(round(rng.lognormal(np.log(12), 0.6)), 2, 40)),
        "high": int(rng.integers(20, 41)),
    }[kind]
    return kind, n


def derived(
    w: Writer,
    img,
    base: np.ndarray,
    tissue: rl.Tissue,
    subject: str,
    stem: str,
    kind: str,
    k: int,
    healthy_source: str,
    positive_source: str,
) -> None:
    """k augmentations of base as healthy and, under the same draws, base with `kind` lesions as positive (the
    first pair unaugmented)."""
    wm_level = float(np.median(tissue.wm_local[tissue.brain]))
    for i in range(k):
        name_h, name_p = f"{stem}-healthy-{i:02d}", f"{stem}-{kind}-{i:02d}"
        if w.has(name_h) and w.has(name_p):
            w.add(name_h, img, None, 0, subject, tissue.sequence, healthy_source, {})
            w.add(name_p, img, None, 1, subject, tissue.sequence, positive_source, {})
            continue
        rng = np.random.default_rng(rl.stable_seed("real-train", stem, kind, i))
        load, n = ms_load(i, rng) if kind == "ms" else ("tsc", None)
        ins = rl.insert_lesions(base, tissue, rng, kind, n=n)
        if i == 0:
            vh, vp, drawn = base, ins.volume, {}
        else:
            s = int(rng.integers(2**31))
            vh, drawn = augment(base, tissue.zooms, tissue.brain, wm_level, np.random.default_rng(s))
            vp, _ = augment(ins.volume, tissue.zooms, tissue.brain, wm_level, np.random.default_rng(s))
        meta = {
            "augmentation": drawn,
            "lesions": len(ins.lesions),
            "load": load,
            "lesion_ml": round(float(ins.mask.sum() * np.prod(tissue.zooms) / 1000), 2),
        }
        w.add(name_h, img, vh, 0, subject, tissue.sequence, healthy_source, {"augmentation": drawn})
        w.add(name_p, img, vp, 1, subject, tissue.sequence, positive_source, meta, ins.mask)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DATA, help="../shared/data/real (never real-validation-only)")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--k", type=int, default=8, help="augmentations (and lesion-inserted scans) per source")
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    a = ap.parse_args(argv)
    if "validation-only" in os.path.abspath(a.data):
        raise SystemExit("real-validation-only/ may validate and calibrate, never train")
    brain_dir = os.path.join(a.out, "brain")
    flair = os.path.join(a.data, "ms_patient01_FLAIR.nii.gz")
    t2w = os.path.join(a.data, "ms_patient01_T2W.nii.gz")
    healthy_t2 = os.path.join(a.data, "healthy_adult_T2.nii.gz")
    seed = rl.stable_seed("real-train", "ms_patient01")
    twin = rl.flair_twin(flair, brain_dir, seed) if {"ms-flair", "tsc-flair"} & set(a.tasks) else None
    if twin:
        print(
            f"ms_patient01_FLAIR: {twin['summary']['candidate_ml']} ml of candidates, "
            f"{twin['summary']['inpainted_ml']} ml inpainted",
            file=sys.stderr,
        )
    twin_src = "real (ms_patient01): lesion-removed twin"
    if "ms-flair" in a.tasks:
        w = Writer(a.out, "ms-flair")
        vol, _, _, img = rl.load(flair)
        w.add(
            "ms_patient01_FLAIR",
            img,
            vol,
            1,
            "ms_patient01",
            "FLAIR",
            "real (ms_patient01): original",
            {"candidate_ml": twin["summary"]["candidate_ml"]},
            twin["candidates"],
        )
        # one more healthy twin than inserted ones balances the unmodified patient scan
        derived(
            w,
            img,
            twin["volume"],
            twin["tissue"],
            "ms_patient01",
            "ms_patient01_FLAIR",
            "ms",
            a.k,
            twin_src,
            twin_src + " + inserted MS lesions",
        )
        rng = np.random.default_rng(rl.stable_seed("real-train", "ms_patient01_FLAIR", "extra healthy"))
        t = twin["tissue"]
        vx, px = augment(twin["volume"], t.zooms, t.brain, float(np.median(t.wm_local[t.brain])), rng)
        w.add("ms_patient01_FLAIR-healthy-extra", img, vx, 0, "ms_patient01", "FLAIR", twin_src, {"augmentation": px})
        w.finish()
    if "tsc-flair" in a.tasks:
        w = Writer(a.out, "tsc-flair")
        _, _, _, img = rl.load(flair)
        derived(
            w,
            img,
            twin["volume"],
            twin["tissue"],
            "ms_patient01",
            "ms_patient01_FLAIR",
            "tsc",
            a.k,
            twin_src,
            twin_src + " + inserted TSC lesions",
        )
        w.finish()
    if "tsc-t2w" in a.tasks:
        w = Writer(a.out, "tsc-t2w")
        vol, zooms, affine, img = rl.load(healthy_t2)
        t = rl.tissue_model(vol, zooms, affine, "T2w", brain=rl.page_brain_mask(healthy_t2, brain_dir))
        derived(
            w,
            img,
            vol,
            t,
            "healthy_adult",
            "healthy_adult_T2",
            "tsc",
            a.k,
            "real (healthy_adult): original",
            "real (healthy_adult): original + inserted TSC lesions",
        )
        co = rl.coregistered_twin(t2w, flair, brain_dir, "T2w", seed)
        if co is None:
            print("ms_patient01_T2W and its FLAIR do not share the scanner space: no T2w twin", file=sys.stderr)
        else:
            print(f"ms_patient01_T2W: FLAIR candidates carried over ({co['summary']['alignment']})", file=sys.stderr)
            derived(
                w,
                co["img"],
                co["volume"],
                co["tissue"],
                "ms_patient01",
                "ms_patient01_T2W",
                "tsc",
                a.k,
                twin_src,
                twin_src + " + inserted TSC lesions",
            )
        w.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
