"""Transfer learning on a frozen backbone: cache its pooled features once, then train heads on them.

Paper B fine-tunes ImageNet backbones with each head end to end. Without pretrained weights and with
one CPU core, experiments/paper_b.py instead pre-trains each backbone once (training.train, classical
head) and freezes it; every head and Optuna trial then trains on the cached features in seconds.
Because the backbone is frozen, backbone + trained head is exactly the model the bundle ships.

    feats = cache_features(model.backbone, rows, shape)          # [N, F], eval mode, once
    best = head_search(base_args, n_features, data, out_dir, trials=50)
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import os

import torch
import torch.nn.functional as F

from . import data as D
from .models import ModelConfig, build_head


def cache_features(backbone: torch.nn.Module, rows: list[D.Row], shape: list[int], batch: int = 16,
                   mirror: bool = False) -> torch.Tensor:
    """Pooled features [len(rows), F] of the backbone in eval mode, of the inputs or (mirror) of their
    left-right mirror images (the last tensor axis, as training.data.Augment flips)."""
    ds = D.VolumeDataset(rows, shape)
    backbone.eval()
    out = []
    with torch.no_grad():
        for x, _ in torch.utils.data.DataLoader(ds, batch):
            out.append(backbone(x.flip(-1) if mirror else x)[0])
    return torch.cat(out)


def recalibrate_batchnorm(backbone: torch.nn.Module, rows: list[D.Row], shape: list[int], batch: int = 16) -> None:
    """Re-estimate the trainable BatchNorms' running statistics as exact averages over `rows` (the train
    split, no augmentation). After a few epochs from random init the running averages still lag the
    weights so badly that eval-mode features barely vary between inputs; frozen stages stay as they are."""
    frozen = {id(m) for m in getattr(backbone, "frozen", torch.nn.Module()).modules()}
    bns = [m for m in backbone.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and id(m) not in frozen]
    backbone.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over every batch
        m.train()
    with torch.no_grad():
        for x, _ in torch.utils.data.DataLoader(D.VolumeDataset(rows, shape), batch):
            backbone(x)
    for m in bns:
        m.momentum = 0.1
    backbone.eval()


def standardize(head: torch.nn.Sequential, mean: torch.Tensor, std: torch.Tensor) -> None:
    """Fold the feature standardisation the head was trained on, (x - mean) / std, into its first Dense
    layer (dropout, the only thing before the Linear, is off at inference), so the head takes raw features."""
    lin = head[0].linear
    with torch.no_grad():
        w = lin.weight / std
        lin.bias -= (w * mean).sum(1)
        lin.weight.copy_(w)


def train_head(head: torch.nn.Module, xtr: torch.Tensor, ytr: torch.Tensor, xva: torch.Tensor, yva: torch.Tensor,
               lr: float, l2: float, epochs: int, patience: int, batch: int, seed: int) -> dict:
    """Adam on cross-entropy + l2·||W||², early stopping on validation loss; returns the best state."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    best = {"val_loss": math.inf, "state": None, "epoch": -1}
    history, bad = [], 0
    for epoch in range(epochs):
        head.train()
        order = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            ce = F.cross_entropy(head(xtr[idx]).float(), ytr[idx])
            loss = ce + l2 * sum((p.double() ** 2).sum() for p in head.parameters()).float()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += ce.item() * len(idx)
        head.eval()
        with torch.no_grad():
            val_loss = F.cross_entropy(head(xva).float(), yva).item()
        history.append({"epoch": epoch, "train_loss": total / len(xtr), "val_loss": val_loss})
        if val_loss < best["val_loss"]:
            best, bad = {"val_loss": val_loss, "state": copy.deepcopy(head.state_dict()), "epoch": epoch}, 0
        else:
            bad += 1
            if bad >= patience:
                break
    return {**best, "history": history, "epochs_run": len(history)}


def head_args(base: dict, params: dict) -> dict:
    """ModelConfig fields of one trial: the base (backbone, head) with the trial's head parameters."""
    keys = {f.name for f in dataclasses.fields(ModelConfig)}
    return {**base, **{k: v for k, v in params.items() if k in keys}}


def head_search(base: dict, n_features: int, data: dict[str, tuple[torch.Tensor, torch.Tensor]], out_dir: str,
                trials: int, epochs: int = 200, patience: int = 20, seed: int = 1) -> dict:
    """Optuna over paper B's head space (lr, L2, dropout, dense stack; for hybrids also qubits and circuit
    layers) on the validation loss; resumable (study in <out_dir>/optuna.db, each trial's head in
    <out_dir>/trial-<n>.pt). Returns {trial, value, params, model_args, head_state, epochs_run, history}."""
    import optuna
    os.makedirs(out_dir, exist_ok=True)
    study = optuna.create_study(study_name="qumri-head", direction="minimize", load_if_exists=True,
                                storage=f"sqlite:///{os.path.abspath(out_dir)}/optuna.db",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    (xtr, ytr), (xva, yva) = data["train"], data["val"]

    def objective(trial: "optuna.Trial") -> float:
        params = {"lr": trial.suggest_float("lr", 1e-4, 3e-2, log=True),
                  "l2": trial.suggest_float("l2", 1e-6, 1e-2, log=True),
                  "dropout": trial.suggest_float("dropout", 0.0, 0.5),
                  # a hybrid's dense stack is never empty (paper B: dense layers before the circuit)
                  "hidden": trial.suggest_categorical("hidden", (["", "64"] if base["head"] == "classical" else ["64"])
                                                      + ["128", "256", "128,64"]),
                  "batch": trial.suggest_categorical("batch", [32, 64, 128])}
        if base["head"] == "quantum":
            params["n_qubits"] = trial.suggest_int("n_qubits", 2, 6)
            params["reps"] = trial.suggest_int("reps", 1, 4)
        margs = head_args(base, params)
        torch.manual_seed(seed + trial.number)
        head = build_head(ModelConfig(**margs), n_features)
        r = train_head(head, xtr, ytr, xva, yva, params["lr"], params["l2"], epochs, patience, params["batch"],
                       seed + trial.number)
        torch.save({"model_args": margs, "head_state": r["state"], "epochs_run": r["epochs_run"],
                    "best_epoch": r["epoch"], "history": r["history"]}, os.path.join(out_dir, f"trial-{trial.number}.pt"))
        return r["val_loss"]

    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    study.optimize(objective, n_trials=max(trials - done, 0))
    best = torch.load(os.path.join(out_dir, f"trial-{study.best_trial.number}.pt"))
    with open(os.path.join(out_dir, "optuna-best.json"), "w") as f:
        json.dump({"trial": study.best_trial.number, "value": study.best_value, "params": study.best_params}, f, indent=1)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {"trial": study.best_trial.number, "value": study.best_value, "params": study.best_params,
            "n_trials": len(complete), "seconds": sum((t.datetime_complete - t.datetime_start).total_seconds()
                                                      for t in complete), **best}
