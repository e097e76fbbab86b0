"""What a bundle needs to judge its own answers (src/core/guard/): Platt calibration of P(positive) and
the Mahalanobis in-distribution model of the pooled backbone features, both fitted on data the model
did not train on for the threshold, and written into manifest.json by training.export.

Platt scaling: Platt, "Probabilistic outputs for support vector machines", 1999; ECE: Guo et al.,
"On calibration of modern neural networks", ICML 2017. Feature-space Mahalanobis OOD: Lee et al.,
NeurIPS 2018; the covariance is shrunk (Ledoit & Wolf 2004) because F features are fitted on a few
hundred scans.
"""
from __future__ import annotations

import numpy as np
from sklearn.covariance import LedoitWolf

EPS = 1e-12


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def fit_platt(p: np.ndarray, y: np.ndarray, l2: float = 1e-3, iters: int = 100) -> tuple[float, float]:
    """(a, b) minimising the log loss of σ(a·logit(p) + b) on (p, y) by Newton's method (2 parameters;
    a small L2 on (a − 1, b) keeps a separable validation set finite)."""
    x, y = logit(p), np.asarray(y, float)
    if len(np.unique(y)) < 2:
        raise ValueError("Platt scaling needs both classes in the calibration set")
    theta = np.array([1.0, 0.0])
    prior = np.array([1.0, 0.0])
    design = np.stack([x, np.ones_like(x)], 1)
    for _ in range(iters):
        q = 1 / (1 + np.exp(-(design @ theta)))
        grad = design.T @ (q - y) + l2 * len(y) * (theta - prior)
        hess = design.T @ (design * (q * (1 - q))[:, None]) + l2 * len(y) * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-12:
            break
    a, b = float(theta[0]), float(theta[1])
    if a <= 0:
        raise ValueError(f"Platt slope {a:.3g} ≤ 0: the model's probabilities are not ordered with the labels")
    return a, b


def platt(p: np.ndarray, a: float, b: float) -> np.ndarray:
    """The same map as src/core/guard/calibration.ts."""
    return 1 / (1 + np.exp(-(a * logit(p) + b)))


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-width bins of predicted P: count, mean prediction, observed positive rate."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return [
        {
            "lo": k / bins,
            "hi": (k + 1) / bins,
            "n": int((idx == k).sum()),
            "mean_p": float(p[idx == k].mean()) if (idx == k).any() else None,
            "rate": float(y[idx == k].mean()) if (idx == k).any() else None,
        }
        for k in range(bins)
    ]


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: Σ_bins n_b/N · |rate_b − mean_p_b|."""
    n = len(p)
    return float(sum(b["n"] / n * abs(b["rate"] - b["mean_p"]) for b in reliability(p, y, bins) if b["n"]))


def calibration_entry(p: np.ndarray, y: np.ndarray, fitted_on: str) -> dict:
    """manifest.json's `calibration`."""
    a, b = fit_platt(p, y)
    return {
        "method": "platt",
        "a": a,
        "b": b,
        "fitted_on": fitted_on,
        "ece_before": ece(p, y),
        "ece_after": ece(platt(p, a, b), y),
    }


def fit_whitening(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, W) with W Σ Wᵀ = I for the Ledoit–Wolf shrunk covariance Σ of the training features."""
    lw = LedoitWolf().fit(np.asarray(train, float))
    vals, vecs = np.linalg.eigh(lw.covariance_)
    w = (vecs / np.sqrt(np.maximum(vals, EPS))).T
    return lw.location_, w


def ood_scores(feats: np.ndarray, mean: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The same score as src/core/guard/ood.ts: ‖W (x − μ)‖ / √F."""
    z = (np.asarray(feats, float) - mean) @ w.T
    return np.sqrt((z**2).sum(1) / len(mean))


def ood_entry(train: np.ndarray, val: np.ndarray, fitted_on: str, pass_rate: float = 0.95) -> dict:
    """manifest.json's `ood`: the threshold is the smallest score that lets `pass_rate` of validation pass."""
    mean, w = fit_whitening(train)
    s = np.sort(ood_scores(val, mean, w))
    threshold = float(s[int(np.ceil(pass_rate * len(s))) - 1])
    return {
        "method": "mahalanobis",
        "mean": mean.tolist(),
        "whitening": w.tolist(),
        "threshold": threshold,
        "validation_pass_rate": float((s <= threshold).mean()),
        "fitted_on": fitted_on,
    }
