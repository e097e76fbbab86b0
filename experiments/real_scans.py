"""Real scans (issue 18): build the real evaluation set and measure every shipped 3D model on it.

    OMP_WAIT_POLICY=PASSIVE nice /usr/bin/python3 -m experiments.real_scans
        [--data=../shared/data] [--out=data/real-eval] [--models DIR ...] [--record=PATH] [--fresh]

1. Build data/real-eval/ (git-ignored, resumable, deterministic): every real scan of ../shared/data, the
   lesion-removed twin of each real MS FLAIR (training/real_lesions.py: FLAIR candidate map, white-matter
   inpainting) and of ms_patient01_T2W (the FLAIR's candidates carried over where the two series share the
   scanner space), each under a neutral name (scans/real-NN.nii.gz) so that the file name tells neither the
   sequence nor the diagnosis, with its provenance in scans.csv; and ms-flair-val.csv, the real-validation-only
   MS FLAIR and their twins as a validation manifest (path,label,subject_id,sequence,lesion_mask,source).
2. Classify every scan with every model through `qumri classify --json` (the page's preprocessing), one call
   per model, cached per model in results/ (keyed by the bundle, the scans and the CLI's sources).
3. Write one record (default records/real-scans/real-scans.json, beside the variants: not a qumri-run/1
   record) with every prediction and, per model, the rates that issue 18 asks
   for as n/N. `python -m experiments.report` renders it as the "Real scans" section of docs/results.md.

--models takes public/models (the default: its index.json, 3D bundles only), a folder of bundle folders, or
bundle folders (e.g. runs/<run>/bundle) to measure candidates before shipping them; a record for anything but
the shipped models goes to data/real-eval/ unless --record says where.

Only scores, counts and summary volumes leave data/: no voxel, mask or image of a real scan is written into
the repository. Every CLI column that exists is kept (detected_sequence, in_distribution, ood_score,
withheld, status, error ...); a column the CLI does not give yet is recorded as absent, not guessed.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from experiments.paper_a import git_commit, wilson
from training.export import sha256

DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
OUT = os.path.join(ROOT, "data", "real-eval")
MODELS = os.path.join(ROOT, "public", "models")
RECORD = os.path.join(ROOT, "records", "real-scans", "real-scans.json")

USE_TRAIN = "may train, calibrate and validate"
USE_VAL = "validation and calibration only"
LICENCES = {
    "ljubljana": "CC-BY: Lesjak et al., Neuroinformatics 2016 (Ljubljana longitudinal database, patient 1, study 1)",
    "torchio": "MIT: TorchIO sample data (torchio-data, fernando/t2)",
    "rorden": "MIT: VolumeRenderingData by C. Rorden (stroke/)",
    "dbcl": "MIT: Developing Brain Computing Lab, Brain_MRI_Enhancement test_BIDS sub-0001",
    "jhu": "GPL-2: ms.lesion R package (J. Muschelli), JHU MS lesion challenge example data",
}
# (folder, file stem, sequence, stands for, who, licence key, use)
SOURCES = [
    ("real", "ms_patient01_FLAIR", "FLAIR", "MS", "MS patient (F, 20 y)", "ljubljana", USE_TRAIN),
    ("real", "ms_patient01_T2W", "T2w", "MS", "MS patient (F, 20 y)", "ljubljana", USE_TRAIN),
    ("real", "healthy_adult_T2", "T2w", "healthy", "healthy adult volunteer", "torchio", USE_TRAIN),
    (
        "real",
        "other_stroke_FLAIR",
        "FLAIR",
        "other (stroke)",
        "adult, chronic left-hemisphere stroke",
        "rorden",
        USE_TRAIN,
    ),
    ("real", "other_stroke_T2", "T2w", "other (stroke)", "adult, chronic left-hemisphere stroke", "rorden", USE_TRAIN),
    ("real", "other_stroke_T1", "T1w", "other (stroke)", "adult, chronic left-hemisphere stroke", "rorden", USE_TRAIN),
    (
        "real",
        "child_6y_T1w",
        "T1w",
        "child (status not stated)",
        "6-year-old child, typically developing cohort",
        "dbcl",
        USE_TRAIN,
    ),
    *[
        ("real-validation-only", f"ms_jhu_{s}_FLAIR", "FLAIR", "MS", "MS patient", "jhu", USE_VAL)
        for s in ("training01", "training02", "training03", "training04", "training05", "test01", "test02", "test03")
    ],
    ("real-validation-only", "ms_jhu_test02_T2", "T2w", "MS", "MS patient", "jhu", USE_VAL),
]
TWIN = "lesion-removed twin (healthy stand-in)"
WRONG = "wrong sequence"
# Inputs the T2w twin of patient 01 is made from: the FLAIR of the same session gives the lesions.
COREGISTERED = {"ms_patient01_T2W": "ms_patient01_FLAIR"}


def write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# 1. The evaluation set
# ---------------------------------------------------------------------------------------------


def make_twin(src: str, stem: str, out: str, flair_src: str | None) -> dict | None:
    """data/real-eval/twins/<stem>_twin.nii.gz and its summary (resumed from the summary file when present)."""
    from training import real_lesions as rl

    summary_path = os.path.join(out, "twins", f"{stem}_twin.json")
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            return json.load(f)
    brain_dir = os.path.join(out, "brain", os.path.basename(os.path.dirname(src)))
    seed = rl.stable_seed("real-eval", stem)
    if flair_src:
        res = rl.coregistered_twin(
            src, flair_src, os.path.join(out, "brain", os.path.basename(os.path.dirname(flair_src))), "T2w", seed
        )
        if res is None:
            summary = {"skipped": f"{stem} and {os.path.basename(flair_src)} do not share the scanner space"}
            write_json(summary_path, summary)
            return summary
    else:
        res = rl.flair_twin(src, brain_dir, seed)
    twin_path = os.path.join(out, "twins", f"{stem}_twin.nii.gz")
    rl.save_like(res["img"], res["volume"], twin_path)
    rl.save_mask(res["img"], res["region"], os.path.join(out, "twins", f"{stem}_inpainted.nii.gz"))
    rl.save_mask(res["img"], res["candidates"], os.path.join(out, "twins", f"{stem}_candidates.nii.gz"))
    summary = {**res["summary"], "seed": seed, "file": os.path.relpath(twin_path, out)}
    write_json(summary_path, summary)
    return summary


def neutral_names(ids: list[str]) -> dict[str, str]:
    """real-NN in the order of a salted hash of the scan's id: stable, and unrelated to sequence or diagnosis."""
    order = sorted(ids, key=lambda i: hashlib.sha256(f"qumri-real-eval/{i}".encode()).hexdigest())
    return {i: f"real-{k + 1:02d}" for k, i in enumerate(order)}


def build(data: str, out: str) -> list[dict]:
    """Every scan with its provenance; writes out/scans.csv and out/scans/real-NN.nii.gz (symlinks)."""
    import nibabel as nib

    os.makedirs(os.path.join(out, "scans"), exist_ok=True)
    os.makedirs(os.path.join(out, "twins"), exist_ok=True)
    scans = []
    for folder, stem, seq, stands, who, lic, use in SOURCES:
        src = os.path.join(data, folder, f"{stem}.nii.gz")
        if not os.path.exists(src):
            print(f"missing {src}: left out", file=sys.stderr)
            continue
        base = {
            "id": stem,
            "source": f"{folder}/{stem}.nii.gz",
            "sequence": seq,
            "who": who,
            "licence": LICENCES[lic],
            "use": use,
        }
        scans.append({**base, "path": src, "stands_for": stands, "derived": ""})
        flair = COREGISTERED.get(stem)
        if stands == "MS" and (seq == "FLAIR" or flair):
            t0 = time.time()
            s = make_twin(src, stem, out, os.path.join(data, folder, f"{flair}.nii.gz") if flair else None)
            if "skipped" in s:
                print(s["skipped"], file=sys.stderr)
                continue
            how = (
                f"candidates carried over from {s['candidates_from']} (brain Dice {s['alignment']['dice']:.3f} "
                "through the affines)"
                if "candidates_from" in s
                else f"{s['candidate_components']} candidate components"
            )
            scans.append(
                {
                    **base,
                    "id": f"{stem}_twin",
                    "path": os.path.join(out, s["file"]),
                    "stands_for": TWIN,
                    "derived": f"lesions removed by training/real_lesions.py: {s['candidate_ml']:.2f} ml of "
                    f"candidates ({how}), {s['inpainted_ml']:.2f} ml inpainted",
                    "candidate_ml": s["candidate_ml"],
                    "inpainted_ml": s["inpainted_ml"],
                }
            )
            print(f"{stem}: twin ({s['candidate_ml']:.2f} ml candidates) {time.time() - t0:.0f} s", file=sys.stderr)
    names = neutral_names([s["id"] for s in scans])
    for s in scans:
        s["name"] = names[s["id"]]
        link = os.path.join(out, "scans", f"{s['name']}.nii.gz")
        if os.path.islink(link) or os.path.exists(link):
            os.remove(link)
        os.symlink(os.path.abspath(s["path"]), link)
        s["file"] = link
        img = nib.load(s["path"])
        s["grid"] = "×".join(map(str, img.shape[:3]))
        s["voxel_mm"] = "×".join(f"{z:.2f}".rstrip("0").rstrip(".") for z in img.header.get_zooms()[:3])
        s["dtype"] = str(img.get_data_dtype())
        s["sha256"] = sha256(s["path"])
    scans.sort(key=lambda s: s["name"])
    cols = [
        "name",
        "id",
        "source",
        "sequence",
        "stands_for",
        "who",
        "derived",
        "licence",
        "use",
        "grid",
        "voxel_mm",
        "dtype",
        "sha256",
        "path",
    ]
    with open(os.path.join(out, "scans.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(scans)
    return scans


def write_validation_manifest(scans: list[dict], out: str) -> str:
    """out/ms-flair-val.csv: the real-validation-only MS FLAIR (MS) and their twins (healthy), the patient as
    subject, in the training manifest format (experiments/mixed_cohort.py --real_val): validation only."""
    rows = []
    for s in scans:
        if s["use"] != USE_VAL or s["sequence"] != "FLAIR":
            continue
        twin = s["stands_for"] == TWIN
        rows.append(
            {
                "path": os.path.abspath(s["path"]),
                "label": "0" if twin else "1",
                "subject_id": s["source"].split("/")[-1].replace("_FLAIR.nii.gz", ""),
                "sequence": "FLAIR",
                "lesion_mask": "",
                "source": f"real validation: {'lesion-removed twin' if twin else 'original'}",
            }
        )
    path = os.path.join(out, "ms-flair-val.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "label", "subject_id", "sequence", "lesion_mask", "source"])
        w.writeheader()
        w.writerows(sorted(rows, key=lambda r: (r["subject_id"], r["label"])))
    return path


# ---------------------------------------------------------------------------------------------
# 2. Classification through the CLI
# ---------------------------------------------------------------------------------------------


def bundles(models: list[str]) -> list[tuple[str, dict]]:
    """(bundle folder, manifest) of every 3D bundle named: public/models (index.json), a folder of bundle folders,
    or bundle folders."""
    out = []
    for m in models:
        m = os.path.abspath(m)
        if os.path.exists(os.path.join(m, "manifest.json")):
            folders = [m]
        elif os.path.exists(os.path.join(m, "index.json")):
            with open(os.path.join(m, "index.json")) as f:
                folders = [os.path.join(m, i) for i in json.load(f)["models"]]
        elif os.path.isdir(m):
            folders = sorted(
                os.path.join(m, d) for d in os.listdir(m) if os.path.exists(os.path.join(m, d, "manifest.json"))
            )
        else:
            raise SystemExit(f"--models {m}: not a bundle, a folder of bundles or a folder with index.json")
        for b in folders:
            with open(os.path.join(b, "manifest.json")) as f:
                man = json.load(f)
            if man.get("dims") == 3:
                out.append((b, man))
    if not out:
        raise SystemExit(f"no 3D bundle in {models}")
    return out


def src_hash() -> str:
    """The CLI's sources (src/, bin/): cached answers are redone when the code that gives them changes."""
    h = hashlib.sha256()
    for top in ("src", "bin"):
        for d, _, files in sorted(os.walk(os.path.join(ROOT, top))):
            for n in sorted(files):
                if n.endswith((".ts", ".tsx", ".mjs", ".js")) and ".test." not in n:
                    p = os.path.join(d, n)
                    h.update(os.path.relpath(p, ROOT).encode())
                    with open(p, "rb") as f:
                        h.update(f.read())
    return h.hexdigest()[:16]


def run_cli(files: list[str], bundle: str) -> list[dict]:
    """`qumri classify --json` over the files; where the call gives no row per file (an older CLI stopped at the
    first bad file), each file is retried alone and, if it still fails, recorded with status error."""
    # --no-model-check: this measures the model itself; its card's failed checks are derived from these rows
    cmd = [
        "node",
        os.path.join(ROOT, "bin", "qumri.mjs"),
        "classify",
        *files,
        "--model",
        bundle,
        "--json",
        "--threads",
        "1",
        "--no-model-check",
    ]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    try:  # the CLI gives one row per input, status error included, and exits 1 when any failed
        rows = json.loads(r.stdout)
        if isinstance(rows, list) and len(rows) == len(files):
            return rows
    except json.JSONDecodeError:
        pass
    if len(files) == 1:
        err = (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
        return [{"file": files[0], "status": "error", "error": err}]
    return [row for f in files for row in run_cli([f], bundle)]


def classify(scans: list[dict], bundle: str, manifest_sha: str, out: str, fresh: bool) -> list[dict]:
    key = hashlib.sha256(json.dumps([manifest_sha, [s["sha256"] for s in scans], src_hash()]).encode()).hexdigest()[:16]
    cache = os.path.join(out, "results", f"{os.path.basename(bundle)}-{key}.json")
    if os.path.exists(cache) and not fresh:
        with open(cache) as f:
            return json.load(f)
    t0 = time.time()
    rows = run_cli([s["file"] for s in scans], bundle)
    by_file = {os.path.abspath(r["file"]): r for r in rows}
    ordered = [
        by_file.get(os.path.abspath(s["file"]), {"status": "error", "error": "no row in the CLI output"}) for s in scans
    ]
    write_json(cache, ordered)
    print(f"{os.path.basename(bundle)}: {len(scans)} scans in {time.time() - t0:.0f} s", file=sys.stderr)
    return ordered


# ---------------------------------------------------------------------------------------------
# 3. Rates and the record
# ---------------------------------------------------------------------------------------------

# CLI columns not kept in the record (the rest are, whatever the CLI version gives)
DROPPED_COLUMNS = ("file", "model", "seconds", "gradcam", "sha256")
# issue 18's guard columns: the record says which the CLI did not give, or gave empty for every scan
GUARD_COLUMNS = ("detected_sequence", "in_distribution", "ood_score", "probability_calibrated", "status")


def role(scan: dict, manifest: dict) -> str:
    return scan["stands_for"] if scan["sequence"] == manifest["sequence"] else WRONG


def is_withheld(p: dict) -> bool:
    return p.get("class") == "withheld" or p.get("withheld") is True


def rate(name: str, label: str, preds: list[dict], hit, column: str | None = None) -> dict:
    """n/N of the predictions for which hit(p) holds; n is None when the column it needs is absent from all."""
    N = len(preds)
    if column and N and all(p.get(column) is None for p in preds):
        return {"key": name, "label": label, "n": None, "N": N, "note": f"the CLI gives no {column}"}
    n = sum(1 for p in preds if hit(p))
    return {"key": name, "label": label, "n": n, "N": N, "ci95": [round(v, 3) for v in wilson(n, N)] if N else None}


def twin_pairs(scans: list[dict], preds: list[dict]) -> dict:
    """In how many (real MS, its own lesion-removed twin) pairs the patient gets the higher probability, and the
    median gap: a model that answers from lesions separates a pair that differs only in them."""
    by = {}
    for s, p in zip(scans, preds):
        if p["role"] in ("MS", TWIN) and p.get("probability") is not None:
            by.setdefault(s["source"], {})[p["role"]] = p["probability"]
    gaps = [v["MS"] - v[TWIN] for v in by.values() if "MS" in v and TWIN in v]
    n, N = sum(g > 0 for g in gaps), len(gaps)
    return {
        "key": "patient_above_twin",
        "label": "real MS above its own lesion-removed twin",
        "n": n,
        "N": N,
        "ci95": [round(v, 3) for v in wilson(n, N)] if N else None,
        "median_gap": round(statistics.median(gaps), 4) if N else None,
    }


def rates(manifest: dict, preds: list[dict], scans: list[dict]) -> list[dict]:
    seq, task = manifest["sequence"], manifest["task"]
    healthy, positive = manifest["classes"]
    of = {r: [p for p in preds if p["role"] == r] for r in ("MS", TWIN, "healthy", "other (stroke)", WRONG)}
    same = [p for p in preds if p["role"] != WRONG]
    out = []
    if task == "ms":
        out.append(rate("ms_called_ms", f"real MS {seq} called MS", of["MS"], lambda p: p.get("class") == positive))
        out.append(twin_pairs(scans, preds))
    else:
        out.append(
            rate(
                "real_called_positive",
                f"real {seq} (none with {positive}) called {positive}",
                same,
                lambda p: p.get("class") == positive,
            )
        )
    out.append(
        rate(
            "twins_called_healthy",
            f"lesion-removed twins called {healthy}",
            of[TWIN],
            lambda p: p.get("class") == healthy,
        )
    )
    out.append(
        rate(
            "healthy_called_healthy",
            f"healthy {seq} called {healthy}",
            of["healthy"],
            lambda p: p.get("class") == healthy,
        )
    )
    if task == "tsc" and seq == "T2w":
        out.append(
            rate(
                "t2w_healthy_called_tsc",
                f"healthy T2w called {positive}",
                of["healthy"],
                lambda p: p.get("class") == positive,
            )
        )
    out.append(
        rate(
            "other_called_healthy",
            f"stroke {seq} called {healthy}",
            of["other (stroke)"],
            lambda p: p.get("class") == healthy,
        )
    )
    out.append(
        rate(
            "wrong_sequence_caught",
            f"wrong sequence caught (detected ≠ {seq})",
            of[WRONG],
            lambda p: p.get("detected_sequence") not in (None, seq),
            "detected_sequence",
        )
    )
    out.append(
        rate(
            "out_of_distribution",
            f"real {seq} out of distribution",
            same,
            lambda p: p.get("in_distribution") is False,
            "in_distribution",
        )
    )
    out.append(rate("withheld_same_sequence", f"real {seq} withheld", same, is_withheld))
    out.append(rate("withheld_wrong_sequence", "wrong-sequence inputs withheld", of[WRONG], is_withheld))
    out.append(rate("errors", "scans the CLI failed on", preds, lambda p: p.get("status") == "error"))
    return out


def prediction(scan: dict, manifest: dict, row: dict) -> dict:
    p = {"scan": scan["name"], "role": role(scan, manifest)}
    for k, v in row.items():
        if k not in DROPPED_COLUMNS:
            p[k if k != "sequence" else "sequence_from_name"] = round(v, 4) if isinstance(v, float) else v
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--models", nargs="+", default=[MODELS])
    ap.add_argument("--record", default=None)
    ap.add_argument("--fresh", action="store_true", help="classify again even where results/ has the answer")
    a = ap.parse_args(argv)
    shipped = a.models == [MODELS]
    record_path = a.record or (RECORD if shipped else os.path.join(a.out, "real-scans-candidates.json"))
    t0 = time.time()
    scans = build(a.data, a.out)
    if not scans:  # a record of 0/0 everywhere would read like a measurement
        raise SystemExit(f"no real scan found under {a.data}: nothing to measure (--data names the folder)")
    val = write_validation_manifest(scans, a.out)
    print(
        f"{len(scans)} scans in {a.out}/scans.csv, validation manifest {val} ({time.time() - t0:.0f} s)",
        file=sys.stderr,
    )
    models, columns = [], set()
    for bundle, man in bundles(a.models):
        manifest_sha = sha256(os.path.join(bundle, "manifest.json"))
        rows = classify(scans, bundle, manifest_sha, a.out, a.fresh)
        columns |= {k for r in rows for k in r}
        preds = [prediction(s, man, r) for s, r in zip(scans, rows)]
        models.append(
            {
                "id": man["id"],
                "task": man["task"],
                "sequence": man["sequence"],
                "head": man["architecture"]["head"],
                "classes": man["classes"],
                "threshold": man.get("threshold"),
                "bundle": os.path.relpath(bundle, ROOT),
                "manifest_sha256": manifest_sha,
                "predictions": preds,
                "rates": rates(man, preds, scans),
            }
        )
    record = {
        "format": "qumri-real-scans/1",
        "id": "real-scans",
        "script": "experiments/real_scans.py",
        "command": " ".join(["python -m experiments.real_scans", *(argv if argv is not None else sys.argv[1:])]),
        "git_commit": git_commit(),
        "cli_sources": src_hash(),
        "shipped_models": shipped,
        "cli_columns": sorted(columns),
        "cli_columns_absent": [c for c in GUARD_COLUMNS if c not in columns],
        "cli_columns_empty": [
            c for c in GUARD_COLUMNS if c in columns and all(p.get(c) is None for m in models for p in m["predictions"])
        ],
        "file_names": "neutral (real-NN.nii.gz): the name tells neither sequence nor diagnosis",
        "scans": [
            {
                k: s[k]
                for k in (
                    "name",
                    "source",
                    "sequence",
                    "stands_for",
                    "who",
                    "derived",
                    "licence",
                    "use",
                    "grid",
                    "voxel_mm",
                    "dtype",
                )
                if k in s
            }
            | ({"candidate_ml": s["candidate_ml"], "inpainted_ml": s["inpainted_ml"]} if "candidate_ml" in s else {})
            for s in scans
        ],
        "models": models,
        "wall_time_s": round(time.time() - t0, 1),
    }
    write_json(record_path, record)
    print(f"wrote {os.path.relpath(record_path, ROOT)}", file=sys.stderr)
    for m in models:
        print(
            f"{m['id']}: "
            + "; ".join(f"{r['label']} {r['n'] if r['n'] is not None else '—'}/{r['N']}" for r in m["rates"] if r["N"])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
