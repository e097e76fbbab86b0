"""Cohort output: reproducibility, manifest, masks vs labels, paired scans, NIfTI validity, CLI errors."""
from __future__ import annotations

import csv
import json
import pathlib
import shutil
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage as ndi

from synth.cohort import MANIFEST_COLUMNS, generate

ROOT = pathlib.Path(__file__).resolve().parents[2]
TRAINING_COLUMNS = [
    "path",
    "label",
    "subject_id",
    "sequence",
    "age",
    "sex",
    "lesion_mask",
    "lesion_count",
    "lesion_volume_ml",
    "seed",
    "generator_version",
]


def rows(d: pathlib.Path) -> list[dict]:
    with open(d / "manifest.csv") as f:
        return list(csv.DictReader(f))


def all_files(d: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_output(small_cohorts, tmp_path):
    again = tmp_path / "again"
    generate("ms", "FLAIR", 4, again, seed=11, paired=True, want_slices=True, workers=2, coarsen=3.0, on_progress=None)
    a, b = all_files(small_cohorts["ms-FLAIR"]), all_files(again)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_other_seed_gives_other_scans(small_cohorts, tmp_path):
    other = tmp_path / "other"
    generate("ms", "FLAIR", 1, other, seed=12, workers=1, coarsen=3.0, on_progress=None)
    assert (other / "scans/ms-0000.nii.gz").read_bytes() != (
        small_cohorts["ms-FLAIR"] / "scans/ms-0000.nii.gz"
    ).read_bytes()


def test_manifest_has_training_columns_and_balanced_labels(small_cohorts):
    assert MANIFEST_COLUMNS[: len(TRAINING_COLUMNS)] == TRAINING_COLUMNS
    for d in small_cohorts.values():
        rs = rows(d)
        assert [r["label"] for r in rs] == ["0", "1", "0", "1"]
        assert {r["sequence"] for r in rs} <= {"FLAIR", "T2w"}
        for r in rs:
            assert (d / r["path"]).is_file() and (d / r["lesion_mask"]).is_file()
            assert r["generator_version"] and r["seed"] == "11"
        meta = json.loads((d / "cohort.json").read_text())
        assert meta["complete"] is True and meta["n"] == 4 and meta["seed"] == 11


def test_masks_match_labels(small_cohorts):
    for d in small_cohorts.values():
        for r in rows(d):
            scan, mask = nib.load(str(d / r["path"])), nib.load(str(d / r["lesion_mask"]))
            m = np.asanyarray(mask.dataobj)
            assert mask.shape == scan.shape and np.allclose(mask.affine, scan.affine)
            assert set(np.unique(m)) <= {0, 1}
            if r["label"] == "1":
                assert m.sum() >= 1 and int(r["lesion_count"]) >= 1 and float(r["lesion_volume_ml"]) > 0
            else:
                assert m.sum() == 0 and r["lesion_count"] == "0" and r["lesion_volume_ml"] == "0.0"


def test_paired_scan_differs_only_around_lesions(small_cohorts):
    for d in small_cohorts.values():
        for r in rows(d):
            if r["label"] == "0":
                assert r["paired_path"] == ""
                continue
            a = np.asanyarray(nib.load(str(d / r["path"])).dataobj)
            b = np.asanyarray(nib.load(str(d / r["paired_path"])).dataobj)
            m = np.asanyarray(nib.load(str(d / r["lesion_mask"])).dataobj) > 0
            near = ndi.binary_dilation(m, iterations=3)
            assert np.any(a[m] != b[m]), "lesions must change the scan"
            far = ~near
            if r["ghosting"] == "1":  # the ghost copies the lesions half a field of view away
                continue
            assert np.mean(a[far] == b[far]) > 0.99


def test_scans_are_scanner_like_nifti(small_cohorts):
    for d in small_cohorts.values():
        for r in rows(d):
            img = nib.load(str(d / r["path"]))
            assert img.get_data_dtype() in (np.dtype("int16"), np.dtype("uint16"))
            assert img.header.get_qform(coded=True)[1] == 1 and img.header.get_sform(coded=True)[1] == 1
            assert np.allclose(img.header.get_qform(), img.affine, atol=1e-4)
            slope = float(img.dataobj.slope)  # nibabel moves the stored scl_slope onto the data proxy
            assert slope > 0 and abs(slope - float(r["storage"].split("*")[1])) < 1e-5
            data = img.get_fdata()
            assert data.max() > 0 and np.isfinite(data).all()
            assert abs(np.linalg.det(img.affine[:3, :3])) > 0


def test_slices2d_are_224_pngs_with_masks(small_cohorts):
    from PIL import Image

    d = small_cohorts["ms-FLAIR"]
    with open(d / "slices2d/slices.csv") as f:
        srows = list(csv.DictReader(f))
    assert len(srows) == 8 and {r["view"] for r in srows} == {"axial", "sagittal"}
    for r in srows:
        img, m = Image.open(d / r["path"]), np.asarray(Image.open(d / r["mask_path"]))
        assert img.size == (224, 224) and img.mode == "L"
        assert set(np.unique(m)) <= {0, 255}
        assert int(r["lesion_pixels"]) == int((m > 0).sum())
        if r["label"] == "0":
            assert r["lesion_pixels"] == "0"


def test_cli_rejects_bad_arguments(tmp_path):
    base = [sys.executable, "-m", "synth", "--out", str(tmp_path / "x")]
    for bad in (
        ["--task", "adhd", "--sequence", "flair", "--n", "2"],
        ["--task", "ms", "--sequence", "dwi", "--n", "2"],
        ["--task", "ms", "--sequence", "flair", "--n", "0"],
    ):
        p = subprocess.run(base + bad, cwd=ROOT, capture_output=True, text=True)
        assert p.returncode == 2, p.stderr
        assert bad[1] in p.stderr or bad[3] in p.stderr or bad[5] in p.stderr


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "src/cli/commands/preprocess.ts").exists(),
    reason="the qumri preprocess CLI is not available",
)
def test_output_goes_through_qumri_preprocess(small_cohorts, tmp_path):
    d = small_cohorts["tsc-T2w"]
    p = subprocess.run(
        [
            "node",
            str(ROOT / "bin/qumri.mjs"),
            "preprocess",
            str(d / "manifest.csv"),
            "--grid",
            "64",
            "--out",
            str(tmp_path / "pp"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    for r in rows(d):
        out = tmp_path / "pp" / pathlib.Path(r["path"]).name
        img = nib.load(str(out))
        assert img.shape == (64, 64, 64) and img.get_fdata().max() > 0


def test_slice_levels_anchor_the_head_median():
    """synth.slices2d.levels, with the same numbers as the page's sliceLevels test (slice2d.test.ts)."""
    from synth.slices2d import levels

    parts = [(0, 10), (2, 10), (100, 70), (200, 8), (400, 2)]
    img = np.concatenate([np.full(n, v, np.float32) for v, n in parts])
    out = levels(img)
    assert [int(out[np.argmax(img == v)]) for v, _ in parts] == [0, 2, 102, 204, 255]
    assert not levels(np.zeros(16, np.float32)).any()
