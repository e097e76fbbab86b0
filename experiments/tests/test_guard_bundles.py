"""experiments.guard_bundles: the model card's real-scan summary and the checks a model fails (issue 18)."""
from __future__ import annotations

from experiments import guard_bundles as gb


def rate(key, n, N, label=None):
    return {"key": key, "label": label or key, "n": n, "N": N}


def test_ms_checks_use_issue_18s_bounds_and_name_the_numbers():
    rates = [
        rate("ms_called_ms", 7, 9, "real MS FLAIR called MS"),
        rate("twins_called_healthy", 7, 9),
        rate("withheld_same_sequence", 4, 19, "real FLAIR withheld"),
        rate("wrong_sequence_caught", 7, 7),
    ]
    # 7/9 = 78 % < 80 %; 7/9 twins ≥ 75 % passes; 4/19 = 21 % > 20 %; 7/7 passes
    assert gb.failed_checks("ms", rates) == [
        "real MS FLAIR called MS: 7 of 9 (need ≥ 80%)",
        "real FLAIR withheld: 4 of 19 (allowed ≤ 20%)",
    ]
    passing = [
        rate("ms_called_ms", 8, 10),
        rate("twins_called_healthy", 3, 4),
        rate("withheld_same_sequence", 2, 10),
        rate("wrong_sequence_caught", 3, 3),
    ]
    assert gb.failed_checks("ms", passing) == []  # every bound met exactly


def test_tsc_checks_and_unmeasured_rates():
    rates = [
        rate("real_called_positive", 1, 5),
        rate("t2w_healthy_called_tsc", 1, 1, "healthy T2w called TSC"),
        rate("wrong_sequence_caught", 0, 0),
        {"key": "out_of_distribution", "label": "x", "n": None, "N": 5},
    ]
    # 1/5 = 20 % is allowed; the healthy volunteer called TSC is not; an empty or unmeasured rate is no verdict
    assert gb.failed_checks("tsc", rates) == ["healthy T2w called TSC: 1 of 1 (allowed ≤ 0%)"]


def test_card_carries_results_and_fails():
    record = {
        "scans": [{}] * 3,
        "git_commit": "abcdef123",
        "models": [
            {
                "id": "m",
                "task": "tsc",
                "rates": [
                    rate("real_called_positive", 3, 3, "real FLAIR called TSC"),
                    rate("healthy_called_healthy", 0, 0),
                ],
            }
        ],
    }
    card = gb.real_scan_results(record, "m")
    assert card["results"] == [{"what": "real FLAIR called TSC", "n": 3, "of": 3}]
    assert card["fails"] == ["real FLAIR called TSC: 3 of 3 (allowed ≤ 20%)"]
    assert "abcdef1" in card["measured_on"] and gb.real_scan_results(record, "other") is None
