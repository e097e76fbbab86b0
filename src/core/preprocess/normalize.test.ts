import { describe, expect, it } from 'vitest';
import { normalizeInMask } from './normalize.ts';

describe('normalizeInMask', () => {
  it('maps the percentiles to [0, 1], clips, and zeroes the background', () => {
    const n = 1000;
    const data = Float32Array.from({ length: n }, (_, i) => i);
    const mask = Uint8Array.from({ length: n }, (_, i) => (i >= 100 ? 1 : 0));
    const { data: out, range } = normalizeInMask(data, mask, 1, 99);
    expect(range[0]).toBeCloseTo(100 + 0.01 * 899, 4);
    for (let i = 0; i < n; i++) {
      expect(out[i]).toBeGreaterThanOrEqual(0);
      expect(out[i]).toBeLessThanOrEqual(1);
      if (i < 100) expect(out[i]).toBe(0);
    }
    expect(out[999]).toBe(1);
    expect(out[500]).toBeCloseTo((500 - range[0]) / (range[1] - range[0]), 5);
  });
  it('rejects a constant brain and an empty mask', () => {
    expect(() => normalizeInMask(new Float32Array(10).fill(3), new Uint8Array(10).fill(1), 1, 99)).toThrow(/constant/);
    expect(() => normalizeInMask(new Float32Array(10), new Uint8Array(10), 1, 99)).toThrow(/empty/);
  });
});
