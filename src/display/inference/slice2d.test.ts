import { describe, expect, it } from 'vitest';
import { matMul } from '../../core/preprocess/affine.ts';
import { extractSlice, orientedSlice, percentileScale, pictureInput, resizeBilinear, sliceInput, type Axis, type Convention } from './slice2d.ts';

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

describe('report slices oriented like the viewer (orientedSlice)', () => {
  // 5×4×3 voxels whose axes are permuted and flipped against RAS: i → posterior (2 mm),
  // j → superior (3 mm), k → left (1.5 mm). Each voxel holds its own linear index.
  const dims = [5, 4, 3];
  const permuted = [0, 0, -1.5, 10, -2, 0, 0, 20, 0, 3, 0, 30, 0, 0, 0, 1];
  const data = Float32Array.from({ length: 60 }, (_, s) => s);
  const voxelOf = (s: number) => [s % 5, Math.floor(s / 5) % 4, Math.floor(s / 20)];
  const world = (m: number[], [i, j, k]: number[]) => [0, 1, 2].map((r) => m[r * 4] * i + m[r * 4 + 1] * j + m[r * 4 + 2] * k + m[r * 4 + 3]);
  // 8° about the x axis: oblique, but each voxel axis stays closest to the same world axis.
  const t = (8 * Math.PI) / 180;
  const rotX = [1, 0, 0, 0, 0, Math.cos(t), -Math.sin(t), 0, 0, Math.sin(t), Math.cos(t), 0, 0, 0, 0, 1];
  const oblique = matMul(rotX, permuted);
  const at = [1, 2, 1];

  const cases: { axis: Axis; convention: Convention; h: number; v: number; hSign: number; labels: string }[] = [
    { axis: 2, convention: 'radiological', h: 0, v: 1, hSign: -1, labels: 'R L A P' },
    { axis: 2, convention: 'neurological', h: 0, v: 1, hSign: 1, labels: 'L R A P' },
    { axis: 1, convention: 'radiological', h: 0, v: 2, hSign: -1, labels: 'R L S I' },
    { axis: 0, convention: 'radiological', h: 1, v: 2, hSign: 1, labels: 'P A S I' },
  ];

  for (const affine of [permuted, oblique]) {
    for (const c of cases) {
      it(`${affine === permuted ? 'permuted' : 'oblique'} volume, world axis ${c.axis}, ${c.convention}: ${c.labels}`, () => {
        const s = orientedSlice(data, dims, affine, c.axis, at, c.convention);
        expect(`${s.labels.left} ${s.labels.right} ${s.labels.top} ${s.labels.bottom}`).toBe(c.labels);
        expect(s.values.length).toBe(s.w * s.h);
        const pos = (u: number, v: number) => world(affine, voxelOf(s.values[v * s.w + u]));
        for (let v = 0; v < s.h; v++) {
          for (let u = 0; u < s.w; u++) {
            // The cut: every pixel shares the `at` voxel's index along the voxel axis nearest the cut's normal.
            const vox = voxelOf(s.values[v * s.w + u]);
            const normalVoxelAxis = [2, 0, 1][c.axis]; // x ← k, y ← i, z ← j in this volume
            expect(vox[normalVoxelAxis]).toBe(at[normalVoxelAxis]);
            // Left → right along the horizontal world axis, top → bottom down the vertical one.
            if (u > 0) expect(Math.sign(pos(u, v)[c.h] - pos(u - 1, v)[c.h])).toBe(c.hSign);
            if (v > 0) expect(pos(u, v)[c.v]).toBeLessThan(pos(u, v - 1)[c.v]);
          }
        }
        const voxelSizes = [1.5, 2, 3]; // along world x, y, z
        expect(s.pixelMm[0]).toBeCloseTo(voxelSizes[c.h], 6);
        expect(s.pixelMm[1]).toBeCloseTo(voxelSizes[c.v], 6);
        // The slice goes through the requested voxel.
        expect(Array.from(s.values)).toContain(at[0] + 5 * (at[1] + 4 * at[2]));
      });
    }
  }

  it('shows an oblique scan like the viewer: its voxels, not resampled', () => {
    for (const c of cases) {
      expect(Array.from(orientedSlice(data, dims, oblique, c.axis, at, c.convention).values)).toEqual(Array.from(orientedSlice(data, dims, permuted, c.axis, at, c.convention).values));
    }
  });

  it('refuses a voxel outside the volume', () => {
    expect(() => orientedSlice(data, dims, permuted, 2, [0, 9, 0], 'radiological')).toThrow(/outside/);
  });
});
