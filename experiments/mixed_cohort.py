"""A training cohort in which the source cannot predict the label (issue #18), on a model grid.

- Synthetic cohorts (calibrated and randomised looks): every train/val patient's lesion-free twin
  joins as a control, so a phantom's look says nothing about its label; the test split keeps the
  original design (independent patients and controls), so its AUC stays comparable.
- Real-derived scans from ../shared/data/real/ (experiments.real_scans' builder: a patient, its
  lesion-removed twin, lesion-inserted twins): both classes, train split only.
- Real validation scans (../shared/data/real-validation-only/ and their lesion-removed twins):
  validation split only, never trained on.

Every scan goes through `qumri preprocess` (the page's preprocessing), resumable. Writes
`<out>/cohort.csv` (path,label,subject_id,sequence,lesion_mask,source,raw_path,paired_prepared),
`<out>/splits.json` (copy it into a run's out_dir: training.train and training.pretrain reuse it),
`<out>/cohort.json` (what went in), and `<out>/cohort-pretrain.csv` + `splits-pretrain.json` without the
real validation scans, which have no lesion masks for the lesion-map pre-training.

    /usr/bin/python3 -m experiments.mixed_cohort --spec public/models/ms-flair-resnet34/manifest.json \\
        --synth data/synth/ms-flair-240 data/synth/ms-flair-rand-240 \\
        --real_train data/real-train/ms-flair/manifest.csv --real_val data/real-eval/ms-flair-val.csv \\
        --out data/prepared/ms-mix-64
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess

from training.data import Row, check_splits, make_splits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELDS = ["path", "label", "subject_id", "sequence", "lesion_mask", "source", "raw_path", "paired_prepared"]
TEST_TWIN = "test twin"  # prepared for experiments.paper_a's paired analysis, not a cohort row


def read_csv(path: str) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def absolute(base: str, p: str) -> str:
    return os.path.abspath(os.path.join(base, p)) if p else ""


def synth_rows(raw: str, split_seed: int) -> tuple[list[dict], dict]:
    """A synthetic cohort's rows, its patients' twins as controls outside test, and its split."""
    rows = read_csv(os.path.join(raw, "manifest.csv"))
    name = os.path.basename(os.path.normpath(raw))
    for r in rows:  # cohorts reuse subject ids (ms-0000 …): the cohort's name keeps them apart
        r["subject_id"] = f"{name}/{r['subject_id']}"
    subjects = [Row(i, r["path"], int(r["label"]), r["subject_id"], r["sequence"]) for i, r in enumerate(rows)]
    split = make_splits(subjects, "A", split_seed)
    test = set(split["test"])
    source = f"synthetic ({name})"
    out = []
    for r in rows:
        sid = r["subject_id"]
        look = r.get("mode") or "calibrated"
        out.append(
            {
                "path": absolute(raw, r["path"]),
                "label": r["label"],
                "subject_id": sid,
                "sequence": r["sequence"],
                "lesion_mask": absolute(raw, r["lesion_mask"]),
                "source": f"{source}, {look}",
            }
        )
        if r.get("paired_path") and sid in test:
            out.append(
                {
                    "path": absolute(raw, r["paired_path"]),
                    "label": "0",
                    "subject_id": sid,
                    "sequence": r["sequence"],
                    "lesion_mask": "",
                    "source": TEST_TWIN,
                }
            )
        elif r.get("paired_path"):
            out.append(
                {
                    "path": absolute(raw, r["paired_path"]),
                    "label": "0",
                    "subject_id": f"{sid}-twin",
                    "sequence": r["sequence"],
                    "lesion_mask": "",
                    "source": f"{source}, {look}, lesion-free twin",
                }
            )
            for name in ("train", "val"):
                if sid in split[name]:
                    split[name].append(f"{sid}-twin")
    return out, split


def real_rows(manifest: str, source: str) -> list[dict]:
    """A real patient's scans come in both classes (lesions removed or inserted); one subject id per class
    (a manifest subject has one label), both kept in the same split by the caller."""
    base = os.path.dirname(os.path.abspath(manifest))
    return [
        {
            "path": absolute(base, r["path"]),
            "label": r["label"],
            "subject_id": f"real/{r['subject_id']}/{r['label']}",
            "sequence": r.get("sequence", ""),
            "lesion_mask": absolute(base, r.get("lesion_mask", "")),
            "source": r.get("source") or source,
        }
        for r in read_csv(manifest)
    ]


def prepare(rows: list[dict], spec: str, out: str) -> list[dict]:
    """Runs `qumri preprocess` over the rows (resumable) and points each row at its prepared volume; each
    raw folder gets its own output folder, since cohorts reuse file names (ms-0000.nii.gz)."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        r["raw_path"] = r["path"]
        groups.setdefault(os.path.dirname(os.path.dirname(r["path"])), []).append(r)
    prepared = []
    for k, (raw_dir, group) in enumerate(sorted(groups.items())):
        sub = os.path.join(out, f"{k:02d}-{os.path.basename(raw_dir)}")
        os.makedirs(sub, exist_ok=True)
        raw_list = os.path.join(out, f"{os.path.basename(sub)}.csv")  # the CLI refuses a list inside its out/
        with open(raw_list, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(group)
        cmd = [
            "node",
            os.path.join(ROOT, "bin", "qumri.mjs"),
            "preprocess",
            raw_list,
            "--spec",
            spec,
            "--out",
            sub,
            "--resume",
        ]
        r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        done = read_csv(os.path.join(sub, os.path.basename(raw_list)))
        if r.returncode != 0 or len(done) != len(group):
            raise RuntimeError(
                f"qumri preprocess prepared {len(done)} of {len(group)} scans of {raw_dir}: {r.stderr.strip()[-1500:]}"
            )
        prepared += done
    twins = {p["subject_id"]: p["path"] for p in prepared if p["source"] == TEST_TWIN}
    return [
        {**{k: p.get(k, "") for k in FIELDS}, "paired_prepared": twins.get(p["subject_id"], "")}
        for p in prepared
        if p["source"] != TEST_TWIN
    ]


def common_spec(out: str) -> dict:
    """The one spec every sub-folder was prepared with; training copies `<out>/spec.json` into the bundle,
    so a cohort resumed with another spec must fail here, not ship a manifest that misdescribes its input."""
    specs = {}
    for sub in sorted(os.listdir(out)):
        path = os.path.join(out, sub, "spec.json")
        if os.path.isfile(path):
            with open(path) as f:
                specs[sub] = json.load(f)
    if not specs:
        raise RuntimeError(f"no prepared folder with a spec.json in {out}")
    first = next(iter(specs.values()))
    differ = [sub for sub, spec in specs.items() if spec != first]
    if differ:
        raise RuntimeError(f"{out}: {', '.join(differ)} were prepared with another spec than {next(iter(specs))}")
    return first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", required=True, help="bundle manifest whose preprocessing to use")
    ap.add_argument("--synth", nargs="*", default=[], help="raw synthetic cohort folders (synth --paired)")
    ap.add_argument("--real_train", nargs="*", default=[], help="manifests of real-derived training scans (real/ only)")
    ap.add_argument("--real_val", nargs="*", default=[], help="manifests of real validation scans")
    ap.add_argument("--split_seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)

    rows: list[dict] = []
    splits = {"format": "qumri-splits/1", "scheme": "A+real", "seed": a.split_seed, "train": [], "val": [], "test": []}
    for raw in a.synth:
        r, s = synth_rows(raw, a.split_seed)
        rows += r
        for k in ("train", "val", "test"):
            splits[k] += s[k]
    for manifest, split in [(m, "train") for m in a.real_train] + [(m, "val") for m in a.real_val]:
        r = real_rows(manifest, f"real ({split} only)")
        rows += r
        splits[split] += sorted({x["subject_id"] for x in r})
    subjects = [x["subject_id"] for x in rows]
    for k in ("train", "val", "test"):
        splits[k] = sorted(set(splits[k]))

    rows = prepare(rows, a.spec, a.out)
    with open(os.path.join(a.out, "spec.json"), "w") as f:
        json.dump(common_spec(a.out), f, indent=1)
    real_val = {s for m in a.real_val for s in {x["subject_id"] for x in real_rows(m, "")}}
    pretrain_splits = {**splits, "val": [s for s in splits["val"] if s not in real_val]}
    for name, keep, split in (
        ("cohort", rows, splits),
        ("cohort-pretrain", [x for x in rows if x["subject_id"] not in real_val], pretrain_splits),
    ):
        check_splits(
            split, [Row(i, x["path"], int(x["label"]), x["subject_id"], x["sequence"]) for i, x in enumerate(keep, 1)]
        )
        with open(os.path.join(a.out, f"{name}.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(keep)
        with open(os.path.join(a.out, name.replace("cohort", "splits") + ".json"), "w") as f:
            json.dump(split, f, indent=1)
    sources: dict[str, dict[str, int]] = {}
    for x in rows:
        for k in ("train", "val", "test"):
            if x["subject_id"] in splits[k]:
                sources.setdefault(x["source"], {}).setdefault(f"{k} label {x['label']}", 0)
                sources[x["source"]][f"{k} label {x['label']}"] += 1
    with open(os.path.join(a.out, "cohort.json"), "w") as f:
        json.dump(
            {
                "generator": "experiments.mixed_cohort",
                "synth": a.synth,
                "real_train": a.real_train,
                "real_val": a.real_val,
                "split_seed": a.split_seed,
                "sources": sources,
            },
            f,
            indent=1,
        )
    counts = {k: len(v) for k, v in splits.items() if isinstance(v, list)}
    print(f"{len(rows)} scans of {len(set(subjects))} subjects -> {a.out}/cohort.csv; splits {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
