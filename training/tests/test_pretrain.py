"""Lesion-map pre-training: masks follow the image under augmentation, block targets, the run
(resume, output) and initialising a classifier from it."""
import dataclasses
import json
import math
import os

import numpy as np
import pytest
import torch

from training import data as D
from training.checkpoint import load_backbone_init
from training.config import parse_overrides
from training.models import build_model
from training.pretrain import (
    STAGE_CHANNELS_2D,
    LesionMapNet,
    PretrainConfig,
    average_into,
    block_targets,
    lr_at,
    map_loss,
    pretrain,
    recompute_batch_norm,
    without_stopping,
)

from .cohort import make_cohort


def test_augment_moves_the_mask_with_the_image():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 16, 16, 16, generator=g)
    mask = (x > 0.7).float()
    spatial = D.Augment(intensity=0, gamma=0, noise=0)
    for seed in range(6):
        xa, ma = spatial(x, torch.Generator().manual_seed(seed), mask)
        torch.testing.assert_close(ma, spatial(mask, torch.Generator().manual_seed(seed)))
        torch.testing.assert_close(xa, spatial(x, torch.Generator().manual_seed(seed)))
    full = D.Augment()
    xa, _ = full(x, torch.Generator().manual_seed(3), mask)
    torch.testing.assert_close(xa, full(x, torch.Generator().manual_seed(3)))  # the mask draws no extra numbers


def test_block_targets_mark_the_block_of_each_lesion_voxel():
    net = LesionMapNet("resnet10", 4).eval()
    mask = torch.zeros(1, 1, 32, 32, 32)
    mask[0, 0, 3, 20, 30] = 1
    maps = net(mask)
    assert [tuple(m.shape[2:]) for m in maps] == [(8, 8, 8), (4, 4, 4), (2, 2, 2), (1, 1, 1)]
    for m, t in zip(maps, block_targets(mask, maps)):
        assert t.sum() == 1
        k = 32 // m.shape[2]
        assert t[0, 0, 3 // k, 20 // k, 30 // k] == 1


@pytest.mark.parametrize("name", list(STAGE_CHANNELS_2D))
def test_2d_stages_chain_to_the_classifiers_feature_map_and_its_backbone_loads(name):
    """Paper B's families: the probed stages end in exactly the map the classifier pools, each coarser than the
    last; everything trains (paper B's frozen stages included) and the weights load into a classifier."""
    torch.manual_seed(0)
    net = LesionMapNet(name, 0).eval()
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        maps = net(x)
        h = x
        for stage in net.stages:
            h = stage(h)
        torch.testing.assert_close(h, net.backbone(x)[1])
    assert len(maps) == len(STAGE_CHANNELS_2D[name])
    sizes = [m.shape[-1] for m in maps]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) >= 2 and all(m.shape[1] == 1 for m in maps)
    assert all(p.requires_grad for p in net.backbone.parameters())
    net.train()
    assert all(m.training for m in net.backbone.modules())  # BatchNorms of paper B's frozen stages learn too
    t = torch.zeros(2, 1, 64, 64)
    t[0, 0, 40, 9] = 1
    assert [int(b.sum()) for b in block_targets(t, maps)] == [1] * len(maps)
    model = build_model({"backbone": name, "head": "classical"})
    model.backbone.load_state_dict(net.backbone.state_dict())


def test_map_loss_is_low_for_the_right_map_and_high_for_the_wrong_one():
    t = torch.zeros(2, 1, 4, 4, 4)
    t[0, 0, 1, 2, 3] = 1
    right, wrong = (t * 2 - 1) * 8, (1 - 2 * t) * 8
    assert map_loss(right, t) < 0.05 < 1 < map_loss(wrong, t)


def test_dice_loss_drops_the_cross_entropy_and_old_runs_keep_theirs():
    t = torch.zeros(2, 1, 8, 8)
    t[0, 0, 3, 4] = 1
    logits = torch.randn(2, 1, 8, 8)
    p = torch.sigmoid(logits)
    soft_dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    torch.testing.assert_close(map_loss(logits, t, "dice"), soft_dice)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, t)
    torch.testing.assert_close(map_loss(logits, t), soft_dice + bce)
    # a checkpoint from before --loss existed is the same run as one that names the default
    old = {k: v for k, v in dataclasses.asdict(PretrainConfig()).items() if k != "loss"}
    assert without_stopping(old) == without_stopping(dataclasses.asdict(PretrainConfig(loss="bce_dice")))
    assert without_stopping(old) != without_stopping(dataclasses.asdict(PretrainConfig(loss="dice")))
    with pytest.raises(SystemExit, match="--loss must be one of"):
        pretrain(PretrainConfig(manifest="unused.csv", grid="64,64,64", loss="focal"))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("lesionmap")
    return root, make_cohort(str(root / "cohort"), masks=True)


def test_pretrain_runs_resumes_and_initialises_a_classifier(cohort):
    root, manifest = cohort
    args = [
        f"--manifest={manifest}",
        f"--out_dir={root / 'pre'}",
        "--grid=32,32,32",
        "--backbone=resnet10",
        "--width=4",
        "--epochs=3",
        "--batch_size=4",
        "--lr=3e-3",
        "--num_threads=1",
        "--schedule=constant",
    ]
    cfg = parse_overrides(args, PretrainConfig())
    out = pretrain(cfg)
    saved = torch.load(out)
    assert saved["backbone_args"] == {"backbone": "resnet10", "width": 4}
    assert len(saved["history"]) == 3 and saved["best_val_loss"] == min(h["val_loss"] for h in saved["history"])
    assert saved["config"]["epochs"] == 3
    assert all(len(h["val_dice_per_stage"]) == 4 for h in saved["history"])
    assert not set(saved["splits"]["train"]) & set(saved["splits"]["val"])
    before = os.path.getmtime(root / "pre" / "ckpt.pt")
    pretrain(cfg)  # resumes after the last epoch: nothing left to train
    assert os.path.getmtime(root / "pre" / "ckpt.pt") == before
    longer = pretrain(parse_overrides(args + ["--epochs=4", "--patience=9"], PretrainConfig()))  # continues
    assert len(torch.load(longer)["history"]) == 4
    with pytest.raises(SystemExit, match="another configuration"):
        pretrain(parse_overrides(args + ["--epochs=4", "--lr=1e-2"], PretrainConfig()))
    saved = torch.load(out)

    model = build_model({"backbone": "resnet10", "width": 4, "head": "classical"})
    load_backbone_init(model, out, "resnet10", 4)
    for k, v in model.backbone.state_dict().items():
        torch.testing.assert_close(v, saved["backbone"][k])
    with pytest.raises(SystemExit, match="width"):
        load_backbone_init(build_model({"backbone": "resnet10", "width": 8, "head": "classical"}), out, "resnet10", 8)
    with pytest.raises(SystemExit, match="not found"):
        load_backbone_init(model, str(root / "missing.pt"), "resnet10", 4)


def test_pretrain_starts_from_another_runs_network(cohort):
    root, manifest = cohort
    base = [f"--manifest={manifest}", "--grid=32,32,32", "--backbone=resnet10", "--width=4", "--batch_size=4"]
    base += ["--num_threads=1", "--schedule=constant"]
    first = parse_overrides(base + [f"--out_dir={root / 'a'}", "--epochs=1"], PretrainConfig())
    pretrain(first)
    a = torch.load(root / "a" / "ckpt.pt")["net"]
    cfg = parse_overrides(
        base + [f"--out_dir={root / 'b'}", "--epochs=1", "--lr=0", f"--init={root / 'a' / 'ckpt.pt'}"], PretrainConfig()
    )
    pretrain(cfg)  # lr 0: the warm-started network must come out unchanged (batch-norm statistics aside)
    b = torch.load(root / "b" / "ckpt.pt")["net"]
    for k in a:
        if "running" not in k and "num_batches" not in k:
            torch.testing.assert_close(b[k], a[k])
    pretrain(parse_overrides(base + [f"--out_dir={root / 'c'}", "--epochs=1", "--lr=0"], PretrainConfig()))
    fresh = torch.load(root / "c" / "ckpt.pt")[
        "net"
    ]  # same seed, no init: the random start, which `a` trained away from
    assert any(not torch.equal(fresh[k], a[k]) for k in a if k.endswith("weight"))
    with pytest.raises(SystemExit, match="width"):
        pretrain(
            parse_overrides(
                base[:3] + ["--width=12"] + base[4:] + [f"--out_dir={root / 'd'}", f"--init={root / 'a' / 'ckpt.pt'}"],
                PretrainConfig(),
            )
        )
    with pytest.raises(SystemExit, match="not found"):
        pretrain(parse_overrides(base + [f"--out_dir={root / 'e'}", f"--init={root / 'missing.pt'}"], PretrainConfig()))


def test_weight_average_is_the_running_mean_and_batch_norm_is_measured_for_it():
    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)) for _ in range(3)]
    mean = {k: v.clone() for k, v in nets[0].state_dict().items()}
    for n, net in enumerate(nets):
        average_into(mean, net, n)
    for k in ("0.weight", "0.bias", "1.weight", "1.bias"):
        torch.testing.assert_close(mean[k], sum(net.state_dict()[k] for net in nets) / 3, rtol=0, atol=1e-7)
    torch.testing.assert_close(mean["1.running_mean"], nets[0].state_dict()["1.running_mean"])  # left to measure

    bn = torch.nn.BatchNorm1d(2, momentum=0.3)
    batches = [torch.randn(5, 2) * 3 + 1 for _ in range(4)]
    recompute_batch_norm(bn, [(x, None) for x in batches])
    # equal batches: the plain average of the batch means is the mean over all samples
    torch.testing.assert_close(bn.running_mean, torch.cat(batches).mean(0), rtol=0, atol=1e-6)
    torch.testing.assert_close(bn.running_var, torch.stack([x.var(0) for x in batches]).mean(0), rtol=0, atol=1e-5)
    assert bn.momentum == 0.3


def test_pretrain_writes_the_mean_of_the_last_epochs(cohort):
    root, manifest = cohort
    args = [f"--manifest={manifest}", f"--out_dir={root / 'avg'}", "--grid=32,32,32", "--backbone=resnet10"]
    args += ["--width=4", "--batch_size=4", "--lr=3e-3", "--num_threads=1", "--schedule=constant", "--average_from=2"]
    pretrain(parse_overrides(args + ["--epochs=2"], PretrainConfig()))
    second = torch.load(root / "avg" / "ckpt.pt")["net"]
    one = torch.load(root / "avg" / "backbone-avg.pt")
    assert one["averaged_epochs"] == [2, 2]
    pretrain(parse_overrides(args + ["--epochs=3", "--patience=9"], PretrainConfig()))  # continues to epoch 3
    third = torch.load(root / "avg" / "ckpt.pt")["net"]
    two = torch.load(root / "avg" / "backbone-avg.pt")
    assert two["averaged_epochs"] == [2, 3] and len(two["history"]) == 3
    assert math.isfinite(two["val_loss"]) and len(two["val_dice_per_stage"]) == 4
    for k, v in two["backbone"].items():
        if v.is_floating_point() and "running_" not in k:
            torch.testing.assert_close(v, (second["backbone." + k] + third["backbone." + k]) / 2, rtol=0, atol=1e-6)
            torch.testing.assert_close(one["backbone"][k], second["backbone." + k])
    model = build_model({"backbone": "resnet10", "width": 4, "head": "classical"})
    load_backbone_init(model, str(root / "avg" / "backbone-avg.pt"), "resnet10", 4)
    with pytest.raises(SystemExit, match="average_from"):
        pretrain(parse_overrides(args + ["--epochs=1"], PretrainConfig()))


def test_pretrain_uses_the_splits_file_it_is_given_and_refuses_another(cohort):
    root, manifest = cohort
    rows = D.read_manifest(manifest, "")
    given = D.make_splits(rows, "A", 7)  # not the seed-1 splits the run would make itself
    assert given != D.make_splits(rows, "A", 1)
    (root / "given.json").write_text(json.dumps(given))
    args = [f"--manifest={manifest}", f"--out_dir={root / 'split'}", "--grid=32,32,32", "--backbone=resnet10"]
    args += ["--width=4", "--epochs=1", "--num_threads=1", f"--splits={root / 'given.json'}"]
    saved = torch.load(pretrain(parse_overrides(args, PretrainConfig())))
    assert saved["splits"] == {"train": given["train"], "val": given["val"]}
    assert json.loads((root / "split" / "splits.json").read_text()) == given
    pretrain(parse_overrides(args, PretrainConfig()))  # the same file again: resumes
    other = D.make_splits(rows, "A", 8)
    (root / "other.json").write_text(json.dumps(other))
    with pytest.raises(SystemExit, match="other splits"):
        pretrain(parse_overrides(args[:-1] + [f"--splits={root / 'other.json'}"], PretrainConfig()))
    with pytest.raises(SystemExit, match="not found"):
        pretrain(parse_overrides(args[:-1] + [f"--splits={root / 'missing.json'}"], PretrainConfig()))


def test_a_widened_network_computes_what_the_narrow_one_did():
    from training.widen import widen_state

    torch.manual_seed(0)
    narrow = LesionMapNet("resnet10", 4)
    with torch.no_grad():  # batch-norm statistics and affine parameters away from their identity defaults
        for m in narrow.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                for t in (m.weight, m.bias, m.running_mean):
                    t.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.add_(1.0)
    x = torch.rand(2, 1, 32, 32, 32)
    wide = LesionMapNet("resnet10", 8)
    wide.load_state_dict(widen_state(narrow.state_dict(), 0.0, torch.Generator().manual_seed(0)))
    # equal up to float32 rounding: each convolution sums twice the terms at half the weight, through ~10 layers,
    # and training-mode batch norm over 2 samples at the 1³ stage divides by their small spread
    for mode in ("eval", "train"):
        getattr(narrow, mode)(), getattr(wide, mode)()
        with torch.no_grad():
            for a, b in zip(narrow(x), wide(x)):
                torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
    wide.eval()
    with torch.no_grad():
        pooled, fmap = wide.backbone(x)
    torch.testing.assert_close(pooled[:, 32:], pooled[:, :32])  # each feature and its copy
    noisy = widen_state(narrow.state_dict(), 0.02, torch.Generator().manual_seed(0))
    w = noisy["backbone.stem.0.weight"]
    assert not torch.equal(w[4:], w[:4]) and torch.allclose(w[4:], w[:4], atol=0.1 * w.std().item())
    with pytest.raises(ValueError, match="2-D"):
        widen_state({"fc.weight": torch.zeros(2, 3)}, 0.0, torch.Generator())


def test_pretrain_widens_a_network_of_half_the_width(cohort):
    root, manifest = cohort
    base = [f"--manifest={manifest}", "--grid=32,32,32", "--backbone=resnet10", "--batch_size=4", "--num_threads=1"]
    pretrain(parse_overrides(base + ["--width=4", f"--out_dir={root / 'w4'}", "--epochs=1"], PretrainConfig()))
    init = f"--init={root / 'w4' / 'ckpt.pt'}"
    pretrain(parse_overrides(base + ["--width=8", f"--out_dir={root / 'w8'}", "--epochs=1", init], PretrainConfig()))
    assert torch.load(root / "w8" / "ckpt.pt")["net"]["backbone.stem.0.weight"].shape[0] == 8
    with pytest.raises(SystemExit, match="half"):
        pretrain(parse_overrides(base + ["--width=12", f"--out_dir={root / 'w12'}", init], PretrainConfig()))


def test_cosine_schedule_decays_to_zero_and_is_made_for_its_number_of_epochs(cohort):
    cfg = PretrainConfig(lr=1e-3, epochs=4)
    assert [round(lr_at(cfg, e), 12) for e in range(4)] == [
        1e-3,
        round(1e-3 * (2 + 2**0.5) / 4, 12),
        5e-4,
        round(1e-3 * (2 - 2**0.5) / 4, 12),
    ]
    assert lr_at(PretrainConfig(lr=1e-3, epochs=4, schedule="constant"), 3) == 1e-3
    root, manifest = cohort
    args = [
        f"--manifest={manifest}",
        f"--out_dir={root / 'cos'}",
        "--grid=32,32,32",
        "--backbone=resnet10",
        "--width=4",
        "--epochs=2",
        "--batch_size=4",
        "--lr=3e-3",
        "--num_threads=1",
    ]
    saved = torch.load(pretrain(parse_overrides(args, PretrainConfig())))
    assert [h["lr"] for h in saved["history"]] == [3e-3, lr_at(PretrainConfig(lr=3e-3, epochs=2), 1)]
    with pytest.raises(SystemExit, match="another configuration"):  # 3 epochs is another cosine, not a continuation
        pretrain(parse_overrides(args + ["--epochs=3"], PretrainConfig()))
    with pytest.raises(SystemExit, match="schedule"):
        pretrain(parse_overrides(args + ["--schedule=step"], PretrainConfig()))


def test_train_starts_from_the_pretrained_backbone(cohort):
    from training.checkpoint import load_checkpoint
    from training.train import TrainConfig, train

    root, manifest = cohort
    pre = parse_overrides(
        [
            f"--manifest={manifest}",
            f"--out_dir={root / 'pre2'}",
            "--grid=32,32,32",
            "--backbone=resnet10",
            "--width=4",
            "--epochs=1",
            "--num_threads=1",
        ],
        PretrainConfig(),
    )
    init = pretrain(pre)
    cfg = parse_overrides(
        [
            f"--manifest={manifest}",
            f"--out_dir={root / 'cls'}",
            "--grid=32,32,32",
            "--backbone=resnet10",
            "--width=4",
            "--head=classical",
            "--epochs=1",
            "--lr=0",
            "--l2=0",
            "--progress=false",
            f"--init_backbone={init}",
        ],
        TrainConfig(),
    )
    train(cfg)
    ckpt = load_checkpoint(str(root / "cls" / "ckpt.pt"))
    saved = torch.load(init)["backbone"]
    for k, v in saved.items():  # lr 0: the weights are the pre-trained ones (BatchNorm statistics still move)
        if "running" not in k and "num_batches" not in k:
            torch.testing.assert_close(ckpt["model"]["backbone." + k], v)
    assert ckpt["config"]["init_backbone"] == init
    assert np.isfinite(ckpt["best_val_loss"])
