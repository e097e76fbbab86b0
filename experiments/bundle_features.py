"""Pooled backbone features of prepared (model-grid) volumes, from a bundle's own backbone.onnx in
onnxruntime-node (the numbers the page and the CLI compute), as JSON subject_id → vector for
experiments.guard_bundles --features.

    /usr/bin/python3 -m experiments.bundle_features public/models/ms-flair-resnet34 runs/feats.json prepared/*.nii.gz

The subject id is the file name without .nii.gz (what synth and qumri preprocess name a subject's scan).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 20  # volumes per node process


def main(argv: list[str] | None = None) -> int:
    bundle, out, *files = argv if argv is not None else sys.argv[1:]
    with open(os.path.join(bundle, "manifest.json")) as f:
        shape = json.load(f)["input"]["shape"]
    feats = {}
    with tempfile.TemporaryDirectory() as tmp:
        raw = []
        for path in files:
            v = np.asarray(nib.load(path).get_fdata(dtype=np.float32)).transpose(2, 1, 0)  # NIfTI x,y,z → tensor z,y,x
            raw.append(os.path.join(tmp, f"{len(raw)}.f32"))
            np.ascontiguousarray(v, dtype=np.float32).tofile(raw[-1])
        for k in range(0, len(raw), CHUNK):
            r = subprocess.run(
                [
                    "node",
                    os.path.join(ROOT, "training", "tests", "ort_backbone.mjs"),
                    os.path.join(bundle, "backbone.onnx"),
                    json.dumps(shape),
                    *raw[k : k + CHUNK],
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            for path, entry in zip(files[k : k + CHUNK], json.loads(r.stdout)):
                feats[os.path.basename(path).replace(".nii.gz", "")] = entry["features"]
    with open(out, "w") as f:
        json.dump(feats, f)
    print(f"{len(feats)} feature vectors -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
