/**
 * The adapted model as a complete bundle (docs/model-bundle.md): the source's backbone.onnx byte for
 * byte, the fine-tuned head.json, and a manifest whose card (`adapted`) says from which bundle, on how
 * many scans of each class, when, and the cross-validated numbers before and after. Pure: the CLI
 * writes the files to a folder, the page can keep them where it likes.
 */
import { sha256Hex } from '../bundle/hash.ts';
import { validateManifest, type Adaptation, type Manifest } from '../bundle/manifest.ts';
import { formatHead } from '../head/spec.ts';
import type { AdaptResult } from './adapt.ts';
import type { ScoreSummary } from './metrics.ts';

export interface AdaptSource {
  manifest: Manifest;
  /** manifest.json's bytes as read, for the card's sha256. */
  manifestBytes: Uint8Array;
  backbone: Uint8Array;
}

export interface AdaptedBundle {
  manifest: Manifest;
  /** File name → bytes: manifest.json, head.json, backbone.onnx. */
  files: Map<string, Uint8Array>;
}

const metrics = (s: ScoreSummary, threshold: number) => ({ auc: s.auc, acc: s.acc, threshold });

export async function adaptedBundle(
  source: AdaptSource,
  result: AdaptResult,
  meta: { id: string; date: string },
): Promise<AdaptedBundle> {
  const src = source.manifest;
  const head = new TextEncoder().encode(formatHead(result.head));
  const n = Object.values(result.perClass).reduce((a, b) => a + b, 0);
  const counts = src.classes.map((c) => `${result.perClass[c]} ${c}`).join(', ');
  const card: Adaptation = {
    from: { id: src.id, name: src.name, manifest_sha256: await sha256Hex(source.manifestBytes) },
    date: meta.date,
    scans: result.perClass,
    cross_validation: result.folds,
    epochs: result.epochs,
    settings: {
      max_epochs: result.options.epochs,
      lr: result.options.lr,
      l2: result.options.l2,
      seed: result.options.seed,
    },
    held_out_loss: result.heldOutLoss,
    metrics: { before: metrics(result.before, src.threshold), after: metrics(result.after, result.threshold) },
    ...(result.calibrationProblem ? { calibration_problem: result.calibrationProblem } : {}),
    scans_left_machine: false,
  };
  // The source's reference.json holds the shipped head's outputs and no longer applies. Its OOD model
  // concerns the frozen backbone and stays; its real-scan results stay too, marked as the source's,
  // since the adapted head has not been measured on those scans (caveats.ts).
  const { reference: _reference, calibration: _calibration, ...kept } = src;
  const manifest: Manifest = {
    ...kept,
    id: meta.id,
    name: `${src.name}, adapted here`,
    threshold: result.threshold,
    ...(result.calibration ? { calibration: result.calibration } : {}),
    files: {
      'backbone.onnx': src.files['backbone.onnx'],
      'head.json': { sha256: await sha256Hex(head), bytes: head.byteLength },
    },
    metrics: {
      split: `local scans, cross-validated (${result.folds})`,
      n,
      auc: result.after.auc,
      acc: result.after.acc,
    },
    ...(src.real_scans
      ? { real_scans: { ...src.real_scans, measured_on: `the source model ${src.id}: ${src.real_scans.measured_on}` } }
      : {}),
    limitations: [
      ...src.limitations,
      `Head fine-tuned on ${n} local scans (${counts}); its metrics are cross-validated on those scans, with the stopping epoch and threshold chosen on them, not measured on other scans`,
    ],
    adapted: card,
  };
  validateManifest(JSON.parse(JSON.stringify(manifest)));
  return {
    manifest,
    files: new Map([
      ['manifest.json', new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`)],
      ['head.json', head],
      ['backbone.onnx', source.backbone],
    ]),
  };
}
