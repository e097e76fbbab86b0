"""experiments.variants: a variant is a folder with variant.json; shipped.json maps model ids to variants."""
from __future__ import annotations

import json

import pytest

from experiments import variants


def write(path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def run(rid: str, loss: float) -> dict:
    return {"format": "qumri-run/1", "id": rid, "best_val_loss": loss}


def test_a_new_folder_with_variant_json_joins_its_group_in_its_order(tmp_path):
    write(tmp_path / "late" / "variant.json", {"group": "g", "order": 2, "description": "second"})
    write(tmp_path / "late" / "m.json", run("m", 0.4))
    write(tmp_path / "early" / "variant.json", {"group": "g", "order": 1, "description": "first"})
    write(tmp_path / "early" / "m.json", run("m", 0.5))
    write(tmp_path / "other" / "variant.json", {"group": "h", "order": 1, "description": "elsewhere"})
    write(tmp_path / "other" / "m.json", run("m", 0.1))
    assert list(variants.load_group(str(tmp_path), "g")) == ["early", "late"]
    assert variants.lowest_val_loss(str(tmp_path), "g", "m") == "late"
    write(tmp_path / "early" / "bad.json", {"format": "something-else"})
    with pytest.raises(ValueError, match="not a qumri-run/1 record"):
        variants.load_group(str(tmp_path), "g")


def test_set_shipped_points_adds_and_removes(tmp_path):
    write(tmp_path / "shipped.json", {"a": "v1", "b": "v1"})
    variants.set_shipped(str(tmp_path), {"a": "v2", "b": None, "c": "v1"})
    assert json.loads((tmp_path / "shipped.json").read_text()) == {"a": "v2", "c": "v1"}
