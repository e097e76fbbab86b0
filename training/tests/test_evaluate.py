"""Metrics, threshold choice, bootstrap intervals, DeLong test and the Table 2 writer."""
import json
import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from training import evaluate as E


def scores(n, sep, seed):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    return y, 1 / (1 + np.exp(-(rng.standard_normal(n) + sep * y)))


def test_auc_matches_sklearn_with_ties():
    y, p = scores(60, 1.0, 0)
    p = np.round(p, 1)  # many ties
    assert E.auc_score(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_threshold_metrics_by_hand():
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.4])
    m = E.threshold_metrics(y, p, 0.5)  # tp 2, fn 1, fp 1, tn 3
    assert m == pytest.approx({"acc": 5 / 7, "sen": 2 / 3, "spe": 3 / 4, "precision": 2 / 3, "f1": 2 / 3})


def test_threshold_chosen_maximises_youden_on_validation():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.05, 0.1, 0.2, 0.3, 0.35, 0.9])  # separable below 0.5
    t = E.choose_threshold(y, p)
    assert 0.2 < t < 0.3
    m = E.threshold_metrics(y, p, t)
    assert m["sen"] == 1 and m["spe"] == 1


def test_bootstrap_intervals_contain_the_estimate_and_shrink_with_n():
    y, p = scores(80, 1.5, 1)
    ci = E.bootstrap(y, p, 0.5, n_boot=500)
    auc = E.auc_score(y, p)
    assert ci["auc"][0] < auc < ci["auc"][1]
    y2, p2 = scores(800, 1.5, 1)
    ci2 = E.bootstrap(y2, p2, 0.5, n_boot=300)
    assert ci2["auc"][1] - ci2["auc"][0] < ci["auc"][1] - ci["auc"][0]


def delong_midrank(y, pa, pb):
    """Sun & Xu (2014) fast DeLong with midranks: an independent formulation of the same statistic."""
    m, n = int((y == 1).sum()), int((y == 0).sum())
    v10, v01, aucs = [], [], []
    for p in (pa, pb):
        pos, neg = p[y == 1], p[y == 0]
        tz, tx, ty = stats.rankdata(np.concatenate([pos, neg])), stats.rankdata(pos), stats.rankdata(neg)
        aucs.append((tz[:m].sum() - m * (m + 1) / 2) / (m * n))
        v10.append((tz[:m] - tx) / n)
        v01.append(1 - (tz[m:] - ty) / m)
    s = np.cov(v10) / m + np.cov(v01) / n
    z = (aucs[0] - aucs[1]) / math.sqrt(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    return z, 2 * stats.norm.sf(abs(z))


def test_delong_matches_midrank_formulation():
    rng = np.random.default_rng(5)
    y, pa = scores(120, 1.5, 2)
    pb = np.round(np.clip(pa + 0.25 * rng.standard_normal(120), 0, 1), 2)  # correlated, with ties
    d = E.delong(y, pa, pb)
    z, p = delong_midrank(y, pa, pb)
    assert d["z"] == pytest.approx(z, abs=1e-10) and d["p"] == pytest.approx(p, abs=1e-12)
    assert d["auc_a"] == pytest.approx(roc_auc_score(y, pa)) and d["auc_b"] == pytest.approx(roc_auc_score(y, pb))


def test_delong_variance_agrees_with_bootstrap():
    rng = np.random.default_rng(9)
    y, pa = scores(400, 1.2, 3)
    pb = np.clip(pa + 0.3 * rng.standard_normal(400), 0, 1)
    d = E.delong(y, pa, pb)
    diffs = []
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    for _ in range(400):
        i = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        diffs.append(E.auc_score(y[i], pa[i]) - E.auc_score(y[i], pb[i]))
    assert 0.75 < np.var(diffs) / d["var"] < 1.33


def test_delong_identical_models_and_small_samples():
    y, p = scores(20, 1.0, 4)
    assert E.delong(y, p, p)["p"] == 1.0
    with pytest.raises(ValueError, match="at least 2 cases per class"):
        E.delong(np.array([0, 1, 1]), np.array([0.1, 0.2, 0.3]), np.array([0.3, 0.2, 0.1]))


def test_table_pairs_hybrid_with_classical_of_same_sequence(tmp_path):
    y, pc = scores(40, 1.0, 6)
    _, pq = scores(40, 2.0, 7)
    dirs = []
    for name, head, p in (("c", "classical", pc), ("q", "quantum", pq)):
        d = tmp_path / name
        d.mkdir()
        rows = [
            type("R", (), {"path": f"/v{i}", "subject_id": f"s{i}", "sequence": "FLAIR", "label": int(y[i])})()
            for i in range(40)
        ]
        E.write_predictions(str(d / "predictions-test.csv"), rows, p)
        t = {k: {"value": 0.5, "ci95": [0.4, 0.6]} for k in E.METRICS}
        t["auc"]["value"] = E.auc_score(y, p)
        with open(d / "metrics.json", "w") as f:
            json.dump({"model": f"{name} FLAIR", "sequence": "FLAIR", "head": head, "n_test": 40, "test": t}, f)
        dirs.append(str(d))
    E.table(dirs, str(tmp_path / "t"))
    md = open(tmp_path / "t" / "table.md").read()
    want = E.delong(y, pq, pc)["p"]
    assert f"{want:.3f}" in md.splitlines()[-1] and md.splitlines()[-2].endswith("| — |")
    rows = json.load(open(tmp_path / "t" / "table.json"))
    assert rows[1]["delong_vs"] == "c FLAIR"


def test_bootstrap_over_subjects_widens_intervals_that_repeated_slices_narrow():
    """10 slices per subject repeat the subject's score: resampling slices as independent cases gives a far
    narrower AUC interval than resampling the 40 subjects; one slice each, groups change nothing."""
    y1, p1 = scores(40, 0.8, 5)
    subjects = [f"s{i}" for i in range(40) for _ in range(10)]
    y, p = np.repeat(y1, 10), np.repeat(p1, 10)
    naive = E.bootstrap(y, p, 0.5, 400)["auc"]
    grouped = E.bootstrap(y, p, 0.5, 400, groups=subjects)["auc"]
    alone = E.bootstrap(y1, p1, 0.5, 400)["auc"]
    assert grouped[1] - grouped[0] > 2 * (naive[1] - naive[0])
    assert abs((grouped[1] - grouped[0]) - (alone[1] - alone[0])) < 0.05
    assert E.bootstrap(y1, p1, 0.5, 50, groups=[f"s{i}" for i in range(40)]) == E.bootstrap(y1, p1, 0.5, 50)


def test_per_subject_aggregates_slices_and_metrics_resample_subjects(tmp_path):
    ids, y, p = E.per_subject(
        ["b", "a", "b", "a", "c"], np.array([1, 0, 1, 0, 1]), np.array([0.9, 0.2, 0.5, 0.4, 0.3]), "mean"
    )
    assert ids == ["a", "b", "c"] and list(y) == [0, 1, 1] and np.allclose(p, [0.3, 0.7, 0.3])
    assert np.allclose(
        E.per_subject(["b", "a", "b", "a", "c"], np.array([1, 0, 1, 0, 1]), np.array([0.9, 0.2, 0.5, 0.4, 0.3]), "max")[
            2
        ],
        [0.4, 0.9, 0.3],
    )
    with pytest.raises(ValueError, match="different labels"):
        E.per_subject(["a", "a"], np.array([0, 1]), np.array([0.1, 0.2]), "mean")
    # 3 slices per subject: per slice 30 test cases, per subject 10
    for name, n in (("val", 8), ("test", 10)):
        with open(tmp_path / f"predictions-{name}.csv", "w") as f:
            f.write("path,subject_id,sequence,label,probability\n")
            for s in range(n):
                for k in range(3):
                    f.write(f"s{s}_{k}.nii.gz,s{s},FLAIR,{s % 2},{0.2 + 0.5 * (s % 2) + 0.05 * k}\n")
    m = E.subject_metrics(str(tmp_path), "mean", n_boot=50)
    assert m["n_test"] == 10 and m["n_val"] == 8 and m["test"]["auc"]["value"] == 1.0
    assert 0.25 < m["threshold"] < 0.75
