"""experiments.real_scans (roles, rates, bundle discovery, neutral names) and the report's "Real scans" section, on
records and bundles made here: nothing under ../shared is read."""
from __future__ import annotations

import csv
import json

import pytest

from experiments import real_scans as rs
from experiments import report

MS = {
    "id": "ms-flair-x",
    "task": "ms",
    "sequence": "FLAIR",
    "classes": ["healthy", "MS"],
    "dims": 3,
    "architecture": {"head": "quantum"},
}
TSC_T2 = {
    "id": "tsc-t2w-x",
    "task": "tsc",
    "sequence": "T2w",
    "classes": ["healthy", "TSC"],
    "dims": 3,
    "architecture": {"head": "classical"},
}


def scan(name, seq, stands, source):
    return {"name": name, "sequence": seq, "stands_for": stands, "source": source}


SCANS = [
    scan("real-01", "FLAIR", "MS", "a"),
    scan("real-02", "FLAIR", "MS", "b"),
    scan("real-03", "FLAIR", rs.TWIN, "b"),
    scan("real-04", "FLAIR", rs.TWIN, "a"),
    scan("real-05", "T2w", "healthy", "c"),
    scan("real-06", "T1w", "other (stroke)", "d"),
    scan("real-07", "FLAIR", "other (stroke)", "e"),
    scan("real-08", "T2w", "MS", "f"),
]


def preds(manifest, rows):
    return [rs.prediction(s, manifest, r) for s, r in zip(SCANS, rows)]


def by_key(rates):
    return {r["key"]: r for r in rates}


def test_roles_follow_the_model_sequence():
    assert [rs.role(s, MS) for s in SCANS] == [
        "MS",
        "MS",
        rs.TWIN,
        rs.TWIN,
        rs.WRONG,
        rs.WRONG,
        "other (stroke)",
        rs.WRONG,
    ]
    assert [rs.role(s, TSC_T2) for s in SCANS][4:] == ["healthy", rs.WRONG, rs.WRONG, "MS"]


def test_ms_rates_count_classes_and_mark_absent_columns():
    rows = [
        {"probability": 0.9, "class": "MS"},
        {"probability": 0.2, "class": "healthy"},
        {"probability": 0.8, "class": "MS"},
        {"probability": 0.1, "class": "healthy"},
        {"probability": 0.9, "class": "MS"},
        {"probability": 0.9, "class": "MS"},
        {"probability": 0.7, "class": "MS"},
        {"probability": 0.6, "class": "MS"},
    ]
    r = by_key(rs.rates(MS, preds(MS, rows), SCANS))
    assert (r["ms_called_ms"]["n"], r["ms_called_ms"]["N"]) == (1, 2)
    assert (r["twins_called_healthy"]["n"], r["twins_called_healthy"]["N"]) == (1, 2)
    # pairs by source: a 0.9 vs its twin 0.1 (above), b 0.2 vs its twin 0.8 (below); gaps 0.8 and -0.6
    assert (r["patient_above_twin"]["n"], r["patient_above_twin"]["N"]) == (1, 2)
    assert r["patient_above_twin"]["median_gap"] == pytest.approx(0.1)
    assert r["healthy_called_healthy"]["N"] == 0  # no real healthy FLAIR
    assert (r["other_called_healthy"]["n"], r["other_called_healthy"]["N"]) == (0, 1)
    assert r["wrong_sequence_caught"]["n"] is None and r["wrong_sequence_caught"]["N"] == 3
    assert "detected_sequence" in r["wrong_sequence_caught"]["note"] and r["out_of_distribution"]["n"] is None
    assert r["withheld_same_sequence"]["n"] == 0 and "t2w_healthy_called_tsc" not in r


def test_new_cli_columns_are_kept_and_counted():
    rows = [
        {
            "probability": 0.9,
            "class": "withheld",
            "detected_sequence": "FLAIR",
            "in_distribution": False,
            "ood_score": 7.123456,
        }
    ] * 4 + [
        {"probability": 0.9, "class": "MS", "detected_sequence": d, "withheld": w}
        for d, w in (("T2w", True), ("FLAIR", False), ("FLAIR", False), ("unknown", True))
    ]
    p = preds(MS, rows)
    assert p[0]["ood_score"] == 7.1235 and p[0]["in_distribution"] is False
    r = by_key(rs.rates(MS, p, SCANS))
    # wrong-sequence inputs: real-05 T2w detected T2w (caught), real-06 detected FLAIR (missed), real-08 unknown
    assert (r["wrong_sequence_caught"]["n"], r["wrong_sequence_caught"]["N"]) == (2, 3)
    assert (r["withheld_same_sequence"]["n"], r["withheld_same_sequence"]["N"]) == (4, 5)
    assert (r["withheld_wrong_sequence"]["n"], r["withheld_wrong_sequence"]["N"]) == (2, 3)
    assert r["ms_called_ms"]["n"] == 0  # withheld is not an answer


def test_tsc_t2w_rates_name_the_healthy_volunteer():
    rows = (
        [{"probability": 0.5, "class": "TSC"}] * 4
        + [{"probability": 0.99, "class": "TSC"}]
        + [{"probability": 0.1, "class": "healthy"}] * 2
        + [{"probability": 0.95, "class": "TSC"}]
    )
    r = by_key(rs.rates(TSC_T2, preds(TSC_T2, rows), SCANS))
    assert (r["t2w_healthy_called_tsc"]["n"], r["t2w_healthy_called_tsc"]["N"]) == (1, 1)
    assert (r["real_called_positive"]["n"], r["real_called_positive"]["N"]) == (2, 2)
    assert "ms_called_ms" not in r


def test_errors_are_counted():
    rows = [{"status": "error", "error": "boom"}] + [{"probability": 0.5, "class": "MS"}] * 7
    r = by_key(rs.rates(MS, preds(MS, rows), SCANS))
    assert r["errors"]["n"] == 1 and r["ms_called_ms"]["n"] == 1


def test_neutral_names_are_stable_and_hide_the_source():
    ids = ["ms_patient01_FLAIR", "ms_patient01_FLAIR_twin", "healthy_adult_T2", "child_6y_T1w"]
    a, b = rs.neutral_names(ids), rs.neutral_names(list(reversed(ids)))
    assert a == b and sorted(a.values()) == ["real-01", "real-02", "real-03", "real-04"]
    assert all("FLAIR" not in v and "T2" not in v for v in a.values())


def test_bundles_from_index_folder_or_bundle_dirs(tmp_path):
    for i, dims in (("a3d", 3), ("b2d", 2), ("c3d", 3)):
        (tmp_path / "models" / i).mkdir(parents=True)
        (tmp_path / "models" / i / "manifest.json").write_text(json.dumps({"id": i, "dims": dims}))
    (tmp_path / "models" / "index.json").write_text(json.dumps({"models": ["a3d", "b2d"]}))
    assert [m["id"] for _, m in rs.bundles([str(tmp_path / "models")])] == ["a3d"]  # index.json, 3D only
    assert [m["id"] for _, m in rs.bundles([str(tmp_path / "models" / "c3d"), str(tmp_path / "models" / "a3d")])] == [
        "c3d",
        "a3d",
    ]
    (tmp_path / "models" / "index.json").unlink()
    assert [m["id"] for _, m in rs.bundles([str(tmp_path / "models")])] == ["a3d", "c3d"]
    with pytest.raises(SystemExit):
        rs.bundles([str(tmp_path / "nothing")])


def fake_record():
    scans = [
        {
            "name": s["name"],
            "source": f"real/{s['name']}.nii.gz",
            "sequence": s["sequence"],
            "stands_for": s["stands_for"],
            "who": "someone",
            "derived": "",
            "licence": "MIT",
            "use": rs.USE_TRAIN,
            "grid": "8×8×8",
            "voxel_mm": "1×1×4",
            "dtype": "uint16",
        }
        for s in SCANS
    ]
    models = []
    for man in (MS, TSC_T2):
        rows = [{"probability": 0.9, "class": man["classes"][1]}] * len(SCANS)
        p = preds(man, rows)
        models.append(
            {
                "id": man["id"],
                "task": man["task"],
                "sequence": man["sequence"],
                "predictions": p,
                "rates": rs.rates(man, p, SCANS),
            }
        )
    return {
        "format": "qumri-real-scans/1",
        "scans": scans,
        "models": models,
        "cli_columns_absent": ["detected_sequence"],
        "cli_columns_empty": ["in_distribution", "ood_score"],
    }


def test_report_section_renders_rates_statement_and_provenance(tmp_path):
    (tmp_path / "real-scans").mkdir()
    (tmp_path / report.REAL_SCANS).write_text(json.dumps(fake_record()))
    text = "\n".join(report.section_real_scans(str(tmp_path)))
    assert "## Real scans" in text and "There is no real TSC scan and no real healthy FLAIR" in text
    assert "TSC sensitivity on real scans is not measured" in text and "2 *lesion-removed twins*" in text
    row = next(line for line in text.splitlines() if line.startswith("| `ms-flair-x`"))
    # every scan at P 0.9: no pair separated, a gap of zero
    assert (
        "| 2/2 | 0/2 (+0.000) | — | 0/2 | no scan | — | 0/1 | not measured (of 3: no detected_sequence) | not measured (of 5: no "
        "in_distribution) | 0/5 |" in row
    )
    row = next(line for line in text.splitlines() if line.startswith("| `tsc-t2w-x`"))
    assert "| — | — | 2/2 | no scan | 0/1 | 1/1 | no scan |" in row
    assert (
        "the CLI gave no `detected_sequence` column and left `in_distribution`, `ood_score` empty for every scan"
        in text
    )
    assert "| real-05 | real-05 | healthy | T2w | 0.900 MS | 0.900 TSC |" in text
    lines = text.splitlines()
    assert (
        lines.index(next(x for x in lines if x.startswith("| real-01 | real-01")))
        < lines.index(next(x for x in lines if x.startswith("| real-03 | real-03")))
        < lines.index(next(x for x in lines if x.startswith("| real-05 | real-05")))
    )  # FLAIR MS, twins, then T2w
    assert "| real-01 | `real/real-01.nii.gz` | someone | 8×8×8, 1×1×4, uint16 | MIT |" in text


def test_report_without_the_record_has_no_section(tmp_path):
    assert report.section_real_scans(str(tmp_path)) == []


def test_validation_manifest_holds_only_validation_flair(tmp_path):
    scans = [
        {
            "source": "real-validation-only/ms_jhu_test01_FLAIR.nii.gz",
            "path": "/x/a.nii.gz",
            "sequence": "FLAIR",
            "stands_for": "MS",
            "use": rs.USE_VAL,
        },
        {
            "source": "real-validation-only/ms_jhu_test01_FLAIR.nii.gz",
            "path": "/x/a_twin.nii.gz",
            "sequence": "FLAIR",
            "stands_for": rs.TWIN,
            "use": rs.USE_VAL,
        },
        {
            "source": "real-validation-only/ms_jhu_test02_T2.nii.gz",
            "path": "/x/b.nii.gz",
            "sequence": "T2w",
            "stands_for": "MS",
            "use": rs.USE_VAL,
        },
        {
            "source": "real/ms_patient01_FLAIR.nii.gz",
            "path": "/x/c.nii.gz",
            "sequence": "FLAIR",
            "stands_for": "MS",
            "use": rs.USE_TRAIN,
        },
    ]
    rows = list(csv.DictReader(open(rs.write_validation_manifest(scans, str(tmp_path)))))
    assert [(r["path"], r["label"], r["subject_id"]) for r in rows] == [
        ("/x/a_twin.nii.gz", "0", "ms_jhu_test01"),
        ("/x/a.nii.gz", "1", "ms_jhu_test01"),
    ]


def test_no_real_scan_found_is_an_error_not_an_empty_record(tmp_path):
    record = tmp_path / "record.json"
    with pytest.raises(SystemExit, match="no real scan found"):
        rs.main(["--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "out"), "--record", str(record)])
    assert not record.exists()
