/**
 * `qumri classify <files|dir> --model <id|path> [--csv out.csv] [--json] [--preprocessed] [--explain DIR] [--threads N]`:
 * classifies scans with a bundle in node (onnxruntime-node, the shared preprocessing, the WASM kernel),
 * and with --explain writes each scan's Grad-CAM as the page overlays it.
 */
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadBundle } from '../../core/bundle/index.ts';
import { resolveModel } from '../../core/bundle/node.ts';
import { createNodeBackbone } from '../../core/backbone/node.ts';
import { createClassifier, type Classifier } from '../../core/head/classifier.ts';
import type { QuantumEngineFactory } from '../../core/head/index.ts';
import { gradCam } from '../../core/explain/index.ts';
import { parseNifti } from '../../core/load/nifti.ts';
import { writeNifti } from '../../core/load/nifti-write.ts';
import { parsePreprocessSpec, preprocess } from '../../core/preprocess/index.ts';
import type { Volume } from '../../core/volume.ts';

export const usage = `usage: qumri classify <files|dir> --model <id|path> [--csv out.csv] [--json] [--preprocessed] [--explain DIR] [--threads N]

Classifies NIfTI scans (.nii, .nii.gz; a folder is searched for them, not recursively) with a model
bundle: a shipped id (see \`qumri models\`) or a bundle folder.
  --csv FILE       write the rows as CSV (file,model,sequence,probability,class,seconds)
  --json           print the rows as a JSON array on stdout (default: a table)
  --preprocessed   inputs are already on the model grid: skip preprocessing
  --explain DIR    also write DIR/<scan>.gradcam.nii.gz: the Grad-CAM of the predicted class on the
                   scan's own voxels, in [0, 1] (the page's overlay); --json rows name the file
  --threads N      onnxruntime-node intra-op threads (default 2)
A progress bar goes to stderr. Not a medical device.`;

export interface ClassifyArgs {
  inputs: string[];
  model: string;
  csv?: string;
  json: boolean;
  preprocessed: boolean;
  explain?: string;
  threads: number;
}

export class UsageError extends Error {}

/** Parses argv; throws UsageError naming the bad argument. */
export function parseArgs(argv: string[]): ClassifyArgs {
  const args: Partial<ClassifyArgs> & { inputs: string[] } = { inputs: [], json: false, preprocessed: false, threads: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--model') args.model = value();
    else if (a === '--csv') args.csv = value();
    else if (a === '--json') args.json = true;
    else if (a === '--preprocessed') args.preprocessed = true;
    else if (a === '--explain') args.explain = value();
    else if (a === '--threads') {
      const v = value();
      args.threads = Number(v);
      if (!Number.isInteger(args.threads) || args.threads < 1) throw new UsageError(`--threads ${v}: expected a positive integer`);
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else args.inputs.push(a);
  }
  if (!args.model) throw new UsageError('--model <id|path> is required');
  if (args.inputs.length === 0) throw new UsageError('give at least one NIfTI file or folder');
  return args as ClassifyArgs;
}

const NIFTI = /\.nii(\.gz)?$/i;

/** Expands folders into their NIfTI files (sorted); a missing path is an error naming it. */
export async function expandInputs(inputs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of inputs) {
    const s = await stat(p).catch(() => {
      throw new Error(`${p}: no such file or folder`);
    });
    if (s.isDirectory()) {
      const found = (await readdir(p)).filter((f) => NIFTI.test(f)).sort();
      if (found.length === 0) throw new Error(`${p}: the folder holds no .nii or .nii.gz file`);
      files.push(...found.map((f) => path.join(p, f)));
    } else files.push(p);
  }
  return files;
}

export interface Row {
  file: string;
  model: string;
  sequence: string;
  probability: number;
  class: string;
  seconds: number;
  /** With --explain: the Grad-CAM NIfTI written for this scan. */
  gradcam?: string;
}

interface ModelInput {
  data: Float32Array;
  /** Model-grid voxel → world (mm) and the brain mask there, for mapping Grad-CAM back onto the scan. */
  affine: number[];
  mask?: Uint8Array;
}

/** The model-grid input for one scan: as is with --preprocessed (checked against the grid), else preprocessed. */
function modelInput(volume: Volume, file: string, clf: Classifier, preprocessed: boolean): ModelInput {
  const grid = clf.manifest.preprocess.grid;
  if (preprocessed) {
    if (volume.dims.some((d, i) => d !== grid[i])) {
      throw new Error(`${file}: --preprocessed input is ${volume.dims.join('×')}, the model grid is ${grid.join('×')}`);
    }
    return { data: volume.data, affine: volume.affine };
  }
  const pre = preprocess(volume, parsePreprocessSpec(clf.manifest.preprocess));
  return { data: pre.data, affine: pre.affine, mask: pre.mask };
}

/** DIR/<scan name>.gradcam.nii.gz; two inputs with the same name would overwrite each other, so that is refused. */
export function gradCamPaths(files: string[], dir: string): string[] {
  const out = files.map((f) => path.join(dir, `${path.basename(f).replace(NIFTI, '')}.gradcam.nii.gz`));
  const seen = new Map<string, string>();
  out.forEach((o, i) => {
    if (seen.has(o)) throw new Error(`--explain: ${seen.get(o)} and ${files[i]} would both write ${o}; classify them in separate runs`);
    seen.set(o, files[i]);
  });
  return out;
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: Row[]): string {
  const cols = ['file', 'model', 'sequence', 'probability', 'class', 'seconds'] as const;
  return [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

function progress(done: number, total: number, label: string): void {
  const width = 24;
  const fill = Math.round((done / total) * width);
  const bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} ${label}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${bar.slice(0, (process.stderr.columns ?? 80) - 1).padEnd((process.stderr.columns ?? 80) - 1)}${done === total ? '\n' : ''}`);
  else process.stderr.write(`${bar}\n`);
}

/** The WASM kernel is loaded only for heads that have a quantum layer. */
async function engines(needed: boolean): Promise<QuantumEngineFactory> {
  if (!needed) return () => Promise.reject(new Error('no quantum layer expected'));
  const { kernelEngineFactory } = await import('../../core/head/kernel-engine.ts');
  return kernelEngineFactory();
}

export async function classifyFiles(args: ClassifyArgs): Promise<Row[]> {
  const files = await expandInputs(args.inputs);
  const camFiles = args.explain ? gradCamPaths(files, args.explain) : undefined;
  if (args.explain) await mkdir(args.explain, { recursive: true });
  const bundle = await loadBundle(resolveModel(args.model));
  if (bundle.manifest.dims !== 3) throw new Error(`model ${bundle.manifest.id} classifies 2D slices (paper B); qumri classify takes 3D volumes, use the page for slices`);
  const backbone = await createNodeBackbone(bundle.backbone, bundle.manifest, { threads: args.threads });
  const clf = await createClassifier(bundle, backbone, await engines(bundle.head.layers.some((l) => l.type === 'quantum')));
  const rows: Row[] = [];
  try {
    for (const [i, file] of files.entries()) {
      progress(i, files.length, path.basename(file));
      const t0 = performance.now();
      const { volume, info } = parseNifti(new Uint8Array(await readFile(file)), path.basename(file));
      const seq = info.sequence.sequence;
      if (seq !== 'unknown' && seq !== clf.manifest.sequence) {
        process.stderr.write(`warning: ${file} looks like ${seq} (${info.sequence.evidence}) but model ${clf.manifest.id} was trained on ${clf.manifest.sequence}\n`);
      }
      const input = modelInput(volume, file, clf, args.preprocessed);
      const pred = await clf.classify(input.data, { explain: !!camFiles });
      const row: Row = { file, model: clf.manifest.id, sequence: seq, probability: pred.probability, class: pred.label, seconds: 0 };
      if (camFiles && pred.explain) {
        const cam = gradCam({ ...pred.explain, grid: clf.manifest.preprocess.grid, gridAffine: input.affine, scanDims: volume.dims, scanAffine: volume.affine, gridMask: input.mask });
        await writeFile(camFiles[i], writeNifti({ ...volume, datatype: 'float32', data: cam }, { gzip: true, description: `QuMRI Grad-CAM ${clf.manifest.id} ${pred.label}` }));
        row.gradcam = camFiles[i];
      }
      row.seconds = (performance.now() - t0) / 1000;
      rows.push(row);
    }
    progress(files.length, files.length, 'done');
  } finally {
    await clf.release();
  }
  return rows;
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
  const rows = await classifyFiles(args);
  if (args.csv) await writeFile(args.csv, toCsv(rows));
  if (args.json) process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
  else if (!args.csv) {
    for (const r of rows) console.log(`${r.file}\t${r.class}\tp=${r.probability.toFixed(4)}\t${r.seconds.toFixed(2)} s`);
  }
  return 0;
}
