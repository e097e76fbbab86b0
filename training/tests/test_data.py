"""Manifest validation (errors name the row), subject-level stratified splits, augmentation."""
import csv
import json
import os

import numpy as np
import pytest
import torch

from training import data as D
from training.export import save_model_grid_nifti

from .cohort import make_cohort


def write_manifest(path, rows, header=("path", "label", "subject_id", "sequence")):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


@pytest.fixture
def cohort(tmp_path):
    return make_cohort(str(tmp_path / "c"), n_per_class=10, shape=(8, 8, 8))


def test_reads_a_good_manifest(cohort):
    rows = D.read_manifest(cohort)
    assert len(rows) == 20 and {r.label for r in rows} == {0, 1}
    assert os.path.isabs(rows[0].path) and os.path.isfile(rows[0].path)
    assert D.read_manifest(cohort, "flair")[0].sequence == "FLAIR"
    with pytest.raises(D.ManifestError, match="no rows with sequence 'T2w'"):
        D.read_manifest(cohort, "T2w")


def test_missing_file_names_the_row(tmp_path, cohort):
    m = write_manifest(
        tmp_path / "m.csv",
        [
            [os.path.join(os.path.dirname(cohort), "vols/sub-000.nii.gz"), 0, "a", "FLAIR"],
            ["nowhere.nii.gz", 1, "b", "FLAIR"],
        ],
    )
    with pytest.raises(D.ManifestError, match=r"row 2 \(line 3\): file not found: 'nowhere.nii.gz'"):
        D.read_manifest(m)


@pytest.mark.parametrize("label", ["2", "-1", "yes", "", "0.5"])
def test_bad_label_names_the_row_and_value(tmp_path, cohort, label):
    f = os.path.join(os.path.dirname(cohort), "vols/sub-000.nii.gz")
    m = write_manifest(tmp_path / "m.csv", [[f, 0, "a", "FLAIR"], [f, 1, "b", "FLAIR"], [f, label, "c", "FLAIR"]])
    with pytest.raises(D.ManifestError, match=rf"row 3 .*label must be 0 or 1, got '{label}'"):
        D.read_manifest(m)


def test_missing_column_and_conflicting_subject_labels(tmp_path, cohort):
    f = os.path.join(os.path.dirname(cohort), "vols/sub-000.nii.gz")
    m = write_manifest(tmp_path / "m.csv", [[f, 0]], header=("path", "label"))
    with pytest.raises(D.ManifestError, match=r"missing column\(s\) \['subject_id'\]"):
        D.read_manifest(m)
    m = write_manifest(tmp_path / "m2.csv", [[f, 0, "a", "FLAIR"], [f, 1, "a", "T2w"]])
    with pytest.raises(D.ManifestError, match="row 2: subject 'a' has label 1 but label 0 in row 1"):
        D.read_manifest(m)


def test_subject_in_two_splits_is_named(cohort):
    rows = D.read_manifest(cohort)
    s = D.make_splits(rows, "A", 1)
    s["test"].append(s["train"][0])
    with pytest.raises(
        D.ManifestError, match=rf"subject '{s['train'][0]}' \(manifest rows \[\d+\]\) is in two splits: train and test"
    ):
        D.check_splits(s, rows)


def test_wrong_shape_names_the_row(cohort):
    rows = D.read_manifest(cohort)
    with pytest.raises(D.ManifestError, match=r"manifest row 1: .* has grid \[8, 8, 8\], the model needs \[16, 8, 8\]"):
        D.load_volume(rows[0], (8, 8, 16))


def test_volume_layout_is_nifti_transposed(tmp_path):
    v = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)  # tensor [nz, ny, nx]
    p = str(tmp_path / "v.nii.gz")
    save_model_grid_nifti(v, p)
    import nibabel as nib

    assert nib.load(p).shape == (4, 3, 2)  # NIfTI x, y, z
    row = D.Row(1, p, 0, "s", "FLAIR")
    np.testing.assert_array_equal(D.load_volume(row, (2, 3, 4))[0].numpy(), v)


@pytest.mark.parametrize("scheme,n,want", [("A", 520, (338, 78, 104)), ("B", 131, (84, 21, 26))])
def test_splits_are_stratified_by_subject_and_seeded(scheme, n, want):
    # paper A: 260 + 260 subjects with two sequences each; paper B: 72 MS + 59 controls
    subject = (lambda i: i // 2) if scheme == "A" else (lambda i: i)
    label = (lambda s: s % 2) if scheme == "A" else (lambda s: int(s < 72))
    rows = [
        D.Row(i, f"/x{i}", label(subject(i)), f"s{subject(i)}", "F") for i in range(n * (2 if scheme == "A" else 1))
    ]
    s = D.make_splits(rows, scheme, 7)
    assert (len(s["train"]), len(s["val"]), len(s["test"])) == want
    D.check_splits(s, rows)
    assert D.make_splits(rows, scheme, 7) == s and D.make_splits(rows, scheme, 8) != s
    labels = {r.subject_id: r.label for r in rows}
    for k in ("train", "val", "test"):
        frac = np.mean([labels[x] for x in s[k]])
        assert abs(frac - np.mean(list(labels.values()))) < 0.05


def test_twins_join_their_patients_split_and_leave_the_others_as_they_were():
    """Several slices per subject and lesion-free twins (paper B's band slices): every subject's slices in one
    split, each twin in its patient's, and the split of the other subjects that of the cohort without twins."""
    rows = [D.Row(i, f"/x{i}", s % 2, f"s{s}", "F") for i, s in enumerate(sorted(list(range(40)) * 3))]
    plain = D.make_splits(rows, "B", 1)
    twins = [
        D.Row(200 + i, f"/t{i}", 0, f"s{s}-twin", "F", {"twin_of": f"s{s}"}) for i, s in enumerate(range(1, 40, 2))
    ]
    s = D.make_splits(rows + twins, "B", 1)
    D.check_splits(s, rows + twins)
    for k in ("train", "val", "test"):
        assert [x for x in s[k] if not x.endswith("-twin")] == plain[k]
        assert {x for x in s[k] if x.endswith("-twin")} == {f"{x}-twin" for x in plain[k] if int(x[1:]) % 2}
    with pytest.raises(D.ManifestError, match="twin of 's99'"):
        D.make_splits(rows + [D.Row(300, "/t", 0, "s99-twin", "F", {"twin_of": "s99"})], "B", 1)


def test_splits_are_written_and_reused(tmp_path, cohort):
    rows = D.read_manifest(cohort)
    p = str(tmp_path / "out" / "splits.json")
    s = D.load_or_make_splits(p, rows, "B", 3)
    with open(p) as f:
        assert json.load(f) == s
    assert D.load_or_make_splits(p, rows, "A", 99) == s  # the file on disk wins (resume, evaluation)


def test_augmentation_is_seeded_bounded_and_changes_the_volume():
    x = torch.rand(1, 16, 16, 16)
    a = D.Augment()
    y1 = a(x, torch.Generator().manual_seed(1))
    y2 = a(x, torch.Generator().manual_seed(1))
    y3 = a(x, torch.Generator().manual_seed(2))
    torch.testing.assert_close(y1, y2)
    assert not torch.allclose(y1, y3) and not torch.allclose(y1, x)
    assert y1.shape == x.shape and y1.min() >= 0 and y1.max() <= 1
    x2 = torch.rand(1, 24, 24)
    assert a(x2, torch.Generator().manual_seed(0)).shape == x2.shape
    # flip only: the left-right (last) axis is mirrored
    f = D.Augment(rotate_deg=0, scale=0, translate=0, intensity=0, gamma=0, noise=0)
    outs = {tuple(f(x, torch.Generator().manual_seed(s)).flatten()[:3].tolist()) for s in range(8)}
    assert outs == {tuple(x.flatten()[:3].tolist()), tuple(x.flip(-1).flatten()[:3].tolist())}


def test_png_slices_load_in_ras_index_order(tmp_path):
    """synth's axial PNG: patient's right on the image's left, anterior up -> tensor [y, x] with the
    top-left pixel at the highest (anterior, right) indices; intensities / 255."""
    from PIL import Image

    px = np.zeros((6, 4), np.uint8)  # 6 rows (y), 4 columns (x)
    px[0, 0] = 255
    px[5, 3] = 51
    Image.fromarray(px).save(tmp_path / "s.png")
    m = write_manifest(
        tmp_path / "m.csv",
        [["s.png", 1, "a", "FLAIR", "axial"], ["s.png", 0, "b", "FLAIR", "sagittal"]],
        header=("path", "label", "subject_id", "sequence", "view"),
    )
    rows = D.read_manifest(m, view="axial")
    assert [r.subject_id for r in rows] == ["a"]
    t = D.load_volume(rows[0], (6, 4))[0]
    assert t[5, 3] == 1.0 and t[0, 0] == pytest.approx(0.2) and t.sum() == pytest.approx(1.2)
    with pytest.raises(D.ManifestError, match="row 1: .* has grid \\[4, 6\\], the model needs \\[224, 224\\]"):
        D.load_volume(rows[0], (224, 224))


def test_uncached_dataset_equals_cached_and_checks_grids_up_front(cohort):
    rows = D.read_manifest(cohort)[:4]
    cached, lazy = D.VolumeDataset(rows, (8, 8, 8)), D.VolumeDataset(rows, (8, 8, 8), cache_gb=0)
    assert cached.cached and not lazy.cached
    for i in range(4):
        torch.testing.assert_close(cached[i][0], lazy[i][0])
    with pytest.raises(D.ManifestError, match="manifest row 1: .* has grid \\[8, 8, 8\\]"):
        D.VolumeDataset(rows, (8, 8, 9), cache_gb=0)
