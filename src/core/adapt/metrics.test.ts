// AUC, threshold, intervals and Platt calibration against the training pipeline's own numbers
// (training/evaluate.py, training/guards.py) on the fixture's 16 predictions.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { calibrate } from '../guard/calibration.ts';
import { accuracy, auc, percentile, summarize, youdenThreshold } from './metrics.ts';
import { ece, fitPlatt, plattCalibration } from './platt.ts';

interface PythonCalibration {
  p: number[];
  y: number[];
  entry: { a: number; b: number; ece_before: number; ece_after: number };
  auc: number;
  threshold: number;
}

const py = (
  JSON.parse(
    readFileSync(fileURLToPath(new URL('../../../fixtures/adapt/torch-head-grad.json', import.meta.url)), 'utf8'),
  ) as { calibration: PythonCalibration }
).calibration;

describe('metrics as training/evaluate.py computes them', () => {
  it('AUC (ties count ½) and the Youden threshold', () => {
    expect(auc(py.y, py.p)).toBeCloseTo(py.auc, 14);
    expect(youdenThreshold(py.y, py.p)).toBeCloseTo(py.threshold, 14);
    expect(auc([0, 1, 0, 1], [0.2, 0.2, 0.1, 0.9])).toBe(0.875);
    expect(auc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it('accuracy calls P ≥ threshold positive', () => {
    expect(accuracy([0, 1, 1, 0], [0.2, 0.5, 0.4, 0.6], 0.5)).toBe(0.5);
  });

  it('percentiles interpolate linearly between ranks (numpy)', () => {
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 2.5)).toBeCloseTo(1.075, 12);
    expect(percentile([7], 97.5)).toBe(7);
  });

  it('bootstrap intervals: reproducible for a seed, around the value, stable across seeds', () => {
    const a = summarize(py.y, py.p, 0.5, 3);
    expect(summarize(py.y, py.p, 0.5, 3)).toEqual(a);
    expect(a.auc.value).toBeCloseTo(py.auc, 14);
    for (const m of [a.auc, a.acc]) {
      expect(m.ci95[0]).toBeLessThanOrEqual(m.value);
      expect(m.ci95[1]).toBeGreaterThanOrEqual(m.value);
      expect(m.ci95[1] - m.ci95[0]).toBeGreaterThan(0.05);
    }
    const b = summarize(py.y, py.p, 0.5, 4);
    [0, 1].forEach((k) => expect(Math.abs(b.auc.ci95[k] - a.auc.ci95[k])).toBeLessThan(0.03));
  });
});

describe('Platt calibration as training/guards.py fits it', () => {
  it('same slope, intercept and ECE before and after', () => {
    const c = plattCalibration(py.p, py.y, 'fixture');
    expect(c.a).toBeCloseTo(py.entry.a, 9);
    expect(c.b).toBeCloseTo(py.entry.b, 9);
    expect(c.ece_before).toBeCloseTo(py.entry.ece_before, 12);
    expect(c.ece_after).toBeCloseTo(py.entry.ece_after, 9);
    expect(c.ece_after).toBeLessThan(c.ece_before);
    expect(
      ece(
        py.p.map((p) => calibrate(p, c)),
        py.y,
      ),
    ).toBe(c.ece_after);
  });

  it('refuses one class, or probabilities ordered against the labels', () => {
    expect(() => fitPlatt([0.2, 0.7], [1, 1])).toThrow(/needs both classes/);
    expect(() => fitPlatt([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toThrow(/slope .* ≤ 0/);
  });
});
