import { describe, expect, it } from 'vitest';
import { calibrate, type Calibration } from './calibration.ts';
import { oodScore, type OodModel } from './ood.ts';
import { verdict } from './verdict.ts';
import { judge } from './index.ts';
import { DEMO_SCAN_SHA256, isDemoScan } from './demo-scans.ts';
import { sha256Hex } from '../bundle/hash.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const platt = (a: number, b: number): Calibration => ({
  method: 'platt',
  a,
  b,
  fitted_on: 'test',
  ece_before: 0,
  ece_after: 0,
});

describe('Platt calibration', () => {
  it('is the identity at a = 1, b = 0 and matches σ(a·logit(p) + b) computed by hand', () => {
    for (const p of [0.01, 0.3, 0.5, 0.9, 0.999]) expect(calibrate(p, platt(1, 0))).toBeCloseTo(p, 12);
    // p = 0.8: logit = ln 4; a = 0.5, b = -0.2 → σ(0.5 ln 4 − 0.2) = σ(ln 2 − 0.2) = 2/(2 + e^0.2)
    expect(calibrate(0.8, platt(0.5, -0.2))).toBeCloseTo(2 / (2 + Math.exp(0.2)), 12);
  });

  it('keeps the order of probabilities and stays finite at 0 and 1', () => {
    const c = platt(0.4, 0.3);
    const ps = [0, 1e-9, 0.2, 0.5, 0.7, 1 - 1e-9, 1].map((p) => calibrate(p, c));
    ps.forEach((p) => expect(Number.isFinite(p) && p > 0 && p < 1).toBe(true));
    for (let i = 1; i < ps.length; i++) expect(ps[i]).toBeGreaterThanOrEqual(ps[i - 1]);
  });
});

describe('Mahalanobis OOD score', () => {
  // Σ = diag(4, 1/4): whitening diag(1/2, 2).
  const m: OodModel = {
    method: 'mahalanobis',
    mean: [1, -1],
    whitening: [
      [0.5, 0],
      [0, 2],
    ],
    threshold: 2,
    validation_pass_rate: 0.95,
    fitted_on: 'test',
  };

  it('is 0 at the mean and ‖W(x − μ)‖/√F elsewhere', () => {
    expect(oodScore([1, -1], m)).toBe(0);
    // x − μ = (2, 0.5) → W(x − μ) = (1, 1) → √(2/2) = 1
    expect(oodScore([3, -0.5], m)).toBeCloseTo(1, 15);
  });

  it('refuses a feature vector of the wrong length', () => {
    expect(() => oodScore([1, 2, 3], m)).toThrow(/expects 2 features/);
  });
});

describe('withheld rule', () => {
  const base = {
    modelSequence: 'FLAIR',
    detectedSequence: 'FLAIR' as const,
    oodScore: 1,
    oodThreshold: 2,
    realScanFailures: [],
  };

  it('answers when both checks pass', () => {
    expect(verdict(base)).toEqual({ withheld: false, reasons: [], inDistribution: true });
  });

  it('withholds a wrong or unreadable sequence, and an out-of-distribution scan, naming each reason', () => {
    expect(verdict({ ...base, detectedSequence: 'T1w' }).reasons).toEqual([
      'the image reads as T1w, the model is for FLAIR',
    ]);
    expect(verdict({ ...base, detectedSequence: 'unknown' }).withheld).toBe(true);
    const v = verdict({ ...base, detectedSequence: 'T2w', oodScore: 2.5 });
    expect(v.withheld).toBe(true);
    expect(v.inDistribution).toBe(false);
    expect(v.reasons).toHaveLength(2);
    expect(v.reasons[1]).toMatch(/unlike the training data \(OOD score 2.50 > 2.00\)/);
  });

  it('a score exactly at the threshold passes; no OOD model means no OOD verdict', () => {
    expect(verdict({ ...base, oodScore: 2 }).withheld).toBe(false);
    expect(verdict({ ...base, oodScore: null, oodThreshold: null })).toEqual({
      withheld: false,
      reasons: [],
      inDistribution: null,
    });
  });

  it('input already on the model grid has no content reading and is judged on the OOD check alone', () => {
    expect(verdict({ ...base, detectedSequence: null }).withheld).toBe(false);
  });
});

describe('the model-level real-scan check', () => {
  const base = {
    modelSequence: 'FLAIR',
    detectedSequence: 'FLAIR' as const,
    oodScore: 1,
    oodThreshold: 2,
    realScanFailures: [],
  };
  const fails = ['real MS FLAIR called MS: 3 of 9 (need ≥ 80%)', 'real FLAIR withheld: 6 of 19 (allowed ≤ 20%)'];
  const manifest = (f?: string[]) =>
    ({
      sequence: 'FLAIR',
      real_scans: { measured_on: 'x', results: [], unmeasured: 'y', ...(f ? { fails: f } : {}) },
    }) as unknown as Manifest;

  it('withholds the class of a model that fails its real-scan checks, quoting them, even when the scan passes its own checks', () => {
    const v = verdict({ ...base, realScanFailures: fails });
    expect(v.withheld).toBe(true);
    expect(v.inDistribution).toBe(true);
    expect(v.reasons).toEqual([
      `this model fails its checks on real scans (${fails.join('; ')}): outside its demo phantoms its answer is not reliable`,
    ]);
  });

  it('applies to every input but the bundled demo phantoms, and not when the model itself is being measured', () => {
    const pred = { oodScore: 1 };
    expect(judge(manifest(fails), null, pred, { demoScan: false }).verdict.withheld).toBe(true);
    expect(judge(manifest(fails), null, pred, { demoScan: true }).verdict.withheld).toBe(false);
    expect(judge(manifest(fails), null, pred, { demoScan: false, modelCheck: false }).verdict.withheld).toBe(false);
    expect(judge(manifest([]), null, pred, { demoScan: false }).verdict.withheld).toBe(false);
    expect(judge(manifest(), null, pred, { demoScan: false }).verdict.withheld).toBe(false);
  });
});

describe('the bundled demo phantoms', () => {
  it('are known by the sha256 of exactly the files in public/demo, gzipped and inflated', async () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../public/demo');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.nii.gz'))
      .sort();
    expect(Object.keys(DEMO_SCAN_SHA256).sort()).toEqual(files);
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(join(dir, f)));
      const sha = { file: await sha256Hex(bytes), nifti: await sha256Hex(new Uint8Array(gunzipSync(bytes))) };
      expect(DEMO_SCAN_SHA256[f], f).toEqual(sha);
      expect(isDemoScan(sha.file) && isDemoScan(sha.nifti)).toBe(true);
    }
    expect(isDemoScan('0'.repeat(64))).toBe(false);
    expect(isDemoScan(null)).toBe(false);
  });
});
