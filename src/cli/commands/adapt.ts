/**
 * `qumri adapt --model <id|path> --train <labels.csv> --out <dir>`: adapts a model's head to a site's
 * own labelled scans (issue 22) and writes the adapted bundle. Each scan (a NIfTI file, or a folder
 * of one DICOM series converted as the page converts one: ../dicom-folder.ts) is read and
 * preprocessed as classify does (classify.ts scanModelInput) and run once through the frozen
 * backbone, its features cached by the sha256 of the NIfTI bytes; the fine-tuning, cross-validation
 * and the bundle are src/core/adapt, which the page shares. Everything runs on this machine: nothing
 * is sent anywhere.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';
import path from 'node:path';
import { parseCsv, writeAtomically } from '../batch.ts';
import {
  adaptationCaveats,
  adaptedBundle,
  adaptHead,
  AdaptError,
  ADAPT_DEFAULTS,
  labelCounts,
  MIN_PER_CLASS,
  noGain,
  type AdaptOptions,
  type AdaptResult,
  type LabelledScan,
} from '../../core/adapt/index.ts';
import { loadBundle, sha256Hex, type LoadedBundle } from '../../core/bundle/index.ts';
import { resolveModel } from '../../core/bundle/node.ts';
import type { Classifier } from '../../core/head/classifier.ts';
import type { LoadedScan } from '../../core/load/nifti.ts';
import { loadKernel } from '../../core/quantum/index.ts';
import { readScanInput } from '../dicom-folder.ts';
import { classifierFor, scanModelInput, UsageError } from './classify.ts';

/** Where features are cached unless --cache says otherwise: outside the bundle, so copying the bundle never copies them. */
export const DEFAULT_CACHE = path.join(
  process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'),
  'qumri',
  'features',
);

export const usage = `usage: qumri adapt --model <id|path> --train <labels.csv> --out <dir> [--force] [--seed N] [--epochs N] [--lr X] [--l2 X] [--folds K] [--cache DIR] [--preprocessed] [--threads N] [--json]

Fine-tunes a model's head (dense and quantum parameters) on your own labelled scans and writes the
adapted model as a bundle folder that \`qumri classify --model <dir>\` and the page load like any other.
labels.csv has the columns file,label: a scan (relative to the CSV's folder, or absolute) and one of
the model's classes. A scan is a NIfTI file, or a folder holding one DICOM series (its files, in
subfolders too), converted to NIfTI with dcm2niix as the page converts one; a folder with no series
or several is refused, naming the series found. Each scan is preprocessed exactly as classify does
and run once through the model's frozen backbone; its features are cached by the sha256 of the file
(of a series: of its converted NIfTI, as the page does) in DIR/<model key>/.
How many fine-tuning steps to keep is chosen by cross-validation on your scans (leave-one-out up to
24 scans, else stratified K-fold); the threshold and the Platt calibration are refitted on the
cross-validated predictions. Printed and written into the bundle's model card: cross-validated AUC
and accuracy with 95 % bootstrap intervals, before (the shipped head) and after.
The scans never leave this machine: nothing is sent over the network.
  --out DIR        the adapted bundle: backbone.onnx (the model's, unchanged), head.json,
                   manifest.json (its id is DIR's name when that is a valid id, else <model>-adapted);
                   never the model's own folder or a bundle adapt did not write (an earlier adapted one is replaced)
  --force          adapt even with fewer than ${MIN_PER_CLASS} scans in a class
  --seed N         folds and bootstrap intervals (default ${ADAPT_DEFAULTS.seed}); the same seed gives the same bundle
  --epochs N       most fine-tuning steps tried (default ${ADAPT_DEFAULTS.epochs})
  --lr X           Adam's step size (default ${ADAPT_DEFAULTS.lr})
  --l2 X           weight of the pull towards the shipped parameters, l2·‖θ − θ₀‖² (default ${ADAPT_DEFAULTS.l2})
  --folds K        K for K-fold above 24 scans (default ${ADAPT_DEFAULTS.folds})
  --cache DIR      feature cache (default ${DEFAULT_CACHE})
  --preprocessed   the scans are already on the model grid: skip preprocessing
  --threads N      onnxruntime-node intra-op threads (default 2)
  --json           print the result as JSON on stdout (default: a summary)
Exit 1 when a scan cannot be used or the labels cannot train the head. Not a medical device.`;

export interface AdaptArgs {
  model: string;
  train: string;
  out: string;
  cache: string;
  preprocessed: boolean;
  threads: number;
  json: boolean;
  options: Partial<AdaptOptions>;
}

/** A number option checked by `ok`, or undefined when absent. */
function numberOption(
  flag: string,
  v: string | undefined,
  ok: (n: number) => boolean,
  what: string,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !ok(n)) throw new UsageError(`--${flag} ${v}: expected ${what}`);
  return n;
}

const positiveInt = (n: number) => Number.isInteger(n) && n > 0;
const STRINGS = ['model', 'train', 'out', 'cache', 'threads', 'seed', 'epochs', 'folds', 'lr', 'l2'] as const;
const BOOLEANS = ['force', 'preprocessed', 'json'] as const;

export function parseArgs(argv: string[]): AdaptArgs {
  let values: Partial<Record<(typeof STRINGS)[number], string> & Record<(typeof BOOLEANS)[number], boolean>>;
  try {
    ({ values } = nodeParseArgs({
      args: argv,
      options: Object.fromEntries([
        ...STRINGS.map((k) => [k, { type: 'string' }]),
        ...BOOLEANS.map((k) => [k, { type: 'boolean' }]),
      ]) as ParseArgsConfig['options'],
      strict: true,
      allowPositionals: false,
    }) as { values: typeof values });
  } catch (err) {
    const message = (err as Error).message;
    throw new UsageError(/positional argument/.test(message) ? `${message} (scans are listed in --train)` : message);
  }
  for (const k of ['model', 'train', 'out'] as const) if (!values[k]) throw new UsageError(`--${k} is required`);
  const options: Partial<AdaptOptions> = {
    seed: numberOption('seed', values.seed, (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0'),
    epochs: numberOption('epochs', values.epochs, positiveInt, 'a positive integer'),
    folds: numberOption('folds', values.folds, (n) => Number.isInteger(n) && n >= 2, 'an integer ≥ 2'),
    lr: numberOption('lr', values.lr, (n) => n > 0 && Number.isFinite(n), 'a positive number'),
    l2: numberOption('l2', values.l2, (n) => n >= 0 && Number.isFinite(n), 'a number ≥ 0'),
    ...(values.force ? { force: true } : {}),
  };
  return {
    model: values.model!,
    train: values.train!,
    out: values.out!,
    cache: values.cache ?? DEFAULT_CACHE,
    preprocessed: values.preprocessed ?? false,
    threads: numberOption('threads', values.threads, positiveInt, 'a positive integer') ?? 2,
    json: values.json ?? false,
    options: Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
}

export interface LabelRow {
  /** As written in the CSV, for messages. */
  name: string;
  /** Resolved against the CSV's folder. */
  file: string;
  label: string;
}

/** labels.csv → rows; names the line of a row without a file or label. */
export function parseLabels(text: string, csvFile: string): LabelRow[] {
  const [header = [], ...rows] = parseCsv(text).filter((r) => r.some((c) => c.trim() !== ''));
  const cols = header.map((h) => h.trim());
  const fi = cols.indexOf('file');
  const li = cols.indexOf('label');
  if (fi < 0 || li < 0)
    throw new Error(`${csvFile}: expected the columns file,label, got ${cols.join(',') || 'nothing'}`);
  if (rows.length === 0) throw new Error(`${csvFile}: no scans listed`);
  const dir = path.dirname(csvFile);
  return rows.map((r, i) => {
    const name = (r[fi] ?? '').trim();
    const label = (r[li] ?? '').trim();
    if (!name || !label) throw new Error(`${csvFile} row ${i + 2}: needs both a file and a label`);
    return { name, file: path.resolve(dir, name), label };
  });
}

/**
 * Refuses an --out that would overwrite the source bundle or a bundle qumri adapt did not write (a
 * shipped model, say); an earlier adapted bundle there is replaced.
 */
async function checkOut(out: string, sourceDir: string): Promise<void> {
  if (path.resolve(out) === path.resolve(sourceDir))
    throw new Error(`--out ${out} is the model's own folder: write the adapted bundle to another folder`);
  const text = await readFile(path.join(out, 'manifest.json'), 'utf8').catch(() => null);
  if (text === null) return;
  let adapted = false;
  try {
    adapted = (JSON.parse(text) as { adapted?: unknown }).adapted !== undefined;
  } catch {
    // Not JSON: not a bundle this command wrote either.
  }
  if (!adapted) throw new Error(`--out ${out} holds a bundle that qumri adapt did not write: choose an empty folder`);
}

/** The cache folder of one model: features depend on the backbone, the preprocessing and whether it ran. */
async function cacheDir(root: string, bundle: LoadedBundle, preprocessed: boolean): Promise<string> {
  const key = await sha256Hex(
    new TextEncoder().encode(
      JSON.stringify([bundle.manifest.files['backbone.onnx'].sha256, bundle.manifest.preprocess, preprocessed]),
    ),
  );
  return path.join(root, key.slice(0, 16));
}

/** A cache entry (written atomically, so never half); null when missing or unreadable, and then recomputed. */
async function cachedFeatures(file: string): Promise<Float32Array | null> {
  try {
    const bytes = await readFile(file);
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  } catch {
    return null;
  }
}

/** Each scan's backbone features, from the cache or by preprocessing and one backbone run. */
async function scanFeatures(
  rows: LabelRow[],
  clf: Classifier,
  dir: string,
  preprocessed: boolean,
): Promise<LabelledScan[]> {
  await mkdir(dir, { recursive: true });
  const seen = new Map<string, string>();
  const scans: LabelledScan[] = [];
  for (const [i, row] of rows.entries()) {
    const t0 = performance.now();
    const { bytes, parse } = await readScanInput(row.file, 'list each folder on its own row').catch((err: Error) =>
      Promise.reject(new Error(`${row.name}: ${err.message}`)),
    );
    const sha = await sha256Hex(bytes);
    if (seen.has(sha))
      throw new Error(
        `${row.name} and ${seen.get(sha)} are the same file (sha256 ${sha.slice(0, 12)}…): list each scan once, or cross-validation would test on a training scan`,
      );
    seen.set(sha, row.name);
    const cacheFile = path.join(dir, `${sha}.f32`);
    let features = await cachedFeatures(cacheFile);
    const cached = features !== null;
    if (!features) {
      let scan: LoadedScan;
      try {
        scan = parse();
      } catch (err) {
        throw new Error(`${row.name}: ${(err as Error).message}`);
      }
      const input = scanModelInput(scan, row.file, clf, preprocessed);
      features = (await clf.backbone.run(input.data)).features;
      await writeAtomically(cacheFile, new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
    }
    scans.push({ name: row.name, label: row.label, features });
    process.stderr.write(
      `[${i + 1}/${rows.length}] ${row.name} (${row.label}): ${cached ? 'cached features' : `features in ${((performance.now() - t0) / 1000).toFixed(1)} s`}\n`,
    );
  }
  return scans;
}

const VALID_ID = /^[A-Za-z0-9._-]+$/;

const fmt = (m: { value: number; ci95: [number, number] }): string =>
  `${m.value.toFixed(3)} (${m.ci95[0].toFixed(3)}–${m.ci95[1].toFixed(3)})`;

export function summary(
  r: AdaptResult,
  from: string,
  out: string,
  shippedThreshold: number,
  caveats: string[] = [],
): string {
  const counts = Object.entries(r.perClass)
    .map(([c, n]) => `${n} ${c}`)
    .join(', ');
  const lines = [
    `adapted ${from} on ${counts}, ${r.folds}: kept ${r.epochs} of ${r.options.epochs} fine-tuning steps`,
    `cross-validated on these scans   AUC (95 % CI)           accuracy (95 % CI)`,
    `  before (shipped head)          ${fmt(r.before.auc).padEnd(24)}${fmt(r.before.acc)} at threshold ${shippedThreshold.toFixed(3)}`,
    `  after                          ${fmt(r.after.auc).padEnd(24)}${fmt(r.after.acc)} at threshold ${r.threshold.toFixed(3)}`,
  ];
  const gain = noGain(r);
  if (gain === 'no-steps')
    lines.push(
      'fine-tuning did not lower the cross-validated loss: the head is the shipped one, only its threshold and calibration were refitted',
    );
  else if (gain === 'lower-auc') lines.push(`adaptation lowered the cross-validated AUC: consider keeping ${from}`);
  if (r.epochs === r.options.epochs)
    lines.push(`the held-out loss was still falling at the last step: --epochs ${2 * r.options.epochs} tries more`);
  if (r.calibrationProblem) lines.push(`no calibration: ${r.calibrationProblem}`);
  lines.push(...caveats.map((c) => `note: ${c}`));
  lines.push(`wrote ${out} (manifest.json, head.json, backbone.onnx); the scans never left this machine`);
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let args: AdaptArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`qumri adapt: ${err.message}\n\n${usage}`);
    return 2;
  }
  const rows = parseLabels(await readFile(args.train, 'utf8'), args.train);
  const source = resolveModel(args.model);
  await checkOut(args.out, source.label);
  const bundle = await loadBundle(source);
  const { manifest } = bundle;
  // Labels are checked before any scan is preprocessed, so a refusal does not wait for the backbone.
  try {
    labelCounts(rows, manifest.classes, { force: args.options.force });
  } catch (err) {
    if (err instanceof AdaptError && err.code === 'too-few') throw new Error(`${err.message}; --force adapts anyway`);
    throw err;
  }
  const clf = await classifierFor(bundle, args.threads);
  let scans: LabelledScan[];
  try {
    scans = await scanFeatures(rows, clf, await cacheDir(args.cache, bundle, args.preprocessed), args.preprocessed);
  } finally {
    await clf.release();
  }
  const kernel = bundle.head.layers.some((l) => l.type === 'quantum') ? await loadKernel() : null;
  const result = adaptHead(
    { head: bundle.head, classes: manifest.classes, threshold: manifest.threshold },
    scans,
    kernel,
    args.options,
    {
      onProgress: (p) => {
        if (p.epoch === p.epochs)
          process.stderr.write(
            `${p.stage === 'final' ? 'final fit on every scan' : 'cross-validation fold'} ${p.fold}/${p.folds}\n`,
          );
      },
    },
  );
  const name = path.basename(path.resolve(args.out));
  const id = VALID_ID.test(name) ? name : `${manifest.id}-adapted`;
  const adapted = await adaptedBundle(
    { manifest, manifestBytes: await source.read('manifest.json'), backbone: bundle.backbone },
    result,
    { id, date: new Date().toISOString() },
  );
  await mkdir(args.out, { recursive: true });
  for (const [file, bytes] of adapted.files) await writeFile(path.join(args.out, file), bytes);
  const caveats = adaptationCaveats(manifest, scans);
  console.log(
    args.json
      ? JSON.stringify(
          {
            out: args.out,
            id,
            card: adapted.manifest.adapted,
            threshold: result.threshold,
            calibration: result.calibration,
            caveats,
            predictions: result.predictions,
          },
          null,
          1,
        )
      : summary(result, manifest.id, args.out, manifest.threshold, caveats),
  );
  return 0;
}
