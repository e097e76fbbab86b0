"""experiments.paper_a: head options refused for the other head before any data is read; the model card names each head deviation from paper A."""
from __future__ import annotations

import argparse
import json
import os

import pytest

from experiments import paper_a
from experiments.variants import RECORDS, load_group

BASE = ["--cohort=does-not-exist.csv", "--task=tsc", "--sequence=FLAIR", "--threads=1"]


@pytest.mark.parametrize(
    "head, option, message",
    [
        ("quantum", "--hidden=2", "--hidden is for the classical head"),
        ("classical", "--readout=z", "--readout, --qubits and --fm_input are for the quantum head"),
        ("classical", "--qubits=4", "--readout, --qubits and --fm_input are for the quantum head"),
        ("classical", "--fm_input=sigmoid_pi", "--readout, --qubits and --fm_input are for the quantum head"),
        ("quantum", "--qubits=1", "--qubits must be 2 to 12"),
        ("quantum", "--qubits=13", "--qubits must be 2 to 12"),
    ],
)
def test_head_options_of_the_other_head_are_refused(head, option, message, capsys):
    with pytest.raises(SystemExit) as e:
        paper_a.main([*BASE, f"--head={head}", option])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_readout_is_refused(capsys):
    with pytest.raises(SystemExit):
        paper_a.main([*BASE, "--head=quantum", "--readout=probs"])
    assert "invalid choice" in capsys.readouterr().err


def test_model_card_names_each_head_deviation_from_paper_a():
    def args(**kw):
        return argparse.Namespace(**{"head": "quantum", "qubits": 2, "fm_input": "none", "readout": "parity", **kw})

    assert paper_a.head_deviations(args()) == []
    assert paper_a.head_deviations(args(head="classical", readout="parity")) == []
    said = paper_a.head_deviations(args(qubits=4, fm_input="sigmoid_pi", readout="z"))
    assert len(said) == 3 and "4 qubits" in said[0] and "π·sigmoid" in said[1] and "⟨Z⟩" in said[2]
    info = {"n_subjects": 520}
    card = paper_a.limitations(info, 64, 8, True, said)
    assert sum("differs from paper A's Qiskit pattern" in line for line in card) == 1
    assert not any("differs" in line for line in paper_a.limitations(info, 64, 8, True, []))


def test_the_record_needs_a_variant_or_a_folder_and_a_variant_its_variant_json(capsys):
    for extra, message in (
        ([], "name where the record goes"),
        (["--variant=v", "--records=runs/x"], "name where the record goes"),
        (["--variant=no-such-variant"], "records/no-such-variant/variant.json is missing"),
    ):
        with pytest.raises(SystemExit) as e:
            paper_a.main([*BASE, "--head=classical", *extra])
        assert e.value.code == 2
        assert message in capsys.readouterr().err


def test_a_run_ships_only_below_every_other_variant_of_its_group():
    record = json.load(open(os.path.join(RECORDS, "from-scratch", "tsc-flair-resnet34.json")))
    best = min(
        r["tsc-flair-resnet34"]["best_val_loss"]
        for r in load_group(RECORDS, "paper-a").values()
        if "tsc-flair-resnet34" in r
    )
    assert not paper_a.beats_its_group(record, "from-scratch")
    record["best_val_loss"] = best - 1e-6
    assert paper_a.beats_its_group(record, "from-scratch")


def test_pretraining_summary_names_the_weights_the_classifier_starts_from(tmp_path):
    import torch

    h = [{"val_loss": v, "val_dice_per_stage": [d], "seconds": 10.0} for v, d in ((0.6, 0.1), (0.5, 0.3), (0.55, 0.2))]
    splits = {"train": ["a", "b"], "val": ["c"], "test": ["d"]}
    best = {"history": h, "config": {}, "best_val_loss": 0.5, "splits": {"train": ["b", "a"], "val": ["c"]}}
    torch.save(best, tmp_path / "backbone.pt")
    s = paper_a.pretraining_summary(str(tmp_path / "backbone.pt"), splits)
    assert (s["weights"], s["best_val_loss"], s["best_epoch_val_dice_per_stage"]) == (
        "best validation epoch",
        0.5,
        [0.3],
    )
    mean = {**best, "averaged_epochs": [2, 3], "val_loss": 0.48, "val_dice_per_stage": [0.4]}
    torch.save(mean, tmp_path / "backbone-avg.pt")
    s = paper_a.pretraining_summary(str(tmp_path / "backbone-avg.pt"), splits)
    assert (s["weights"], s["best_val_loss"], s["best_epoch_val_dice_per_stage"]) == ("mean of epochs 2-3", 0.48, [0.4])
    assert s["wall_time_s"] == 30.0
    torch.save({**best, "splits": {"train": ["a", "d"], "val": ["c"]}}, tmp_path / "leaky.pt")
    with pytest.raises(SystemExit, match="train subjects outside this run's train split"):
        paper_a.pretraining_summary(str(tmp_path / "leaky.pt"), splits)
    # a cohort extended by new folders: the old pre-training saw some of this run's train subjects, never its test
    torch.save({**best, "splits": {"train": ["a"], "val": ["c"]}}, tmp_path / "older.pt")
    assert paper_a.pretraining_summary(str(tmp_path / "older.pt"), splits)["weights"] == "best validation epoch"
    torch.save({**best, "splits": {"train": ["a"], "val": ["d"]}}, tmp_path / "peeked.pt")
    with pytest.raises(SystemExit, match="validation subjects outside"):
        paper_a.pretraining_summary(str(tmp_path / "peeked.pt"), splits)
