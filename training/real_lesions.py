"""Lesions on real scans: a candidate map, a lesion-removed twin, and synthetic lesions inserted.

Real clinical scans come in any orientation, voxel size (thick 2D slices) and storage type, with or
without skull. Everything here works on the stored voxel grid with distances in mm through the voxel
sizes, so a 0.7 × 0.7 × 4 mm FLAIR and a 1 mm isotropic one are treated alike; only "which way is up"
(for the posterior fossa) is read from the affine.

- `tissue_model`: brain mask (threshold + erosion + largest component + dilation, holes filled),
  white matter as the mode of the deep brain's histogram with its bias followed locally
  (normalised convolution over white-matter-like voxels), and every voxel's robust z-score against
  the local white matter.
- `candidate_map`: FLAIR voxels hyperintense to the normal-appearing white matter (hysteresis on the
  z-score), away from the brain's outer rim (cortex, skull-strip edge) and from the posterior fossa
  (CSF-flow artefacts), in components of a minimum size that lie against white matter.
- `inpaint`: fills a region from the surrounding normal-appearing white matter (normalised
  convolution at growing scales) plus real white-matter texture copied from elsewhere in the same scan,
  so the filled region keeps the scan's noise: a "lesion-removed twin".
- `insert_lesions`: MS-like (periventricular ovoids, juxtacortical, deep, infratentorial; 3–15 mm)
  or TSC-like (cortical/subcortical tubers, subependymal nodules) lesions with intensities relative
  to the local white matter (ranges of synth/ms.py and synth/tsc.py), each lesion's partial volume
  averaged over the voxel's extent, so a thick slice sees a faint profile. Returns the lesion mask.

    /usr/bin/python3 -m training.real_lesions candidates SCAN --out MASK [--sequence FLAIR]
    /usr/bin/python3 -m training.real_lesions inpaint SCAN --mask MASK --out TWIN [--seed 0]
    /usr/bin/python3 -m training.real_lesions insert SCAN --out OUT --mask_out MASK [--kind ms|tsc]
        [--sequence FLAIR|T2w] [--n N] [--seed 0]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

import numpy as np
from scipy import ndimage as ndi

SEQUENCES = ("FLAIR", "T2w")
# Lesion signal relative to the local white matter: the ranges synth draws from (synth/ms.py, synth/tsc.py),
# so inserted lesions match the phantoms' and the measured MS FLAIR tail (≈ 1.55 WM, synth/calibration.json).
MS_SIGNAL = {"FLAIR": (1.4, 2.0), "T2w": (1.6, 2.5)}
TUBER_SIGNAL = {"FLAIR": (1.4, 1.9), "T2w": (1.5, 2.3)}
SEN_SIGNAL = {"FLAIR": ((1.1, 1.5), (0.35, 0.7)), "T2w": ((1.0, 1.4), (0.2, 0.5))}  # (non-calcified, calcified)
MS_SITES = {"periventricular": 0.42, "juxtacortical": 0.2, "deep_wm": 0.28, "infratentorial": 0.1}


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def ellipsoid_element(radius_mm: float, zooms) -> np.ndarray:
    """A ball of radius_mm as a voxel structuring element: an axis whose voxels exceed the radius gets width 1."""
    r = [int(radius_mm // z) for z in zooms]
    grid = np.ogrid[tuple(slice(-k, k + 1) for k in r)]
    d2 = sum((g * z / max(radius_mm, 1e-6)) ** 2 for g, z in zip(grid, zooms))
    return d2 <= 1.0


def gauss(vol: np.ndarray, sigma_mm: float, zooms) -> np.ndarray:
    return ndi.gaussian_filter(vol.astype(np.float32), [sigma_mm / z for z in zooms], mode="nearest")


def norm_conv(vol: np.ndarray, weight: np.ndarray, sigma_mm: float, zooms) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian average of vol over the voxels where weight is set, and the covered share of the kernel."""
    w = gauss(weight.astype(np.float32), sigma_mm, zooms)
    s = gauss(np.where(weight, vol, 0).astype(np.float32), sigma_mm, zooms)
    return s / np.maximum(w, 1e-6), w


def otsu(values: np.ndarray, bins: int = 256) -> float:
    h, edges = np.histogram(values, bins=bins)
    mid = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(h)
    w1 = w0[-1] - w0
    m0 = np.cumsum(h * mid) / np.maximum(w0, 1)
    m1 = (np.sum(h * mid) - np.cumsum(h * mid)) / np.maximum(w1, 1)
    return float(mid[np.argmax(w0 * w1 * (m0 - m1) ** 2)])


def slice_axis(zooms) -> int:
    """The acquisition's slice axis: the coarsest one (any axis for isotropic voxels)."""
    return int(np.argmax(zooms))


def fill_holes(mask: np.ndarray, zooms) -> np.ndarray:
    """3D hole filling, then per slice along the coarsest axis (ventricles open at a slab's edge)."""
    out = ndi.binary_fill_holes(mask)
    ax = slice_axis(zooms)
    for k in range(out.shape[ax]):
        idx = [slice(None)] * 3
        idx[ax] = k
        out[tuple(idx)] = ndi.binary_fill_holes(out[tuple(idx)])
    return out


def superior_axis(affine: np.ndarray) -> tuple[int, int]:
    """(voxel axis closest to world S, +1 if its index grows towards S else -1)."""
    col = np.asarray(affine)[2, :3]
    ax = int(np.argmax(np.abs(col)))
    return ax, int(np.sign(col[ax]) or 1)


def peak_and_sd(values: np.ndarray) -> tuple[float, float]:
    """Mode of the smoothed histogram and the SD from its lower half width (the side away from GM on FLAIR and
    T2w, where WM is the darker of the two and CSF lies far below on FLAIR / far above on T2w)."""
    lo, hi = np.percentile(values, [0.5, 99.5])
    h, edges = np.histogram(values, bins=200, range=(lo, hi))
    h = ndi.gaussian_filter1d(h.astype(float), 2)
    mid = 0.5 * (edges[1:] + edges[:-1])
    k = int(np.argmax(h))
    below = np.nonzero(h[:k] < h[k] / 2)[0]
    hwhm = mid[k] - (mid[below[-1]] if len(below) else mid[0])
    return float(mid[k]), float(max(hwhm, mid[1] - mid[0]) / 1.1774)


# ---------------------------------------------------------------------------------------------
# Brain and tissue
# ---------------------------------------------------------------------------------------------


def head_mask(vol: np.ndarray, zooms) -> np.ndarray:
    """Everything above half Otsu's background/foreground threshold, closed, holes filled, largest component."""
    fg = vol > 0.5 * otsu(np.minimum(vol, np.percentile(vol, 99.5)).ravel())
    fg = fill_holes(ndi.binary_closing(fg, ellipsoid_element(3.0, zooms)), zooms)
    lab, n = ndi.label(fg)
    return lab == 1 + int(np.argmax(ndi.sum_labels(fg, lab, index=np.arange(1, n + 1)))) if n else fg


def brain_mask(vol: np.ndarray, zooms, erode_mm: float = 5.0) -> np.ndarray:
    """Intracranial tissue: above half Otsu's background/foreground threshold, eroded to cut the scalp off,
    largest component, dilated back inside the threshold, holes (ventricles, dark FLAIR CSF) filled. Meant for
    skull-stripped scans and phantoms; on scans with skull, pass the page's brain mask instead (thick oblique
    slices join brain and scalp at the vertex)."""
    fg = vol > 0.5 * otsu(np.minimum(vol, np.percentile(vol, 99.5)).ravel())
    core = ndi.binary_erosion(fg, ellipsoid_element(erode_mm, zooms))
    lab, n = ndi.label(core)
    if n == 0:
        raise ValueError("no brain found: the scan has no foreground above its Otsu threshold")
    sizes = ndi.sum_labels(core, lab, index=np.arange(1, n + 1))
    keep = lab == 1 + int(np.argmax(sizes))
    brain = ndi.binary_dilation(keep, ellipsoid_element(erode_mm + 1.0, zooms)) & fg
    brain = ndi.binary_opening(brain, ellipsoid_element(1.5, zooms))
    lab, n = ndi.label(brain)
    if n > 1:
        brain = lab == 1 + int(np.argmax(ndi.sum_labels(brain, lab, index=np.arange(1, n + 1))))
    return fill_holes(brain, zooms)


@dataclasses.dataclass
class Tissue:
    """Per-voxel tissue estimates of one scan (all on the scan's own grid)."""

    sequence: str
    zooms: tuple
    brain: np.ndarray  # bool
    depth_mm: np.ndarray  # distance from the brain's outer surface, mm (0 outside)
    wm_local: np.ndarray  # local white-matter mean (follows the bias field)
    sd_rel: float  # white-matter SD / mean
    gm_ratio: float  # grey-matter mean / local white matter
    z: np.ndarray  # (I / wm_local - 1) / sd_rel
    wm: np.ndarray  # normal-appearing white matter, bool
    gm: np.ndarray
    csf: np.ndarray
    ventricles: np.ndarray
    height: np.ndarray  # relative height in the brain, 0 at its lowest voxel and 1 at its highest (a view)
    inferior: np.ndarray  # the brain's lowest quarter (posterior fossa at usual coverage)

    @property
    def ratio(self) -> np.ndarray:
        return 1.0 + self.z * self.sd_rel


def tissue_model(
    vol: np.ndarray,
    zooms,
    affine: np.ndarray,
    sequence: str = "FLAIR",
    brain: np.ndarray | None = None,
    bias_sigma_mm: float = 20.0,
    inferior_frac: float = 0.25,
) -> Tissue:
    if sequence not in SEQUENCES:
        raise ValueError(f"sequence must be one of {SEQUENCES}, got {sequence!r}")
    vol = np.asarray(vol, np.float32)
    zooms = tuple(float(z) for z in zooms)
    brain = brain_mask(vol, zooms) if brain is None else brain.astype(bool)
    depth = ndi.distance_transform_edt(brain, sampling=zooms).astype(np.float32)
    deep = brain & (depth > 10.0)
    if deep.sum() < 1000:
        deep = brain & (depth > 0.5 * depth.max())
    wm0, sd0 = peak_and_sd(vol[deep])
    local = np.full(vol.shape, wm0, np.float32)
    sd_rel = sd0 / wm0
    for _ in range(3):  # follow the bias field: white-matter-like voxels → local mean → re-estimate the peak
        like = brain & (np.abs(vol / local - 1) < 2 * sd_rel)
        est, w = norm_conv(vol, like, bias_sigma_mm, zooms)
        local = np.where(w > 0.05, est, wm0).astype(np.float32)
        peak, sd = peak_and_sd(vol[deep] / local[deep])
        local *= peak
        sd_rel = sd / peak
    ratio = vol / local
    z = ((ratio - 1) / sd_rel).astype(np.float32)
    gm_ratio = grey_matter_ratio(ratio[brain & (depth > 3.0)], sd_rel, 1.6 if sequence == "FLAIR" else 1.8)
    if sequence == "FLAIR":  # CSF dark, GM brighter than WM (synth/calibration.json: GM 1.2, CSF 0.2 of WM)
        csf = brain & (ratio < 0.6)
        gm = brain & (z > 1.0) & (ratio < 1.35)
    else:  # T2w: CSF bright (2.5–4 × WM), GM brighter than WM
        csf = brain & (ratio > 1.9)
        gm = brain & (z > 1.5) & (ratio <= 1.9)
    wm = brain & (z >= -2.5) & (z <= 1.0) & (depth > 2.0)
    # a white-matter voxel keeps its label only amid white matter (noise splits GM and WM voxel by voxel)
    wm = (
        ndi.binary_opening(ndi.binary_closing(wm, ellipsoid_element(1.0, zooms)), ellipsoid_element(1.0, zooms))
        & brain
        & ~csf
    )
    vent = csf & (depth > 15.0)
    lab, n = ndi.label(vent)
    if n:
        sizes = ndi.sum_labels(vent, lab, index=np.arange(1, n + 1)) * np.prod(zooms)
        vent = np.isin(lab, 1 + np.nonzero(sizes >= 200.0)[0])  # ≥ 0.2 ml: ventricles, not sulci or noise
    ax, sign = superior_axis(affine)
    idx = np.nonzero(brain.any(axis=tuple(a for a in range(3) if a != ax)))[0]
    lo, hi = (idx.min(), idx.max()) if len(idx) else (0, vol.shape[ax] - 1)
    rel = (np.arange(vol.shape[ax], dtype=np.float32) - lo) / max(hi - lo, 1)
    shape = [1, 1, 1]
    shape[ax] = -1
    height = np.broadcast_to((rel if sign > 0 else 1 - rel).reshape(shape), vol.shape)
    inferior = brain & (height < inferior_frac)
    return Tissue(sequence, zooms, brain, depth, local, float(sd_rel), gm_ratio, z, wm, gm, csf, vent, height, inferior)


def grey_matter_ratio(ratios: np.ndarray, sd_rel: float, upper: float) -> float:
    """GM / WM from a two-Gaussian fit of the parenchyma's ratios between WM − 3 SD and `upper` (below CSF on
    T2w, below most lesions on FLAIR); 1 + 2 SD when the fit finds no brighter class."""
    from sklearn.mixture import GaussianMixture

    r = ratios[(ratios > 1 - 3 * sd_rel) & (ratios < upper)]
    fallback = 1 + 2 * sd_rel
    if len(r) < 1000:
        return fallback
    r = np.random.default_rng(0).choice(r, min(len(r), 200_000), replace=False)
    g = GaussianMixture(2, means_init=[[1.0], [1.2]], random_state=0).fit(r[:, None])
    m = float(np.max(g.means_))
    return m if m > 1 + sd_rel else fallback


# ---------------------------------------------------------------------------------------------
# Candidates and inpainting
# ---------------------------------------------------------------------------------------------


def candidate_map(
    vol: np.ndarray,
    zooms,
    affine: np.ndarray,
    sequence: str = "FLAIR",
    tissue: Tissue | None = None,
    z_seed: float = 4.0,
    z_grow: float = 2.5,
    gm_seed: float = 3.0,
    gm_grow: float = 1.5,
    rim_mm: float = 4.0,
    scalp_mm: float = 20.0,
    min_mm3: float = 14.0,
    cortex_mm: float = 3.0,
    max_cortex_share: float = 0.5,
    exclude_below: float = 0.35,
) -> tuple[np.ndarray, Tissue]:
    """FLAIR-hyperintense lesion candidates: components above a growing threshold that hold a voxel above a seed
    threshold. Each threshold is the higher of z_* SDs above the local white matter and gm_* SDs above the grey
    matter (GM sits 2–3 WM SDs above WM on FLAIR, so a white-matter-only threshold would take the cortex). Kept:
    at least rim_mm inside the brain and, on scans with skull, scalp_mm inside the head (a brain mask that takes
    scalp in at the vertex's thick oblique slices loses it there); above the lowest exclude_below of the brain's
    height (the posterior fossa with its CSF-flow artefacts, and the temporal and orbitofrontal cortex, bright on
    normal FLAIR); at least min_mm3 (a 3 mm lesion); not cortex: at most max_cortex_share of the component
    within cortex_mm of sulcal CSF. (A white-matter share of the component's shell does not work on real scans: MS lesions sit in
    "dirty-appearing" white matter as bright as the cortex.)"""
    if sequence != "FLAIR":
        raise ValueError(
            "candidate maps are FLAIR-based: on T2w, CSF is as bright as lesions; map the FLAIR and "
            "carry the mask over (map_mask_to_grid) where the scans are co-registered"
        )
    t = tissue if tissue is not None else tissue_model(vol, zooms, affine, sequence)
    allowed = t.brain & (t.depth_mm > rim_mm)
    head = head_mask(vol, zooms)
    if t.brain.sum() < 0.8 * head.sum():  # skull present (a skull-stripped scan's head is its brain)
        allowed &= ndi.distance_transform_edt(head, sampling=zooms) > scalp_mm
    allowed &= t.height >= exclude_below
    z_gm = (t.gm_ratio - 1) / t.sd_rel
    grow_at = max(z_grow, z_gm + gm_grow * t.gm_ratio)  # GM's SD in WM-SD units: GM / WM (the same relative SD)
    seed_at = max(z_seed, z_gm + gm_seed * t.gm_ratio)
    grow = allowed & (t.z > grow_at)
    lab, n = ndi.label(grow, structure=ndi.generate_binary_structure(3, 1))
    if n == 0:
        return np.zeros(vol.shape, bool), t
    idx = np.arange(1, n + 1)
    seeded = ndi.maximum(t.z, lab, index=idx) > seed_at
    big = ndi.sum_labels(grow, lab, index=idx) * float(np.prod(zooms)) >= min_mm3
    keep = np.zeros(n + 1, bool)
    keep[1:] = seeded & big
    cand = keep[lab]
    if cand.any():  # cortex: most of the component within cortex_mm of sulcal CSF (partial volume in thick slices)
        sulcal = t.brain & (t.ratio < 0.75) & ~ndi.binary_dilation(t.ventricles, ellipsoid_element(2.0, zooms))
        near = ndi.distance_transform_edt(~sulcal, sampling=zooms) <= cortex_mm
        with np.errstate(invalid="ignore", divide="ignore"):
            share = ndi.mean(near, lab, index=idx)
        keep[1:] &= np.nan_to_num(share, nan=1.0) <= max_cortex_share
        cand = keep[lab]
    return cand, t


def inpaint_region(candidates: np.ndarray, tissue: Tissue) -> np.ndarray:
    """The candidates plus their partial-volume edge: the 1 mm shell, and neighbours (thick slices included) that
    are still brighter than the white matter. On T2w (candidates carried over from a co-registered FLAIR) CSF is
    brighter still, so voxels above 2.4 × WM (CSF, not lesion: lesions reach 1.6–2.5) stay as they are."""
    near = ndi.binary_dilation(candidates, ndi.generate_binary_structure(3, 3)) & (tissue.z > 1.5)
    region = candidates | near | ndi.binary_dilation(candidates, ellipsoid_element(1.0, tissue.zooms))
    return region & ~(tissue.ratio > 2.4) if tissue.sequence == "T2w" else region


def inpaint(
    vol: np.ndarray,
    region: np.ndarray,
    tissue: Tissue,
    rng: np.random.Generator,
    scales_mm=(1.5, 3.0, 6.0, 12.0, 24.0),
    min_cover: float = 0.15,
) -> np.ndarray:
    """Fill region from the normal-appearing white matter around it; add white-matter texture (the residual
    after a 2 mm smoothing) copied from random in-plane offsets of the same scan, or Gaussian noise of the local
    white-matter SD where no copy lands in white matter."""
    vol = np.asarray(vol, np.float32)
    zooms = tissue.zooms
    region = region.astype(bool)
    if not region.any():
        return vol.copy()
    source = (
        tissue.brain
        & ~ndi.binary_dilation(region, ndi.generate_binary_structure(3, 1))
        & (tissue.z >= -2.5)
        & (tissue.z <= 2.0)
    )
    fill = np.zeros(vol.shape, np.float32)
    todo = region.copy()
    for s in scales_mm:  # the smallest scale with enough white matter around the voxel
        est, w = norm_conv(vol, source, s, zooms)
        ok = todo & (w >= min_cover)
        fill[ok] = est[ok]
        todo &= ~ok
    if todo.any():
        fill[todo] = np.median(vol[source])
    smooth, _ = norm_conv(vol, source, 2.0, zooms)
    resid = vol - smooth
    var, _ = norm_conv(resid**2, source, 6.0, zooms)
    pts = np.argwhere(region)
    tex = np.full(len(pts), np.nan, np.float32)
    ax = slice_axis(zooms)
    for _ in range(40):
        if not np.isnan(tex).any():
            break
        off = np.zeros(3, int)
        for a in range(3):
            if a != ax or np.ptp(zooms) == 0:
                off[a] = int(round(rng.uniform(8, 40) * rng.choice([-1, 1]) / zooms[a]))
        q = pts + off
        inside = np.all((q >= 0) & (q < np.array(vol.shape)), axis=1)
        todo_i = np.isnan(tex) & inside
        qs = q[todo_i]
        good = source[qs[:, 0], qs[:, 1], qs[:, 2]]
        sel = np.nonzero(todo_i)[0][good]
        tex[sel] = resid[qs[good, 0], qs[good, 1], qs[good, 2]]
    miss = np.isnan(tex)
    if miss.any():
        sd = np.sqrt(np.maximum(var[pts[miss, 0], pts[miss, 1], pts[miss, 2]], 0))
        tex[miss] = rng.normal(0, 1, miss.sum()) * sd
    out = vol.copy()
    out[region] = np.maximum(fill[region] + tex, 0)
    return out


def lesion_removed_twin(
    vol: np.ndarray, zooms, affine: np.ndarray, rng: np.random.Generator, **candidate_kw
) -> tuple[np.ndarray, np.ndarray, Tissue]:
    """(twin, inpainted region, tissue) of a FLAIR."""
    cand, t = candidate_map(vol, zooms, affine, "FLAIR", **candidate_kw)
    region = inpaint_region(cand, t)
    return inpaint(vol, region, t, rng), region, t


def page_brain_mask(scan: str, work_dir: str, grid: int = 128) -> np.ndarray:
    """The page's own brain mask (`qumri preprocess`, src/core/preprocess) carried back onto the scan's grid:
    the TypeScript extraction separates brain from scalp where a threshold cannot (thick oblique slices at the
    vertex). Cached in work_dir; needs node and the repository's node_modules."""
    import subprocess

    import nibabel as nib

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    name = os.path.basename(scan)
    name = name[:-7] if name.endswith(".nii.gz") else os.path.splitext(name)[0]
    mask_path = os.path.join(work_dir, f"{name}_mask.nii.gz")
    if not os.path.exists(mask_path):
        subprocess.run(
            [
                "node",
                os.path.join(root, "bin", "qumri.mjs"),
                "preprocess",
                os.path.abspath(scan),
                "--grid",
                str(grid),
                "--out",
                work_dir,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    img = nib.load(scan)
    m = nib.load(mask_path)
    brain = map_mask_to_grid(np.asarray(m.dataobj) > 0, m.affine, img.shape[:3], img.affine)
    return fill_holes(brain, img.header.get_zooms()[:3])


def map_mask_to_grid(mask: np.ndarray, src_affine: np.ndarray, dst_shape, dst_affine: np.ndarray) -> np.ndarray:
    """A mask on another grid of the same scanner space (same session, no motion): the share of each target
    voxel's centre neighbourhood covered, by trilinear sampling of the mask, thresholded at 0.5."""
    m = np.linalg.inv(src_affine) @ dst_affine
    out = ndi.affine_transform(
        mask.astype(np.float32), m[:3, :3], m[:3, 3], output_shape=tuple(dst_shape), order=1, mode="constant", cval=0.0
    )
    return out >= 0.5


def grid_alignment(
    mask_a: np.ndarray, affine_a: np.ndarray, mask_b: np.ndarray, affine_b: np.ndarray, step_mm: float = 2.0
) -> dict:
    """How well two scans' brain masks agree through their affines: Dice at no shift and the in-plane world shift
    (0 or ±step_mm along x and y) with the best Dice. Two series of one session share the scanner space when the
    best shift is none and the Dice is high."""

    def dice_at(dx: float, dy: float) -> float:
        a = np.array(affine_a, float)
        a[:2, 3] += (dx, dy)
        m = map_mask_to_grid(mask_a, a, mask_b.shape, affine_b)
        return float(2 * (m & mask_b).sum() / max(m.sum() + mask_b.sum(), 1))

    scores = {(dx, dy): dice_at(dx, dy) for dx in (-step_mm, 0.0, step_mm) for dy in (-step_mm, 0.0, step_mm)}
    best = max(scores, key=scores.get)
    return {"dice": round(scores[(0.0, 0.0)], 4), "best_shift_mm": list(best), "best_dice": round(scores[best], 4)}


def stable_seed(*parts) -> int:
    """A seed from names, the same on every machine and run (Python's hash() is salted per process)."""
    import hashlib

    return int(hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def flair_twin(path: str, brain_dir: str, seed: int) -> dict:
    """The lesion-removed twin of a real FLAIR: the page's brain mask, candidates, inpainting. Returns volume,
    candidates, region, tissue, img and a summary (volumes in ml)."""
    vol, zooms, affine, img = load(path)
    t = tissue_model(vol, zooms, affine, "FLAIR", brain=page_brain_mask(path, brain_dir))
    cand, t = candidate_map(vol, zooms, affine, tissue=t)
    region = inpaint_region(cand, t)
    twin = inpaint(vol, region, t, np.random.default_rng(seed))
    ml = float(np.prod(zooms)) / 1000
    return {
        "volume": twin,
        "candidates": cand,
        "region": region,
        "tissue": t,
        "img": img,
        "summary": {
            "candidate_ml": round(float(cand.sum() * ml), 2),
            "candidate_components": int(ndi.label(cand)[1]),
            "inpainted_ml": round(float(region.sum() * ml), 2),
            "brain_ml": round(float(t.brain.sum() * ml), 1),
            "wm_sd_rel": round(t.sd_rel, 4),
            "gm_ratio": round(t.gm_ratio, 3),
        },
    }


def coregistered_twin(
    path: str, flair_path: str, brain_dir: str, sequence: str, seed: int, min_dice: float = 0.9
) -> dict | None:
    """The lesion-removed twin of a scan (e.g. a T2w) of the same session as a FLAIR, the FLAIR's candidates
    carried over through the two affines; None when the brain masks say the two do not share the scanner space
    (Dice < min_dice at no shift, or a 2 mm shift fits better)."""
    fl = flair_twin(flair_path, brain_dir, seed)
    vol, zooms, affine, img = load(path)
    t = tissue_model(vol, zooms, affine, sequence, brain=page_brain_mask(path, brain_dir))
    fimg = fl["img"]
    align = grid_alignment(fl["tissue"].brain, fimg.affine, t.brain, affine)
    if align["dice"] < min_dice or align["best_shift_mm"] != [0.0, 0.0]:
        return None
    cand = map_mask_to_grid(fl["candidates"], fimg.affine, vol.shape, affine)
    region = inpaint_region(cand, t)
    twin = inpaint(vol, region, t, np.random.default_rng(seed))
    ml = float(np.prod(zooms)) / 1000
    return {
        "volume": twin,
        "candidates": cand,
        "region": region,
        "tissue": t,
        "img": img,
        "summary": {
            "candidates_from": os.path.basename(flair_path),
            "alignment": align,
            "candidate_ml": round(float(cand.sum() * ml), 2),
            "inpainted_ml": round(float(region.sum() * ml), 2),
            "brain_ml": round(float(t.brain.sum() * ml), 1),
            "wm_sd_rel": round(t.sd_rel, 4),
        },
    }


# ---------------------------------------------------------------------------------------------
# Insertion
# ---------------------------------------------------------------------------------------------


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def frame_along(axis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation whose first column is axis."""
    a = axis / max(np.linalg.norm(axis), 1e-9)
    b = np.cross(a, rng.normal(size=3))
    b /= max(np.linalg.norm(b), 1e-9)
    return np.stack([a, b, np.cross(a, b)], axis=1)


def ellipsoid_fraction(
    shape, zooms, centre_mm: np.ndarray, semi_mm: np.ndarray, rot: np.ndarray, max_sub_mm: float = 0.5
) -> tuple[tuple[slice, ...], np.ndarray]:
    """Partial volume of an ellipsoid (centre and semi-axes in mm on the voxel grid, axes the columns of rot) over
    its bounding box: each voxel averaged over sub-samples at most max_sub_mm apart, so a 4 mm slice sees the
    lesion's profile through its thickness."""
    zooms = np.asarray(zooms, float)
    ext = np.max(semi_mm) + zooms
    lo = np.maximum(np.floor((centre_mm - ext) / zooms).astype(int), 0)
    hi = np.minimum(np.ceil((centre_mm + ext) / zooms).astype(int) + 1, np.array(shape))
    if np.any(hi <= lo):
        return tuple(slice(0, 0) for _ in range(3)), np.zeros((0, 0, 0), np.float32)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    frac = np.zeros(tuple(hi - lo), np.float32)
    subs = [np.clip(int(np.ceil(z / max_sub_mm)), 1, 9) for z in zooms]
    offs = [((np.arange(s) + 0.5) / s - 0.5) for s in subs]
    inv = rot / semi_mm[None, :]  # x·inv = coordinates in units of the semi-axes
    base = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing="ij"), -1).astype(float)
    for ox in offs[0]:
        for oy in offs[1]:
            for oz in offs[2]:
                p = (base + np.array([ox, oy, oz])) * zooms - centre_mm
                frac += np.sum((p @ inv) ** 2, axis=-1) <= 1.0
    return box, frac / (len(offs[0]) * len(offs[1]) * len(offs[2]))


def _pick(mask: np.ndarray, rng: np.random.Generator, fallback: np.ndarray) -> np.ndarray | None:
    pts = np.argwhere(mask)
    if len(pts) == 0:
        pts = np.argwhere(fallback)
    if len(pts) == 0:
        return None
    return pts[rng.integers(len(pts))].astype(float)


def _gradient_at(dist: np.ndarray, p: np.ndarray, zooms) -> np.ndarray:
    i = tuple(np.clip(p.astype(int), 1, np.array(dist.shape) - 2))
    g = np.array(
        [
            (dist[tuple(np.add(i, np.eye(3, dtype=int)[a]))] - dist[tuple(np.subtract(i, np.eye(3, dtype=int)[a]))])
            / (2 * zooms[a])
            for a in range(3)
        ]
    )
    n = np.linalg.norm(g)
    return g / n if n > 0 else np.array([1.0, 0.0, 0.0])


@dataclasses.dataclass
class Inserted:
    volume: np.ndarray  # float32, same grid
    mask: np.ndarray  # uint8, lesion partial volume ≥ 0.5
    fraction: np.ndarray  # float32 partial volume in [0, 1]
    lesions: list  # one dict per lesion: kind, centre_vox, diameter_mm, signal (× local WM)


def insert_lesions(
    vol: np.ndarray,
    tissue: Tissue,
    rng: np.random.Generator,
    kind: str = "ms",
    n: int | None = None,
    n_sen: int | None = None,
) -> Inserted:
    """Insert kind = "ms" (into white matter only) or "tsc" (tubers into parenchyma at the grey–white junction,
    subependymal nodules into the ventricles at their wall) lesions. A lesion voxel becomes
    I + f·(s·WM_local − smooth(I)): the scan's own texture stays, its mean moves to s × the local white matter."""
    if kind not in ("ms", "tsc"):
        raise ValueError(f"kind must be 'ms' or 'tsc', got {kind!r}")
    t = tissue
    zooms = np.asarray(t.zooms, float)
    vol = np.asarray(vol, np.float32)
    core = ndi.binary_erosion(t.wm, ellipsoid_element(1.0, t.zooms))
    d_vent = (
        ndi.distance_transform_edt(~t.ventricles, sampling=t.zooms)
        if t.ventricles.any()
        else np.full(vol.shape, 1e3, np.float32)
    )
    d_gm = ndi.distance_transform_edt(~t.gm, sampling=t.zooms)
    frac = np.zeros(vol.shape, np.float32)
    target = np.zeros(vol.shape, np.float32)  # lesion signal, × local WM, of the lesion with the largest share
    lesions = []
    seq = t.sequence

    def paint(centre_vox, semi, rot, signal, allowed, kind_name):
        box, f = ellipsoid_fraction(vol.shape, zooms, centre_vox * zooms, np.asarray(semi, float), rot)
        if f.size == 0:
            return False
        f = f * allowed[box]
        if f.max() < 0.5:
            return False
        better = f > frac[box]
        frac[box] = np.where(better, f, frac[box])
        target[box] = np.where(better, signal, target[box])
        lesions.append(
            {
                "kind": kind_name,
                "centre_vox": [int(round(c)) for c in centre_vox],
                "diameter_mm": round(float(2 * max(semi)), 2),
                "signal": round(float(signal), 3),
            }
        )
        return True

    if kind == "ms":
        n = int(np.clip(round(rng.lognormal(np.log(12), 0.6)), 2, 40)) if n is None else n
        sites = {
            "periventricular": core & (d_vent >= 1.0) & (d_vent <= 6.0),
            "juxtacortical": core & (d_gm <= 3.0) & ~t.inferior,
            "deep_wm": core & (d_vent > 6.0) & (d_gm > 3.0) & ~t.inferior,
            "infratentorial": core & t.inferior,
        }
        for site in rng.choice(list(MS_SITES), size=n, p=list(MS_SITES.values())):
            d = float(np.clip(rng.lognormal(np.log(6.0), 0.45), 3.0, 10.0 if site == "infratentorial" else 15.0))
            sig = rng.uniform(*MS_SIGNAL[seq])
            for _ in range(5):  # a lesion that lands outside white matter is redrawn elsewhere
                c = _pick(sites[site], rng, core)
                if c is None:
                    break
                if site == "periventricular":  # ovoid perpendicular to the ventricle wall (Dawson's fingers)
                    rot = frame_along(_gradient_at(d_vent, c, zooms), rng)
                    semi = [d / 2, max(1.5, d / 2 / rng.uniform(1.5, 2.5)), max(1.5, d / 2 / rng.uniform(1.5, 2.5))]
                else:
                    rot = random_rotation(rng)
                    semi = np.maximum(d / 2 * np.array([1.0, *rng.uniform(0.6, 1.0, 2)]), 1.5)
                if paint(c, semi, rot, sig, t.wm, site):
                    break
    else:
        n = int(np.clip(round(rng.lognormal(np.log(6), 0.5)), 1, 20)) if n is None else n
        parenchyma = (t.wm | t.gm) & ~t.csf
        junction = core & (d_gm <= 2.0) & ~t.inferior
        for _ in range(n):
            sig = rng.uniform(*TUBER_SIGNAL[seq])
            for _ in range(5):
                c = _pick(junction, rng, core)
                if c is None:
                    break
                normal = _gradient_at(d_gm, c, zooms)  # from cortex into white matter
                depth, radius = rng.uniform(6, 20), rng.uniform(3.5, 10)
                c_mm = c * zooms + normal * (depth / 2 - 3.0)  # spans cortex to subcortical white matter
                if paint(
                    c_mm / zooms,
                    [depth / 2, radius / 2 + 1.5, radius / 2 + 1.5],
                    frame_along(normal, rng),
                    sig,
                    parenchyma,
                    "tuber",
                ):
                    break
        n_sen = int(rng.integers(1, 9)) if n_sen is None else n_sen
        if t.ventricles.any():
            d_in = ndi.distance_transform_edt(t.ventricles, sampling=t.zooms)
            wall = t.ventricles & (d_in <= 2.0)
            allowed = ndi.binary_dilation(t.ventricles, ellipsoid_element(1.0, t.zooms)) & t.brain
            for _ in range(n_sen):
                calcified = rng.random() < 0.5
                sig = rng.uniform(*SEN_SIGNAL[seq][int(calcified)])
                r = rng.uniform(1.5, 5.0)
                c = _pick(wall, rng, wall)
                paint(
                    c,
                    r * rng.uniform(0.8, 1.0, 3),
                    random_rotation(rng),
                    sig,
                    allowed,
                    "sen_calcified" if calcified else "sen",
                )
    smooth = gauss(vol, 1.0, t.zooms)
    field = gauss(rng.normal(size=vol.shape).astype(np.float32), 1.5, t.zooms)
    hetero = 1 + 0.05 * field / max(float(field.std()), 1e-6)  # ±5 % smooth heterogeneity inside lesions
    gm_part = t.gm & (target > 1.2)  # a tuber's cortical part: halfway between cortex and the tuber's core
    goal = np.where(gm_part, 0.5 * (smooth + target * t.wm_local), target * t.wm_local) * hetero
    out = np.where(frac > 0, np.maximum(vol + frac * (goal - smooth), 0), vol).astype(np.float32)
    return Inserted(out, (frac >= 0.5).astype(np.uint8), frac, lesions)


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def load(path: str):
    """(float32 volume on the stored grid, voxel sizes, affine, image)."""
    import nibabel as nib

    img = nib.load(path)
    vol = np.asarray(img.get_fdata(dtype=np.float32))
    if vol.ndim == 4 and vol.shape[3] == 1:
        vol = vol[..., 0]
    if vol.ndim != 3:
        raise ValueError(f"{path}: expected a 3D volume, got shape {vol.shape}")
    return vol, tuple(float(z) for z in img.header.get_zooms()[:3]), img.affine, img


def save_like(img, vol: np.ndarray, path: str) -> None:
    """vol stored as img is (same dtype, slope and header): integers are rounded and clipped, so voxels left
    unchanged keep their stored values exactly."""
    import nibabel as nib

    dt = img.header.get_data_dtype()
    slope = float(getattr(img.dataobj, "slope", 1.0))  # an image made in memory holds a plain array
    inter = float(getattr(img.dataobj, "inter", 0.0))
    slope, inter = (slope, inter) if np.isfinite(slope) and slope != 0 else (1.0, 0.0)
    if np.issubdtype(dt, np.integer):
        info = np.iinfo(dt)
        raw = np.clip(np.round((vol - inter) / slope), info.min, info.max).astype(dt)
    else:
        raw = ((vol - inter) / slope).astype(dt)
    out = nib.Nifti1Image(raw, img.affine, img.header.copy())
    out.header.set_slope_inter(slope, inter)
    out.to_filename(path)


def save_mask(img, mask: np.ndarray, path: str) -> None:
    import nibabel as nib

    out = nib.Nifti1Image(mask.astype(np.uint8), img.affine)
    out.header.set_qform(img.affine, int(img.header["qform_code"]) or 1)
    out.header.set_sform(img.affine, int(img.header["sform_code"]) or 1)
    out.to_filename(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("candidates", help="FLAIR lesion candidate mask")
    c.add_argument("scan")
    c.add_argument("--out", required=True)
    c.add_argument("--sequence", default="FLAIR", choices=["FLAIR"])
    p = sub.add_parser("inpaint", help="lesion-removed twin (the candidates when no --mask)")
    p.add_argument("scan")
    p.add_argument("--out", required=True)
    p.add_argument("--mask", help="region to fill, on the scan's grid (default: the FLAIR candidate map)")
    p.add_argument("--sequence", default="FLAIR", choices=SEQUENCES)
    p.add_argument("--seed", type=int, default=0)
    i = sub.add_parser("insert", help="insert synthetic lesions")
    i.add_argument("scan")
    i.add_argument("--out", required=True)
    i.add_argument("--mask_out", required=True)
    i.add_argument("--kind", default="ms", choices=["ms", "tsc"])
    i.add_argument("--sequence", default="FLAIR", choices=SEQUENCES)
    i.add_argument("--n", type=int)
    i.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    vol, zooms, affine, img = load(a.scan)
    if a.cmd == "candidates":
        cand, _ = candidate_map(vol, zooms, affine)
        save_mask(img, cand, a.out)
        print(f"{cand.sum()} candidate voxels = {cand.sum() * np.prod(zooms) / 1000:.2f} ml", file=sys.stderr)
    elif a.cmd == "inpaint":
        t = tissue_model(vol, zooms, affine, a.sequence)
        if a.mask:
            region = np.asarray(load(a.mask)[0]) > 0.5
        else:
            region = inpaint_region(candidate_map(vol, zooms, affine, tissue=t)[0], t)
        save_like(img, inpaint(vol, region, t, np.random.default_rng(a.seed)), a.out)
    else:
        t = tissue_model(vol, zooms, affine, a.sequence)
        ins = insert_lesions(vol, t, np.random.default_rng(a.seed), a.kind, a.n)
        save_like(img, ins.volume, a.out)
        save_mask(img, ins.mask, a.mask_out)
        print(f"{len(ins.lesions)} lesions, {ins.mask.sum() * np.prod(zooms) / 1000:.2f} ml", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
