/**
 * The sequence-from-content record (issue 18): contentFeatures and decideSequence
 * (src/core/guard/sequence-content.ts) on every scan the project has, each prepared by `qumri preprocess`
 * as the page prepares it, written to records/sequence-content/sequence-content.json.
 *
 *   npx tsx tools/sequence-content.ts [--synth-every N] [--cache DIR] [--out PATH]
 *
 * Sets: the real scans with their lesion-removed twins (data/real-eval/scans.csv, from
 * `python -m experiments.real_scans`), the demo scans (public/demo), every N-th scan (default 4) of each
 * synth cohort folder (data/synth/<cohort>/scans and paired/) and head phantoms (phantom-head.ts). A set
 * whose files are absent is left out and listed as such. The prepared grids stay in the cache (default
 * data/sequence-content/, git-ignored, resumed); the record holds names, features and detections, no voxels.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatCsv, parseCsv } from '../src/cli/batch.ts';
import {
  CONTENT_RULES,
  decideSequence,
  contentFeatures,
  type ContentFeatures,
} from '../src/core/guard/sequence-content.ts';
import { parseNifti } from '../src/core/load/nifti.ts';
import { writeNifti } from '../src/core/load/nifti-write.ts';
import { phantomHead } from '../src/core/preprocess/testing/phantom-head.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: string) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback;
const every = Number(arg('--synth-every', '4'));
const cache = arg('--cache', join(root, 'data/sequence-content'));
const out = arg('--out', join(root, 'records/sequence-content/sequence-content.json'));
const SPEC = 'public/models/ms-flair-resnet34/manifest.json';

interface Scan {
  name: string;
  sequence: string;
  stands_for: string;
  path: string;
  source?: string;
}

function readCsv(file: string): Record<string, string>[] {
  const [head, ...rows] = parseCsv(readFileSync(file, 'utf8')).filter((r) => r.length > 1);
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ''])));
}

const DEMO: Scan[] = [
  ['tsc-flair', 'FLAIR', 'TSC'],
  ['ms-flair', 'FLAIR', 'MS'],
  ['healthy-flair', 'FLAIR', 'healthy'],
  ['tsc-t2w', 'T2w', 'TSC'],
  ['phantom', 'FLAIR', 'simple test phantom (tools/phantom.ts)'],
].map(([stem, sequence, stands_for]) => ({
  name: `demo/${stem}`,
  sequence,
  stands_for,
  path: join(root, 'public/demo', `${stem}.nii.gz`),
}));

function synthSets(): Scan[] {
  const base = join(root, 'data/synth');
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((c) => existsSync(join(base, c, 'manifest.csv')))
    .sort()
    .flatMap((cohort) => {
      const bySubject = new Map(readCsv(join(base, cohort, 'manifest.csv')).map((r) => [r.subject_id, r]));
      return ['scans', 'paired']
        .filter((sub) => existsSync(join(base, cohort, sub)))
        .flatMap((sub) => {
          const files = readdirSync(join(base, cohort, sub))
            .filter((f) => f.endsWith('.nii.gz'))
            .sort()
            .filter((_, i) => i % every === 0);
          return files.map((f) => {
            const stem = f.replace(/\.nii\.gz$/, '');
            const m = bySubject.get(stem.replace(/_nolesion$/, ''));
            return {
              name: `${cohort}/${stem}`,
              // Every cohort is one sequence; its name says which where a subject is missing from the manifest.
              sequence: m?.sequence || (cohort.includes('t2w') ? 'T2w' : 'FLAIR'),
              stands_for: sub === 'paired' ? 'lesion-free pair' : m?.difficulty || 'unknown',
              path: join(base, cohort, sub, f),
            };
          });
        });
    });
}

/** Head phantoms in the unit tests' contrasts, with and without a linear coil shading (relative change per 100 mm, front to back). */
function phantoms(dir: string): Scan[] {
  const contrasts = {
    FLAIR: { csf: 76, gm: 488, wm: 400 },
    T2w: { csf: 1200, gm: 512, wm: 400 },
    T1w: { csf: 100, gm: 280, wm: 400 },
  };
  mkdirSync(dir, { recursive: true });
  const scans: Scan[] = [];
  for (const [sequence, contrast] of Object.entries(contrasts)) {
    for (const deepGrey of sequence === 'FLAIR' ? [true, false] : [true]) {
      for (const stripped of [false, true]) {
        for (const spacing of [
          [1, 1, 4],
          [2, 2, 3],
        ] as [number, number, number][]) {
          for (const shade of [0, 0.2, 0.4]) {
            const { volume } = phantomHead({ contrast, deepGrey, stripped, spacing });
            const [nx, ny] = volume.dims;
            const data = volume.data.map(
              (v, o) => v * (1 + (shade * ((Math.floor(o / nx) % ny) - (ny - 1) / 2) * spacing[1]) / 100),
            );
            const name = `phantom-${sequence}${deepGrey ? '' : '-no-deep-grey'}${stripped ? '-stripped' : ''}-${spacing.join('x')}mm-shade${shade * 100}`;
            const path = join(dir, `${name}.nii.gz`);
            if (!existsSync(path)) writeFileSync(path, writeNifti({ ...volume, data }, { gzip: true }));
            scans.push({ name, sequence, stands_for: deepGrey ? 'head phantom' : 'head phantom, no deep grey', path });
          }
        }
      }
    }
  }
  return scans;
}

/** `qumri preprocess` on a list (resumed); the prepared grid and mask of each scan, by its input path. */
function prepare(set: string, scans: Scan[]): Map<string, { grid: string; mask: string }> {
  const dir = join(cache, set);
  mkdirSync(dir, { recursive: true });
  // Beside the output folder: the CLI writes its rewritten list into it under the same name.
  const list = join(cache, `${set}-inputs.csv`);
  writeFileSync(list, formatCsv([['path'], ...scans.map((s) => [s.path])]));
  try {
    execFileSync(
      process.execPath,
      [join(root, 'bin/qumri.mjs'), 'preprocess', list, '--spec', join(root, SPEC), '--resume', '--out', dir],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  } catch {
    // Exit 1 names the failed scans on stderr; they are recorded as errors below.
  }
  const done = new Map<string, { grid: string; mask: string }>();
  for (const r of readCsv(join(dir, 'qumri-preprocess.csv')))
    if (r.status === 'ok') done.set(r.file, { grid: r.output, mask: r.mask });
  return done;
}

function read(file: string) {
  return parseNifti(new Uint8Array(readFileSync(file)), basename(file)).volume;
}

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);

/**
 * How far inside its own sequence's rules a scan lies: the smallest factor by which a feature clears the
 * threshold it must clear (FLAIR: the better of its two cues). Above 1 it reads right with that margin.
 */
function clearance(sequence: string, f: ContentFeatures): number | null {
  const r = CONTENT_RULES;
  const darkCsf = f.darkTail / r.darkCsfAbove;
  if (sequence === 'T2w') return round(f.brightTail / r.t2wAbove);
  if (sequence === 'FLAIR')
    return round(
      Math.min(
        r.t2wAbove / f.brightTail,
        darkCsf,
        Math.max(f.brightTail / r.flairBrightAbove, f.topTail / r.flairTopAbove),
      ),
    );
  if (sequence === 'T1w')
    return round(Math.min(darkCsf, r.flairBrightAbove / f.brightTail, r.flairTopAbove / f.topTail));
  return null;
}

const t0 = Date.now();
const realList = join(root, 'data/real-eval/scans.csv');
const sets: Record<string, Scan[]> = {
  real: existsSync(realList)
    ? readCsv(realList).map((r) => ({
        name: r.name,
        sequence: r.sequence,
        stands_for: r.stands_for,
        source: r.source,
        path: r.path,
      }))
    : [],
  demo: DEMO,
  synth: synthSets(),
  phantom: phantoms(join(cache, 'phantom-inputs')),
};
const rows = Object.entries(sets).flatMap(([set, scans]) => {
  if (scans.length === 0) return [];
  const prepared = prepare(set, scans);
  return scans.map((s) => {
    const p = prepared.get(s.path);
    const row = {
      set,
      name: s.name,
      ...(s.source ? { source: s.source } : {}),
      sequence: s.sequence,
      stands_for: s.stands_for,
    };
    if (!p) return { ...row, error: 'qumri preprocess failed (see the cache report)' };
    const { data, dims } = read(p.grid);
    const features = contentFeatures({ data, mask: Uint8Array.from(read(p.mask).data), grid: dims });
    const d = decideSequence(features);
    return {
      ...row,
      features: Object.fromEntries(Object.entries(features).map(([k, v]) => [k, round(v)])),
      detected: d.sequence,
      clearance: clearance(s.sequence, features),
    };
  });
});

/** Per set and true sequence: how many, what they read as, each feature's range and the smallest clearance. */
function summary() {
  const groups = new Map<string, typeof rows>();
  for (const r of rows) groups.set(`${r.set} ${r.sequence}`, [...(groups.get(`${r.set} ${r.sequence}`) ?? []), r]);
  return [...groups].map(([key, rs]) => {
    const ok = rs.filter((r) => 'features' in r);
    const range = (k: keyof ContentFeatures) => {
      const v = ok.map((r) => r.features[k]).filter((x): x is number => x !== null);
      return [Math.min(...v), Math.max(...v)];
    };
    const detected: Record<string, number> = {};
    for (const r of ok) detected[r.detected] = (detected[r.detected] ?? 0) + 1;
    const cl = ok.map((r) => r.clearance).filter((x): x is number => x !== null);
    return {
      set: key.split(' ')[0],
      sequence: key.split(' ')[1],
      n: rs.length,
      errors: rs.length - ok.length,
      detected,
      brightTail: range('brightTail'),
      darkTail: range('darkTail'),
      topTail: range('topTail'),
      min_clearance: cl.length ? Math.min(...cl) : null,
    };
  });
}

const spec = JSON.parse(readFileSync(join(root, SPEC), 'utf8')).preprocess;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      format: 'qumri-sequence-content/1',
      id: 'sequence-content',
      script: 'tools/sequence-content.ts',
      command: `npx tsx tools/sequence-content.ts --synth-every ${every}`,
      git_commit: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
      preprocess: { spec_from: SPEC, ...spec },
      rules: CONTENT_RULES,
      synth_every: every,
      sets_absent: Object.entries(sets)
        .filter(([, s]) => s.length === 0)
        .map(([k]) => k),
      clearance:
        'the smallest factor by which a feature clears the threshold its own sequence must clear (FLAIR: the better of its two cues); > 1 reads right with that margin',
      summary: summary(),
      scans: rows,
      wall_time_s: Math.round((Date.now() - t0) / 100) / 10,
    },
    null,
    1,
  )}\n`,
);
console.log(`wrote ${out}: ${rows.length} scans`);
