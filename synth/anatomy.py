"""The template anatomy: Colin27 T1, tissue classes, tract labels and the fields derived from them.

Loaded once per process (`load()` is cached). All arrays share one 1 mm grid whose voxel → world
(Colin27/MNI mm) map is `Anatomy.affine`; the grid is padded below the template with a neck so that
fields of view reaching below the skull base do not end in a hard edge.
"""
from __future__ import annotations

import dataclasses
import functools
import pathlib

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"
NECK_MM = 40

# Tissue classes written by synth/templates/build_templates.py.
TISSUE = {
    "background": 0,
    "extracranial": 1,
    "csf": 2,
    "lateral_ventricle": 3,
    "other_ventricle": 4,
    "gm": 5,
    "wm": 6,
    "deep_gm": 7,
    "cerebellum_gm": 8,
    "cerebellum_wm": 9,
    "brainstem": 10,
}
# T1 (ch2bet) class centres, from the histogram of the brain: CSF, cortical GM, WM peaks.
T1_CENTRES = {"csf": 34.0, "gm": 86.0, "wm": 113.0}


@dataclasses.dataclass(frozen=True)
class Anatomy:
    t1: np.ndarray  # uint8 T1 intensities (head and neck)
    tissue: np.ndarray  # uint8 classes (TISSUE)
    jhu: np.ndarray  # uint8 JHU tract labels
    affine: np.ndarray  # voxel → Colin27 world mm
    brain: np.ndarray  # bool: brain parenchyma and intracranial CSF
    dist_vent_mm: np.ndarray  # float32 distance to the lateral ventricles
    dist_gm_mm: np.ndarray  # float32 distance to cortical GM
    nearest_vent: np.ndarray  # int16 (3, ...) index of the nearest lateral-ventricle voxel
    centre_vent: np.ndarray  # world mm: centroid of the lateral ventricles
    centre_brain: np.ndarray  # world mm: centroid of the brain

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.t1.shape  # type: ignore[return-value]


def _pad_neck(a: np.ndarray, fill_from_edge: bool) -> np.ndarray:
    """Extend the volume NECK_MM downward (−k) by repeating its lowest slice (the upper neck)."""
    edge = a[:, :, :1] if fill_from_edge else np.zeros_like(a[:, :, :1])
    return np.concatenate([np.repeat(edge, NECK_MM, axis=2), a], axis=2)


@functools.lru_cache(maxsize=1)
def load() -> Anatomy:
    imgs = {n: nib.load(str(TEMPLATES / f"colin27_{n}.nii.gz")) for n in ("t1", "tissue", "jhu")}
    aff = imgs["t1"].affine.copy()
    aff[:3, 3] -= aff[:3, 2] * NECK_MM
    t1 = _pad_neck(np.asanyarray(imgs["t1"].dataobj), True)
    tissue = _pad_neck(np.asanyarray(imgs["tissue"].dataobj), True)
    tissue[:, :, :NECK_MM][tissue[:, :, :NECK_MM] > 1] = 1  # the neck holds no brain
    jhu = _pad_neck(np.asanyarray(imgs["jhu"].dataobj), False)
    brain = tissue >= 2
    vent = tissue == TISSUE["lateral_ventricle"]
    dist_vent, idx = ndi.distance_transform_edt(~vent, return_indices=True)
    cortex = tissue == TISSUE["gm"]
    dist_gm = ndi.distance_transform_edt(~cortex)
    world_of = lambda m: aff[:3, :3] @ np.array(ndi.center_of_mass(m)) + aff[:3, 3]
    return Anatomy(
        t1=t1,
        tissue=tissue,
        jhu=jhu,
        affine=aff,
        brain=brain,
        dist_vent_mm=dist_vent.astype(np.float32),
        dist_gm_mm=dist_gm.astype(np.float32),
        nearest_vent=idx.astype(np.int16),
        centre_vent=world_of(vent),
        centre_brain=world_of(brain),
    )


@functools.lru_cache(maxsize=1)
def candidates() -> dict[str, np.ndarray]:
    """Voxel indices (N, 3) where each kind of lesion may be centred (rules in docs/synth.md)."""
    a = load()
    t = a.tissue
    wm = t == TISSUE["wm"]
    cortex_near = a.dist_gm_mm <= 1.5
    deep_gm = t == TISSUE["deep_gm"]
    lateral = t == TISSUE["lateral_ventricle"]
    out = {
        # MS (Filippi et al. 2016; Thompson et al. 2018)
        "periventricular": wm & (a.dist_vent_mm >= 1) & (a.dist_vent_mm <= 4),
        "juxtacortical": wm & cortex_near & (a.dist_vent_mm > 12),
        "deep_wm": wm & (a.dist_vent_mm > 11) & (a.dist_gm_mm > 4),
        "infratentorial": np.isin(t, [TISSUE["cerebellum_wm"], TISSUE["brainstem"]]),
        # TSC (Northrup et al. 2021; Braffman et al. 1992)
        "tuber": wm & cortex_near & (a.dist_vent_mm > 10),
        "sen": lateral & ndi.binary_dilation(deep_gm | wm, iterations=1),
        # confounders
        "pvs": (deep_gm | (wm & (a.dist_vent_mm > 6))),
        "wmh": wm & (a.dist_vent_mm > 6),
    }
    return {k: np.argwhere(v).astype(np.int16) for k, v in out.items()}


@functools.lru_cache(maxsize=1)
def parenchyma() -> np.ndarray:
    """float32 fraction of brain tissue (not CSF) per voxel, read from T1 between the CSF and GM centres."""
    a = load()
    lo, hi = T1_CENTRES["csf"], T1_CENTRES["gm"]
    frac = np.clip((a.t1.astype(np.float32) - lo) / (hi - lo), 0, 1)
    frac[~a.brain] = 0
    frac[a.tissue == TISSUE["lateral_ventricle"]] = 0
    return frac


@functools.lru_cache(maxsize=1)
def infratentorial() -> np.ndarray:
    """float32 parenchyma fraction limited to the brainstem and cerebellum (infratentorial lesions stay there)."""
    t = load().tissue
    inside = np.isin(t, [TISSUE["cerebellum_gm"], TISSUE["cerebellum_wm"], TISSUE["brainstem"]])
    return parenchyma() * inside


@functools.lru_cache(maxsize=1)
def brain_distance_mm() -> np.ndarray:
    """float32 signed distance to the brain mask's surface (mm, > 0 outside): bad skull stripping moves it."""
    b = load().brain
    return (ndi.distance_transform_edt(~b) - ndi.distance_transform_edt(b)).astype(np.float32)
