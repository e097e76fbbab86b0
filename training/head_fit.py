"""Fit a head on a fixed backbone's pooled features before any fine-tuning (issue 18).

The pooled features are computed once (eval mode, no augmentation), standardised on the train split,
and the head is fitted on them full-batch with an L2 penalty on its first layer's weights chosen by
validation loss: seconds per fit instead of epochs through the backbone, and a fine-tuning run starts from
a head that already reads the features. On real-ref's backbone the fit reached the same validation loss
as 29 head-only epochs (0.539 against 0.538), so the fixed features, not the head's training, set the
limit there. The standardisation is folded into the first Dense layer, so the head keeps its head.json
form and the page runs it unchanged.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .heads import Dense, Quantum

L2_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


@torch.no_grad()
def pooled_features(backbone: nn.Module, loader, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, labels) of every volume in the loader, backbone in eval mode."""
    was_training = backbone.training
    backbone.eval()
    xs, ys = [], []
    for x, y in loader:
        xs.append(backbone(x.to(device))[0].float().cpu())
        ys.append(y)
    backbone.train(was_training)
    return torch.cat(xs), torch.cat(ys)


def standardizer(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and SD; a constant feature gets SD inf, so its standardised value is 0."""
    mu, sd = x.mean(0), x.std(0)
    return mu, torch.where(sd > 1e-8, sd, torch.full_like(sd, math.inf))


def fold_standardization(first: Dense, mu: torch.Tensor, sd: torch.Tensor) -> None:
    """W (x - mu) / sd + b  ==  (W / sd) x + (b - (W / sd) mu): the head then reads raw features."""
    with torch.no_grad():
        w = first.linear.weight / sd.to(first.linear.weight)
        first.linear.bias.sub_(w @ mu.to(w))
        first.linear.weight.copy_(w)


def fit_once(head: nn.Sequential, x: torch.Tensor, y: torch.Tensor, l2: float, steps: int, lr: float) -> None:
    """Full-batch Adam on cross-entropy + l2 * |first layer's weights|²."""
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    head.train()
    for _ in range(steps):
        loss = F.cross_entropy(head(x).float(), y) + l2 * (head[0].linear.weight ** 2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    head.eval()


def val_loss(head: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return F.cross_entropy(head(x).float(), y).item()


def fit_head(
    head: nn.Sequential,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    seed: int,
    restarts: int = 3,
    steps: int = 500,
    lr: float = 0.01,
) -> dict:
    """Fits `head` in place (first layer standardised, then folded); returns what was chosen.

    Every (L2, restart) pair starts from its own seeded initialisation: a quantum head's loss has local
    minima, and the restart with the lowest validation loss is kept."""
    mu, sd = standardizer(train[0])
    z_tr, z_va = (train[0] - mu) / sd, (val[0] - mu) / sd
    best: dict | None = None
    for l2 in L2_GRID:
        for r in range(restarts):
            torch.manual_seed(seed * 1000 + r)
            for m in head.modules():  # every parameter is redrawn: Dense and Quantum are a head's only ones
                if isinstance(m, nn.Linear):
                    m.reset_parameters()
                elif isinstance(m, Quantum):
                    with torch.no_grad():
                        m.weights.uniform_(-1, 1)
            fit_once(head, z_tr, train[1], l2, steps, lr)
            loss = val_loss(head, z_va, val[1])
            if best is None or loss < best["val_loss"] - 1e-9:
                state = {k: v.clone() for k, v in head.state_dict().items()}
                best = {"val_loss": loss, "l2": l2, "restart": r, "state": state}
    head.load_state_dict(best["state"])
    fold_standardization(head[0], mu, sd)
    return {
        "val_loss": best["val_loss"],
        "train_loss": val_loss(head, train[0], train[1]),
        "l2": best["l2"],
        "restart": best["restart"],
        "l2_grid": list(L2_GRID),
        "restarts": restarts,
        "steps": steps,
        "lr": lr,
        "n_train": len(train[1]),
        "n_val": len(val[1]),
    }
