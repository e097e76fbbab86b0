"""The shipping rule (issue 20): a bundle is listed in public/models/index.json, and so offered by the
page and `qumri models`, only if the 95 % interval of its test AUC (manifest metrics, synthetic test
split) lies entirely above AUC_FLOOR.

Bundles taken out for failing it are recorded, with their numbers and the commit whose tree still holds
their manifest, in public/models/withdrawn.json: the page's slice panel shows them in place of a model.

    /usr/bin/python3 -m training.shipping withdraw public/models ID...   # folder and index entry -> withdrawn.json
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

AUC_FLOOR = 0.70
RULE = f"test AUC 95 % interval above {AUC_FLOOR:.2f}"
PLANES = ("axial", "sagittal", "coronal")
WITHDRAWN = "withdrawn.json"


def ships(metrics: dict) -> bool:
    """True when the test AUC's 95 % interval lies entirely above AUC_FLOOR; no interval fails."""
    auc = metrics.get("auc")
    low = auc.get("ci95", [None])[0] if isinstance(auc, dict) else None
    return metrics.get("split") == "test" and isinstance(low, (int, float)) and low > AUC_FLOOR


def plane(manifest: dict) -> str | None:
    """A 2D bundle's slice plane: manifests have no field for it, paper B's names say it ("FLAIR axial slice")."""
    if manifest["dims"] != 2:
        return None
    found = [p for p in PLANES if f" {p} slice" in manifest["name"]]
    if len(found) != 1:
        raise ValueError(f"{manifest['id']}: cannot tell the slice plane from the name {manifest['name']!r}")
    return found[0]


def withdrawn_entry(manifest: dict, commit: str) -> dict:
    """What withdrawn.json keeps of a bundle that fails the rule; `commit` still holds its manifest."""
    if ships(manifest["metrics"]):
        raise ValueError(f"{manifest['id']} passes the shipping rule ({RULE}): nothing to withdraw")
    auc = manifest["metrics"]["auc"]
    return {
        "id": manifest["id"],
        "name": manifest["name"],
        "task": manifest["task"],
        "sequence": manifest["sequence"],
        "dims": manifest["dims"],
        "plane": plane(manifest),
        "family": manifest["name"].split(",")[0],
        "head": manifest["architecture"]["head"],
        "n": manifest["metrics"]["n"],
        "auc": auc["value"],
        "ci95": auc["ci95"],
        "commit": commit,
    }


def read_withdrawn(models_dir: str) -> dict:
    path = os.path.join(models_dir, WITHDRAWN)
    if not os.path.exists(path):
        return {"rule": RULE, "auc_floor": AUC_FLOOR, "withdrawn": []}
    with open(path) as f:
        return json.load(f)


def _git(*args: str, cwd: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def withdraw(models_dir: str, ids: list[str]) -> None:
    """Record each bundle in withdrawn.json, then delete its folder and its index.json entry. Its manifest
    must be committed unchanged at HEAD, which withdrawn.json names so the numbers can be checked."""
    models_dir = os.path.abspath(models_dir)
    head = _git("rev-parse", "HEAD", cwd=models_dir).strip()
    top = _git("rev-parse", "--show-toplevel", cwd=models_dir).strip()
    doc = read_withdrawn(models_dir)
    with open(os.path.join(models_dir, "index.json")) as f:
        index = json.load(f)
    entries = []
    for bundle_id in ids:  # every check before anything is deleted
        path = os.path.join(models_dir, bundle_id, "manifest.json")
        with open(path) as f:
            text = f.read()
        if _git("show", f"HEAD:{os.path.relpath(path, top)}", cwd=top) != text:
            raise SystemExit(f"{path} differs from HEAD's: commit it first, so withdrawn.json can name where it lives")
        entries.append(withdrawn_entry(json.loads(text), head))
    for e in entries:
        doc["withdrawn"] = [w for w in doc["withdrawn"] if w["id"] != e["id"]] + [e]
        index["models"] = [i for i in index["models"] if i != e["id"]]
        shutil.rmtree(os.path.join(models_dir, e["id"]))
        print(f"withdrew {e['id']}: AUC {e['auc']:.2f} ({e['ci95'][0]:.2f}-{e['ci95'][1]:.2f})", file=sys.stderr)
    for name, value in ((WITHDRAWN, doc), ("index.json", index)):
        with open(os.path.join(models_dir, name), "w") as f:
            json.dump(value, f, indent=1)
            f.write("\n")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 3 or argv[0] != "withdraw":
        raise SystemExit(__doc__)
    withdraw(argv[1], argv[2:])


if __name__ == "__main__":
    main()
