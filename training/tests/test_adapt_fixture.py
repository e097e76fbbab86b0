"""fixtures/adapt/torch-head-grad.json (src/core/adapt's torch reference) is what
`python -m training.fixtures adapt` writes, up to float64 rounding."""
import json
import os

import numpy as np

from training.fixtures import ADAPT, write_adapt


def numbers(doc, path=""):
    """(path, value) for every number in a JSON document, in order."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from numbers(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from numbers(v, f"{path}[{i}]")
    elif isinstance(doc, (int, float)) and not isinstance(doc, bool):
        yield path, float(doc)


def test_committed_adapt_fixture_is_current(tmp_path):
    write_adapt(str(tmp_path))
    name = "torch-head-grad.json"
    with open(os.path.join(ADAPT, name)) as f:
        committed = json.load(f)
    with open(tmp_path / name) as f:
        fresh = json.load(f)
    a, b = list(numbers(committed)), list(numbers(fresh))
    assert [p for p, _ in a] == [p for p, _ in b]
    np.testing.assert_allclose([v for _, v in a], [v for _, v in b], rtol=1e-12, atol=1e-12)
