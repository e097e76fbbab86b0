import { describe, expect, it } from 'vitest';
import { normalizeInMask } from './normalize.ts';
import type { PreprocessSpec } from './spec.ts';

const PERCENTILE: PreprocessSpec['normalize'] = { method: 'percentile', low: 0.5, high: 99.5 };
const REFERENCE: PreprocessSpec['normalize'] = { method: 'reference', low: 0.5, reference: 50, value: 0.4 };

/** A brain of 10 000 voxels spread evenly over [100, 200], optionally with its top `lesions` voxels raised to 400. */
function brain(lesions: number): { data: Float32Array; mask: Uint8Array } {
  const n = 10_000;
  const data = Float32Array.from({ length: n }, (_, i) => 100 + (100 * i) / (n - 1));
  for (let i = n - lesions; i < n; i++) data[i] = 400;
  return { data, mask: new Uint8Array(n).fill(1) };
}

describe('normalizeInMask', () => {
  it('maps the percentiles to [0, 1], clips, and zeroes the background', () => {
    const n = 1000;
    const data = Float32Array.from({ length: n }, (_, i) => i);
    const mask = Uint8Array.from({ length: n }, (_, i) => (i >= 100 ? 1 : 0));
    const { data: out, range } = normalizeInMask(data, mask, { method: 'percentile', low: 1, high: 99 });
    expect(range[0]).toBeCloseTo(100 + 0.01 * 899, 4);
    for (let i = 0; i < n; i++) {
      expect(out[i]).toBeGreaterThanOrEqual(0);
      expect(out[i]).toBeLessThanOrEqual(1);
      if (i < 100) expect(out[i]).toBe(0);
    }
    expect(out[999]).toBe(1);
    expect(out[500]).toBeCloseTo((500 - range[0]) / (range[1] - range[0]), 5);
  });
  it('reference: the low percentile goes to 0, the median to `value`, the top to lo + (median − lo) / value', () => {
    const { data, mask } = brain(0);
    const { data: out, range } = normalizeInMask(data, mask, REFERENCE);
    const lo = 100 + 0.005 * 100;
    expect(range[0]).toBeCloseTo(lo, 3);
    expect(range[1]).toBeCloseTo(lo + (150 - lo) / 0.4, 3);
    expect(out[5000]).toBeCloseTo(0.4, 3);
  });
  it('reference keeps normal tissue in place and lesions unclipped when 1 % of the brain is lesion; percentile does not', () => {
    const healthy = brain(0);
    const patient = brain(100);
    const at = 5000; // a normal-tissue voxel present in both
    const ref = [
      normalizeInMask(healthy.data, healthy.mask, REFERENCE),
      normalizeInMask(patient.data, patient.mask, REFERENCE),
    ];
    // The median moves by 0.5 % of the brain's 100-unit spread: 0.5 units over lo..ref's ~50 units → ≤ 0.005.
    expect(Math.abs(ref[0].data[at] - ref[1].data[at])).toBeLessThan(0.005);
    // Lesions at 400 lie above the top (≈ 100.5 + 49.5 / 0.4 ≈ 224): clipped to 1, but every lesion voxel stays above all normal tissue.
    expect(ref[1].data[9_999]).toBe(1);
    expect(ref[1].data[9_899]).toBeLessThan(0.9);
    const pct = [
      normalizeInMask(healthy.data, healthy.mask, PERCENTILE),
      normalizeInMask(patient.data, patient.mask, PERCENTILE),
    ];
    // p99.5 falls inside the lesions (400): the same normal voxel drops from 0.5 to ≈ 50 / 300.
    expect(pct[0].data[at] - pct[1].data[at]).toBeGreaterThan(0.3);
  });
  it('rejects a constant brain and an empty mask', () => {
    expect(() => normalizeInMask(new Float32Array(10).fill(3), new Uint8Array(10).fill(1), PERCENTILE)).toThrow(
      /constant/,
    );
    expect(() => normalizeInMask(new Float32Array(10).fill(3), new Uint8Array(10).fill(1), REFERENCE)).toThrow(
      /constant/,
    );
    expect(() => normalizeInMask(new Float32Array(10), new Uint8Array(10), PERCENTILE)).toThrow(/empty/);
  });
});
