"""training.real_train on a phantom made here: paired healthy/positive scans differ only in the lesions, the manifest
keeps the patient as subject and both classes balanced, augmentation is deterministic, validation-only data is
refused."""
from __future__ import annotations

import csv

import nibabel as nib
import numpy as np
import pytest

from training import real_lesions as rl
from training import real_train as rt
from training.tests.test_real_lesions import AFFINE, ZOOMS, phantom


@pytest.fixture(scope="module")
def t2w():
    vol, _ = phantom("T2w", blobs=False, seed=7)
    img = nib.Nifti1Image(np.round(vol).astype(np.uint16), AFFINE)
    vol = np.asarray(img.get_fdata(dtype=np.float32))
    return vol, img, rl.tissue_model(vol, ZOOMS, AFFINE, "T2w")


def test_augmentation_is_deterministic_and_changes_intensity(t2w):
    vol, _, t = t2w
    a, pa = rt.augment(vol, ZOOMS, t.brain, 300.0, np.random.default_rng(1))
    b, pb = rt.augment(vol, ZOOMS, t.brain, 300.0, np.random.default_rng(1))
    c, _ = rt.augment(vol, ZOOMS, t.brain, 300.0, np.random.default_rng(2))
    assert np.array_equal(a, b) and pa == pb and not np.array_equal(a, c)
    assert a.shape == vol.shape and (a >= 0).all()
    assert 0.75 <= pa["gain"] <= 1.35 and 0.8 <= pa["gamma"] <= 1.25


def test_pairs_differ_only_in_the_lesions_and_the_manifest_is_balanced(tmp_path, t2w):
    vol, img, t = t2w
    w = rt.Writer(str(tmp_path), "tsc-t2w")
    rt.derived(w, img, vol, t, "healthy_adult", "phantom_T2", "tsc", 3, "real: original", "real: + TSC")
    path = w.finish()
    rows = list(csv.DictReader(open(path)))
    assert [r["label"] for r in rows] == ["0", "1"] * 3
    assert {r["subject_id"] for r in rows} == {"healthy_adult"} and {r["sequence"] for r in rows} == {"T2w"}
    assert all(r["lesion_mask"] for r in rows if r["label"] == "1") and not any(
        r["lesion_mask"] for r in rows if r["label"] == "0"
    )
    for h, p in zip(rows[::2], rows[1::2]):
        vh = nib.load(tmp_path / "tsc-t2w" / h["path"])
        vp = nib.load(tmp_path / "tsc-t2w" / p["path"])
        assert vh.get_data_dtype() == np.uint16 and np.allclose(vh.affine, AFFINE)
        diff = np.asarray(vh.dataobj) != np.asarray(vp.dataobj)
        mask = np.asarray(nib.load(tmp_path / "tsc-t2w" / p["lesion_mask"]).dataobj) > 0
        near = rl.ndi.binary_dilation(mask, iterations=3)
        assert diff.any() and mask.any()
        assert diff[~near].sum() == 0  # same augmentation draw: only the lesions (and their partial volume) differ
    assert rows[0]["variant"] == '{"augmentation": {}}'  # the first pair is unaugmented
    assert '"gain"' in rows[2]["variant"]


def test_a_finished_scan_is_not_redone(tmp_path, t2w):
    vol, img, t = t2w
    w = rt.Writer(str(tmp_path), "x")
    rt.derived(w, img, vol, t, "s", "p", "tsc", 1, "a", "b")
    first = (tmp_path / "x" / "scans" / "p-healthy-00.nii.gz").stat().st_mtime_ns
    w2 = rt.Writer(str(tmp_path), "x")
    rt.derived(w2, img, vol, t, "s", "p", "tsc", 1, "a", "b")
    assert (tmp_path / "x" / "scans" / "p-healthy-00.nii.gz").stat().st_mtime_ns == first
    assert w2.rows == w.rows


def test_validation_only_data_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="never train"):
        rt.main([f"--data={tmp_path}/real-validation-only", f"--out={tmp_path}/out"])
