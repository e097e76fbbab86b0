"""Shared small cohorts for the synth tests (reduced grids: --coarsen 3), generated once per session."""
from __future__ import annotations

import pathlib

import pytest

from synth.cohort import generate


@pytest.fixture(scope="session")
def small_cohorts(tmp_path_factory) -> dict[str, pathlib.Path]:
    """Two tiny cohorts (4 subjects each, 2 patients) with paired scans and 2D slices."""
    out = {}
    for task, seq in [("ms", "FLAIR"), ("tsc", "T2w")]:
        d = tmp_path_factory.mktemp(f"{task}-{seq}")
        generate(task, seq, 4, d, seed=11, paired=True, want_slices=True, workers=1, coarsen=3.0, on_progress=None)
        out[f"{task}-{seq}"] = d
    return out
