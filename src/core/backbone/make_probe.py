"""Builds src/core/backbone/probe.onnx, the page's WebGPU-vs-WASM probe model (probe.ts). Shipped with the
app, so it has its own step rather than being a by-product of the test fixtures:
    npm run build:probe    # OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 -m src.core.backbone.make_probe

fixtures/bundles/tiny-q (src/core/bundle/testing/tiny_bundles.py) exports the same net from the same seed,
so its backbone.onnx is this file byte for byte.
"""

import os

import torch

NX, NY, NZ = 16, 12, 10
SEED = 1
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.onnx")


class TinyBackbone(torch.nn.Module):
    """Conv, MaxPool3d, a residual conv pair, mean pooling: the ops of the real 3D ResNets, so the
    page's WebGPU-vs-WASM probe exercises 3D pooling, the op the older WebGPU backend got wrong."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv3d(1, 4, 3, padding=1)
        self.pool = torch.nn.MaxPool3d(3, stride=2, padding=1)
        self.c2 = torch.nn.Conv3d(4, 6, 3, padding=1)
        self.c3 = torch.nn.Conv3d(6, 6, 3, padding=1)

    def forward(self, x):
        h = torch.relu(self.c2(self.pool(torch.relu(self.c1(x)))))
        fmap = torch.relu(self.c3(h) + h)
        return fmap.mean(dim=(2, 3, 4)), fmap


def export_backbone(net: torch.nn.Module, path: str) -> None:
    torch.onnx.export(
        net,
        torch.zeros(1, 1, NZ, NY, NX),
        path,
        input_names=["input"],
        output_names=["features", "feature_map"],
        opset_version=17,
        dynamic_axes={"input": {0: "N"}, "features": {0: "N"}, "feature_map": {0: "N"}},
    )


if __name__ == "__main__":
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    export_backbone(TinyBackbone().eval(), PROBE)
