"""Prepare a generated synthetic cohort on a model grid with the project's TypeScript preprocessing.

    /usr/bin/python3 -m experiments.cohort --raw=data/synth/tsc-flair --out=data/prepared/tsc-flair-64 \
        --grid=64 [--follow] [--shard=0/2]

Scans (and --paired lesion-free twins) are preprocessed in small chunks, each chunk one
`qumri preprocess` call, skipping files already written, so an interrupted run resumes and the
preprocessing can follow the generator while it still writes (--follow polls until the generator's
manifest.csv exists and every scan is done). Once all are done, writes <out>/cohort.csv: the generator's
rows with `path` = prepared volume, `lesion_mask` = absolute raw mask path and `paired_prepared` = the
prepared twin (test-split patients only, the only ones the paired analysis uses; empty otherwise). Training reads cohort.csv and the spec.json beside it.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

from synth import GENERATOR, __version__
from synth.cohort import MANIFEST_COLUMNS, subject_id
from synth.subject import sample_person
from training import data as D

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 8


def stem(path: str) -> str:
    base = os.path.basename(path)
    for ext in (".nii.gz", ".nii"):
        if base.endswith(ext):
            return base[: -len(ext)]
    raise ValueError(f"not a NIfTI path: {path!r}")


def generation_complete(raw: str) -> bool:
    """The generator has finished: its manifest exists and cohort.json does not say "complete": false (the
    generator writes manifest rows as subjects finish, so a manifest alone may be partial)."""
    if not os.path.exists(os.path.join(raw, "manifest.csv")):
        return False
    meta = os.path.join(raw, "cohort.json")
    if not os.path.exists(meta):
        return True
    with open(meta) as f:
        return json.load(f).get("complete", True) is not False


def raw_scans(raw: str) -> list[str]:
    """Every scan and twin to prepare (sorted, absolute): the manifest's once generation is complete, else
    every finished file the generator has written so far."""
    manifest = os.path.join(raw, "manifest.csv")
    if generation_complete(raw):
        with open(manifest) as f:
            rows = list(csv.DictReader(f))
        test = test_subjects(raw)
        out = [r["path"] for r in rows] + [
            r["paired_path"] for r in rows if r.get("paired_path") and r["subject_id"] in test
        ]
        return sorted(os.path.abspath(os.path.join(raw, p)) for p in out)
    out = []
    for sub in ("scans", "paired"):
        d = os.path.join(raw, sub)
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".nii.gz")]
    return [os.path.abspath(p) for p in out]


def test_subjects(raw: str) -> set[str]:
    """Paper A's test split of the raw manifest (scheme A, split seed 1: what training.train will make).
    Only those subjects' lesion-free twins are prepared: the paired analysis runs on test patients only."""
    rows = D.read_manifest(os.path.join(raw, "manifest.csv"), check_files=False)
    return set(D.make_splits(rows, "A", 1)["test"])


def pending(raw: str, out: str, shard: tuple[int, int]) -> list[str]:
    i, n = shard
    todo = [p for p in raw_scans(raw) if not os.path.exists(os.path.join(out, stem(p) + ".nii.gz"))]
    return [p for k, p in enumerate(todo) if k % n == i]


def preprocess_chunk(paths: list[str], out: str, grid: int) -> None:
    """One `qumri preprocess` call over a temporary CSV list (outputs land directly in out/)."""
    os.makedirs(out, exist_ok=True)
    lst = os.path.join(tempfile.gettempdir(), f"qumri-chunk-{os.getpid()}.csv")  # not in out/: the CLI refuses that
    with open(lst, "w") as f:
        f.write("path\n" + "".join(p + "\n" for p in paths))
    cmd = ["node", os.path.join(ROOT, "bin", "qumri.mjs"), "preprocess", lst, "--grid", str(grid), "--out", out]
    r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    os.remove(lst)
    rewritten = os.path.join(out, os.path.basename(lst))  # the CLI's copy of the list: not needed
    if os.path.exists(rewritten):
        os.remove(rewritten)
    if r.returncode != 0:
        raise RuntimeError(f"qumri preprocess failed on {paths[0]}…: {r.stderr.strip()[-1500:]}")


def write_cohort_csv(raw: str, out: str) -> str:
    """<out>/cohort.csv from the generator's manifest; fails naming the first unprepared scan."""
    with open(os.path.join(raw, "manifest.csv")) as f:
        rows = list(csv.DictReader(f))
    test = test_subjects(raw)
    fields = list(rows[0].keys()) + ["raw_path", "paired_prepared"]
    for r in rows:
        r["raw_path"] = os.path.abspath(os.path.join(raw, r["path"]))
        r["path"] = os.path.abspath(os.path.join(out, stem(r["path"]) + ".nii.gz"))
        r["lesion_mask"] = os.path.abspath(os.path.join(raw, r["lesion_mask"])) if r["lesion_mask"] else ""
        twin = r.get("paired_path") if r["subject_id"] in test else ""
        r["paired_prepared"] = os.path.abspath(os.path.join(out, stem(twin) + ".nii.gz")) if twin else ""
        for p in (r["path"], r["paired_prepared"]):
            if p and not os.path.exists(p):
                raise FileNotFoundError(f"not prepared yet: {p}")
    path = os.path.join(out, "cohort.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return path


def close_partial(raw: str, task: str, sequence: str, seed: int, planned: int) -> int:
    """After the generator was stopped early (CPU budget): manifest.csv and cohort.json for the longest
    complete prefix of subjects 0..k-1 on disk (scan, mask and, for patients, the twin). Person fields come
    from the generator's own sampler, so labels are exactly what it would have written. Returns k."""
    rows, k = [], 0
    while True:
        sid = subject_id(task, k)
        p = sample_person(task, k, seed)
        files = {
            "path": f"scans/{sid}.nii.gz",
            "lesion_mask": f"masks/{sid}_lesion.nii.gz",
            "paired_path": f"paired/{sid}_nolesion.nii.gz" if p.label == 1 else "",
        }
        full = [os.path.join(raw, f) for f in files.values() if f]
        if not all(os.path.exists(f) and time.time() - os.path.getmtime(f) > 5 for f in full):
            break
        rows.append(
            {
                **files,
                "label": p.label,
                "subject_id": sid,
                "sequence": sequence,
                "age": p.age,
                "sex": p.sex,
                "seed": seed,
                "generator_version": __version__,
                "task": task,
                "difficulty": p.difficulty,
            }
        )
        k += 1
    if k == 0:
        raise FileNotFoundError(f"{raw}: no complete subject on disk")
    with open(os.path.join(raw, "manifest.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    meta = {
        "generator": GENERATOR,
        "task": task,
        "sequence": sequence,
        "n": k,
        "start": 0,
        "seed": seed,
        "paired": True,
        "slices2d": False,
        "coarsen": 1.0,
        "stopped_early": f"planned {planned} subjects; stopped after {k} to fit the CPU budget",
    }
    with open(os.path.join(raw, "cohort.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return k


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--grid", type=int, default=64)
    ap.add_argument("--follow", action="store_true", help="keep polling while the generator writes")
    ap.add_argument("--shard", default="0/1", help="i/n: this process takes every n-th pending scan")
    ap.add_argument(
        "--close",
        default="",
        metavar="TASK,SEQUENCE,SEED,PLANNED",
        help="the generator was stopped early: write its manifest for the complete prefix, then exit",
    )
    a = ap.parse_args(argv)
    if a.close:
        task, sequence, seed, planned = a.close.split(",")
        k = close_partial(a.raw, task, sequence, int(seed), int(planned))
        print(f"{a.raw}: manifest for the first {k} subjects", file=sys.stderr)
        return 0
    i, n = (int(v) for v in a.shard.split("/"))
    if not 0 <= i < n:
        ap.error(f"--shard must be i/n with 0 <= i < n, got {a.shard!r}")
    while True:
        todo = pending(a.raw, a.out, (i, n))
        # the newest file may still be being written by the generator: leave it for the next poll
        if a.follow and not generation_complete(a.raw):
            todo = [p for p in todo if time.time() - os.path.getmtime(p) > 5]
        for k in range(0, len(todo), CHUNK):
            preprocess_chunk(todo[k : k + CHUNK], a.out, a.grid)
            print(f"prepared {min(k + CHUNK, len(todo))}/{len(todo)} pending", file=sys.stderr, flush=True)
        done_generating = generation_complete(a.raw)
        if done_generating and not pending(a.raw, a.out, (0, 1)):
            if i == 0:  # one writer for cohort.csv
                print(f"wrote {write_cohort_csv(a.raw, a.out)}", file=sys.stderr)
            return 0
        if not a.follow:
            return 0 if not todo else 1
        time.sleep(20)


if __name__ == "__main__":
    sys.exit(main())
