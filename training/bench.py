"""Seconds per sample for training and inference of the shipped model configurations on this machine.

    npm run bench:train                      # all configurations
    /usr/bin/python3 -m training.bench --only=resnet34-q128,cnn-q224 --reps=3

Each configuration: one warm-up, then the median of `reps` timed steps. Training = forward + backward + Adam step on
a batch; inference = eval-mode forward of one sample. Also the quantum head alone (torch simulator),
so the circuit's share is visible. Writes bench/results/train.json (git-ignored) and prints a table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from .models import ModelConfig, build_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# id -> (model config, input shape without batch, training batch)
CONFIGS = {
    "resnet34-c128": (dict(backbone="resnet34", width=16, head="classical"), [1, 128, 128, 128], 2),
    "resnet34-q128": (dict(backbone="resnet34", width=16, head="quantum"), [1, 128, 128, 128], 2),
    "resnet10-q64": (dict(backbone="resnet10", width=8, head="quantum"), [1, 64, 64, 64], 4),
    "cnn-q224": (dict(backbone="cnn", head="quantum", n_qubits=4, reps=2), [1, 224, 224], 8),
    "resnet50-q224": (dict(backbone="resnet50", head="quantum", n_qubits=4, reps=2), [1, 224, 224], 4),
    "densenet121-q224": (dict(backbone="densenet121", head="quantum", n_qubits=4, reps=2), [1, 224, 224], 4),
    "efficientnet_b3-q224": (dict(backbone="efficientnet_b3", head="quantum", n_qubits=4, reps=2), [1, 224, 224], 4),
}


def timed(fn, reps: int) -> float:
    """Median seconds of `reps` calls after one warm-up (the median resists a busy shared machine)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_config(cfg: dict, shape: list[int], batch: int, reps: int, device: torch.device) -> dict:
    torch.manual_seed(0)
    model = build_model(ModelConfig(**cfg)).to(device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    x, y = torch.rand(batch, *shape, device=device), torch.arange(batch, device=device) % 2
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def train_step():
        model.train()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()

    def infer():
        model.eval()
        with torch.no_grad():
            model(x[:1])
        sync()

    feats = torch.randn(batch, model.backbone.n_features, device=device)

    def head_only():
        with torch.no_grad():
            model.head(feats)
        sync()

    return {
        "config": cfg,
        "input": shape,
        "batch": batch,
        "train_s_per_sample": timed(train_step, reps) / batch,
        "infer_s_per_sample": timed(infer, reps),
        "head_s_per_sample": timed(head_only, reps) / batch,
        "params": sum(p.numel() for p in model.parameters()),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated ids from: " + ", ".join(CONFIGS))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "train.json"))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    ids = [i for i in a.only.split(",") if i] or list(CONFIGS)
    unknown = [i for i in ids if i not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown config(s) {unknown}; known: {', '.join(CONFIGS)}")
    results = {}
    print(f"{'config':22s} {'train s/sample':>15s} {'infer s/sample':>15s} {'head s/sample':>14s}")
    for i in ids:
        cfg, shape, batch = CONFIGS[i]
        r = bench_config(cfg, shape, batch, a.reps, device)
        results[i] = r
        print(
            f"{i:22s} {r['train_s_per_sample']:15.4f} {r['infer_s_per_sample']:15.4f} {r['head_s_per_sample']:14.6f}",
            flush=True,
        )
    doc = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": a.threads,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "reps": a.reps,
        "results": results,
    }
    if device.type == "cuda":
        doc["gpu"] = torch.cuda.get_device_name(device)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
