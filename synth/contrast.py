"""Tissue contrast: FLAIR and T2w signal per tissue, by age, calibrated against real scans.

Signals are relative to adult white matter (WM = 1). The adult means come from synth/calibration.json
(measured on the real scans by synth.calibrate, see docs/synth.md); each subject draws its own ratios
around them. Partial volume comes from the template T1: a voxel's T1 value is read as a mixture of the
CSF, GM and WM class centres, and its signal is the same mixture of the class signals (a lookup table).

Myelination (paediatric TSC cohort): unmyelinated white matter has long T2, so in infants WM is
brighter than cortex on T2w and FLAIR and the GM/WM contrast is inverted; it reaches the adult pattern
over the first two years (Barkovich et al., Radiology 1988; Dubois et al., Neuroscience 2014).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import pathlib

import numpy as np

from .anatomy import T1_CENTRES

CALIBRATION = pathlib.Path(__file__).resolve().parent / "calibration.json"
SEQUENCES = ("FLAIR", "T2w")


@functools.lru_cache(maxsize=1)
def calibrated_ratios() -> dict[str, dict[str, float]]:
    """Mean GM/WM and CSF/WM ratios per sequence over the real scans of that contrast."""
    scans = json.loads(CALIBRATION.read_text())["scans"]
    out: dict[str, dict[str, float]] = {}
    for seq in SEQUENCES:
        rs = [s["ratios_to_wm"] for s in scans if s["sequence"] == seq]
        out[seq] = {k: float(np.mean([r[k] for r in rs])) for k in ("GM", "CSF")}
    return out


# Ranges a generated adult subject's ratios are drawn from (uniform), around the calibrated means.
# T2w CSF: the measured 2.47 is a lower bound (partial volume in 4 mm slices); pure CSF is brighter.
SPREAD = {"GM": 0.06, "CSF_T2w": (2.6, 4.0)}
# Partial-volume correction of the cortex signal: the estimator sees cortex mixed with the sulcal CSF
# beside it, which is dark on FLAIR, so the true cortex/WM ratio of the real scans is higher than the
# one measured. The factor was tuned so that synth.calibrate's estimator on phantoms returns the
# real scans' value (docs/synth.md, "Calibration loop"); on T2w the two effects cancel.
GM_PV_CORRECTION = {"FLAIR": 1.18, "T2w": 1.0}


@dataclasses.dataclass(frozen=True)
class Contrast:
    """Signals of one subject, relative to adult WM."""

    sequence: str
    csf: float
    gm: float
    wm: float
    fat: float
    muscle: float
    bone: float

    def brain_lut(self) -> np.ndarray:
        """Signal for each T1 value 0..255 inside the intracranial space (CSF–GM–WM mixture)."""
        c = T1_CENTRES
        x = [0.0, c["csf"], c["gm"], c["wm"], 255.0]
        y = [self.csf, self.csf, self.gm, self.wm, self.wm]
        return np.interp(np.arange(256), x, y).astype(np.float32)

    def head_lut(self) -> np.ndarray:
        """Signal for each T1 value outside the skull: air/bone dark, muscle mid, fat (bright on T1) bright."""
        x = [0.0, 12.0, 35.0, 70.0, 110.0, 150.0, 255.0]
        y = [0.0, 0.0, self.bone, self.muscle, 0.5 * (self.muscle + self.fat), self.fat, self.fat]
        return np.interp(np.arange(256), x, y).astype(np.float32)


def myelination(age_years: float) -> float:
    """0 at birth → 1 adult: fraction of the adult T2 shortening of white matter."""
    return float(1.0 - np.exp(-max(age_years, 0.0) / 1.0))


def sample_contrast(sequence: str, age_years: float, rng: np.random.Generator) -> Contrast:
    if sequence not in SEQUENCES:
        raise ValueError(f"sequence must be one of {SEQUENCES}, got {sequence!r}")
    cal = calibrated_ratios()[sequence]
    gm = cal["GM"] * GM_PV_CORRECTION[sequence] * (1 + rng.uniform(-SPREAD["GM"], SPREAD["GM"]))
    if sequence == "FLAIR":
        csf = cal["CSF"] * (1 + rng.uniform(-0.25, 0.25))
        fat, muscle, bone = rng.uniform(0.7, 1.2), rng.uniform(0.4, 0.65), rng.uniform(0.03, 0.12)
    else:
        csf = rng.uniform(*SPREAD["CSF_T2w"])
        fat, muscle, bone = rng.uniform(2.0, 3.2), rng.uniform(0.6, 0.9), rng.uniform(0.05, 0.15)
    m = myelination(age_years)
    # Unmyelinated WM is brighter than cortex on both (Barkovich et al. 1988): 1.4 × the adult cortex;
    # with the cortex's own immaturity below, the two cross at 0.6–0.8 years.
    wm = 1.0 + (1.4 * gm - 1.0) * (1 - m)
    gm_age = gm * (1 + 0.12 * (1 - m))  # immature cortex also has longer T2
    return Contrast(
        sequence, csf=float(csf), gm=float(gm_age), wm=float(wm), fat=float(fat), muscle=float(muscle), bone=float(bone)
    )
