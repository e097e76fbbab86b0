"""Lesion placement rules in template space, contrast by age, and the measured tissue ratios."""
from __future__ import annotations

import json

import numpy as np
import pytest

from synth import anatomy, ms, tsc
from synth.calibration_loop import phantom_ratios
from synth.contrast import CALIBRATION, myelination, sample_contrast
from synth.lesions import Canvas
from synth.slices2d import band, choose_slice, fractions, lesion_band, matched_slices
from synth.subject import render, tissue_on_grid


@pytest.fixture(scope="module")
def drawn() -> dict[str, list[np.ndarray]]:
    """Voxels of every lesion kind over a few MS and TSC patients of each difficulty."""
    a = anatomy.load()
    kinds: dict[str, list[np.ndarray]] = {}
    for k in range(6):
        c = Canvas(a.shape)
        ms.draw(c, "FLAIR", ["typical", "high", "subtle"][k % 3], np.random.default_rng(k))
        rng = np.random.default_rng(100 + k)
        c2 = Canvas(a.shape)
        tsc.draw(c2, sample_contrast("T2w", 6.0, rng), 6.0, ["typical", "subtle"][k % 2], rng)
        for l in c.lesions + c2.lesions:
            kinds.setdefault(l.kind, []).append(l.voxels.astype(int))
    return kinds


def fraction(kinds, kind, field, test) -> float:
    v = np.concatenate(kinds[kind])
    return float(np.mean(test(field[tuple(v.T)])))


def test_ms_periventricular_voxels_lie_within_10mm_of_a_ventricle(drawn):
    assert fraction(drawn, "periventricular", anatomy.load().dist_vent_mm, lambda d: d <= 10) >= 0.9


def test_ms_juxtacortical_touch_cortex_and_deep_wm_keeps_away(drawn):
    a = anatomy.load()
    assert fraction(drawn, "juxtacortical", a.dist_gm_mm, lambda d: d <= 3) >= 0.9
    assert all(a.dist_gm_mm[tuple(v.T)].min() <= 1.5 for v in drawn["juxtacortical"])
    assert fraction(drawn, "deep_wm", a.dist_vent_mm, lambda d: d > 8) >= 0.9


def test_ms_infratentorial_lesions_are_in_brainstem_or_cerebellum(drawn):
    infra = [anatomy.TISSUE[k] for k in ("cerebellum_gm", "cerebellum_wm", "brainstem")]
    assert fraction(drawn, "infratentorial", anatomy.load().tissue, lambda t: np.isin(t, infra)) >= 0.9


def test_ms_lesions_are_3mm_or_more_and_spare_csf(drawn):
    t = anatomy.load().tissue
    csf = [anatomy.TISSUE[k] for k in ("csf", "lateral_ventricle", "other_ventricle")]
    for kind in ("periventricular", "juxtacortical", "deep_wm", "infratentorial"):
        assert fraction(drawn, kind, t, lambda x: ~np.isin(x, csf)) >= 0.98
        assert min(len(v) for v in drawn[kind]) >= 4  # a 3 mm ball: ~14 voxels, fewer beside CSF


def test_tsc_tubers_start_at_the_grey_white_junction(drawn):
    a = anatomy.load()
    assert all(a.dist_gm_mm[tuple(v.T)].min() <= 1.0 for v in drawn["tuber"])
    assert fraction(drawn, "tuber", a.dist_gm_mm, lambda d: d <= 5) >= 0.85


def test_tsc_subependymal_nodules_line_the_lateral_ventricles(drawn):
    a = anatomy.load()
    sens = drawn.get("sen", []) + drawn.get("sen_calcified", [])
    assert sens
    assert all(a.dist_vent_mm[tuple(v.T)].min() == 0 for v in sens)
    assert all(a.dist_vent_mm[tuple(v.T)].max() <= 6 for v in sens)


def test_myelination_inverts_grey_white_contrast_in_infants():
    """WM brighter than cortex in young infants, isointense around 8–12 months, darker after."""
    for seq in ("T2w", "FLAIR"):
        for s in range(5):
            infant, adult = (sample_contrast(seq, age, np.random.default_rng(s)) for age in (0.25, 30.0))
            assert infant.wm > infant.gm and adult.wm < adult.gm
        crossing = [
            age
            for age in np.arange(0.1, 3, 0.05)
            if sample_contrast(seq, age, np.random.default_rng(0)).wm
            < sample_contrast(seq, age, np.random.default_rng(0)).gm
        ]
        assert 0.4 <= crossing[0] <= 1.2, crossing[0]
    assert myelination(0.0) == 0 and myelination(40) > 0.99


def test_bad_sequence_is_named():
    with pytest.raises(ValueError, match="PD"):
        sample_contrast("PD", 10, np.random.default_rng(0))


@pytest.mark.parametrize("task,seq", [("ms", "FLAIR"), ("ms", "T2w")])
def test_tissue_ratios_within_calibrated_ranges(task, seq):
    """The calibration estimator (synth.calibrate.measure) on phantoms vs the same estimator on the real
    scans (synth/calibration.json): the median over phantoms within 12 % of the real scans' mean."""
    real = [s["ratios_to_wm"] for s in json.loads(CALIBRATION.read_text())["scans"] if s["sequence"] == seq]
    got = phantom_ratios(task, seq, 3, 3, coarsen=1.5)
    for k in ("GM", "CSF"):
        target = np.mean([x[k] for x in real])
        med = float(np.median([g[k] for g in got]))
        assert abs(med / target - 1) <= 0.12, (k, med, target, got)


def test_mask_on_the_scan_grid_sits_on_brain_tissue():
    """The lesion mask and the anatomy stay aligned through deformation, pose and grid."""
    tissue_classes = [anatomy.TISSUE[k] for k in ("gm", "wm", "deep_gm", "cerebellum_gm", "cerebellum_wm", "brainstem")]
    for task in ("ms", "tsc"):
        _, r = render(task, "FLAIR", 1, 5, coarsen=2.0)
        labels = tissue_on_grid(task, "FLAIR", 1, 5, coarsen=2.0)
        assert labels.shape == r.mask.shape and r.mask.any()
        assert np.mean(np.isin(labels[r.mask > 0], tissue_classes)) >= 0.8


def test_slice_rule_prefers_lesions_near_the_target():
    head = np.ones(100)
    les = np.zeros(100)
    les[70] = 5
    les[52] = 2
    rng = np.random.default_rng(0)
    k = choose_slice(head, les, 0.45, 0.8, 1.0, True, rng)
    t = int(round(np.random.default_rng(0).uniform(45, 79)))
    assert abs(k - t) <= 8 or k == 70
    assert choose_slice(head, np.zeros(100), 0.45, 0.8, 1.0, True, np.random.default_rng(0)) == t
    assert choose_slice(head, les, 0.45, 0.8, 1.0, False, np.random.default_rng(0)) == t


def test_band_rule_keeps_lesion_slices_and_places_controls_at_the_patients_positions():
    """Patients: the band's lesion-bearing slices, thinned to gap_mm; a control of another head size gets the
    same positions as fractions of its own head's extent, clipped to its band."""
    head = np.zeros(120)
    head[10:110] = 1  # patient head: slices 10–109, band 0.45–0.8 → 55–89
    les = np.zeros(120)
    les[[40, 60, 61, 62, 63, 88]] = 1  # 40 lies below the band
    b = band(head, 0.45, 0.8)
    assert (b[0], b[-1]) == (55, 89)
    assert lesion_band(les, b, 1.0, 0) == [60, 61, 62, 63, 88]
    assert lesion_band(les, b, 0.5, 1.0) == [60, 62, 88]  # 0.5 mm slices, at least 1 mm apart
    f = fractions(head, [60, 88])
    control = np.zeros(80)
    control[20:70] = 1  # control head: slices 20–69, band 42–59
    assert matched_slices(control, f, 0.45, 0.8) == [45, 59]
    assert matched_slices(control, fractions(head, [40, 55]), 0.45, 0.8) == [42]  # 40 → 35, clipped to the band
