/**
 * `qumri classify <files|dir> --model <id|path> [--csv out.csv [--resume]] [--json] [--preprocessed] [--explain DIR] [--threads N] [--force] [--no-model-check]`:
 * classifies scans (NIfTI files, or folders of one DICOM series converted as the page converts one:
 * ../dicom-folder.ts) with a bundle in node (onnxruntime-node, the shared preprocessing, the WASM
 * kernel), and with --explain writes each scan's Grad-CAM as the page overlays it. An input it cannot
 * use gets an error row and the batch goes on (../batch.ts).
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  buildRow,
  CsvLog,
  notAScan,
  planResume,
  readPriorRows,
  type Columns,
  type ResumePlan,
  type RowOf,
  type Status,
} from '../batch.ts';
import { sha256Hex } from '../../core/bundle/hash.ts';
import { loadBundle, type LoadedBundle } from '../../core/bundle/index.ts';
import { resolveModel } from '../../core/bundle/node.ts';
import { createNodeBackbone } from '../../core/backbone/node.ts';
import { createClassifier, type Classifier } from '../../core/head/classifier.ts';
import type { QuantumEngineFactory } from '../../core/head/index.ts';
import { gradCam } from '../../core/explain/index.ts';
import type { LoadedScan } from '../../core/load/nifti.ts';
import { writeNifti } from '../../core/load/nifti-write.ts';
import { parsePreprocessSpec, preprocess } from '../../core/preprocess/index.ts';
import { isDemoScan, judge, type DetectedSequence, type Verdict } from '../../core/guard/index.ts';
import { contentInput, type GridInput } from '../../core/guard/sequence-content.ts';
import type { Volume } from '../../core/volume.ts';
import { readScanInput } from '../dicom-folder.ts';

/** Everything known about one input when it is done; the columns below read from it. */
interface Outcome {
  file: string;
  /** Of the input file's bytes, or of a DICOM series' converted NIfTI (as the page hashes it); null when it could not be read. */
  sha256: string | null;
  model: string;
  status: Status;
  /** The sequence the header names (unknown when it names none). */
  sequence?: string;
  prediction?: { probability: number; calibrated?: number; label: string; oodScore?: number };
  /** The sequence read from a DICOM series' acquisition times or the image (null for --preprocessed NIfTI input, which has no brain mask). */
  detected?: DetectedSequence | null;
  verdict?: Verdict;
  force: boolean;
  seconds: number;
  gradcam?: string;
  /** Why it failed or was skipped. */
  message?: string;
}

/** The output columns in order (CSV header and JSON keys): a new column is one line here. */
export const COLUMNS = {
  file: (o) => o.file,
  model: (o) => o.model,
  status: (o) => o.status,
  sequence: (o) => o.sequence ?? null,
  detected_sequence: (o) => (o.detected === undefined ? null : (o.detected?.sequence ?? 'unknown')),
  in_distribution: (o) => o.verdict?.inDistribution ?? null,
  ood_score: (o) => o.prediction?.oodScore ?? null,
  probability: (o) => o.prediction?.probability ?? null,
  probability_calibrated: (o) => o.prediction?.calibrated ?? null,
  class: (o) => (o.prediction ? (o.verdict?.withheld && !o.force ? 'withheld' : o.prediction.label) : null),
  doubt: (o) => (o.verdict?.reasons.length ? o.verdict.reasons.join('; ') : null),
  seconds: (o) => o.seconds,
  gradcam: (o) => o.gradcam ?? null,
  sha256: (o) => o.sha256,
  error: (o) => o.message ?? null,
} satisfies Columns<Outcome>;

export type Row = RowOf<typeof COLUMNS>;

export const usage = `usage: qumri classify <files|dir> --model <id|path> [--csv out.csv [--resume]] [--json] [--preprocessed] [--explain DIR] [--threads N] [--force] [--no-model-check]

Classifies scans with a model bundle: a shipped id (see \`qumri models\`) or a bundle folder. An input
is a NIfTI file (.nii, .nii.gz), a folder of them (not searched recursively), or a folder without
NIfTI files holding one DICOM series (its files, subfolders too), converted by dcm2niix as the page
converts a dropped series; give each series its own folder (e.g. study/*/). One row per input, with
the columns
  ${Object.keys(COLUMNS).join(',')}
status: ok; error (the error column says why, and the batch goes on); or skipped, for a folder's
masks and label maps (integer voxels, at most 10 distinct values; named one by one, they are errors).
class is withheld (the probability is still given) when the detected sequence (detected_sequence:
FLAIR, T2w, T1w or unknown; for a DICOM series from its echo, repetition and inversion times where
they name one, else from the image content) is not the model's, or when the scan is unlike the
training data (in_distribution false: ood_score above the model's threshold), or when the model
fails its checks on real scans (its model card lists them) and the input is not one of the bundled
demo phantoms (known by sha256); doubt says which.
probability_calibrated is P after the model's validation calibration (Platt).
  --force          give the class even when a check fails (doubt still says why)
  --no-model-check leave out the model-level real-scan check (measuring the model itself, as
                   experiments/real_scans.py does; the per-scan checks still apply)
  --csv FILE       write the rows as CSV, each appended as its input completes (a crash keeps them)
  --resume         with --csv: keep FILE's rows and do not run again the inputs it has with the
                   same file, model and sha256 (a DICOM series': of its conversion) and status ok
                   or skipped (errors are retried)
  --json           print the rows as a JSON array on stdout, one row per line as each input
                   completes (default: a table)
  --preprocessed   inputs are already on the model grid: skip preprocessing
  --explain DIR    also write DIR/<scan>.gradcam.nii.gz: the Grad-CAM of the predicted class on the
                   scan's own voxels, in [0, 1] (the page's overlay), named in the gradcam column
  --threads N      onnxruntime-node intra-op threads (default 2)
Exit 1 when any input failed, else 0. A progress bar goes to stderr. Not a medical device.`;

export interface ClassifyArgs {
  inputs: string[];
  model: string;
  csv?: string;
  resume: boolean;
  json: boolean;
  preprocessed: boolean;
  explain?: string;
  threads: number;
  force: boolean;
  /** Skip the model-level real-scan check: only to measure the model itself (experiments/real_scans.py). */
  noModelCheck: boolean;
}

export class UsageError extends Error {}

/** Parses argv; throws UsageError naming the bad argument. */
export function parseArgs(argv: string[]): ClassifyArgs {
  const args: Partial<ClassifyArgs> & { inputs: string[] } = {
    inputs: [],
    resume: false,
    json: false,
    preprocessed: false,
    threads: 2,
    force: false,
    noModelCheck: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--model') args.model = value();
    else if (a === '--csv') args.csv = value();
    else if (a === '--resume') args.resume = true;
    else if (a === '--json') args.json = true;
    else if (a === '--preprocessed') args.preprocessed = true;
    else if (a === '--force') args.force = true;
    else if (a === '--no-model-check') args.noModelCheck = true;
    else if (a === '--explain') args.explain = value();
    else if (a === '--threads') {
      const v = value();
      args.threads = Number(v);
      if (!Number.isInteger(args.threads) || args.threads < 1)
        throw new UsageError(`--threads ${v}: expected a positive integer`);
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else args.inputs.push(a);
  }
  if (!args.model) throw new UsageError('--model <id|path> is required');
  if (args.inputs.length === 0) throw new UsageError('give at least one NIfTI file, folder or DICOM series folder');
  if (args.resume && !args.csv) throw new UsageError('--resume needs --csv FILE: the rows it resumes from');
  return args as ClassifyArgs;
}

const NIFTI = /\.nii(\.gz)?$/i;

/** How classify takes several series: one folder each (convertFolder's advice). */
const EACH_SERIES = 'give each folder as an input (e.g. qumri classify study/*/)';

export interface Input {
  file: string;
  /** Found in a folder rather than named: a mask there is skipped, not an error. */
  fromFolder: boolean;
  /** Why the argument gives no file to classify (missing). */
  problem?: string;
}

/**
 * Expands folders into their NIfTI files (sorted); a folder without any stays one input, a DICOM
 * series (readScanInput), and a missing path becomes an input with its problem.
 */
export async function expandInputs(args: string[]): Promise<Input[]> {
  const inputs: Input[] = [];
  for (const p of args) {
    const s = await stat(p).catch(() => null);
    if (!s) inputs.push({ file: p, fromFolder: false, problem: `${p}: no such file or folder` });
    else if (s.isDirectory()) {
      const found = (await readdir(p)).filter((f) => NIFTI.test(f)).sort();
      if (found.length === 0) inputs.push({ file: p, fromFolder: false });
      else inputs.push(...found.map((f) => ({ file: path.join(p, f), fromFolder: true })));
    } else inputs.push({ file: p, fromFolder: false });
  }
  return inputs;
}

export interface ModelInput {
  data: Float32Array;
  /** Model-grid voxel → world (mm) and the brain mask there, for mapping Grad-CAM back onto the scan. */
  affine: number[];
  mask?: Uint8Array;
  /** The preprocessing result the guards read; null for --preprocessed input (no brain mask). */
  grid: GridInput | null;
}

/** The model-grid input for one scan: as is with --preprocessed (checked against the grid), else preprocessed. */
function modelInput(volume: Volume, file: string, clf: Classifier, preprocessed: boolean): ModelInput {
  const grid = clf.manifest.preprocess.grid;
  if (preprocessed) {
    if (volume.dims.some((d, i) => d !== grid[i])) {
      throw new Error(`${file}: --preprocessed input is ${volume.dims.join('×')}, the model grid is ${grid.join('×')}`);
    }
    return { data: volume.data, affine: volume.affine, grid: null };
  }
  const pre = preprocess(volume, parsePreprocessSpec(clf.manifest.preprocess));
  return { data: pre.data, affine: pre.affine, mask: pre.mask, grid: contentInput(pre) };
}

/**
 * A named scan on the model grid, as every scan classify answers: a mask or label map is refused, a
 * header naming another sequence than the model's is warned about, then preprocessing (modelInput).
 * qumri adapt reads its training scans through here too.
 */
export function scanModelInput(scan: LoadedScan, file: string, clf: Classifier, preprocessed: boolean): ModelInput {
  const notScan = notAScan(scan.volume);
  if (notScan) throw new Error(`${path.basename(file)} ${notScan}`);
  const sequence = scan.info.sequence.sequence;
  if (sequence !== 'unknown' && sequence !== clf.manifest.sequence) {
    process.stderr.write(
      `warning: ${file} looks like ${sequence} (${scan.info.sequence.evidence}) but model ${clf.manifest.id} was trained on ${clf.manifest.sequence}\n`,
    );
  }
  return modelInput(scan.volume, file, clf, preprocessed);
}

/** DIR/<scan name>.gradcam.nii.gz; two inputs with the same name would overwrite each other, so that is refused. */
export function gradCamPaths(files: string[], dir: string): string[] {
  const out = files.map((f) => path.join(dir, `${path.basename(f).replace(NIFTI, '')}.gradcam.nii.gz`));
  const seen = new Map<string, string>();
  out.forEach((o, i) => {
    if (seen.has(o))
      throw new Error(
        `--explain: ${seen.get(o)} and ${files[i]} would both write ${o}; classify them in separate runs`,
      );
    seen.set(o, files[i]);
  });
  return out;
}

/** A line on stderr that does not run into the progress bar. */
function note(text: string): void {
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${text}\n` : `${text}\n`);
}

function progress(done: number, total: number, label: string): void {
  const width = 24;
  const fill = Math.round((done / total) * width);
  const bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} ${label}`;
  if (process.stderr.isTTY)
    process.stderr.write(
      `\r${bar.slice(0, (process.stderr.columns ?? 80) - 1).padEnd((process.stderr.columns ?? 80) - 1)}${done === total ? '\n' : ''}`,
    );
  else process.stderr.write(`${bar}\n`);
}

/** The WASM kernel is loaded only for heads that have a quantum layer. */
async function engines(needed: boolean): Promise<QuantumEngineFactory> {
  if (!needed) return () => Promise.reject(new Error('no quantum layer expected'));
  const { kernelEngineFactory } = await import('../../core/head/kernel-engine.ts');
  return kernelEngineFactory();
}

/** A loaded 3D bundle as classify runs it (qumri adapt runs its scans through the same). */
export async function classifierFor(bundle: LoadedBundle, threads: number): Promise<Classifier> {
  if (bundle.manifest.dims !== 3)
    throw new Error(
      `model ${bundle.manifest.id} classifies 2D slices (paper B); qumri classify takes 3D volumes, use the page for slices`,
    );
  const backbone = await createNodeBackbone(bundle.backbone, bundle.manifest, { threads });
  return createClassifier(bundle, backbone, await engines(bundle.head.layers.some((l) => l.type === 'quantum')));
}

async function loadClassifier(args: ClassifyArgs): Promise<Classifier> {
  return classifierFor(await loadBundle(resolveModel(args.model)), args.threads);
}

/** Classifies one input into `o`; returns early, status skipped, for a mask found in a folder. */
async function classifyInto(
  o: Outcome,
  input: Input,
  clf: Classifier,
  args: ClassifyArgs,
  camFile: string | undefined,
): Promise<void> {
  if (input.problem) throw new Error(input.problem);
  const { bytes, parse } = await readScanInput(input.file, EACH_SERIES);
  o.sha256 = await sha256Hex(bytes);
  const { volume, info } = parse();
  o.sequence = info.sequence.sequence;
  const notScan = notAScan(volume);
  if (notScan && input.fromFolder) {
    o.status = 'skipped';
    o.message = notScan;
    return;
  }
  const modelIn = scanModelInput({ volume, info }, input.file, clf, args.preprocessed);
  const pred = await clf.classify(modelIn.data, { explain: !!camFile });
  o.prediction = {
    probability: pred.probability,
    calibrated: pred.calibratedProbability,
    label: pred.label,
    oodScore: pred.oodScore,
  };
  ({ detected: o.detected, verdict: o.verdict } = judge(clf.manifest, modelIn.grid, pred, {
    demoScan: isDemoScan(o.sha256),
    modelCheck: !args.noModelCheck,
    acquisition: info.acquisition,
  }));
  if (camFile && pred.explain) {
    const cam = gradCam({
      ...pred.explain,
      grid: clf.manifest.preprocess.grid,
      gridAffine: modelIn.affine,
      scanDims: volume.dims,
      scanAffine: volume.affine,
      gridMask: modelIn.mask,
    });
    await writeFile(
      camFile,
      writeNifti(
        { ...volume, datatype: 'float32', data: cam },
        { gzip: true, description: `QuMRI Grad-CAM ${clf.manifest.id} ${pred.label}` },
      ),
    );
    o.gradcam = camFile;
  }
}

/** One input's outcome: whatever goes wrong with it becomes its error, so the batch goes on. */
async function classifyOne(
  input: Input,
  clf: Classifier,
  args: ClassifyArgs,
  camFile: string | undefined,
): Promise<Outcome> {
  const t0 = performance.now();
  const o: Outcome = {
    file: input.file,
    sha256: null,
    model: clf.manifest.id,
    status: 'ok',
    seconds: 0,
    force: args.force,
  };
  try {
    await classifyInto(o, input, clf, args, camFile);
  } catch (err) {
    o.status = 'error';
    o.message = err instanceof Error ? err.message : String(err);
  }
  o.seconds = (performance.now() - t0) / 1000;
  return o;
}

/** Where rows go on stdout as they complete. */
interface Sink {
  row(r: Row): void;
  end(): void;
}

/** --json: one array, a row per line as it completes, so an interrupted run's output still holds every finished row. */
function jsonArray(): Sink {
  let n = 0;
  return {
    row: (r) => process.stdout.write(`${n++ === 0 ? '[' : ','}\n${JSON.stringify(r)}`),
    end: () => process.stdout.write(n === 0 ? '[]\n' : '\n]\n'),
  };
}

const table: Sink = {
  row: (r) =>
    console.log(
      r.status === 'ok'
        ? `${r.file}\t${r.class}\tp=${Number(r.probability).toFixed(4)}\t${r.seconds.toFixed(2)} s${r.doubt ? `\t(${r.doubt})` : ''}`
        : `${r.file}\t${r.status}\t${r.error}`,
    ),
  end: () => {},
};

/** --resume's plan against the CSV: this model's finished rows stand, its errors are retried. */
async function resumePlan(args: ClassifyArgs, files: string[], model: string): Promise<ResumePlan> {
  if (!args.resume || !args.csv) return { done: new Map(), kept: [] };
  const prior = await readPriorRows(args.csv, ['file', 'model', 'sha256', 'status']);
  return planResume(prior, files, {
    same: (r) => r.model === model,
    finished: (r) => r.model === model && (r.status === 'ok' || r.status === 'skipped'),
    // The sha256 column holds what classifyInto hashed: a DICOM series' converted NIfTI.
    sha256Of: (file) =>
      readScanInput(file, EACH_SERIES).then(
        ({ bytes }) => sha256Hex(bytes),
        () => null,
      ),
  });
}

export async function run(argv: string[]): Promise<number> {
  let args: ClassifyArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`qumri classify: ${err.message}\n\n${usage}`);
    return 2;
  }
  const inputs = await expandInputs(args.inputs);
  const camFiles = args.explain
    ? gradCamPaths(
        inputs.map((i) => i.file),
        args.explain,
      )
    : undefined;
  if (args.explain) await mkdir(args.explain, { recursive: true });
  const clf = await loadClassifier(args);
  const counts: Record<Status, number> = { ok: 0, error: 0, skipped: 0 };
  try {
    const plan = await resumePlan(
      args,
      inputs.map((i) => i.file),
      clf.manifest.id,
    );
    if (plan.done.size > 0)
      process.stderr.write(
        `--resume: ${plan.done.size} of ${inputs.length} inputs are already in ${args.csv}, not run again\n`,
      );
    const todo = [...inputs.entries()].filter(([i]) => !plan.done.has(i));
    const log = args.csv ? await CsvLog.create(args.csv, Object.keys(COLUMNS), plan.kept) : undefined;
    const sink = args.json ? jsonArray() : args.csv ? undefined : table;
    try {
      for (const [n, [i, input]] of todo.entries()) {
        progress(n, todo.length, path.basename(input.file));
        const row = buildRow(COLUMNS, await classifyOne(input, clf, args, camFiles?.[i]));
        await log?.append(row);
        sink?.row(row);
        counts[row.status]++;
        if (row.status !== 'ok') note(`${row.status}: ${row.file}: ${row.error}`);
      }
      if (todo.length > 0) progress(todo.length, todo.length, 'done');
      sink?.end();
    } finally {
      await log?.close();
    }
  } finally {
    await clf.release();
  }
  process.stderr.write(
    `${counts.ok} ok, ${counts.error} error${counts.error === 1 ? '' : 's'}, ${counts.skipped} skipped\n`,
  );
  return counts.error > 0 ? 1 : 0;
}
