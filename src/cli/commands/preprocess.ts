/** `qumri preprocess`: scans (file, folder or CSV list) → NIfTI on a model grid + brain mask. */
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseNifti } from '../../core/load/nifti.ts';
import { writeNifti } from '../../core/load/nifti-write.ts';
import { preprocess, parsePreprocessSpec, STEPS, type PreprocessResult, type PreprocessSpec, type ProgressEvent } from '../../core/preprocess/index.ts';
import { columnNorms } from '../../core/preprocess/affine.ts';
import type { Volume } from '../../core/volume.ts';

export const usage = `usage: qumri preprocess <in.nii[.gz] | dir | list.csv> [--spec manifest.json|spec.json]
                        [--grid N | NxNyNz] [--no-brain-extraction] --out DIR

Prepares scans exactly as the page does before a model sees them (src/core/preprocess/README.md):
reorient to RAS, brain extraction, resample onto the model grid, percentile normalisation.
Writes DIR/<name>.nii.gz (float32, [0, 1]) and DIR/<name>_mask.nii.gz (uint8) per scan, and
DIR/spec.json (the spec used). For a CSV input (header row; the scan column is 'path' or the first
column whose values end in .nii/.nii.gz, relative paths resolved against the CSV's folder) it also
writes DIR/<list>.csv: the same rows with that column replaced by the absolute path of the output
and the columns mask_path and skull_stripped (replaced where the list has them, else added).
--spec takes a bundle manifest (its "preprocess" object is used) or a bare spec; --grid and
--no-brain-extraction override it. Progress goes to stderr.`;

interface Args {
  input: string;
  specPath: string | null;
  grid: [number, number, number] | null;
  noBrain: boolean;
  out: string;
}

class UsageError extends Error {}

function parseGrid(text: string): [number, number, number] {
  const parts = text.split('x').map(Number);
  const g = parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts;
  if (g.length !== 3 || !g.every((n) => Number.isInteger(n) && n > 0 && n <= 4096)) {
    throw new UsageError(`--grid must be N or NxNyNz with positive integers, got '${text}'`);
  }
  return [g[0], g[1], g[2]];
}

function parseArgs(argv: string[]): Args {
  let input: string | null = null;
  let specPath: string | null = null;
  let grid: [number, number, number] | null = null;
  let noBrain = false;
  let out: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--spec') specPath = value();
    else if (a === '--grid') grid = parseGrid(value());
    else if (a === '--no-brain-extraction') noBrain = true;
    else if (a === '--out') out = value();
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (input === null) input = a;
    else throw new UsageError(`only one input is accepted, got '${input}' and '${a}'`);
  }
  if (input === null) throw new UsageError('missing input (a .nii/.nii.gz file, a folder or a .csv list)');
  if (out === null) throw new UsageError('missing --out DIR');
  return { input, specPath, grid, noBrain, out };
}

async function loadSpec(args: Args): Promise<PreprocessSpec> {
  let json: unknown = {};
  if (args.specPath) {
    const text = await readFile(args.specPath, 'utf8');
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`${args.specPath}: not valid JSON (${(err as Error).message})`);
    }
    const obj = json as Record<string, unknown>;
    if (typeof obj === 'object' && obj !== null && 'preprocess' in obj) json = obj.preprocess;
  }
  const spec = parsePreprocessSpec(json);
  if (args.grid) spec.grid = args.grid;
  if (args.noBrain) spec.brain_extraction = 'off';
  return spec;
}

const isNifti = (p: string) => /\.nii(\.gz)?$/i.test(p);

/** Minimal RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

export function formatCsv(rows: string[][]): string {
  const cell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return rows.map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

interface Job {
  input: string;
  stem: string;
}

function stemOf(p: string): string {
  return path.basename(p).replace(/\.nii(\.gz)?$/i, '');
}

/** Unique output stems: a repeated name gets _2, _3, … in input order. */
function uniqueStems(inputs: string[]): Job[] {
  const seen = new Map<string, number>();
  return inputs.map((input) => {
    const base = stemOf(input);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { input, stem: n === 1 ? base : `${base}_${n}` };
  });
}

function progressLine(index: number, total: number, name: string, e: ProgressEvent): string {
  const done = STEPS.indexOf(e.step) + e.fraction;
  const width = 20;
  const filled = Math.round((done / STEPS.length) * width);
  return `[${index + 1}/${total}] ${'#'.repeat(filled)}${'.'.repeat(width - filled)} ${e.step.padEnd(9)} ${name}`;
}

/** Output volumes in the shape the NIfTI writer takes. */
function gridVolume(r: PreprocessResult, data: Float32Array, datatype: Volume['datatype']): Volume {
  return { dims: r.grid, spacing: columnNorms(r.affine), affine: r.affine, datatype, data };
}

async function processOne(job: Job, spec: PreprocessSpec, outDir: string, report: (e: ProgressEvent) => void) {
  const bytes = new Uint8Array(await readFile(job.input));
  const { volume } = parseNifti(bytes, path.basename(job.input));
  let result: PreprocessResult;
  try {
    result = preprocess(volume, spec, report);
  } catch (err) {
    throw new Error(`${job.input}: ${(err as Error).message}`);
  }
  const outPath = path.resolve(outDir, `${job.stem}.nii.gz`);
  const maskPath = path.resolve(outDir, `${job.stem}_mask.nii.gz`);
  // Mask first, volume last, each renamed into place: resumable callers take an existing volume as done.
  await writeAtomically(maskPath, writeNifti(gridVolume(result, Float32Array.from(result.mask), 'uint8'), { datatype: 'uint8', gzip: true, description: 'qumri brain mask' }));
  await writeAtomically(outPath, writeNifti(gridVolume(result, result.data, 'float32'), { datatype: 'float32', gzip: true, description: 'qumri preprocess' }));
  return { outPath, maskPath, result };
}

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}

async function listInputs(input: string): Promise<{ jobs: Job[]; csv: { rows: string[][]; col: number } | null }> {
  const info = await stat(input).catch(() => null);
  if (!info) throw new Error(`input not found: ${input}`);
  if (info.isDirectory()) {
    const files = (await readdir(input)).filter(isNifti).sort().map((f) => path.join(input, f));
    if (files.length === 0) throw new Error(`no .nii/.nii.gz files in folder ${input}`);
    return { jobs: uniqueStems(files), csv: null };
  }
  if (/\.csv$/i.test(input)) {
    const rows = parseCsv(await readFile(input, 'utf8'));
    if (rows.length < 2) throw new Error(`${input}: needs a header row and at least one data row`);
    const header = rows[0];
    let col = header.findIndex((h) => h.trim().toLowerCase() === 'path');
    if (col < 0) col = header.findIndex((_, c) => isNifti(rows[1][c] ?? ''));
    if (col < 0) throw new Error(`${input}: no 'path' column and no column of .nii/.nii.gz paths (header: ${header.join(',')})`);
    const base = path.dirname(input);
    const files = rows.slice(1).map((r, i) => {
      const p = r[col];
      if (!p || !isNifti(p)) throw new Error(`${input}: row ${i + 2} column '${header[col]}' is not a .nii/.nii.gz path: '${p ?? ''}'`);
      return path.resolve(base, p);
    });
    return { jobs: uniqueStems(files), csv: { rows, col } };
  }
  if (isNifti(input)) return { jobs: uniqueStems([input]), csv: null };
  throw new Error(`input must be a .nii/.nii.gz file, a folder or a .csv list, got ${input}`);
}

/**
 * The input list with each scan path replaced by its output and the mask_path and skull_stripped
 * columns filled in: replaced where the list already has them (synth manifests carry skull_stripped),
 * appended otherwise.
 */
export function rewriteCsv(rows: string[][], col: number, outputs: { outPath: string; maskPath: string; skullStripped: boolean }[]): string[][] {
  const header = [...rows[0]];
  const column = (name: string) => {
    const at = header.findIndex((h) => h.trim().toLowerCase() === name);
    return at >= 0 ? at : header.push(name) - 1;
  };
  const maskCol = column('mask_path');
  const strippedCol = column('skull_stripped');
  return [header, ...rows.slice(1).map((r, i) => {
    const copy = [...r];
    while (copy.length < header.length) copy.push('');
    copy[col] = outputs[i].outPath;
    copy[maskCol] = outputs[i].maskPath;
    copy[strippedCol] = String(outputs[i].skullStripped);
    return copy;
  })];
}

export async function run(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`qumri preprocess: ${err.message}\n\n${usage}`);
    return 2;
  }
  const spec = await loadSpec(args);
  const { jobs, csv } = await listInputs(args.input);
  if (csv && path.resolve(args.out, path.basename(args.input)) === path.resolve(args.input)) {
    throw new Error(`--out ${args.out} would overwrite the input list ${args.input}; choose another folder`);
  }
  await mkdir(args.out, { recursive: true });
  await writeFile(path.join(args.out, 'spec.json'), JSON.stringify(spec, null, 2) + '\n');
  const tty = process.stderr.isTTY;
  const outputs: { outPath: string; maskPath: string; skullStripped: boolean }[] = [];
  for (const [i, job] of jobs.entries()) {
    const name = path.basename(job.input);
    const t0 = performance.now();
    const { outPath, maskPath, result } = await processOne(job, spec, args.out, (e) => {
      if (tty) process.stderr.write(`\r${progressLine(i, jobs.length, name, e)}\x1b[K`);
    });
    const ms = performance.now() - t0;
    const line = `[${i + 1}/${jobs.length}] ${name} → ${path.basename(outPath)} (${result.maskSource} mask, ${ms.toFixed(0)} ms)`;
    process.stderr.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
    outputs.push({ outPath, maskPath, skullStripped: result.skullStripped });
  }
  if (csv) {
    const csvOut = path.join(args.out, path.basename(args.input));
    await writeFile(csvOut, formatCsv(rewriteCsv(csv.rows, csv.col, outputs)));
    process.stderr.write(`wrote ${csvOut}\n`);
  }
  return 0;
}
