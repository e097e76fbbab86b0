/**
 * `qumri preprocess`: scans (file, folder or CSV list) → NIfTI on a model grid + brain mask, and a
 * report row per scan; a scan it cannot use gets an error row and the batch goes on (../batch.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  buildRow,
  CsvLog,
  formatCsv,
  notAScan,
  parseCsv,
  planResume,
  readPriorRows,
  writeAtomically,
  type Columns,
  type ResumePlan,
  type Status,
} from '../batch.ts';
import { sha256Hex } from '../../core/bundle/hash.ts';
import { parseNifti } from '../../core/load/nifti.ts';
import { writeNifti } from '../../core/load/nifti-write.ts';
import {
  preprocess,
  parsePreprocessSpec,
  STEPS,
  type PreprocessResult,
  type PreprocessSpec,
  type ProgressEvent,
} from '../../core/preprocess/index.ts';
import { columnNorms } from '../../core/preprocess/affine.ts';
import type { Volume } from '../../core/volume.ts';

/** What a scan's outputs are, as the rewritten CSV list names them. */
export interface Written {
  outPath: string;
  maskPath: string;
  skullStripped: boolean;
}

/** Everything known about one scan when it is done; the report's columns read from it. */
interface Outcome {
  file: string;
  /** Of the input file's bytes; null when it could not be read. */
  sha256: string | null;
  /** Of DIR/spec.json: --resume redoes scans prepared with another spec. */
  specSha256: string;
  status: Status;
  written?: Written;
  maskSource?: PreprocessResult['maskSource'];
  seconds: number;
  /** Why it failed or was skipped. */
  message?: string;
}

/** The report's columns in order: a new column is one line here. */
export const COLUMNS = {
  file: (o) => o.file,
  status: (o) => o.status,
  output: (o) => o.written?.outPath ?? null,
  mask: (o) => o.written?.maskPath ?? null,
  skull_stripped: (o) => o.written?.skullStripped ?? null,
  mask_source: (o) => o.maskSource ?? null,
  seconds: (o) => o.seconds,
  spec_sha256: (o) => o.specSha256,
  sha256: (o) => o.sha256,
  error: (o) => o.message ?? null,
} satisfies Columns<Outcome>;

/** The report, in the output folder. */
export const REPORT = 'qumri-preprocess.csv';

export const usage = `usage: qumri preprocess <in.nii[.gz] | dir | list.csv> [--spec manifest.json|spec.json]
                        [--grid N | NxNyNz] [--no-brain-extraction] [--resume] --out DIR

Prepares scans exactly as the page does before a model sees them (src/core/preprocess/README.md):
reorient to RAS, brain extraction, resample onto the model grid, percentile normalisation.
Writes DIR/<name>.nii.gz (float32, [0, 1]) and DIR/<name>_mask.nii.gz (uint8) per scan, and
DIR/spec.json (the spec used). For a CSV input (header row; the scan column is 'path' or the first
column whose values end in .nii/.nii.gz, relative paths resolved against the CSV's folder) it also
writes DIR/<list>.csv: the same rows with that column replaced by the absolute path of the output
and the columns mask_path and skull_stripped (replaced where the list has them, else added); rows
whose scan failed or was skipped are left out.
DIR/${REPORT} gets one row per scan as it completes (a crash keeps them), with the columns
  ${Object.keys(COLUMNS).join(',')}
status: ok; error (the error column says why, and the batch goes on); or skipped, for a folder's
masks and label maps (integer voxels, at most 10 distinct values; named in a list, they are errors).
--resume keeps the report's rows and does not run again the scans it has with the same file,
sha256 and spec_sha256 and status skipped, or ok with both outputs still there (errors are retried).
--spec takes a bundle manifest (its "preprocess" object is used) or a bare spec; --grid and
--no-brain-extraction override it. Exit 1 when any scan failed, else 0. Progress goes to stderr.`;

interface Args {
  input: string;
  specPath: string | null;
  grid: [number, number, number] | null;
  noBrain: boolean;
  resume: boolean;
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
  let resume = false;
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
    else if (a === '--resume') resume = true;
    else if (a === '--out') out = value();
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else if (input === null) input = a;
    else throw new UsageError(`only one input is accepted, got '${input}' and '${a}'`);
  }
  if (input === null) throw new UsageError('missing input (a .nii/.nii.gz file, a folder or a .csv list)');
  if (out === null) throw new UsageError('missing --out DIR');
  return { input, specPath, grid, noBrain, resume, out };
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

interface Source {
  input: string;
  /** Found in a folder rather than named: a mask there is skipped, not an error. */
  fromFolder: boolean;
  /** Why the list's row gives no scan to prepare. */
  problem?: string;
}

interface Job extends Source {
  stem: string;
}

function stemOf(p: string): string {
  return path.basename(p).replace(/\.nii(\.gz)?$/i, '');
}

/** Unique output stems: a repeated name gets _2, _3, … in input order. */
function uniqueStems(sources: Source[]): Job[] {
  const seen = new Map<string, number>();
  return sources.map((source) => {
    const base = stemOf(source.input);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { ...source, stem: n === 1 ? base : `${base}_${n}` };
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

/** Prepares one scan into `o`; returns early, status skipped, for a mask found in a folder. */
async function preprocessInto(
  o: Outcome,
  job: Job,
  spec: PreprocessSpec,
  outDir: string,
  report: (e: ProgressEvent) => void,
): Promise<void> {
  if (job.problem) throw new Error(job.problem);
  const bytes = new Uint8Array(await readFile(job.input));
  o.sha256 = await sha256Hex(bytes);
  const { volume } = parseNifti(bytes, path.basename(job.input));
  const notScan = notAScan(volume);
  if (notScan && job.fromFolder) {
    o.status = 'skipped';
    o.message = notScan;
    return;
  }
  if (notScan) throw new Error(`${job.input} ${notScan}`);
  let result: PreprocessResult;
  try {
    result = preprocess(volume, spec, report);
  } catch (err) {
    throw new Error(`${job.input}: ${(err as Error).message}`);
  }
  const outPath = path.resolve(outDir, `${job.stem}.nii.gz`);
  const maskPath = path.resolve(outDir, `${job.stem}_mask.nii.gz`);
  // Mask first, volume last, each renamed into place: resumable callers take an existing volume as done.
  await writeAtomically(
    maskPath,
    writeNifti(gridVolume(result, Float32Array.from(result.mask), 'uint8'), {
      datatype: 'uint8',
      gzip: true,
      description: 'qumri brain mask',
    }),
  );
  await writeAtomically(
    outPath,
    writeNifti(gridVolume(result, result.data, 'float32'), {
      datatype: 'float32',
      gzip: true,
      description: 'qumri preprocess',
    }),
  );
  o.written = { outPath, maskPath, skullStripped: result.skullStripped };
  o.maskSource = result.maskSource;
}

/** One scan's outcome: whatever goes wrong with it becomes its error, so the batch goes on. */
async function preprocessOne(
  job: Job,
  spec: PreprocessSpec,
  specSha256: string,
  outDir: string,
  report: (e: ProgressEvent) => void,
): Promise<Outcome> {
  const t0 = performance.now();
  const o: Outcome = { file: job.input, sha256: null, specSha256, status: 'ok', seconds: 0 };
  try {
    await preprocessInto(o, job, spec, outDir, report);
  } catch (err) {
    o.status = 'error';
    o.message = err instanceof Error ? err.message : String(err);
  }
  o.seconds = (performance.now() - t0) / 1000;
  return o;
}

async function listInputs(input: string): Promise<{ jobs: Job[]; csv: { rows: string[][]; col: number } | null }> {
  const info = await stat(input).catch(() => null);
  if (!info) throw new Error(`input not found: ${input}`);
  if (info.isDirectory()) {
    const files = (await readdir(input))
      .filter(isNifti)
      .sort()
      .map((f) => path.join(input, f));
    if (files.length === 0) throw new Error(`no .nii/.nii.gz files in folder ${input}`);
    return { jobs: uniqueStems(files.map((f) => ({ input: f, fromFolder: true }))), csv: null };
  }
  if (/\.csv$/i.test(input)) {
    const rows = parseCsv(await readFile(input, 'utf8'));
    if (rows.length < 2) throw new Error(`${input}: needs a header row and at least one data row`);
    const header = rows[0];
    let col = header.findIndex((h) => h.trim().toLowerCase() === 'path');
    if (col < 0) col = header.findIndex((_, c) => isNifti(rows[1][c] ?? ''));
    if (col < 0)
      throw new Error(`${input}: no 'path' column and no column of .nii/.nii.gz paths (header: ${header.join(',')})`);
    const base = path.dirname(input);
    const sources = rows.slice(1).map((r, i): Source => {
      const p = r[col] ?? '';
      const problem = isNifti(p)
        ? undefined
        : `${input}: row ${i + 2} column '${header[col]}' is not a .nii/.nii.gz path: '${p}'`;
      return { input: p ? path.resolve(base, p) : `${input}:${i + 2}`, fromFolder: false, problem };
    });
    return { jobs: uniqueStems(sources), csv: { rows, col } };
  }
  if (isNifti(input)) return { jobs: uniqueStems([{ input, fromFolder: false }]), csv: null };
  throw new Error(`input must be a .nii/.nii.gz file, a folder or a .csv list, got ${input}`);
}

/**
 * The input list with each scan path replaced by its output and the mask_path and skull_stripped
 * columns filled in: replaced where the list already has them (synth manifests carry skull_stripped),
 * appended otherwise. Rows without an output (the scan failed or was skipped) are left out.
 */
export function rewriteCsv(rows: string[][], col: number, outputs: (Written | undefined)[]): string[][] {
  const header = [...rows[0]];
  const column = (name: string) => {
    const at = header.findIndex((h) => h.trim().toLowerCase() === name);
    return at >= 0 ? at : header.push(name) - 1;
  };
  const maskCol = column('mask_path');
  const strippedCol = column('skull_stripped');
  const kept = rows.slice(1).flatMap((r, i) => {
    const out = outputs[i];
    if (!out) return [];
    const copy = [...r];
    while (copy.length < header.length) copy.push('');
    copy[col] = out.outPath;
    copy[maskCol] = out.maskPath;
    copy[strippedCol] = String(out.skullStripped);
    return [copy];
  });
  return [header, ...kept];
}

/** --resume's plan against the report: rows with this spec whose outputs are still there stand. */
async function resumePlan(args: Args, report: string, files: string[], specSha256: string): Promise<ResumePlan> {
  if (!args.resume) return { done: new Map(), kept: [] };
  const prior = await readPriorRows(report, ['file', 'sha256', 'spec_sha256', 'status', 'output', 'mask']);
  const finished = (r: Record<string, string>) =>
    r.spec_sha256 === specSha256 &&
    (r.status === 'skipped' || (r.status === 'ok' && existsSync(r.output) && existsSync(r.mask)));
  // A file's outputs are overwritten whatever spec made its earlier rows, so none of those rows stands once it runs again.
  return planResume(prior, files, { same: () => true, finished });
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
  if (csv && path.basename(args.input) === REPORT)
    throw new Error(`${args.input}: the report DIR/${REPORT} would overwrite the rewritten list; rename the list`);
  await mkdir(args.out, { recursive: true });
  const specText = JSON.stringify(spec, null, 2) + '\n';
  await writeFile(path.join(args.out, 'spec.json'), specText);
  const specSha256 = await sha256Hex(new TextEncoder().encode(specText));
  const report = path.join(args.out, REPORT);
  const plan = await resumePlan(
    args,
    report,
    jobs.map((j) => j.input),
    specSha256,
  );
  if (plan.done.size > 0)
    process.stderr.write(
      `--resume: ${plan.done.size} of ${jobs.length} scans are already in ${report}, not run again\n`,
    );
  const outputs = jobs.map((_, i): Written | undefined => {
    const r = plan.done.get(i);
    return r?.status === 'ok'
      ? { outPath: r.output, maskPath: r.mask, skullStripped: r.skull_stripped === 'true' }
      : undefined;
  });
  const todo = [...jobs.entries()].filter(([i]) => !plan.done.has(i));
  const counts: Record<Status, number> = { ok: 0, error: 0, skipped: 0 };
  const tty = process.stderr.isTTY;
  const log = await CsvLog.create(report, Object.keys(COLUMNS), plan.kept);
  try {
    for (const [n, [i, job]] of todo.entries()) {
      const name = path.basename(job.input);
      const o = await preprocessOne(job, spec, specSha256, args.out, (e) => {
        if (tty) process.stderr.write(`\r${progressLine(n, todo.length, name, e)}\x1b[K`);
      });
      await log.append(buildRow(COLUMNS, o));
      outputs[i] = o.written;
      counts[o.status]++;
      const what = o.written
        ? `→ ${path.basename(o.written.outPath)} (${o.maskSource} mask, ${(o.seconds * 1000).toFixed(0)} ms)`
        : `${o.status}: ${o.message}`;
      const line = `[${n + 1}/${todo.length}] ${name} ${what}`;
      process.stderr.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
    }
  } finally {
    await log.close();
  }
  if (csv) {
    const csvOut = path.join(args.out, path.basename(args.input));
    await writeAtomically(csvOut, formatCsv(rewriteCsv(csv.rows, csv.col, outputs)));
    process.stderr.write(`wrote ${csvOut}\n`);
  }
  process.stderr.write(
    `${counts.ok} ok, ${counts.error} error${counts.error === 1 ? '' : 's'}, ${counts.skipped} skipped; report ${report}\n`,
  );
  return counts.error > 0 ? 1 : 0;
}
