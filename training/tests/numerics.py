"""Float32 rounding bounds for tests, from the arithmetic rather than from one machine's result.

A float32 network evaluated with another summation order (AVX2, AVX-512, ATen's generic kernels,
onnxruntime) differs from the exact result by the rounding of each layer's accumulation: for n terms
summed in some order the relative error behaves like a random walk of n steps of u = 2^-24
(Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §3.1 and §4.4; Parker's Monte
Carlo arithmetic). `rounding_spread` simulates exactly that on the float64 model: every convolution
and linear layer's output is multiplied by (1 + sqrt(fan-in)·u·ε), ε ~ N(0, 1), and the spread of
P(positive) over a few such runs is the scale of float32 disagreement between machines.
"""
from __future__ import annotations

import copy
import math

import torch

U = 2.0**-24
SIGMAS = 6.0  # a float32 evaluation lies within 6 sigma of the exact value


def _fan_in(module: torch.nn.Module) -> int | None:
    if isinstance(module, (torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear)):
        return module.weight[0].numel()
    return None


def probability64(model, x: torch.Tensor) -> float:
    """P(positive) of one input with the model in float64: the reference float32 results are held to."""
    m = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        feats, _ = m.backbone(x.double())
        return torch.softmax(m.head(feats), -1)[0, 1].item()


def rounding_spread(model, x: torch.Tensor, samples: int = 16, seed: int = 0) -> float:
    """Standard deviation of P(positive) under simulated float32 accumulation rounding."""
    m = copy.deepcopy(model).double().eval()
    g = torch.Generator().manual_seed(seed)

    def perturb(module, _inputs, out):
        return out * (1 + math.sqrt(_fan_in(module)) * U * torch.randn(out.shape, generator=g, dtype=out.dtype))

    for module in m.modules():
        if _fan_in(module):
            module.register_forward_hook(perturb)
    with torch.no_grad():
        ps = []
        for _ in range(samples):
            feats, _ = m.backbone(x.double())
            ps.append(torch.softmax(m.head(feats), -1)[0, 1].item())
    return float(torch.tensor(ps, dtype=torch.float64).std())


def float32_tolerance(model, x: torch.Tensor) -> float:
    """How far a float32 P(positive) of `x` may lie from `probability64` on any CPU."""
    return SIGMAS * rounding_spread(model, x)
