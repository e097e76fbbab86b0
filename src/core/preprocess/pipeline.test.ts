import { describe, expect, it } from 'vitest';
import type { Volume } from '../volume.ts';
import { applyAffine, invertAffine, matMul } from './affine.ts';
import { preprocess, STEPS } from './pipeline.ts';
import { parsePreprocessSpec } from './spec.ts';
import { phantomHead } from './testing/phantom-head.ts';

/** Dice of a grid mask against the phantom's brain, counted on the phantom's grid. */
function dice(mask: Uint8Array, grid: number[], affine: number[], vol: Volume, truth: Uint8Array): number {
  const toGrid = matMul(invertAffine(affine), vol.affine);
  let a = 0;
  let b = 0;
  let both = 0;
  let o = 0;
  for (let k = 0; k < vol.dims[2]; k++)
    for (let j = 0; j < vol.dims[1]; j++)
      for (let i = 0; i < vol.dims[0]; i++, o++) {
        const p = applyAffine(toGrid, [i, j, k]).map(Math.round);
        const m = p.every((x, ax) => x >= 0 && x < grid[ax]) ? mask[p[0] + grid[0] * (p[1] + grid[1] * p[2])] : 0;
        a += m;
        b += truth[o];
        both += m & truth[o];
      }
  return (2 * both) / (a + b);
}

const small = parsePreprocessSpec({ grid: [48, 56, 40] });

describe('preprocess', () => {
  const { volume, brain } = phantomHead();

  it('extracts the phantom brain, bounds the output and reports every step', () => {
    const events: string[] = [];
    const r = preprocess(volume, small, (e) => events.push(`${e.step}:${e.fraction}`));
    expect(events).toEqual(STEPS.flatMap((s) => [`${s}:0`, `${s}:1`]));
    expect(r.steps.map((s) => s.name)).toEqual([...STEPS]);
    expect(r.grid).toEqual([48, 56, 40]);
    expect(r.data.length).toBe(48 * 56 * 40);
    expect(r.skullStripped).toBe(false);
    expect(r.maskSource).toBe('extracted');
    let outOfRange = 0;
    let background = 0;
    for (let i = 0; i < r.data.length; i++) {
      if (!(r.data[i] >= 0 && r.data[i] <= 1)) outOfRange++;
      if (!r.mask[i] && r.data[i] !== 0) background++;
    }
    expect([outOfRange, background]).toEqual([0, 0]);
    expect(dice(r.mask, r.grid, r.affine, volume, brain)).toBeGreaterThan(0.93);
  });

  it('is deterministic', () => {
    const a = preprocess(volume, small);
    const b = preprocess({ ...volume, data: volume.data.slice() }, small);
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    expect(Buffer.from(a.mask.buffer).equals(Buffer.from(b.mask.buffer))).toBe(true);
    expect(a.affine).toEqual(b.affine);
  });

  it('resize stretches the brain box to the grid; fixed_spacing keeps the voxel size', () => {
    const r = preprocess(volume, small);
    const fixed = preprocess(
      volume,
      parsePreprocessSpec({ grid: [64, 64, 64], resample: 'fixed_spacing', spacing_mm: [3, 3, 3.5] }),
    );
    expect([fixed.affine[0], fixed.affine[5], fixed.affine[10]]).toEqual([3, 3, 3.5].map((x) => expect.closeTo(x, 9)));
    // Both grids are centred on the same brain box.
    const centre = (res: typeof r) =>
      applyAffine(
        res.affine,
        res.grid.map((n) => (n - 1) / 2),
      );
    centre(r).forEach((x, a) => expect(x).toBeCloseTo(centre(fixed)[a], 6));
    // The brain box spans the resize grid: mask voxels touch (or nearly touch) both ends of each axis.
    for (let axis = 0; axis < 3; axis++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let p = 0; p < r.mask.length; p++) {
        if (!r.mask[p]) continue;
        const idx = [p % 48, Math.floor(p / 48) % 56, Math.floor(p / (48 * 56))][axis];
        lo = Math.min(lo, idx);
        hi = Math.max(hi, idx);
      }
      expect(lo).toBeLessThanOrEqual(1);
      expect(hi).toBeGreaterThanOrEqual(r.grid[axis] - 2);
    }
  });

  it('detects an already skull-stripped volume and skips extraction in auto mode', () => {
    const stripped = phantomHead({ stripped: true });
    const r = preprocess(stripped.volume, small);
    expect(r.skullStripped).toBe(true);
    expect(r.maskSource).toBe('stripped-input');
    expect(dice(r.mask, r.grid, r.affine, stripped.volume, stripped.brain)).toBeGreaterThan(0.95);
    const off = preprocess(volume, parsePreprocessSpec({ grid: 32, brain_extraction: 'off' }));
    expect(off.maskSource).toBe('head');
  });

  it.each([
    ['empty dims', { ...volume, dims: [0, 10, 10] as [number, number, number], data: new Float32Array(0) }, /dims/],
    ['a wrong data length', { ...volume, data: new Float32Array(10) }, /voxels/],
    ['a constant volume', { ...volume, data: new Float32Array(volume.data.length).fill(7) }, /constant/],
    ['a NaN voxel', { ...volume, data: Float32Array.from(volume.data, (v, i) => (i === 5 ? NaN : v)) }, /non-finite/],
    ['a singular affine', { ...volume, affine: new Array<number>(16).fill(0) }, /singular/],
  ])('rejects %s with a clear error', (_, bad, msg) => {
    expect(() => preprocess(bad as Volume, small)).toThrow(msg);
  });

  it('says "no head found" for a speck of signal', () => {
    const data = new Float32Array(volume.data.length);
    for (let i = 0; i < 50; i++) data[1000 + i] = 500;
    expect(() => preprocess({ ...volume, data }, small)).toThrow(/no head found/);
  });
});
