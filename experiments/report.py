"""Regenerate docs/results.md and docs/img/results-*.png from the committed run records alone.

    /usr/bin/python3 -m experiments.report [--records=records] [--out=docs/results.md]

Reads records/ (experiments/variants.py: the shipped runs of records/shipped.json, every variant by its
group), recomputes the DeLong test of each hybrid against its classical partner from the stored test
predictions, and draws one ROC figure per task × sequence (or plane). No checkpoint or data set is needed.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import matplotlib
import numpy as np

from experiments.variants import RECORDS, ROOT, load_group, load_records, shipped, variants
from training import guards, shipping
from training.evaluate import auc_score, delong

matplotlib.use("Agg")  # figures are files; before pyplot picks a display backend
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

# Paper A, Table 2 (test set): AUC, ACC, SEN, SPE
PAPER_A = {
    ("tsc", "FLAIR", "classical"): (0.982, 0.923, 0.942, 0.904),
    ("tsc", "T2w", "classical"): (0.977, 0.894, 0.923, 0.865),
    ("tsc", "FLAIR", "quantum"): (0.995, 0.962, 0.942, 0.981),
    ("tsc", "T2w", "quantum"): (0.984, 0.933, 0.904, 0.962),
}
# Paper B, accuracy / AUC in % as quoted in its prose
PAPER_B = {
    ("axial", "cnn", "classical"): (93.95, 97.81),
    ("axial", "cnn", "quantum"): (93.05, 96.85),
    ("axial", "densenet121", "classical"): (95.77, 98.66),
    ("axial", "densenet121", "quantum"): (97.28, 99.13),
    ("axial", "resnet50", "classical"): (96.97, 98.69),
    ("axial", "resnet50", "quantum"): (97.58, 99.31),
    ("axial", "efficientnet_b3", "classical"): (98.18, 99.02),
    ("axial", "efficientnet_b3", "quantum"): (98.18, 98.14),
    ("sagittal", "cnn", "classical"): (93.80, 98.31),
    ("sagittal", "cnn", "quantum"): (92.95, 97.82),
    ("sagittal", "densenet121", "classical"): (98.87, 99.83),
    ("sagittal", "densenet121", "quantum"): (98.30, 99.88),
    ("sagittal", "resnet50", "classical"): (99.15, 99.93),
    ("sagittal", "resnet50", "quantum"): (98.59, 99.61),
    ("sagittal", "efficientnet_b3", "classical"): (97.46, 99.51),
    ("sagittal", "efficientnet_b3", "quantum"): (98.30, 99.32),
}
TASKS = {"tsc": "TSC", "ms": "MS"}
NAMES_B = {"cnn": "CNN", "resnet50": "ResNet50", "densenet121": "DenseNet121", "efficientnet_b3": "EfficientNet-B3"}


def model_order(r: dict) -> tuple:
    """Paper A rows: TSC before MS, FLAIR before T2w, classical before hybrid."""
    return r["task"] != "tsc", r["sequence"] != "FLAIR", r["head"] != "classical"


def shown_records(folder: str) -> list[dict]:
    """The runs the main tables show, by id: each shipped 3D model's run (records/shipped.json) and every paper B
    run on paper B's cohort size; a record keeps its `shipped` entry only while shipped.json names its variant."""
    ship = shipped(folder)
    recs = [r for v, by_id in load_group(folder, "paper-a").items() for i, r in by_id.items() if ship.get(i) == v]
    for v, by_id in load_group(folder, "paper-b").items():
        for i, r in by_id.items():
            if ship.get(i) != v:
                r.pop("shipped", None)
            recs.append(r)
    return sorted(recs, key=lambda r: r["id"])


def start(rec: dict) -> str:
    """How the run's backbone started, from its record."""
    p = rec.get("pretraining")
    return f"lesion-map pre-trained ({p['config'].get('schedule', 'constant')} lr)" if p else "random"


def averaged(pre: dict) -> str:
    """', weights: mean of epochs a-b' where the backbone is a weight average (training.pretrain --average_from)."""
    return f", weights: {pre['weights']}" if pre.get("weights", "").startswith("mean") else ""


def f3(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def ci(m: dict) -> str:
    lo, hi = m["ci95"]
    return f"{f3(m['value'])} ({f3(lo)}–{f3(hi)})"


def pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def test_arrays(rec: dict) -> tuple[list[str], np.ndarray, np.ndarray]:
    t = rec["predictions"]["test"]
    return [e["subject_id"] for e in t], np.array([e["label"] for e in t]), np.array([e["probability"] for e in t])


def pair_delong(q: dict, c: dict) -> dict:
    """DeLong of a hybrid against its classical partner on the same test subjects (checked)."""
    ids_q, y, pq = test_arrays(q)
    ids_c, yc, pc = test_arrays(c)
    if ids_q != ids_c or not np.array_equal(y, yc):
        raise ValueError(f"{q['id']} and {c['id']} were tested on different subjects: no paired DeLong test")
    return delong(y, pq, pc)


def group_key(rec: dict) -> tuple:
    return (rec["family"], rec["task"], rec.get("sequence") or rec.get("plane"), rec.get("backbone_family", ""))


def partners(recs: list[dict]) -> list[tuple[dict, dict | None]]:
    """(hybrid, classical of the same family/task/sequence or plane/backbone) for every hybrid."""
    out = []
    for q in (r for r in recs if r["head"] == "quantum"):
        c = [r for r in recs if r["head"] == "classical" and group_key(r) == group_key(q)]
        out.append((q, c[0] if c else None))
    return out


def roc_figure(recs: list[dict], title: str, path: str) -> None:
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=110)
    for r in recs:
        _, y, p = test_arrays(r)
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, lw=2, label=f"{r['model_label']} AUC {auc_score(y, p):.3f}")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set(xlabel="1 − specificity", ylabel="sensitivity", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def label(rec: dict) -> str:
    if rec["family"] == "paper_a":
        return "QResNet-34" if rec["head"] == "quantum" else "ResNet-34"
    return rec["model"]


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


def section_paper_a(recs: list[dict], img_dir: str, rel_img: str) -> list[str]:
    a = [r for r in recs if r["family"] == "paper_a"]
    if not a:
        return ["## Paper A protocol (3D)\n", "No paper A run has been recorded yet.\n"]
    L = [
        "## Paper A protocol (3D ResNet-34 vs QResNet-34)\n",
        "Test split only; threshold chosen on validation (Youden J) and applied unchanged. Intervals: 95 % "
        "stratified bootstrap (2000 resamples). DeLong p: hybrid vs the classical model of the same task and "
        "sequence on the same test subjects.\n",
        "| Task | Sequence | Model | n test | AUC (95 % CI) | ACC (95 % CI) | SEN (95 % CI) | SPE (95 % CI) | "
        "DeLong p | Paper A: AUC / ACC / SEN / SPE |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    dl = {q["id"]: pair_delong(q, c) for q, c in partners(a) if c}
    order = sorted(a, key=model_order)
    for r in order:
        t = r["test"]
        paper = PAPER_A.get((r["task"], r["sequence"], r["head"]))
        paper_s = " / ".join(f"{v:.3f}" for v in paper) if paper else "— (not in the paper)"
        p = f3(dl[r["id"]]["p"]) if r["id"] in dl else "—"
        L.append(
            f"| {TASKS[r['task']]} | {r['sequence']} | {label(r)} | {r['n_test']} | {ci(t['auc'])} | "
            f"{ci(t['acc'])} | {ci(t['sen'])} | {ci(t['spe'])} | {p} | {paper_s} |"
        )
    missing = [
        f"{TASKS[t]} {q}"
        for t, q in (("tsc", "FLAIR"), ("ms", "FLAIR"), ("tsc", "T2w"))
        if not any(r["task"] == t and r["sequence"] == q for r in a)
    ]
    if missing:
        L.append("")
        L.append("Not run within this session's CPU budget: " + ", ".join(missing) + ".")
    L.append("")
    L.append("### ROC curves (test split)\n")
    for task in ("tsc", "ms"):
        for seq in ("FLAIR", "T2w"):
            group = [r for r in order if r["task"] == task and r["sequence"] == seq]
            if not group:
                continue
            name = f"results-roc-{task}-{seq.lower()}.png"
            roc_figure(group, f"{TASKS[task]} vs healthy, {seq} (synthetic test split)", os.path.join(img_dir, name))
            L.append(f"![ROC {TASKS[task]} {seq}]({rel_img}/{name})")
    L.append("")
    L.append("### Lesion evidence: Grad-CAM pointing game and paired twins (test patients)\n")
    L.append(
        "*Pointing game*: the in-brain maximum of the Grad-CAM (log-odds of the positive class, last "
        "feature map, trilinearly upsampled to the model grid) lies inside the lesion mask resampled onto "
        "the model grid. At a 64³ input the last feature map of ResNet-34 is 2×2×2, so the maximum is a "
        "plateau of many voxels: a subject's hit is the plateau's lesion share (the expected hit under "
        "random tie-breaking), and hits are summed. *±1 voxel*: inside the mask dilated by one model "
        "voxel; *chance*: the mask's share of brain voxels, i.e. what a random point inside the brain "
        "would score. *Paired*: the patient's "
        "scan scores higher than its lesion-free twin (same anatomy, same noise, lesions removed). "
        "Intervals: 95 % Wilson.\n"
    )
    L.append(
        "| Task | Sequence | Model | Pointing (95 % CI) | Pointing ±1 voxel (95 % CI) | chance / ±1 | "
        "Paired: patient > twin (95 % CI) |"
    )
    L.append("|---|---|---|---|---|---|---|")
    for r in order:
        pg, pr = r["pointing"], r["paired"]
        L.append(
            f"| {TASKS[r['task']]} | {r['sequence']} | {label(r)} | "
            f"{pg['hits']:g}/{pg['n']} = {pct(pg['acc'])} ({pct(pg['ci95'][0])}–{pct(pg['ci95'][1])}) | "
            f"{pg['hits_dilated']:g}/{pg['n']} = {pct(pg['acc_dilated'])} "
            f"({pct(pg['ci95_dilated'][0])}–{pct(pg['ci95_dilated'][1])}) | "
            f"{pct(pg['chance'])} / {pct(pg['chance_dilated'])} | "
            f"{pr['patient_higher']}/{pr['n']} = {pct(pr['rate'])} ({pct(pr['ci95'][0])}–{pct(pr['ci95'][1])}) |"
        )
    L.append("")
    return L + pointing_by_stage([r for r in order if r.get("pointing_by_stage")])


def pointing_by_stage(recs: list[dict]) -> list[str]:
    """The pointing game on the Grad-CAM of every backbone stage (finer maps than the last one), all stages shown
    so that no stage is picked after seeing the test patients."""
    if not recs:
        return []
    stages = recs[0]["pointing_by_stage"]
    L = [
        "The same pointing game on the Grad-CAM of each ResNet-34 stage's output (the last stage is the table "
        "above); earlier stages map finer, but their Grad-CAM weighs features the head reaches only through the "
        "later stages. Each cell: hit share (95 % CI) / within ±1 voxel. The page's Grad-CAM for the 3D models "
        "is stage 2's (8×8×8 at 64³, carried back inside backbone.onnx by `training/explain.py`): chosen after "
        "seeing this table, as a display setting only; it selects no model, threshold or reported number, and "
        "every stage stays reported here.\n",
        "| Task | Sequence | Model | "
        + " | ".join(f"stage {p['stage']} ({'×'.join(map(str, p['map']))})" for p in stages)
        + " | chance / ±1 |",
        "|---|---|---|" + "---|" * (len(stages) + 1),
    ]
    for r in recs:
        cells = [
            f"{pct(p['acc'])} ({pct(p['ci95'][0])}–{pct(p['ci95'][1])}) / {pct(p['acc_dilated'])}"
            for p in r["pointing_by_stage"]
        ]
        pg = r["pointing"]
        L.append(
            f"| {TASKS[r['task']]} | {r['sequence']} | {label(r)} | {' | '.join(cells)} | "
            f"{pct(pg['chance'])} / {pct(pg['chance_dilated'])} |"
        )
    return L + [""]


def protocol_b(rec: dict) -> str:
    """One cell: how a paper B run was trained (records before the transfer protocol: end to end)."""
    p = rec.get("protocol") or {"kind": "end-to-end", "trials": rec.get("optuna", {}).get("trials", "—")}
    if p["kind"] == "end-to-end":
        return f"end to end, {p['trials']} trials"
    return f"transfer: backbone {p['backbone']['epochs_run']} ep., head {p['head']['trials']} trials"


PAPER_B_520 = "paper-b-520"  # the group of the paper B runs on the 520-subject MS cohort (not shipped)


def section_paper_b_520(folder: str, img_dir: str, rel_img: str) -> list[str]:
    """The same protocol on the 3D MS model's 520-subject cohort (records/paper-b-520/)."""
    recs = [r for by_id in load_group(folder, PAPER_B_520).values() for r in by_id.values()]
    if not recs:
        return []
    for r in recs:
        r["model_label"] = label(r)
    return section_paper_b(recs, img_dir, rel_img, cohort_520=True)


def section_paper_b(recs: list[dict], img_dir: str, rel_img: str, cohort_520: bool = False) -> list[str]:
    """Paper B's tables per plane; cohort_520: the runs on the 520-subject cohort (a shorter section)."""
    b = [r for r in recs if r["family"] == "paper_b"]
    if not b:
        return [] if cohort_520 else ["## Paper B protocol (2D slices)\n", "No paper B run has been recorded yet.\n"]
    if cohort_520:
        L = [
            "## Paper B protocol on the 520-subject MS cohort\n",
            "The same protocol and code on the 3D MS models' cohort, four times paper B's size "
            f"(`records/{PAPER_B_520}/`): its test split has 104 subjects instead of 26. Not "
            "shipped: the page keeps the bundles chosen above on paper B's own cohort size; the two cohorts' "
            "validation splits differ, so their validation losses cannot choose between them.\n",
        ]
        tag, heading = "-520", " (520-subject cohort)"
    else:
        L = ["## Paper B protocol (2D MS FLAIR slices)\n"]
        tag, heading = "", ""
    L += [
        "Test split only (20 % of subjects, then 20 % of the rest for validation, stratified, seeded; the same "
        "subjects in both planes and for every model). Threshold chosen on validation. Intervals: 95 % stratified "
        "bootstrap. DeLong p: hybrid vs the classical model of the same family and plane on the same test "
        "subjects. Paper B reports accuracy and AUC in its prose (its tables were lost in extraction), shown "
        "beside ours.\n"
    ]
    for c, sp in {(json.dumps(r["cohort"], sort_keys=True), json.dumps(r["splits"], sort_keys=True)) for r in b}:
        c, sp = json.loads(c), json.loads(sp)
        L.append(
            f"*Cohort.* {c['n_subjects']} synthetic subjects ({c['n_patients']} MS; paper B: 131, 72 MS) from "
            f"{c['generator']} seed {c['seed']}"
            + (f", {c['stopped_early']}" if c.get("stopped_early") else "")
            + f"; one axial and one sagittal slice each ({c['slices']}); split {len(sp['train'])} / "
            f"{len(sp['val'])} / {len(sp['test'])} subjects (train / validation / test).\n"
        )
    transfer = [r for r in b if (r.get("protocol") or {}).get("kind") == "transfer"]
    if transfer and not cohort_520:
        L.append(
            "*Protocol as run.* Paper B fine-tunes ImageNet-pretrained ResNet50 / DenseNet121 / EfficientNet-B3 "
            "with each head end to end (Optuna, 50 trials). No pretrained weights can be had offline, and "
            "training these from scratch at 224×224 for every head and trial does not fit one CPU core "
            "(measured forward + backward per slice, paper B's early stages frozen: EfficientNet-B3 0.09 s, "
            "DenseNet121 0.16 s, ResNet50 0.18 s; the CNN 0.026 s). So the CNN and QCNN train end to end, and "
            "the three large families use transfer learning in two stages: each backbone is pre-trained once "
            "from random initialisation with a linear head for a fixed number of epochs on the train slices of "
            "both planes pooled (the split is by subject, so no subject crosses splits between planes), its "
            "BatchNorm statistics recalibrated on those slices, and frozen; then the classical and the hybrid head are tuned per "
            "plane with Optuna on the cached features of the train slices and their mirror images (search over "
            "learning rate, L2, dropout, dense stack, batch and, for hybrids, qubits and circuit layers). The backbone never saw an ImageNet image "
            "and trained for only a few epochs, so this tests the heads on weak features, not paper B's "
            "transfer from ImageNet.\n"
        )
    if transfer:
        L += [
            "| Backbone | pre-training epochs | pooled val loss (last epoch, before recalibration) | wall time | "
            "head trials per plane and head |",
            "|---|---|---|---|---|",
        ]
        seen = set()
        for r in sorted(transfer, key=lambda r: r["backbone_family"]):
            if r["backbone_family"] in seen:
                continue
            seen.add(r["backbone_family"])
            pb, ph = r["protocol"]["backbone"], r["protocol"]["head"]
            L.append(
                f"| {NAMES_B[r['backbone_family']]} | {pb['epochs_run']} | "
                f"{f3(pb['val_loss_pooled_last'])} | {(pb['wall_time_s'] + pb['recalibration_s']) / 60:.1f} min "
                f"+ features {pb['features_s'] / 60:.1f} min per plane | {ph['trials']} |"
            )
        L.append("")
    dl = {q["id"]: pair_delong(q, c) for q, c in partners(b) if c}
    ran = {(r["plane"], r["backbone_family"], r["head"]) for r in b}
    missing = sorted(
        f"{plane} {'Q' if h == 'quantum' else ''}{NAMES_B[b_]}"
        for (plane, b_, h) in PAPER_B
        if (plane, b_, h) not in ran
    )
    if missing:
        L.append("Not run within this session's CPU budget: " + ", ".join(missing) + ".\n")
    shipped = [r for r in b if r.get("shipped")]
    chosen = sorted((r for r in b if r.get("selection", {}).get("selected")), key=lambda r: r["id"])
    if not cohort_520:
        rule = (
            "per plane a classical and a hybrid run, the four together with the lowest summed validation loss "
            "whose bundles fit the size budget beside the 3D bundles "
            f"({chosen[0]['selection']['budget_mib']:.0f} MiB) and pass the page's parity (never chosen on "
            "test): " + ", ".join(f"`{r['id']}`" for r in chosen) + "."
            if chosen
            else ""
        )
        panel = (
            "The page classifies 2D slices with paper B bundles in its slice panel "
            "(`src/display/inference/SlicePanel.tsx`: a slice of the loaded volume, or a dropped picture, "
            "resized to 224×224). "
            if shipped
            else "The page's slice panel (`src/display/inference/SlicePanel.tsx`) offers no 2D model: per plane it "
            "says that none passes the shipping rule and lists the withdrawn candidates' test AUCs "
            "(`public/models/withdrawn.json`). "
        )
        L.append(
            panel
            + (
                f"Shipped: {rule}"
                if shipped
                else f"Chosen to ship: {rule} Withdrawn since: none of the four meets the shipping rule "
                f"({shipping.RULE}, `training/shipping.py`; `public/models/withdrawn.json`)."
                if chosen
                else "No paper B bundle is shipped."
            )
            + "".join(
                f" Not shippable: `{r['id']}` (the page's modules in node differ from torch by "
                f"{r['selection']['page_parity_max_diff']:.1e} > 1e-4: its head amplifies float32 rounding of "
                "weakly varying features)."
                for r in b
                if r.get("selection", {}).get("page_parity_max_diff", 0) > 1e-4
            )
            + "\n"
        )
    for plane in ("axial", "sagittal"):
        group = sorted(
            [r for r in b if r["plane"] == plane], key=lambda r: (list(NAMES_B).index(r["backbone_family"]), r["head"])
        )
        if not group:
            continue
        L += [
            f"### {plane.capitalize()} slices{heading}\n",
            "| Model | protocol | val loss | n test | Accuracy (95 % CI) | Precision (95 % CI) | Recall (95 % CI) | "
            "F1 (95 % CI) | AUC (95 % CI) | DeLong p | Paper B: ACC / AUC (%) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in group:
            t = r["test"]
            paper = PAPER_B.get((plane, r["backbone_family"], r["head"]))
            L.append(
                f"| {r['model']}{' (shipped)' if r.get('shipped') else ''} | {protocol_b(r)} | "
                f"{f3(r['best_val_loss'])} | {r['n_test']} | {ci(t['acc'])} | "
                f"{ci(t['precision'])} | {ci(t['sen'])} | {ci(t['f1'])} | {ci(t['auc'])} | "
                f"{f3(dl[r['id']]['p']) if r['id'] in dl else '—'} | "
                f"{f'{paper[0]:.2f} / {paper[1]:.2f}' if paper else '—'} |"
            )
        name = f"results-roc-ms-{plane}{tag}.png"
        roc_figure(group, f"MS vs healthy, {plane} FLAIR slices", os.path.join(img_dir, name))
        L += ["", f"![ROC {plane}]({rel_img}/{name})", ""]
    return L


DEMOS = {
    ("tsc", "FLAIR"): "tsc-flair.nii.gz (TSC)",
    ("tsc", "T2w"): "tsc-t2w.nii.gz (TSC)",
    ("ms", "FLAIR"): "ms-flair.nii.gz (MS), healthy-flair.nii.gz (healthy)",
}


def section_shipped(recs: list[dict]) -> list[str]:
    """The bundles in public/models, the demo scans to try them on, and which ones show skill."""
    shipped = [r for r in recs if r.get("shipped")]
    if not shipped:
        return []
    aucs = [r["test"]["auc"]["value"] for r in shipped if r["family"] == "paper_a"] or [math.nan]
    L = [
        "## Shipped models\n",
        "Each bundle's manifest is its model card (training data, generator and seed, test metrics with "
        "intervals, threshold chosen on validation, limitations, not a medical device). *Skill*: the lower end "
        "of the test AUC interval is above 0.5. `e2e/demo-models.e2e.ts` classifies every demo scan with every "
        "matching 3D model in the page and requires the same probability (±1e-3) and class as `qumri classify`, "
        "and the demo's known class. Each model is still the variant with the lowest validation loss; the demo "
        "answers chose nothing, though the last head variants of the ablation were run while two hybrids misread "
        "their demo scan. With test AUCs of "
        f"{min(aucs):.2f}–{max(aucs):.2f}, other scans can be misread.\n",
        "| Bundle | size | threshold | test AUC (95 % CI) | skill | demo scans (public/demo/) |",
        "|---|---|---|---|---|---|",
    ]
    total = 0
    for r in sorted(shipped, key=lambda r: r["id"]):
        auc = r["test"]["auc"]
        total += r["shipped"]["bytes"]
        L.append(
            f"| `{r['shipped']['bundle']}` | {r['shipped']['bytes'] / 2 ** 20:.1f} MiB | {f3(r['threshold'])} | "
            f"{ci(auc)} | {'yes' if auc['ci95'][0] > 0.5 else 'no'} | "
            f"{DEMOS.get((r['task'], r['sequence']), '—')}{', a slice in the slice panel' if r['family'] == 'paper_b' else ''} |"
        )
    half = sorted(r["id"] for r in shipped if r["shipped"].get("weights") == "float16")
    L += [
        "",
        f"Total: {total / 2 ** 20:.1f} MiB (budget 100 MiB), "
        + (
            f"float16 backbone weights in {', '.join(f'`{i}`' for i in half)} (probabilities within 1e-3 of "
            "float32, checked at export and by `experiments/tests/test_bundles.py`), float32 elsewhere.\n"
            if half
            else "float32 weights.\n"
        ),
    ]
    return L


def section_calibration(recs: list[dict], img_dir: str, rel_img: str) -> list[str]:
    """Platt scaling fitted on each shipped 3D model's validation predictions (as the bundle carries it),
    judged on the test split: ECE and a reliability diagram before and after."""
    shipped = sorted((r for r in recs if r.get("shipped") and r["family"] == "paper_a"), key=lambda r: r["id"])
    if not shipped:
        return []
    L = [
        "## Calibration\n",
        "Each shipped 3D bundle carries a Platt scaling of its probability, σ(a·logit(P) + b), fitted on its "
        "validation predictions (`training/guards.py`; the page and `qumri classify` show it beside the model's "
        "own P; the class at the threshold is unchanged). Judged on the test split, which chose nothing. "
        "Expected calibration error (ECE): 10 equal-width bins. Validation here is synthetic unless the record "
        "says otherwise, so this calibrates the model on phantoms; it cannot correct what the *Real scans* "
        "section shows.\n",
        "| Model | a | b | validation ECE before → after | test ECE before → after | test n |",
        "|---|---|---|---|---|---|",
    ]
    fig, axes = plt.subplots(1, len(shipped), figsize=(3.2 * len(shipped), 3.2), squeeze=False)
    for ax, r in zip(axes[0], shipped):
        val, test = r["predictions"]["val"], r["predictions"]["test"]
        pv, yv = np.array([x["probability"] for x in val]), np.array([x["label"] for x in val])
        pt, yt = np.array([x["probability"] for x in test]), np.array([x["label"] for x in test])
        a, b = guards.fit_platt(pv, yv)
        after_v, after_t = guards.platt(pv, a, b), guards.platt(pt, a, b)
        L.append(
            f"| `{r['id']}` | {a:.3f} | {b:.3f} | {guards.ece(pv, yv):.3f} → {guards.ece(after_v, yv):.3f} | "
            f"{guards.ece(pt, yt):.3f} → {guards.ece(after_t, yt):.3f} | {len(test)} |"
        )
        for probs, style, name in ((pt, "o-", "model"), (after_t, "s--", "Platt")):
            bins = [x for x in guards.reliability(probs, yt) if x["n"]]
            ax.plot([x["mean_p"] for x in bins], [x["rate"] for x in bins], style, ms=3, label=name)
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set_title(r["id"], fontsize=8)
        ax.set_xlabel("predicted P", fontsize=7)
        ax.set_ylabel("observed rate (test)", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(img_dir, "results-calibration.png"), dpi=90)
    plt.close(fig)
    return L + ["", f"![Reliability diagrams, test split]({rel_img}/results-calibration.png)\n"]


def section_runs(recs: list[dict]) -> list[str]:
    L = [
        "## Runs (budget, wall time, seeds)\n",
        "| Run | cohort (generator, seed, subjects) | grid | epochs run (best val loss) | train wall time | "
        "shipped |",
        "|---|---|---|---|---|---|",
    ]
    for r in recs:
        c = r["cohort"]
        grid = "×".join(str(s) for s in r["input_shape"][2:])
        shipped = f"`{r['shipped']['bundle']}` ({r['shipped']['bytes'] / 2 ** 20:.1f} MiB)" if r.get("shipped") else "—"
        L.append(
            f"| `{r['id']}` | {c['generator']}, seed {c['seed']}, {c['n_subjects']} ({c['n_patients']} patients) | "
            f"{grid} | {r['epochs_run']} ({f3(r['best_val_loss'])}) | {r['wall_time_s']['train'] / 60:.1f} min | "
            f"{shipped} |"
        )
    L.append("")
    return L


def section_summary(recs: list[dict]) -> list[str]:
    """The bottom line, computed from the records."""
    a = [r for r in recs if r["family"] == "paper_a"]
    b = [r for r in recs if r["family"] == "paper_b"]
    if not a and not b:
        return []
    skilled = [r["id"] for r in a + b if r["test"]["auc"]["ci95"][0] > 0.5]
    pvals = [pair_delong(q, c)["p"] for q, c in partners(a + b) if c]
    sizes = [r["cohort"]["n_subjects"] for r in a] or [0]
    n_lo, n_hi = min(sizes), max(sizes)
    L = [
        "## Summary\n",
        f"- {len(skilled)} of {len(a + b)} models have a test AUC whose 95 % interval lies above 0.5"
        + (f" ({', '.join(skilled)})" if skilled else "")
        + (
            "; the others are indistinguishable from chance on these synthetic test splits"
            if len(skilled) < len(a + b)
            else ""
        )
        + ". The papers' AUCs (0.98–0.995 for paper A, 0.97–0.999 for paper B) are not reproduced: "
        + (
            f"far fewer subjects ({n_lo}–{n_hi} instead of 520), "
            if n_lo < 520
            else f"{n_lo} subjects as in paper A, but "
        )
        + "a 64³ grid, "
        + (
            "3D backbones trained from scratch or pre-trained on our own synthetic lesion masks (per model, whichever "
            "reached the lowest validation loss) instead of paper A's MedicalNet weights, "
            if any(r.get("pretraining") for r in a)
            else "3D backbones trained from scratch (paper A fine-tuned MedicalNet-pretrained ones), "
        )
        + "2D backbones without ImageNet weights (paper B fine-tuned ImageNet-pretrained ones), 2 shared CPU cores, "
        "and phantoms whose acquisitions vary widely (2D/3D, slice thickness, SNR) with 28 % of patients carrying "
        "only 1–3 small, low-contrast lesions.",
    ]
    if pvals:
        verdict = (
            "no pair differs at the 0.05 level, so these runs give no evidence for or against the quantum head"
            if min(pvals) >= 0.05
            else f"{sum(p < 0.05 for p in pvals)} pair(s) differ at the 0.05 level "
            "(no correction for multiple comparisons)"
        )
        mixed = [f"{TASKS[q['task']]} {q['sequence']}" for q, c in partners(a) if c and start(q) != start(c)]
        L.append(
            f"- Hybrid vs classical (DeLong, same test subjects): p from {min(pvals):.3f} to {max(pvals):.3f}; "
            f"{verdict}."
            + (
                f" In {', '.join(mixed)} the two selected models started from different backbones, so that pair "
                "compares initialisations as much as heads; the ablation section compares the heads with the "
                "same start."
                if mixed
                else ""
            )
        )
    L.append("")
    return L


REAL_SCANS = os.path.join("real-scans", "real-scans.json")  # experiments/real_scans.py; not a qumri-run/1 record
# Columns of the real-scan table: rate key → header (experiments/real_scans.py, rates)
REAL_RATES = {
    "ms_called_ms": "MS called MS",
    "patient_above_twin": "MS above own twin (median ΔP)",
    "real_called_positive": "real scans (none with TSC) called TSC",
    "twins_called_healthy": "twins called healthy",
    "healthy_called_healthy": "healthy called healthy",
    "t2w_healthy_called_tsc": "healthy T2w called TSC",
    "other_called_healthy": "stroke called healthy",
    "wrong_sequence_caught": "wrong sequence caught",
    "out_of_distribution": "out of distribution",
    "withheld_same_sequence": "withheld (its sequence)",
    "withheld_wrong_sequence": "withheld (wrong sequence)",
    "errors": "CLI errors",
}


def ratio_text(r: dict | None) -> str:
    if r is None:
        return "—"
    if r["N"] == 0:
        return "no scan"
    if r["n"] is None:
        return (
            f"not measured (of {r['N']}: {r['note'].replace('the CLI gives no ', 'no ')})"
            if r.get("note")
            else f"not measured (of {r['N']})"
        )
    gap = f" ({r['median_gap']:+.3f})" if r.get("median_gap") is not None else ""
    return f"{r['n']}/{r['N']}{gap}"


def section_real_scans(folder: str) -> list[str]:
    """Every shipped 3D model on every real scan in reach, from experiments/real_scans.py's record."""
    path = os.path.join(folder, REAL_SCANS)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        rec = json.load(f)
    models, scans = rec["models"], rec["scans"]
    n_twins = sum(s["stands_for"].startswith("lesion-removed") and s["sequence"] == "FLAIR" for s in scans)
    L = [
        "## Real scans\n",
        "Every shipped 3D model on every real scan in reach (`../shared/data/`), run through `qumri classify` "
        "(the page's own preprocessing), with the scans under neutral file names so that the name tells neither "
        f"sequence nor diagnosis (`experiments/real_scans.py`, record `records/{REAL_SCANS}`). Each "
        "model sees the real scans of its sequence and, as *wrong sequence*, every scan of another sequence. The "
        "class is the bundle's own (its threshold, chosen on synthetic validation).\n",
        "**There is no real TSC scan and no real healthy FLAIR.** So TSC sensitivity on real scans is not measured "
        'at all, and specificity on real healthy FLAIR is not measured either: the only FLAIR "healthy" inputs are '
        f"{n_twins} *lesion-removed twins* — real MS scans whose FLAIR-hyperintense lesion candidates were inpainted "
        "from the surrounding white matter (`training/real_lesions.py`). A twin still carries everything else of an "
        "MS patient's scan (atrophy, lesions the candidate map missed: infratentorial and temporal ones are left in "
        "by design), so it is a stand-in, not a healthy control. The only real healthy scan is one T2w volunteer; "
        "every TSC model's positives on real scans are false positives.\n",
        "| Model | " + " | ".join(REAL_RATES.values()) + " |",
        "|---|" + "---|" * len(REAL_RATES),
    ]
    for m in models:
        by = {r["key"]: r for r in m["rates"]}
        L.append(
            f"| `{m['id']}` ({m['task'].upper()} {m['sequence']}) | "
            + " | ".join(ratio_text(by.get(k)) for k in REAL_RATES)
            + " |"
        )
    absent, empty = rec.get("cli_columns_absent", []), rec.get("cli_columns_empty", [])
    gaps = ([f"gave no {', '.join(f'`{c}`' for c in absent)} column"] if absent else []) + (
        [f"left {', '.join(f'`{c}`' for c in empty)} empty for every scan"] if empty else []
    )
    L += [
        "",
        "n/N; — = not asked of that model; *no scan* = no real scan of that kind exists. "
        + (
            f"When this ran, the CLI {' and '.join(gaps)}, so the rates that need them are not measured. "
            if gaps
            else ""
        )
        + "*MS above own twin*: in how many pairs of a real MS FLAIR and its own lesion-removed twin (the same scan "
        "without its hyperintense lesions) the patient gets the higher probability, with the median difference: a "
        "model that answers from lesions separates every pair, one that answers from the rest of the scan gives "
        "both the same probability. "
        + "Issue 18 asks, for every shipped MS FLAIR model, ≥ 80 % of real MS FLAIR called MS, ≥ 75 % of their twins "
        "called healthy, ≤ 20 % of real FLAIR withheld, every T1w/T2w given to a FLAIR model detected as not FLAIR, "
        "and the healthy T2w volunteer never called TSC. A model that fails any of these "
        "(`experiments/guard_bundles.py` REAL_CHECKS; TSC: at most 20 % of real scans without TSC called TSC) carries "
        "the failures on its model card, and the page and the CLI withhold its class on every input but the bundled "
        "demo phantoms.\n",
        "Probability of the positive class (the CLI's `probability`) and the class the CLI gave, per scan:\n",
        "| Scan | source | stands for | sequence | " + " | ".join(f"`{m['id']}`" for m in models) + " |",
        "|---|---|---|---|" + "---|" * len(models),
    ]
    seq_order, kind_order = ["FLAIR", "T2w", "T1w"], ["MS", "lesion-removed", "healthy", "other", "child"]
    order = sorted(
        range(len(scans)),
        key=lambda i: (
            seq_order.index(scans[i]["sequence"]) if scans[i]["sequence"] in seq_order else 9,
            next((k for k, w in enumerate(kind_order) if scans[i]["stands_for"].startswith(w)), 9),
            scans[i]["source"],
        ),
    )
    for i in order:
        s = scans[i]
        cells = []
        for m in models:
            p = m["predictions"][i]
            assert p["scan"] == s["name"], "predictions out of order with the scans"
            cells.append(
                f"{p['probability']:.3f} {p['class']}" if "probability" in p else f"error: {p.get('error', '?')}"
            )
        stem = s["source"].split("/")[-1].replace(".nii.gz", "")
        L.append(f"| {s['name']} | {stem} | {s['stands_for']} | {s['sequence']} | " + " | ".join(cells) + " |")
    L += [
        "",
        "Provenance (no scan, mask or voxel of these is in the repository; twins are rebuilt from the sources "
        "by the script):\n",
        "| Scan | source | who | grid, voxel (mm), storage | licence | use | derived |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in scans:
        L.append(
            f"| {s['name']} | `{s['source']}` | {s['who']} | {s['grid']}, {s['voxel_mm']}, {s['dtype']} | "
            f"{s['licence']} | {s['use']} | {s['derived'] or '—'} |"
        )
    return L + [""]


MIXED = "mixed-cohort"  # experiments.mixed_cohort runs: run records plus the real-scan record of the candidates


def section_mixed(folder: str) -> list[str]:
    """The retraining on a cohort whose source cannot predict the label: candidates, not shipped. One variant
    per pre-training (real-mix, real-mix60, …), each with its runs and their real-scan record."""
    folders = [os.path.join(folder, v) for v in variants(folder, MIXED)]
    if not folders:
        return []
    keys = [
        "ms_called_ms",
        "patient_above_twin",
        "twins_called_healthy",
        "other_called_healthy",
        "out_of_distribution",
        "withheld_same_sequence",
    ]
    L = [
        "## Retraining on a mixed cohort (issue 18): candidates, not shipped\n",
        "MS FLAIR models trained on a cohort in which no source predicts the label (`experiments/mixed_cohort.py`, "
        "commands in `experiments/README.md`): calibrated and randomised phantoms with every train/validation "
        "patient's lesion-free twin as a control, the one real MS FLAIR patient of `../shared/data/real/` with "
        "lesion-removed and lesion-inserted twins (train only), and the 8 validation-only JHU MS FLAIR with their "
        "lesion-removed twins (validation only). To replace a shipped model a candidate must meet issue 18's bar, "
        "stricter than the project-wide shipping rule (test AUC interval above 0.70): synthetic test AUC interval "
        "above 0.80 and the real-scan checks of issue 18; no candidate passes, so the shipped MS FLAIR models were "
        "kept.\n",
        "**The real-scan columns of these candidates are not an independent test**: the JHU scans and their twins are "
        "in the candidates' validation split (early stopping, threshold, calibration and the OOD threshold saw them), "
        "and ms_patient01 is in their training split. Only the shipped models' *Real scans* rows are out of sample.\n",
        "| Model (variant) | lesion-map pre-training | subjects (scans) | pre-training val loss | best val loss | synthetic test AUC "
        "(95 % CI) | paired twins | train | " + " | ".join(REAL_RATES[k] for k in keys) + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(keys),
    ]
    for d in folders:
        real = {}  # a variant whose candidates are not measured on the real scans yet shows "—" there
        if os.path.exists(path := os.path.join(d, "real-scans", "real-scans.json")):
            with open(path) as f:
                real = {m["id"]: {x["key"]: x for x in m["rates"]} for m in json.load(f)["models"]}
        for r in sorted(load_records(d), key=lambda r: r["id"]):
            c, rates, pre = r["cohort"], real.get(r["id"], {}), r["pretraining"]
            L.append(
                f"| `{r['id']}` ({os.path.basename(d)}) | {pre['epochs_run']} epochs{averaged(pre)} | "
                f"{c['n_subjects']} ({c['n_scans']}) | "
                f"{f3(pre['best_val_loss'])} | {f3(r['best_val_loss'])} | {ci(r['test']['auc'])} | "
                f"{pct(r['paired']['rate'])} | {r['wall_time_s']['train'] / 60:.1f} min | "
                + " | ".join(ratio_text(rates.get(k)) for k in keys)
                + " |"
            )
    readings = [variants(folder, MIXED)[os.path.basename(d)].get("reading") for d in folders]
    return L + ["", " ".join(r for r in readings if r) + "\n"]


LIKE_FOR_LIKE = "like-for-like"  # experiments.bundle_on_cohort records; not qumri-run/1 records


def section_like_for_like(folder: str) -> list[str]:
    """The shipped bundles on the mixed cohort's own splits, beside the candidate run they are compared with."""
    paths = sorted(glob.glob(os.path.join(folder, LIKE_FOR_LIKE, "*.json")))
    if not paths:
        return []
    recs = []
    for path in paths:
        with open(path) as f:
            recs.append(json.load(f))
    recs.sort(key=lambda r: (r["split"] != "val", r["bundle"]["id"]))
    auc = lambda e: ci(e["auc"]) if e["auc"] else "n/a"
    L = [
        "### Like for like: the shipped MS FLAIR models on the mixed cohort's splits\n",
        "The shipped MS FLAIR bundles were judged on the test split of their own 520-subject phantom cohort; the "
        "candidates above on the mixed cohort's, whose phantoms include randomised contrasts and patients with "
        "sub-voxel lesions beside their own lesion-free twins. To tell lost accuracy from a harder split, each shipped "
        "bundle classified the mixed cohort's validation and test scans from their raw files through `qumri classify` "
        "(its own preprocessing; `experiments/bundle_on_cohort.py`, records in `records/like-for-like/`), beside the "
        "named candidate run's predictions on the same scans. DeLong's test compares the two on the synthetic scans. "
        "The real scans of these splits are validation scans of the candidate (they chose its L2, threshold and "
        "calibration), never seen by the shipped bundle.\n",
        "| Split | Shipped bundle | AUC, all scans | AUC, synthetic | Candidate | its AUC, all | its AUC, synthetic "
        "| DeLong on synthetic (shipped − candidate) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    sources = sorted({s for r in recs for s in r["measured"]["by_source"]})
    per = [
        "",
        "Per source (shipped bundle / candidate; each source's patients with their own lesion-free twins):\n",
        "| Split | Shipped bundle | " + " | ".join(sources) + " |",
        "|---|---|" + "---|" * len(sources),
    ]
    for r in recs:
        n = r["measured"]["all"]["n"]
        for a in r["against"] or [None]:
            cand = os.path.basename(os.path.dirname(a["record"])) if a else "—"
            d = a["delong_synthetic"] if a else None
            L.append(
                f"| {r['split']} ({n} scans) | `{r['bundle']['id']}` | {auc(r['measured']['all'])} | "
                f"{auc(r['measured']['synthetic'])} | {cand} | "
                + (f"{auc(a['measured']['all'])} | {auc(a['measured']['synthetic'])} | " if a else "— | — | ")
                + (f"{d['diff']:+.3f}, p = {d['p']:.2g} |" if d else "— |")
            )
            cells = []
            for s in sources:
                mine = r["measured"]["by_source"].get(s)
                theirs = a["measured"]["by_source"].get(s) if a else None
                f = lambda e: f3(e["auc"]["value"]) if e and e["auc"] else "n/a"
                cells.append(f"{f(mine)} / {f(theirs)}")
            per.append(f"| {r['split']} | `{r['bundle']['id']}` | " + " | ".join(cells) + " |")
    return L + per + [""]


ADAPT_SITE = os.path.join("adapt-site", "adapt-site.json")  # experiments/adapt_site.py; not a qumri-run/1 record


def adapt_row(what: str, m: dict) -> str:
    n = m["before"]["n"]
    d = m["delong"]
    test = f"{d['diff']:+.3f}, p = {d['p']:.2g}" if "p" in d else d["error"]
    return (
        f"| {what} | {n['positive']} + {n['negative']} | {ci(m['before'])} | {ci(m['after'])} | {test} | "
        f"{ci(m['before']['acc'])} | {ci(m['after']['acc'])} |"
    )


def ceiling_text(ph: dict) -> str:
    """What any head could read from the frozen features of the site (records from before the ceiling: none)."""
    if "ceiling" not in ph:
        return ""
    c = ph["ceiling"]
    n = c["n"]["positive"] + c["n"]["negative"]
    return (
        f" **Ceiling**: a logistic regression fitted on the frozen backbone features of all {n} phantoms of the site "
        f"({c['folds']}-fold cross-validation, C chosen on those predictions, so optimistic) reaches "
        f"{ci(c)}, against {ci(ph['held']['before'])} for the shipped head on the held-back ones: head-only "
        "adaptation reads the same features, so it cannot go much beyond this."
    )


CEILING_GAP = 0.05  # a ceiling this far above the shipped head leaves a head something to gain


def ceiling_outcome(sites: dict) -> str:
    """Whether the head or the frozen features limit the AUC, site by site (sites measured with a ceiling)."""
    gaps = {n: ph["ceiling"]["value"] - ph["held"]["before"]["value"] for n, ph in sites.items() if "ceiling" in ph}
    if not gaps:
        return ""
    listed = ", ".join(f"*{n}* {g:+.3f}" for n, g in gaps.items())
    room = [n for n, g in gaps.items() if g >= CEILING_GAP]
    if not room:
        return (
            f"**Where the limit is**: the ceiling minus the shipped head's held-back AUC is {listed}. At every site "
            f"the shipped head already reads about as much as any head can (within {CEILING_GAP}): under these "
            "shifts the frozen backbone's features, not the head, limit the AUC, and no head-only adaptation can "
            "raise it by much. What adaptation can still mend is the threshold (accuracy columns)."
        )
    return (
        f"**Where the limit is**: the ceiling minus the shipped head's held-back AUC is {listed}; at "
        f"{', '.join(f'*{n}*' for n in room)} the features hold more than the shipped head reads."
    )


def section_adapt_site(folder: str) -> list[str]:
    """Issue 22: qumri adapt on a few scans of one site, measured on other scans of that site."""
    path = os.path.join(folder, ADAPT_SITE)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        rec = json.load(f)
    sites, real = rec["phantoms"], rec["real"]
    any_site = next(iter(sites.values()))
    L = [
        "## Site adaptation (issue 22): a few labelled scans of one site\n",
        f"`{rec['model']}` adapted by `qumri adapt` (head only, the backbone frozen; `experiments/adapt_site.py`, "
        f"record `records/{ADAPT_SITE}`). **Phantoms of an unusual protocol**, one site at a time: the synth "
        f"generator's calibrated subjects (new people, seed {any_site['generator_seed']}) all rendered with one fixed "
        "2D axial look that no training cohort had (below). The head was adapted on the site's first phantoms and "
        "the site's held-back phantoms were classified by the shipped and by the adapted model (`qumri classify "
        "--no-model-check`; the AUC uses the probability). **Real scans**: every real MS FLAIR in reach and its "
        "lesion-removed twin (a healthy stand-in, see *Real scans*), leave-one-patient-out: for each patient the head "
        "was adapted on every other patient's scans and that patient's two scans were classified by it; the AUC "
        "pools the held-out predictions of all folds. AUC with 95 % stratified bootstrap intervals (real scans: "
        "resampling patients), after − before with DeLong's test on the same scans, and accuracy: before at the "
        "shipped threshold, after at the threshold `qumri adapt` refitted (each real fold's own).\n",
        "| Held-back scans | n (positive + negative) | AUC before (95 % CI) | AUC after (95 % CI) | after − before, "
        "DeLong | accuracy before (95 % CI) | accuracy after (95 % CI) |",
        "|---|---|---|---|---|---|---|",
    ]
    L += [adapt_row(f"phantoms, site *{name}*, subjects not used to adapt", ph["held"]) for name, ph in sites.items()]
    if "skipped" in real:
        L.append(f"| real MS FLAIR + twins, leave-one-patient-out | not run: {real['skipped']} | | | | | |")
    else:
        L.append(adapt_row(f"real MS FLAIR + twins ({real['patients']} patients), leave-one-patient-out", real))
    L.append("")
    for name, ph in sites.items():
        card = ph["adapt"]["card"]
        cv = card["metrics"]
        n_adapt = " + ".join(f"{card['scans'][c]} {c}" for c in rec["classes"][::-1])
        L.append(
            f"- *{name}*: {ph['site']['text']}. On its {n_adapt} adaptation phantoms, `qumri adapt`'s "
            f"cross-validation ({card['cross_validation']}) kept {card['epochs']} of "
            f"{card['settings']['max_epochs']} fine-tuning steps; its cross-validated AUC {ci(cv['before']['auc'])} "
            f"before, {ci(cv['after']['auc'])} after." + ceiling_text(ph)
        )
    rows = [(f"site {name}", ph["held"]) for name, ph in sites.items()] + (
        [] if "skipped" in real else [("real", real)]
    )
    raised = [w for w, m in rows if m["delong"].get("p", 1.0) < 0.05 and m["delong"]["diff"] > 0]
    L += [
        "",
        ceiling_outcome(sites),
        "",
        (
            f"**Outcome**: adaptation raised the held-back AUC beyond chance variation (DeLong p < 0.05) in: "
            f"{', '.join(raised)}."
            if raised
            else "**Outcome**: in no row does adaptation change the held-back AUC by more than DeLong's test can tell from "
            "chance (every p ≥ 0.05), so these measurements do not show the gain issue 22 asks for."
        ),
        "",
        "Calibrated phantoms have 3–5 mm slices, a bias field of max |log| 0.05–0.3, SNR 12–60 and CSF ≈ 0.1–0.2 × "
        "WM. The cross-validated figures choose the steps and the threshold on the predictions they measure, so "
        "only the held-back rows above are a test (and on the real scans that cross-validation is leave-one-scan-out, "
        "so a patient's twin can sit across its folds; the outer leave-one-patient-out split keeps each held-out "
        "patient whole)."
        + (
            ""
            if "skipped" in real
            else f" In the real folds it kept {', '.join(str(v) for v in real['epochs_kept'].values())} steps."
        ),
        "",
        "**What these numbers are**: each phantom row is one simulated protocol, "
        f"{any_site['held']['before']['n']['positive']} + {any_site['held']['before']['n']['negative']} held-back "
        "phantoms, not a hospital; the real row is "
        + (
            "not measured."
            if "skipped" in real
            else f"{real['scans']} scans of {real['patients']} patients, whose negatives are lesion-removed twins of the "
            "positives (no real healthy FLAIR exists in reach), and each fold's head saw only "
            f"{2 * (real['patients'] - 1)} scans; its interval is correspondingly wide. The adapted bundles were never "
            "shipped or committed."
        )
        + "\n",
    ]
    return L


PROBE = "lesion-probe"  # experiments.lesion_probe and experiments.lesion_grid: where lesion evidence survives


def probe_run(r: dict) -> str:
    """The run a probed checkpoint belongs to (runs/<run>/…), which names its cohort and preprocessing."""
    parts = r["ckpt"].split("/")
    return parts[1] if parts[0] == "runs" and len(parts) > 2 else r["ckpt"]


def section_lesion_probe(folder: str) -> list[str]:
    """Diagnostics behind the real-scan failure: linear probes of the backbone, and the grid, without training."""
    d = os.path.join(folder, PROBE)
    grid = os.path.join(d, "grid.json")
    probes = []
    for p in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if p.startswith("ms-flair-") and p.endswith(".json"):
            with open(os.path.join(d, p)) as f:
                probes.append(json.load(f))
    if not (probes and os.path.exists(grid)):
        return []
    probes.sort(key=lambda r: (r["cohort"], r["ckpt_epochs"]))
    with open(grid) as f:
        gr = json.load(f)
    first = probes[0]
    L = [
        "## Where lesion evidence is lost (issue 18 diagnostics)\n",
        "Every MS FLAIR model gives a real MS scan and its own lesion-removed twin nearly the same probability "
        "(*Real scans*). Two measurements on the mixed cohort's validation and test subjects ask why, with nothing "
        "trained but a logistic regression (`experiments/lesion_probe.py`, `experiments/lesion_grid.py`; records "
        f"in `records/{PROBE}/`).\n",
        "**Linear probes** of the mixed cohort's lesion-map pre-trained backbone ("
        + ", ".join(f"`{r['ckpt']}` after {r['ckpt_epochs']} epochs" for r in probes)
        + "): per stage, channels pooled by mean or max and the stage's own lesion-map probe, fitted on the train "
        f"split ({', '.join(sorted({str(r['n']['train']) for r in probes}))} scans), C chosen on the synthetic validation scans; real pairs are the "
        f"{first['real_val_scans']} real validation scans (JHU MS FLAIR and their twins), never fitted. Per "
        "pre-training: synthetic test AUC / real validation AUC / real pairs with the patient above its twin.\n",
        "| Features | dim | " + " | ".join(f"{probe_run(r)}, {r['ckpt_epochs']} epochs" for r in probes) + " |",
        "|---|---|" + "---|" * len(probes),
    ]
    by = [{r["features"]: r for r in p["results"]} for p in probes]
    for name, r0 in by[0].items():
        cells = [
            f"{f3(b[name]['synthetic_test_auc'])} / {f3(b[name]['real_val_auc'])} / "
            f"{b[name]['real_pairs_patient_above_twin']}"
            if name in b
            else "—"
            for b in by
        ]
        L.append(f"| {name} | {r0['dim']} | " + " | ".join(cells) + " |")
    L += [
        "",
        f"**The grid.** The same {gr['n']['synthetic_test']} synthetic test and {gr['n']['real_val']} real "
        "validation scans prepared by `qumri preprocess` on each grid, scored by the bright tail alone (fraction of "
        "brain voxels k robust SDs above the brain median; univariate AUC, no fitting):\n",
        "| Grid | k | synthetic test AUC | real val AUC | real pairs, patient above twin |",
        "|---|---|---|---|---|",
    ]
    for r in gr["results"]:
        L.append(
            f"| {r['grid']}³ | {r['k']} | {f3(r['synthetic_test_auc'])} | {f3(r['real_val_auc'])} | "
            f"{r['real_pairs_patient_above_twin']} |"
        )
    return (
        L
        + section_normalisation(d)
        + [
            "",
            "Reading: after 20 epochs of lesion-map pre-training the classifier's own input (the last stage's mean) "
            "is at chance on the real pairs and weak on synthetic test subjects; after 60 epochs on the same cohort "
            "every stage carries more (stage 2 most), and the real pairs move towards the patient. Real validation "
            "AUC stays below 0.7 for every feature set: within a patient the lesion difference survives "
            "preprocessing (stage 1's max-pooled channels and the hand-made bright tail rank 7 of 8 patients above "
            "their twins), but it is smaller than the differences between patients. The finer grids do not change "
            "the hand-made score (at k ≥ 4 its threshold lies above the percentile normalisation's clip at 1 on "
            "nearly every scan, so the score is 0 and ties), so the grid is not the first thing to change: the "
            "backbone has to learn lesions (longer lesion-map pre-training on more subjects) before a head can use "
            "them.\n",
        ]
    )


def describe_normalize(n: dict) -> str:
    if n["method"] == "percentile":
        return f"percentile p{n['low']:g}–p{n['high']:g} → 0–1"
    return f"reference: p{n['low']:g} → 0, p{n['reference']:g} → {n['value']:g}"


def section_normalisation(d: str) -> list[str]:
    """The bright-tail score on one cohort under each normalisation rule (records grid-<cohort>-<rule>.json)."""
    recs = []
    for p in sorted(os.listdir(d)):
        if p.startswith("grid-") and p.endswith(".json"):
            with open(os.path.join(d, p)) as f:
                recs.append(json.load(f))
    if not recs:
        return []
    cohorts = sorted({r["cohort"] for r in recs})
    L = [
        "",
        "**The normalisation.** The same score on "
        + ", ".join(f"`{c}`" for c in cohorts)
        + f" ({recs[0]['n']['synthetic_test']} synthetic test and {recs[0]['n']['real_val']} real validation scans), "
        "prepared with each intensity rule (docs/preprocess-spec.md) and, under `reference`, on finer grids "
        "(both cohorts hold the same subjects and splits):\n",
        "| Normalisation | Grid | k | synthetic test AUC | real val AUC | real pairs, patient above twin |",
        "|---|---|---|---|---|---|",
    ]
    seen = set()  # a later record's same-rule 64³ baseline repeats an earlier record's rows
    for r in recs:
        for x in r["results"]:
            key = (describe_normalize(r["normalize"]), x["grid"], x["k"])
            if key in seen:
                continue
            seen.add(key)
            L.append(
                f"| {describe_normalize(r['normalize'])} | {x['grid']}³ | {x['k']} | {f3(x['synthetic_test_auc'])} | "
                f"{f3(x['real_val_auc'])} | {x['real_pairs_patient_above_twin']} |"
            )
    return L + [
        "",
        "A lesion load of about 0.5 % of the brain sits at the 99.5th percentile, so `percentile` clips the lesions "
        "flat together with the brightest normal tissue, and removing them lowers that percentile and brightens "
        "the whole lesion-removed twin; the median does not move with a few percent of bright voxels. Under "
        "`reference`, 96³ and 128³ raise the best synthetic test AUC (k = 3) by 0.01–0.02 over 64³ and move the "
        "real pairs by at most one: the grid is not what keeps the learned models below 0.80.",
    ]


def section_protocol(recs: list[dict], folder: str = "") -> list[str]:
    """What was actually run, against paper A's protocol, from the records (and every pre-trained variant,
    whether or not it was selected)."""
    pre = [r for runs in load_group(folder, "paper-a").values() for r in runs.values()] if folder else []
    a = sorted((r for r in recs if r["family"] == "paper_a"), key=model_order)
    L = ["## Protocol as run\n"]
    seen = set()
    for r in a:
        if (r["task"], r["sequence"]) in seen:
            continue
        seen.add((r["task"], r["sequence"]))
        c, sp = r["cohort"], r["splits"]
        grid = "×".join(str(v) for v in r["input_shape"][2:])
        L.append(
            f"- {TASKS[r['task']]} {r['sequence']}: {len(sp['train']) + len(sp['val']) + len(sp['test'])} synthetic "
            f"subjects ({c['n_patients']} patients; paper A: 520, 260 TSC) from {c['generator']} seed {c['seed']}, "
            f"split 65/15/20 by subject ({len(sp['train'])}/{len(sp['val'])}/{len(sp['test'])}); grid {grid} "
            f"(paper A: 128³); ResNet-34 topology at width {r['model_args']['width']}."
            + (f" {c['stopped_early'].capitalize()}." if c.get("stopped_early") else "")
        )
    small = any(r["cohort"]["n_subjects"] < 520 for r in a)
    L += [
        (
            "- Why smaller: the 2-core machine was shared with other jobs; generating and preprocessing a "
            "subject cost 10–20 s of wall time, so cohort size and grid were cut to finish inside the session. "
            if small
            else "- Why 64³: ResNet-34 at 128³ trains ≈ 8× slower; six models at 128³ would not fit the "
            "2-core CPU budget of a session, and the width-8 64³ ONNX (≈ 4 MB) keeps the page fast. "
        )
        + "The hybrid head is paper A's Qiskit pattern (fc → 2 features → ZZFeatureMap(2, reps 2) + "
        "RealAmplitudes(2, reps 3) → ⟨Z⊗Z⟩ = x → logits [x, 1 − x]), simulated exactly (statevector); "
        "variants of the ablation section change its qubit count, its readout or its feature-map input, and the "
        "column *head* gives each shipped hybrid's.",
        *pretraining_lines(a + pre),
        "- Training: Adam, batch 8, cross-entropy, the epoch with the lowest validation loss kept (early stopping "
        "where patience < max epochs); "
        + (
            "each model's configuration was chosen on validation loss among the rounds listed at the end of this page.\n"
            if small
            else "no L2 and augmentation for every model, fixed before training (the settings that won on "
            "validation loss in most small-cohort rounds listed at the end of this page); "
            + (
                f"lr {a[0]['config']['lr']:g} for every model.\n"
                if len({r["config"]["lr"] for r in a}) == 1
                else "the backbone start, peak lr, epochs and head variant chosen per model on validation loss among "
                "the variants of the ablation section (each run for every model, the feature-map input variants "
                "for the hybrids only).\n"
            )
        ),
        "| Model | head | backbone start | lr | lr schedule | L2 | augmentation | max epochs | patience | epochs run | "
        "best val loss |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in a:
        c = r["config"]
        L.append(
            f"| {TASKS[r['task']]} {r['sequence']} {label(r)} | {head_text(r)} | {start(r)} | {c['lr']:g} | "
            f"{schedule_text(c)} | {c['l2']:g} | {'on' if c['augment'] else 'off'} | {c['epochs']} | "
            f"{c['patience']} | {r['epochs_run']} | {f3(r['best_val_loss'])} |"
        )
    L.append("")
    return L


def head_text(r: dict) -> str:
    """A run's head after the pooled features (training.heads.paper_a_head / classical_head)."""
    c = r["config"]
    if r["head"] == "quantum":
        n = c.get("n_qubits", 2)
        angles = f"fc → {'π·sigmoid → ' if c.get('fm_input', 'none') == 'sigmoid_pi' else ''}{n} angles → circuit"
        return (
            f"{angles} → ⟨{'⊗'.join('Z' * n)}⟩ = x → [x, 1 − x]"
            if c.get("readout", "parity") == "parity"
            else f"{angles} → each qubit's ⟨{c['readout'].upper()}⟩ → dense → 2"
        )
    hidden = [h for h in c.get("hidden", "").split(",") if h]
    return "fc → 2" if not hidden else "fc → " + " → ".join(f"{h} ReLU" for h in hidden) + " → dense → 2"


def schedule_text(c: dict) -> str:
    """A run's lr schedule as configured (training.train.epoch_lr, param_groups)."""
    text = c.get("schedule", "constant")
    if c.get("head_warmup"):
        text += f" after {c['head_warmup']} head-only epochs"
    if c.get("backbone_lr_scale", 1.0) != 1.0:
        text += f", backbone at {c['backbone_lr_scale']:g}× lr"
    return text


def pretraining_lines(a: list[dict]) -> list[str]:
    """How the 3D backbones were initialised, from the records (lesion-map pre-training or none)."""
    pre = [r for r in a if r.get("pretraining")]
    if not pre:
        return [
            "- Backbone initialisation: random (from scratch); paper A fine-tuned MedicalNet weights, which "
            "cannot be had offline."
        ]
    c = pre[0]["pretraining"]["config"]
    L = [
        "- Backbone initialisation (paper A: MedicalNet, 3D ResNets pre-trained on segmentation, not available "
        "offline): random (from scratch), or *lesion-map pre-training* (`training/pretrain.py`), once per cohort "
        "and schedule, shared by both heads; where several were run, the model below is the one with the lowest "
        "validation loss (all are compared in the ablation section). "
        "The same ResNet-34 learns to map the lesions of the **training** subjects from their synthetic masks "
        "(validation subjects choose the best epoch; test subjects never read): every stage predicts, at its own "
        "resolution, which blocks hold a lesion voxel (BCE + soft Dice, deep supervision so that the pooled last "
        f"stage learns \"a lesion is in this region\"); Adam from lr {c['lr']:g}, batch {c['batch_size']}, the same "
        "augmentation applied to scan and mask, at a constant rate or with cosine decay (table). The "
        "classifier then trains end to end from that backbone. This uses lesion masks that real cohorts rarely "
        "have, so it is a stand-in for MedicalNet, not a replication of it.",
        "",
        "| Cohort | lr schedule | pre-training epochs | best val loss | val Dice per stage (1–4, block maps) | "
        "wall time |",
        "|---|---|---|---|---|---|",
    ]
    seen = set()
    for r in pre:
        p = r["pretraining"]
        key = (r["task"], r["sequence"], p["config"].get("schedule", "constant"))
        if key in seen:
            continue
        seen.add(key)
        L.append(
            f"| {TASKS[r['task']]} {r['sequence']} | {key[2]} | {p['epochs_run']} | {f3(p['best_val_loss'])} | "
            f"{' / '.join(f3(d) for d in p['best_epoch_val_dice_per_stage'])} | {p['wall_time_s'] / 60:.1f} min |"
        )
    return L + [""]


def section_ablation(folder: str) -> list[str]:
    """Each model under every variant of the paper A group (records/<variant>/); the tables above show, per model,
    the shipped run, its lowest-validation-loss variant (experiments/tests/test_report.py)."""
    described = variants(folder, "paper-a")
    runs_of = {v: runs for v, runs in load_group(folder, "paper-a").items() if runs}
    if len(runs_of) < 2:
        return []
    names = list(runs_of)
    ids = sorted(
        {i for runs in runs_of.values() for i in runs},
        key=lambda i: model_order(next(runs[i] for runs in runs_of.values() if i in runs)),
    )
    L = [
        "## Ablation: backbone start, learning rate and head\n",
        "The same backbone, cohort, splits, L2 and augmentation; the variants differ in the backbone's starting "
        "weights, the learning-rate schedule and its peak, and in the head (output layer, qubit count, feature-map "
        "input):\n",
        *[f"- `{v}` (`records/{v}/`): {described[v]['description']}" for v in names],
        "",
        "The tables above use, per model, the variant with the lowest validation loss (**bold**; chosen on "
        "validation only; test shown for transparency). The lowest of several validation losses is an optimistic "
        "estimate of that run's loss; the test split, never used to choose, is what the tables report. "
        "– = not run for that model.\n",
    ]
    cols = [(i, next(runs[i] for runs in runs_of.values() if i in runs)) for i in ids]
    used = shipped(folder)
    head = "| Variant | " + " | ".join(f"{TASKS[r['task']]} {r['sequence']} {label(r)}" for _, r in cols) + " |"
    rule = "|---|" + "---|" * len(cols)

    def cell(v: str, i: str, text) -> str:
        r = runs_of[v].get(i)
        if not r:
            return "–"
        return f"**{text(r)}**" if used.get(i) == v else text(r)

    L += ["Validation loss → test AUC (95 % CI):\n", head, rule]
    L += [
        f"| `{v}` | "
        + " | ".join(cell(v, i, lambda r: f"{f3(r['best_val_loss'])} → {ci(r['test']['auc'])}") for i, _ in cols)
        + " |"
        for v in names
    ]
    base = runs_of.get("from-scratch", {})

    def vs_scratch(r: dict) -> str:
        b = base.get(r["id"])
        p = f"p {f3(pair_delong(r, b)['p'])}" if b and b is not r else "–"
        return f"{p} · {pct(r['paired']['rate'])}"

    L += [
        "",
        "DeLong p of each variant's test AUC against the from-scratch run of the same model (same test "
        "subjects) · paired = test patient scored above its lesion-free twin:\n",
        head,
        rule,
    ]
    L += [f"| `{v}` | " + " | ".join(cell(v, i, vs_scratch) for i, _ in cols) + " |" for v in names]
    same = []
    for v in names:
        by_id = runs_of[v]
        for q in by_id.values():
            c = by_id.get(q["id"].replace("qresnet34", "resnet34")) if q["head"] == "quantum" else None
            if c:
                same.append((q, c, v))
    if same:
        L += [
            "",
            "Hybrid vs classical with the same backbone start (DeLong on the same test subjects):\n",
            "| Task | Sequence | variant | ResNet-34 AUC | QResNet-34 AUC | DeLong p |",
            "|---|---|---|---|---|---|",
        ]
        for q, c, v in sorted(same, key=lambda t: (model_order(t[0]), names.index(t[2]))):
            L.append(
                f"| {TASKS[q['task']]} | {q['sequence']} | {v} | {ci(c['test']['auc'])} | {ci(q['test']['auc'])} | "
                f"{f3(pair_delong(q, c)['p'])} |"
            )
        L.append("")
    return L + [""]


def section_not_selected(folder: str) -> list[str]:
    """Runs not used for the tables above, shown for transparency: the small-cohorts group (the first session's
    runs on 120–153-subject cohorts, with their own round1/ and superseded/)."""
    rows = []
    for v in variants(folder, "small-cohorts"):
        for sub, status in (("", "selected then"), ("round1", "round 1"), ("superseded", "not selected then")):
            d = os.path.join(folder, v, sub)
            rows += [(r, status) for r in (load_records(d) if os.path.isdir(d) else [])]
    if not rows:
        return []
    return [
        "## Earlier runs on smaller cohorts (replaced)\n",
        "The first session's runs, on 120–153-subject 3D cohorts and 129-subject slice sets prepared with "
        "an earlier preprocessing (`records/small-cohorts/README.md`). Replaced by the runs "
        "above; test AUCs shown for transparency.\n",
    ] + run_table([r for r, _ in rows], [st for _, st in rows])


def run_table(recs: list[dict], statuses: list[str]) -> list[str]:
    L = [
        "| Run | subjects | lr | L2 | augmentation | epochs run | best val loss | test AUC | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r, st in zip(recs, statuses):
        c = r["config"]
        L.append(
            f"| `{r['id']}` | {r['cohort']['n_subjects']} | {c['lr']:g} | {c['l2']:g} | "
            f"{'on' if c['augment'] else 'off'} | {r['epochs_run']} | {f3(r['best_val_loss'])} | "
            f"{f3(r['test']['auc']['value'])} | {st} |"
        )
    L.append("")
    return L


def render(recs: list[dict], img_dir: str, rel_img: str, folder: str = "") -> str:
    L = [
        "# Results on synthetic cohorts\n",
        "> **These are synthetic-cohort numbers.** Every model here was trained and tested on phantoms from "
        "`synth/` (qumri-synth: TSC- or MS-like lesions with known masks on Colin27-based anatomy), not on "
        "patients. Neither paper's data is available, so the papers' numbers are shown beside ours only as the "
        "reference protocol — they are not comparable measurements. Nothing here is evidence of clinical "
        "performance; QuMRI is not a medical device.\n",
        "Regenerate this page and its figures from the committed run records (no data, no checkpoints):\n",
        "```\n/usr/bin/python3 -m experiments.report\n```\n",
        "How the records were made: `experiments/README.md`. Where each split is used: train = gradient "
        "steps; validation = early stopping, best epoch and the decision threshold; test = the numbers "
        "below only (`experiments/paper_a.py` docstring lists the code locations).\n",
    ]
    L += section_summary(recs)
    L += section_real_scans(folder) if folder else []
    L += section_mixed(folder) if folder else []
    L += section_like_for_like(folder) if folder else []
    L += section_lesion_probe(folder) if folder else []
    L += section_adapt_site(folder) if folder else []
    L += section_protocol(recs, folder)
    L += section_paper_a(recs, img_dir, rel_img)
    L += section_paper_b(recs, img_dir, rel_img)
    L += section_paper_b_520(folder, img_dir, rel_img) if folder else []
    L += section_shipped(recs)
    L += section_calibration(recs, img_dir, rel_img)
    L += section_runs(recs)
    L += section_ablation(folder) if folder else []
    L += section_not_selected(folder) if folder else []
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", default=RECORDS)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results.md"))
    a = ap.parse_args(argv)
    recs = shown_records(a.records)
    for r in recs:
        r["model_label"] = label(r)
    img_dir = os.path.join(os.path.dirname(os.path.abspath(a.out)), "img")
    os.makedirs(img_dir, exist_ok=True)
    text = render(recs, img_dir, "img", a.records)
    with open(a.out, "w") as f:
        f.write(text)
    print(f"wrote {a.out} from {len(recs)} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
