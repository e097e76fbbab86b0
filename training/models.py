"""Backbones (3D ResNet for paper A, torchvision 2D nets for paper B) and the Classifier wrapper.

Every backbone returns (features [N, F], feature_map [N, F, ...]) with features = spatial mean of
feature_map, which is exactly what backbone.onnx exports; the head (training/heads.py) takes
the features. `build_model(cfg)` is the one place a config becomes a model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import heads

RESNET3D_BLOCKS = {"resnet10": [1, 1, 1, 1], "resnet18": [2, 2, 2, 2], "resnet34": [3, 4, 6, 3]}
BACKBONES_2D = ("cnn", "resnet50", "densenet121", "efficientnet_b3")
HEADS = ("classical", "quantum")


# ---------------------------------------------------------------------------------------------
# 3D ResNet (paper A)
# ---------------------------------------------------------------------------------------------


class BasicBlock3d(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv3d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(c_out)
        self.conv2 = nn.Conv3d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(c_out)
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(nn.Conv3d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm3d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNet3d(nn.Module):
    """One-channel 3D ResNet-10/18/34 with stage widths w, 2w, 4w, 8w (MedicalNet-style stem)."""

    def __init__(self, depth: str = "resnet34", width: int = 16):
        super().__init__()
        if depth not in RESNET3D_BLOCKS:
            raise ValueError(f"3D backbone must be one of {sorted(RESNET3D_BLOCKS)}, got {depth!r}")
        self.stem = nn.Sequential(
            nn.Conv3d(1, width, 7, 2, 3, bias=False),
            nn.BatchNorm3d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(3, 2, 1),
        )
        stages, c = [], width
        for i, n in enumerate(RESNET3D_BLOCKS[depth]):
            c_out = width * 2**i
            blocks = [BasicBlock3d(c, c_out, 1 if i == 0 else 2)]
            blocks += [BasicBlock3d(c_out, c_out, 1) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            c = c_out
        self.stages = nn.Sequential(*stages)
        self.n_features = c
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = self.stages(self.stem(x))
        return fmap.mean(dim=(2, 3, 4)), fmap


# ---------------------------------------------------------------------------------------------
# 2D backbones (paper B)
# ---------------------------------------------------------------------------------------------


class SmallCnn(nn.Module):
    """Paper B's CNN: Conv3x3(32)-ReLU-MaxPool2, Conv3x3(64)-ReLU-MaxPool2 (one input channel)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.n_features = 64

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = self.body(x)
        return fmap.mean(dim=(2, 3)), fmap


class Torchvision2d(nn.Module):
    """A torchvision classifier's convolutional trunk; the grey input is replicated to 3 channels in
    the graph (so backbone.onnx takes [N, 1, H, W]); early stages frozen as in paper B."""

    def __init__(self, name: str, weights_path: str = "", freeze: bool = True):
        super().__init__()
        import torchvision.models as tvm

        if name == "resnet50":
            net = tvm.resnet50()
            trunk = nn.Sequential(
                net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4
            )
            frozen, n_feat = trunk[:5], 2048
        elif name == "densenet121":
            net = tvm.densenet121()
            trunk = nn.Sequential(net.features, nn.ReLU(inplace=False))
            f = net.features
            frozen, n_feat = nn.ModuleList([f.conv0, f.norm0, f.relu0, f.pool0, f.denseblock1]), 1024
        elif name == "efficientnet_b3":
            net = tvm.efficientnet_b3()
            trunk = net.features
            frozen, n_feat = trunk[:5], 1536
        else:
            raise ValueError(f"2D torchvision backbone must be resnet50, densenet121 or efficientnet_b3, got {name!r}")
        if weights_path:
            state = torch.load(weights_path, map_location="cpu")
            state = state.get("state_dict", state)
            state = {k.removeprefix("module."): v for k, v in state.items()}
            own = net.state_dict()
            matched = [k for k in state if k in own and own[k].shape == state[k].shape]
            if not matched:
                raise ValueError(f"weights file {weights_path} matches none of {name}'s parameters")
            net.load_state_dict({k: state[k] for k in matched}, strict=False)
        if freeze:
            for p in frozen.parameters():
                p.requires_grad_(False)
        # `frozen` stays a submodule either way: its keys are part of every saved state dict
        self.trunk, self.n_features, self.frozen, self.freeze = trunk, n_feat, frozen, freeze

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = self.trunk(x.expand(-1, 3, -1, -1))
        return fmap.mean(dim=(2, 3)), fmap

    def train(self, mode: bool = True) -> "Torchvision2d":
        # frozen stages keep their BatchNorm statistics fixed, as a frozen layer should
        super().train(mode)
        if mode and self.freeze:
            for m in self.frozen.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


# ---------------------------------------------------------------------------------------------
# Classifier = backbone + head
# ---------------------------------------------------------------------------------------------


@dataclass
class ModelConfig:
    backbone: str = "resnet34"  # resnet10|resnet18|resnet34 (3D) or cnn|resnet50|densenet121|efficientnet_b3
    width: int = 16  # 3D ResNet stage-1 channels
    head: str = "quantum"  # classical|quantum
    n_qubits: int = 2  # paper A default: 2; paper B heads: 4
    fm_reps: int = 2  # ZZFeatureMap reps (paper A head)
    fm_entanglement: str = "full"
    reps: int = 3  # RealAmplitudes reps (A) / circuit layers (B)
    entanglement: str = "reverse_linear"
    readout: str = "parity"
    fm_input: str = "none"  # paper A head: activation of the fc output that feeds the feature map
    hidden: str = ""  # comma-separated dense widths before the head, e.g. "64,32"
    dropout: float = 0.0
    pretrained: str = ""  # local torchvision weights file (paper B)
    freeze: bool = True


def hidden_sizes(text: str) -> list[int]:
    try:
        return [int(h) for h in text.split(",") if h.strip()]
    except ValueError:
        raise ValueError(f"hidden must be comma-separated integers, got {text!r}") from None


def build_backbone(cfg: ModelConfig) -> nn.Module:
    if cfg.backbone in RESNET3D_BLOCKS:
        return ResNet3d(cfg.backbone, cfg.width)
    if cfg.backbone == "cnn":
        return SmallCnn()
    if cfg.backbone in BACKBONES_2D:
        return Torchvision2d(cfg.backbone, cfg.pretrained, cfg.freeze)
    raise ValueError(f"unknown backbone {cfg.backbone!r} (3D: {sorted(RESNET3D_BLOCKS)}, 2D: {BACKBONES_2D})")


def backbone_args(backbone: str, width: int) -> dict:
    """What a pre-trained backbone.pt must have been made for: the family, and the width where it has one."""
    return {"backbone": backbone, "width": width} if backbone in RESNET3D_BLOCKS else {"backbone": backbone}


def build_head(cfg: ModelConfig, n_in: int) -> nn.Sequential:
    """Paper A's head for 3D backbones; paper B's head of the matching hybrid for 2D ones."""
    if cfg.head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {cfg.head!r}")
    hidden = hidden_sizes(cfg.hidden)
    if cfg.head == "classical":
        return heads.classical_head(n_in, hidden, cfg.dropout)
    if cfg.backbone in RESNET3D_BLOCKS:
        return heads.paper_a_head(
            n_in, cfg.n_qubits, cfg.fm_reps, cfg.fm_entanglement, cfg.reps, cfg.entanglement, cfg.readout, cfg.fm_input
        )
    if cfg.backbone == "cnn":
        return heads.qcnn_head(n_in, cfg.n_qubits, cfg.reps, hidden or [16], cfg.dropout)
    if cfg.backbone in ("resnet50", "densenet121"):
        return heads.amplitude_head(n_in, cfg.n_qubits, cfg.reps, hidden or [64], 16, cfg.dropout)
    return heads.angle_ring_head(n_in, cfg.n_qubits, cfg.reps, hidden or [64], cfg.dropout)


class Classifier(nn.Module):
    """backbone -> pooled features -> head -> 2 logits."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = build_backbone(cfg)
        self.head = build_head(cfg, self.backbone.n_features)

    @property
    def dims(self) -> int:
        return 3 if self.cfg.backbone in RESNET3D_BLOCKS else 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[0])


def build_model(cfg: ModelConfig | dict[str, Any]) -> Classifier:
    return Classifier(cfg if isinstance(cfg, ModelConfig) else ModelConfig(**cfg))
