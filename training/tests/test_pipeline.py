"""End to end on a generated 32^3 cohort: train (killed mid-way, resumed), evaluate, export, and the
exported bundle in onnxruntime-node and in `qumri classify` against torch."""
import json
import os
import signal
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import torch

from training import export, heads
from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.models import build_model
from training.shipping import ships
from training.config import parse_overrides
from training.train import TrainConfig, train

from . import numerics
from .cohort import make_cohort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": ROOT}
ARGS = [
    "--grid=32,32,32",
    "--backbone=resnet10",
    "--width=4",
    "--epochs=3",
    "--batch_size=4",
    "--lr=3e-3",
    "--progress=false",
    "--schedule=cosine",
]


def run_train(manifest, out_dir, *extra):
    return subprocess.run(
        [sys.executable, "-m", "training.train", f"--manifest={manifest}", f"--out_dir={out_dir}", *ARGS, *extra],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    manifest = make_cohort(str(root / "cohort"))
    out = str(root / "run")
    killed = run_train(manifest, out, "--crash_after_epoch=0")
    resumed = run_train(manifest, out)
    return {"root": root, "manifest": manifest, "out": out, "killed": killed, "resumed": resumed}


def test_killed_run_resumes_where_it_stopped(run):
    assert run["killed"].returncode == -signal.SIGKILL, run["killed"].stderr
    assert "epoch 1/3" in run["killed"].stderr and "epoch 2/3" not in run["killed"].stderr
    assert run["resumed"].returncode == 0, run["resumed"].stderr
    assert "resumed from" in run["resumed"].stderr and "after epoch 1" in run["resumed"].stderr
    assert "epoch 1/3" not in run["resumed"].stderr
    ckpt = load_checkpoint(os.path.join(run["out"], "ckpt.pt"))
    assert ckpt["done"] and ckpt["epoch"] == 2 and len(ckpt["history"]) == 3
    np.testing.assert_allclose([h["lr"] for h in ckpt["history"]], [3e-3, 2.25e-3, 0.75e-3])  # cosine over 3 epochs


def test_resumed_run_equals_uninterrupted_run(run):
    cfg = parse_overrides(
        [f"--manifest={run['manifest']}", f"--out_dir={run['root'] / 'straight'}", *ARGS], TrainConfig()
    )
    train(cfg)
    a = load_checkpoint(os.path.join(run["out"], "ckpt.pt"))
    b = load_checkpoint(str(run["root"] / "straight" / "ckpt.pt"))
    np.testing.assert_allclose([h["val_loss"] for h in a["history"]], [h["val_loss"] for h in b["history"]], rtol=1e-6)
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-5, atol=1e-6)


def test_splits_written_by_subject(run):
    with open(os.path.join(run["out"], "splits.json")) as f:
        s = json.load(f)
    assert (len(s["train"]), len(s["val"]), len(s["test"])) == (10, 2, 4)
    assert not set(s["train"]) & set(s["test"]) and not set(s["val"]) & set(s["test"])


@pytest.fixture(scope="module")
def evaluated(run):
    from training.evaluate import evaluate_checkpoint

    out = os.path.join(run["out"], "eval")
    return evaluate_checkpoint(os.path.join(run["out"], "ckpt.pt"), out, n_boot=200), out


def test_evaluate_writes_metrics_with_intervals(evaluated):
    res, out = evaluated
    for f in ("metrics.json", "metrics.md", "roc.png", "predictions-val.csv", "predictions-test.csv"):
        assert os.path.getsize(os.path.join(out, f)) > 0
    assert res["n_test"] == 4 and 0 < res["threshold"] < 1
    for k in ("auc", "acc", "sen", "spe", "precision", "f1"):
        v, (lo, hi) = res["test"][k]["value"], res["test"][k]["ci95"]
        assert np.isnan(v) or lo - 1e-12 <= v <= hi + 1e-12


@pytest.fixture(scope="module")
def bundle(run, evaluated):
    out = str(run["root"] / "models" / "e2e-qresnet")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "training.export",
            f"--ckpt={run['out']}/ckpt.pt",
            f"--out={out}",
            "--id=e2e-qresnet",
            f"--metrics={evaluated[1]}/metrics.json",
        ],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return out


def test_bundle_manifest_and_hashes(bundle, evaluated):
    with open(os.path.join(bundle, "manifest.json")) as f:
        m = json.load(f)
    assert m["format"] == "qumri-bundle/1" and m["input"]["shape"] == [1, 1, 32, 32, 32]
    assert m["threshold"] == pytest.approx(evaluated[0]["threshold"])
    assert m["metrics"]["split"] == "test" and "ci95" in m["metrics"]["auc"]
    for name, meta in m["files"].items():
        assert export.sha256(os.path.join(bundle, name)) == meta["sha256"]
    listed = os.path.exists(index := os.path.join(os.path.dirname(bundle), "index.json"))
    if listed:
        with open(index) as f:
            listed = "e2e-qresnet" in json.load(f)["models"]
    assert listed == ships(m["metrics"]), "index.json lists the bundle exactly when it passes the shipping rule"


def ort_features(onnx_path, vols):
    files = []
    for i, v in enumerate(vols):
        p = f"{onnx_path}.in{i}.f32"
        np.ascontiguousarray(v, dtype=np.float32).tofile(p)
        files.append(p)
    shape = json.dumps([1, 1, *vols[0].shape])
    out = subprocess.run(
        ["node", os.path.join(ROOT, "training", "tests", "ort_backbone.mjs"), onnx_path, shape, *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return [np.array(o["features"]) for o in json.loads(out)]


def reference_volumes(bundle_dir):
    with open(os.path.join(bundle_dir, "reference.json")) as f:
        ref = json.load(f)
    vols = [nib.load(os.path.join(bundle_dir, e["file"])).get_fdata().transpose(2, 1, 0) for e in ref["inputs"]]
    return ref, vols


def test_onnx_backbone_and_json_head_match_torch(run, bundle):
    """onnxruntime-node features -> head rebuilt from head.json == the torch checkpoint."""
    ref, vols = reference_volumes(bundle)
    model = model_from_checkpoint(load_checkpoint(os.path.join(run["out"], "ckpt.pt")))
    with open(os.path.join(bundle, "head.json")) as f:
        head = heads.head_from_json(json.load(f)).double()
    for e, feats, v in zip(ref["inputs"], ort_features(os.path.join(bundle, "backbone.onnx"), vols), vols):
        np.testing.assert_allclose(feats, e["features"], atol=1e-5)
        p = torch.softmax(head(torch.tensor(feats)[None]), -1)[0, 1].item()
        assert abs(p - e["probability"]) < 1e-5
        with torch.no_grad():
            p_torch = torch.softmax(model(torch.tensor(v, dtype=torch.float32)[None, None]).double(), -1)[0, 1]
        assert abs(p_torch.item() - e["probability"]) < 1e-9


def classify(bundle_dir, files, preprocessed=True):
    r = subprocess.run(
        [
            "node",
            os.path.join(ROOT, "bin", "qumri.mjs"),
            "classify",
            *files,
            "--model",
            bundle_dir,
            *(["--preprocessed"] if preprocessed else []),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


@pytest.mark.parametrize("which", ["e2e", "tiny-qresnet", "tiny-resnet"])
def test_node_classify_matches_torch(which, request):
    """`qumri classify --preprocessed` (onnxruntime-node + TypeScript head + WASM kernel) within 1e-4."""
    d = request.getfixturevalue("bundle") if which == "e2e" else os.path.join(ROOT, "fixtures", "bundles", which)
    ref, _ = reference_volumes(d)
    rows = classify(d, [os.path.join(d, e["file"]) for e in ref["inputs"]])
    assert len(rows) == len(ref["inputs"])
    for row, e in zip(rows, ref["inputs"]):
        assert abs(row["probability"] - e["probability"]) < 1e-4, (row, e["probability"])


def test_committed_tiny_bundles_are_current():
    """The committed fixtures are what training/fixtures.py writes: the committed probabilities (float32,
    from whichever CPU wrote them) and this CPU's both lie within float32 rounding of the float64 value."""
    from training.fixtures import tiny_model

    for bundle_id, head in (("tiny-qresnet", "quantum"), ("tiny-resnet", "classical")):
        d = os.path.join(ROOT, "fixtures", "bundles", bundle_id)
        ref, vols = reference_volumes(d)
        model = tiny_model(head)
        for e, v in zip(ref["inputs"], vols):
            x = torch.tensor(v, dtype=torch.float32)[None, None]
            _, _, p = export.probabilities(model, x)
            exact, tol = numerics.probability64(model, x), numerics.float32_tolerance(model, x)
            assert abs(e["probability"] - exact) <= tol, (e["file"], e["probability"], exact, tol)
            assert abs(p.item() - exact) <= tol, (e["file"], p.item(), exact, tol)


def test_ddp_two_cpu_processes_train_one_epoch(tmp_path):
    manifest = make_cohort(str(tmp_path / "cohort"), n_per_class=6)
    out = str(tmp_path / "ddp")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-r",
            "1",
            "-t",
            "2",  # Debian torch 1.13 on Python 3.11 crashes on the default "-r 0"
            "-m",
            "training.train",
            f"--manifest={manifest}",
            f"--out_dir={out}",
            *ARGS[:3],
            "--epochs=1",
            "--batch_size=2",
            "--progress=false",
            "--device=cpu",
            "--num_threads=1",
        ],
        cwd=ROOT,
        env={**ENV, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "world 2" in r.stderr
    ckpt = load_checkpoint(os.path.join(out, "ckpt.pt"))
    assert ckpt["done"] and ckpt["epoch"] == 0


def test_head_warmup_trains_the_head_alone_then_everything(run):
    out = str(run["root"] / "warmup")
    killed = run_train(run["manifest"], out, "--head_warmup=1", "--crash_after_epoch=0")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    after_warmup = load_checkpoint(os.path.join(out, "ckpt.pt"))
    torch.manual_seed(1)  # the run's seed before it builds the model
    initial = build_model(after_warmup["model_args"]).state_dict()
    warm = after_warmup["model"]
    for k in initial:  # weights and BatchNorm statistics alike
        if k.startswith("backbone."):
            torch.testing.assert_close(warm[k], initial[k], rtol=0, atol=0)
    assert all(not torch.equal(warm[k], initial[k]) for k in initial if k.startswith("head.") and k.endswith("weight"))
    assert run_train(run["manifest"], out, "--head_warmup=1").returncode == 0
    done = load_checkpoint(os.path.join(out, "ckpt.pt"))
    assert [h["head_only"] for h in done["history"]] == [True, False, False]
    np.testing.assert_allclose([h["lr"] for h in done["history"]], [3e-3, 3e-3, 1.5e-3])  # cosine over 2 epochs
    assert not torch.equal(done["model"]["backbone.stem.0.weight"], warm["backbone.stem.0.weight"])
    with pytest.raises(SystemExit, match="head_warmup must be"):
        train(parse_overrides([f"--manifest={run['manifest']}", "--epochs=3", "--head_warmup=3"], TrainConfig()))


def test_fitted_head_is_the_first_candidate(run):
    out = str(run["root"] / "fitted")
    fitted_only = run_train(run["manifest"], out, "--head_init=fit", "--epochs=0")
    assert fitted_only.returncode == 0, fitted_only.stderr[-3000:]
    assert "head fitted on fixed features" in fitted_only.stderr
    fitted = load_checkpoint(os.path.join(out, "ckpt.pt"))
    assert fitted["done"] and fitted["history"] == [] and fitted["head_fit"]["l2"] > 0
    torch.manual_seed(1)  # the run's seed before it builds the model: the head it started from
    initial = build_model(fitted["model_args"]).state_dict()["head.0.linear.weight"]
    assert not torch.equal(fitted["best_model"]["head.0.linear.weight"], initial)
    # the whole model's validation loss equals the fit's on cached standardised features (float32 sums)
    assert fitted["best_val_loss"] == pytest.approx(fitted["head_fit"]["val_loss"], abs=1e-4)
    out = str(run["root"] / "fitted-tuned")
    assert run_train(run["manifest"], out, "--head_init=fit", "--epochs=2").returncode == 0
    tuned = load_checkpoint(os.path.join(out, "ckpt.pt"))
    losses = [h["val_loss"] for h in tuned["history"]]
    assert len(losses) == 2
    assert tuned["best_val_loss"] == pytest.approx(min(tuned["head_fit"]["val_loss"], *losses), abs=1e-4)
    with pytest.raises(SystemExit, match="epochs=0 trains nothing"):
        train(parse_overrides([f"--manifest={run['manifest']}", "--epochs=0"], TrainConfig()))
    with pytest.raises(SystemExit, match="head_init must be one of"):
        train(parse_overrides([f"--manifest={run['manifest']}", "--head_init=probe"], TrainConfig()))


def test_backbone_learns_at_a_fraction_of_the_heads_rate(run):
    cfg = parse_overrides(
        [
            f"--manifest={run['manifest']}",
            f"--out_dir={run['root'] / 'scaled'}",
            *ARGS,
            "--epochs=1",
            "--backbone_lr_scale=0.1",
        ],
        TrainConfig(),
    )
    train(cfg)
    ckpt = load_checkpoint(str(run["root"] / "scaled" / "ckpt.pt"))
    backbone, head = ckpt["optimizer"]["param_groups"]
    assert backbone["lr"] == pytest.approx(0.1 * head["lr"]) and head["lr"] == pytest.approx(3e-3)
    n_backbone = sum(
        1
        for k, v in ckpt["model"].items()
        if k.startswith("backbone.") and v.is_floating_point() and not k.endswith(("running_mean", "running_var"))
    )
    assert len(backbone["params"]) == n_backbone
    with pytest.raises(SystemExit, match="backbone_lr_scale must be positive"):
        train(parse_overrides([f"--manifest={run['manifest']}", "--backbone_lr_scale=0"], TrainConfig()))


def test_early_stopping_on_validation_loss(run, capsys):
    cfg = parse_overrides(
        [
            f"--manifest={run['manifest']}",
            f"--out_dir={run['root'] / 'early'}",
            *ARGS,
            "--epochs=8",
            "--patience=1",
            "--lr=0",
            "--augment=false",
        ],
        TrainConfig(),
    )
    train(cfg)  # lr 0: only BatchNorm statistics move, val loss soon stops improving
    ckpt = load_checkpoint(str(run["root"] / "early" / "ckpt.pt"))
    losses = [h["val_loss"] for h in ckpt["history"]]
    # replay the rule: stop after the first epoch that does not improve on the best so far (patience 1)
    stop = next(i for i in range(1, len(losses)) if losses[i] >= min(losses[:i]))
    assert len(losses) == stop + 1 < 8 and ckpt["done"]
    assert "early stop" in capsys.readouterr().err
    assert ckpt["best_val_loss"] == min(losses)


def test_optuna_search_runs_trials_and_names_the_best(run):
    from training.train import optuna_search

    cfg = parse_overrides(
        [
            f"--manifest={run['manifest']}",
            f"--out_dir={run['root'] / 'optuna'}",
            *ARGS,
            "--epochs=1",
            "--optuna_trials=2",
            "--head=classical",
        ],
        TrainConfig(),
    )
    best = optuna_search(cfg)
    assert os.path.isfile(best["ckpt"]) and set(best["params"]) == {"lr", "l2", "dropout", "hidden"}
    with open(run["root"] / "optuna" / "optuna-best.json") as f:
        assert json.load(f)["trial"] == best["trial"]
    assert optuna_search(cfg)["trial"] == best["trial"]  # resumed study: no new trials needed


def test_overrides_are_type_checked_and_unknown_keys_rejected():
    cfg = parse_overrides(
        ["--epochs=7", "--lr=0.01", "--augment=false", "--hidden=64,32", "--backbone=resnet18"], TrainConfig()
    )
    assert (cfg.epochs, cfg.lr, cfg.augment, cfg.hidden, cfg.backbone) == (7, 0.01, False, "64,32", "resnet18")
    for bad, msg in (
        (["--epochs=1.5"], "expected int"),
        (["--augment=maybe"], "expected bool"),
        (["--nope=1"], "unknown config key 'nope'"),
        (["epochs=3"], "use --key=value"),
    ):
        with pytest.raises(SystemExit, match=msg):
            parse_overrides(bad, TrainConfig())
    with pytest.raises(SystemExit, match="schedule must be one of"):
        train(parse_overrides(["--manifest=unread.csv", "--schedule=step"], TrainConfig()))


@pytest.mark.parametrize(
    "make_head",
    [
        lambda f: heads.qcnn_head(f, n_qubits=3, layers=2, hidden=[8]),
        lambda f: heads.amplitude_head(f, n_qubits=3, layers=2, hidden=[16], post=8),
        lambda f: heads.angle_ring_head(f, n_qubits=3, layers=2, hidden=[16]),
        lambda f: heads.paper_a_head(f, n_qubits=3, readout="xz", entanglement="circular"),
        lambda f: heads.classical_head(f, hidden=[16, 8]),
    ],
    ids=["qcnn", "amplitude-rot-cnot-xz", "angle-rxyz-ring", "zz-ra-xz", "classical-relu"],
)
def test_every_head_type_matches_in_node(make_head, tmp_path):
    """Paper B's heads (every activation, encoder, ansatz and readout they use) on a tiny 3D backbone:
    `qumri classify` (TypeScript head + WASM kernel) reproduces torch within 1e-4."""
    from training.fixtures import TINY_SHAPE, standardize_first_layer
    from training.models import ModelConfig, build_model

    torch.manual_seed(11)
    model = build_model(ModelConfig(backbone="resnet10", width=4, head="classical"))
    model.head = make_head(model.backbone.n_features)
    model = standardize_first_layer(model.eval())
    out = str(tmp_path / "b")
    export.export_bundle(model, out, "b", input_shape=TINY_SHAPE, index=False)
    ref, _ = reference_volumes(out)
    rows = classify(out, [os.path.join(out, e["file"]) for e in ref["inputs"]])
    for row, e in zip(rows, ref["inputs"]):
        assert abs(row["probability"] - e["probability"]) < 1e-4, (row, e["probability"])
