"""Contact sheets: 16 random phantoms of a task and sequence beside slices of the real scans.

`/usr/bin/python3 -m synth.contact_sheet [--seed 1] [--n 520] [--out docs/img]` writes
docs/img/synth-{tsc,ms}-{flair,t2w}.png and docs/img/synth-randomised.png (randomised mode: a column
per task and sequence, each tile titled with its drawn look). Subjects are drawn (seeded) from cohort indices 0..n−1 and
rendered as the cohort would render them; each tile is the axial slice at 60 % of the head's height
(reformatted from the closest RAS axes: sagittal/coronal thick-slice stacks look blocky, as they do on
a scanner console), windowed to its 99.5th percentile. The right column shows the real scans of the
same contrast from /work/shared/data/real (not committed: only these thumbnails are).
"""
from __future__ import annotations

import argparse
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

from .calibrate import REAL, SCANS  # noqa: E402
from .subject import render  # noqa: E402


def axial_tile(data: np.ndarray, affine: np.ndarray, height: float = 0.6) -> tuple[np.ndarray, float]:
    """Axial slice at `height` of the head's inferior→superior extent, and its pixel aspect (dy/dx)."""
    img = nib.as_closest_canonical(nib.Nifti1Image(data.astype(np.float32), affine))
    vol = img.get_fdata(dtype=np.float32)
    z = img.header.get_zooms()[:3]
    head = (vol > 0.15 * np.percentile(vol, 99)).sum((0, 1))
    occ = np.nonzero(head > 0.05 * head.max())[0]  # not a few noise voxels over the threshold in air
    k = int(round(occ[0] + height * (occ[-1] - occ[0])))
    tile = vol[:, :, k]
    return tile[::-1, :].T, float(z[1] / z[0])  # radiological: patient's right on the left


def sheet(task: str, seq: str, seed: int, n: int, out: pathlib.Path) -> pathlib.Path:
    rng = np.random.default_rng([seed, 99, len(task), len(seq)])
    picks = sorted(rng.choice(n, 16, replace=False).tolist())
    return draw(
        f"QuMRI synthetic {task.upper()} cohort, {seq} (seed {seed}): 16 random subjects; right: real scans",
        [(task, seq, i) for i in picks],
        seed,
        0.0,
        (seq,),
        out / f"synth-{task}-{seq.lower()}.png",
    )


def randomised_sheet(seed: int, n: int, out: pathlib.Path) -> pathlib.Path:
    """Randomised mode: columns MS FLAIR, MS T2w, TSC FLAIR, TSC T2w; 4 random subjects each."""
    rng = np.random.default_rng([seed, 98])
    combos = [("ms", "FLAIR"), ("ms", "T2w"), ("tsc", "FLAIR"), ("tsc", "T2w")]
    picks = rng.choice(n, 16, replace=False).tolist()
    subjects = [(*combos[k % 4], i) for k, i in enumerate(picks)]
    return draw(
        f"QuMRI synthetic cohorts, randomised mode (seed {seed}): columns MS FLAIR, MS T2w, TSC FLAIR, "
        "TSC T2w; right: real scans",
        subjects,
        seed,
        1.0,
        ("FLAIR", "T2w"),
        out / "synth-randomised.png",
    )


def draw(
    title: str,
    subjects: list[tuple[str, str, int]],
    seed: int,
    randomised: float,
    real_seqs: tuple[str, ...],
    path: pathlib.Path,
) -> pathlib.Path:
    real = [(f, desc) for f, (s, desc) in SCANS.items() if s in real_seqs and (REAL / f).exists()]
    fig, axes = plt.subplots(
        4, 5, figsize=(15, 12.4), facecolor="black", gridspec_kw={"width_ratios": [1, 1, 1, 1, 1.05]}
    )
    for ax, (task, seq, i) in zip(axes[:, :4].ravel(), subjects):
        p, r = render(task, seq, i, seed, randomised=randomised)
        tile, aspect = axial_tile(r.scan * r.storage.slope, r.grid.affine)
        ax.imshow(tile, cmap="gray", origin="lower", aspect=aspect, vmin=0, vmax=np.percentile(tile, 99.5))
        what = "control" if p.label == 0 else f"{task.upper()} {p.difficulty}"
        g = r.plan.acquired
        if randomised:
            look = (
                f"{seq} {'3D' if g.is_3d else '2D'} {g.inplane_mm:.2f}/{g.thickness_mm:.1f} mm, "
                f"{r.storage.dtype}\n{r.plan.placement}, strip {r.plan.stripping}, {r.plan.coverage}, "
                f"SNR {r.plan.snr:.0f}, γ {r.plan.gamma:.2f}"
            )
            ax.set_title(f"#{i} {what}, {p.age:g} y, {look}", color="white", fontsize=7)
        else:
            ax.set_title(
                f"#{i} {what}, {p.age:g} y, {r.grid.orientation} {'3D' if r.grid.is_3d else '2D'}",
                color="white",
                fontsize=8,
            )
    for ax, (f, desc) in zip(axes[:, 4], real + [(None, "")] * 4):
        if f is None:
            ax.set_visible(False)
            continue
        img = nib.load(str(REAL / f))
        tile, aspect = axial_tile(np.asanyarray(img.dataobj), img.affine)
        ax.imshow(tile, cmap="gray", origin="lower", aspect=aspect, vmin=0, vmax=np.percentile(tile, 99.5))
        ax.set_title("REAL: " + desc.split(" (")[0], color="#ffcc00", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle(title, color="white", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=55, facecolor="black")
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=520)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("docs/img"))
    ap.add_argument("--only", default="", help="e.g. tsc-flair, or randomised")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for task in ("tsc", "ms"):
        for seq in ("FLAIR", "T2w"):
            if args.only and args.only != f"{task}-{seq.lower()}":
                continue
            print(sheet(task, seq, args.seed, args.n, args.out))
    if not args.only or args.only == "randomised":
        print(randomised_sheet(args.seed, args.n, args.out))


if __name__ == "__main__":
    main()
