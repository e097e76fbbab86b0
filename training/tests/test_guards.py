"""Calibration and the OOD model: fits recover what generated the data; the numbers match the page's."""
import numpy as np
import pytest

from training import guards


def test_platt_recovers_a_known_miscalibration():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20000)
    y = (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(int)
    p = 1 / (1 + np.exp(-(2 * z - 1)))  # over-confident and shifted: the inverse map is a = 0.5, b = 0.5
    a, b = guards.fit_platt(p, y)
    assert a == pytest.approx(0.5, abs=0.03) and b == pytest.approx(0.5, abs=0.05)
    assert guards.ece(guards.platt(p, a, b), y) < guards.ece(p, y) / 3


def test_platt_refuses_one_class_and_anti_ordered_probabilities():
    with pytest.raises(ValueError, match="both classes"):
        guards.fit_platt(np.array([0.2, 0.8]), np.array([1, 1]))
    rng = np.random.default_rng(1)
    p = rng.random(400)
    with pytest.raises(ValueError, match="not ordered"):
        guards.fit_platt(p, (p < 0.5).astype(int))


def test_ece_by_hand():
    # two bins used: [0.1, 0.1] with labels [0, 1] → |0.5 − 0.1|; [0.9] with [1] → |1 − 0.9|
    assert guards.ece(np.array([0.1, 0.1, 0.9]), np.array([0, 1, 1])) == pytest.approx(2 / 3 * 0.4 + 1 / 3 * 0.1)


def test_ood_whitening_and_threshold():
    rng = np.random.default_rng(2)
    cov = np.array([[4.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.25]])
    train = rng.multivariate_normal([1, 2, 3], cov, 5000)
    val = rng.multivariate_normal([1, 2, 3], cov, 400)
    entry = guards.ood_entry(train, val, "test")
    w = np.array(entry["whitening"])
    np.testing.assert_allclose(w @ np.cov(train.T) @ w.T, np.eye(3), atol=0.05)
    assert entry["validation_pass_rate"] >= 0.95
    far = rng.multivariate_normal([1, 2, 3], cov, 200) + np.array([0, 0, 3.0])  # 6 sd off on the third axis
    s = guards.ood_scores(far, np.array(entry["mean"]), w)
    assert (s > entry["threshold"]).mean() > 0.95
