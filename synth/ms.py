"""MS lesion load of one patient: counts, sizes, sites and signals (rules in synth/lesions.py)."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from . import anatomy
from .lesions import Canvas, ellipsoid, frame_along, gradient_at, pick, random_rotation

# Share of lesions per site (periventricular lesions dominate; e.g. Filippi et al. 2016).
SITES = {"periventricular": 0.42, "juxtacortical": 0.2, "deep_wm": 0.28, "infratentorial": 0.1}


def lesion_count(difficulty: str, rng: np.random.Generator) -> int:
    """1–3 (subtle), lognormal around 12 clipped to 2–40 (typical), 30–60 (high load)."""
    if difficulty == "subtle":
        return int(rng.integers(1, 4))
    if difficulty == "high":
        return int(rng.integers(30, 61))
    return int(np.clip(round(rng.lognormal(np.log(12), 0.6)), 2, 40))


def lesion_signal(sequence: str, difficulty: str, rng: np.random.Generator) -> float:
    """Relative to adult WM; measured MS FLAIR tail ≈ 1.55 WM (synth/calibration.json)."""
    if sequence == "FLAIR":
        return float(rng.uniform(1.25, 1.45) if difficulty == "subtle" else rng.uniform(1.4, 2.0))
    return float(rng.uniform(1.35, 1.6) if difficulty == "subtle" else rng.uniform(1.6, 2.5))


def diameter_mm(site: str, difficulty: str, rng: np.random.Generator) -> float:
    """Lesion diameter: 3–20 mm, median ~5.5 mm; smaller infratentorially and in subtle cases."""
    hi = {"infratentorial": 10.0, "juxtacortical": 12.0, "periventricular": 12.0}.get(site, 20.0)
    if difficulty == "subtle":
        hi = min(hi, 6.0)
    return float(np.clip(rng.lognormal(np.log(5.5), 0.45), 3.0, hi))


def draw(canvas: Canvas, sequence: str, difficulty: str, rng: np.random.Generator) -> None:
    a = anatomy.load()
    restrict = anatomy.parenchyma()
    n = lesion_count(difficulty, rng)
    sites = rng.choice(list(SITES), size=n, p=list(SITES.values()))
    for site in sites:
        sig = lesion_signal(sequence, difficulty, rng)
        d = diameter_mm(site, difficulty, rng)
        for _ in range(5):  # a lesion fully hidden by CSF is redrawn elsewhere
            c = pick(site, rng)
            if site == "periventricular":
                # Ovoid, long axis along the ventricle's normal; centred so it abuts the wall.
                long = d / 2
                short = max(1.5, long / rng.uniform(1.5, 2.5))
                normal = gradient_at(a.dist_vent_mm, c)
                c = c + normal * (0.45 * long - a.dist_vent_mm[tuple(c.astype(int))] + rng.uniform(0.5, 1.5))
                ok = ellipsoid(
                    canvas, c, np.array([long, short, short]), frame_along(normal, rng), sig, rng, restrict, site
                )
            else:
                axes = d / 2 * rng.uniform(0.7, 1.0, 3)
                axes[0] = d / 2
                where = anatomy.infratentorial() if site == "infratentorial" else restrict
                ok = ellipsoid(canvas, c, np.maximum(axes, 1.5), random_rotation(rng), sig, rng, where, site)
            if ok:
                break
    if difficulty == "high":
        confluent_caps(canvas, sequence, rng)


def confluent_caps(canvas: Canvas, sequence: str, rng: np.random.Generator) -> None:
    """High load: periventricular lesions merge into caps/bands 1.5–6.5 mm thick along parts of the wall."""
    a = anatomy.load()
    near = a.dist_vent_mm < 12
    idx = np.argwhere(near)
    box = tuple(slice(int(lo), int(hi) + 1) for lo, hi in zip(idx.min(0), idx.max(0)))
    shape = a.dist_vent_mm[box].shape
    noise = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 6)
    noise /= noise.std() + 1e-6
    keep = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 8)
    keep /= keep.std() + 1e-6
    thick = 1.5 + 2.5 * np.clip(noise + 1, 0, 2)
    frac = np.clip(0.5 + (thick - a.dist_vent_mm[box]) / 1.5, 0, 1) * np.clip(2 * keep - 0.2, 0, 1)
    frac = (frac * anatomy.parenchyma()[box] * near[box]).astype(np.float32)
    centre = np.array([(s.start + s.stop) / 2 for s in box])
    canvas.paint(box, frac, lesion_signal(sequence, "typical", rng), "confluent", centre, 0.0)
