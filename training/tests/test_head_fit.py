"""Fitting a head on fixed, standardised features (training/head_fit.py)."""
import math

import pytest
import torch
import torch.nn.functional as F

from training import heads
from training.head_fit import fit_head, fold_standardization, standardizer


def offset_features(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Like a pooled ReLU backbone's: every channel around 0.8, the class in two channels' small differences."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = 0.8 + 0.3 * torch.randn(n, 16, generator=g)
    x[:, 3] = 0.8 + 0.02 * torch.randn(n, generator=g) + 0.03 * y
    x[:, 7] = 1.5 + 0.5 * torch.randn(n, generator=g) - 0.8 * y
    return x, y


def test_folding_the_standardisation_keeps_the_outputs():
    x, _ = offset_features(64, 0)
    mu, sd = standardizer(x)
    head = heads.paper_a_head(16, fm_input="sigmoid_pi")
    before = head((x - mu) / sd)
    fold_standardization(head[0], mu, sd)
    # float32 rounding of W / sd and of the bias shift, on 16 terms of order 1
    torch.testing.assert_close(head(x), before, rtol=0, atol=1e-5)


def test_a_constant_feature_gets_no_weight():
    x, _ = offset_features(32, 1)
    x[:, 0] = 2.0
    mu, sd = standardizer(x)
    assert math.isinf(sd[0].item())
    head = heads.classical_head(16)
    fold_standardization(head[0], mu, sd)
    assert torch.all(head[0].linear.weight[:, 0] == 0) and torch.isfinite(head[0].linear.bias).all()


@pytest.mark.parametrize(
    "make", [lambda: heads.classical_head(16), lambda: heads.paper_a_head(16, fm_input="sigmoid_pi")]
)
def test_fitted_head_beats_one_trained_at_the_classifiers_rate(make):
    train, val = offset_features(200, 2), offset_features(100, 3)
    torch.manual_seed(0)
    slow = make()
    opt = torch.optim.Adam(slow.parameters(), lr=3e-4)
    for _ in range(200):  # about what 30 head-only epochs of a small cohort give
        loss = F.cross_entropy(slow(train[0]).float(), train[1])
        opt.zero_grad()
        loss.backward()
        opt.step()
    slow_loss = F.cross_entropy(slow(val[0]).float(), val[1]).item()
    fitted = make()
    fit = fit_head(fitted, train, val, seed=1, restarts=2, steps=300)
    loss = F.cross_entropy(fitted(val[0]).float(), val[1]).item()  # raw features: the fold is in the head
    assert loss == pytest.approx(fit["val_loss"], abs=1e-5)
    assert loss < slow_loss - 0.1 and loss < 0.45
    assert fit["l2"] in fit["l2_grid"]


def test_fit_is_deterministic_for_a_seed():
    train, val = offset_features(120, 4), offset_features(60, 5)
    a, b = heads.paper_a_head(16, fm_input="sigmoid_pi"), heads.paper_a_head(16, fm_input="sigmoid_pi")
    fit_head(a, train, val, seed=7, restarts=2, steps=50)
    fit_head(b, train, val, seed=7, restarts=2, steps=50)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k
