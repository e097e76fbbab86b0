"""Findings that healthy subjects have too, at realistic rates, so "any bright spot" is no perfect rule.

- Enlarged perivascular spaces: CSF-like dots and short tubes in the basal ganglia and centrum
  semiovale, more with age (Doubal et al., Stroke 2010; in children too, Groeschel et al. 2006).
- Non-specific white-matter hyperintensities: a few small foci, rising with age (Wardlaw et al.,
  Lancet Neurol 2013, STRIVE); rare in children.
Both are painted on the confounder canvas (not part of the lesion mask) for patients and controls alike.
Motion ghosting is added at acquisition (synth/acquisition.py).
"""
from __future__ import annotations

import numpy as np

from . import anatomy
from .contrast import Contrast
from .lesions import Canvas, ellipsoid, pick, random_rotation, tube


def draw(canvas: Canvas, c: Contrast, age: float, rng: np.random.Generator) -> None:
    a = anatomy.load()
    restrict = anatomy.parenchyma()
    if rng.random() < 0.25 + 0.01 * age:
        for _ in range(int(rng.integers(2, 16))):
            p0 = pick("pvs", rng)
            p1 = p0 + rng.standard_normal(3) * np.array([1.0, 1.0, 3.0]) * rng.uniform(1, 3)
            tube(canvas, p0, p1, rng.uniform(0.6, 1.3), c.csf, restrict, "pvs")
    p_wmh = 0.05 if age < 18 else 0.1 + 0.5 * np.clip((age - 20) / 45, 0, 1)
    if rng.random() < p_wmh:
        for _ in range(int(rng.integers(1, 5))):
            d = rng.uniform(2.0, 4.5)
            sig = rng.uniform(1.25, 1.7) if c.sequence == "FLAIR" else rng.uniform(1.4, 2.0)
            ellipsoid(
                canvas,
                pick("wmh", rng),
                np.full(3, d / 2) * rng.uniform(0.7, 1, 3),
                random_rotation(rng),
                float(sig),
                rng,
                restrict,
                "wmh",
            )
