"""Transfer learning on a frozen backbone: cache its pooled features once, then train heads on them.

Paper B fine-tunes ImageNet backbones with each head end to end. Without pretrained weights and with
one CPU core, train_transfer (run by experiments/paper_b.py) instead pre-trains each backbone once
(training.train, classical head) and freezes it; every head and Optuna trial then trains on the cached
features in seconds. Because the backbone is frozen, backbone + trained head is exactly the model the
bundle ships.

    feats = cache_features(model.backbone, rows, shape)          # [N, F], eval mode, once
    best = head_search(base_args, n_features, data, out_dir, trials=50)
    ckpt, best, protocol, seconds = train_transfer(cfg, plane, plane_csv, pooled_csv, pre_dir, plan, spec)
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import time

import torch
import torch.nn.functional as F

from . import data as D
from .checkpoint import load_checkpoint, save_checkpoint
from .config import tensor_shape
from .models import ModelConfig, build_head, build_model
from .train import TrainConfig, train


def cache_features(
    backbone: torch.nn.Module, rows: list[D.Row], shape: list[int], batch: int = 16, mirror: bool = False
) -> torch.Tensor:
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
    bns = [
        m for m in backbone.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and id(m) not in frozen
    ]
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


def train_head(
    head: torch.nn.Module,
    xtr: torch.Tensor,
    ytr: torch.Tensor,
    xva: torch.Tensor,
    yva: torch.Tensor,
    lr: float,
    l2: float,
    epochs: int,
    patience: int,
    batch: int,
    seed: int,
) -> dict:
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
            idx = order[i : i + batch]
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


def head_search(
    base: dict,
    n_features: int,
    data: dict[str, tuple[torch.Tensor, torch.Tensor]],
    out_dir: str,
    trials: int,
    epochs: int = 200,
    patience: int = 20,
    seed: int = 1,
) -> dict:
    """Optuna over paper B's head space (lr, L2, dropout, dense stack; for hybrids also qubits and circuit
    layers) on the validation loss; resumable (study in <out_dir>/optuna.db, each trial's head in
    <out_dir>/trial-<n>.pt). Returns {trial, value, params, model_args, head_state, epochs_run, history}."""
    import optuna

    os.makedirs(out_dir, exist_ok=True)
    study = optuna.create_study(
        study_name="qumri-head",
        direction="minimize",
        load_if_exists=True,
        storage=f"sqlite:///{os.path.abspath(out_dir)}/optuna.db",
        sampler=optuna.samplers.TPESampler(seed=seed),
    )
    (xtr, ytr), (xva, yva) = data["train"], data["val"]

    def objective(trial: "optuna.Trial") -> float:
        params = {
            "lr": trial.suggest_float("lr", 1e-4, 3e-2, log=True),
            "l2": trial.suggest_float("l2", 1e-6, 1e-2, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            # a hybrid's dense stack is never empty (paper B: dense layers before the circuit)
            "hidden": trial.suggest_categorical(
                "hidden", (["", "64"] if base["head"] == "classical" else ["64"]) + ["128", "256", "128,64"]
            ),
            "batch": trial.suggest_categorical("batch", [32, 64, 128]),
        }
        if base["head"] == "quantum":
            params["n_qubits"] = trial.suggest_int("n_qubits", 2, 6)
            params["reps"] = trial.suggest_int("reps", 1, 4)
        margs = head_args(base, params)
        torch.manual_seed(seed + trial.number)
        head = build_head(ModelConfig(**margs), n_features)
        r = train_head(
            head, xtr, ytr, xva, yva, params["lr"], params["l2"], epochs, patience, params["batch"], seed + trial.number
        )
        torch.save(
            {
                "model_args": margs,
                "head_state": r["state"],
                "epochs_run": r["epochs_run"],
                "best_epoch": r["epoch"],
                "history": r["history"],
            },
            os.path.join(out_dir, f"trial-{trial.number}.pt"),
        )
        return r["val_loss"]

    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    study.optimize(objective, n_trials=max(trials - done, 0))
    best = torch.load(os.path.join(out_dir, f"trial-{study.best_trial.number}.pt"))
    with open(os.path.join(out_dir, "optuna-best.json"), "w") as f:
        json.dump(
            {"trial": study.best_trial.number, "value": study.best_value, "params": study.best_params}, f, indent=1
        )
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {
        "trial": study.best_trial.number,
        "value": study.best_value,
        "params": study.best_params,
        "n_trials": len(complete),
        "seconds": sum((t.datetime_complete - t.datetime_start).total_seconds() for t in complete),
        **best,
    }


@dataclasses.dataclass
class TransferPlan:
    """train_transfer's budget: backbone pre-training epochs and lr; head trials, epochs and patience; the
    backbone's initialisation: random, or a 2D lesion-map backbone.pt (training.pretrain) in place of ImageNet."""

    pretrain_epochs: int = 4
    pretrain_lr: float = 1e-3
    trials: int = 3
    head_epochs: int = 200
    head_patience: int = 20
    init_backbone: str = ""


def train_transfer(
    cfg: TrainConfig,
    plane: str,
    plane_manifest: str,
    pooled_manifest: str,
    pre_dir: str,
    plan: TransferPlan,
    preprocess: dict,
) -> tuple[str, dict, dict, float]:
    """Paper B's large families on one plane (cfg: its classical or hybrid run): pre-train the backbone once on
    both planes' slices (pooled_manifest, in pre_dir, shared by every plane and head), cache the features of
    this plane's slices, tune the head with Optuna on them. Returns (checkpoint of backbone + best head in
    training.train's format, the search's best, the protocol as run, training seconds); resumable."""
    # (1) the backbone, once per family, on both planes' train split
    pcfg = dataclasses.replace(
        cfg,
        manifest=pooled_manifest,
        out_dir=pre_dir,
        view="",
        head="classical",
        hidden="",
        dropout=0.0,
        lr=plan.pretrain_lr,
        l2=0.0,
        epochs=plan.pretrain_epochs,
        patience=plan.pretrain_epochs,
        augment=True,
        data_description=cfg.data_description.replace(plane, "axial + sagittal"),
        optuna_trials=0,
        init_backbone=plan.init_backbone,
    )
    if os.path.exists(os.path.join(pre_dir, "ckpt.pt")):  # training.train would resume it whatever its start
        started = load_checkpoint(os.path.join(pre_dir, "ckpt.pt"))["config"].get("init_backbone", "")
        if started != plan.init_backbone:
            raise SystemExit(
                f"{pre_dir} was pre-trained from {started or 'random initialisation'}, not from "
                f"{plan.init_backbone or 'random initialisation'}; use another folder"
            )
    rows = D.read_manifest(plane_manifest, "FLAIR")
    splits = D.load_or_make_splits(os.path.join(pre_dir, "splits.json"), rows, "B", cfg.split_seed)
    if splits != D.make_splits(rows, "B", cfg.split_seed):
        raise SystemExit(f"{pre_dir}/splits.json is not this plane's paper B split")
    if plan.init_backbone:  # the lesion maps must have been learnt on this train split (the test never read)
        lesionmap = torch.load(plan.init_backbone, map_location="cpu")
        if any(sorted(lesionmap["splits"][k]) != sorted(splits[k]) for k in ("train", "val")):
            raise SystemExit(f"{plan.init_backbone} was pre-trained on another split than paper B's")
    train(pcfg)
    pre = load_checkpoint(os.path.join(pre_dir, "ckpt.pt"))
    shape = tensor_shape(cfg.grid)
    # the last epoch: the pre-training budget is fixed, and the pooled validation loss is no guide to the
    # features while the BatchNorm running statistics (used in eval mode) still lag the weights
    backbone = build_model(pre["model_args"])
    backbone.load_state_dict(pre["model"])
    backbone = backbone.backbone
    bb_path = os.path.join(pre_dir, "backbone.pt")  # BatchNorm statistics recalibrated
    if not os.path.exists(bb_path):
        t = time.time()
        pooled = D.read_manifest(pcfg.manifest, "FLAIR")
        recalibrate_batchnorm(backbone, D.rows_in(pooled, splits, "train"), shape)
        torch.save({"state": backbone.state_dict(), "seconds": time.time() - t}, bb_path + ".tmp")
        os.replace(bb_path + ".tmp", bb_path)
    bb = torch.load(bb_path)
    backbone.load_state_dict(bb["state"])
    backbone.eval()
    # (2) pooled features of every slice of this plane, cached
    feat_path = os.path.join(pre_dir, f"features-{plane}.pt")
    if not os.path.exists(feat_path):
        t = time.time()
        feats = cache_features(backbone, rows, shape)
        # the train slices mirrored too: the heads then learn both orientations, as the end-to-end models do by
        # augmentation (the training PNGs are radiological; the page's slice panel cuts axial slices neurological)
        train_rows = D.rows_in(rows, splits, "train")
        mirrored = cache_features(backbone, train_rows, shape, mirror=True)
        torch.save(
            {
                "paths": [r.path for r in rows],
                "features": feats,
                "mirrored_train": mirrored,
                "seconds": time.time() - t,
            },
            feat_path + ".tmp",
        )
        os.replace(feat_path + ".tmp", feat_path)
    cached = torch.load(feat_path)
    if cached["paths"] != [r.path for r in rows]:
        raise SystemExit(f"{feat_path} was cached for other slices; delete it")
    data = {}
    for name in ("train", "val", "test"):
        keep = set(splits[name])
        idx = [i for i, r in enumerate(rows) if r.subject_id in keep]
        data[name] = (cached["features"][idx], torch.tensor([rows[i].label for i in idx]))
    data["train"] = (torch.cat([data["train"][0], cached["mirrored_train"]]), data["train"][1].repeat(2))
    # heads train on centred features scaled by one train statistic, folded into their first layer afterwards;
    # one scale for all features, because per-feature scaling blows up near-constant features (and with them
    # float rounding: ONNX vs torch, float16)
    mean = data["train"][0].mean(0)
    std = (data["train"][0] - mean).std().expand_as(mean)
    data = {k: ((x - mean) / std, y) for k, (x, y) in data.items()}
    # (3) the head, Optuna on the cached features
    os.makedirs(cfg.out_dir, exist_ok=True)
    base = {**pre["model_args"], "head": cfg.head}
    best = head_search(
        base,
        backbone.n_features,
        data,
        os.path.join(cfg.out_dir, "heads"),
        plan.trials,
        epochs=plan.head_epochs,
        patience=plan.head_patience,
        seed=cfg.seed,
    )
    head_s = best["seconds"]  # over every invocation of a resumed search
    # backbone + best head as one checkpoint (training.train's format), so evaluation and export are the usual ones
    model = build_model(best["model_args"])
    model.backbone.load_state_dict(backbone.state_dict())
    model.head.load_state_dict(best["head_state"])
    model.eval()
    with torch.no_grad():  # the backbone gives the cached features, and the folded head the tuned head's output
        # cache_features' first batch exactly: another batch size changes float rounding by up to ~1e-4 of the
        # features where they barely vary between slices (seen after a 1-epoch lesion-map init)
        n = min(16, len(rows))
        x = torch.stack([D.load_volume(r, tuple(shape)) for r in rows[:n]])
        f = model.backbone(x)[0]
        feat_drift = ((f - cached["features"][:n]).abs().max() / cached["features"][:n].abs().max()).item()
        want = torch.softmax(model.head((f - mean) / std).double(), -1)
        standardize(model.head, mean, std)
        fold_drift = (torch.softmax(model.head(f).double(), -1) - want).abs().max().item()
    # a wrong fold moves probabilities by O(0.1); float32 rounding, amplified by weakly varying features, by < 1e-3
    if feat_drift > 1e-4 or fold_drift > 1e-3:
        raise SystemExit(
            f"backbone vs cached features: {feat_drift:.1e} (relative); folded vs tuned head: {fold_drift:.1e}"
        )
    ckpt_path = os.path.join(cfg.out_dir, "ckpt.pt")
    with open(os.path.join(cfg.out_dir, "splits.json"), "w") as f:
        json.dump(splits, f, indent=1)
    hcfg = {
        **dataclasses.asdict(cfg),
        "lr": best["params"]["lr"],
        "l2": best["params"]["l2"],
        "augment": False,
        "batch_size": best["params"]["batch"],
        "epochs": plan.head_epochs,
        "patience": plan.head_patience,
        "hidden": best["model_args"]["hidden"],
        "dropout": best["model_args"]["dropout"],
        "n_qubits": best["model_args"]["n_qubits"],
        "reps": best["model_args"]["reps"],
    }
    save_checkpoint(
        {
            "model": model.state_dict(),
            "best_model": model.state_dict(),
            "model_args": best["model_args"],
            "config": hcfg,
            "input_shape": [1, 1, *shape],
            "preprocess": preprocess,
            "epoch": best["epochs_run"] - 1,
            "best_val_loss": best["value"],
            "history": best["history"],
            "done": True,
            "training_data": pre["training_data"],
        },
        ckpt_path,
    )
    pre_s = sum(h["seconds"] for h in pre["history"])
    protocol = {
        "kind": "transfer",
        "backbone": {
            "init": (
                f"lesion-map pre-training on the train slices' masks ({plan.init_backbone}, "
                f"{len(lesionmap['history'])} epochs, best val loss {lesionmap['best_val_loss']:.4f})"
                if plan.init_backbone
                else "random (no ImageNet weights offline)"
            ),
            "trained_on": "train split, axial + sagittal pooled",
            "frozen_stages": "paper B's (stem + early stages), kept at their "
            + ("lesion-map weights" if plan.init_backbone else "random initialisation"),
            "head": "linear (classical)",
            "lr": plan.pretrain_lr,
            "augment": True,
            "batch_size": pcfg.batch_size,
            "epochs_run": pre["epoch"] + 1,
            "epoch_used": "last",
            "val_loss_pooled_last": pre["history"][-1]["val_loss"],
            "history": pre["history"],
            "batchnorm": "running statistics recalibrated on the train split after pre-training",
            "wall_time_s": round(pre_s, 1),
            "recalibration_s": round(bb["seconds"], 1),
            "features_s": round(cached["seconds"], 1),
        },
        "head": {
            "trained_on": "cached features of this plane's train slices and their left-right mirror images "
            "(frozen backbone, no other augmentation), centred and scaled by one train "
            "statistic, folded into the first dense layer",
            "trials": best["n_trials"],
            "max_epochs": plan.head_epochs,
            "patience": plan.head_patience,
            "search_space": "lr 1e-4–3e-2 (log), L2 1e-6–1e-2 (log), dropout 0–0.5, dense stack "
            + (
                "'', 64, 128, 256, 128-64"
                if cfg.head == "classical"
                else "64, 128, 256, 128-64; qubits 2–6, circuit layers 1–4"
            )
            + ", batch 32/64/128",
            "wall_time_s": round(head_s, 1),
        },
    }
    return ckpt_path, best, protocol, pre_s + head_s
