import { afterAll, describe, expect, it, vi } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COLUMNS, gradCamPaths, parseArgs, usage } from './classify.ts';
import { parseCsv } from '../batch.ts';
import { parseNifti } from '../../core/load/nifti.ts';
import { writeNifti } from '../../core/load/nifti-write.ts';
import { phantomHead } from '../../core/preprocess/testing/phantom-head.ts';
import { convertSeries } from '../../core/load/dicom.ts';
import { stopDcm2niix } from '../../core/load/fuzz/dcm2niix-in-node.ts';
import { volumeToDicom, type SeriesOptions } from '../../../e2e/dicom-series.ts';

// The page's DICOM conversion (the package's dcm2niix, a Web Worker there) run in node: the test
// classifies its NIfTI output beside the series the command converts itself.
vi.mock('@niivue/dcm2niix', () => import('../../core/load/fuzz/dcm2niix-in-node.ts'));
afterAll(() => stopDcm2niix());

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = path.join(ROOT, 'bin/qumri.mjs');
const BUNDLES = [
  'fixtures/bundles/tiny-q',
  'fixtures/bundles/tiny-c',
  // The exporter's bundles (issue #4), checked too when present.
  'fixtures/bundles/tiny-qresnet',
  'fixtures/bundles/tiny-resnet',
].filter((b) => existsSync(path.join(ROOT, b, 'reference.json')));

interface Reference {
  inputs: { file: string; probability: number }[];
}

describe('qumri classify --preprocessed --json', () => {
  it.each(BUNDLES)('matches the torch probabilities in %s/reference.json within 1e-4', (bundle) => {
    const dir = path.join(ROOT, bundle);
    const ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
    const files = ref.inputs.map((r) => path.join(dir, r.file));
    const out = execFileSync('node', [BIN, 'classify', ...files, '--model', dir, '--preprocessed', '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const rows = JSON.parse(out) as { file: string; probability: number; class: string; model: string }[];
    expect(rows.map((r) => r.file)).toEqual(files);
    rows.forEach((r, i) => expect(Math.abs(r.probability - ref.inputs[i].probability)).toBeLessThan(1e-4));
  });

  it("--explain writes each scan's Grad-CAM on its own voxels, in [0, 1], and names it in the row", () => {
    const dir = path.join(ROOT, 'fixtures/bundles/tiny-qresnet');
    const ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
    const files = ref.inputs.map((r) => path.join(dir, r.file));
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'qumri-cam-')), 'maps');
    const json = execFileSync(
      'node',
      [BIN, 'classify', ...files, '--model', dir, '--preprocessed', '--json', '--explain', out],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const rows = JSON.parse(json) as { file: string; probability: number; gradcam: string }[];
    rows.forEach((r, i) => {
      expect(Math.abs(r.probability - ref.inputs[i].probability)).toBeLessThan(1e-4);
      expect(r.gradcam).toBe(path.join(out, `reference-${i}.gradcam.nii.gz`));
      const scan = parseNifti(new Uint8Array(readFileSync(files[i])), 'in').volume;
      const cam = parseNifti(new Uint8Array(readFileSync(r.gradcam)), 'cam').volume;
      expect(cam.dims).toEqual(scan.dims);
      expect(cam.affine.map((v) => Number(v.toFixed(4)))).toEqual(scan.affine.map((v) => Number(v.toFixed(4))));
      expect(Math.max(...cam.data)).toBeCloseTo(1, 6);
      expect(Math.min(...cam.data)).toBeGreaterThanOrEqual(0);
      expect(cam.data.filter((v) => v > 0.5).length).toBeLessThan(cam.data.length);
    });
  });

  it('--explain refuses two inputs that would write the same map', () => {
    expect(() => gradCamPaths(['a/x.nii.gz', 'b/x.nii'], 'out')).toThrow(
      /a\/x\.nii\.gz and b\/x\.nii would both write out\/x\.gradcam\.nii\.gz/,
    );
    expect(gradCamPaths(['a/x.nii.gz', 'a/y.nii'], 'out')).toEqual(['out/x.gradcam.nii.gz', 'out/y.gradcam.nii.gz']);
  });

  it('writes a CSV with the documented columns', () => {
    const dir = path.join(ROOT, BUNDLES[0]);
    const csv = path.join(mkdtempSync(path.join(tmpdir(), 'qumri-')), 'out.csv');
    execFileSync('node', [BIN, 'classify', dir, '--model', dir, '--preprocessed', '--csv', csv], { stdio: 'ignore' });
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    // docs/cli.md names these columns.
    expect(lines[0]).toBe(
      'file,model,status,sequence,detected_sequence,in_distribution,ood_score,probability,probability_calibrated,class,doubt,seconds,gradcam,sha256,error',
    );
    expect(lines).toHaveLength(1 + readdirSync(dir).filter((f) => f.endsWith('.nii.gz')).length);
    expect(usage).toContain(Object.keys(COLUMNS).join(','));
  });

  it('refuses a tampered bundle with exit code 1 and names the file', () => {
    const dir = path.join(ROOT, BUNDLES[0]);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    manifest.files['head.json'].sha256 = '0'.repeat(64);
    const tmp = mkdtempSync(path.join(tmpdir(), 'qumri-bad-'));
    for (const f of readdirSync(dir)) execFileSync('cp', [path.join(dir, f), tmp]);
    execFileSync('node', [
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(path.join(tmp, 'manifest.json'))}, ${JSON.stringify(JSON.stringify(manifest))})`,
    ]);
    const r = spawnSync('node', [BIN, 'classify', path.join(tmp, 'input0.nii.gz'), '--model', tmp, '--preprocessed'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/head\.json has sha256 .* refusing the model/);
  });

  it('rejects an input that is not on the model grid', () => {
    const dir = path.join(ROOT, BUNDLES[0]);
    const other = BUNDLES.find((b) => b.endsWith('resnet')); // an exporter bundle: a 32³ grid
    if (!other) return;
    const ref = JSON.parse(readFileSync(path.join(ROOT, other, 'reference.json'), 'utf8')) as Reference;
    const r = spawnSync(
      'node',
      [BIN, 'classify', path.join(ROOT, other, ref.inputs[0].file), '--model', dir, '--preprocessed'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--preprocessed input is 32×32×32, the model grid is 16×12×10/);
  });
});

describe('parseArgs', () => {
  it('reads options and inputs', () => {
    expect(parseArgs(['a.nii', '--model', 'm', '--json', '--threads', '1', 'b.nii.gz'])).toMatchObject({
      inputs: ['a.nii', 'b.nii.gz'],
      model: 'm',
      json: true,
      threads: 1,
      preprocessed: false,
    });
    expect(parseArgs(['a.nii', '--model', 'm', '--explain', 'maps']).explain).toBe('maps');
    expect(parseArgs(['a.nii', '--model', 'm', '--csv', 'o.csv', '--resume'])).toMatchObject({
      csv: 'o.csv',
      resume: true,
    });
  });
  it.each([
    [['a.nii'], /--model <id\|path> is required/],
    [['--model', 'm'], /at least one NIfTI/],
    [['a.nii', '--model'], /--model needs a value/],
    [['a.nii', '--model', 'm', '--threads', '0'], /--threads 0: expected a positive integer/],
    [['a.nii', '--model', 'm', '--fast'], /unknown option --fast/],
    [['a.nii', '--model', 'm', '--explain'], /--explain needs a value/],
    [['a.nii', '--model', 'm', '--resume'], /--resume needs --csv FILE/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
  it('exits 2 on bad usage', () => {
    const r = spawnSync('node', [BIN, 'classify', 'x.nii'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
  });
});

describe('a batch that never loses work', () => {
  const model = path.join(ROOT, 'fixtures/bundles/tiny-qresnet');
  const ref = JSON.parse(readFileSync(path.join(model, 'reference.json'), 'utf8')) as Reference;

  /** Two good scans (on the model grid, so --preprocessed), a lesion mask and a truncated scan, in a fresh folder. */
  function batch(): { dir: string; good: string[]; mask: string; truncated: string } {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'qumri-batch-')), 'scans');
    mkdirSync(dir);
    const good = [0, 1].map((i) => path.join(dir, `scan-${i}.nii.gz`));
    good.forEach((f, i) => copyFileSync(path.join(model, ref.inputs[i].file), f));
    const scan = parseNifti(new Uint8Array(readFileSync(good[0])), 'scan').volume;
    const mask = path.join(dir, 'scan-0_lesion.nii.gz');
    writeFileSync(
      mask,
      writeNifti(
        { ...scan, datatype: 'uint8', data: scan.data.map((v) => (v > 0.5 ? 1 : 0)) },
        { datatype: 'uint8', gzip: true },
      ),
    );
    const truncated = path.join(dir, 'scan-2.nii.gz');
    const whole = readFileSync(path.join(model, ref.inputs[2].file));
    writeFileSync(truncated, whole.subarray(0, whole.length >> 1));
    return { dir, good, mask, truncated };
  }

  const classify = (...args: string[]) =>
    spawnSync('node', [BIN, 'classify', ...args, '--model', model, '--preprocessed'], { encoding: 'utf8' });
  type CsvRow = Record<string, string>;
  const readRows = (csv: string): CsvRow[] => {
    const [header, ...rows] = parseCsv(readFileSync(csv, 'utf8'));
    return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
  };
  const expectProbabilities = (rows: { probability?: string | number | null }[]) =>
    rows.forEach((r, i) => expect(Math.abs(Number(r.probability) - ref.inputs[i].probability)).toBeLessThan(1e-4));

  it('named files: 4 rows, 2 probabilities and 2 errors (the mask and the truncated file), exit 1', () => {
    const b = batch();
    const csv = path.join(b.dir, '..', 'out.csv');
    const r = classify(...b.good, b.mask, b.truncated, '--csv', csv);
    expect(r.status).toBe(1);
    const rows = readRows(csv);
    expect(rows.map((x) => [x.file, x.status])).toEqual([
      [b.good[0], 'ok'],
      [b.good[1], 'ok'],
      [b.mask, 'error'],
      [b.truncated, 'error'],
    ]);
    expectProbabilities(rows.slice(0, 2));
    expect(rows.slice(0, 2).map((x) => x.error)).toEqual(['', '']);
    expect(rows[2].error).toBe(
      'scan-0_lesion.nii.gz looks like a mask or label map, not a scan: uint8 voxels with 2 distinct values (0, 1)',
    );
    expect(rows[3].error).toMatch(/^scan-2\.nii\.gz: the gzip data is truncated/);
    expect(rows[2].probability + rows[3].probability).toBe('');
    for (const [i, f] of [...b.good, b.mask, b.truncated].entries())
      expect(rows[i].sha256).toBe(createHash('sha256').update(readFileSync(f)).digest('hex'));
    expect(r.stderr).toMatch(/^2 ok, 2 errors, 0 skipped$/m);
  });

  it('a folder: the mask is skipped, not an error; --json rows say why; exit 1 for the truncated file', () => {
    const b = batch();
    const r = classify(b.dir, '--json');
    expect(r.status).toBe(1);
    const rows = JSON.parse(r.stdout) as {
      file: string;
      status: string;
      probability: number | null;
      error: string | null;
    }[];
    expect(rows.map((x) => [path.basename(x.file), x.status])).toEqual([
      ['scan-0.nii.gz', 'ok'],
      ['scan-0_lesion.nii.gz', 'skipped'],
      ['scan-1.nii.gz', 'ok'],
      ['scan-2.nii.gz', 'error'],
    ]);
    expectProbabilities([rows[0], rows[2]]);
    expect(rows[1]).toMatchObject({
      probability: null,
      error: 'looks like a mask or label map, not a scan: uint8 voxels with 2 distinct values (0, 1)',
    });
    expect(rows[3].error).toMatch(/gzip data is truncated/);
  });

  it('a folder of masks only exits 0: skipping is not failing', () => {
    const b = batch();
    const dir = path.join(b.dir, '..', 'masks');
    mkdirSync(dir);
    copyFileSync(b.mask, path.join(dir, 'a.nii.gz'));
    const r = classify(dir, '--json');
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { status: string }[]).map((x) => x.status)).toEqual(['skipped']);
  });

  it('--resume runs again only what failed or changed, and keeps one row per input', () => {
    const b = batch();
    const csv = path.join(b.dir, '..', 'out.csv');
    expect(classify(b.dir, '--csv', csv).status).toBe(1);
    const first = readFileSync(csv, 'utf8').trim().split('\n');

    // Nothing changed: only the truncated file (an error) is tried again, and fails again.
    let r = classify(b.dir, '--csv', csv, '--resume', '--json');
    expect(r.status).toBe(1);
    expect((JSON.parse(r.stdout) as { file: string }[]).map((x) => x.file)).toEqual([b.truncated]);
    expect(r.stderr).toMatch(/--resume: 3 of 4 inputs are already in .*out\.csv, not run again/);
    const second = readFileSync(csv, 'utf8').trim().split('\n');
    expect(second).toHaveLength(5);
    expect(second.slice(0, 4)).toEqual(first.filter((l) => !l.startsWith(`${b.truncated},`)));

    // The truncated file repaired: it alone runs, the batch is complete, exit 0.
    copyFileSync(path.join(model, ref.inputs[2].file), b.truncated);
    r = classify(b.dir, '--csv', csv, '--resume', '--json');
    expect(r.status).toBe(0);
    const rerun = JSON.parse(r.stdout) as { file: string; status: string; probability: number }[];
    expect(rerun.map((x) => [x.file, x.status])).toEqual([[b.truncated, 'ok']]);
    expect(Math.abs(rerun[0].probability - ref.inputs[2].probability)).toBeLessThan(1e-4);
    const rows = readRows(csv);
    expect(rows.map((x) => x.status).sort()).toEqual(['ok', 'ok', 'ok', 'skipped']);
    const seconds = Object.keys(COLUMNS).indexOf('seconds');
    expect(rows.slice(0, 3).map((x) => x.seconds)).toEqual(second.slice(1, 4).map((l) => parseCsv(l)[0][seconds]));

    // Another model's rows stay; that model runs everything afresh.
    r = spawnSync(
      'node',
      [
        BIN,
        'classify',
        b.dir,
        '--model',
        path.join(ROOT, 'fixtures/bundles/tiny-resnet'),
        '--preprocessed',
        '--csv',
        csv,
        '--resume',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(4);
    expect(readRows(csv).map((x) => x.model)).toEqual([
      ...Array(4).fill('tiny-qresnet'),
      ...Array(4).fill('tiny-resnet'),
    ]);
  });

  it('a missing path is a row too, and the others are still classified', () => {
    const b = batch();
    const r = classify(b.good[0], path.join(b.dir, 'nope.nii.gz'), '--json');
    expect(r.status).toBe(1);
    const rows = JSON.parse(r.stdout) as { status: string; error: string | null }[];
    expect(rows.map((x) => x.status)).toEqual(['ok', 'error']);
    expect(rows[1].error).toMatch(/nope\.nii\.gz: no such file or folder/);
  });
});

describe('the withheld rule', () => {
  // A FLAIR model on the 64³ grid the content rules were measured on; it has no OOD model yet.
  const model = path.join(ROOT, 'public/models/ms-flair-resnet34');
  const contrasts = { FLAIR: { csf: 76, gm: 488, wm: 400 }, T1w: { csf: 100, gm: 280, wm: 400 } };
  const dir = mkdtempSync(path.join(tmpdir(), 'qumri-withheld-'));
  const files = Object.fromEntries(
    Object.entries(contrasts).map(([name, contrast]) => {
      const file = path.join(dir, `head-${name}.nii.gz`);
      writeFileSync(
        file,
        writeNifti(phantomHead({ contrast, deepGrey: true, spacing: [1, 1, 4] }).volume, { gzip: true }),
      );
      return [name, file];
    }),
  );
  type Out = { detected_sequence: string; class: string; doubt: string | null; probability: number };
  const classify = (...args: string[]): Out[] =>
    JSON.parse(
      execFileSync('node', [BIN, 'classify', ...args, '--model', model, '--json'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
  const classes = JSON.parse(readFileSync(path.join(model, 'manifest.json'), 'utf8')).classes as string[];

  it('withholds the class of a T1w given to a FLAIR model, keeps its probability, and says why', () => {
    const [flair, t1] = classify(files.FLAIR, files.T1w);
    expect(flair.detected_sequence).toBe('FLAIR');
    if (flair.doubt === null) expect(classes).toContain(flair.class);
    else expect(flair.doubt).not.toMatch(/reads as|does not read/);
    expect(t1).toMatchObject({ detected_sequence: 'T1w', class: 'withheld' });
    expect(t1.doubt).toMatch(/^the image reads as T1w, the model is for FLAIR/);
    expect(t1.probability).toBeGreaterThan(0);
  });

  it('--force gives the class and still says why it is doubtful', () => {
    const [t1] = classify(files.T1w, '--force');
    expect(classes).toContain(t1.class);
    expect(t1.doubt).toMatch(/reads as T1w/);
  });

  it('a model failing its real-scan checks is withheld on every input but the demo phantoms; --no-model-check measures the model itself', () => {
    // A copy of the bundle whose card records a failed check (the shipped cards change as models are retrained).
    const failing = path.join(dir, 'failing-model');
    mkdirSync(failing);
    for (const f of readdirSync(model)) copyFileSync(path.join(model, f), path.join(failing, f));
    const manifest = JSON.parse(readFileSync(path.join(model, 'manifest.json'), 'utf8'));
    manifest.ood = undefined;
    manifest.real_scans = {
      measured_on: 'test',
      results: [],
      unmeasured: 'test',
      fails: ['real MS FLAIR called MS: 1 of 9 (need ≥ 80%)'],
    };
    writeFileSync(path.join(failing, 'manifest.json'), JSON.stringify(manifest));
    const run = (...args: string[]): Out[] =>
      JSON.parse(
        execFileSync('node', [BIN, 'classify', ...args, '--model', failing, '--json'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
    const demo = path.join(ROOT, 'public/demo/ms-flair.nii.gz');
    const [user, demoRow] = run(files.FLAIR, demo);
    expect(user).toMatchObject({ class: 'withheld' });
    expect(user.doubt).toMatch(
      /this model fails its checks on real scans \(real MS FLAIR called MS: 1 of 9 \(need ≥ 80%\)\)/,
    );
    expect(classes).toContain(demoRow.class);
    expect(demoRow.doubt ?? '').not.toMatch(/fails its checks/);
    const [measured] = run(files.FLAIR, '--no-model-check');
    expect(measured.doubt ?? '').not.toMatch(/fails its checks/);
    expect(measured.probability).toBe(user.probability);
  });
});

describe('DICOM series folders', () => {
  // The withheld rule's FLAIR model and FLAIR-contrast phantom; --no-model-check so that only the
  // per-scan checks speak (the shipped model fails its real-scan checks).
  const model = path.join(ROOT, 'public/models/ms-flair-resnet34');
  const dir = mkdtempSync(path.join(tmpdir(), 'qumri-dicom-'));
  const volume = phantomHead({ contrast: { csf: 76, gm: 488, wm: 400 }, deepGrey: true, spacing: [1, 1, 4] }).volume;
  const nifti = path.join(dir, 'head.nii.gz');
  writeFileSync(nifti, writeNifti(volume, { gzip: true }));
  // A 2D FLAIR's times (ms, as DICOM records them), and a spin-echo T1's: short echo and repetition, no inversion.
  const flair: SeriesOptions = {
    seriesNumber: 4,
    seriesDescription: 'AX FLAIR',
    echoTime: 90,
    repetitionTime: 9000,
    inversionTime: 2500,
  };
  const t1: SeriesOptions = { seriesNumber: 5, seriesDescription: 'AX T1 SE', echoTime: 12, repetitionTime: 500 };
  const folder = (name: string, ...series: { name: string; bytes: Uint8Array }[][]): string => {
    const p = path.join(dir, name);
    mkdirSync(p, { recursive: true });
    for (const f of series.flat()) writeFileSync(path.join(p, f.name), f.bytes);
    return p;
  };
  const flairSeries = folder('flair-series', volumeToDicom(volume, flair));
  const t1Series = folder('t1-series', volumeToDicom(volume, t1));

  type Out = {
    file: string;
    status: string;
    sequence: string | null;
    detected_sequence: string | null;
    in_distribution: boolean | null;
    ood_score: number | null;
    probability: number | null;
    probability_calibrated: number | null;
    class: string | null;
    doubt: string | null;
    sha256: string | null;
    error: string | null;
  };
  const classify = (...args: string[]) =>
    spawnSync('node', [BIN, 'classify', ...args, '--model', model, '--no-model-check', '--json'], { encoding: 'utf8' });

  it("classifies a series folder beside a NIfTI file as the page's conversion of it, reading the sequence from its acquisition times", async () => {
    const files = volumeToDicom(volume, flair).map((f) => ({
      file: new File([f.bytes.slice()], f.name),
      path: f.name,
    }));
    const [page] = await convertSeries(files);
    expect(page.acquisition).toEqual({ echoTime: 0.09, repetitionTime: 9, inversionTime: 2.5 });
    const converted = path.join(dir, 'converted.nii');
    writeFileSync(converted, page.bytes);
    const csv = path.join(dir, 'out.csv');
    const r = classify(nifti, flairSeries, t1Series, converted, '--csv', csv);
    expect(r.status).toBe(0);
    const [head, series, t1Row, asNifti] = JSON.parse(r.stdout) as Out[];
    expect([head, series, t1Row, asNifti].map((x) => [x.file, x.status])).toEqual([
      [nifti, 'ok'],
      [flairSeries, 'ok'],
      [t1Series, 'ok'],
      [converted, 'ok'],
    ]);
    // The same volume, the same bytes (hashed as the page hashes them), the same answer.
    const sha = createHash('sha256').update(page.bytes).digest('hex');
    expect(series.sha256).toBe(sha);
    const answer = ({ probability, probability_calibrated, ood_score, in_distribution, class: c }: Out) => ({
      probability,
      probability_calibrated,
      ood_score,
      in_distribution,
      class: c,
    });
    expect(answer(series)).toEqual(answer(asNifti));
    expect(series).toMatchObject({ sequence: 'FLAIR', detected_sequence: 'FLAIR' });
    expect(asNifti.detected_sequence).toBe('FLAIR');
    expect(series.doubt ?? '').not.toMatch(/reads as/);
    // The T1 acquisition of the same pixels: its description names no sequence the page knows and the
    // image reads FLAIR, but its times say T1w.
    expect(t1Row).toMatchObject({ sequence: 'unknown', detected_sequence: 'T1w', class: 'withheld' });
    expect(t1Row.doubt).toMatch(/^the acquisition reads as T1w, the model is for FLAIR/);
    expect(t1Row.probability).toBe(series.probability);
    expect(r.stderr).toMatch(/^4 ok, 0 errors, 0 skipped$/m);

    // --resume knows a series by its conversion's sha256.
    const again = classify(nifti, flairSeries, '--csv', csv, '--resume');
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/--resume: 2 of 2 inputs are already in .*out\.csv, not run again/);
  });

  it('a folder of several series or none, and a lone DICOM file, are error rows; the other inputs are still classified', () => {
    const twoSeries = folder('two-series', volumeToDicom(volume, flair), volumeToDicom(volume, t1));
    const noPixels = folder('no-pixels', volumeToDicom(volume, { ...flair, pixelData: false }));
    const empty = folder('empty');
    const junk = path.join(folder('junk'), 'IM0001');
    writeFileSync(junk, new TextEncoder().encode('not a DICOM file'));
    const slice = path.join(flairSeries, 'S4_IM0001');
    const r = classify(nifti, twoSeries, noPixels, empty, path.dirname(junk), slice);
    expect(r.status).toBe(1);
    const rows = JSON.parse(r.stdout) as Out[];
    expect(rows.map((x) => x.status)).toEqual(['ok', 'error', 'error', 'error', 'error', 'error']);
    expect(rows[0].probability).toBeGreaterThan(0);
    expect(rows.slice(1).map((x) => x.probability)).toEqual([null, null, null, null, null]);
    const [, two, none, nothing, unreadable, lone] = rows.map((x) => x.error);
    expect(two).toMatch(
      /^2 DICOM series in one folder \(DICOM series #4 AX FLAIR \(\d+ × \d+ × \d+\); DICOM series #5 AX T1 SE \(\d+ × \d+ × \d+\)\): .* give each folder as an input/,
    );
    expect(none).toMatch(/^no DICOM image series among its \d+ file\(s\)/);
    expect(nothing).toBe('an empty folder: a folder given as a scan holds one DICOM series');
    expect(unreadable).toMatch(/^no DICOM image series among its 1 file\(s\)/);
    expect(lone).toBe('a DICOM file, one slice of a series: name the folder that holds the whole series instead');
    expect(r.stderr).toMatch(/^1 ok, 5 errors, 0 skipped$/m);
  });
});
