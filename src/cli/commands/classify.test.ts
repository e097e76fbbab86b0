import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gradCamPaths, parseArgs, toCsv } from './classify.ts';
import { parseNifti } from '../../core/load/nifti.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = path.join(ROOT, 'bin/qumri.mjs');
const BUNDLES = [
  'src/core/bundle/testdata/tiny-q',
  'src/core/bundle/testdata/tiny-c',
  // The exporter's bundles (issue #4), checked too when present.
  'tests/fixtures/bundles/tiny-qresnet',
  'tests/fixtures/bundles/tiny-resnet',
].filter((b) => existsSync(path.join(ROOT, b, 'reference.json')));

interface Reference { inputs: { file: string; probability: number }[] }

describe('qumri classify --preprocessed --json', () => {
  it.each(BUNDLES)('matches the torch probabilities in %s/reference.json within 1e-4', (bundle) => {
    const dir = path.join(ROOT, bundle);
    const ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
    const files = ref.inputs.map((r) => path.join(dir, r.file));
    const out = execFileSync('node', [BIN, 'classify', ...files, '--model', dir, '--preprocessed', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const rows = JSON.parse(out) as { file: string; probability: number; class: string; model: string }[];
    expect(rows.map((r) => r.file)).toEqual(files);
    rows.forEach((r, i) => expect(Math.abs(r.probability - ref.inputs[i].probability)).toBeLessThan(1e-4));
  });

  it('--explain writes each scan\'s Grad-CAM on its own voxels, in [0, 1], and names it in the row', () => {
    const dir = path.join(ROOT, 'tests/fixtures/bundles/tiny-qresnet');
    const ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
    const files = ref.inputs.map((r) => path.join(dir, r.file));
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'qumri-cam-')), 'maps');
    const json = execFileSync('node', [BIN, 'classify', ...files, '--model', dir, '--preprocessed', '--json', '--explain', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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
    expect(() => gradCamPaths(['a/x.nii.gz', 'b/x.nii'], 'out')).toThrow(/a\/x\.nii\.gz and b\/x\.nii would both write out\/x\.gradcam\.nii\.gz/);
    expect(gradCamPaths(['a/x.nii.gz', 'a/y.nii'], 'out')).toEqual(['out/x.gradcam.nii.gz', 'out/y.gradcam.nii.gz']);
  });

  it('writes a CSV with the documented columns', () => {
    const dir = path.join(ROOT, BUNDLES[0]);
    const csv = path.join(mkdtempSync(path.join(tmpdir(), 'qumri-')), 'out.csv');
    execFileSync('node', [BIN, 'classify', dir, '--model', dir, '--preprocessed', '--csv', csv], { stdio: 'ignore' });
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('file,model,sequence,probability,class,seconds');
    expect(lines).toHaveLength(1 + readdirSync(dir).filter((f) => f.endsWith('.nii.gz')).length);
  });

  it('refuses a tampered bundle with exit code 1 and names the file', () => {
    const dir = path.join(ROOT, BUNDLES[0]);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    manifest.files['head.json'].sha256 = '0'.repeat(64);
    const tmp = mkdtempSync(path.join(tmpdir(), 'qumri-bad-'));
    for (const f of readdirSync(dir)) execFileSync('cp', [path.join(dir, f), tmp]);
    execFileSync('node', ['-e', `require('fs').writeFileSync(${JSON.stringify(path.join(tmp, 'manifest.json'))}, ${JSON.stringify(JSON.stringify(manifest))})`]);
    const r = spawnSync('node', [BIN, 'classify', path.join(tmp, 'input0.nii.gz'), '--model', tmp, '--preprocessed'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/head\.json has sha256 .* refusing the model/);
  });

  it('rejects an input that is not on the model grid', () => {
    const dir = path.join(ROOT, BUNDLES[0]);
    const other = BUNDLES.find((b) => b.startsWith('tests/'));
    if (!other) return;
    const ref = JSON.parse(readFileSync(path.join(ROOT, other, 'reference.json'), 'utf8')) as Reference;
    const r = spawnSync('node', [BIN, 'classify', path.join(ROOT, other, ref.inputs[0].file), '--model', dir, '--preprocessed'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--preprocessed input is 32×32×32, the model grid is 16×12×10/);
  });
});

describe('parseArgs', () => {
  it('reads options and inputs', () => {
    expect(parseArgs(['a.nii', '--model', 'm', '--json', '--threads', '1', 'b.nii.gz'])).toMatchObject({ inputs: ['a.nii', 'b.nii.gz'], model: 'm', json: true, threads: 1, preprocessed: false });
    expect(parseArgs(['a.nii', '--model', 'm', '--explain', 'maps']).explain).toBe('maps');
  });
  it.each([
    [['a.nii'], /--model <id\|path> is required/],
    [['--model', 'm'], /at least one NIfTI/],
    [['a.nii', '--model'], /--model needs a value/],
    [['a.nii', '--model', 'm', '--threads', '0'], /--threads 0: expected a positive integer/],
    [['a.nii', '--model', 'm', '--fast'], /unknown option --fast/],
    [['a.nii', '--model', 'm', '--explain'], /--explain needs a value/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
  it('exits 2 on bad usage', () => {
    const r = spawnSync('node', [BIN, 'classify', 'x.nii'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
  });
});

describe('toCsv', () => {
  it('quotes cells with commas', () => {
    expect(toCsv([{ file: 'a,b.nii', model: 'm', sequence: 'FLAIR', probability: 0.5, class: 'TSC', seconds: 1 }])).toBe('file,model,sequence,probability,class,seconds\n"a,b.nii",m,FLAIR,0.5,TSC,1\n');
  });
});
