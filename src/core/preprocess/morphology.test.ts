import { describe, expect, it } from 'vitest';
import { dilate, erode, fillHoles, largestComponent, squaredDistanceTo } from './morphology.ts';
import { rng } from './testing/synthetic-head.ts';

describe('morphology', () => {
  it('distance transform matches brute force with anisotropic spacing', () => {
    const dims = [9, 7, 5];
    const sp = [1, 1.5, 3];
    const r = rng(9);
    const mask = Uint8Array.from({ length: 9 * 7 * 5 }, () => (r() < 0.05 ? 1 : 0));
    mask[0] = 1;
    const d = squaredDistanceTo(mask, dims, sp);
    const idx = (p: number) => [p % 9, Math.floor(p / 9) % 7, Math.floor(p / 63)];
    for (let p = 0; p < mask.length; p++) {
      let best = Infinity;
      for (let q = 0; q < mask.length; q++) {
        if (!mask[q]) continue;
        const a = idx(p);
        const b = idx(q);
        best = Math.min(
          best,
          ((a[0] - b[0]) * sp[0]) ** 2 + ((a[1] - b[1]) * sp[1]) ** 2 + ((a[2] - b[2]) * sp[2]) ** 2,
        );
      }
      expect(d[p]).toBeCloseTo(best, 6);
    }
  });

  it('fills an enclosed cavity and keeps the largest component', () => {
    const n = 7;
    const mask = new Uint8Array(n ** 3);
    for (let k = 1; k < 6; k++) for (let j = 1; j < 6; j++) for (let i = 1; i < 6; i++) mask[i + n * (j + n * k)] = 1;
    mask[3 + n * (3 + n * 3)] = 0;
    mask[0] = 1;
    const big = largestComponent(mask, [n, n, n]);
    expect(big[0]).toBe(0);
    const filled = fillHoles(big, [n, n, n]);
    expect(filled[3 + n * (3 + n * 3)]).toBe(1);
    expect(filled.reduce((a, b) => a + b, 0)).toBe(125);
  });
});

describe('ball dilation', () => {
  it('the one-voxel fast path equals the distance-transform ball', () => {
    const dims = [12, 10, 8];
    const r = rng(4);
    const mask = Uint8Array.from({ length: 12 * 10 * 8 }, () => (r() < 0.03 ? 1 : 0));
    const sp = [2, 2, 2.2];
    const fast = dilate(mask, dims, sp, 2.2);
    const d = squaredDistanceTo(mask, dims, sp);
    fast.forEach((v, i) => expect(v).toBe(d[i] <= 2.2 * 2.2 * (1 + 1e-6) ? 1 : 0));
    const er = erode(fast, dims, sp, 2.2);
    const dIn = squaredDistanceTo(
      Uint8Array.from(fast, (x) => 1 - x),
      dims,
      sp,
    );
    er.forEach((v, i) => expect(v).toBe(dIn[i] > 2.2 * 2.2 * (1 + 1e-6) ? 1 : 0));
  });
});
