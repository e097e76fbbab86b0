"""Measure tissue intensity ratios and noise in real clinical scans, to calibrate the phantoms' contrast.

`/usr/bin/python3 -m synth.calibrate [--real DIR] [--out synth/calibration.json]`

For each scan: a head mask (threshold at 10 % of the 99.5th percentile, largest component), a brain
core (the head mask eroded by 20 mm in-plane, on slices from 40 % to 75 % of the stack, which keeps the scalp
out), a 3-class Gaussian mixture on the core's intensities for GM and WM (identified by the order
that the sequence implies), pure CSF from the intensity tail, and the background noise from the corner air (Rayleigh: sigma = mean/1.2533).
The results are written to calibration.json, which synth.contrast reads.
"""
from __future__ import annotations

import argparse
import json
import pathlib

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi
from sklearn.mixture import GaussianMixture

REAL = pathlib.Path("/work/shared/data/real")
SCANS = {
    # file: (sequence whose tissue order applies, description)
    "ms_patient01_FLAIR.nii.gz": ("FLAIR", "MS patient, 2D axial FLAIR (Lesjak et al. 2016)"),
    "ms_patient01_T2W.nii.gz": ("T2w", "MS patient, T2-weighted (Lesjak et al. 2016)"),
    # Despite its name the TorchIO sample has suppressed CSF: a T2-FLAIR contrast.
    "healthy_adult_T2.nii.gz": ("FLAIR", "healthy adult, T2-FLAIR-like (TorchIO sample data)"),
}


def measure(path: pathlib.Path | nib.Nifti1Image, sequence: str) -> dict:
    """The measurements above for one scan (a file or an image), reoriented to the closest RAS axes."""
    img = nib.as_closest_canonical(nib.load(str(path)) if isinstance(path, pathlib.Path) else path)
    name = path.name if isinstance(path, pathlib.Path) else "image"
    data = np.asanyarray(img.get_fdata(dtype=np.float32))
    zooms = img.header.get_zooms()[:3]
    p995 = np.percentile(data[data > 0], 99.5)
    head = data > 0.1 * p995
    lab, _ = ndi.label(head)
    head = lab == np.argmax(np.bincount(lab.ravel())[1:]) + 1
    head = np.stack([ndi.binary_fill_holes(head[:, :, k]) for k in range(head.shape[2])], axis=2)
    erode_vox = int(round(20 / zooms[0]))
    core = np.stack([ndi.binary_erosion(head[:, :, k], iterations=erode_vox) for k in range(head.shape[2])], 2)
    nz = head.shape[2]
    slab = np.zeros_like(core)
    slab[:, :, int(nz * 0.4) : int(nz * 0.75)] = True  # ventricles to centrum semiovale
    core &= slab
    values = data[core & (data > 0)]
    if values.size < 1000:
        raise ValueError(f"{name}: only {values.size} voxels in the brain core; is it an axial stack of a head?")
    gmm = GaussianMixture(3, random_state=0).fit(values[::5].reshape(-1, 1))
    order = np.argsort(gmm.means_.ravel())
    means = gmm.means_.ravel()[order]
    sds = np.sqrt(gmm.covariances_.ravel()[order])
    # The two large classes are WM and GM; the third is CSF blurred by partial volume, so pure CSF is
    # read from the tail beyond it instead (below 0.35 WM on FLAIR, above 2 WM on T2w).
    if sequence == "FLAIR":
        wm_i, gm_i = 1, 2
        wm = means[wm_i]
        csf = float(np.median(values[values < 0.35 * wm]))
    else:
        wm_i, gm_i = 0, 1
        wm = means[wm_i]
        csf = float(np.median(values[values > 2.0 * wm]))
    tissue = {
        "WM": {"mean": float(means[wm_i]), "sd_over_mean": float(sds[wm_i] / means[wm_i])},
        "GM": {"mean": float(means[gm_i]), "sd_over_mean": float(sds[gm_i] / means[gm_i])},
        "CSF": {"mean": csf},
    }
    wm = tissue["WM"]["mean"]
    corner = np.zeros_like(head)
    c = [max(s // 8, 2) for s in data.shape[:2]]
    for a in (slice(0, c[0]), slice(-c[0], None)):
        for b in (slice(0, c[1]), slice(-c[1], None)):
            corner[a, b, :] = True
    air = data[corner & ~ndi.binary_dilation(head, iterations=3)]
    # Some scanners zero the background; then only the in-tissue spread bounds the noise.
    air = air[air > 0]
    sigma = float(air.mean() / 1.2533) if air.size > 1000 else float("nan")
    # Bright tail inside the brain core: lesions (FLAIR) or CSF (T2w), as a multiple of WM.
    p999 = float(np.percentile(values, 99.9))
    # Scalp: the head rim (outer 6 mm of the head mask).
    rim = (
        head
        & ~np.stack([ndi.binary_erosion(head[:, :, k], iterations=int(round(6 / zooms[0]))) for k in range(nz)], 2)
        & slab
    )
    return {
        "file": name,
        "sequence": sequence,
        "voxel_mm": [round(float(z), 3) for z in zooms],
        "shape": list(data.shape),
        "tissue": tissue,
        "ratios_to_wm": {n: round(t["mean"] / wm, 3) for n, t in tissue.items()},
        "noise_sigma_over_wm": round(sigma / wm, 4),
        "snr_wm": round(wm / sigma, 1) if sigma == sigma else None,
        "background_nonzero_fraction": round(
            float(air.size) / max(int((corner & ~ndi.binary_dilation(head, iterations=3)).sum()), 1), 3
        ),
        "core_p99_9_over_wm": round(p999 / wm, 3),
        "scalp_p90_over_wm": round(float(np.percentile(data[rim], 90)) / wm, 3),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=pathlib.Path, default=REAL)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).with_name("calibration.json"))
    args = ap.parse_args(argv)
    results = []
    for name, (seq, desc) in SCANS.items():
        r = measure(args.real / name, seq)
        r["description"] = desc
        results.append(r)
        print(
            json.dumps({k: r[k] for k in ("file", "ratios_to_wm", "snr_wm", "core_p99_9_over_wm", "scalp_p90_over_wm")})
        )
    args.out.write_text(json.dumps({"scans": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
