"""Export a trained model as a `qumri-bundle/1` folder (docs/model-bundle.md).

    /usr/bin/python3 -m training.export --ckpt=out/run/ckpt.pt --out=public/models/<id> --id=<id> \
        [--name=...] [--task=tsc] [--sequence=FLAIR] [--metrics=out/run/eval/metrics.json]

Writes backbone.onnx (opset 17, BatchNorm folded, outputs `features` + `feature_map`), head.json,
reference.json (deterministic inputs as NIfTI with their torch probabilities, for parity tests)
and manifest.json with the sha256 of every file; adds the id to <out>/../index.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from .heads import head_to_json
from .models import Classifier

OPSET = 17
CLASSES = {"tsc": ["healthy", "TSC"], "ms": ["healthy", "MS"]}
DEFAULT_PREPROCESS = {"orientation": "RAS", "resample": "resize", "spacing_mm": None,
                      "brain_extraction": "auto",
                      "normalize": {"method": "percentile", "low": 0.5, "high": 99.5}}


class _BackboneOutputs(nn.Module):
    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor):
        return self.backbone(x)


def export_backbone(model: Classifier, input_shape: list[int], path: str) -> None:
    """backbone.onnx with a dynamic batch axis; fails if a Conv's BatchNorm survived folding."""
    import onnx
    wrapper = _BackboneOutputs(model.backbone).eval()
    dummy = torch.zeros(*input_shape)
    spatial = {i: f"s{i}" for i in range(2, len(input_shape))}
    torch.onnx.export(wrapper, dummy, path, opset_version=OPSET, input_names=["input"],
                      output_names=["features", "feature_map"], do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL,
                      dynamic_axes={"input": {0: "N"}, "features": {0: "N"},
                                    "feature_map": {0: "N", **{k: f"f{k}" for k in spatial}}})
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    # a BatchNorm right after a Conv must have been folded into it; DenseNet's pre-activation BatchNorms
    # (after a concatenation) have no Conv to fold into and stay
    producer = {o: n.op_type for n in graph.graph.node for o in n.output}
    left = [n.name for n in graph.graph.node
            if n.op_type == "BatchNormalization" and producer.get(n.input[0]) == "Conv"]
    if left:
        raise RuntimeError(f"BatchNorm not folded in {path}: {left[:3]}")


def reference_inputs(shape: list[int], n: int, seed: int) -> list[np.ndarray]:
    """Deterministic smooth volumes in [0, 1] on the model grid, quantised to 1/256 so float32 holds
    them exactly and they compress well; shape is the tensor's spatial shape [nz, ny, nx] (or [ny, nx])."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    out = []
    for _ in range(n):
        v = np.zeros(shape)
        for _ in range(4):
            c, r, a = rng.uniform(-0.6, 0.6, len(shape)), rng.uniform(0.2, 0.6), rng.uniform(0.3, 1)
            v += a * np.exp(-sum((g - ci) ** 2 for g, ci in zip(grids, c)) / (2 * r * r))
        v = np.clip(v / v.max(), 0, 1)
        out.append((np.round(v * 256) / 256).astype(np.float32))
    return out


def save_model_grid_nifti(vol: np.ndarray, path: str) -> None:
    """Write a tensor-layout volume [nz, ny, nx] as NIfTI (x fastest, RAS, 1 mm): the inverse of
    get_fdata().transpose(2, 1, 0)."""
    import nibabel as nib
    data = vol.transpose(2, 1, 0) if vol.ndim == 3 else vol.T[:, :, None]
    img = nib.Nifti1Image(np.ascontiguousarray(data, dtype=np.float32), np.eye(4))
    img.header.set_xyzt_units("mm")
    nib.save(img, path)


def probabilities(model: Classifier, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(features, logits, P(positive)) of a batch in eval mode."""
    with torch.no_grad():
        feats, _ = model.backbone(x)
        logits = model.head(feats)
        return feats, logits, torch.softmax(logits.double(), -1)[:, 1]


def write_reference(model: Classifier, input_shape: list[int], out_dir: str, n: int = 3, seed: int = 0) -> dict:
    entries = []
    for i, vol in enumerate(reference_inputs(input_shape[2:], n, seed)):
        name = f"reference-{i}.nii.gz"
        save_model_grid_nifti(vol, os.path.join(out_dir, name))
        feats, logits, prob = probabilities(model, torch.from_numpy(vol)[None, None])
        entries.append({"file": name, "probability": float(prob[0]), "logits": logits[0].double().tolist(),
                        "features": feats[0].double().tolist()})
    doc = {"format": "qumri-reference/1",
           "description": "Deterministic inputs on the model grid (NIfTI, already preprocessed) and the torch "
                          "outputs for them: features (backbone), logits (head) and P(positive class).",
           "inputs": entries}
    _write_json(os.path.join(out_dir, "reference.json"), doc)
    return doc


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_json(path: str, doc: Any) -> None:
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")


def _nan_to_none(v: Any) -> Any:
    """JSON has no NaN: an undefined metric (e.g. precision with no positive call) becomes null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _nan_to_none(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_nan_to_none(x) for x in v]
    return v


def update_index(models_dir: str, bundle_id: str) -> None:
    """Add the id to models_dir/index.json, keeping every id already listed."""
    path = os.path.join(models_dir, "index.json")
    doc = {"models": []}
    if os.path.exists(path):
        with open(path) as f:
            doc = json.load(f)
    if bundle_id not in doc.setdefault("models", []):
        doc["models"].append(bundle_id)
    _write_json(path, doc)


def export_bundle(model: Classifier, out_dir: str, bundle_id: str, *, input_shape: list[int],
                  name: str = "", task: str = "tsc", sequence: str = "FLAIR", paper: str = "A",
                  threshold: float = 0.5, metrics: dict | None = None, training_data: dict | None = None,
                  limitations: list[str] | None = None, n_reference: int = 3, index: bool = True,
                  preprocess: dict | None = None) -> dict:
    """Write every bundle file into out_dir and return the manifest; `preprocess` is the spec the
    training volumes were prepared with (default: docs/preprocess-spec.md's on the input grid)."""
    if task not in CLASSES:
        raise ValueError(f"task must be one of {sorted(CLASSES)}, got {task!r}")
    if not 0 < threshold < 1 or math.isnan(threshold):
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    model = model.eval()
    os.makedirs(out_dir, exist_ok=True)
    export_backbone(model, input_shape, os.path.join(out_dir, "backbone.onnx"))
    _write_json(os.path.join(out_dir, "head.json"), head_to_json(model.head))
    files = ["backbone.onnx", "head.json"]
    if n_reference:
        ref = write_reference(model, input_shape, out_dir, n_reference)
        files += ["reference.json"] + [e["file"] for e in ref["inputs"]]
    cfg = model.cfg
    grid = list(reversed(input_shape[2:])) + ([1] if len(input_shape) == 4 else [])
    preprocess = dict(preprocess or {"grid": grid, **DEFAULT_PREPROCESS})
    if list(preprocess.get("grid", [])) != grid:
        raise ValueError(f"preprocess grid {preprocess.get('grid')} does not match the model input grid {grid}")
    is_q = cfg.head == "quantum"
    manifest = {
        "format": "qumri-bundle/1", "id": bundle_id,
        "name": name or f"{'Q' if is_q else ''}{cfg.backbone} ({task}, {sequence})",
        "task": task, "classes": CLASSES[task], "sequence": sequence, "dims": model.dims,
        "architecture": {"backbone": cfg.backbone, "width": cfg.width, "head": cfg.head, "paper": paper,
                         "config": {**vars(cfg), "pretrained": os.path.basename(cfg.pretrained)}},
        "input": {"name": "input", "shape": [1, *input_shape[1:]]},
        "outputs": {"features": "features", "feature_map": "feature_map"},
        "preprocess": preprocess,
        "threshold": threshold,
        "files": {f: {"sha256": sha256(os.path.join(out_dir, f)), "bytes": os.path.getsize(os.path.join(out_dir, f))}
                  for f in files},
        "metrics": _nan_to_none(metrics or {}),
        "training_data": training_data or {"synthetic": True, "description": "untrained test fixture"},
        "intended_use": "Teaching and research demonstration. Not a medical device.",
        "limitations": limitations or ["Trained on synthetic phantoms only"],
    }
    if n_reference:
        manifest["reference"] = {"file": "reference.json"}
    _write_json(os.path.join(out_dir, "manifest.json"), manifest)
    if index:
        update_index(os.path.dirname(os.path.abspath(out_dir)), bundle_id)
    return manifest


def main(argv: list[str] | None = None) -> None:
    from .checkpoint import load_checkpoint, model_from_checkpoint
    p = argparse.ArgumentParser(description="Export a checkpoint as a qumri-bundle/1 folder.")
    p.add_argument("--ckpt", required=True)
    p.add_argument("--out", required=True, help="bundle folder, e.g. public/models/<id>")
    p.add_argument("--id", required=True)
    p.add_argument("--name", default="")
    p.add_argument("--task", default="")
    p.add_argument("--sequence", default="")
    p.add_argument("--metrics", default="", help="metrics.json written by training.evaluate")
    p.add_argument("--no-index", action="store_true")
    a = p.parse_args(argv)
    ckpt = load_checkpoint(a.ckpt)
    model = model_from_checkpoint(ckpt)
    cfg = ckpt.get("config", {})
    sequence = a.sequence or cfg.get("sequence") or "+".join(ckpt.get("training_data", {}).get("sequences", [])) \
        or "unknown"
    metrics, threshold = {}, ckpt.get("threshold", 0.5)
    if a.metrics:
        with open(a.metrics) as f:
            ev = json.load(f)
        metrics, threshold = ev["manifest_metrics"], ev["threshold"]
    export_bundle(model, a.out, a.id, input_shape=ckpt["input_shape"], name=a.name,
                  task=a.task or cfg.get("task", "tsc"), sequence=sequence,
                  paper="A" if model.dims == 3 else "B", threshold=threshold, metrics=metrics,
                  training_data=ckpt.get("training_data"), index=not a.no_index, preprocess=ckpt.get("preprocess"))
    print(f"exported {a.id} -> {a.out}")


if __name__ == "__main__":
    main()
