import { describe, expect, it } from 'vitest';
import { maskedPercentiles, percentilesInPlace } from './stats.ts';
import { rng } from './testing/synthetic-head.ts';

function reference(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  return lo + 1 < s.length ? s[lo] + (pos - lo) * (s[lo + 1] - s[lo]) : s[lo];
}

describe('percentiles', () => {
  it('match numpy-style linear percentiles on random data with ties', () => {
    const r = rng(3);
    const vals = Array.from({ length: 1001 }, () => Math.fround(Math.floor(r() * 50) / 7));
    const ps = [0, 0.5, 2, 50, 98, 99.5, 100];
    const got = percentilesInPlace(Float32Array.from(vals), ps);
    ps.forEach((p, i) => expect(got[i]).toBeCloseTo(reference(vals, p), 5));
  });
  it('respect the mask and reject an empty selection', () => {
    const data = Float32Array.from([1, 2, 3, 100]);
    expect(maskedPercentiles(data, Uint8Array.from([1, 1, 1, 0]), [100])).toEqual([3]);
    expect(() => maskedPercentiles(data, new Uint8Array(4), [50])).toThrow(/empty/);
  });
});
