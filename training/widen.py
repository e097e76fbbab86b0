"""Net2WiderNet (Chen, Goodfellow & Shlens 2016) for the 3D ResNets' lesion-map networks: a network of width w
becomes one of width 2w that computes the same function, so a wider backbone starts from a narrower one's
pre-training (170 epochs behind runs/refdice) instead of from random weights, which soft Dice alone does not
leave at the finer stages (width 16 from scratch: Dice 0 at stages 1-2 after 33 epochs).

Every channel is copied once, channel j + c being a copy of j: a convolution's output channels are tiled, its
input channels tiled and halved (the two copies of each input now carry it), batch-norm parameters and
statistics tiled. Tiling commutes with ReLU, max-pooling, the residual sums and the batch norm itself (a copy
has its original's statistics), so the wider network's every stage map and lesion-map logit equals the
narrower one's. The single image channel in and each probe's single logit out are not widened. Identical copies
would get identical gradients forever: the copies' output weights get Gaussian noise of `noise` × the tensor's
standard deviation, which changes the function by about that fraction.
"""
from __future__ import annotations

import torch


def widen_state(state: dict[str, torch.Tensor], noise: float, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The state dict of the same network at twice the width (3D convolutions, batch norms, 1×1×1 probes)."""
    out = {}
    for k, v in state.items():
        w = v.clone()
        if v.is_floating_point() and v.dim() == 5:
            if w.shape[1] > 1:
                w = torch.cat([w, w], 1) / 2
            if w.shape[0] > 1:
                copy = w + noise * w.std() * torch.randn(w.shape, generator=generator, dtype=w.dtype)
                w = torch.cat([w, copy], 0)
        elif v.is_floating_point() and v.dim() == 1 and v.numel() > 1:
            w = torch.cat([w, w])
        elif v.is_floating_point() and v.dim() not in (0, 1):
            raise ValueError(f"{k}: cannot widen a {v.dim()}-D parameter (only 3D convolutions and batch norms)")
        out[k] = w
    return out
