"""Export a trained model as a `qumri-bundle/1` folder (docs/model-bundle.md).

    /usr/bin/python3 -m training.export --ckpt=out/run/ckpt.pt --out=public/models/<id> --id=<id> \
        [--name=...] [--task=tsc] [--sequence=FLAIR] [--metrics=out/run/eval/metrics.json]

Writes backbone.onnx (opset 17, BatchNorm folded, outputs `features` + `feature_map`; a 3D ResNet's also
Grad-CAM at an inner stage, training/explain.py), head.json, reference.json (deterministic inputs as
NIfTI with their torch probabilities and Grad-CAM channel weights, for parity tests)
and manifest.json with the sha256 of every file; adds the id to <out>/../index.json if the bundle passes the
shipping rule (training/shipping.py: test AUC interval above 0.70).

`weights="float16"` (paper B's large 2D backbones, to fit the bundle budget) stores the backbone's
weight tensors as float16 with float32 inputs, outputs, biases and arithmetic: BatchNorm is folded in
torch, every weight tensor rounded to float16, and the ONNX keeps them as float16 initialisers each
followed by a Cast to float32. The rounded torch model is the bundle's model (reference.json's probabilities, so the parity
tests hold as for float32); the export refuses it unless its probabilities on the reference inputs stay
within 1e-3 of the float32 model's (stored beside them as `probability_float32`).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import sys
from typing import Any

import numpy as np
import torch
from torch import nn

from .explain import CAM_OUTPUTS, CAM_STAGE, CamBackbone, cam_weights_autograd
from .heads import head_to_json
from .models import Classifier, ResNet3d
from .shipping import RULE, ships

OPSET = 17
CLASSES = {"tsc": ["healthy", "TSC"], "ms": ["healthy", "MS"]}
WEIGHTS = ("float32", "float16")
FLOAT16_MAX_DIFF = 1e-3
DEFAULT_PREPROCESS = {
    "orientation": "RAS",
    "resample": "resize",
    "spacing_mm": None,
    "brain_extraction": "auto",
    "normalize": {"method": "percentile", "low": 0.5, "high": 99.5},
}


class _BackboneOutputs(nn.Module):
    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor):
        return self.backbone(x)


def export_backbone(model: Classifier, input_shape: list[int], path: str) -> dict[str, Any]:
    """backbone.onnx with a dynamic batch axis; returns the manifest's `outputs`. A 3D ResNet's graph also
    computes Grad-CAM at stage CAM_STAGE (training/explain.py) from a `cam_gradient` input [N, F], which a
    run that only classifies feeds as zeros (ORT still runs the Grad-CAM nodes: see training/explain.py).
    Fails if a Conv's BatchNorm survived folding."""
    import onnx

    dummy = torch.zeros(*input_shape)
    spatial = {i: f"s{i}" for i in range(2, len(input_shape))}
    axes = {"input": {0: "N"}, "features": {0: "N"}, "feature_map": {0: "N", **{k: f"f{k}" for k in spatial}}}
    outputs: dict[str, Any] = {"features": "features", "feature_map": "feature_map"}
    if isinstance(model.backbone, ResNet3d):
        wrapper = CamBackbone(model.backbone, input_shape).eval()
        args = (dummy, torch.zeros(1, model.backbone.n_features))
        cam = CAM_OUTPUTS
        axes.update({cam["gradient"]: {0: "N"}, cam["feature_map"]: {0: "N"}, cam["weights"]: {0: "N"}})
        names = (["input", cam["gradient"]], ["features", "feature_map", cam["feature_map"], cam["weights"]])
        outputs["cam"] = {**cam, "n_features": model.backbone.n_features, "stage": CAM_STAGE}
    else:
        wrapper, args, names = _BackboneOutputs(model.backbone).eval(), dummy, (["input"], ["features", "feature_map"])
    # torch would fold the Grad-CAM path's transposed weights into second copies; onnxruntime folds them at load
    torch.onnx.export(
        wrapper,
        args,
        path,
        opset_version=OPSET,
        input_names=names[0],
        output_names=names[1],
        do_constant_folding="cam" not in outputs,
        training=torch.onnx.TrainingMode.EVAL,
        dynamic_axes=axes,
    )
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    # a BatchNorm right after a Conv must have been folded into it; DenseNet's pre-activation BatchNorms
    # (after a concatenation) have no Conv to fold into and stay
    producer = {o: n.op_type for n in graph.graph.node for o in n.output}
    left = [
        n.name for n in graph.graph.node if n.op_type == "BatchNormalization" and producer.get(n.input[0]) == "Conv"
    ]
    if left:
        raise RuntimeError(f"BatchNorm not folded in {path}: {left[:3]}")
    return outputs


def half_precision(model: Classifier) -> Classifier:
    """A copy whose backbone has each Conv's BatchNorm folded in (torch.fx) and every weight tensor (2 or
    more dimensions: convolutions, linear layers) rounded to float16: exactly what backbone.onnx computes
    with float16-stored weights. Biases and BatchNorm vectors (a fraction of a percent of the bytes) stay
    float32: a folded bias is the difference of large terms and loses most in float16."""
    from torch.fx.experimental.optimization import fuse

    half = copy.deepcopy(model).eval()
    half.backbone = fuse(half.backbone)
    with torch.no_grad():
        for t in half.backbone.parameters():
            if t.dim() >= 2:
                t.copy_(t.half().float())
    return half


def store_float16(path: str) -> int:
    """Rewrite backbone.onnx's float32 initialisers that float16 holds exactly as float16 + Cast to float32
    (half the file; onnxruntime folds the casts when it loads the model). Returns how many were converted."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = onnx.load(path)
    inits, casts = [], []
    for init in graph.graph.initializer:
        a = numpy_helper.to_array(init) if init.data_type == TensorProto.FLOAT else None
        if a is None or a.ndim < 2 or not np.array_equal(a.astype(np.float16).astype(np.float32), a):
            inits.append(init)
            continue
        inits.append(numpy_helper.from_array(a.astype(np.float16), f"{init.name}_f16"))
        casts.append(
            helper.make_node("Cast", [f"{init.name}_f16"], [init.name], name=f"{init.name}_cast", to=TensorProto.FLOAT)
        )
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(inits)
    nodes = casts + list(graph.graph.node)
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    onnx.checker.check_model(graph)
    onnx.save(graph, path)
    return len(casts)


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


def write_reference(
    model: Classifier,
    input_shape: list[int],
    out_dir: str,
    n: int = 3,
    seed: int = 0,
    float32_model: Classifier | None = None,
) -> dict:
    """reference.json for `model`; with float32_model (a float16-weight export) also its probabilities."""
    entries = []
    for i, vol in enumerate(reference_inputs(input_shape[2:], n, seed)):
        name = f"reference-{i}.nii.gz"
        save_model_grid_nifti(vol, os.path.join(out_dir, name))
        x = torch.from_numpy(vol)[None, None]
        feats, logits, prob = probabilities(model, x)
        entries.append(
            {
                "file": name,
                "probability": float(prob[0]),
                "logits": logits[0].double().tolist(),
                "features": feats[0].double().tolist(),
            }
        )
        if isinstance(model.backbone, ResNet3d):
            a, w = cam_weights_autograd(model, x)
            entries[-1].update(cam_feature_map_dims=list(a.shape[1:]), cam_weights=w[0].double().tolist())
        if float32_model is not None:
            p32 = float(probabilities(float32_model, x)[2][0])
            if abs(p32 - entries[-1]["probability"]) > FLOAT16_MAX_DIFF:
                raise ValueError(
                    f"float16 weights move P(positive) of {name} by {abs(p32 - entries[-1]['probability']):.2e} "
                    f"(> {FLOAT16_MAX_DIFF}): export float32"
                )
            entries[-1]["probability_float32"] = p32
    doc = {
        "format": "qumri-reference/1",
        "description": "Deterministic inputs on the model grid (NIfTI, already preprocessed) and the torch "
        "outputs for them: features (backbone), logits (head) and P(positive class); for a 3D "
        "ResNet also, by autograd, the Grad-CAM stage's dims and Σ over its cells of "
        "∂(logit₁ − logit₀)/∂map per channel (cam_weights).",
        "inputs": entries,
    }
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


def update_index(models_dir: str, bundle_id: str) -> bool:
    """Add the id to models_dir/index.json, keeping every id already listed, if its manifest passes the
    shipping rule (training/shipping.py); otherwise leave the index alone and return False."""
    with open(os.path.join(models_dir, bundle_id, "manifest.json")) as f:
        if not ships(json.load(f)["metrics"]):
            print(f"{bundle_id}: not listed in index.json, it fails the shipping rule ({RULE})", file=sys.stderr)
            return False
    path = os.path.join(models_dir, "index.json")
    doc = {"models": []}
    if os.path.exists(path):
        with open(path) as f:
            doc = json.load(f)
    if bundle_id not in doc.setdefault("models", []):
        doc["models"].append(bundle_id)
    _write_json(path, doc)
    return True


def export_bundle(
    model: Classifier,
    out_dir: str,
    bundle_id: str,
    *,
    input_shape: list[int],
    name: str = "",
    task: str = "tsc",
    sequence: str = "FLAIR",
    paper: str = "A",
    threshold: float = 0.5,
    metrics: dict | None = None,
    training_data: dict | None = None,
    limitations: list[str] | None = None,
    n_reference: int = 3,
    index: bool = True,
    preprocess: dict | None = None,
    weights: str = "float32",
    calibration: dict | None = None,
    ood: dict | None = None,
) -> dict:
    """Write every bundle file into out_dir and return the manifest; `preprocess` is the spec the
    training volumes were prepared with (default: docs/preprocess-spec.md's on the input grid);
    `weights` the backbone's storage precision (see the module docstring); `calibration` and `ood` the
    entries training.guards fits (optional)."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    if weights == "float16" and not n_reference:
        raise ValueError("float16 weights need reference inputs to check them against float32")
    if task not in CLASSES:
        raise ValueError(f"task must be one of {sorted(CLASSES)}, got {task!r}")
    if not 0 < threshold < 1 or math.isnan(threshold):
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    float32_model = model.eval()
    model = half_precision(float32_model) if weights == "float16" else float32_model
    os.makedirs(out_dir, exist_ok=True)
    files = ["backbone.onnx", "head.json"]
    if n_reference:  # first, so a float16 export that moves the probabilities fails before writing the rest
        ref = write_reference(
            model, input_shape, out_dir, n_reference, float32_model=float32_model if weights == "float16" else None
        )
        files += ["reference.json"] + [e["file"] for e in ref["inputs"]]
    outputs = export_backbone(model, input_shape, os.path.join(out_dir, "backbone.onnx"))
    if weights == "float16":
        store_float16(os.path.join(out_dir, "backbone.onnx"))
    _write_json(os.path.join(out_dir, "head.json"), head_to_json(model.head))
    cfg = model.cfg
    grid = list(reversed(input_shape[2:])) + ([1] if len(input_shape) == 4 else [])
    preprocess = dict(preprocess or {"grid": grid, **DEFAULT_PREPROCESS})
    if list(preprocess.get("grid", [])) != grid:
        raise ValueError(f"preprocess grid {preprocess.get('grid')} does not match the model input grid {grid}")
    is_q = cfg.head == "quantum"
    manifest = {
        "format": "qumri-bundle/1",
        "id": bundle_id,
        "name": name or f"{'Q' if is_q else ''}{cfg.backbone} ({task}, {sequence})",
        "task": task,
        "classes": CLASSES[task],
        "sequence": sequence,
        "dims": model.dims,
        "architecture": {
            "backbone": cfg.backbone,
            "width": cfg.width,
            "head": cfg.head,
            "paper": paper,
            "config": {**vars(cfg), "pretrained": os.path.basename(cfg.pretrained)},
        },
        "weights": weights,
        "input": {"name": "input", "shape": [1, *input_shape[1:]]},
        "outputs": outputs,
        "preprocess": preprocess,
        "threshold": threshold,
        "files": {
            f: {"sha256": sha256(os.path.join(out_dir, f)), "bytes": os.path.getsize(os.path.join(out_dir, f))}
            for f in files
        },
        "metrics": _nan_to_none(metrics or {}),
        "training_data": training_data or {"synthetic": True, "description": "untrained test fixture"},
        "intended_use": "Teaching and research demonstration. Not a medical device.",
        "limitations": limitations or ["Trained on synthetic phantoms only"],
    }
    if n_reference:
        manifest["reference"] = {"file": "reference.json"}
    manifest.update({k: v for k, v in (("calibration", calibration), ("ood", ood)) if v is not None})
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
    sequence = (
        a.sequence or cfg.get("sequence") or "+".join(ckpt.get("training_data", {}).get("sequences", [])) or "unknown"
    )
    metrics, threshold = {}, ckpt.get("threshold", 0.5)
    if a.metrics:
        with open(a.metrics) as f:
            ev = json.load(f)
        metrics, threshold = ev["manifest_metrics"], ev["threshold"]
    export_bundle(
        model,
        a.out,
        a.id,
        input_shape=ckpt["input_shape"],
        name=a.name,
        task=a.task or cfg.get("task", "tsc"),
        sequence=sequence,
        paper="A" if model.dims == 3 else "B",
        threshold=threshold,
        metrics=metrics,
        training_data=ckpt.get("training_data"),
        index=not a.no_index,
        preprocess=ckpt.get("preprocess"),
    )
    print(f"exported {a.id} -> {a.out}")


if __name__ == "__main__":
    main()
