"""Train a classical or hybrid classifier on a prepared cohort, with checkpoint/resume and early stopping.

Single process (CPU or one GPU):
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 -m training.train --manifest=cohort/prepared.csv \
        --out_dir=out/tsc-flair-qresnet34 --sequence=FLAIR --backbone=resnet34 --width=16 --head=quantum

DistributedDataParallel (several GPUs, or CPU processes with gloo; `-r 1 -t 2` works around Debian
torch 1.13 on Python 3.11 failing to parse torchrun's default "-r 0"):
    /usr/bin/python3 -m torch.distributed.run --standalone --nproc_per_node=2 -r 1 -t 2 -m training.train --manifest=...

Optuna search (paper B: 50 trials; resumable, the study lives in <out_dir>/optuna.db):
    ... -m training.train --manifest=... --optuna_trials=50

Overrides are `--key=value` for any TrainConfig field, type-checked against its default; unknown keys
are rejected. Re-running the same command resumes from <out_dir>/ckpt.pt after an interruption.
Then: `python -m training.evaluate --ckpt=<out_dir>/ckpt.pt` and `python -m training.export ...`.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from . import data as D
from .checkpoint import load_backbone_init, load_checkpoint, save_checkpoint
from .config import SCHEDULES, log, parse_overrides, scheduled_lr, tensor_shape
from .head_fit import fit_head, pooled_features
from .models import Classifier, ModelConfig, build_model
from .prepare import load_spec_beside


@dataclass
class TrainConfig:
    # I/O
    manifest: str = ""  # CSV: path,label,subject_id,sequence[,age,sex,lesion_mask]
    out_dir: str = "out/run"
    sequence: str = ""  # keep only rows of this sequence ("" = all)
    view: str = ""  # 2D: keep only rows of this view (axial|sagittal; "" = all)
    task: str = "tsc"  # tsc|ms (class names in the bundle)
    grid: str = "128,128,128"  # model grid nx,ny,nz (2D: nx,ny)
    split_scheme: str = "A"  # A: 65/15/20; B: 20 % test then 20 % of the rest
    split_seed: int = 1
    resume: bool = True
    crash_after_epoch: int = -1  # fault injection for the resume test: SIGKILL self after this epoch's checkpoint
    synthetic: bool = True  # described in the bundle: was the cohort synthetic?
    data_description: str = ""  # one line for the bundle's training_data.description
    # model (see models.ModelConfig)
    backbone: str = "resnet34"
    width: int = 16
    head: str = "quantum"
    n_qubits: int = 2
    fm_reps: int = 2
    fm_entanglement: str = "full"
    reps: int = 3
    entanglement: str = "reverse_linear"
    readout: str = "parity"
    fm_input: str = "none"
    hidden: str = ""
    dropout: float = 0.0
    pretrained: str = ""
    freeze: bool = True
    init_backbone: str = ""  # 3D: backbone.pt from training.pretrain (lesion-map pre-training)
    head_init: str = "random"  # random | fit: fitted on the fixed backbone's standardised features (head_fit.py)
    # optimisation
    epochs: int = 50
    batch_size: int = 4
    lr: float = 1e-4
    schedule: str = "constant"  # constant | cosine (lr decays to 0 over `epochs` - `head_warmup`)
    head_warmup: int = 0  # first epochs train the head alone on the fixed backbone (LP-FT), at `lr`
    backbone_lr_scale: float = 1.0  # the backbone's rate as a fraction of the head's (after any warm-up)
    l2: float = 1e-4  # coefficient of the L2 penalty added to the cross-entropy
    patience: int = 10  # early stopping on validation loss
    augment: bool = True
    seed: int = 1
    num_threads: int = 2
    cache_gb: float = 4.0  # keep the training volumes in memory up to this size, else read per step
    device: str = ""  # "" = cuda when available, else cpu
    progress: bool = True  # per-batch bar (terminals only); the per-epoch line with ETA is always printed
    # search
    optuna_trials: int = 0


HEAD_INITS = ("random", "fit")


def model_config(cfg: TrainConfig) -> ModelConfig:
    names = {f.name for f in dataclasses.fields(ModelConfig)}
    return ModelConfig(**{k: v for k, v in dataclasses.asdict(cfg).items() if k in names})


def epoch_lr(cfg: TrainConfig, epoch: int) -> float:
    """Warm-up epochs run at the peak rate; the schedule then spans the epochs after them."""
    if epoch < cfg.head_warmup:
        return cfg.lr
    return scheduled_lr(cfg.lr, cfg.schedule, epoch - cfg.head_warmup, cfg.epochs - cfg.head_warmup)


def param_groups(model: Classifier, backbone_params: list, backbone_lr_scale: float) -> list[dict]:
    """One group at a common rate, or the backbone's at a fraction of the head's: a pre-trained backbone
    moving at the head's rate can rewrite the features a fitted head reads (the hybrids' validation loss
    rose as soon as the backbone joined in at 3e-4)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    if backbone_lr_scale == 1.0 or not backbone_params:
        return [{"params": trainable}]
    ids = {id(p) for p in backbone_params}
    return [
        {"params": backbone_params, "lr_scale": backbone_lr_scale},
        {"params": [p for p in trainable if id(p) not in ids]},
    ]


def l2_penalty(model: torch.nn.Module) -> torch.Tensor:
    return sum((p.double() ** 2).sum() for p in model.parameters() if p.requires_grad).float()


def evaluate_loss(model: torch.nn.Module, loader, device) -> float:
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x.to(device))
            total += F.cross_entropy(logits.float(), y.to(device), reduction="sum").item()
            n += len(y)
    return total / max(n, 1)


def check_config(cfg: TrainConfig) -> None:
    """Refuse a bad configuration before any process group, file or model exists."""
    if cfg.schedule not in SCHEDULES:
        raise SystemExit(f"--schedule must be one of {SCHEDULES}, got {cfg.schedule!r}")
    if not cfg.backbone_lr_scale > 0:
        raise SystemExit(f"--backbone_lr_scale must be positive, got {cfg.backbone_lr_scale}")
    if cfg.head_init not in HEAD_INITS:
        raise SystemExit(f"--head_init must be one of {HEAD_INITS}, got {cfg.head_init!r}")
    if cfg.epochs == 0 and cfg.head_init != "fit":
        raise SystemExit("--epochs=0 trains nothing unless --head_init=fit fits the head")
    if cfg.epochs > 0 and not 0 <= cfg.head_warmup < cfg.epochs:
        raise SystemExit(f"--head_warmup must be at least 0 and below --epochs={cfg.epochs}, got {cfg.head_warmup}")


@dataclass
class Process:
    """This process's place in the run: its rank among `world` DDP processes (0 of 1 without DDP), its device."""

    ddp: bool
    rank: int
    world: int
    device: torch.device

    @property
    def master(self) -> bool:
        return self.rank == 0

    def log(self, *args) -> None:
        """Only the master logs: one line per event, not one per process."""
        if self.master:
            log(*args)


def start_process(cfg: TrainConfig) -> Process:
    """Threads, the DDP process group when torchrun started us, and the device."""
    torch.set_num_threads(cfg.num_threads)
    ddp = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    rank, world = 0, 1
    if ddp:
        dist.init_process_group("nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and ddp:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    return Process(ddp, rank, world, device)


@dataclass
class Data:
    """The splits and the loaders over them."""

    rows: list[D.Row]
    splits: dict
    shape: list[int]
    train_ds: D.VolumeDataset
    sampler: torch.utils.data.DistributedSampler | None
    gen: torch.Generator  # the training loader's shuffle; checkpointed so a resume reshuffles alike
    train_loader: torch.utils.data.DataLoader
    val_loader: torch.utils.data.DataLoader


def build_data(cfg: TrainConfig, proc: Process) -> Data:
    """The manifest's train and val splits as loaders; the test split is only counted."""
    shape = tensor_shape(cfg.grid)
    rows = D.read_manifest(cfg.manifest, cfg.sequence, view=cfg.view)
    if proc.ddp and not proc.master:
        dist.barrier()  # rank 0 writes splits.json first
    splits = D.load_or_make_splits(os.path.join(cfg.out_dir, "splits.json"), rows, cfg.split_scheme, cfg.split_seed)
    if proc.ddp and proc.master:
        dist.barrier()
    train_ds = D.VolumeDataset(
        D.rows_in(rows, splits, "train"), shape, D.Augment() if cfg.augment else None, cfg.seed, cache_gb=cfg.cache_gb
    )
    val_ds = D.VolumeDataset(D.rows_in(rows, splits, "val"), shape, cache_gb=cfg.cache_gb)
    sampler = torch.utils.data.DistributedSampler(train_ds, proc.world, proc.rank, seed=cfg.seed) if proc.ddp else None
    gen = torch.Generator().manual_seed(cfg.seed)
    train_loader = torch.utils.data.DataLoader(
        train_ds,
        cfg.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        generator=gen,
        drop_last=len(train_ds) > cfg.batch_size * proc.world,
    )
    val_loader = torch.utils.data.DataLoader(val_ds, cfg.batch_size)
    proc.log(
        f"data: {len(train_ds)} train / {len(val_ds)} val volumes ({len(splits['test'])} test subjects held out), "
        f"grid {cfg.grid}, world {proc.world}"
    )
    return Data(rows, splits, shape, train_ds, sampler, gen, train_loader, val_loader)


def new_state() -> dict:
    """What a checkpoint carries from one epoch to the next, before the first."""
    return {
        "epoch": -1,
        "best_val_loss": math.inf,
        "best_model": None,
        "bad_epochs": 0,
        "history": [],
        "head_fit": None,
    }


@dataclass
class Run:
    """One training's parts, built once by `build` and handed to the epoch and checkpoint steps."""

    cfg: TrainConfig
    proc: Process
    data: Data
    margs: dict  # ModelConfig as a dict: a resume must find the same model
    model: Classifier
    net: torch.nn.Module  # the model, or its DDP wrapper: the forward pass of a training step
    backbone_params: list
    optimizer: torch.optim.Optimizer
    state: dict  # new_state()'s keys
    ckpt_path: str


def resume(
    path: str,
    margs: dict,
    model: Classifier,
    optimizer: torch.optim.Optimizer,
    gen: torch.Generator,
    device: torch.device,
) -> dict:
    """The state saved in `path`, with the model, optimizer and RNGs put back where that epoch left them."""
    ckpt = load_checkpoint(path)
    if ckpt["model_args"] != margs:
        raise SystemExit(
            f"{path} was trained with a different model {ckpt['model_args']}; "
            f"use another --out_dir or --resume=false"
        )
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    gen.set_state(ckpt["loader_rng"])
    torch.set_rng_state(ckpt["torch_rng"])
    if ckpt.get("cuda_rng") and device.type == "cuda":
        torch.cuda.set_rng_state(ckpt["cuda_rng"], device)
    return {k: ckpt.get(k, v) for k, v in new_state().items()}


def build(cfg: TrainConfig, proc: Process) -> Run:
    """Data, model and optimizer, resumed from <out_dir>/ckpt.pt or with the backbone from --init_backbone."""
    os.makedirs(cfg.out_dir, exist_ok=True)
    ckpt_path = os.path.join(cfg.out_dir, "ckpt.pt")
    torch.manual_seed(cfg.seed)
    data = build_data(cfg, proc)
    margs = dataclasses.asdict(model_config(cfg))
    model: Classifier = build_model(margs).to(proc.device)
    backbone_params = [p for p in model.backbone.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(param_groups(model, backbone_params, cfg.backbone_lr_scale), lr=cfg.lr)
    state = new_state()
    if cfg.resume and os.path.exists(ckpt_path):
        state = resume(ckpt_path, margs, model, optimizer, data.gen, proc.device)
        proc.log(f"resumed from {ckpt_path} after epoch {state['epoch'] + 1}")
    elif cfg.init_backbone:
        load_backbone_init(model, cfg.init_backbone, cfg.backbone, cfg.width)
        proc.log(f"backbone initialised from {cfg.init_backbone}")
    if cfg.head_init == "fit" and state["epoch"] == -1:
        fit_initial_head(cfg, proc, data, model, state)
    if proc.ddp and cfg.head_warmup:
        raise SystemExit("--head_warmup needs a single process: DDP fixes which parameters get gradients")
    net = model
    if proc.ddp:
        device_ids = [proc.device] if proc.device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    return Run(cfg, proc, data, margs, model, net, backbone_params, optimizer, state, ckpt_path)


def fit_initial_head(cfg: TrainConfig, proc: Process, data: Data, model: Classifier, state: dict) -> None:
    """The head fitted on the fixed backbone's features becomes the first candidate: fine-tuning epochs
    are kept only where they lower the validation loss below it."""
    plain = D.VolumeDataset(D.rows_in(data.rows, data.splits, "train"), data.shape, cache_gb=cfg.cache_gb)
    loader = torch.utils.data.DataLoader(plain, cfg.batch_size)
    t0 = time.time()
    fit = fit_head(
        model.head,
        pooled_features(model.backbone, loader, proc.device),
        pooled_features(model.backbone, data.val_loader, proc.device),
        cfg.seed,
    )
    fit["seconds"] = time.time() - t0
    state["head_fit"] = fit
    state["best_val_loss"] = evaluate_loss(model, data.val_loader, proc.device)
    state["best_model"] = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
    proc.log(
        f"head fitted on fixed features: L2 {fit['l2']:g}, restart {fit['restart']}, "
        f"train {fit['train_loss']:.4f}  val {state['best_val_loss']:.4f}  {fit['seconds']:.1f} s"
    )


def train_epoch(run: Run, epoch: int) -> tuple[float, bool, float]:
    """One pass over the train split; returns the epoch's lr, whether the head trained alone, the mean cross-entropy."""
    cfg, model, data = run.cfg, run.model, run.data
    # LP-FT (Kumar et al. 2022): a randomly initialised head's first gradients would otherwise rewrite the
    # pre-trained features before the head can use them
    warmup = epoch < cfg.head_warmup
    run.net.train()
    if warmup:
        model.backbone.eval()  # BatchNorm statistics stay those of the pre-trained backbone
    for p in run.backbone_params:
        p.requires_grad_(not warmup)
    data.train_ds.epoch = epoch
    if data.sampler is not None:
        data.sampler.set_epoch(epoch)
    lr = epoch_lr(cfg, epoch)
    for group in run.optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
    total, n = 0.0, 0
    bar = tqdm(
        data.train_loader,
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        disable=not (run.proc.master and cfg.progress and sys.stderr.isatty()),
        leave=False,
        file=sys.stderr,
        mininterval=2,
    )
    for x, y in bar:
        x, y = x.to(run.proc.device), y.to(run.proc.device)
        ce = F.cross_entropy(run.net(x).float(), y)
        loss = ce + cfg.l2 * l2_penalty(model)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        total, n = total + ce.item() * len(y), n + len(y)
        bar.set_postfix(loss=f"{total / n:.4f}")
    return lr, warmup, total / max(n, 1)


def record_epoch(
    run: Run, epoch: int, lr: float, head_only: bool, train_loss: float, val_loss: float, t0: float
) -> bool:
    """Counts the epoch towards early stopping, keeps the best-validation weights, appends to the history;
    True when validation improved."""
    state = run.state
    improved = val_loss < state["best_val_loss"]
    if improved:
        state["best_val_loss"], state["bad_epochs"] = val_loss, 0
        state["best_model"] = {k: v.detach().clone().cpu() for k, v in run.model.state_dict().items()}
    else:
        state["bad_epochs"] += 1
    state["epoch"] = epoch
    state["history"].append(
        {
            "epoch": epoch,
            "lr": lr,
            "head_only": head_only,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "seconds": time.time() - t0,
        }
    )
    return improved


def write_checkpoint(run: Run, done: bool) -> None:
    """<out_dir>/ckpt.pt (see checkpoint.py), from the master only: all a resume, evaluation or export reads."""
    if not run.proc.master:
        return
    cfg, data, device = run.cfg, run.data, run.proc.device
    save_checkpoint(
        {
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "model_args": run.margs,
            "config": dataclasses.asdict(cfg),
            "input_shape": [1, 1, *data.shape],
            "preprocess": load_spec_beside(cfg.manifest),
            "loader_rng": data.gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "done": done,
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "training_data": {
                "synthetic": cfg.synthetic,
                "description": cfg.data_description or f"cohort manifest {os.path.basename(cfg.manifest)}",
                "n_subjects": sum(len(data.splits[k]) for k in ("train", "val", "test")),
                "sequences": sorted({r.sequence for r in data.rows}),
                "splits": f"scheme {cfg.split_scheme} by subject, seed {cfg.split_seed}",
            },
            **run.state,
        },
        run.ckpt_path,
    )


def train(cfg: TrainConfig) -> dict:
    """Run (or resume) one training; returns {best_val_loss, ckpt}."""
    check_config(cfg)
    run = build(cfg, start_process(cfg))
    proc, state = run.proc, run.state
    epoch_times: list[float] = []
    for epoch in range(state["epoch"] + 1, cfg.epochs):
        if state["bad_epochs"] >= cfg.patience:
            break
        t0 = time.time()
        lr, head_only, train_loss = train_epoch(run, epoch)
        val_loss = evaluate_loss(run.model, run.data.val_loader, proc.device)
        improved = record_epoch(run, epoch, lr, head_only, train_loss, val_loss, t0)
        write_checkpoint(run, done=False)
        epoch_times.append(time.time() - t0)
        eta = sum(epoch_times) / len(epoch_times) * (cfg.epochs - epoch - 1)
        proc.log(
            f"epoch {epoch + 1}/{cfg.epochs}  train {train_loss:.4f}  val {val_loss:.4f}"
            f"{' *' if improved else ''}  {epoch_times[-1]:.1f} s  ETA {eta / 60:.1f} min"
        )
        if epoch == cfg.crash_after_epoch:
            os.kill(os.getpid(), signal.SIGKILL)
    if state["bad_epochs"] >= cfg.patience:
        proc.log(f"early stop: no val improvement in {cfg.patience} epochs")
    write_checkpoint(run, done=True)
    if proc.ddp:
        dist.barrier()
        dist.destroy_process_group()
    proc.log(f"done: best val loss {state['best_val_loss']:.4f} -> {run.ckpt_path}")
    return {"best_val_loss": state["best_val_loss"], "ckpt": run.ckpt_path}


def optuna_search(cfg: TrainConfig) -> dict:
    """Paper B's hyper-parameter search: each trial trains in <out_dir>/trial-<n>; objective = best val loss."""
    import optuna

    os.makedirs(cfg.out_dir, exist_ok=True)
    study = optuna.create_study(
        study_name="qumri",
        direction="minimize",
        load_if_exists=True,
        storage=f"sqlite:///{os.path.abspath(cfg.out_dir)}/optuna.db",
        sampler=optuna.samplers.TPESampler(seed=cfg.seed),
    )

    def objective(trial: "optuna.Trial") -> float:
        t = dataclasses.replace(
            cfg,
            optuna_trials=0,
            out_dir=os.path.join(cfg.out_dir, f"trial-{trial.number}"),
            lr=trial.suggest_float("lr", 1e-5, 1e-2, log=True),
            l2=trial.suggest_float("l2", 1e-6, 1e-2, log=True),
            dropout=trial.suggest_float("dropout", 0.0, 0.5),
            hidden=trial.suggest_categorical("hidden", ["", "64", "128", "128,64"]),
        )
        return train(t)["best_val_loss"]

    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    study.optimize(objective, n_trials=max(cfg.optuna_trials - done, 0))
    best = {
        "trial": study.best_trial.number,
        "value": study.best_value,
        "params": study.best_params,
        "ckpt": os.path.join(cfg.out_dir, f"trial-{study.best_trial.number}", "ckpt.pt"),
    }
    with open(os.path.join(cfg.out_dir, "optuna-best.json"), "w") as f:
        json.dump(best, f, indent=1)
    print(
        f"best trial {best['trial']}: val loss {best['value']:.4f} {best['params']} -> {best['ckpt']}", file=sys.stderr
    )
    return best


def main(argv: list[str] | None = None) -> None:
    cfg = parse_overrides(sys.argv[1:] if argv is None else argv, TrainConfig(), __doc__)
    if not cfg.manifest:
        raise SystemExit("--manifest=<csv> is required (see training/README.md)")
    try:
        optuna_search(cfg) if cfg.optuna_trials > 0 else train(cfg)
    except D.ManifestError as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
