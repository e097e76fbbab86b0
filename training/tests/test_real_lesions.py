"""training.real_lesions on phantoms made here: an ellipsoid brain (CSF rim, cortex, white matter, ventricles,
bias field, noise) on thick anisotropic slices, with or without bright white-matter blobs."""
from __future__ import annotations

import numpy as np
import pytest

from training import real_lesions as rl

ZOOMS = (1.5, 1.5, 3.0)
SHAPE = (100, 116, 44)
AFFINE = np.diag([*ZOOMS, 1.0])  # index k grows towards superior
BLOBS = [((-22, 10, 8), 5.0), ((20, -12, 12), 6.0), ((-8, -30, 4), 4.5), ((25, 22, 16), 5.0)]  # mm from centre


def phantom(sequence: str = "FLAIR", blobs: bool = True, seed: int = 0, labels: bool = False):
    """(volume, blob truth[, labels 0 outside, 1 CSF, 2 GM, 3 WM, 4 blob]) — intensities relative to WM as
    synth/calibration.json measured on real scans."""
    rng = np.random.default_rng(seed)
    x, y, z = (np.moveaxis(np.indices(SHAPE), 0, -1) - (np.array(SHAPE) - 1) / 2).transpose(3, 0, 1, 2) * np.array(
        ZOOMS
    )[:, None, None, None]
    r = np.sqrt((x / 62) ** 2 + (y / 74) ** 2 + (z / 55) ** 2)  # 1 at the brain's surface
    depth = (1 - r) * 62  # ≈ mm below the surface
    csf, gm, wm = (0.2, 1.2, 1.0) if sequence == "FLAIR" else (3.0, 1.3, 1.0)
    vol = np.zeros(SHAPE, np.float32)
    vol[r <= 1] = wm
    vol[(r <= 1) & (depth < 6)] = gm
    vol[(r <= 1) & (depth < 1.5)] = csf
    vent = ((np.abs(x) - 9) / 5) ** 2 + (y / 22) ** 2 + ((z - 3) / 12) ** 2 <= 1
    vol[vent] = csf
    truth = np.zeros(SHAPE, bool)
    if blobs:
        for (cx, cy, cz), rad in BLOBS:
            b = (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= rad**2
            vol[b] = 1.7
            truth |= b
    bias = 1 + 0.1 * (x / 62) - 0.05 * (z / 55)
    lab = np.select([truth, vol == wm, vol == gm, vol == csf], [4, 3, 2, 1], 0)
    vol = vol * bias * 300 + rng.normal(0, 0.06 * 300, SHAPE) * (r <= 1.02)
    out = np.maximum(vol, 0).astype(np.float32), truth
    return out + (lab,) if labels else out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * (a & b).sum() / max(a.sum() + b.sum(), 1)


@pytest.fixture(scope="module")
def flair():
    vol, truth = phantom()
    cand, t = rl.candidate_map(vol, ZOOMS, AFFINE)
    return vol, truth, cand, t


def test_brain_mask_covers_the_phantom_brain(flair):
    vol, _, _, t = flair
    x = np.moveaxis(np.indices(SHAPE), 0, -1) - (np.array(SHAPE) - 1) / 2
    r = np.sqrt(((x * ZOOMS) / (62, 74, 55)) ** 2 @ np.ones(3))
    assert dice(t.brain, r <= 1) > 0.9


def test_white_matter_estimate_and_bias_follow_the_phantom(flair):
    vol, truth, _, t = flair
    assert 0.04 < t.sd_rel < 0.09  # noise 0.06 × WM
    # local WM follows the ±10 % bias: the fitted mean over true WM is within 3 % of the true (bias × 300)
    x = (np.indices(SHAPE)[0] - (SHAPE[0] - 1) / 2) * ZOOMS[0]
    z = (np.indices(SHAPE)[2] - (SHAPE[2] - 1) / 2) * ZOOMS[2]
    true_wm = 300 * (1 + 0.1 * x / 62 - 0.05 * z / 55)
    sel = t.wm & ~truth
    assert np.median(np.abs(t.wm_local[sel] / true_wm[sel] - 1)) < 0.03
    assert not (t.wm & truth).any() or (t.wm & truth).sum() < 0.05 * truth.sum()


def test_candidates_find_the_blobs_and_little_else(flair):
    _, truth, cand, _ = flair
    assert dice(cand, truth) > 0.5
    near = rl.ndi.binary_dilation(truth, iterations=2)
    assert (cand & ~near).sum() < 0.1 * truth.sum()
    lab, n = rl.ndi.label(cand)
    assert n >= len(BLOBS)
    assert all((lab[truth] == k).any() for k in range(1, n + 1) if (lab == k).sum() > 5)


def test_no_candidates_without_lesions():
    vol, _ = phantom(blobs=False, seed=1)
    cand, t = rl.candidate_map(vol, ZOOMS, AFFINE)
    assert cand.sum() * np.prod(ZOOMS) < 50  # < 0.05 ml, against ≈ 1.9 ml of blobs


def test_posterior_fossa_and_rim_are_excluded():
    vol, _ = phantom(blobs=False, seed=2)
    t = rl.tissue_model(vol, ZOOMS, AFFINE)
    low = vol.copy()
    k = int(np.nonzero(t.inferior.any(axis=(0, 1)))[0].mean())
    low[40:46, 50:56, k] *= 1.8  # a bright spot in the lowest quarter (flow artefact territory)
    cand, _ = rl.candidate_map(low, ZOOMS, AFFINE, tissue=t)
    assert not cand[40:46, 50:56, k].any()
    cand, _ = rl.candidate_map(low, ZOOMS, AFFINE, tissue=rl.tissue_model(low, ZOOMS, AFFINE), exclude_below=0.0)
    assert cand[40:46, 50:56, k].any()


def test_candidate_map_refuses_t2w():
    vol, _ = phantom("T2w")
    with pytest.raises(ValueError, match="FLAIR"):
        rl.candidate_map(vol, ZOOMS, AFFINE, sequence="T2w")


def test_inpainting_brings_the_blobs_back_to_white_matter(flair):
    vol, truth, cand, t = flair
    labels = phantom(labels=True)[2]
    region = rl.inpaint_region(cand, t)
    twin = rl.inpaint(vol, region, t, np.random.default_rng(0))
    assert np.array_equal(twin[~region], vol[~region])
    ratio = twin / t.wm_local
    wm_ratio = (vol / t.wm_local)[(labels == 3) & ~rl.ndi.binary_dilation(region, iterations=3)]
    inside = ratio[truth]
    assert abs(np.mean(inside) - np.mean(wm_ratio)) < 0.5 * np.std(wm_ratio)
    assert 0.6 < np.std(inside) / np.std(wm_ratio) < 1.5  # textured: no smooth patch
    assert np.percentile(inside, 99) < np.percentile(wm_ratio, 99.9)
    # the twin has no candidates left
    again, _ = rl.candidate_map(twin, ZOOMS, AFFINE)
    assert (again & truth).sum() < 0.05 * truth.sum()


def test_inpainting_is_deterministic_per_seed(flair):
    vol, _, cand, t = flair
    region = rl.inpaint_region(cand, t)
    a = rl.inpaint(vol, region, t, np.random.default_rng(3))
    b = rl.inpaint(vol, region, t, np.random.default_rng(3))
    assert np.array_equal(a, b)


def test_ms_insertion_only_in_white_matter_and_returns_its_mask():
    vol, _ = phantom(blobs=False, seed=4)
    t = rl.tissue_model(vol, ZOOMS, AFFINE)
    ins = rl.insert_lesions(vol, t, np.random.default_rng(0), "ms", n=12)
    changed = ins.volume != vol
    assert ins.mask.any() and len(ins.lesions) >= 6
    assert not (changed & ~t.wm).any()
    assert not (ins.mask.astype(bool) & ~t.wm).any()
    assert changed[ins.mask.astype(bool)].all()
    ratio = (ins.volume / t.wm_local)[ins.fraction > 0.9]
    assert np.median(ratio) > 1.3  # FLAIR-bright against the local white matter
    kinds = {les["kind"] for les in ins.lesions}
    assert "periventricular" in kinds
    assert all(3.0 <= les["diameter_mm"] <= 15.0 for les in ins.lesions)
    # candidate map finds what was inserted
    cand, _ = rl.candidate_map(ins.volume, ZOOMS, AFFINE)
    assert dice(cand, ins.mask.astype(bool) & (t.height >= 0.35)) > 0.4


def test_insertion_is_deterministic_and_seed_dependent():
    vol, _ = phantom(blobs=False, seed=5)
    t = rl.tissue_model(vol, ZOOMS, AFFINE)
    a = rl.insert_lesions(vol, t, np.random.default_rng(1), "ms", n=5)
    b = rl.insert_lesions(vol, t, np.random.default_rng(1), "ms", n=5)
    c = rl.insert_lesions(vol, t, np.random.default_rng(2), "ms", n=5)
    assert np.array_equal(a.volume, b.volume) and not np.array_equal(a.mask, c.mask)


def test_tsc_insertion_on_t2w():
    vol, _ = phantom("T2w", blobs=False, seed=6)
    t = rl.tissue_model(vol, ZOOMS, AFFINE, "T2w")
    ins = rl.insert_lesions(vol, t, np.random.default_rng(0), "tsc", n=6, n_sen=4)
    kinds = [les["kind"] for les in ins.lesions]
    assert kinds.count("tuber") >= 3 and any(k.startswith("sen") for k in kinds)
    changed = ins.volume != vol
    assert not (changed & ~t.brain).any()
    near_vent = rl.ndi.binary_dilation(t.ventricles, iterations=2)
    tubers = ins.fraction * ((t.wm | t.gm) & ~near_vent) > 0.9
    assert tubers.any() and np.median((ins.volume / t.wm_local)[tubers]) > 1.3  # T2-bright


def test_partial_volume_of_a_small_lesion_in_a_thick_slice():
    zooms = (0.5, 0.5, 6.0)
    centre = np.array([10.0, 10.0, 3 * 6.0])  # the middle of slice 3
    box, f = rl.ellipsoid_fraction((40, 40, 7), zooms, centre, np.full(3, 1.5), np.eye(3))
    volume = f.sum() * np.prod(zooms)
    assert abs(volume - 4 / 3 * np.pi * 1.5**3) < 0.1 * 4 / 3 * np.pi * 1.5**3
    assert f.max() < 0.6  # a 3 mm lesion fills at most half of a 6 mm slice (9 sub-samples: 5/9)
    assert box[2].start <= 3 < box[2].stop


def test_save_like_keeps_untouched_stored_values(tmp_path):
    import nibabel as nib

    raw = np.random.default_rng(0).integers(0, 4000, (12, 10, 6)).astype(np.uint16)
    img = nib.Nifti1Image(raw, np.diag([0.7, 0.7, 4.0, 1.0]))
    src = tmp_path / "src.nii.gz"
    img.to_filename(src)
    vol, zooms, aff, img = rl.load(str(src))
    assert zooms == pytest.approx((0.7, 0.7, 4.0))
    vol2 = vol.copy()
    vol2[2:4, 2:4, 1] += 10.4
    rl.save_like(img, vol2, str(tmp_path / "out.nii.gz"))
    out = nib.load(tmp_path / "out.nii.gz")
    assert out.get_data_dtype() == np.uint16
    stored = np.asarray(out.dataobj)
    assert np.array_equal(stored[5:], raw[5:]) and np.array_equal(stored[2:4, 2:4, 1], raw[2:4, 2:4, 1] + 10)


def test_mask_maps_between_grids_of_the_same_space():
    mask = np.zeros((40, 40, 10), bool)
    mask[10:20, 12:22, 4:6] = True
    a = np.diag([1.0, 1.0, 4.0, 1.0])
    b = np.diag([0.5, 0.5, 4.0, 1.0])
    b[:3, 3] = [2.0, 0.0, 0.0]  # half the voxel size, shifted 2 mm along x
    out = rl.map_mask_to_grid(mask, a, (80, 80, 10), b)
    assert out.sum() == pytest.approx(mask.sum() * 4, rel=0.1)
    assert out[(15 - 2) * 2, 17 * 2, 4] and not out[(15 + 6) * 2, 17 * 2, 4]
