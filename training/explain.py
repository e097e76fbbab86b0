"""Grad-CAM at an inner stage of the 3D ResNet, written as forward ops so backbone.onnx computes it.

The last feature map is only 2×2×2 cells at a 64³ input; stage 2's output is 8×8×8. Grad-CAM there needs
∂score/∂A (A = that stage's output), i.e. a backward pass through the later stages, and ONNX has no
autograd. So the vector-Jacobian product is written out, block by block (BatchNorm folded into each
convolution, as the exported graph has it):

    forward  z1 = conv1(x)   y1 = relu(z1)   z = conv2(y1) + shortcut(x)   out = relu(z)
    VJP      gz = g·[z > 0]   gx = conv1ᵀ(conv2ᵀ(gz)·[z1 > 0]) + shortcutᵀ(gz)

where convᵀ is the transposed convolution with the same weight tensor (FoldedConv.vjp): the graph reads
each weight in both directions and stores it once. For a head gradient g = ∂score/∂features
(the page's head computes it), the graph returns A and Σ_s ∂score/∂A(s) per channel, which is Grad-CAM's
channel weight times the number of cells (src/core/explain/gradcam.ts divides it back). ONNX Runtime
runs every node of the graph on every run, so a classification (zero gradient) also pays for the VJP:
about +15 % backbone time for the shipped 64³ ResNet-34 in onnxruntime-node (14.8 → 17.0 ms).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .models import BasicBlock3d, ResNet3d

CAM_STAGE = 2  # 1-based stage whose output the page's Grad-CAM shows (8³ cells at a 64³ input)
CAM_OUTPUTS = {"gradient": "cam_gradient", "feature_map": "cam_feature_map", "weights": "cam_weights"}


def fold(conv: nn.Conv3d, bn: nn.BatchNorm3d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode conv → BatchNorm as one convolution's (weight, bias)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return conv.weight * scale.view(-1, 1, 1, 1, 1), bn.bias - bn.running_mean * scale


def interleave_zeros(g: torch.Tensor, stride: tuple[int, ...], channels: int, size: list[int]) -> torch.Tensor:
    """g [N, channels, *size] with stride − 1 zeros after every element along each spatial axis (the strided conv's
    skipped inputs). Sizes are passed in, not read from g, so the graph computes no shapes at run time."""
    size = list(size)
    for i, s in enumerate(stride):
        if s == 1:
            continue
        z = g.unsqueeze(3 + i)
        z = torch.cat([z] + [z * 0] * (s - 1), dim=3 + i)
        size[i] *= s
        g = z.reshape([-1, channels, *size])
    return g


class FoldedConv(nn.Module):
    """conv + BatchNorm folded, with the VJP that maps an output gradient back to an input of `in_size`.

    The VJP is the transposed convolution, written as a plain one (zeros interleaved for the stride, the
    kernel flipped and its channel axes swapped) because ONNX Runtime's WebGPU ConvTranspose is 1D/2D only,
    while its Conv runs in 3D; the flip and swap read the stored weight, which ONNX Runtime folds at load."""

    def __init__(self, conv: nn.Conv3d, bn: nn.BatchNorm3d, in_size: list[int]):
        super().__init__()
        w, b = fold(conv, bn)
        self.weight = nn.Parameter(w.detach().clone(), requires_grad=False)
        self.bias = nn.Parameter(b.detach().clone(), requires_grad=False)
        self.stride, self.padding, k = conv.stride, conv.padding, conv.kernel_size
        self.out_channels, self.in_size = conv.out_channels, list(in_size)
        self.out_size = [(n + 2 * p - kk) // s + 1 for n, p, kk, s in zip(in_size, self.padding, k, self.stride)]
        # input i receives output o through tap k = i + p − s·o, so with zeros interleaved (g′ at s·o) the VJP
        # correlates g′ with the flipped kernel padded by k − 1 − p, then keeps the first n inputs
        self.vjp_padding = [kk - 1 - p for kk, p in zip(k, self.padding)]
        self.vjp_crop = [
            s * o + kk - 1 - 2 * p != n for s, o, kk, p, n in zip(self.stride, self.out_size, k, self.padding, in_size)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding)

    def vjp(self, g: torch.Tensor) -> torch.Tensor:
        w = self.weight.transpose(0, 1).flip(2, 3, 4)
        gx = F.conv3d(interleave_zeros(g, self.stride, self.out_channels, self.out_size), w, None, 1, self.vjp_padding)
        if not any(self.vjp_crop):
            return gx
        d, h, wd = self.in_size
        return gx[:, :, :d, :h, :wd]


class BlockVjp(nn.Module):
    """A BasicBlock3d's forward (keeping its ReLU masks) and its VJP."""

    def __init__(self, block: BasicBlock3d, in_size: list[int]):
        super().__init__()
        self.conv1 = FoldedConv(block.conv1, block.bn1, in_size)
        self.conv2 = FoldedConv(block.conv2, block.bn2, self.conv1.out_size)
        self.down = FoldedConv(block.down[0], block.down[1], in_size) if block.down is not None else None
        self.out_size = self.conv2.out_size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        z1 = self.conv1(x)
        z = self.conv2(torch.relu(z1)) + (x if self.down is None else self.down(x))
        return torch.relu(z), ((z1 > 0).to(x.dtype), (z > 0).to(x.dtype))

    def vjp(self, g: torch.Tensor, masks: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        m1, m = masks
        gz = g * m
        gx = self.conv1.vjp(self.conv2.vjp(gz) * m1)
        return gx + (gz if self.down is None else self.down.vjp(gz))


class CamBackbone(nn.Module):
    """(input, cam_gradient) → features, feature_map, cam_feature_map, cam_weights for a ResNet3d in eval mode.

    Stages up to `stage` run the backbone's own modules; the later ones run folded copies of their
    weights so the same tensors serve the forward pass and the VJP."""

    def __init__(self, backbone: ResNet3d, input_shape: list[int], stage: int = CAM_STAGE):
        super().__init__()
        if not 1 <= stage <= len(backbone.stages):
            raise ValueError(f"Grad-CAM stage must be 1..{len(backbone.stages)}, got {stage}")
        self.trunk = nn.Sequential(backbone.stem, *backbone.stages[:stage])
        training = backbone.training  # the modules are the backbone's: measure in eval mode, then restore its mode
        with torch.no_grad():
            size = list(self.trunk.eval()(torch.zeros(1, *input_shape[1:])).shape[2:])
        self.trunk.train(training)
        self.blocks = nn.ModuleList()
        for st in backbone.stages[stage:]:
            for block in st:
                self.blocks.append(BlockVjp(block, size))
                size = self.blocks[-1].out_size
        self.n_cells = size[0] * size[1] * size[2]

    def forward(self, x: torch.Tensor, gradient: torch.Tensor):
        a = self.trunk(x)
        h, masks = a, []
        for block in self.blocks:
            h, m = block(h)
            masks.append(m)
        if not self.blocks:
            return h.mean(dim=(2, 3, 4)), h, a, gradient
        # ∂mean/∂h(s) = 1/S everywhere; the last block's ReLU mask broadcasts it over the map
        g = gradient[:, :, None, None, None] / self.n_cells
        for block, m in zip(reversed(self.blocks), reversed(masks)):
            g = block.vjp(g, m)
        return h.mean(dim=(2, 3, 4)), h, a, g.sum(dim=(2, 3, 4))


def cam_weights_autograd(model, x: torch.Tensor, stage: int = CAM_STAGE) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference, by autograd on the model itself: (A, Σ_s ∂(logit₁ − logit₀)/∂A(s)) for one input."""
    bb = model.backbone
    with torch.no_grad():
        a = bb.stages[:stage](bb.stem(x))
    a = a.detach().requires_grad_(True)
    fmap = bb.stages[stage:](a)
    logits = model.head(fmap.mean(dim=(2, 3, 4)))
    (grad,) = torch.autograd.grad(logits[0, 1] - logits[0, 0], a)
    return a.detach(), grad.sum(dim=(2, 3, 4)).detach()
