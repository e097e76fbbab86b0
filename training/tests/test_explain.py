"""training/explain.py: the hand-written Grad-CAM VJP equals torch autograd at every stage, and the exported
backbone.onnx computes it with the weights it already stores."""
from __future__ import annotations

import pytest
import torch

from training.explain import CamBackbone, cam_weights_autograd
from training.export import export_backbone
from training.fixtures import TINY_SHAPE, tiny_model


def head_gradient(model, x: torch.Tensor) -> torch.Tensor:
    """∂(logit₁ − logit₀)/∂features, the gradient the page's head hands to the backbone."""
    with torch.no_grad():
        feats = model.backbone(x)[0]
    f = feats.clone().requires_grad_(True)
    logits = model.head(f)
    (g,) = torch.autograd.grad(logits[0, 1] - logits[0, 0], f)
    return g


@pytest.mark.parametrize("head", ["quantum", "classical"])
@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_vjp_through_the_later_stages_matches_autograd(head, stage):
    model = tiny_model(head)
    x = torch.rand(1, *TINY_SHAPE[1:], generator=torch.Generator().manual_seed(stage))
    cam = CamBackbone(model.backbone, TINY_SHAPE, stage).eval()
    a_ref, w_ref = cam_weights_autograd(model, x, stage)
    g = head_gradient(model, x).float()
    with torch.no_grad():
        feats, fmap, a, w = cam(x, g)
        feats_ref, fmap_ref = model.backbone(x)
    assert torch.allclose(feats, feats_ref, atol=1e-5) and torch.allclose(fmap, fmap_ref, atol=1e-5)
    assert torch.equal(a, a_ref)
    assert w_ref.abs().max() > 0
    assert torch.allclose(w, w_ref, atol=1e-5 * float(w_ref.abs().max()))


def test_last_stage_weights_are_the_head_gradient_itself():
    model = tiny_model("quantum")
    x = torch.rand(1, *TINY_SHAPE[1:])
    g = head_gradient(model, x).float()
    with torch.no_grad():
        w = CamBackbone(model.backbone, TINY_SHAPE, len(model.backbone.stages)).eval()(x, g)[3]
    assert torch.allclose(w, g, atol=1e-6)


def test_stage_out_of_range_is_refused():
    with pytest.raises(ValueError, match="stage must be 1..4, got 5"):
        CamBackbone(tiny_model("classical").backbone, TINY_SHAPE, 5)


def test_exported_graph_stores_each_weight_once(tmp_path):
    import onnx
    from onnx import numpy_helper

    model = tiny_model("classical")
    outputs = export_backbone(model, TINY_SHAPE, str(tmp_path / "backbone.onnx"))
    assert outputs["cam"]["n_features"] == model.backbone.n_features
    graph = onnx.load(str(tmp_path / "backbone.onnx")).graph
    assert [i.name for i in graph.input] == ["input", "cam_gradient"]
    ops = {n.op_type for n in graph.node}
    assert "ConvTranspose" not in ops  # ONNX Runtime's WebGPU ConvTranspose is 1D/2D only
    stored = sum(numpy_helper.to_array(t).size for t in graph.initializer if numpy_helper.to_array(t).ndim >= 2)
    conv_weights = sum(p.numel() for n, p in model.backbone.named_parameters() if p.dim() >= 2)
    assert stored == conv_weights


def test_vjp_crops_where_a_strided_stage_rounds_an_odd_size_down():
    shape = [1, 1, 40, 36, 44]  # stage 3 gets 5×5×6 → 3×3×3: the transposed conv gives 6, cropped to 5
    model = tiny_model("classical")
    cam = CamBackbone(model.backbone, shape, 2).eval()
    assert any(any(b.conv1.vjp_crop) for b in cam.blocks)
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(3))
    _, w_ref = cam_weights_autograd(model, x, 2)
    g = head_gradient(model, x).float()
    with torch.no_grad():
        w = cam(x, g)[3]
    assert torch.allclose(w, w_ref, atol=1e-5 * float(w_ref.abs().max()))
