"""Lesion-map pre-training of a backbone: 3D ResNets (our stand-in for paper A's MedicalNet weights) and
paper B's 2D families (our stand-in for its ImageNet weights).

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 -m training.pretrain --manifest=data/prepared/tsc-flair-520-64/cohort.csv \
        --out_dir=runs/r520/tsc-flair-lesionmap --sequence=FLAIR --grid=64,64,64 --width=8 --epochs=30
    then: training.train ... --init_backbone=runs/r520/tsc-flair-lesionmap/backbone.pt

Paper A fine-tuned ResNets that MedicalNet had pre-trained on segmentation; those weights cannot be
had offline. The synthetic cohorts know every lesion voxel, so the same topology is pre-trained here
to map lesions: each stage's output gets a 1×1×1 convolution that predicts, at that stage's
resolution, whether a lesion lies in the voxel's block (the mask max-pooled onto the stage grid).
Deep supervision at every stage matters: the classifier pools the last stage, so that stage must
learn "a lesion is in this region", not only the first stage's fine detail. Loss per stage: binary
cross-entropy + soft Dice over the batch. Controls (no lesion_mask) have empty maps, which is what
teaches the backbone that a bright healthy confounder is not a lesion.

2D (paper B's cnn, resnet50, densenet121, efficientnet_b3; --grid=224,224 --split_scheme=B): the same on
slices whose lesion_mask column names a 2D mask on the slice's grid (experiments/paper_b.py writes them).
The whole backbone trains, paper B's frozen early stages included (they stand in for ImageNet's); the
classifier freezes them afterwards. Its probes read four stages (two for the CNN), see `stages`.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 -m training.pretrain --manifest=data/slices/ms-flair-band4mm/pooled.csv \
        --out_dir=runs/pbband/ms-flair-resnet50-lesionmap --sequence=FLAIR --grid=224,224 --split_scheme=B \
        --backbone=resnet50 --epochs=10 --patience=10 --batch_size=16
    (experiments/paper_b.py --lesionmap_epochs=10 runs exactly this before its protocol)

Splits are the classifier's own (training.data.make_splits, same scheme and seed, same splits.json
format), or the file --splits names (a mixed cohort's splits-pretrain.json): train = gradient steps,
val = early stopping; the test subjects are never read.
Checkpoint every epoch (<out_dir>/ckpt.pt), resume by re-running the command; the output is
<out_dir>/backbone.pt = {"backbone": state dict at the best val loss, "backbone_args", "history", ...}.

--average_from=E also keeps a running mean of the weights from epoch E on (stochastic weight averaging,
Izmailov et al. 2018): the lesion-map validation loss swings by 0.1 from one epoch to the next, and the
epoch it picks need not give the classifier its best features. The mean, with batch-norm statistics
recomputed on the training split, is written to <out_dir>/backbone-avg.pt in backbone.pt's form; which
of the two a classifier starts from is chosen on the classifier's validation loss.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import data as D
from .checkpoint import load_checkpoint, save_checkpoint
from .config import SCHEDULES, log, parse_overrides, scheduled_lr, tensor_shape
from .models import BACKBONES_2D, RESNET3D_BLOCKS, ModelConfig, ResNet3d, backbone_args, build_backbone
from .widen import widen_state


@dataclass
class PretrainConfig:
    manifest: str = ""
    out_dir: str = "out/lesionmap"
    sequence: str = ""
    grid: str = "64,64,64"
    split_scheme: str = "A"
    split_seed: int = 1
    splits: str = ""  # a splits file to use (a cohort's splits-pretrain.json), copied to <out_dir>/splits.json
    backbone: str = "resnet34"
    width: int = 8
    epochs: int = 30
    batch_size: int = 4
    lr: float = 1e-3
    schedule: str = "cosine"  # cosine: lr decays to 0 over `epochs`; constant: lr throughout
    patience: int = 6
    augment: bool = True
    seed: int = 1
    num_threads: int = 2
    cache_gb: float = 4.0
    init: str = ""  # a pre-training's ckpt.pt to start from (same backbone, same or half width), not its optimizer
    loss: str = "bce_dice"  # bce_dice | dice (see map_loss)
    average_from: int = 0  # 1-based epoch from which the weights are averaged into backbone-avg.pt; 0: none


WIDEN_NOISE = 0.02  # symmetry-breaking noise of a widened --init, relative to each weight tensor's spread

# channels of each stage `stages` returns, per 2D family
STAGE_CHANNELS_2D = {
    "cnn": [32, 64],
    "resnet50": [256, 512, 1024, 2048],
    "densenet121": [256, 512, 1024, 1024],
    "efficientnet_b3": [32, 48, 136, 1536],
}


def stages(backbone: nn.Module, name: str) -> list:
    """The backbone's feature map as a chain of stages (applied in turn to the input, the last one gives the
    map the classifier pools), each at a coarser grid: the ResNets' four stages (the 3D stem runs with the
    first), the CNN's two conv blocks, the 2D families' ends of stride 4, 8, 16 and 32."""
    if name in RESNET3D_BLOCKS:
        return [lambda x: backbone.stages[0](backbone.stem(x)), *backbone.stages[1:]]
    if name == "cnn":
        return [backbone.body[:3], backbone.body[3:]]
    t = backbone.trunk
    if name == "resnet50":
        parts = [t[:5], t[5], t[6], t[7]]
    elif name == "densenet121":
        f = t[0]
        parts = [f[:5], f[5:7], f[7:9], nn.Sequential(*f[9:], t[1])]
    else:
        parts = [t[:3], t[3], t[4:6], t[6:]]
    first = parts[0]
    return [lambda x: first(x.expand(-1, 3, -1, -1)), *parts[1:]]  # grey → 3 channels, as Torchvision2d does


class LesionMapNet(nn.Module):
    """A backbone whose every stage predicts a lesion-presence map at its own resolution (logits)."""

    def __init__(self, depth: str, width: int):
        super().__init__()
        if depth in RESNET3D_BLOCKS:
            self.backbone = ResNet3d(depth, width)
            self.probes = nn.ModuleList(nn.Conv3d(width * 2**i, 1, 1) for i in range(len(self.backbone.stages)))
        else:  # freeze=False: the stages a classifier freezes are the ones pre-trained here
            self.backbone = build_backbone(ModelConfig(backbone=depth, freeze=False))
            self.probes = nn.ModuleList(nn.Conv2d(c, 1, 1) for c in STAGE_CHANNELS_2D[depth])
        self.stages = stages(self.backbone, depth)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h, maps = x, []
        for stage, probe in zip(self.stages, self.probes):
            h = stage(h)
            maps.append(probe(h))
        return maps


def block_targets(mask: torch.Tensor, maps: list[torch.Tensor]) -> list[torch.Tensor]:
    """The mask ([N, 1, *grid], 0/1, 2D or 3D) max-pooled onto each map's grid: 1 where the block holds a lesion voxel."""
    pool = F.adaptive_max_pool3d if mask.dim() == 5 else F.adaptive_max_pool2d
    return [pool(mask, m.shape[2:]) for m in maps]


LOSSES = ("bce_dice", "dice")


def map_loss(logits: torch.Tensor, target: torch.Tensor, loss: str = "bce_dice") -> torch.Tensor:
    """Soft Dice over the whole batch (a batch of controls has Dice 0/0 → 0 loss), plus binary cross-entropy
    for "bce_dice".

    Where lesion blocks are well under 1 % of a map (2D slices; the 3D first stage), the mean cross-entropy's
    gradient lowers every logit before the lesions are found, and the map collapses to "no lesion anywhere"
    with its ranking lost too (2D CNN, 24 subjects: Dice 0 at both stages after 5 epochs, while an intensity
    threshold alone reaches 0.48); soft Dice alone learns there (0.27 at the second stage)."""
    p = torch.sigmoid(logits)
    inter, total = (p * target).sum(), p.sum() + target.sum()
    dice = 1 - (2 * inter + 1) / (total + 1)
    if loss == "dice":
        return dice
    return F.binary_cross_entropy_with_logits(logits, target) + dice


def total_loss(maps: list[torch.Tensor], mask: torch.Tensor, loss: str = "bce_dice") -> torch.Tensor:
    return sum(map_loss(m, t, loss) for m, t in zip(maps, block_targets(mask, maps))) / len(maps)


class LesionMapDataset(torch.utils.data.Dataset):
    """(volume, lesion mask) pairs on the model grid, augmented together; controls get an empty mask. A 3D
    mask is the raw scan's, resampled onto the model grid; a 2D slice's mask is already on its grid."""

    def __init__(
        self, rows: list[D.Row], shape: tuple[int, ...], augment: D.Augment | None, seed: int, cache_gb: float
    ):
        from .lesions import mask_on_grid

        self.volumes = D.VolumeDataset(rows, shape, None, seed, cache_gb=cache_gb)
        self.masks = []
        for r in rows:
            path = r.extra.get("lesion_mask")
            if not path:
                m = np.zeros(shape, bool)
            elif len(shape) == 2:
                m = D.load_volume(D.Row(r.index, path, r.label, r.subject_id, r.sequence), shape)[0].numpy() > 0.5
            else:
                m = mask_on_grid(r.path, path) > 0.5
            if r.label == 1 and path and not m.any():
                print(f"note: {r.subject_id}: lesions too small for the model grid", file=sys.stderr)
            self.masks.append(torch.from_numpy(m)[None])
        self.augment, self.seed, self.epoch = augment, seed, 0

    def __len__(self) -> int:
        return len(self.volumes)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, m = self.volumes[i][0], self.masks[i].float()
        if self.augment is not None:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch * 10_007 + i)
            x, m = self.augment(x, g, m)
            m = (m > 0.5).float()
        return x, m


def evaluate(net: LesionMapNet, loader, loss: str = "bce_dice") -> dict:
    """Mean loss and, per stage, the Dice of the thresholded map (how well each stage finds lesions)."""
    net.eval()
    total, n, inter, size = 0.0, 0, None, None
    with torch.no_grad():
        for x, m in loader:
            maps = net(x)
            total += total_loss(maps, m, loss).item() * len(x)
            n += len(x)
            ts = block_targets(m, maps)
            i = [((a > 0) & (t > 0)).sum().item() for a, t in zip(maps, ts)]
            s = [(a > 0).sum().item() + t.sum().item() for a, t in zip(maps, ts)]
            inter = i if inter is None else [a + b for a, b in zip(inter, i)]
            size = s if size is None else [a + b for a, b in zip(size, s)]
    return {"loss": total / max(n, 1), "dice": [2 * a / b if b else math.nan for a, b in zip(inter, size)]}


def lr_at(cfg: PretrainConfig, epoch: int) -> float:
    return scheduled_lr(cfg.lr, cfg.schedule, epoch, cfg.epochs)


def without_stopping(config: dict) -> dict:
    """What makes two runs the same run: threads or cache size do not change the result, raising patience
    continues a finished run, and so does raising epochs at a constant rate (a cosine schedule is made for its
    number of epochs); the splits in use are <out_dir>/splits.json, whichever file --splits copied there.
    Checkpoints from before schedules existed ran at a constant rate, from before losses with cross-entropy +
    Dice, from before weight averaging without it."""
    config = {"schedule": "constant", "init": "", "loss": "bce_dice", "average_from": 0, **config}
    ignored = ("patience", "num_threads", "cache_gb", "splits")
    ignored += ("epochs",) if config["schedule"] == "constant" else ()
    return {k: v for k, v in config.items() if k not in ignored}


def use_splits(given: str, own: str) -> None:
    """Copy the given splits file to the run's own; without --splits a cohort whose classifier splits were
    made elsewhere (experiments.mixed_cohort) would get new ones, and its test subjects could be trained on."""
    if not os.path.exists(given):
        raise SystemExit(f"--splits={given}: not found")
    with open(given) as f:
        splits = json.load(f)
    if os.path.exists(own):
        with open(own) as f:
            if json.load(f) != splits:
                raise SystemExit(f"{own} holds other splits than --splits={given}; use another --out_dir")
        return
    os.makedirs(os.path.dirname(os.path.abspath(own)), exist_ok=True)
    with open(own, "w") as f:
        json.dump(splits, f, indent=1)


def start_from(net: LesionMapNet, cfg: PretrainConfig) -> None:
    """Warm start: a new preprocessing (or cohort) need not repeat a long pre-training from random weights."""
    if not os.path.exists(cfg.init):
        raise SystemExit(f"--init={cfg.init}: not found")
    ckpt = load_checkpoint(cfg.init, keys=("net", "config"))
    theirs = {k: ckpt["config"].get(k) for k in ("backbone", "width")}
    state, how = ckpt["net"], ""
    if theirs == {"backbone": cfg.backbone, "width": cfg.width // 2} and cfg.backbone in RESNET3D_BLOCKS:
        state = widen_state(state, WIDEN_NOISE, torch.Generator().manual_seed(cfg.seed))
        how = f", widened from width {theirs['width']} (training/widen.py)"
    elif theirs != {"backbone": cfg.backbone, "width": cfg.width}:
        raise SystemExit(
            f"--init={cfg.init} holds {theirs}, this run is {cfg.backbone} width {cfg.width} (a 3D ResNet of half "
            "the width is widened)"
        )
    net.load_state_dict(state)
    log(f"starting from {cfg.init} (its network after {len(ckpt.get('history', []))} epochs{how})")


def average_into(mean: dict, net: nn.Module, n: int) -> None:
    """mean ← mean + (w − mean)/(n + 1) over the floating-point parameters; n weights are in `mean` already.
    Batch-norm statistics are not averaged: `recompute_batch_norm` measures them for the mean weights."""
    for k, v in net.state_dict().items():
        if v.is_floating_point() and "running_" not in k:
            mean[k] += (v.detach() - mean[k]) / (n + 1)


def recompute_batch_norm(net: nn.Module, loader) -> None:
    """Each batch-norm layer's running mean/variance as the plain average over one pass of `loader`."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average, not an exponential one
    net.train()
    with torch.no_grad():
        for x, _ in loader:
            net(x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


def pretrain(cfg: PretrainConfig) -> str:
    """Run (or resume) the pre-training; returns the path of backbone.pt."""
    if cfg.backbone not in RESNET3D_BLOCKS and cfg.backbone not in BACKBONES_2D:
        raise SystemExit(
            f"lesion-map pre-training is for the 3D ResNets {sorted(RESNET3D_BLOCKS)} and the 2D "
            f"backbones {list(BACKBONES_2D)}, got {cfg.backbone!r}"
        )
    if len(tensor_shape(cfg.grid)) != (3 if cfg.backbone in RESNET3D_BLOCKS else 2):
        raise SystemExit(f"--grid={cfg.grid} does not suit the {cfg.backbone} backbone (3D ResNets: x,y,z; 2D: x,y)")
    if cfg.schedule not in SCHEDULES:
        raise SystemExit(f"--schedule must be one of {SCHEDULES}, got {cfg.schedule!r}")
    if cfg.loss not in LOSSES:
        raise SystemExit(f"--loss must be one of {LOSSES}, got {cfg.loss!r}")
    if not 0 <= cfg.average_from <= cfg.epochs:
        raise SystemExit(f"--average_from must lie in 0..{cfg.epochs} (--epochs), got {cfg.average_from}")
    torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    os.makedirs(cfg.out_dir, exist_ok=True)
    ckpt_path, out_path = os.path.join(cfg.out_dir, "ckpt.pt"), os.path.join(cfg.out_dir, "backbone.pt")

    shape = tuple(tensor_shape(cfg.grid))
    rows = D.read_manifest(cfg.manifest, cfg.sequence)
    if cfg.splits:
        use_splits(cfg.splits, os.path.join(cfg.out_dir, "splits.json"))
    splits = D.load_or_make_splits(os.path.join(cfg.out_dir, "splits.json"), rows, cfg.split_scheme, cfg.split_seed)
    train_ds = LesionMapDataset(
        D.rows_in(rows, splits, "train"), shape, D.Augment() if cfg.augment else None, cfg.seed, cfg.cache_gb
    )
    val_ds = LesionMapDataset(D.rows_in(rows, splits, "val"), shape, None, cfg.seed, cfg.cache_gb)
    gen = torch.Generator().manual_seed(cfg.seed)
    train_loader = torch.utils.data.DataLoader(train_ds, cfg.batch_size, shuffle=True, generator=gen, drop_last=True)
    val_loader = torch.utils.data.DataLoader(val_ds, cfg.batch_size)
    log(
        f"lesion-map pre-training: {len(train_ds)} train / {len(val_ds)} val volumes "
        f"({len(splits['test'])} test subjects never read), grid {cfg.grid}"
    )

    net = LesionMapNet(cfg.backbone, cfg.width)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    state = {
        "epoch": -1,
        "best_val_loss": math.inf,
        "best_backbone": None,
        "bad_epochs": 0,
        "history": [],
        "average": None,
        "n_averaged": 0,
    }
    if os.path.exists(ckpt_path):
        ckpt = load_checkpoint(ckpt_path, keys=("net", "optimizer", "config"))
        if without_stopping(ckpt["config"]) != without_stopping(dataclasses.asdict(cfg)):
            raise SystemExit(f"{ckpt_path} was made with another configuration {ckpt['config']}; use another --out_dir")
        net.load_state_dict(ckpt["net"])
        optimizer.load_state_dict(ckpt["optimizer"])
        state = {**state, **{k: ckpt[k] for k in state if k in ckpt}}
        gen.set_state(ckpt["loader_rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        log(f"resumed from {ckpt_path} after epoch {state['epoch'] + 1}")
    elif cfg.init:
        start_from(net, cfg)

    for epoch in range(state["epoch"] + 1, cfg.epochs):
        if state["bad_epochs"] >= cfg.patience:
            break
        t0 = time.time()
        net.train()
        train_ds.epoch = epoch
        lr = lr_at(cfg, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        total, n = 0.0, 0
        for x, m in train_loader:
            loss = total_loss(net(x), m, cfg.loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, n = total + loss.item() * len(x), n + len(x)
        val = evaluate(net, val_loader, cfg.loss)
        improved = val["loss"] < state["best_val_loss"]
        if improved:
            state["best_val_loss"], state["bad_epochs"] = val["loss"], 0
            state["best_backbone"] = {k: v.detach().clone() for k, v in net.backbone.state_dict().items()}
        else:
            state["bad_epochs"] += 1
        if cfg.average_from and epoch + 1 >= cfg.average_from:
            if state["average"] is None:
                state["average"] = {k: v.detach().clone() for k, v in net.state_dict().items()}
            average_into(state["average"], net, state["n_averaged"])
            state["n_averaged"] += 1
        state["epoch"] = epoch
        state["history"].append(
            {
                "epoch": epoch,
                "lr": lr,
                "train_loss": total / max(n, 1),
                "val_loss": val["loss"],
                "val_dice_per_stage": val["dice"],
                "seconds": time.time() - t0,
            }
        )
        save_checkpoint(
            {
                "net": net.state_dict(),
                "optimizer": optimizer.state_dict(),
                "config": dataclasses.asdict(cfg),
                "loader_rng": gen.get_state(),
                "torch_rng": torch.get_rng_state(),
                **state,
            },
            ckpt_path,
        )
        log(
            f"epoch {epoch + 1}/{cfg.epochs}  lr {lr:.2e}  train {total / max(n, 1):.4f}  val {val['loss']:.4f}"
            f"{' *' if improved else ''}  dice/stage {' '.join(f'{d:.2f}' for d in val['dice'])}  "
            f"{time.time() - t0:.1f} s"
        )
    save_checkpoint(
        {
            "backbone": state["best_backbone"],
            "backbone_args": backbone_args(cfg.backbone, cfg.width),
            "config": dataclasses.asdict(cfg),
            "history": state["history"],
            "best_val_loss": state["best_val_loss"],
            "splits": {k: splits[k] for k in ("train", "val")},
        },
        out_path,
    )
    log(f"done: best val loss {state['best_val_loss']:.4f} -> {out_path}")
    if state["n_averaged"]:
        write_average(cfg, state, splits, train_loader, val_loader)
    return out_path


def write_average(cfg: PretrainConfig, state: dict, splits: dict, train_loader, val_loader) -> None:
    """backbone-avg.pt: the averaged weights, batch-norm statistics measured on the training split."""
    net = LesionMapNet(cfg.backbone, cfg.width)
    net.load_state_dict(state["average"])
    recompute_batch_norm(net, train_loader)
    val = evaluate(net, val_loader, cfg.loss)
    first = len(state["history"]) - state["n_averaged"]
    path = os.path.join(cfg.out_dir, "backbone-avg.pt")
    save_checkpoint(
        {
            "backbone": net.backbone.state_dict(),
            "backbone_args": backbone_args(cfg.backbone, cfg.width),
            "config": dataclasses.asdict(cfg),
            "history": state["history"],
            "averaged_epochs": [first + 1, len(state["history"])],
            "val_loss": val["loss"],
            "val_dice_per_stage": val["dice"],
            "splits": {k: splits[k] for k in ("train", "val")},
        },
        path,
    )
    log(
        f"mean of epochs {first + 1}-{len(state['history'])}: val {val['loss']:.4f}  "
        f"dice/stage {' '.join(f'{d:.2f}' for d in val['dice'])} -> {path}"
    )


def main(argv: list[str] | None = None) -> None:
    cfg = parse_overrides(sys.argv[1:] if argv is None else argv, PretrainConfig(), __doc__)
    if not cfg.manifest:
        raise SystemExit("--manifest=<csv> is required")
    try:
        pretrain(cfg)
    except D.ManifestError as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
