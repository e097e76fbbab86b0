"""One self-describing checkpoint dict and the one path that loads it (resume, evaluate, export), and the
pre-trained backbone a classifier can start from.

Keys: model (state dict), model_args (ModelConfig as a dict), config (TrainConfig as a dict),
optimizer, epoch (last completed), best_val_loss, best_model (state dict at the best val loss),
bad_epochs, history, loader_rng and torch_rng (RNG states, so a resumed run continues exactly), done,
input_shape, training_data.
training.pretrain writes its own resume checkpoint (net, optimizer, config, ...) and backbone.pt
({"backbone": state dict, "backbone_args": {"backbone", "width"}, ...}) through the same two functions.
Writes are atomic (temp file + rename) because a run here can be killed at any moment.
"""
from __future__ import annotations

import os
from typing import Any

import torch

from .models import Classifier, backbone_args, build_model


def save_checkpoint(ckpt: dict[str, Any], path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save(ckpt, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str, keys: tuple[str, ...] = ("model", "model_args")) -> dict[str, Any]:
    """The checkpoint at `path`; refuses a file without `keys` (a classifier's by default)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    ckpt = torch.load(path, map_location="cpu")
    for key in keys:
        if key not in ckpt:
            raise ValueError(f"{path} is not a QuMRI checkpoint (no {key!r})")
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any], best: bool = True) -> Classifier:
    """The model in eval mode, with the best-validation weights when the checkpoint has them."""
    model = build_model(ckpt["model_args"])
    state = ckpt.get("best_model") if best and ckpt.get("best_model") is not None else ckpt["model"]
    model.load_state_dict(state)
    return model.eval()


def load_backbone_init(model: Classifier, path: str, backbone: str, width: int) -> dict:
    """Copy a pre-trained backbone.pt into model.backbone; refuses one made for another topology."""
    if not os.path.isfile(path):
        raise SystemExit(f"--init_backbone: file not found: {path}")
    saved = torch.load(path, map_location="cpu")
    want = backbone_args(backbone, width)
    if "backbone" not in saved or saved.get("backbone_args") != want:
        raise SystemExit(f"--init_backbone: {path} holds {saved.get('backbone_args')}, the model is {want}")
    model.backbone.load_state_dict(saved["backbone"])
    return saved
