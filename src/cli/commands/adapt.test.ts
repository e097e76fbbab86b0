import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listBundles, loadBundle } from '../../core/bundle/index.ts';
import { dirSource } from '../../core/bundle/node.ts';
import { convertSeries } from '../../core/load/dicom.ts';
import { stopDcm2niix } from '../../core/load/fuzz/dcm2niix-in-node.ts';
import { writeNifti } from '../../core/load/nifti-write.ts';
import { phantomHead } from '../../core/preprocess/testing/phantom-head.ts';
import { ADAPT_DEFAULTS, type AdaptResult } from '../../core/adapt/index.ts';
import { DEFAULT_CACHE, parseArgs, parseLabels, summary } from './adapt.ts';
import { volumeToDicom, type SeriesOptions } from '../../../e2e/dicom-series.ts';

// The page's DICOM conversion (the package's dcm2niix, a Web Worker there) run in node, to compare
// its hash with the command's.
vi.mock('@niivue/dcm2niix', () => import('../../core/load/fuzz/dcm2niix-in-node.ts'));
afterAll(() => stopDcm2niix());

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = path.join(ROOT, 'bin/qumri.mjs');
const MODEL = path.join(ROOT, 'fixtures/bundles/tiny-qresnet');

describe('qumri adapt', () => {
  // Six small phantom heads (3 mm), three per class, the TSC ones with a brighter cortex.
  const dir = mkdtempSync(path.join(tmpdir(), 'qumri-adapt-'));
  const scans = Array.from({ length: 6 }, (_, i) => {
    const label = i % 2 ? 'TSC' : 'healthy';
    const file = `head-${i}.nii.gz`;
    const contrast = { csf: 80, gm: label === 'TSC' ? 560 : 480, wm: 400 };
    writeFileSync(
      path.join(dir, file),
      writeNifti(phantomHead({ seed: i + 1, spacing: [3, 3, 3], contrast }).volume, { gzip: true }),
    );
    return { file, label };
  });
  const labels = (rows: { file: string; label: string }[], name: string): string => {
    const csv = path.join(dir, name);
    writeFileSync(csv, ['file,label', ...rows.map((r) => `${r.file},${r.label}`)].join('\n'));
    return csv;
  };
  const csv = labels(scans, 'labels.csv');
  const cache = path.join(dir, 'cache');
  const models = path.join(dir, 'models');
  // Any socket or fetch in the command fails it: the scans never leave the machine.
  const offline = path.join(dir, 'offline.cjs');
  writeFileSync(
    offline,
    "const fail = () => { throw new Error('network use'); };\nrequire('node:net').Socket.prototype.connect = fail;\nglobalThis.fetch = fail;\n",
  );
  const adapt = (...args: string[]) =>
    spawnSync('node', ['--require', offline, BIN, 'adapt', '--model', MODEL, '--cache', cache, ...args], {
      encoding: 'utf8',
    });

  it("writes a bundle that passes the registry's checks, with its card, and classify loads it", async () => {
    const out = path.join(models, 'site-a');
    const r = adapt('--train', csv, '--out', out);
    expect(r.stderr).not.toMatch(/network use/);
    expect(r.status).toBe(0);
    expect(r.stderr.match(/features in [\d.]+ s/g)).toHaveLength(6);
    expect(r.stdout).toMatch(
      /^adapted tiny-qresnet on 3 healthy, 3 TSC, leave-one-out \(6 folds\): kept \d+ of 150 fine-tuning steps/,
    );
    expect(r.stdout).toMatch(/before \(shipped head\) +\d\.\d{3} \(\d\.\d{3}–\d\.\d{3}\)/);
    expect(r.stdout).toMatch(/the scans never left this machine/);

    writeFileSync(path.join(models, 'index.json'), JSON.stringify({ models: ['site-a'] }));
    const [entry] = await listBundles({
      label: models,
      read: async (p) => new Uint8Array(await readFile(path.join(models, p))),
    });
    expect(entry.error).toBeUndefined();
    const bundle = await loadBundle(dirSource(out));
    expect(bundle.backbone).toEqual(new Uint8Array(readFileSync(path.join(MODEL, 'backbone.onnx'))));
    const m = bundle.manifest;
    expect(m.id).toBe('site-a');
    expect(Object.keys(m.files).sort()).toEqual(['backbone.onnx', 'head.json']);
    expect(m.adapted).toMatchObject({
      from: {
        id: 'tiny-qresnet',
        manifest_sha256: createHash('sha256')
          .update(readFileSync(path.join(MODEL, 'manifest.json')))
          .digest('hex'),
      },
      scans: { healthy: 3, TSC: 3 },
      cross_validation: 'leave-one-out (6 folds)',
      scans_left_machine: false,
    });
    expect(Date.now() - Date.parse(m.adapted!.date)).toBeLessThan(10 * 60_000);
    for (const when of ['before', 'after'] as const) {
      const { auc, acc } = m.adapted!.metrics[when];
      for (const v of [auc, acc]) expect(v.ci95![0]).toBeLessThanOrEqual(v.value);
    }

    const c = spawnSync(
      'node',
      [BIN, 'classify', path.join(dir, scans[0].file), path.join(dir, scans[1].file), '--model', out, '--json'],
      { encoding: 'utf8' },
    );
    expect(c.status).toBe(0);
    const rows = JSON.parse(c.stdout) as {
      model: string;
      status: string;
      probability: number;
      probability_calibrated: number | null;
    }[];
    expect(rows.map((x) => [x.model, x.status])).toEqual([
      ['site-a', 'ok'],
      ['site-a', 'ok'],
    ]);
    rows.forEach((x) => expect(x.probability).toBeGreaterThan(0));
    expect(rows[0].probability_calibrated === null).toBe(m.calibration === undefined);
  });

  it('caches features by file hash: a second run reads them all and writes the same head', () => {
    const r = adapt('--train', csv, '--out', path.join(models, 'site-b'));
    expect(r.status).toBe(0);
    expect(r.stderr.match(/cached features/g)).toHaveLength(6);
    expect(readFileSync(path.join(models, 'site-b', 'head.json'), 'utf8')).toBe(
      readFileSync(path.join(models, 'site-a', 'head.json'), 'utf8'),
    );
  });

  // A seventh scan (healthy) as a DICOM series in a folder of its own, extension-less slice files as scanners write them.
  const seventh = phantomHead({ seed: 7, spacing: [3, 3, 3], contrast: { csf: 80, gm: 480, wm: 400 } }).volume;
  const flair: SeriesOptions = { seriesNumber: 7, seriesDescription: 'AX FLAIR' };
  const folder = (name: string, ...series: { name: string; bytes: Uint8Array }[][]): string => {
    mkdirSync(path.join(dir, name));
    for (const f of series.flat()) writeFileSync(path.join(dir, name, f.name), f.bytes);
    return name;
  };
  const series = folder('series-7', volumeToDicom(seventh, flair));

  it("adapts on NIfTI scans and a DICOM series folder, whose features are cached by the page's hash", async () => {
    const r = adapt(
      '--train',
      labels([...scans, { file: series, label: 'healthy' }], 'mixed.csv'),
      '--out',
      path.join(dir, 'mixed-out'),
      '--json',
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^\[7\/7\] series-7 \(healthy\): features in [\d.]+ s$/m);
    expect(JSON.parse(r.stdout)).toMatchObject({
      card: { scans: { healthy: 4, TSC: 3 }, cross_validation: 'leave-one-out (7 folds)' },
    });
    // The page hashes the series' NIfTI as its load worker converts it: the same bytes, the same cache entry.
    const files = volumeToDicom(seventh, flair).map((f) => ({
      file: new File([f.bytes.slice()], f.name),
      path: f.name,
    }));
    const [page] = await convertSeries(files);
    const sha = createHash('sha256').update(page.bytes).digest('hex');
    expect(readdirSync(cache, { recursive: true }).map((p) => path.basename(String(p)))).toContain(`${sha}.f32`);
  });

  it.each([
    [
      'two series in one folder',
      () =>
        folder(
          'two-series',
          volumeToDicom(seventh, flair),
          volumeToDicom(phantomHead({ seed: 8, spacing: [6, 6, 6] }).volume, {
            seriesNumber: 3,
            seriesDescription: 'AX T2 TSE',
          }),
        ),
      /two-series: 2 DICOM series in one folder \(DICOM series #3 AX T2 TSE \(33 × 38 × 33\); DICOM series #7 AX FLAIR \(67 × 77 × 67\)\): .* move each series into a folder of its own/,
    ],
    [
      'DICOM files without pixel data',
      () => folder('no-pixels', volumeToDicom(seventh, { ...flair, pixelData: false })),
      /no-pixels: no DICOM image series among its 67 file\(s\)/,
    ],
    ['an empty folder', () => folder('empty'), /empty: an empty folder/],
    [
      'one DICOM file instead of its folder',
      () => `${series}/S7_IM0001`,
      /series-7\/S7_IM0001: a DICOM file, one slice of a series: name the folder that holds the whole series instead/,
    ],
  ])('names a DICOM row with %s (exit 1, nothing written)', (_, make, message) => {
    const out = path.join(dir, 'folder-out');
    const r = adapt('--train', labels([...scans, { file: make(), label: 'healthy' }], 'folder.csv'), '--out', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses fewer than 3 scans of a class unless --force', () => {
    const few = labels(scans.slice(0, 5), 'few.csv');
    const out = path.join(dir, 'few-out');
    const r = adapt('--train', few, '--out', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /only 2 labelled "TSC": adaptation needs at least 3 scans of each class .*; --force adapts anyway/,
    );
    expect(r.stderr).not.toMatch(/features/);
    const forced = adapt('--train', few, '--out', out, '--force', '--json');
    expect(forced.status).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({
      id: 'few-out',
      card: { scans: { healthy: 3, TSC: 2 } },
      caveats: [],
    });
  });

  it.each([
    [
      "a label not among the model's classes",
      [...scans.slice(0, 5), { file: scans[5].file, label: 'MS' }],
      /head-5\.nii\.gz: label "MS" is not one of the model's classes \(healthy, TSC\)/,
    ],
    ['a missing scan', [...scans, { file: 'nope.nii.gz', label: 'TSC' }], /nope\.nii\.gz: ENOENT/],
    [
      'the same scan twice',
      [...scans, { file: scans[0].file, label: 'healthy' }],
      /head-0\.nii\.gz and head-0\.nii\.gz are the same file .* list each scan once/,
    ],
  ])('names %s (exit 1)', (_, rows, message) => {
    const r = adapt('--train', labels(rows, 'bad.csv'), '--out', path.join(dir, 'bad-out'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  it('--preprocessed takes scans already on the model grid (its own cache entries)', () => {
    const refs = [0, 1, 2].map((i) => ({
      file: path.join(MODEL, `reference-${i}.nii.gz`),
      label: i === 0 ? 'healthy' : 'TSC',
    }));
    const r = adapt(
      '--train',
      labels(refs, 'grid.csv'),
      '--out',
      path.join(dir, 'grid-out'),
      '--preprocessed',
      '--force',
      '--json',
    );
    expect(r.status).toBe(0);
    expect(r.stderr.match(/features in [\d.]+ s/g)).toHaveLength(3);
    expect(JSON.parse(r.stdout)).toMatchObject({
      card: { scans: { healthy: 1, TSC: 2 }, cross_validation: 'leave-one-out (3 folds)' },
    });
    const wrongGrid = adapt('--train', csv, '--out', path.join(dir, 'grid-out'), '--preprocessed');
    expect(wrongGrid.status).toBe(1);
    expect(wrongGrid.stderr).toMatch(/--preprocessed input is 67×77×67, the model grid is 32×32×32/);
  });

  it('never overwrites the source bundle or a bundle it did not write', () => {
    const own = adapt('--train', csv, '--out', MODEL);
    expect(own.status).toBe(1);
    expect(own.stderr).toMatch(/--out .*tiny-qresnet is the model's own folder/);
    const shipped = path.join(dir, 'shipped-copy');
    mkdirSync(shipped);
    writeFileSync(path.join(shipped, 'manifest.json'), readFileSync(path.join(MODEL, 'manifest.json')));
    const other = adapt('--train', csv, '--out', shipped);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/holds a bundle that qumri adapt did not write: choose an empty folder/);
    expect(readFileSync(path.join(shipped, 'manifest.json'))).toEqual(readFileSync(path.join(MODEL, 'manifest.json')));
  });

  it('exits 2 on bad usage', () => {
    expect(adapt('--train', csv).status).toBe(2);
  });
});

describe('arguments and labels.csv', () => {
  it('reads options', () => {
    const a = parseArgs([
      '--model',
      'm',
      '--train',
      'l.csv',
      '--out',
      'o',
      '--seed',
      '3',
      '--epochs',
      '40',
      '--lr',
      '0.02',
      '--l2',
      '0',
      '--folds',
      '4',
      '--force',
      '--preprocessed',
    ]);
    expect(a).toMatchObject({
      model: 'm',
      train: 'l.csv',
      out: 'o',
      cache: DEFAULT_CACHE,
      preprocessed: true,
      options: { seed: 3, epochs: 40, lr: 0.02, l2: 0, folds: 4, force: true },
    });
  });

  it.each([
    [['--train', 'l', '--out', 'o'], /--model is required/],
    [['--model', 'm', '--out', 'o'], /--train is required/],
    [['--model', 'm', '--train', 'l'], /--out is required/],
    [['--model', 'm', '--train', 'l', '--out', 'o', '--epochs', '0'], /--epochs 0: expected a positive integer/],
    [['--model', 'm', '--train', 'l', '--out', 'o', '--lr', 'fast'], /--lr fast: expected a positive number/],
    [
      ['--model', 'm', '--train', 'l', '--out', 'o', 'scan.nii'],
      /Unexpected argument 'scan\.nii'.*\(scans are listed in --train\)/,
    ],
    [['--model', 'm', '--train', 'l', '--out', 'o', '--fast'], /Unknown option '--fast'/],
    [['--model', '--train', 'l', '--out', 'o'], /Option '--model' argument is ambiguous/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it("resolves files against the CSV's folder and names a bad row", () => {
    expect(parseLabels('file,label\na.nii.gz, TSC\n/abs/b.nii,healthy\n', '/data/site/labels.csv')).toEqual([
      { name: 'a.nii.gz', file: '/data/site/a.nii.gz', label: 'TSC' },
      { name: '/abs/b.nii', file: '/abs/b.nii', label: 'healthy' },
    ]);
    expect(() => parseLabels('scan,class\na,b\n', 'l.csv')).toThrow(
      /l\.csv: expected the columns file,label, got scan,class/,
    );
    expect(() => parseLabels('file,label\na.nii,\n', 'l.csv')).toThrow(/l\.csv row 2: needs both a file and a label/);
    expect(() => parseLabels('file,label\n', 'l.csv')).toThrow(/no scans listed/);
  });
});

describe('the summary says when adaptation did not help', () => {
  const m = (value: number) => ({ value, ci95: [value - 0.1, value + 0.1] as [number, number] });
  const result = (epochs: number, before: number, after: number): AdaptResult => ({
    head: { layers: [] },
    threshold: 0.4,
    calibration: null,
    calibrationProblem: 'Platt slope -1 ≤ 0',
    epochs,
    folds: 'leave-one-out (6 folds)',
    perClass: { healthy: 3, TSC: 3 },
    heldOutLoss: { before: 0.7, after: 0.6 },
    before: { auc: m(before), acc: m(0.5) },
    after: { auc: m(after), acc: m(0.6) },
    predictions: { names: [], labels: [], before: [], after: [] },
    options: { ...ADAPT_DEFAULTS, epochs: 100 },
  });

  it.each([
    [result(0, 0.7, 0.7), /fine-tuning did not lower the cross-validated loss: the head is the shipped one/],
    [result(40, 0.8, 0.7), /adaptation lowered the cross-validated AUC: consider keeping m0/],
    [result(100, 0.6, 0.8), /the held-out loss was still falling at the last step: --epochs 200 tries more/],
  ])('%#', (r, message) => {
    const text = summary(r, 'm0', 'out', 0.5, ['m0 fails its checks on real scans (x)']);
    expect(text).toMatch(/^note: m0 fails its checks on real scans \(x\)$/m);
    expect(text).toMatch(message);
    expect(text).toMatch(/no calibration: Platt slope -1 ≤ 0/);
    expect(text).toMatch(/after +0\.\d{3} \(0\.\d{3}–0\.\d{3}\) +0\.600 \(0\.500–0\.700\) at threshold 0\.400/);
  });

  it('says nothing of the kind when adaptation helped within the step budget', () => {
    expect(summary(result(40, 0.6, 0.8), 'm0', 'out', 0.5)).not.toMatch(/did not|lowered the|still falling/);
  });
});
