"""Grad-CAM per backbone stage (experiments.paper_a.gradcam) against a reference computed by hooking the stage's
output in one ordinary forward/backward pass of the whole classifier."""
import numpy as np
import pytest
import torch

from experiments.paper_a import gradcam, stage_shapes
from training.models import build_model


def hooked_gradcam(model, x: torch.Tensor, stage: int) -> np.ndarray:
    saved = {}
    handle = model.backbone.stages[stage].register_forward_hook(lambda _m, _i, out: saved.update(a=out))
    logits = model(x)
    handle.remove()
    (grad,) = torch.autograd.grad(logits[0, 1] - logits[0, 0], saved["a"])
    cam = torch.relu((grad.mean(dim=(2, 3, 4), keepdim=True) * saved["a"]).sum(1, keepdim=True))
    cam = torch.nn.functional.interpolate(cam, size=x.shape[2:], mode="trilinear", align_corners=False)
    return cam[0, 0].detach().numpy()


@pytest.mark.parametrize("head", ["classical", "quantum"])
def test_gradcam_of_every_stage_matches_a_hooked_forward_pass(head):
    torch.manual_seed(0)
    model = build_model({"backbone": "resnet10", "width": 4, "head": head}).eval()
    x = torch.randn(1, 1, 32, 32, 32)
    n = len(model.backbone.stages)
    assert stage_shapes(model, x) == [[8, 8, 8], [4, 4, 4], [2, 2, 2], [1, 1, 1]]
    for k in range(n):
        cam = gradcam(model, x, k)
        assert cam.shape == (32, 32, 32) and (cam >= 0).all()
        np.testing.assert_allclose(cam, hooked_gradcam(model, x, k), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(gradcam(model, x), gradcam(model, x, n - 1))
