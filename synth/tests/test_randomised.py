"""Randomised mode: contrast order, ranges of the drawn look, label independence, paired twins, mixing."""
from __future__ import annotations

import csv
import dataclasses
import pathlib
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage as ndi

from synth import anatomy, ms, randomised, subject
from synth.acquisition import Grid
from synth.cohort import generate

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED = 21  # its first 6 MS subjects per sequence cover every dtype, placement and stripping kind


def rows(d: pathlib.Path) -> list[dict]:
    with open(d / "manifest.csv") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory) -> dict[str, pathlib.Path]:
    out = {}
    for seq in ("FLAIR", "T2w"):
        d = tmp_path_factory.mktemp(f"randomised-{seq}")
        generate("ms", seq, 6, d, seed=SEED, paired=True, workers=1, coarsen=3.0, randomised=1.0, on_progress=None)
        out[seq] = d
    return out


def test_contrasts_keep_the_order_of_their_sequence():
    for k in range(300):
        rng = np.random.default_rng(k)
        f = randomised.sample_contrast("FLAIR", 40.0, rng)
        assert f.csf < f.wm == 1.0 < f.gm and f.bone < f.muscle < f.fat
        t = randomised.sample_contrast("T2w", 40.0, rng)
        assert t.wm == 1.0 < t.gm < t.csf and t.bone < t.muscle < t.fat
        for seq in ("FLAIR", "T2w"):  # lesions keep ms.py's draws: brighter than WM
            assert ms.lesion_signal(seq, ("subtle", "typical")[k % 2], rng) > 1.0


def central_medians(seq: str, index: int) -> dict[str, float]:
    """Median stored intensity of lateral-ventricle CSF, WM and lesions within 30 mm of the ventricles
    (a region small against the bias field), each class eroded in-plane by a voxel against partial volume."""
    p, r = subject.render("ms", seq, index, SEED, coarsen=2.0, randomised=1.0)
    tissue = subject.tissue_on_grid("ms", seq, index, SEED, coarsen=2.0, randomised=1.0)
    coords = subject.scan_coords(p, r.plan)
    central = ndi.map_coordinates(anatomy.load().dist_vent_mm, coords, order=1, mode="nearest") <= 30
    scan = r.scan.astype(np.float64)
    lesion = r.mask > 0
    inside = central & (scan > 0)
    classes = {
        "csf": tissue == anatomy.TISSUE["lateral_ventricle"],
        "wm": (tissue == anatomy.TISSUE["wm"]) & ~ndi.binary_dilation(lesion, iterations=2),
    }
    in_plane = ndi.generate_binary_structure(2, 1)[:, :, None]
    out = {k: float(np.median(scan[ndi.binary_erosion(v, in_plane) & inside])) for k, v in classes.items()}
    out["lesion"] = float(np.median(scan[lesion & inside]))
    return out


@pytest.mark.parametrize("seq", ["FLAIR", "T2w"])
def test_rendered_patients_keep_the_contrast_order(seq):
    # Typical or high-load patients on thin-ish slices (partial volume of a few mm lesions otherwise wins).
    picks = [
        i
        for i in range(1, 80, 2)
        if subject.sample_person("ms", i, SEED).difficulty != "subtle"
        and subject.plan_acquisition("ms", seq, i, SEED, 1.0, 1.0).acquired.thickness_mm <= 3.5
    ][:2]
    assert len(picks) == 2
    for i in picks:
        m = central_medians(seq, i)
        if seq == "FLAIR":
            assert m["csf"] < m["wm"] < m["lesion"], (i, m)
        else:
            assert m["wm"] < m["csf"] and m["wm"] < m["lesion"], (i, m)


def test_drawn_looks_cover_the_stated_ranges():
    plans = [
        subject.plan_acquisition(task, seq, i, 3, 1.0, 1.0)
        for task in ("ms", "tsc")
        for seq in ("FLAIR", "T2w")
        for i in range(25)
    ]
    inplane = [pl.acquired.inplane_mm for pl in plans]
    thick = [pl.acquired.thickness_mm for pl in plans]
    assert 0.4 <= min(inplane) < 0.55 and 1.15 < max(inplane) <= 1.3
    assert 1.0 <= min(thick) < 1.3 and 6.0 < max(thick) <= 7.0
    assert {pl.storage.dtype for pl in plans} == set(randomised.DTYPES)
    assert {pl.acquired.is_3d for pl in plans} == {True, False}
    assert {pl.placement for pl in plans} == {"native", "mni"}
    assert {pl.stripping for pl in plans} == {"none", "hard", "bad"}
    assert {pl.coverage for pl in plans} == {"full", "no_vertex", "no_cerebellum"}
    assert {pl.profile for pl in plans} == {"gaussian", "box"}
    slopes = [pl.storage.slope for pl in plans]
    assert 1.0 in slopes and min(slopes) < 0.5 and max(slopes) > 2
    snr = [pl.snr for pl in plans]
    assert min(snr) < 12 and max(snr) > 60  # wider than the calibrated 12–60
    assert all(pl.grid.shape == randomised.MNI_SHAPE for pl in plans if pl.placement == "mni")


def test_files_are_stored_as_drawn(cohorts):
    dtypes = set()
    for seq, d in cohorts.items():
        for r in rows(d):
            i = int(r["subject_id"].split("-")[1])
            plan = subject.plan_acquisition("ms", seq, i, SEED, 3.0, 1.0)
            img = nib.load(str(d / r["path"]))
            assert r["mode"] == "randomised" and r["placement"] == plan.placement
            assert img.get_data_dtype() == np.dtype(plan.storage.dtype) and r["storage"].startswith(plan.storage.dtype)
            assert abs(float(img.dataobj.slope) - plan.storage.slope) < 1e-5
            assert img.shape == plan.grid.shape and np.allclose(img.affine, plan.grid.affine, atol=1e-4)
            assert r["skull_stripped"] == str(int(plan.stripping != "none"))
            data = img.get_fdata()
            assert np.isfinite(data).all() and data.max() > 0
            if plan.stripping != "none":
                assert np.mean(data == 0) > 0.3  # zeros outside the (possibly bad) brain mask
            dtypes.add(plan.storage.dtype)
    assert dtypes == set(randomised.DTYPES)


def look(plan: subject.Plan) -> dict:
    """Every drawn appearance parameter of a plan, as plain values."""
    out = {}
    for f in dataclasses.fields(plan):
        v = getattr(plan, f.name)
        if f.name == "rng":
            v = v.bit_generator.state  # where the stream stands: the bias field continues it
        elif isinstance(v, Grid):
            v = (v.shape, v.affine.tolist(), v.orientation, v.thickness_mm, v.inplane_mm, v.is_3d)
        elif isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, dict):
            v = {k: (x.tolist() if isinstance(x, np.ndarray) else x) for k, x in v.items()}
        elif dataclasses.is_dataclass(v):
            v = dataclasses.asdict(v)
        out[f.name] = v
    return out


def test_appearance_does_not_depend_on_the_label(monkeypatch):
    # Same indices, labels swapped: every appearance draw must stay the same (it would not if the label
    # entered a stream key or any draw), while the person's label and difficulty do change.
    def draws():
        return [
            (look(subject.plan_acquisition(task, seq, i, 5, 1.0, 0.5)), subject.subject_mode(task, seq, i, 5, 0.5))
            for task in ("ms", "tsc")
            for seq in ("FLAIR", "T2w")
            for i in range(8)
        ]

    before = draws()
    labels = [subject.sample_person("ms", i, 5).label for i in range(8)]
    monkeypatch.setattr(subject, "label_of", lambda index: 1 - index % 2)
    assert [subject.sample_person("ms", i, 5).label for i in range(8)] == [1 - x for x in labels]
    after = draws()
    assert {m for _, m in before} == {"calibrated", "randomised"}
    assert after == before


def test_a_patients_twin_is_the_same_index_drawn_as_a_control(monkeypatch):
    # End to end: a TSC patient's lesion-free twin (TSC anatomy has no label-dependent part) equals the
    # scan rendered for the same index as a control: contrast, grid, bias, noise, gamma, storage, stripping.
    for i in (1, 3):
        _, patient = subject.render("tsc", "FLAIR", i, SEED, paired=True, coarsen=3.0, randomised=1.0)
        with monkeypatch.context() as m:
            m.setattr(subject, "label_of", lambda index: 0)
            _, control = subject.render("tsc", "FLAIR", i, SEED, paired=True, coarsen=3.0, randomised=1.0)
        assert patient.mask.any() and not control.mask.any() and control.scan_paired is None
        assert patient.scan.dtype == control.scan.dtype and np.array_equal(patient.scan_paired, control.scan)


def test_paired_twins_differ_only_around_lesions(cohorts):
    checked = 0
    for d in cohorts.values():
        for r in rows(d):
            if r["label"] == "0":
                assert r["paired_path"] == ""
                continue
            a = np.asanyarray(nib.load(str(d / r["path"])).dataobj)
            b = np.asanyarray(nib.load(str(d / r["paired_path"])).dataobj)
            m = np.asanyarray(nib.load(str(d / r["lesion_mask"])).dataobj) > 0
            assert a.shape == b.shape and a.dtype == b.dtype
            if not m.any():  # every lesion outside the field of view or the stripping mask
                continue
            assert np.any(a[m] != b[m])
            if r["ghosting"] == "0":
                assert (
                    np.mean(a[~ndi.binary_dilation(m, iterations=3)] == b[~ndi.binary_dilation(m, iterations=3)]) > 0.99
                )
            checked += 1
    assert checked >= 4


def test_mixed_cohort_keeps_calibrated_subjects_bit_for_bit(small_cohorts, tmp_path):
    # Seed 11: subjects 0, 2, 3 are randomised at 0.5, subject 1 calibrated (subject_mode).
    generate(
        "ms",
        "FLAIR",
        4,
        tmp_path,
        seed=11,
        paired=True,
        want_slices=True,
        workers=1,
        coarsen=3.0,
        randomised=0.5,
        on_progress=None,
    )
    ref = small_cohorts["ms-FLAIR"]
    modes = {r["subject_id"]: r["mode"] for r in rows(tmp_path)}
    assert sorted(modes.values()) == ["calibrated", "randomised", "randomised", "randomised"]
    for r in rows(tmp_path):
        files = [r["path"], r["lesion_mask"]] + ([r["paired_path"]] if r["paired_path"] else [])
        same = [(tmp_path / f).read_bytes() == (ref / f).read_bytes() for f in files]
        assert all(same) if r["mode"] == "calibrated" else not any(same[:1])


def test_cli_rejects_a_bad_fraction(tmp_path):
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "synth",
            "--task",
            "ms",
            "--sequence",
            "flair",
            "--n",
            "2",
            "--out",
            str(tmp_path / "x"),
            "--randomised",
            "1.5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and "--randomised" in p.stderr and "1.5" in p.stderr
