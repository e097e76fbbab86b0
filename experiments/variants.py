"""The run records in records/: one folder per variant, and records/shipped.json.

    records/<variant>/<id>.json      one record per run (qumri-run/1: experiments.paper_a, experiments.paper_b)
    records/<variant>/variant.json   {"group", "order", "description"}
    records/shipped.json             {model id: variant} for every bundle in public/models

Variants of one group ran on the same cohorts and splits, so their validation losses compare: a shipped 3D
model is its group's lowest-validation-loss variant (experiments/tests/test_report.py). `order` is a variant's
place in its group's tables, `description` what differs. Adding a variant is adding its folder, nothing else.
"""
from __future__ import annotations

import glob
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDS = os.path.join(ROOT, "records")
SHIPPED = "shipped.json"


def load_records(folder: str) -> list[dict]:
    """The qumri-run/1 records directly in `folder`, by file name (variant.json is the folder's own)."""
    recs = []
    for p in sorted(glob.glob(os.path.join(folder, "*.json"))):
        if os.path.basename(p) == "variant.json":
            continue
        with open(p) as f:
            r = json.load(f)
        if r.get("format") != "qumri-run/1":
            raise ValueError(f"{p}: not a qumri-run/1 record (format {r.get('format')!r})")
        recs.append(r)
    return recs


def variants(folder: str, group: str) -> dict[str, dict]:
    """{variant: its variant.json} for the group's variants, in their order."""
    found = {}
    for p in glob.glob(os.path.join(folder, "*", "variant.json")):
        with open(p) as f:
            meta = json.load(f)
        if meta["group"] == group:
            found[os.path.basename(os.path.dirname(p))] = meta
    return dict(sorted(found.items(), key=lambda kv: kv[1]["order"]))


def group_of(folder: str, variant: str) -> str:
    with open(os.path.join(folder, variant, "variant.json")) as f:
        return json.load(f)["group"]


def load_group(folder: str, group: str) -> dict[str, dict[str, dict]]:
    """Every run of the group: {variant: {run id: record}}, variants in their order."""
    return {v: {r["id"]: r for r in load_records(os.path.join(folder, v))} for v in variants(folder, group)}


def shipped(folder: str) -> dict[str, str]:
    with open(os.path.join(folder, SHIPPED)) as f:
        return json.load(f)


def shipped_record(folder: str, rid: str) -> dict:
    """The run record behind the shipped bundle `rid`."""
    with open(os.path.join(folder, shipped(folder)[rid], f"{rid}.json")) as f:
        return json.load(f)


def lowest_val_loss(folder: str, group: str, rid: str) -> str:
    """The group's variant whose run of `rid` reached the lowest validation loss."""
    runs = {v: by_id[rid] for v, by_id in load_group(folder, group).items() if rid in by_id}
    return min(runs, key=lambda v: runs[v]["best_val_loss"])


def set_shipped(folder: str, changes: dict[str, str | None]) -> None:
    """Point each model id at its variant in shipped.json; None takes the id out."""
    ship = shipped(folder) | changes
    with open(os.path.join(folder, SHIPPED), "w") as f:
        json.dump(dict(sorted((i, v) for i, v in ship.items() if v)), f, indent=1)
        f.write("\n")
