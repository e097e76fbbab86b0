import { describe, expect, it } from 'vitest';
import { extractSlice, percentileScale, pictureInput, resizeBilinear, sliceInput } from './slice2d.ts';

describe('slice inputs for 2D models', () => {
  // 3×2×2 volume with value = i + 10j + 100k.
  const dims = [3, 2, 2];
  const data = Float32Array.from({ length: 12 }, (_, s) => (s % 3) + 10 * (Math.floor(s / 3) % 2) + 100 * Math.floor(s / 6));

  it('extracts axial, coronal and sagittal slices with superior/anterior at the top', () => {
    expect(Array.from(extractSlice(data, dims, 2, 1).values)).toEqual([110, 111, 112, 100, 101, 102]);
    expect(Array.from(extractSlice(data, dims, 1, 0).values)).toEqual([100, 101, 102, 0, 1, 2]);
    expect(Array.from(extractSlice(data, dims, 0, 2).values)).toEqual([102, 112, 2, 12]);
    expect(() => extractSlice(data, dims, 2, 2)).toThrow(/slice 2 is outside 0..1 along axis 2/);
  });

  it('resizes bilinearly and keeps a constant image constant', () => {
    expect(Array.from(resizeBilinear(Float32Array.of(5, 5, 5, 5), 2, 2, 3, 3))).toEqual(new Array(9).fill(5));
    const up = resizeBilinear(Float32Array.of(0, 1), 2, 1, 4, 1);
    expect(Array.from(up)).toEqual([0, 0.25, 0.75, 1]);
  });

  it('scales by percentiles of the non-zero pixels into [0, 1]', () => {
    const v = percentileScale(Float32Array.of(0, 10, 20, 30), 0, 100);
    expect(Array.from(v)).toEqual([0, 0, 0.5, 1]);
  });

  it('gives 224×224 inputs in [0, 1] from a volume slice and from RGBA pixels', () => {
    const s = sliceInput(data, dims, 2, 0);
    expect(s.length).toBe(224 * 224);
    expect(Math.min(...s)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...s)).toBeLessThanOrEqual(1);
    const rgba = new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255]);
    const p = pictureInput(rgba, 2, 1, 4);
    expect(p[0]).toBeCloseTo(1, 6);
    expect(p[15]).toBeCloseTo(0, 6);
  });
});
