"""One subject: demographics, anatomy deformation, lesions, contrast and acquisition → scan + lesion mask.

Random streams are split so that the same (seed, task, index) is the same person in every sequence
(age, sex, head shape, lesions) while contrast, grid and noise are drawn per sequence; paired mode
reuses every stream and only leaves the lesions out. No stream is keyed by the label. Each subject is
rendered in one of two modes: "calibrated" (the look measured on real scans) or "randomised" (wide
appearance ranges, synth/randomised.py).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
from scipy import ndimage as ndi

from . import acquisition as acq
from . import anatomy, confounders, ms, randomised as rnd, tsc
from .contrast import Contrast, sample_contrast
from .lesions import Canvas, Lesion

TASKS = {"tsc": 1, "ms": 2}
SEQ_CODE = {"FLAIR": 1, "T2w": 2, "sliceaxial": 11, "slicesagittal": 12}
STREAM = {"person": 1, "contrast": 2, "grid": 3, "noise": 4, "mode": 5}
MODES = ("calibrated", "randomised")


@dataclasses.dataclass(frozen=True)
class Person:
    index: int
    label: int
    age: float
    sex: str
    difficulty: str  # healthy | subtle | typical | high
    scale: np.ndarray  # per-axis head scale (x, y, z)
    pose_deg: np.ndarray
    pose_mm: np.ndarray
    ventricle_k: float  # > 0 enlarges the ventricles
    control: np.ndarray  # (3, 6, 7, 7) smooth displacement control points, mm


@dataclasses.dataclass
class Rendered:
    scan: np.ndarray  # stored integers
    scan_paired: np.ndarray | None
    mask: np.ndarray  # uint8 lesion mask on the scan grid
    grid: acq.Grid
    storage: acq.Storage
    lesions: list[Lesion]
    skull_stripped: bool
    snr: float
    ghosting: bool
    contrast: Contrast
    plan: Plan


def rng_for(seed: int, task: str, index: int, stream: str, sequence: str = "") -> np.random.Generator:
    key = [int(seed), TASKS[task], int(index), STREAM[stream], SEQ_CODE.get(sequence, 0)]
    return np.random.default_rng(key)


def label_of(index: int) -> int:
    """Odd indices are patients, even ones controls."""
    return index % 2


def subject_mode(task: str, sequence: str, index: int, seed: int, randomised: float) -> str:
    """ "randomised" with probability `randomised` (0–1), from a stream keyed without the label."""
    if not 0.0 <= randomised <= 1.0:
        raise ValueError(f"randomised must be a fraction in [0, 1], got {randomised}")
    return MODES[1] if rng_for(seed, task, index, "mode", sequence).random() < randomised else MODES[0]


def brain_scale(age: float) -> float:
    """Linear head scale from brain volume by age: ~61 % of adult volume at 6 months, ~90 % at 2 years
    (Knickmeyer et al., J Neurosci 2008; Lenroot & Giedd, Neurosci Biobehav Rev 2006)."""
    return float((1 - 0.62 * np.exp(-age / 1.1)) ** (1 / 3))


def sample_person(task: str, index: int, seed: int) -> Person:
    rng = rng_for(seed, task, index, "person")
    label = label_of(index)
    if task == "tsc":
        age = float(np.round(rng.uniform(0.5, 18.0), 2))
        sex = "F" if rng.random() < 0.5 else "M"
    else:
        age = float(np.round(np.clip(rng.normal(38, 10), 18, 65), 1))
        sex = "F" if rng.random() < 0.72 else "M"  # MS is ~3:1 female; controls matched
    u = rng.random()
    difficulty = (
        "healthy" if label == 0 else ("subtle" if u < 0.28 else "high" if task == "ms" and u > 0.85 else "typical")
    )
    s = brain_scale(age) if task == "tsc" else 1.0
    s *= rng.normal(1.0, 0.035) * (0.975 if sex == "F" else 1.0)
    scale = s * rng.normal(1.0, 0.025, 3)
    pose_deg = rng.uniform(-1, 1, 3) * np.array([8.0, 4.0, 5.0])
    pose_mm = rng.uniform(-10, 10, 3)
    vk = rng.uniform(-0.12, 0.2)
    if task == "ms":
        vk += 0.005 * (age - 35) + (0.08 if label else 0.0)  # ageing and MS atrophy widen the ventricles
    control = ndi.gaussian_filter(rng.standard_normal((3, 6, 7, 7)), (0, 0.7, 0.7, 0.7)) * rng.uniform(2.0, 4.5)
    return Person(index, label, age, sex, difficulty, scale, pose_deg, pose_mm, float(vk), control.astype(np.float32))


def world_to_template(p: Person) -> np.ndarray:
    """4×4 affine: scanner world mm → template mm (before the non-linear part)."""
    a = anatomy.load()
    rot = acq.rotation_xyz(p.pose_deg)
    cb = a.centre_brain
    m = np.eye(4)
    # world = R (S (x - cb) + cb) + t  ⇒  x = S⁻¹ (Rᵀ (world − t) − cb) + cb
    lin = np.diag(1 / p.scale) @ rot.T
    m[:3, :3] = lin
    m[:3, 3] = -np.diag(1 / p.scale) @ (rot.T @ p.pose_mm + cb) + cb
    return m


def nonlinear_mm(p: Person, x: np.ndarray) -> np.ndarray:
    """Displacement (mm) added to template points x (N, 3): smooth random field + ventricle scaling."""
    a = anatomy.load()
    vox = (x - a.affine[:3, 3]) @ np.linalg.inv(a.affine[:3, :3]).T
    cg = np.array(p.control.shape[1:]) - 1
    pos = (vox / np.array(a.shape) * cg).T
    u = np.stack([ndi.map_coordinates(p.control[d], pos, order=3, mode="nearest") for d in range(3)], 1)
    rel = x - a.centre_vent
    g = np.exp(-0.5 * ((rel / np.array([20.0, 32.0, 20.0])) ** 2).sum(1))
    return u - p.ventricle_k * rel * g[:, None]


def template_coords(p: Person, grid: acq.Grid, w2t: np.ndarray | None = None) -> np.ndarray:
    """(3, *grid.shape) float32 template voxel coordinates of every scan voxel; `w2t` maps the grid's
    world to template mm (default: the person's pose and scale, i.e. scanner placement)."""
    a = anatomy.load()
    w2t = world_to_template(p) if w2t is None else w2t
    tv = np.linalg.inv(a.affine) @ w2t @ grid.affine  # scan index → template voxel (affine)
    step = (4, 4, 1 if not grid.is_3d and grid.orientation != "mni" else 4)
    coarse_axes = [np.unique(np.r_[np.arange(0, n, s), n - 1]) for n, s in zip(grid.shape, step)]
    ci = np.stack(np.meshgrid(*coarse_axes, indexing="ij"), -1).reshape(-1, 3).astype(float)
    x = ci @ (w2t @ grid.affine)[:3, :3].T + (w2t @ grid.affine)[:3, 3]
    du = nonlinear_mm(p, x) @ np.linalg.inv(a.affine[:3, :3]).T  # in template voxels
    du = du.reshape(*[len(c) for c in coarse_axes], 3)
    out = np.empty((3,) + grid.shape, np.float32)
    idx = [np.arange(n, dtype=np.float32) for n in grid.shape]
    for d in range(3):
        full = _upsample(du[..., d].astype(np.float32), coarse_axes, grid.shape)
        lin = (
            tv[d, 0] * idx[0][:, None, None]
            + tv[d, 1] * idx[1][None, :, None]
            + tv[d, 2] * idx[2][None, None, :]
            + tv[d, 3]
        ).astype(np.float32)
        out[d] = lin + full
    return out


def _upsample(coarse: np.ndarray, axes: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """Separable linear interpolation from coarse sample positions to every index."""
    out = coarse
    for ax, (pos, n) in enumerate(zip(axes, shape)):
        if len(pos) == n:
            continue
        full = np.arange(n, dtype=np.float32)
        j = np.clip(np.searchsorted(pos, full, side="right") - 1, 0, len(pos) - 2)
        w = ((full - pos[j]) / (pos[j + 1] - pos[j])).astype(np.float32)
        lo = np.take(out, j, axis=ax)
        hi = np.take(out, j + 1, axis=ax)
        sh = [1] * out.ndim
        sh[ax] = n
        out = lo + (hi - lo) * w.reshape(sh)
    return out


def _slice_blur(vol: np.ndarray, grid: acq.Grid, p: Person, profile: str = "gaussian") -> np.ndarray:
    """Slice profile along the template axis nearest the slice normal: a Gaussian with the variance of
    the slice thickness' rectangle, or the rectangle itself ("box"); in-plane a Gaussian of the pixel."""
    normal = grid.affine[:3, 2] / np.linalg.norm(grid.affine[:3, 2])
    axis = int(np.argmax(np.abs(normal)))
    sigma = grid.thickness_mm / np.sqrt(12) / float(p.scale[axis])
    inplane = max(grid.inplane_mm, 0.8) / np.sqrt(12)
    sig = [inplane] * 3
    if profile == "box":
        width = max(int(round(grid.thickness_mm / float(p.scale[axis]))), 1)
        return ndi.uniform_filter1d(ndi.gaussian_filter(vol, sig, truncate=2.5), width, axis=axis)
    sig[axis] = max(sigma, inplane)
    return ndi.gaussian_filter(vol, sig, truncate=2.5)


@functools.lru_cache(maxsize=1)
def _head_box_mm() -> tuple[np.ndarray, np.ndarray]:
    """Template world corners (low, high) of the head above the padded neck (z sampled every 2 mm)."""
    a = anatomy.load()
    head = np.argwhere(a.tissue[:, :, anatomy.NECK_MM :: 2] > 0)
    lo, hi = head.min(0), head.max(0)
    to_vox = lambda v: np.array([v[0], v[1], anatomy.NECK_MM + 2 * v[2]], float)
    return a.affine[:3, :3] @ to_vox(lo) + a.affine[:3, 3], a.affine[:3, :3] @ to_vox(hi) + a.affine[:3, 3]


def head_extent_mm() -> np.ndarray:
    """Size (x, y, z) of the template head above the padded neck, mm."""
    lo, hi = _head_box_mm()
    return (hi - lo).astype(float)


@dataclasses.dataclass
class Plan:
    """The look drawn for a subject and sequence (contrast, acquisition, storage); cheap, so cohorts can
    be searched by it. `rng` continues the grid stream (bias field)."""

    grid: acq.Grid  # the stored grid
    storage: acq.Storage
    skull_stripped: bool
    snr: float
    ghosting: bool
    ghost_amp: float
    rng: np.random.Generator
    contrast: Contrast
    bias: float  # max |log| of the bias field's quadratic part
    mode: str = MODES[0]
    # Randomised mode only (the defaults are the calibrated mode's fixed choices):
    native: acq.Grid | None = None  # set for template placement: the acquisition grid
    to_template: np.ndarray | None = None  # template placement: stored world → template mm
    coverage: str = "full"  # full | no_vertex | no_cerebellum
    stripping: str = "none"  # none | hard | bad
    strip: dict | None = None  # bad stripping's parameters (randomised.sample_stripping)
    profile: str = "gaussian"  # slice profile: gaussian | box
    gamma: float = 1.0
    lumpy: float = 0.0  # bias field: amplitude of its smooth random part
    ghost_shift: float = 0.5  # ghost offset, fraction of the field of view

    @property
    def placement(self) -> str:
        return "native" if self.native is None else "mni"

    @property
    def acquired(self) -> acq.Grid:
        """The grid the scanner acquired (slice profile, in-plane blur)."""
        return self.grid if self.native is None else self.native


def plan_acquisition(
    task: str, sequence: str, index: int, seed: int, coarsen: float = 1.0, randomised: float = 0.0
) -> Plan:
    """The subject's look; `randomised` is the probability of the randomised mode (drawn per subject)."""
    mode = subject_mode(task, sequence, index, seed, randomised)
    p = sample_person(task, index, seed)
    g = rng_for(seed, task, index, "grid", sequence)
    crng = rng_for(seed, task, index, "contrast", sequence)
    centre = anatomy.load().centre_brain + p.pose_mm  # the brain centre is the pose's rotation centre
    if mode == MODES[1]:
        return _plan_randomised(p, sequence, g, crng, centre, coarsen)
    c = sample_contrast(sequence, p.age, crng)
    grid = acq.sample_grid(g, head_extent_mm() * p.scale, centre, coarsen)
    storage = acq.sample_storage(g)
    stripped = bool(g.random() < 0.2)
    snr = float(g.uniform(12, 60))
    ghosting = bool(g.random() < 0.1)
    ghost_amp = float(g.uniform(0.03, 0.1))
    bias = float(g.uniform(0.05, 0.3))
    return Plan(grid, storage, stripped, snr, ghosting, ghost_amp, g, c, bias, stripping="hard" if stripped else "none")


def _plan_randomised(
    p: Person, sequence: str, g: np.random.Generator, crng: np.random.Generator, centre: np.ndarray, coarsen: float
) -> Plan:
    a = anatomy.load()
    c = rnd.sample_contrast(sequence, p.age, crng)
    lo, hi = _head_box_mm()
    head_z = tuple(float(centre[2] + (z - a.centre_brain[2]) * p.scale[2]) for z in (lo[2], hi[2]))
    native, coverage = rnd.sample_grid(g, head_extent_mm() * p.scale, centre, head_z, coarsen)
    grid, to_template = native, None
    registered = bool(g.random() < 0.25)
    if registered:
        grid = rnd.mni_grid(g, native, coarsen)
        to_template = rnd.registration_residual(g, a.centre_brain)
    profile = "box" if g.random() < 0.5 else "gaussian"
    stripping, strip = rnd.sample_stripping(g, registered)
    snr = rnd.log_uniform(g, *rnd.SNR)
    gamma = rnd.log_uniform(g, *rnd.GAMMA)
    ghosting = bool(g.random() < 0.2)
    ghost_amp, ghost_shift = float(g.uniform(0.02, 0.15)), float(g.choice([1 / 2, 1 / 3, 1 / 4]))
    bias, lumpy = float(g.uniform(0.1, 0.6)), float(g.uniform(0.0, 0.3))
    storage = rnd.sample_storage(g, max(c.csf, c.gm, c.wm, c.fat), gamma)
    return Plan(
        grid,
        storage,
        stripping != "none",
        snr,
        ghosting,
        ghost_amp,
        g,
        c,
        bias,
        MODES[1],
        native if registered else None,
        to_template,
        coverage,
        stripping,
        strip,
        profile,
        gamma,
        lumpy,
        ghost_shift,
    )


def scan_coords(p: Person, plan: Plan) -> np.ndarray:
    return template_coords(p, plan.grid, plan.to_template)


def _keep_mask(p: Person, plan: Plan, coords: np.ndarray, brain) -> np.ndarray | None:
    """Randomised mode: the voxels left non-zero by skull stripping and, on a template grid, by the native
    field of view; None when all are kept. `brain()` gives the hard brain mask."""
    parts = []
    if plan.stripping == "hard":
        parts.append(brain())
    elif plan.stripping == "bad":
        parts.append(rnd.bad_strip_mask(coords, plan.strip))
    if plan.native is not None:
        to_native_world = np.linalg.inv(world_to_template(p)) @ plan.to_template @ plan.grid.affine
        parts.append(rnd.coverage_mask(plan.grid, plan.native, to_native_world))
    return np.logical_and.reduce(parts) if parts else None


def _noise_sigma_vox(plan: Plan) -> list[float]:
    """Template placement: noise correlation of a resampled acquisition, per stored axis (voxels)."""
    n = plan.native
    normal = np.abs(n.affine[:3, 2]) / np.linalg.norm(n.affine[:3, 2])
    step = float(np.abs(plan.grid.affine[0, 0]))
    sig = [0.4 * max(n.inplane_mm, step) / step] * 3
    sig[int(np.argmax(normal))] = 0.4 * max(n.thickness_mm, step) / step
    return sig


def render(
    task: str, sequence: str, index: int, seed: int, paired: bool = False, coarsen: float = 1.0, randomised: float = 0.0
) -> tuple[Person, Rendered]:
    a = anatomy.load()
    p = sample_person(task, index, seed)
    prng = rng_for(seed, task, index, "person")
    # Lesions continue the person stream after a fixed skip, so they do not depend on the sequence.
    # The skip is shorter than what sample_person draws, so lesion draws reuse bits of the deformation
    # noise: harmless (nothing a model sees is coupled to the label), kept so 1.0.0 cohorts reproduce.
    prng.random(64)
    plan = plan_acquisition(task, sequence, index, seed, coarsen, randomised)
    c = plan.contrast

    # Tissue signal on the template, then confounders (for everyone), then lesions (patients).
    base = np.where(a.brain, c.brain_lut()[a.t1], c.head_lut()[a.t1]).astype(np.float32)
    conf = Canvas(a.shape)
    confounders.draw(conf, c, p.age, prng)
    base += conf.frac * (conf.signal - base)
    les = Canvas(a.shape)
    if p.label == 1:
        if task == "tsc":
            tsc.draw(les, c, p.age, p.difficulty, prng)
        else:
            ms.draw(les, sequence, p.difficulty, prng)

    grid, storage, stripped, snr, ghosting, ghost_amp = (
        plan.grid,
        plan.storage,
        plan.skull_stripped,
        plan.snr,
        plan.ghosting,
        plan.ghost_amp,
    )
    calibrated = plan.mode == MODES[0]
    if calibrated:
        bias = acq.bias_field(grid, plan.rng, plan.bias)
    else:
        bias = rnd.bias_field(grid, plan.rng, plan.bias, plan.lumpy)

    coords = scan_coords(p, plan)
    sample = lambda vol: ndi.map_coordinates(vol, coords, order=1, mode="constant", cval=0.0, output=np.float32)
    blur = lambda vol: _slice_blur(vol, plan.acquired, p, plan.profile)
    clean = sample(blur(base))
    if les.lesions:
        frac = sample(blur(les.frac))
        fsig = sample(blur(les.frac * les.signal))
        with_lesions = clean * (1 - frac) + fsig
        mask = frac >= 0.5
        if not mask.any():  # a small lesion between thick slices: keep its most-covered voxels
            mask = frac >= 0.5 * frac.max()
    else:
        with_lesions = clean
        mask = np.zeros(grid.shape, bool)
    brain_mask = lambda: sample(a.brain.astype(np.float32)) >= 0.5
    if calibrated:
        keep = brain_mask() if stripped else None
    else:
        keep = _keep_mask(p, plan, coords, brain_mask)
        if keep is not None:
            mask &= keep  # a lesion cut away by stripping or the field of view is not in the image either

    nrng = rng_for(seed, task, index, "noise", sequence)
    # Calibrated: noise in physical units; randomised: relative to WM, scaled after the gamma.
    n1, n2 = acq.rician(clean, storage.white / snr if calibrated else 1.0 / snr, nrng)
    pe_axis = int(nrng.integers(0, 2))
    if plan.native is not None:
        sig = _noise_sigma_vox(plan)
        n1, n2 = rnd.smooth_noise(n1, sig), rnd.smooth_noise(n2, sig)

    def finish(img: np.ndarray) -> np.ndarray:
        img = img * bias
        if calibrated:
            if ghosting:
                img = acq.ghost(img, ghost_amp, pe_axis)
            phys = acq.magnitude(img * storage.white, n1, n2)
        else:
            if ghosting:
                img = rnd.ghost(img, ghost_amp, pe_axis, plan.ghost_shift)
            phys = acq.magnitude(img, n1, n2) ** np.float32(plan.gamma) * np.float32(storage.white)
        if keep is not None:
            phys = phys * keep
        return acq.quantise(phys, storage)

    scan = finish(with_lesions)
    scan_paired = finish(clean) if paired and p.label == 1 else None
    return p, Rendered(
        scan, scan_paired, mask.astype(np.uint8), grid, storage, les.lesions, stripped, snr, ghosting, c, plan
    )


def tissue_on_grid(
    task: str, sequence: str, index: int, seed: int, coarsen: float = 1.0, randomised: float = 0.0
) -> np.ndarray:
    """The template tissue classes carried onto the subject's scan grid (nearest neighbour), for checks."""
    plan = plan_acquisition(task, sequence, index, seed, coarsen, randomised)
    coords = scan_coords(sample_person(task, index, seed), plan)
    return ndi.map_coordinates(anatomy.load().tissue, coords, order=0, mode="constant", cval=0)
