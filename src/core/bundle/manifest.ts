import type { Calibration } from '../guard/calibration.ts';
import type { OodModel } from '../guard/ood.ts';

/**
 * Pure parsing and validation of a bundle's manifest.json (docs/model-bundle.md, `qumri-bundle/1`):
 * every field the page and the CLI rely on is checked, and a bad one is named in the error.
 */

export interface FileEntry {
  sha256: string;
  bytes: number;
}

export interface MetricValue {
  value: number;
  ci95?: [number, number];
}

export interface Manifest {
  format: 'qumri-bundle/1';
  id: string;
  name: string;
  task: string;
  classes: [string, string];
  sequence: string;
  dims: 2 | 3;
  architecture: { backbone: string; width?: number; head: string; paper?: string };
  input: { name: string; shape: number[] };
  outputs: { features: string; feature_map?: string; cam?: CamOutputs };
  /** The preprocessing spec (docs/preprocess-spec.md), passed through unparsed to src/core/preprocess. */
  preprocess: Record<string, unknown> & { grid: [number, number, number] };
  threshold: number;
  files: Record<string, FileEntry>;
  metrics: { split?: string; n?: number } & Record<string, MetricValue | string | number | undefined>;
  training_data: { synthetic: boolean; description?: string } & Record<string, unknown>;
  intended_use: string;
  limitations: string[];
  reference?: { file: string };
  /** Platt scaling of P(positive), fitted on validation (src/core/guard/calibration.ts). */
  calibration?: Calibration;
  /** In-distribution check on the pooled features (src/core/guard/ood.ts). */
  ood?: OodModel;
  /** How the model did on the project's real scans (experiments/real_scans.py), for the model card. */
  real_scans?: RealScanResults;
  /** Present when the head was fine-tuned on a site's own scans (src/core/adapt, `qumri adapt`). */
  adapted?: Adaptation;
}

/** The model card of a site-adapted bundle: from which bundle, on what, when, and what it changed. */
export interface Adaptation {
  from: { id: string; name: string; manifest_sha256: string };
  /** ISO 8601. */
  date: string;
  /** Scans per class the head was fine-tuned on. */
  scans: Record<string, number>;
  cross_validation: string;
  /** Fine-tuning steps kept (0: the shipped head's parameters, only threshold and calibration refitted). */
  epochs: number;
  settings: { max_epochs: number; lr: number; l2: number; seed: number };
  /** Mean cross-validated cross-entropy, shipped head and adapted head. */
  held_out_loss: { before: number; after: number };
  /** Cross-validated on the site's scans: the shipped head at its threshold, the adapted one at the refitted threshold. */
  metrics: { before: AdaptationMetrics; after: AdaptationMetrics };
  /** Why the adapted bundle has no calibration, when Platt scaling could not be fitted. */
  calibration_problem?: string;
  /** Always false: adaptation runs where the scans are. */
  scans_left_machine: false;
}

export interface AdaptationMetrics {
  auc: MetricValue;
  acc: MetricValue;
  threshold: number;
}

export interface RealScanResults {
  /** Which scans, from where, and when measured. */
  measured_on: string;
  results: { what: string; n: number; of: number }[];
  /**
   * The real-scan checks of issue 18 this model fails, in words (experiments/guard_bundles.py REAL_CHECKS).
   * Non-empty: its class is withheld on every input but the bundled demo phantoms.
   */
  fails?: string[];
  /** What these scans cannot tell (no real TSC scan, no real healthy FLAIR). */
  unmeasured: string;
}

/**
 * Grad-CAM at an inner backbone stage, computed by the graph (training/explain.py): fed the head's
 * ∂score/∂features as `gradient` [N, F], it returns that stage's map [N, C, d, h, w] and, per channel,
 * Σ over the map's cells of ∂score/∂map [N, C]. A run that only classifies feeds zeros.
 */
export interface CamOutputs {
  gradient: string;
  feature_map: string;
  weights: string;
  /** F, the length of the gradient (and of features). */
  n_features: number;
  /** 1-based backbone stage the map comes from. */
  stage: number;
}

export class BundleError extends Error {
  override name = 'BundleError';
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function need<T>(ok: boolean, value: T, where: string, what: string): T {
  if (!ok) throw new BundleError(`manifest ${where}: expected ${what}, got ${JSON.stringify(value) ?? String(value)}`);
  return value;
}

function str(o: Json, key: string, where: string): string {
  const v = o[key];
  return need(typeof v === 'string' && v.length > 0, v, `${where}.${key}`, 'a non-empty string') as string;
}

function posInts(v: unknown, where: string, len?: number): number[] {
  const ok =
    Array.isArray(v) && (len === undefined || v.length === len) && v.every((d) => Number.isInteger(d) && d > 0);
  return need(ok, v, where, len ? `${len} positive integers` : 'positive integers') as number[];
}

/** Parses manifest JSON text; throws BundleError naming the first bad field. */
export function parseManifest(text: string, source = 'manifest.json'): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BundleError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  return validateManifest(raw);
}

/** Checks an already-parsed manifest object. */
export function validateManifest(raw: unknown): Manifest {
  const m = need(isObject(raw), raw, '(root)', 'an object') as Json;
  need(m.format === 'qumri-bundle/1', m.format, 'format', '"qumri-bundle/1"');
  const id = str(m, 'id', '');
  need(/^[A-Za-z0-9._-]+$/.test(id), id, 'id', 'letters, digits, ".", "_" or "-"');
  str(m, 'name', '');
  str(m, 'task', '');
  str(m, 'sequence', '');
  const classes = m.classes;
  need(
    Array.isArray(classes) && classes.length === 2 && classes.every((c) => typeof c === 'string'),
    classes,
    'classes',
    'two class names',
  );
  need(m.dims === 2 || m.dims === 3, m.dims, 'dims', '2 or 3');
  const arch = need(isObject(m.architecture), m.architecture, 'architecture', 'an object') as Json;
  str(arch, 'backbone', 'architecture');
  str(arch, 'head', 'architecture');
  const input = need(isObject(m.input), m.input, 'input', 'an object') as Json;
  str(input, 'name', 'input');
  posInts(input.shape, 'input.shape', (m.dims as number) + 2);
  const outputs = need(isObject(m.outputs), m.outputs, 'outputs', 'an object') as Json;
  str(outputs, 'features', 'outputs');
  if (outputs.cam !== undefined) {
    const cam = need(isObject(outputs.cam), outputs.cam, 'outputs.cam', 'an object') as Json;
    for (const k of ['gradient', 'feature_map', 'weights']) str(cam, k, 'outputs.cam');
    for (const k of ['n_features', 'stage'])
      need(Number.isInteger(cam[k]) && (cam[k] as number) > 0, cam[k], `outputs.cam.${k}`, 'a positive integer');
  }
  const pre = need(isObject(m.preprocess), m.preprocess, 'preprocess', 'an object') as Json;
  posInts(pre.grid, 'preprocess.grid', 3);
  const t = m.threshold;
  need(typeof t === 'number' && t >= 0 && t <= 1, t, 'threshold', 'a number in [0, 1]');
  const files = need(
    isObject(m.files) && Object.keys(m.files).length > 0,
    m.files,
    'files',
    'a non-empty object',
  ) as Json;
  for (const [name, entry] of Object.entries(files)) {
    const e = need(isObject(entry), entry, `files["${name}"]`, 'an object') as Json;
    need(
      typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256),
      e.sha256,
      `files["${name}"].sha256`,
      '64 lowercase hex digits',
    );
    need(Number.isInteger(e.bytes) && (e.bytes as number) >= 0, e.bytes, `files["${name}"].bytes`, 'a byte count');
    need(!name.includes('..') && !name.startsWith('/'), name, 'files', 'a file name inside the bundle');
  }
  for (const f of ['backbone.onnx', 'head.json']) need(f in files, Object.keys(files), 'files', `an entry for ${f}`);
  need(isObject(m.metrics), m.metrics, 'metrics', 'an object');
  const td = need(isObject(m.training_data), m.training_data, 'training_data', 'an object') as Json;
  need(typeof td.synthetic === 'boolean', td.synthetic, 'training_data.synthetic', 'true or false');
  str(m, 'intended_use', '');
  need(
    Array.isArray(m.limitations) && m.limitations.every((l) => typeof l === 'string'),
    m.limitations,
    'limitations',
    'a list of strings',
  );
  if (m.reference !== undefined) {
    const ref = need(isObject(m.reference), m.reference, 'reference', 'an object') as Json;
    need(typeof ref.file === 'string' && ref.file in files, ref.file, 'reference.file', 'a file listed in files');
  }
  if (m.calibration !== undefined) {
    const c = need(isObject(m.calibration), m.calibration, 'calibration', 'an object') as Json;
    need(c.method === 'platt', c.method, 'calibration.method', '"platt"');
    need(typeof c.a === 'number' && c.a > 0, c.a, 'calibration.a', 'a positive number (a monotone map)');
    for (const k of ['b', 'ece_before', 'ece_after']) need(Number.isFinite(c[k]), c[k], `calibration.${k}`, 'a number');
    str(c, 'fitted_on', 'calibration');
  }
  if (m.ood !== undefined) {
    const o = need(isObject(m.ood), m.ood, 'ood', 'an object') as Json;
    need(o.method === 'mahalanobis', o.method, 'ood.method', '"mahalanobis"');
    const mean = o.mean;
    need(Array.isArray(mean) && mean.length > 0 && mean.every(Number.isFinite), mean, 'ood.mean', 'a list of numbers');
    const f = (mean as number[]).length;
    const w = o.whitening;
    need(
      Array.isArray(w) &&
        w.length > 0 &&
        w.every((r) => Array.isArray(r) && r.length === f && r.every(Number.isFinite)),
      '…',
      'ood.whitening',
      `rows of ${f} numbers`,
    );
    need(typeof o.threshold === 'number' && o.threshold > 0, o.threshold, 'ood.threshold', 'a positive number');
    need(typeof o.validation_pass_rate === 'number', o.validation_pass_rate, 'ood.validation_pass_rate', 'a number');
    str(o, 'fitted_on', 'ood');
  }
  if (m.real_scans !== undefined) {
    const r = need(isObject(m.real_scans), m.real_scans, 'real_scans', 'an object') as Json;
    str(r, 'measured_on', 'real_scans');
    str(r, 'unmeasured', 'real_scans');
    const ok =
      Array.isArray(r.results) &&
      r.results.every(
        (x) => isObject(x) && typeof x.what === 'string' && Number.isInteger(x.n) && Number.isInteger(x.of),
      );
    need(ok, r.results, 'real_scans.results', 'a list of { what, n, of }');
    if (r.fails !== undefined) {
      need(
        Array.isArray(r.fails) && r.fails.every((f) => typeof f === 'string'),
        r.fails,
        'real_scans.fails',
        'a list of strings',
      );
    }
  }
  if (m.adapted !== undefined) validateAdaptation(m.adapted, m.classes as string[]);
  return m as unknown as Manifest;
}

function validateAdaptation(raw: unknown, classes: string[]): void {
  const a = need(isObject(raw), raw, 'adapted', 'an object') as Json;
  const from = need(isObject(a.from), a.from, 'adapted.from', 'an object') as Json;
  str(from, 'id', 'adapted.from');
  str(from, 'name', 'adapted.from');
  need(
    typeof from.manifest_sha256 === 'string' && /^[0-9a-f]{64}$/.test(from.manifest_sha256),
    from.manifest_sha256,
    'adapted.from.manifest_sha256',
    '64 lowercase hex digits',
  );
  need(typeof a.date === 'string' && !Number.isNaN(Date.parse(a.date)), a.date, 'adapted.date', 'an ISO 8601 date');
  const scans = need(isObject(a.scans), a.scans, 'adapted.scans', 'scans per class') as Json;
  for (const c of classes)
    need(
      Number.isInteger(scans[c]) && (scans[c] as number) > 0,
      scans[c],
      `adapted.scans.${c}`,
      'a positive scan count',
    );
  str(a, 'cross_validation', 'adapted');
  need(Number.isInteger(a.epochs) && (a.epochs as number) >= 0, a.epochs, 'adapted.epochs', 'a step count');
  const metrics = need(isObject(a.metrics), a.metrics, 'adapted.metrics', 'an object') as Json;
  for (const when of ['before', 'after']) {
    const w = need(isObject(metrics[when]), metrics[when], `adapted.metrics.${when}`, 'an object') as Json;
    for (const k of ['auc', 'acc']) {
      const v = w[k];
      need(isObject(v) && typeof v.value === 'number', v, `adapted.metrics.${when}.${k}`, '{ value, ci95 }');
    }
  }
  need(a.scans_left_machine === false, a.scans_left_machine, 'adapted.scans_left_machine', 'false');
}
