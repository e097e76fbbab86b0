"""Cohort data: CSV manifest, subject-level stratified splits, model-grid volumes, augmentation.

Manifest columns: path, label (0|1), subject_id, sequence, and optionally age, sex, lesion_mask, view,
twin_of (a lesion-free twin's patient: the twin goes to its patient's split, which the other subjects
alone decide, so adding twins leaves everyone else's split as it was).
Relative paths are resolved against the manifest's folder. Volumes are NIfTI already on the model
grid (written by `qumri preprocess`, see prepare.py), read as `get_fdata().transpose(2, 1, 0)` so
the tensor is [nz, ny, nx] exactly as the page feeds ONNX (docs/model-bundle.md). Paper B's 2D
slices may also be 8-bit PNG (synth's slices2d: radiological axial, anterior up; sagittal anterior
left, superior up): pixel / 255, flipped on both axes so the tensor's row and column indices grow
towards anterior/superior and right/anterior, as a RAS NIfTI slice's do. Every error names
the manifest row (1-based data row, i.e. CSV line - 1) and the bad value.
"""
from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

REQUIRED = ("path", "label", "subject_id")
OPTIONAL = ("sequence", "age", "sex", "lesion_mask", "view", "twin_of")
SCHEMES = {"A": (0.20, 0.15), "B": (0.20, 0.16)}  # (test, val) as fractions of all subjects; B = 20 % of the rest


class ManifestError(ValueError):
    """A bad manifest row or split; the message names the row and value."""


@dataclass
class Row:
    index: int  # 1-based data row in the manifest
    path: str
    label: int
    subject_id: str
    sequence: str
    extra: dict = field(default_factory=dict)


def read_manifest(path: str, sequence: str = "", check_files: bool = True, view: str = "") -> list[Row]:
    """Parse and validate a manifest; `sequence` / `view` keep only rows with that value (case-insensitive)."""
    if not os.path.isfile(path):
        raise ManifestError(f"manifest not found: {path}")
    base = os.path.dirname(os.path.abspath(path))
    rows: list[Row] = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"{path}: missing column(s) {missing}; header is {reader.fieldnames}")
        for i, rec in enumerate(reader, start=1):
            where = f"{path} row {i} (line {i + 1})"
            label_text = (rec["label"] or "").strip()
            if label_text not in ("0", "1"):
                raise ManifestError(f"{where}: label must be 0 or 1, got {rec['label']!r}")
            subject = (rec["subject_id"] or "").strip()
            if not subject:
                raise ManifestError(f"{where}: empty subject_id")
            p = os.path.join(base, rec["path"].strip())
            if check_files and not os.path.isfile(p):
                raise ManifestError(f"{where}: file not found: {rec['path']!r} (resolved to {p})")
            extra = {k: rec[k] for k in OPTIONAL if rec.get(k) not in (None, "")}
            if "lesion_mask" in extra:
                extra["lesion_mask"] = os.path.join(base, extra["lesion_mask"])
                if check_files and not os.path.isfile(extra["lesion_mask"]):
                    raise ManifestError(f"{where}: lesion_mask not found: {rec['lesion_mask']!r}")
            row = Row(i, p, int(label_text), subject, (rec.get("sequence") or "").strip(), extra)
            if (not sequence or row.sequence.lower() == sequence.lower()) and (
                not view or str(extra.get("view", "")).lower() == view.lower()
            ):
                rows.append(row)
    if not rows:
        wanted = [f"{k} {v!r}" for k, v in (("sequence", sequence), ("view", view)) if v]
        raise ManifestError(f"{path}: no rows" + (" with " + " and ".join(wanted) if wanted else ""))
    subject_labels: dict[str, tuple[int, int]] = {}
    for r in rows:
        first = subject_labels.setdefault(r.subject_id, (r.label, r.index))
        if first[0] != r.label:
            raise ManifestError(
                f"{path} row {r.index}: subject {r.subject_id!r} has label {r.label} "
                f"but label {first[0]} in row {first[1]}"
            )
    return rows


# ---------------------------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------------------------


def make_splits(rows: list[Row], scheme: str, seed: int) -> dict:
    """Subject-level, label-stratified, seeded split. A: 65/15/20; B: 20 % test, then 20 % of the rest val."""
    if scheme not in SCHEMES:
        raise ManifestError(f"split scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
    test_frac, val_frac = SCHEMES[scheme]
    labels: dict[str, int] = {}
    twins: dict[str, str] = {}
    for r in rows:
        if "twin_of" in r.extra:
            twins[r.subject_id] = r.extra["twin_of"]
        else:
            labels[r.subject_id] = r.label
    rng = np.random.default_rng(seed)
    out = {"train": [], "val": [], "test": []}
    for c in (0, 1):
        subs = sorted(s for s, y in labels.items() if y == c)
        rng.shuffle(subs)
        n_test = int(round(len(subs) * test_frac))
        n_val = int(round(len(subs) * val_frac))
        out["test"] += subs[:n_test]
        out["val"] += subs[n_test : n_test + n_val]
        out["train"] += subs[n_test + n_val :]
    for twin, patient in twins.items():
        home = [k for k in out if patient in out[k]]
        if not home:
            raise ManifestError(f"subject {twin!r} is the twin of {patient!r}, which the manifest does not have")
        out[home[0]].append(twin)
    for k in out:
        out[k] = sorted(out[k])
    return {"format": "qumri-splits/1", "scheme": scheme, "seed": seed, **out}


def check_splits(splits: dict, rows: list[Row]) -> None:
    """Every manifest subject in exactly one split, each split non-empty with both classes in train."""
    seen: dict[str, str] = {}
    for name in ("train", "val", "test"):
        for s in splits.get(name, []):
            if s in seen:
                rows_of = [r.index for r in rows if r.subject_id == s]
                raise ManifestError(f"subject {s!r} (manifest rows {rows_of}) is in two splits: {seen[s]} and {name}")
            seen[s] = name
    for r in rows:
        if r.subject_id not in seen:
            raise ManifestError(f"manifest row {r.index}: subject {r.subject_id!r} is in no split")
    for name in ("train", "val"):
        labels = {r.label for r in rows if seen[r.subject_id] == name}
        if labels != {0, 1}:
            raise ManifestError(f"split {name!r} needs both classes, has labels {sorted(labels)}: cohort too small")


def load_or_make_splits(path: str, rows: list[Row], scheme: str, seed: int) -> dict:
    """Reuse the splits file when present (resume, evaluation), otherwise create and write it."""
    if os.path.exists(path):
        with open(path) as f:
            splits = json.load(f)
    else:
        splits = make_splits(rows, scheme, seed)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(splits, f, indent=1)
        os.replace(tmp, path)
    check_splits(splits, rows)
    return splits


def rows_in(rows: list[Row], splits: dict, name: str) -> list[Row]:
    keep = set(splits[name])
    return [r for r in rows if r.subject_id in keep]


# ---------------------------------------------------------------------------------------------
# Volumes
# ---------------------------------------------------------------------------------------------


def check_grid(row: Row, shape: tuple[int, ...]) -> None:
    """The wrong-grid error of load_volume from the file header alone (NIfTI; PNG files are small)."""
    if row.path.lower().endswith(".png"):
        load_volume(row, shape)
        return
    import nibabel as nib

    try:
        dims = list(nib.load(row.path).shape)
    except Exception as e:  # nibabel raises several types for unreadable files
        raise ManifestError(f"manifest row {row.index}: cannot read {row.path}: {e}") from None
    if len(shape) == 2 and len(dims) == 3 and dims[2] == 1:
        dims = dims[:2]
    if dims != list(reversed(shape)):
        raise ManifestError(
            f"manifest row {row.index}: {row.path} has grid {dims}, the model "
            f"needs {list(reversed(shape))} (x, y, z): run `training.prepare` or fix the spec"
        )


def _read_png(path: str) -> np.ndarray:
    """An 8-bit PNG slice as float32 / 255 in NIfTI axis order [x, y] (see the module header)."""
    from PIL import Image

    with Image.open(path) as im:
        px = np.asarray(im.convert("L"), dtype=np.float32) / 255.0  # [rows, cols]
    return np.ascontiguousarray(px[::-1, ::-1].T)


def load_volume(row: Row, shape: tuple[int, ...]) -> torch.Tensor:
    """[1, *shape] float32 from a model-grid NIfTI (or PNG slice); shape is the tensor shape ([nz, ny, nx]
    or [ny, nx])."""
    import nibabel as nib

    try:
        if row.path.lower().endswith(".png"):
            data = _read_png(row.path)
        else:
            data = np.asarray(nib.load(row.path).get_fdata(dtype=np.float32))
    except Exception as e:  # nibabel and PIL raise several types for unreadable files
        raise ManifestError(f"manifest row {row.index}: cannot read {row.path}: {e}") from None
    if len(shape) == 2 and data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    t = np.ascontiguousarray(data.transpose(*reversed(range(data.ndim))))
    if tuple(t.shape) != tuple(shape):
        grid = list(reversed(shape))
        raise ManifestError(
            f"manifest row {row.index}: {row.path} has grid {list(data.shape)}, the model "
            f"needs {grid} (x, y, z): run `training.prepare` or fix the spec"
        )
    if not np.isfinite(t).all():
        raise ManifestError(f"manifest row {row.index}: {row.path} contains NaN or infinite values")
    return torch.from_numpy(t)[None]


@dataclass
class Augment:
    """Random flips, small affine, intensity scale/shift/gamma and Gaussian noise (all on by default)."""

    flip: bool = True
    rotate_deg: float = 8.0
    scale: float = 0.05
    translate: float = 0.04
    intensity: float = 0.1
    gamma: float = 0.15
    noise: float = 0.02

    def __call__(self, x: torch.Tensor, g: torch.Generator, mask: torch.Tensor | None = None):
        """Augmented x; with a mask ([1, *spatial]) also the mask under the same flip and affine, as a pair."""
        nd = x.dim() - 1
        u = lambda *s: torch.rand(*s, generator=g) * 2 - 1  # noqa: E731  uniform in [-1, 1)
        if mask is not None:
            x = torch.cat([x, mask.to(x.dtype)])  # one spatial transform for both; same draws as without a mask
        if self.flip and torch.rand(1, generator=g).item() < 0.5:
            x = x.flip(-1)  # left-right: the brain's symmetry axis (x, the last tensor axis)
        if self.rotate_deg or self.scale or self.translate:
            x = self._affine(x, nd, u)
        if mask is not None:
            x, mask = x[:1], x[1:]
        if self.intensity:
            x = x * (1 + self.intensity * u(1)) + self.intensity * u(1)
        if self.gamma:
            x = x.clamp(min=0) ** float(math.exp(self.gamma * u(1)))
        if self.noise:
            x = x + self.noise * torch.randn(x.shape, generator=g)
        return x.clamp(0, 1) if mask is None else (x.clamp(0, 1), mask)

    def _affine(self, x: torch.Tensor, nd: int, u) -> torch.Tensor:
        a = math.radians(self.rotate_deg) * u(1).item()
        c, s = math.cos(a), math.sin(a)
        rot = torch.eye(nd)
        rot[0, 0], rot[0, 1], rot[1, 0], rot[1, 1] = c, -s, s, c  # affine_grid's coords are (x, y[, z]): axial plane
        theta = torch.cat([rot * (1 + self.scale * u(1)), self.translate * u(nd, 1)], 1)
        grid = F.affine_grid(theta[None], [1, *x.shape], align_corners=False)
        return F.grid_sample(x[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]


class VolumeDataset(Dataset):
    """Volumes of some manifest rows, augmented per epoch when asked. Held in memory when they fit in
    `cache_gb` (paper A's 520 subjects at 128^3 are 4.4 GB), otherwise read per access; either way every
    file is read (cached) or its header checked (uncached) up front, so a bad row fails before training."""

    def __init__(
        self,
        rows: list[Row],
        shape: tuple[int, ...],
        augment: Augment | None = None,
        seed: int = 0,
        cache_gb: float = 4.0,
    ):
        self.rows, self.shape, self.augment, self.seed = rows, tuple(shape), augment, seed
        self.cached = len(rows) * math.prod(self.shape) * 4 <= cache_gb * 2**30
        if self.cached:
            self.volumes = [load_volume(r, self.shape) for r in rows]
        else:
            for r in rows:
                check_grid(r, self.shape)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = self.volumes[i] if self.cached else load_volume(self.rows[i], self.shape)
        if self.augment is not None:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch * 10_007 + i)
            x = self.augment(x, g)
        return x, self.rows[i].label
