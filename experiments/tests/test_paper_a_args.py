"""experiments.paper_a refuses head options that do not belong to the chosen head before it reads any data."""
from __future__ import annotations

import pytest

from experiments import paper_a

BASE = ["--cohort=does-not-exist.csv", "--task=tsc", "--sequence=FLAIR", "--threads=1"]


@pytest.mark.parametrize("head, option, message", [
    ("quantum", "--hidden=2", "--hidden is for the classical head"),
    ("classical", "--readout=z", "--readout, --qubits and --fm_input are for the quantum head"),
    ("classical", "--qubits=4", "--readout, --qubits and --fm_input are for the quantum head"),
    ("classical", "--fm_input=sigmoid_pi", "--readout, --qubits and --fm_input are for the quantum head"),
    ("quantum", "--qubits=1", "--qubits must be 2 to 12"),
    ("quantum", "--qubits=13", "--qubits must be 2 to 12"),
])
def test_head_options_of_the_other_head_are_refused(head, option, message, capsys):
    with pytest.raises(SystemExit) as e:
        paper_a.main([*BASE, f"--head={head}", option])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_readout_is_refused(capsys):
    with pytest.raises(SystemExit):
        paper_a.main([*BASE, "--head=quantum", "--readout=probs"])
    assert "invalid choice" in capsys.readouterr().err
