"""TSC lesions of one patient: tubers, radial migration lines, subependymal nodules (rules in synth/lesions.py)."""
from __future__ import annotations

import numpy as np

from . import anatomy
from .contrast import Contrast, myelination
from .lesions import Canvas, ellipsoid, gradient_at, pick, random_rotation, tube, wedge


def tuber_count(difficulty: str, rng: np.random.Generator) -> int:
    """1–3 (subtle), else lognormal around 9 clipped to 2–40 (the issue's 1–40 range)."""
    if difficulty == "subtle":
        return int(rng.integers(1, 4))
    return int(np.clip(round(rng.lognormal(np.log(9), 0.6)), 2, 40))


def tuber_signal(c: Contrast, age: float, difficulty: str, rng: np.random.Generator) -> float:
    """Hyperintense to myelinated WM; in infants darker than the (bright) unmyelinated WM around it."""
    lo, hi = (
        ((1.25, 1.45) if difficulty == "subtle" else (1.4, 1.9))
        if c.sequence == "FLAIR"
        else ((1.35, 1.6) if difficulty == "subtle" else (1.5, 2.3))
    )
    adult = rng.uniform(lo, hi)
    m = myelination(age)
    return float(m * adult + (1 - m) * 0.8 * c.wm)


def draw(canvas: Canvas, c: Contrast, age: float, difficulty: str, rng: np.random.Generator) -> None:
    a = anatomy.load()
    restrict = anatomy.parenchyma()
    small = difficulty == "subtle"
    tubers = []
    for _ in range(tuber_count(difficulty, rng)):
        for _ in range(5):
            centre = pick("tuber", rng)
            normal = gradient_at(a.dist_gm_mm, centre)  # points from cortex into WM
            radius = rng.uniform(2.5, 5) if small else rng.uniform(3.5, 10)
            depth = rng.uniform(4, 9) if small else rng.uniform(6, 22)
            sig = tuber_signal(c, age, difficulty, rng)
            cortex_sig = 0.5 * (c.gm + sig)
            if wedge(canvas, centre, normal, radius, depth, sig, cortex_sig, rng, restrict):
                tubers.append((centre, normal, depth, sig))
                break
    # Radial migration lines: a thin band from a tuber's apex to the nearest ventricle wall.
    if not small:
        for centre, normal, depth, sig in tubers:
            if rng.random() < 0.3:
                apex = np.clip(np.round(centre + normal * depth), 0, np.array(a.shape) - 1).astype(int)
                target = a.nearest_vent[(slice(None),) + tuple(apex)].astype(float)
                tube(canvas, apex.astype(float), target, rng.uniform(0.6, 1.1), 0.85 * sig, restrict, "migration_line")
    # Subependymal nodules: present in most patients, several per patient, calcified more with age.
    if rng.random() < (0.4 if small else 0.85):
        for _ in range(int(rng.integers(1, 3 if small else 11))):
            centre = pick("sen", rng)
            r = rng.uniform(1.5, 3.0) if small else rng.uniform(1.5, 5.0)
            calcified = rng.random() < 0.15 + 0.5 * min(age / 18, 1)
            if c.sequence == "FLAIR":
                sig = rng.uniform(0.35, 0.7) if calcified else rng.uniform(1.1, 1.5)
            else:
                sig = rng.uniform(0.2, 0.5) if calcified else rng.uniform(1.0, 1.4)
            ellipsoid(
                canvas,
                centre,
                np.full(3, r) * rng.uniform(0.8, 1.0, 3),
                random_rotation(rng),
                float(sig),
                rng,
                None,
                "sen_calcified" if calcified else "sen",
                rough=0.08,
            )
